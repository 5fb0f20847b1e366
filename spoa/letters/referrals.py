"""Referrals: a decided triage outcome addressed to a concrete service, and its way out.

States::

    draft --submit--> awaiting_approval --approve--> approved --(letter queued)--> sent --close--> closed
      ^                  |  return (with a reason)
      +--- returned <----+        (draft, awaiting_approval, approved, returned --withdraw--> closed)

A returned referral is changed (service, reason, sections left out) and submitted again.
An approved one is not returned (its letter may already be issued as approved): it is
withdrawn with a reason and drafted anew. An emergency or very urgent referral may leave
before a supervisor has seen it
(``spoa.letters.outbox.send_referral(before_review=True)``): its letter says so and the
referral stays "sent, review pending" until a supervisor records a review (a step
"reviewed"). Four eyes: the supervisor who approves or reviews a referral is never one of
its authors: the one who drafted, submitted or sent it, or who edited what its letter says
(a step "edited") (SecondPersonRequired). Every step is a row in
``referral_steps`` (state, who, when, why); every operation checks the role and writes the
audit in the same transaction, as spoa.desk does. A referral is only ever addressed to an
active service of the route's kind that takes the child's age and the urgency: the
practitioner chooses (``service_choices`` lists the routing matches), the desk refuses
what the directory rules out.

Deadlines follow the urgency of the decision, counted from when the contact came in:
"contact by" (first contact) and "seen by". Before the letter has left, a referral is
overdue once its contact-by time has passed; after, once its seen-by time has passed
and it is not closed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlite_utils import Database

from spoa.letters import routing
from spoa.letters.content import Section
from spoa.letters.directory import Service, load_services
from spoa.letters.routing import ServiceMatch
from spoa.model import Route, Urgency
from spoa.roles import Permission
from spoa.store import records
from spoa.store.records import (
    FREE_TEXT_LIMIT,
    NAME_LIMIT,
    Contact,
    InvalidField,
    RecordError,
    RecordNotFound,
    TriageRecord,
    clean_reason,
    clean_text,
)
from spoa.store.store import Store

__all__ = [
    "EARLY_SEND_URGENCIES", "EDITED", "OverdueReferral", "Referral", "ReferralRefused",
    "ReferralState", "ReferralStep", "ServiceChoices", "approve", "check_allowed", "close",
    "create_referral", "deadlines_of", "get_referral", "list_referrals", "overdue", "record_review",
    "release", "return_referral", "sendable", "service_choices", "submit", "update_referral",
    "view_referral",
]


class ReferralState(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SENT = "sent"
    CLOSED = "closed"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# Step names that are not states: a review after an early send; a change to what the
# letter says (service, reason, sections left out), which makes its author one of the
# referral's authors.
REVIEWED = "reviewed"
EDITED = "edited"
EARLY_SEND_URGENCIES = frozenset({Urgency.EMERGENCY, Urgency.VERY_URGENT})
_NOT_YET_SENT = (ReferralState.DRAFT, ReferralState.AWAITING_APPROVAL, ReferralState.APPROVED,
                 ReferralState.RETURNED)


class ReferralRefused(RecordError):
    """What was asked of a referral is not possible in its state; the message says why."""


class SecondPersonRequired(ReferralRefused):
    """Four eyes: a supervisor may not approve or review a referral they made, edited,
    submitted or sent themselves."""


@dataclass(frozen=True)
class ReferralStep:
    state: str  # a ReferralState value, or "reviewed"
    at: datetime
    username: str
    reason: str | None


@dataclass(frozen=True)
class Referral:
    id: str
    contact_id: str
    session_id: str
    service_id: str | None
    state: ReferralState
    reason: str  # the practitioner's words: why the child is referred
    omitted: frozenset[Section]  # optional letter sections left out
    return_reason: str | None
    sent_before_review: bool
    route: Route
    urgency: Urgency
    respond_within_hours: int
    contact_by: datetime | None
    seen_by: datetime | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    steps: tuple[ReferralStep, ...] = ()

    @property
    def review_pending(self) -> bool:
        """Sent before a supervisor saw it, and no supervisor has reviewed it since."""
        return self.sent_before_review and not any(s.state == REVIEWED for s in self.steps)

    def step(self, state: str) -> ReferralStep | None:
        """The latest step into ``state``."""
        return next((s for s in reversed(self.steps) if s.state == state), None)

    def due(self) -> tuple[str, datetime | None]:
        """The clock that matters now: ('contact by', when) before the letter leaves,
        ('seen by', when) after; (.., None) when closed or without a deadline."""
        if self.state is ReferralState.CLOSED:
            return "closed", None
        if self.state in _NOT_YET_SENT:
            return "contact by", self.contact_by or self.seen_by
        return "seen by", self.seen_by


@dataclass(frozen=True)
class OverdueReferral:
    referral: Referral
    clock: str  # "contact by" or "seen by"
    due: datetime
    late_by: timedelta


@dataclass(frozen=True)
class ServiceChoices:
    """The services a decided session could be referred to, best first, and what to say
    when there are none (the practitioner then chooses from the directory)."""

    session_id: str
    route: Route
    urgency: Urgency
    child_age: int | None
    matches: tuple[ServiceMatch, ...]  # best first
    message: str


# -- role checks ---------------------------------------------------------------------------

def check_allowed(store: Store, permission: Permission, action: str, record_type: str = "",
                  record_id: str = "", *, doing: str | None = None) -> None:
    """The desk's rule (Store.authorise): locked stores refuse; refusals are audited."""
    store.authorise(permission, action, record_type, record_id, doing=doing)


