"""Advice before referral: a GP, school nurse or other professional asks the hub's
specialists a question about a child; a specialist answers; the request becomes a
referral only where the requester authorised that (as in NHS e-RS Advice & Guidance).

The requester is the referrer of an advice contact (``contacts.kind = 'advice'``). A
request keeps the question, the context, what has been tried, how soon the advice is
needed and whether conversion into a referral is authorised; optionally the answers to
the ``professional_advice`` triage module, kept as a triage session through
:func:`spoa.desk.save_triage` (the request's own fields are copied into those answers,
so the two never disagree).

Who may do what:

- practitioners (and supervisors) record requests and convert authorised ones into a
  draft referral, which a supervisor approves like any other;
- the specialist's advice is recorded by a **supervisor**. The advice is a clinical
  answer that leaves the hub as a letter, and the advice letter prints whoever recorded
  it as the one who approved it; the hub's rule is that nothing leaves without a
  supervisor, so only a role that may approve may give it.

Every operation checks the role and writes the audit entry (action, record type, id;
never the text) in the same transaction as its work, as spoa.desk does; a refusal by role
is audited as denied. Text is stored NFC-normalised and trimmed; NUL characters, lone
surrogates and text over the limit are refused with an InvalidField naming the field.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlite_utils import Database

from spoa import desk
from spoa.letters import archive, referrals, routing
from spoa.letters.archive import IssuedLetter
from spoa.letters.directory import load_services
from spoa.letters.referrals import Referral, ReferralRefused, ReferralState, check_allowed
from spoa.model import ReferrerType, Route, Urgency
from spoa.roles import Permission
from spoa.rules.module import RuleModule
from spoa.rules.session import TriageSession
from spoa.store import records
from spoa.store.records import (
    FREE_TEXT_LIMIT,
    Child,
    Contact,
    ContactDraft,
    HistoryEntry,
    InvalidField,
    RecordError,
    RecordNotFound,
    TriageRecord,
    clean_reason,
    clean_text,
)
from spoa.store.store import Store

__all__ = [
    "ADVICE_MODULE_ID", "HOW_SOON", "REQUESTER_TYPES", "AdviceDraft", "AdviceLetter", "AdviceRecorded",
    "AdviceRefused", "AdviceRequest", "AdviceState", "AdviceView", "Conversion", "ConversionChoices",
    "advice_letter", "authorise_conversion", "check_request", "check_requester", "conversion_choices",
    "convert", "get_request", "letters_of_request", "list_requests", "record_request", "respond",
    "view_request",
]

ADVICE_MODULE_ID = "professional_advice"
RECORD_TYPE = "advice_request"
# How soon the requester needs the advice: the professional_advice module's choices.
HOW_SOON = {"today": "today", "within_week": "within a week", "routine": "routine, no particular deadline"}
REQUESTER_TYPES = (ReferrerType.GP, ReferrerType.SCHOOL_NURSE, ReferrerType.OTHER_PROFESSIONAL)
# When the reply is due if no module answers say otherwise: (first contact, reply) in hours,
# the professional_advice module's times (24 h when needed today, else five days).
_REPLY_HOURS = {"today": (8, 24), "within_week": (None, 120), "routine": (None, 120)}
# Which module questions the request's own fields answer.
_FIELD_QUESTIONS = {"question": "specialist_question", "context": "background",
                    "how_soon": "advice_needed_by", "conversion_authorised": "conversion_authorised"}
_YES, _NO = ("yes", "y", "true"), ("no", "n", "false")


class AdviceRefused(RecordError):
    """What was asked of an advice request is not possible; the message says why and what to do."""


class AdviceState:
    AWAITING_RESPONSE = "awaiting response"
    ANSWERED = "answered"  # advice recorded, letter not yet made
    LETTER_ISSUED = "advice letter issued"
    CONVERTED = "converted into a referral"
    CLOSED = "closed"  # the contact was closed


@dataclass
class AdviceDraft:
    """A request as the requester put it, before it is checked. ``how_soon`` and
    ``conversion_authorised`` left as None take the module answers' values (else routine, no)."""

    question: str = ""
    context: str = ""
    tried: str = ""
    how_soon: str | None = None
    conversion_authorised: bool | str | None = None


