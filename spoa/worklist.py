"""What needs doing at the desk today, and the whole contact list a page at a time.

``today(store)`` gathers the open work: triage contacts not yet referred (awaiting triage,
a draft triage, or decided and waiting for a referral), referrals that are not closed,
and advice requests still open. Each is a ``WorkItem`` with the child's name, the
urgency, a state in words, its contact-by and seen-by (or reply-by) deadlines and the
clock that matters now; they come sorted by urgency (emergency first, not yet triaged
last), then the deadline that matters, soonest first. ``WorkItem.overdue(now)`` and
``clock_text(due, now)`` let a screen re-word its clocks every minute without asking
the store again.

``contact_page(store, after=...)`` is the contact list: newest first, keyset-paged so
the last page of 100,000 costs what the first does.

Role-checked like spoa.desk (Permission.VIEW_RECORDS, refusals audited); what was listed
is audited as a listing, never with patient text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from spoa import advice
from spoa.letters import referrals
from spoa.letters.referrals import Referral, ReferralState
from spoa.model import Urgency
from spoa.roles import Permission
from spoa.store import records
from spoa.store.records import ContactSummary, PageKey
from spoa.store.store import Store

__all__ = [
    "ADVICE", "CONTACT", "REFERRAL", "ContactPage", "WorkItem", "clock_text", "contact_page", "span_text",
    "today",
]

CONTACT, REFERRAL, ADVICE = "contact", "referral", "advice request"
AWAITING_TRIAGE, DRAFT_TRIAGE, DECIDED = "awaiting triage", "draft triage", "decided"
CONTACT_BY, SEEN_BY, REPLY_BY = "contact by", "seen by", "reply by"
PAGE_SIZE = 200
_LATEST = datetime.max.replace(tzinfo=UTC)

_REFERRAL_STATES = {
    ReferralState.DRAFT: "referral draft",
    ReferralState.AWAITING_APPROVAL: "awaiting approval",
    ReferralState.RETURNED: "returned",
    ReferralState.APPROVED: "approved",
    ReferralState.SENT: "sent",
}


@dataclass(frozen=True)
class WorkItem:
    """One line of the Today list: a contact, a referral or an advice request."""

    kind: str  # CONTACT, REFERRAL or ADVICE
    id: str  # the contact's, the referral's or the advice request's id
    contact_id: str
    child_name: str
    urgency: Urgency | None  # None: not triaged yet
    state: str  # in words: "awaiting triage", "awaiting approval", "sent, review pending", ...
    received_at: datetime
    contact_by: datetime | None
    seen_by: datetime | None  # for an advice request: when the reply is due
    clock: str  # the deadline that matters now: CONTACT_BY, SEEN_BY or REPLY_BY
    due: datetime | None  # when that deadline falls (None: no deadline)
    session_id: str | None = None  # the contact's latest triage session
    decided: bool = False  # that session's outcome is confirmed or overridden
    referral_state: ReferralState | None = None
    review_pending: bool = False

    def overdue(self, now: datetime) -> bool:
        return self.due is not None and self.due < now

    @property
    def sort_key(self) -> tuple:
        rank = self.urgency.rank if self.urgency is not None else len(Urgency)
        return (rank, self.due or _LATEST, self.received_at, self.id)


@dataclass(frozen=True)
class ContactPage:
    contacts: tuple[ContactSummary, ...]
    next_after: PageKey | None  # the key to ask for the next page with; None: this was the last
    total: int | None = None  # every contact on record (given with the first page only)


# -- clocks in words ---------------------------------------------------------------------------

def span_text(span: timedelta) -> str:
    """A length of time as the desk says it: '45 min', '3 h 20 min', '2 days 4 h'."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "less than 1 min"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        text = f"{days} day" + ("s" if days > 1 else "")
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def clock_text(due: datetime | None, now: datetime) -> str:
    """'due in 3 h 20 min', 'overdue by 2 h', or 'no deadline'."""
    if due is None:
        return "no deadline"
    if due < now:
        return f"overdue by {span_text(now - due)}"
    return f"due in {span_text(due - now)}"


# -- today -------------------------------------------------------------------------------------

def today(store: Store) -> list[WorkItem]:
    """The open work, most urgent first, then soonest deadline (see the module's docstring)."""
    store.authorise(Permission.VIEW_RECORDS, "view", "contact")
    db = store.db
    # Only the referrals still open are read (closed ones pile up over the years).
    open_referrals = [referrals.get_referral(db, row[0]) for row in db.execute(
        "SELECT id FROM referrals WHERE state != 'closed' ORDER BY created_at, id").fetchall()]
    requests = advice.list_requests(store, limit=1_000_000)
    items = list(_contacts(db))
    people = _contact_facts(db, {r.contact_id for r in open_referrals} | {r.contact_id for r in requests})
    items += [_referral_item(r, people[r.contact_id]) for r in open_referrals if r.contact_id in people]
    items += [_advice_item(r, people[r.contact_id]) for r in requests if r.contact_id in people]
    store.audit("view", "referral")
    store.audit("view", "contact")
    items.sort(key=lambda item: item.sort_key)
    return items


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _urgency(value: str | None) -> Urgency | None:
    try:
        return Urgency(value) if value else None
    except ValueError:
        return None


