"""The operations a person performs at the desk, for the command line and the UI alike.

Each one checks the user's role, does its work, and writes the audit entry in the same
transaction: action, record type and id only, never patient text. A refused attempt is
audited too (outcome 'denied'). This is where rule modules meet the store: the store
keeps answers and outcomes, the rules evaluate them, neither knows the other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spoa.letters.formatting import date_and_time
from spoa.model import Outcome, ReferrerType, SessionContext, Urgency
from spoa.roles import Permission
from spoa.rules.module import RuleModule
from spoa.rules.session import TriageSession
from spoa.store import records, search
from spoa.store.records import (
    Child,
    ChildDraft,
    Contact,
    ContactDraft,
    ContactSummary,
    HistoryEntry,
    InvalidField,
    RecordError,
    TriageRecord,
)
from spoa.store.search import PossibleDuplicate
from spoa.store.store import Store

__all__ = [
    "ChildDraft", "ContactAdded", "ContactDraft", "ContactView", "ModuleMismatch", "TriageSaved",
    "add_contact", "check_received_at", "confirm_outcome", "list_contacts", "override_outcome",
    "resume_triage", "save_triage", "search_contacts", "update_child", "update_contact", "view_contact",
]


class ModuleMismatch(RecordError):
    """A session is continued with a different module from the one it started with."""


@dataclass(frozen=True)
class TriageSaved:
    session_id: str
    outcome: Outcome
    missing_required: tuple[str, ...]  # question ids still to answer
    problems: tuple[str, ...]  # value checks that fail, as "question: message"
    dropped: tuple[str, ...]  # answers not kept because their question is not asked

    @property
    def complete(self) -> bool:
        return self.outcome.complete


@dataclass(frozen=True)
class ContactAdded:
    contact_id: str
    child_id: str
    possible_duplicates: tuple[PossibleDuplicate, ...]
    triage: TriageSaved | None = None


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    child: Child
    sessions: tuple[TriageRecord, ...]
    history: tuple[HistoryEntry, ...]  # of the contact, its child and its sessions, oldest first


def _check(store: Store, permission: Permission, action: str, record_type: str = "",
           record_id: str = "") -> None:
    store.authorise(permission, action, record_type, record_id)


# -- contacts -----------------------------------------------------------------------------

# A contact cannot come in after now; this much leeway covers a computer clock a little behind.
RECEIVED_LEEWAY = timedelta(minutes=5)


def check_received_at(received_at: datetime, now: datetime | None = None) -> None:
    """Refuse a contact received later than now (deadlines would count from a moment to
    come): InvalidField naming the time as a person reads it, in UK time."""
    now = now or datetime.now(UTC)
    if received_at > now + RECEIVED_LEEWAY:
        try:
            shown = received_at.astimezone(ZoneInfo("Europe/London"))
        except ZoneInfoNotFoundError:  # no time zone data on this computer: UTC, named
            shown = received_at.astimezone(UTC)
        raise InvalidField("received_at", f"is {date_and_time(shown)}, which is later than now; give the "
                                          "time the contact came in (leave it out for now), and check "
                                          "the date and the time zone")

def add_contact(store: Store, draft: ContactDraft, *, module: RuleModule | None = None,
                answers: Mapping[str, object] | None = None, on_date: date | None = None) -> ContactAdded:
    """Store a new contact (with a new child, or one on record) and, given a module, its
    triage session, all in one transaction. Points out children who may be the same child.

    Raises InvalidField, RecordNotFound or the rule engine's AnswersRejected; nothing is
    stored then.
    """
    _check(store, Permission.EDIT_CONTACTS, "create", "contact")
    _check(store, Permission.VIEW_RECORDS, "create", "contact")  # duplicates show other records
    db = store.db
    if (draft.child is None) == (draft.child_id is None):
        raise InvalidField("child", "give either the child's details or the id of a child on record")
    contact_row = records.contact_row(draft)
    received_at = datetime.fromisoformat(contact_row["received_at"])
    check_received_at(received_at)
    if draft.child is not None:
        child_row = records.child_row(draft.child)
        duplicates = tuple(search.possible_duplicates(
            db, given_name=child_row["given_name"], family_name=child_row["family_name"],
            date_of_birth=child_row["date_of_birth"], nhs_number=child_row["nhs_number"]))
        born = date.fromisoformat(child_row["date_of_birth"]) if child_row["date_of_birth"] else None
    else:
        existing = records.get_child(db, draft.child_id)
        duplicates = ()
        born = existing.date_of_birth
    session = None
    if module is not None:
        session, dropped = _evaluate(module, answers or {}, born, contact_row["referrer_type"],
                                     on_date or received_at.date())
        outcome = session.outcome
        contact_by, seen_by = records.deadlines(
            received_at, contact_within_hours=outcome.contact_within_hours,
            respond_within_hours=outcome.respond_within_hours)
        draft = dataclasses.replace(draft, received_at=received_at,
                                    contact_by=draft.contact_by or contact_by,
                                    seen_by=draft.seen_by or seen_by)
    by = store.user.username
    with records.transaction(db):
        if draft.child is not None:
            child_id = records.create_child(db, draft.child, by=by)
            store.audit("create", "child", child_id)
        else:
            child_id = draft.child_id
        contact_id = records.create_contact(db, draft, child_id=child_id, by=by)
        store.audit("create", "contact", contact_id)
        for duplicate in duplicates:
            store.audit("view", "child", duplicate.child_id)
        saved = None
        if session is not None:
            session_id = records.create_triage_session(
                db, contact_id=contact_id, module=session.outcome.module, answers=session.answers,
                outcome=session.outcome.as_dict(), complete=session.is_complete, by=by)
            store.audit("create", "triage_session", session_id)
            saved = _saved(session_id, session, dropped)
    return ContactAdded(contact_id, child_id, duplicates, saved)


def view_contact(store: Store, contact_id: str) -> ContactView:
    _check(store, Permission.VIEW_RECORDS, "view", "contact", contact_id)
    db = store.db
    contact = records.get_contact(db, contact_id)
    child = records.get_child(db, contact.child_id)
    sessions = tuple(records.triage_sessions_of(db, contact_id))
    entries = [*records.history(db, "contact", contact_id), *records.history(db, "child", child.id)]
    for session in sessions:
        entries += records.history(db, "triage_session", session.id)
    entries.sort(key=lambda e: e.seq)
    store.audit("view", "contact", contact_id)
    return ContactView(contact, child, sessions, tuple(entries))


def list_contacts(store: Store, *, status: str | None = None, limit: int = 100) -> list[ContactSummary]:
    """The work list: soonest first-contact deadline first."""
    _check(store, Permission.VIEW_RECORDS, "view", "contact")
    found = records.list_contacts(store.db, status=status, limit=limit)
    store.audit("view", "contact")
    return found


def search_contacts(store: Store, text: str, *, limit: int = 50) -> list[ContactSummary]:
    """Contacts whose child (name, NHS number, date of birth, school) or referrer match.
    The audit records that a search happened, never what was searched for."""
    _check(store, Permission.VIEW_RECORDS, "search", "contact")
    found = records.contact_summaries(store.db, search.find_contacts(store.db, text, limit=limit))
    store.audit("search", "contact")
    return found


def update_child(store: Store, child_id: str, changes: Mapping[str, object], reason: str) -> list[str]:
    """Change a child's details; returns the fields that changed (each with history)."""
    _check(store, Permission.EDIT_CONTACTS, "update", "child", child_id)
    with records.transaction(store.db):
        changed = records.update_child(store.db, child_id, changes, by=store.user.username, reason=reason)
        if changed:
            store.audit("update", "child", child_id)
    return changed