@dataclass(frozen=True)
class AdviceRequest:
    id: str
    contact_id: str
    child_id: str
    child_name: str
    requester_type: ReferrerType
    requester_name: str
    requester_organisation: str
    question: str
    context: str
    tried: str
    how_soon: str
    conversion_authorised: bool
    response: str | None
    responded_by: str | None
    responded_at: datetime | None
    referral_id: str | None
    converted_by: str | None
    converted_at: datetime | None
    respond_by: datetime | None  # the contact's reply deadline
    contact_status: str
    letter_id: str | None  # the advice letter, once made
    created_at: datetime
    created_by: str
    updated_at: datetime

    @property
    def state(self) -> str:
        if self.referral_id:
            return AdviceState.CONVERTED
        if self.contact_status == "closed":
            return AdviceState.CLOSED
        if self.letter_id:
            return AdviceState.LETTER_ISSUED
        if self.response:
            return AdviceState.ANSWERED
        return AdviceState.AWAITING_RESPONSE

    @property
    def open(self) -> bool:
        """Still needs work at the desk: advice to give, or its letter to make."""
        return self.state in (AdviceState.AWAITING_RESPONSE, AdviceState.ANSWERED)

    @property
    def awaiting_response(self) -> bool:
        return self.state == AdviceState.AWAITING_RESPONSE

    @property
    def how_soon_label(self) -> str:
        return HOW_SOON.get(self.how_soon, self.how_soon)


@dataclass(frozen=True)
class AdviceRecorded:
    request: AdviceRequest
    added: desk.ContactAdded | None  # when the request came with a new contact
    triage: desk.TriageSaved | None  # when module answers were given


@dataclass(frozen=True)
class AdviceView:
    request: AdviceRequest
    contact: Contact
    child: Child
    sessions: tuple[TriageRecord, ...]
    letters: tuple[IssuedLetter, ...]
    history: tuple[HistoryEntry, ...]  # of the request, oldest first


@dataclass(frozen=True)
class Conversion:
    request: AdviceRequest
    referral: Referral
    session_id: str
    decision: str  # "confirmed", "overridden", or "already decided"
    new_session: bool  # a session was started for the conversion


# -- checking ---------------------------------------------------------------------------------

def _check(store: Store, permission: Permission, action: str, record_id: str = "") -> None:
    check_allowed(store, permission, action, RECORD_TYPE, record_id)


def _free_text(value: object, field_name: str, *, required: bool = False) -> str:
    return clean_text(value, field_name, limit=FREE_TEXT_LIMIT, required=required, single_line=False)


def _how_soon(value: object) -> str:
    text = clean_text(value, "how_soon", limit=40, required=True)
    if text not in HOW_SOON:
        raise InvalidField("how_soon", "must be one of: " + ", ".join(HOW_SOON))
    return text


def _yes_no(value: object, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES + _NO:
        return value.strip().lower() in _YES
    raise InvalidField(field_name, "must be yes or no")


def _request_fields(draft: AdviceDraft, answers: Mapping | None) -> dict:
    """The checked columns of a request; missing fields come from the module answers."""
    given = answers or {}
    question = draft.question if _said(draft.question) else given.get("specialist_question", "")
    context = draft.context if _said(draft.context) else given.get("background", "")
    how_soon = draft.how_soon if draft.how_soon is not None else given.get("advice_needed_by", "routine")
    authorised = (draft.conversion_authorised if draft.conversion_authorised is not None
                  else given.get("conversion_authorised", False))
    return {
        "question": _free_text(question, "question", required=True),
        "context": _free_text(context, "context"),
        "tried": _free_text(draft.tried, "tried"),
        "how_soon": _how_soon(how_soon),
        "conversion_authorised": _yes_no(authorised, "conversion_authorised"),
    }


def _said(value: object) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip()))


def check_request(draft: AdviceDraft, *, answers: Mapping[str, object] | None = None,
                  module: RuleModule | None = None) -> dict | None:
    """Check a request before anything is stored (for forms and files): raises InvalidField
    naming the field, or the rule engine's AnswersRejected; returns the module answers with
    the request's own fields copied in (None without answers)."""
    if answers is not None and not isinstance(answers, Mapping):
        raise InvalidField("answers", "must map question ids to answers")
    fields = _request_fields(draft, answers)
    if answers is None:
        return None
    chosen = _advice_module(module)
    merged = _merged_answers(chosen, answers, fields)
    TriageSession(chosen).answer_many(merged)
    return merged