# -- reading ---------------------------------------------------------------------------------

_COLUMNS = ("id, contact_id, session_id, service_id, state, reason, omitted, return_reason, "
            "sent_before_review, created_at, created_by, updated_at")


def get_referral(db: Database, referral_id: str) -> Referral:
    """A referral with its steps and deadlines (no role check: callers check)."""
    row = db.execute(f"SELECT {_COLUMNS} FROM referrals WHERE id = ?",  # noqa: S608
                     [referral_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no referral with the id {referral_id!r}.")
    return _referral(db, row)


def _referral(db: Database, row: tuple) -> Referral:
    session = records.get_triage_session(db, row[2])
    contact = records.get_contact(db, row[1])
    respond_hours, contact_by, seen_by = deadlines_of(contact, session)
    steps = tuple(
        ReferralStep(r[0], datetime.fromisoformat(r[1]), r[2], r[3])
        for r in db.execute("SELECT state, at, username, reason FROM referral_steps "
                            "WHERE referral_id = ? ORDER BY id", [row[0]]))
    return Referral(
        id=row[0], contact_id=row[1], session_id=row[2], service_id=row[3],
        state=ReferralState(row[4]), reason=row[5], omitted=_sections(json.loads(row[6])),
        return_reason=row[7], sent_before_review=bool(row[8]), route=session.final_route,
        urgency=session.final_urgency, respond_within_hours=respond_hours, contact_by=contact_by,
        seen_by=seen_by, created_at=datetime.fromisoformat(row[9]), created_by=row[10],
        updated_at=datetime.fromisoformat(row[11]), steps=steps)


def deadlines_of(contact: Contact, session: TriageRecord) -> tuple[int, datetime | None, datetime | None]:
    """(respond within hours, contact by, seen by) of a decided session, from when the contact
    came in. A confirmed outcome keeps the module's times; an override takes its band's
    published times, and first contact is the earliest of the module's, the band's and the
    response itself (as spoa.desk sets the contact's own deadlines)."""
    outcome = session.outcome or {}
    contact_hours = outcome.get("contact_within_hours")
    if session.decision == records.CONFIRMED:
        respond_hours = int(outcome["respond_within_hours"])
        contact_by, seen_by = records.deadlines(contact.received_at, contact_within_hours=contact_hours,
                                                respond_within_hours=respond_hours)
        return respond_hours, contact_by, seen_by
    band = Urgency(session.final_urgency).band
    respond_hours = band.respond_within_hours
    contact_by, seen_by = records.deadlines(contact.received_at, contact_within_hours=contact_hours,
                                            respond_within_hours=respond_hours)
    band_contact_by, _ = records.deadlines(contact.received_at, respond_within_hours=None,
                                           contact_within_hours=band.contact_within_hours)
    return respond_hours, min(d for d in (contact_by, band_contact_by, seen_by) if d is not None), seen_by


def _sections(values: Iterable[str]) -> frozenset[Section]:
    chosen = set()
    for value in values:
        try:
            chosen.add(Section(value))
        except ValueError:
            raise InvalidField("omit", f"'{value}' is not an optional section; choose from "
                                       + ", ".join(s.value for s in Section)) from None
    return frozenset(chosen)


def view_referral(store: Store, referral_id: str) -> Referral:
    """One referral with its steps and deadlines, for people (role-checked, audited)."""
    check_allowed(store, Permission.VIEW_RECORDS, "view", "referral", referral_id)
    referral = get_referral(store.db, referral_id)
    store.audit("view", "referral", referral_id)
    return referral


def list_referrals(store: Store, *, state: ReferralState | str | None = None,
                   review_pending: bool = False) -> list[Referral]:
    """Referrals, soonest deadline first (those without one last)."""
    check_allowed(store, Permission.VIEW_RECORDS, "view", "referral")
    where, params = "", []
    if state is not None:
        where, params = "WHERE state = ?", [_state(state).value]
    rows = store.db.execute(f"SELECT {_COLUMNS} FROM referrals {where} ORDER BY created_at, id",  # noqa: S608
                            params).fetchall()
    found = [_referral(store.db, row) for row in rows]
    if review_pending:
        found = [r for r in found if r.review_pending]
    found.sort(key=lambda r: (r.due()[1] is None, r.due()[1] or datetime.max.replace(tzinfo=UTC)))
    store.audit("view", "referral")
    return found


def overdue(store: Store, now: datetime | None = None) -> list[OverdueReferral]:
    """Referrals past the deadline that matters now, most overdue first."""
    now = _aware(now or datetime.now(UTC))
    late = []
    for referral in list_referrals(store):
        clock, due = referral.due()
        if due is not None and due < now:
            late.append(OverdueReferral(referral, clock, due, now - due))
    late.sort(key=lambda item: item.due)
    return late


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidField("now", "needs a time zone (UTC)")
    return moment


def _state(value: ReferralState | str) -> ReferralState:
    try:
        return ReferralState(value)
    except ValueError:
        raise InvalidField("state", "must be one of: " + ", ".join(s.value for s in ReferralState)) from None


# -- services --------------------------------------------------------------------------------

def _service(db: Database, service_id: str) -> Service:
    found = next((s for s in load_services(db) if s.id == service_id), None)
    if found is None:
        raise ReferralRefused(f"There is no service with the id {service_id!r} in the directory; "
                              "'spoa directory list' shows them.")
    return found


def _child_age(db: Database, contact: Contact, today: date) -> int | None:
    return records.get_child(db, contact.child_id).age_on(today)


def _check_service(db: Database, service_id: str, route: Route, urgency: Urgency,
                   age: int | None) -> Service:
    """Refuse a service that cannot take this referral, saying which rule and what to do."""
    service = _service(db, service_id)
    if not service.active:
        raise ReferralRefused(f"{service.name} ({service.id}) is no longer active in the directory; "
                              "choose another service.")
    if service.kind is not route:
        raise ReferralRefused(
            f"The decision is a referral to {route.label}, but {service.name} is a "
            f"{service.kind.label} service. Choose a {route.label} service, or start a new "
            "triage session if the route should change.")
    if age is None:
        raise ReferralRefused("The child's date of birth is not recorded, so no service's age range "
                              "can be checked. Add the date of birth to the child's record first.")
    if not service.takes_age(age):
        raise ReferralRefused(
            f"{service.name} takes children aged {service.ages}; this child is {age}. Choose a service "
            "that takes this age.")
    if not service.takes_urgency(urgency):
        taken = ", ".join(u.label.lower() for u in service.urgencies) or "none listed"
        raise ReferralRefused(
            f"{service.name} does not take {urgency.label.lower()} referrals (it takes: {taken}). "
            "Choose a service that takes this urgency, or correct the directory entry.")
    return service


def service_choices(store: Store, session_id: str, *, today: date | None = None) -> ServiceChoices:
    """The services that fit a decided session, best first (spoa.letters.routing)."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "view", "triage_session", session_id)
    db = store.db
    session = _decided(db, session_id)
    contact = records.get_contact(db, session.contact_id)
    child = records.get_child(db, contact.child_id)
    age = child.age_on(today or datetime.now(UTC).date())
    where = {"route": session.final_route, "urgency": session.final_urgency, "child_age": age,
             "postcode": child.postcode or None, "school": child.school or None}
    matches = tuple(routing.match_services(db, **where))
    if matches:
        message = f"{len(matches)} service(s) take this referral, best first."
    else:
        message = ("Nothing has been referred yet. " + routing.explain_no_match(db, **where))
    store.audit("view", "triage_session", session_id)
    return ServiceChoices(session_id, session.final_route, session.final_urgency, age, matches, message)


def _decided(db: Database, session_id: str) -> TriageRecord:
    session = records.get_triage_session(db, session_id)
    if session.decision is None:
        raise ReferralRefused(f"The outcome of session {session_id} has not been confirmed or "
                              "overridden yet; decide it first ('spoa referral confirm|override').")
    if session.final_route is Route.ADVICE:
        raise ReferralRefused(f"Session {session_id} ended in advice only: there is no service to refer "
                              "to. Send an advice response or a not-accepted letter instead.")
    return session


# -- writing ---------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _step(db: Database, referral_id: str, state: str, by: str, reason: str | None, at: str) -> None:
    db.execute("INSERT INTO referral_steps (referral_id, state, at, username, reason) VALUES (?, ?, ?, ?, ?)",
               [referral_id, state, at, by, reason])


def _reason_text(value: object) -> str:
    return clean_text(value, "reason", limit=FREE_TEXT_LIMIT, single_line=False)


def _omitted(values: Iterable[Section | str] | None) -> str:
    return json.dumps(sorted(s.value for s in _sections(str(v) for v in (values or ()))))


def create_referral(store: Store, session_id: str, service_id: str, *, reason: str = "",
                    omit: Sequence[Section | str] = (), today: date | None = None) -> Referral:
    """A draft referral of a confirmed or overridden session to a service that takes it."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "create", "referral")
    db = store.db
    service_id = clean_text(service_id, "service", limit=NAME_LIMIT, required=True)
    why = _reason_text(reason)
    omitted = _omitted(omit)
    referral_id = f"rf-{secrets.token_hex(6)}"
    by = store.user.username
    with records.transaction(db):
        session = _decided(db, session_id)
        contact = records.get_contact(db, session.contact_id)
        age = _child_age(db, contact, today or datetime.now(UTC).date())
        _check_service(db, service_id, session.final_route, session.final_urgency, age)
        open_one = db.execute(
            "SELECT id FROM referrals WHERE session_id = ? AND service_id = ? AND state != 'closed'",
            [session_id, service_id]).fetchone()
        if open_one is not None:
            raise ReferralRefused(f"Referral {open_one[0]} already refers this session to this service; "
                                  "carry on with that one.")
        now = _now()
        db.execute("INSERT INTO referrals (id, contact_id, session_id, service_id, state, reason, omitted, "
                   "created_at, created_by, updated_at) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?)",
                   [referral_id, contact.id, session_id, service_id, why, omitted, now, by, now])
        _step(db, referral_id, ReferralState.DRAFT, by, None, now)
        store.audit("create", "referral", referral_id)
    return get_referral(db, referral_id)


def update_referral(store: Store, referral_id: str, *, service_id: str | None = None,
                    reason: str | None = None, omit: Sequence[Section | str] | None = None,
                    today: date | None = None) -> Referral:
    """Change the service, the reason or the sections left out, while a draft or returned.

    A change is a step "edited" in the referral's history naming what changed: its author
    is then one of the referral's authors, who may not approve or review it. Saving what is
    already there (once cleaned) changes nothing and records nothing."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "update", "referral", referral_id)
    db = store.db
    with records.transaction(db):
        current = _in_state(db, referral_id, "changed", ReferralState.DRAFT, ReferralState.RETURNED)
        changes: dict[str, object] = {}
        changed: list[str] = []
        if service_id is not None and service_id != current.service_id:
            contact = records.get_contact(db, current.contact_id)
            age = _child_age(db, contact, today or datetime.now(UTC).date())
            _check_service(db, service_id, current.route, current.urgency, age)
            changes["service_id"] = service_id
            changed.append("service")
        if reason is not None:
            why = _reason_text(reason)
            if why != current.reason:
                changes["reason"] = why
                changed.append("reason")
        if omit is not None:
            omitted = _omitted(omit)
            if _sections(json.loads(omitted)) != current.omitted:
                changes["omitted"] = omitted
                changed.append("sections left out")
        if changes:
            now = _now()
            assignments = ", ".join(f"{name} = ?" for name in changes)
            db.execute(f"UPDATE referrals SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                       [*changes.values(), now, referral_id])
            _step(db, referral_id, EDITED, store.user.username, "changed: " + ", ".join(changed), now)
            store.audit("update", "referral", referral_id)
    return get_referral(db, referral_id)


def _in_state(db: Database, referral_id: str, doing: str, *allowed: ReferralState) -> Referral:
    current = get_referral(db, referral_id)
    if current.state not in allowed:
        can = " or ".join(s.label for s in allowed)
        raise ReferralRefused(
            f"Referral {referral_id} is {current.state.label}; it can only be {doing} when it is {can}."
            + _what_next(current))
    return current


def _what_next(referral: Referral) -> str:
    return {
        ReferralState.DRAFT: " Submit it for approval first.",
        ReferralState.AWAITING_APPROVAL: " A supervisor approves or returns it next.",
        ReferralState.APPROVED: " Its letter can be sent now.",
        ReferralState.SENT: (" A supervisor reviews it next." if referral.review_pending
                             else " Close it once the service has taken it on."),
        ReferralState.RETURNED: f" It was returned ({referral.return_reason}); change it and submit again.",
        ReferralState.CLOSED: " Nothing more can happen to it.",
    }[referral.state]


def _move(store: Store, referral_id: str, state: ReferralState, reason: str | None, action: str,
          *, return_reason: str | None = None, sent_before_review: bool | None = None) -> None:
    db = store.db
    now = _now()
    extra, values = "", []
    if sent_before_review is not None:
        extra, values = ", sent_before_review = ?", [int(sent_before_review)]
    db.execute(f"UPDATE referrals SET state = ?, return_reason = ?, updated_at = ?{extra} WHERE id = ?",  # noqa: S608
               [state.value, return_reason, now, *values, referral_id])
    _step(db, referral_id, state.value, store.user.username, reason, now)
    store.audit(action, "referral", referral_id)


def submit(store: Store, referral_id: str) -> Referral:
    """The practitioner asks a supervisor to approve a draft (or a returned referral they changed)."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "update", "referral", referral_id)
    with records.transaction(store.db):
        _in_state(store.db, referral_id, "submitted", ReferralState.DRAFT, ReferralState.RETURNED)
        _move(store, referral_id, ReferralState.AWAITING_APPROVAL, None, "update")
    return get_referral(store.db, referral_id)


def own_steps(referral: Referral, username: str) -> list[str]:
    """What ``username`` did to the referral that bars them from approving or reviewing it."""
    done = []
    if referral.created_by == username:
        done.append("drafted")
    if any(s.state == EDITED and s.username == username for s in referral.steps):
        done.append("edited")
    submitted = referral.step(ReferralState.AWAITING_APPROVAL.value)
    if submitted is not None and submitted.username == username:
        done.append("submitted")
    sent = referral.step(ReferralState.SENT.value)
    if referral.sent_before_review and sent is not None and sent.username == username:
        done.append("sent")
    return done


def _second_person(store: Store, referral: Referral, doing: str, action: str) -> None:
    done = own_steps(referral, store.user.username)
    if done:
        store.audit(action, "referral", referral.id, outcome="refused")
        raise SecondPersonRequired(
            f"You {' and '.join(done)} referral {referral.id}, so another supervisor must {doing} it: "
            "a referral is always checked by a second person.")


def approve(store: Store, referral_id: str, note: str = "") -> Referral:
    """A supervisor approves: the letter may now leave. Not one they drafted or submitted."""
    check_allowed(store, Permission.APPROVE_REFERRALS, "approve", "referral", referral_id)
    why = _reason_text(note) or None
    _second_person(store, get_referral(store.db, referral_id), "approve", "approve")
    with records.transaction(store.db):
        current = _in_state(store.db, referral_id, "approved", ReferralState.AWAITING_APPROVAL)
        if own_steps(current, store.user.username):  # changed hands meanwhile
            raise SecondPersonRequired(f"Referral {referral_id} changed meanwhile; open it again.")
        _move(store, referral_id, ReferralState.APPROVED, why, "approve")
    return get_referral(store.db, referral_id)


def return_referral(store: Store, referral_id: str, reason: str) -> Referral:
    """A supervisor sends a referral back to the practitioner, saying why (required)."""
    check_allowed(store, Permission.APPROVE_REFERRALS, "return", "referral", referral_id)
    why = clean_reason(reason, "return_reason")
    with records.transaction(store.db):
        # Not once approved: its letter may already be issued as approved. Withdraw it instead.
        _in_state(store.db, referral_id, "returned", ReferralState.AWAITING_APPROVAL)
        _move(store, referral_id, ReferralState.RETURNED, why, "return", return_reason=why)
    return get_referral(store.db, referral_id)


def record_review(store: Store, referral_id: str, note: str = "") -> Referral:
    """A supervisor reviews a referral that was sent before review; it stays sent. Not one
    they drafted, submitted or sent."""
    check_allowed(store, Permission.APPROVE_REFERRALS, "approve", "referral", referral_id)
    why = _reason_text(note) or None
    _second_person(store, get_referral(store.db, referral_id), "review", "approve")
    with records.transaction(store.db):
        current = get_referral(store.db, referral_id)
        if not current.review_pending:
            raise ReferralRefused(f"Referral {referral_id} has no review pending: only a referral sent "
                                  "before supervisor review waits for one." + _what_next(current))
        now = _now()
        _step(store.db, referral_id, REVIEWED, store.user.username, why, now)
        store.db.execute("UPDATE referrals SET updated_at = ? WHERE id = ?", [now, referral_id])
        store.audit("approve", "referral", referral_id)
    return get_referral(store.db, referral_id)


def close(store: Store, referral_id: str, reason: str = "") -> Referral:
    """Close a sent referral (the service has it), or withdraw one that never left (a
    reason is then required: a referral is never silently dropped)."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "update", "referral", referral_id)
    with records.transaction(store.db):
        current = get_referral(store.db, referral_id)
        if current.state is ReferralState.CLOSED:
            raise ReferralRefused(f"Referral {referral_id} is already closed.")
        if current.review_pending:
            raise ReferralRefused(f"Referral {referral_id} was sent before supervisor review and has not "
                                  "been reviewed yet; a supervisor reviews it before it is closed.")
        if current.state is ReferralState.SENT:
            why = _reason_text(reason) or None
        else:
            why = clean_reason(reason, "reason")  # withdrawing: say why
        _move(store, referral_id, ReferralState.CLOSED, why, "update")
    return get_referral(store.db, referral_id)


def sendable(db: Database, referral_id: str, *, before_review: bool) -> Referral:
    """The referral if its letter may leave now, else ReferralRefused saying why: approved,
    or (before review) an emergency or very urgent draft or one awaiting approval."""
    if not before_review:
        return _in_state(db, referral_id, "sent", ReferralState.APPROVED)
    current = _in_state(db, referral_id, "sent before supervisor review", ReferralState.DRAFT,
                        ReferralState.AWAITING_APPROVAL)
    if current.urgency not in EARLY_SEND_URGENCIES:
        raise ReferralRefused(
            f"Referral {referral_id} is {current.urgency.label.lower()}: only emergency and very "
            "urgent referrals may be sent before a supervisor approves them. Submit it for approval.")
    return current


def release(store: Store, referral_id: str, *, before_review: bool, reason: str | None) -> Referral:
    """The referral's letter has been issued and queued: mark it sent, and its contact
    referred. Runs inside the caller's transaction (spoa.letters.outbox), which checked
    the role; the 'send' audit entry is written here."""
    db = store.db
    current = sendable(db, referral_id, before_review=before_review)
    if before_review:
        why = clean_reason(reason, "reason") if reason else "sent before supervisor review"
        _move(store, referral_id, ReferralState.SENT, why, "send", sent_before_review=True)
    else:
        _move(store, referral_id, ReferralState.SENT, _reason_text(reason or "") or None, "send")
    contact = records.get_contact(db, current.contact_id)
    if contact.status in ("open", "triaged"):
        records.update_contact(db, contact.id, {"status": "referred"}, by=store.user.username,
                               reason=f"referral {referral_id} sent")
        store.audit("update", "contact", contact.id)
    return get_referral(db, referral_id)