def update_contact(store: Store, contact_id: str, changes: Mapping[str, object], reason: str) -> list[str]:
    """Change a contact's details; returns the fields that changed (each with history)."""
    _check(store, Permission.EDIT_CONTACTS, "update", "contact", contact_id)
    with records.transaction(store.db):
        changed = records.update_contact(store.db, contact_id, changes, by=store.user.username,
                                         reason=reason)
        if changed:
            store.audit("update", "contact", contact_id)
    return changed


# -- triage -------------------------------------------------------------------------------

def _evaluate(module: RuleModule, answers: Mapping[str, object], born: date | None,
              referrer: str, day: date) -> tuple[TriageSession, list[str]]:
    context = SessionContext(child_age=records.age_on(born, day) if born else None,
                             referrer=ReferrerType(referrer), on_date=day)
    session = TriageSession(module, context)
    dropped = session.answer_many(answers)
    return session, dropped


def _saved(session_id: str, session: TriageSession, dropped: list[str]) -> TriageSaved:
    return TriageSaved(session_id, session.outcome,
                       tuple(q.id for q in session.missing_required),
                       tuple(str(m) for m in session.validation_messages), tuple(dropped))


def save_triage(store: Store, contact_id: str, module: RuleModule, answers: Mapping[str, object], *,
                session_id: str | None = None, on_date: date | None = None) -> TriageSaved:
    """Evaluate the answers with the module and keep them with the outcome: a new session,
    or (given ``session_id``) the next save of one not yet decided. The contact's deadlines
    follow the outcome until it is decided."""
    _check(store, Permission.RUN_TRIAGE, "update" if session_id else "create", "triage_session",
           session_id or "")
    db = store.db
    contact = records.get_contact(db, contact_id)
    child = records.get_child(db, contact.child_id)
    if session_id is not None:
        existing = records.get_triage_session(db, session_id)
        if existing.contact_id != contact_id:
            raise RecordError(f"Session {session_id} belongs to another contact.")
        _same_module(existing, module)
    session, dropped = _evaluate(module, answers, child.date_of_birth, contact.referrer_type.value,
                                 on_date or contact.received_at.date())
    outcome = session.outcome
    by = store.user.username
    with records.transaction(db):
        if session_id is None:
            session_id = records.create_triage_session(
                db, contact_id=contact_id, module=outcome.module, answers=session.answers,
                outcome=outcome.as_dict(), complete=session.is_complete, by=by)
            store.audit("create", "triage_session", session_id)
        else:
            records.save_triage_answers(db, session_id, answers=session.answers,
                                        outcome=outcome.as_dict(), complete=session.is_complete, by=by)
            store.audit("update", "triage_session", session_id)
        if records.get_triage_session(db, session_id).decision is None:  # after it, the decision's
            contact_by, seen_by = records.deadlines(
                contact.received_at, contact_within_hours=outcome.contact_within_hours,
                respond_within_hours=outcome.respond_within_hours)
            _set_contact(store, contact, {"contact_by": contact_by, "seen_by": seen_by},
                         f"deadlines from triage outcome rule '{outcome.rule_id}'")
    return _saved(session_id, session, dropped)