def _merged_answers(module: RuleModule, answers: Mapping, fields: dict, *,
                    request_wins: bool = False) -> dict:
    """The module answers with the request's own fields copied in; an answer given that
    says something else is refused (the request and its session must not disagree), or
    with ``request_wins`` replaced (answers kept from an earlier session, when the request
    has changed since, e.g. conversion authorised later)."""
    merged = {str(k): v for k, v in answers.items()}
    for name, question_id in _FIELD_QUESTIONS.items():
        if question_id not in module.questions:
            continue
        value = fields[name]
        if name == "context" and not value:
            continue
        if question_id in merged and not request_wins:
            typed = merged[question_id]
            same = (_yes_no(typed, f"answers.{question_id}") == value if isinstance(value, bool)
                    else isinstance(typed, str) and clean_text(typed, f"answers.{question_id}",
                                                               limit=FREE_TEXT_LIMIT,
                                                               single_line=False) == value)
            if not same:
                raise InvalidField(f"answers.{question_id}",
                                   f"says something else than the request's {name}; leave it out "
                                   "(the request's own field is copied in)")
        else:
            merged[question_id] = ("yes" if value else "no") if isinstance(value, bool) else value
    return merged


def _advice_module(module: RuleModule | None) -> RuleModule:
    if module is not None:
        return module
    from spoa.rules.catalog import discover

    found = discover().get(ADVICE_MODULE_ID)
    if found is None:
        raise AdviceRefused(f"The rule module '{ADVICE_MODULE_ID}' is not installed (or is broken) on this "
                            "desk, so the request's triage answers cannot be evaluated. "
                            "'spoa rules list' shows the modules.")
    return found


