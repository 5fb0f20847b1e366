"""Recording advice: a professional's request (on a new or existing advice contact), the
specialist's advice, the requester's authorisation to convert, and the advice letter; every
change to a request kept in its history.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime

from sqlite_utils import Database

from spoa import desk
from spoa.advice.checks import (
    advice_module,
    check_requester,
    check_role,
    free_text,
    merged_answers,
    request_fields,
)
from spoa.advice.reading import get_request
from spoa.advice.request import (
    RECORD_TYPE,
    AdviceDraft,
    AdviceLetter,
    AdviceRecorded,
    AdviceRefused,
    AdviceRequest,
)
from spoa.letters import archive
from spoa.roles import Permission
from spoa.rules.module import RuleModule
from spoa.store import records
from spoa.store.records import (
    ContactDraft,
    InvalidField,
    clean_reason,
)
from spoa.store.store import Store

# When the reply is due if no module answers say otherwise: (first contact, reply) in hours,
# the professional_advice module's times (24 h when needed today, else five days).
_REPLY_HOURS = {"today": (8, 24), "within_week": (None, 120), "routine": (None, 120)}


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_history(db: Database, request_id: str, field_name: str, old: str | None, new: str | None, by: str,
             at: str, reason: str) -> None:
    """A change to a request, kept as the store keeps every edit: old -> new, who, when, why."""
    db.execute(
        "INSERT INTO record_history (record_type, record_id, field, old_value, new_value, changed_by, "
        "changed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [RECORD_TYPE, request_id, field_name, old, new, by, at, reason])


def record_request(store: Store, draft: AdviceDraft, *, contact: ContactDraft | None = None,
                   contact_id: str | None = None, answers: Mapping[str, object] | None = None,
                   module: RuleModule | None = None, on_date: date | None = None) -> AdviceRecorded:
    """Record a professional's request for advice: on a new advice contact (``contact``, its
    referrer the requester) or on one on record (``contact_id``). Given ``answers`` (the
    professional_advice module's, or ``module``'s), they are evaluated and kept as a triage
    session and the contact's deadlines follow the outcome; without them, the reply is due
    in 24 hours when needed today, else in five days. All in one transaction.

    Raises InvalidField, RecordNotFound, AdviceRefused or the rule engine's AnswersRejected;
    nothing is stored then.
    """
    check_role(store, Permission.EDIT_CONTACTS, "create")
    check_role(store, Permission.VIEW_RECORDS, "create")  # a new contact shows possible duplicates
    if answers is not None:
        check_role(store, Permission.RUN_TRIAGE, "create")
    if (contact is None) == (contact_id is None):
        raise InvalidField("contact", "give either the new contact's details or the id of an advice contact")
    if answers is not None and not isinstance(answers, Mapping):
        raise InvalidField("answers", "must map question ids to answers")
    fields = request_fields(draft, answers)
    chosen = advice_module(module) if answers is not None else None
    merged = merged_answers(chosen, answers, fields) if chosen is not None else None
    if contact is not None:
        check_requester(contact.referrer_type)
        contact = dataclasses.replace(contact, kind="advice")
        if merged is None:
            contact = _with_reply_deadlines(contact, fields["how_soon"])
    db = store.db
    by = store.user.username
    added = triage = None
    with records.transaction(db):
        if contact is not None:
            added = desk.add_contact(store, contact, module=chosen, answers=merged, on_date=on_date)
            contact_id, triage = added.contact_id, added.triage
        else:
            existing = records.get_contact(db, contact_id)
            if existing.kind != "advice":
                raise AdviceRefused(f"Contact {contact_id} is a triage contact, not an advice contact; "
                                    "record the request with the requester's details as a new advice "
                                    "contact.")
            check_requester(existing.referrer_type)
            if chosen is not None:
                triage = desk.save_triage(store, contact_id, chosen, merged, on_date=on_date)
        request_id = f"ad-{secrets.token_hex(6)}"
        now = utc_now_text()
        db.execute(
            "INSERT INTO advice_requests (id, contact_id, question, context, tried, how_soon, "
            "conversion_authorised, created_at, created_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [request_id, contact_id, fields["question"], fields["context"], fields["tried"],
             fields["how_soon"], int(fields["conversion_authorised"]), now, by, now])
        store.audit("create", RECORD_TYPE, request_id)
    return AdviceRecorded(get_request(db, request_id), added, triage)


def _with_reply_deadlines(contact: ContactDraft, how_soon: str) -> ContactDraft:
    received = records.contact_row(contact)["received_at"]
    contact_hours, reply_hours = _REPLY_HOURS[how_soon]
    contact_by, seen_by = records.deadlines(datetime.fromisoformat(received),
                                            contact_within_hours=contact_hours,
                                            respond_within_hours=reply_hours)
    return dataclasses.replace(contact, received_at=received, contact_by=contact.contact_by or contact_by,
                               seen_by=contact.seen_by or seen_by)


# -- the specialist's advice ----------------------------------------------------------------------

def respond(store: Store, request_id: str, text: str, *, reason: str = "") -> AdviceRequest:
    """Record the specialist's advice (supervisors: see the module's docstring). Advice
    already recorded may be changed, with a reason and a history row (old -> new, who,
    when, why), until the advice letter has been made; after that it is as issued."""
    check_role(store, Permission.APPROVE_REFERRALS, "update", request_id,
               doing="record a specialist's advice")
    advice = free_text(text, "response", required=True)
    db = store.db
    with records.transaction(db):
        current = get_request(db, request_id)
        if current.letter_id:
            raise AdviceRefused(f"The advice letter {current.letter_id} of request {request_id} has been "
                                "made with the advice as it was; it cannot change now. Record further advice "
                                "as a new request on the same contact.")
        if current.response == advice:
            return current
        now = utc_now_text()
        by = store.user.username
        if current.response is not None:
            why = clean_reason(reason, "reason")  # changing advice already given: say why
            write_history(db, request_id, "response", current.response, advice, by, now, why)
        db.execute("UPDATE advice_requests SET response = ?, responded_by = ?, responded_at = ?, "
                   "updated_at = ? WHERE id = ?", [advice, by, now, now, request_id])
        store.audit("update", RECORD_TYPE, request_id)
    return get_request(db, request_id)


def authorise_conversion(store: Store, request_id: str, reason: str, *,
                         authorised: bool = True) -> AdviceRequest:
    """Record that the requester has (or no longer has) authorised conversion into a
    referral, for example when they call back; the reason says how they said so."""
    check_role(store, Permission.EDIT_CONTACTS, "update", request_id)
    why = clean_reason(reason, "reason")
    db = store.db
    with records.transaction(db):
        current = get_request(db, request_id)
        if current.referral_id:
            raise AdviceRefused(f"Advice request {request_id} is already converted into referral "
                                f"{current.referral_id}.")
        if current.conversion_authorised == authorised:
            return current
        now = utc_now_text()
        write_history(db, request_id, "conversion_authorised", _word(current.conversion_authorised),
                 _word(authorised), store.user.username, now, why)
        db.execute("UPDATE advice_requests SET conversion_authorised = ?, updated_at = ? WHERE id = ?",
                   [int(authorised), now, request_id])
        store.audit("update", RECORD_TYPE, request_id)
    return get_request(db, request_id)


def _word(value: bool) -> str:
    return "yes" if value else "no"


def advice_letter(store: Store, request_id: str) -> AdviceLetter:
    """The request's advice letter with its PDF (for showing it): made now from the advice
    recorded, or the one already made (spoa.letters.archive.make_advice_letter)."""
    issued = archive.make_advice_letter(store, request_id)
    pdf = archive.letter_pdf(store.db, issued.id)
    store.audit("view", "letter", issued.id)
    return AdviceLetter(issued, pdf)