def resume_triage(store: Store, session_id: str, module: RuleModule) -> TriageSession:
    """A stored session, re-evaluated with the module it was started with, to carry on."""
    _check(store, Permission.RUN_TRIAGE, "view", "triage_session", session_id)
    db = store.db
    stored = records.get_triage_session(db, session_id)
    _same_module(stored, module)
    contact = records.get_contact(db, stored.contact_id)
    child = records.get_child(db, contact.child_id)
    session, _ = _evaluate(module, stored.answers, child.date_of_birth, contact.referrer_type.value,
                           contact.received_at.date())
    store.audit("view", "triage_session", session_id)
    return session


def _same_module(stored: TriageRecord, module: RuleModule) -> None:
    if stored.module.content_hash != module.content_hash:
        raise ModuleMismatch(
            f"Session {stored.id} was started with module {stored.module.id} {stored.module.version} "
            f"(sha256 {stored.module.content_hash[:12]}…), which is not the module given "
            f"({module.id} {module.version}, sha256 {module.content_hash[:12]}…).")


def confirm_outcome(store: Store, session_id: str) -> TriageRecord:
    """The practitioner accepts the recommended outcome of a complete call, or of an
    emergency or very urgent one at once, before every question is asked."""
    _check(store, Permission.RUN_TRIAGE, "update", "triage_session", session_id)
    db = store.db
    with records.transaction(db):
        decided = records.confirm_outcome(db, session_id, by=store.user.username)
        store.audit("update", "triage_session", session_id)
        contact = records.get_contact(db, decided.contact_id)
        _set_contact(store, contact, _triaged(contact), "outcome confirmed")
    return decided


def override_outcome(store: Store, session_id: str, route: str, urgency: str, reason: str) -> TriageRecord:
    """The practitioner sets the route and urgency themselves; the reason is required.
    The contact's deadlines follow the decided band (its published response time and its
    first-contact time), always the earlier of those and what was already promised."""
    _check(store, Permission.RUN_TRIAGE, "update", "triage_session", session_id)
    db = store.db
    with records.transaction(db):
        decided = records.override_outcome(db, session_id, route=route, urgency=urgency, reason=reason,
                                           by=store.user.username)
        store.audit("update", "triage_session", session_id)
        contact = records.get_contact(db, decided.contact_id)
        band = Urgency(decided.final_urgency).band
        band_contact_by, seen_by = records.deadlines(
            contact.received_at, contact_within_hours=band.contact_within_hours,
            respond_within_hours=band.respond_within_hours)
        # The decided band's clocks, and never a first contact later than one already promised.
        contact_by = min(d for d in (contact.contact_by, band_contact_by, seen_by) if d is not None)
        _set_contact(store, contact, {**_triaged(contact), "contact_by": contact_by, "seen_by": seen_by},
                     "outcome overridden (the reason is with the triage session)")
    return decided


def _triaged(contact: Contact) -> dict:
    return {"status": "triaged"} if contact.status == "open" else {}


def _set_contact(store: Store, contact: Contact, changes: dict, reason: str) -> None:
    if contact.status not in ("open", "triaged"):
        return  # referred or closed: later work owns its deadlines
    changed = records.update_contact(store.db, contact.id, changes, by=store.user.username, reason=reason)
    if changed:
        store.audit("update", "contact", contact.id)