def check_requester(referrer_type: ReferrerType | str) -> None:
    """An advice request comes from a GP, a school nurse or another professional."""
    try:
        kind = ReferrerType(referrer_type)
    except ValueError:
        kind = None
    if kind not in REQUESTER_TYPES:
        raise InvalidField("referrer_type", "an advice request comes from a professional: one of "
                                            + ", ".join(r.value for r in REQUESTER_TYPES))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _history(db: Database, request_id: str, field_name: str, old: str | None, new: str | None, by: str,
             at: str, reason: str) -> None:
    """A change to a request, kept as the store keeps every edit: old -> new, who, when, why."""
    db.execute(
        "INSERT INTO record_history (record_type, record_id, field, old_value, new_value, changed_by, "
        "changed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [RECORD_TYPE, request_id, field_name, old, new, by, at, reason])


# -- reading ----------------------------------------------------------------------------------

_SELECT = """
    SELECT ar.id, ar.contact_id, co.child_id, ch.given_name, ch.family_name, co.referrer_type,
           co.referrer_name, co.referrer_organisation, ar.question, ar.context, ar.tried, ar.how_soon,
           ar.conversion_authorised, ar.response, ar.responded_by, ar.responded_at, ar.referral_id,
           ar.converted_by, ar.converted_at, co.seen_by, co.status,
           (SELECT lt.id FROM letters lt WHERE lt.advice_request_id = ar.id
              ORDER BY lt.created_at, lt.rowid LIMIT 1),
           ar.created_at, ar.created_by, ar.updated_at
    FROM advice_requests ar JOIN contacts co ON co.id = ar.contact_id JOIN children ch ON ch.id = co.child_id
"""


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _request(row: tuple) -> AdviceRequest:
    return AdviceRequest(
        id=row[0], contact_id=row[1], child_id=row[2], child_name=f"{row[3]} {row[4]}".strip(),
        requester_type=ReferrerType(row[5]), requester_name=row[6], requester_organisation=row[7],
        question=row[8], context=row[9], tried=row[10], how_soon=row[11],
        conversion_authorised=bool(row[12]), response=row[13], responded_by=row[14],
        responded_at=_instant(row[15]), referral_id=row[16], converted_by=row[17],
        converted_at=_instant(row[18]), respond_by=_instant(row[19]), contact_status=row[20],
        letter_id=row[21], created_at=datetime.fromisoformat(row[22]), created_by=row[23],
        updated_at=datetime.fromisoformat(row[24]))


def get_request(db: Database, request_id: str) -> AdviceRequest:
    """One request (no role check: callers check)."""
    row = db.execute(_SELECT + " WHERE ar.id = ?", [request_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no advice request with the id {request_id!r}.")
    return _request(row)


def letters_of_request(db: Database, request_id: str) -> list[IssuedLetter]:
    rows = db.execute("SELECT id FROM letters WHERE advice_request_id = ? ORDER BY created_at, rowid",
                      [request_id]).fetchall()
    return [archive.get_letter(db, r[0]) for r in rows]


def view_request(store: Store, request_id: str) -> AdviceView:
    """One request with its contact, child, triage sessions, letters and history."""
    _check(store, Permission.VIEW_RECORDS, "view", request_id)
    db = store.db
    request = get_request(db, request_id)
    contact = records.get_contact(db, request.contact_id)
    view = AdviceView(request, contact, records.get_child(db, contact.child_id),
                      tuple(records.triage_sessions_of(db, contact.id)),
                      tuple(letters_of_request(db, request_id)),
                      tuple(records.history(db, RECORD_TYPE, request_id)))
    store.audit("view", RECORD_TYPE, request_id)
    return view


def list_requests(store: Store, *, awaiting: bool = False, limit: int = 200) -> list[AdviceRequest]:
    """Open requests (advice to give, or its letter to make), soonest reply deadline first;
    ``awaiting``: only those still waiting for the specialist's advice."""
    _check(store, Permission.VIEW_RECORDS, "view")
    where = " WHERE ar.referral_id IS NULL AND co.status != 'closed'"
    if awaiting:
        where += " AND ar.response IS NULL"
    order = " ORDER BY co.seen_by IS NULL, co.seen_by, ar.created_at, ar.id"
    rows = store.db.execute(_SELECT + where + order).fetchall()
    found = [r for r in map(_request, rows) if r.open and (r.awaiting_response or not awaiting)]
    store.audit("view", RECORD_TYPE)
    return found[:max(1, int(limit))]


# -- recording a request ------------------------------------------------------------------------

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
    _check(store, Permission.EDIT_CONTACTS, "create")
    _check(store, Permission.VIEW_RECORDS, "create")  # a new contact shows possible duplicates
    if answers is not None:
        _check(store, Permission.RUN_TRIAGE, "create")
    if (contact is None) == (contact_id is None):
        raise InvalidField("contact", "give either the new contact's details or the id of an advice contact")
    if answers is not None and not isinstance(answers, Mapping):
        raise InvalidField("answers", "must map question ids to answers")
    fields = _request_fields(draft, answers)
    chosen = _advice_module(module) if answers is not None else None
    merged = _merged_answers(chosen, answers, fields) if chosen is not None else None
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
        now = _now()
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
    _check(store, Permission.APPROVE_REFERRALS, "update", request_id)
    advice = _free_text(text, "response", required=True)
    db = store.db
    with records.transaction(db):
        current = get_request(db, request_id)
        if current.letter_id:
            raise AdviceRefused(f"The advice letter {current.letter_id} of request {request_id} has been "
                                "made with the advice as it was; it cannot change now. Record further advice "
                                "as a new request on the same contact.")
        if current.response == advice:
            return current
        now = _now()
        by = store.user.username
        if current.response is not None:
            why = clean_reason(reason, "reason")  # changing advice already given: say why
            _history(db, request_id, "response", current.response, advice, by, now, why)
        db.execute("UPDATE advice_requests SET response = ?, responded_by = ?, responded_at = ?, "
                   "updated_at = ? WHERE id = ?", [advice, by, now, now, request_id])
        store.audit("update", RECORD_TYPE, request_id)
    return get_request(db, request_id)


def authorise_conversion(store: Store, request_id: str, reason: str, *,
                         authorised: bool = True) -> AdviceRequest:
    """Record that the requester has (or no longer has) authorised conversion into a
    referral, for example when they call back; the reason says how they said so."""
    _check(store, Permission.EDIT_CONTACTS, "update", request_id)
    why = clean_reason(reason, "reason")
    db = store.db
    with records.transaction(db):
        current = get_request(db, request_id)
        if current.referral_id:
            raise AdviceRefused(f"Advice request {request_id} is already converted into referral "
                                f"{current.referral_id}.")
        if current.conversion_authorised == authorised:
            return current
        now = _now()
        _history(db, request_id, "conversion_authorised", _word(current.conversion_authorised),
                 _word(authorised), store.user.username, now, why)
        db.execute("UPDATE advice_requests SET conversion_authorised = ?, updated_at = ? WHERE id = ?",
                   [int(authorised), now, request_id])
        store.audit("update", RECORD_TYPE, request_id)
    return get_request(db, request_id)


def _word(value: bool) -> str:
    return "yes" if value else "no"


@dataclass(frozen=True)
class AdviceLetter:
    letter: IssuedLetter
    pdf: bytes  # exactly as issued


def advice_letter(store: Store, request_id: str) -> AdviceLetter:
    """The request's advice letter with its PDF (for showing it): made now from the advice
    recorded, or the one already made (spoa.letters.archive.make_advice_letter)."""
    issued = archive.make_advice_letter(store, request_id)
    pdf = archive.letter_pdf(store.db, issued.id)
    store.audit("view", "letter", issued.id)
    return AdviceLetter(issued, pdf)


# -- conversion into a referral -------------------------------------------------------------------

def convert(store: Store, request_id: str, service_id: str, *, reason: str = "",
            urgency: Urgency | str | None = None, module: RuleModule | None = None,
            today: date | None = None) -> Conversion:
    """Turn an advice request into a draft referral to ``service_id``, only where the
    requester authorised conversion. The referral rests on a decided triage session:

    - the request's latest session, confirmed when it is complete and recommends the
      service's route (and ``urgency``, if given);
    - otherwise overridden to the service's route, at ``urgency`` (default: the one
      recommended), with ``reason`` (then required), through spoa.desk;
    - without a session, or when the latest was already decided otherwise, a new session
      of the professional_advice module is started from the request's answers first.

    ``reason`` is also the referral's reason. All in one transaction: a service that does
    not take the child leaves nothing changed. The referral is a draft that a supervisor
    approves as usual.
    """
    _check(store, Permission.DRAFT_REFERRALS, "update", request_id)
    _check(store, Permission.RUN_TRIAGE, "update", request_id)
    why = _free_text(reason, "reason")
    wanted = _urgency(urgency)
    db = store.db
    current = get_request(db, request_id)
    if not current.conversion_authorised:
        raise AdviceRefused(
            f"The requester did not authorise converting advice request {request_id} into a referral, so it "
            "stays a request for advice: give the advice. If the requester now authorises conversion, record "
            f"that first ('spoa advice authorise {request_id} --reason …') and convert again.")
    _not_converted(db, current)
    route = _service_route(db, service_id)
    new_session = False
    with records.transaction(db):
        current = get_request(db, request_id)
        _not_converted(db, current)
        sessions = records.triage_sessions_of(db, current.contact_id)
        session = sessions[-1] if sessions else None
        if session is None or (session.decision is not None and not _fits(session, route, wanted)):
            chosen = _advice_module(module)
            earlier = session.answers if session and session.module.id == chosen.id else {}
            answers = _merged_answers(chosen, earlier, _fields_of(current), request_wins=True)
            saved = desk.save_triage(store, current.contact_id, chosen, answers)
            session, new_session = records.get_triage_session(db, saved.session_id), True
        if session.decision is not None:
            decision = "already decided"
        elif (session.complete and session.outcome is not None and session.recommended_route is route
              and wanted in (None, session.recommended_urgency)):
            desk.confirm_outcome(store, session.id)
            decision = "confirmed"
        else:
            if not why:
                whose = (f"Request {request_id} had no triage answers; the outcome of what it says"
                         if new_session and not sessions else f"The triage outcome of request {request_id}")
                raise AdviceRefused(
                    f"{whose} {_recommendation(session)}, not a referral to {route.label}{_at(wanted)}: "
                    "converting overrides it, so say why (--reason).")
            final = wanted or (session.recommended_urgency if session.outcome else Urgency.ROUTINE)
            desk.override_outcome(store, session.id, route, final,
                                  f"Advice request {request_id} converted into a referral at the requester's "
                                  f"authorisation: {why}")
            decision = "overridden"
        referral = referrals.create_referral(store, session.id, service_id, reason=why, today=today)
        now = _now()
        by = store.user.username
        _history(db, request_id, "referral_id", None, referral.id, by, now,
                 "converted into a referral at the requester's authorisation")
        db.execute("UPDATE advice_requests SET referral_id = ?, converted_by = ?, converted_at = ?, "
                   "updated_at = ? WHERE id = ?", [referral.id, by, now, now, request_id])
        store.audit("update", RECORD_TYPE, request_id)
    return Conversion(get_request(db, request_id), referral, session.id, decision, new_session)


@dataclass(frozen=True)
class ConversionChoices:
    """The services a request could be converted into a referral to, best first, and what to
    say when there are none (spoa.letters.routing, as for a decided triage session)."""

    request_id: str
    route: Route
    urgency: Urgency
    child_age: int | None
    matches: tuple[routing.ServiceMatch, ...]
    message: str


def conversion_choices(store: Store, request_id: str, route: Route | str, urgency: Urgency | str, *,
                       today: date | None = None) -> ConversionChoices:
    """The services of ``route`` that take the request's child at ``urgency`` (for choosing
    the service before ``convert``); nothing is changed."""
    _check(store, Permission.DRAFT_REFERRALS, "view", request_id)
    wanted = _urgency(urgency) or Urgency.ROUTINE
    try:
        kind = Route(route)
    except ValueError:
        raise InvalidField("route", "must be one of: " + ", ".join(r.value for r in Route)) from None
    db = store.db
    current = get_request(db, request_id)
    child = records.get_child(db, current.child_id)
    age = child.age_on(today or datetime.now(UTC).date())
    where = {"route": kind, "urgency": wanted, "child_age": age, "postcode": child.postcode or None,
             "school": child.school or None}
    matches = tuple(routing.match_services(db, **where))
    message = (f"{len(matches)} service(s) take this referral, best first." if matches
               else routing.explain_no_match(db, **where))
    store.audit("view", RECORD_TYPE, request_id)
    return ConversionChoices(request_id, kind, wanted, age, matches, message)


def _urgency(value: Urgency | str | None) -> Urgency | None:
    if value is None or value == "":
        return None
    try:
        return Urgency(value)
    except ValueError:
        raise InvalidField("urgency", "must be one of: " + ", ".join(u.value for u in Urgency)) from None


def _not_converted(db: Database, current: AdviceRequest) -> None:
    if current.referral_id is None:
        return
    state = referrals.get_referral(db, current.referral_id).state
    if state is not ReferralState.CLOSED:
        raise AdviceRefused(f"Advice request {current.id} is already converted into referral "
                            f"{current.referral_id} ({state.label}); carry on with that one.")
    raise AdviceRefused(f"Advice request {current.id} was converted into referral {current.referral_id}, "
                        "which is closed; record a new request or triage the child again.")


def _service_route(db: Database, service_id: str) -> Route:
    service_id = clean_text(service_id, "service", limit=records.NAME_LIMIT, required=True)
    found = next((s for s in load_services(db) if s.id == service_id), None)
    if found is None:
        raise ReferralRefused(f"There is no service with the id {service_id!r} in the directory; "
                              "'spoa directory list' shows them.")
    return found.kind


def _fits(session: TriageRecord, route: Route, urgency: Urgency | None) -> bool:
    return session.final_route is route and urgency in (None, session.final_urgency)


def _fields_of(request: AdviceRequest) -> dict:
    return {"question": request.question, "context": request.context, "how_soon": request.how_soon,
            "conversion_authorised": request.conversion_authorised}


def _at(urgency: Urgency | None) -> str:
    return f" ({urgency.label.lower()})" if urgency else ""


def _recommendation(session: TriageRecord) -> str:
    if session.outcome is None:
        return "makes no recommendation"
    state = "recommends" if session.complete else "provisionally recommends (the answers are incomplete)"
    return f"{state} {session.recommended_route.label}, {session.recommended_urgency.label.lower()}"