# The latest triage session of each open triage contact that has no referral under way.
_OPEN_CONTACTS = """
    SELECT co.id, ch.given_name, ch.family_name, co.received_at, co.contact_by, co.seen_by,
           ts.id, ts.decision, coalesce(ts.final_urgency, json_extract(ts.outcome, '$.urgency'))
    FROM contacts co JOIN children ch ON ch.id = co.child_id
    LEFT JOIN triage_sessions ts ON ts.id = (
        SELECT s.id FROM triage_sessions s WHERE s.contact_id = co.id ORDER BY s.started_at DESC, s.rowid DESC
        LIMIT 1)
    WHERE co.status IN ('open', 'triaged') AND co.kind = 'triage'
      AND NOT EXISTS (SELECT 1 FROM referrals rf WHERE rf.contact_id = co.id AND rf.state != 'closed')
"""


def _contacts(db) -> Iterable[WorkItem]:
    for row in db.execute(_OPEN_CONTACTS).fetchall():
        session_id, decision = row[6], row[7]
        state = AWAITING_TRIAGE if session_id is None else DECIDED if decision else DRAFT_TRIAGE
        contact_by, seen_by = _instant(row[4]), _instant(row[5])
        yield WorkItem(CONTACT, row[0], row[0], f"{row[1]} {row[2]}".strip(), _urgency(row[8]), state,
                       datetime.fromisoformat(row[3]), contact_by, seen_by, CONTACT_BY,
                       contact_by or seen_by, session_id=session_id, decided=bool(decision))


@dataclass(frozen=True)
class _Facts:
    child_name: str
    received_at: datetime
    contact_by: datetime | None
    seen_by: datetime | None
    session_id: str | None
    urgency: Urgency | None


_FACTS = """
    SELECT co.id, ch.given_name, ch.family_name, co.received_at, co.contact_by, co.seen_by, ts.id,
           coalesce(ts.final_urgency, json_extract(ts.outcome, '$.urgency'))
    FROM contacts co JOIN children ch ON ch.id = co.child_id
    LEFT JOIN triage_sessions ts ON ts.id = (
        SELECT s.id FROM triage_sessions s WHERE s.contact_id = co.id ORDER BY s.started_at DESC, s.rowid DESC
        LIMIT 1)
"""


def _contact_facts(db, contact_ids: Sequence[str] | set[str]) -> dict[str, _Facts]:
    facts = {}
    ids = sorted(contact_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        where = f"WHERE co.id IN ({marks})"  # placeholders only
        rows = db.execute(_FACTS + where, chunk).fetchall()
        for row in rows:
            facts[row[0]] = _Facts(f"{row[1]} {row[2]}".strip(), datetime.fromisoformat(row[3]),
                                   _instant(row[4]), _instant(row[5]), row[6], _urgency(row[7]))
    return facts


def _referral_item(referral: Referral, facts: _Facts) -> WorkItem:
    state = _REFERRAL_STATES[referral.state]
    if referral.review_pending:
        state += ", review pending"
    clock, due = referral.due()
    return WorkItem(REFERRAL, referral.id, referral.contact_id, facts.child_name, referral.urgency, state,
                    facts.received_at, referral.contact_by, referral.seen_by, clock, due,
                    session_id=referral.session_id, decided=True, referral_state=referral.state,
                    review_pending=referral.review_pending)


def _advice_item(request: advice.AdviceRequest, facts: _Facts) -> WorkItem:
    if facts.contact_by is not None:
        clock, due = CONTACT_BY, facts.contact_by
    else:
        clock, due = REPLY_BY, request.respond_by
    return WorkItem(ADVICE, request.id, request.contact_id, facts.child_name, facts.urgency, request.state,
                    facts.received_at, facts.contact_by, request.respond_by, clock, due,
                    session_id=facts.session_id)


# -- the contact list --------------------------------------------------------------------------

def contact_page(store: Store, *, after: PageKey | None = None, limit: int = PAGE_SIZE) -> ContactPage:
    """One page of every contact on record, newest first; ``after`` is the previous page's
    ``next_after``. The first page also says how many contacts there are."""
    store.authorise(Permission.VIEW_RECORDS, "view", "contact")
    db = store.db
    limit = max(1, int(limit))
    keys = records.contact_keys_newest_first(db, after=tuple(after) if after else None, limit=limit)
    found = records.contact_summaries(db, [key[1] for key in keys])
    total = records.count_contacts(db) if after is None else None
    store.audit("view", "contact")
    return ContactPage(tuple(found), keys[-1] if len(keys) == limit else None, total)
