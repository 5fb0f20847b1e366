"""The Today list and the paged contact list (spoa.worklist): what is open, in which order,
with which clocks; every contact reachable a page at a time; roles refused and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from spoa import advice, desk, worklist
from spoa.advice import AdviceDraft
from spoa.letters import referrals
from spoa.model import Urgency
from spoa.roles import NotAllowed
from spoa.store import records
from tests.test_referrals import audit_after, last_seq
from tests.world import EMERGENCY_ANSWERS, ROUTINE_ANSWERS, camhs_general, contact_draft, decided_session

RECEIVED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def mine(items, *ids):
    return [item for item in items if item.id in ids]


# -- clocks in words ----------------------------------------------------------------------------

@pytest.mark.parametrize(("span", "words"), [
    (timedelta(seconds=20), "less than 1 min"),
    (timedelta(minutes=45, seconds=59), "45 min"),
    (timedelta(hours=2), "2 h"),
    (timedelta(hours=3, minutes=20, seconds=30), "3 h 20 min"),
    (timedelta(days=1, minutes=5), "1 day"),
    (timedelta(days=2, hours=4, minutes=59), "2 days 4 h"),
])
def test_spans_read_as_the_desk_says_them(span, words):
    assert worklist.span_text(span) == words


def test_clock_text_says_due_or_overdue():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert worklist.clock_text(now + timedelta(hours=3, minutes=20), now) == "due in 3 h 20 min"
    assert worklist.clock_text(now - timedelta(hours=2), now) == "overdue by 2 h"
    assert worklist.clock_text(None, now) == "no deadline"


# -- today -------------------------------------------------------------------------------------

def test_today_puts_emergencies_first_and_flags_what_is_overdue(desk_world):
    pat = desk_world["pat"]
    routine = desk.add_contact(pat, contact_draft(family="Routinechild", received=RECEIVED),
                               module=camhs_general(), answers=ROUTINE_ANSWERS)
    emergency = desk.add_contact(pat, contact_draft(family="Emergencychild", received=RECEIVED),
                                 module=camhs_general(), answers=EMERGENCY_ANSWERS)
    untriaged = desk.add_contact(pat, contact_draft(family="Waitingchild", received=RECEIVED))
    items = mine(worklist.today(pat), routine.contact_id, emergency.contact_id, untriaged.contact_id)
    assert [i.id for i in items] == [emergency.contact_id, routine.contact_id, untriaged.contact_id]
    first = items[0]
    assert (first.kind, first.urgency, first.state, first.child_name) == (
        worklist.CONTACT, Urgency.EMERGENCY, worklist.DRAFT_TRIAGE, "Zoë Emergencychild")
    assert first.session_id == emergency.triage.session_id
    assert not first.decided
    assert (first.contact_by, first.seen_by) == (RECEIVED + timedelta(hours=1), RECEIVED + timedelta(hours=1))
    assert (first.clock, first.due) == (worklist.CONTACT_BY, RECEIVED + timedelta(hours=1))
    two_hours_in = RECEIVED + timedelta(hours=2)
    assert first.overdue(two_hours_in)
    assert not items[1].overdue(two_hours_in)
    waiting = items[2]
    assert (waiting.urgency, waiting.state, waiting.due, waiting.session_id) == (
        None, worklist.AWAITING_TRIAGE, None, None)
    assert not waiting.overdue(two_hours_in + timedelta(days=365))


def test_decided_then_referred_contacts_show_once_as_their_referral(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, received=RECEIVED, family="Decidedchild")
    contact_id = records.get_triage_session(pat.db, session_id).contact_id
    decided = mine(worklist.today(pat), contact_id)
    assert [(i.kind, i.state, i.decided) for i in decided] == [(worklist.CONTACT, worklist.DECIDED, True)]

    referral = referrals.create_referral(pat, session_id, "school-nursing")
    listed = [i for i in worklist.today(pat) if i.contact_id == contact_id]
    assert [(i.kind, i.id, i.state) for i in listed] == [(worklist.REFERRAL, referral.id, "referral draft")]
    referrals.submit(pat, referral.id)
    (item,) = mine(worklist.today(sam), referral.id)
    assert (item.state, item.referral_state, item.child_name) == (
        "awaiting approval", referrals.ReferralState.AWAITING_APPROVAL, "Zoë Decidedchild")
    referrals.return_referral(sam, referral.id, "Say more about school")
    assert mine(worklist.today(pat), referral.id)[0].state == "returned"
    referrals.close(pat, referral.id, "Family moved away")
    assert mine(worklist.today(pat), referral.id) == []


def test_open_advice_requests_are_listed_with_their_reply_clock(desk_world):
    pat, sam = desk_world["pat"], desk_world["sam"]
    contact = contact_draft(family="Advicechild", received=RECEIVED)
    recorded = advice.record_request(pat, AdviceDraft(question="Refer now or wait?", how_soon="today"),
                                     contact=contact)
    (item,) = mine(worklist.today(pat), recorded.request.id)
    assert (item.kind, item.state, item.child_name) == (
        worklist.ADVICE, "awaiting response", "Zoë Advicechild")
    assert (item.clock, item.due) == (worklist.CONTACT_BY, RECEIVED + timedelta(hours=8))
    assert item.seen_by == RECEIVED + timedelta(hours=24)
    assert item.contact_id not in {i.id for i in worklist.today(pat) if i.kind == worklist.CONTACT}
    advice.respond(sam, recorded.request.id, "Try a sleep diary first.")
    assert mine(worklist.today(pat), recorded.request.id)[0].state == "answered"


def test_today_is_refused_to_a_role_without_records_and_the_refusal_audited(desk_world):
    admin = desk_world["admin"]
    seq = last_seq(admin)
    with pytest.raises(NotAllowed):
        worklist.today(admin)
    with pytest.raises(NotAllowed):
        worklist.contact_page(admin)
    assert [(row[1], row[4]) for row in audit_after(admin, seq)] == [("view", "denied")] * 2


# -- the contact list ----------------------------------------------------------------------------

def test_contact_pages_run_newest_first_through_every_contact_once(desk_world):
    pat = desk_world["pat"]
    # Newer than anything else in this world, and in the past (a future time is refused).
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    made = [desk.add_contact(pat, contact_draft(family=f"Pagechild{n:02d}",
                                                received=base + timedelta(minutes=n // 2))).contact_id
            for n in range(25)]  # pairs share a received time: ties go by id
    seen, after, pages = [], None, 0
    while True:
        page = worklist.contact_page(pat, after=after, limit=7)
        pages += 1
        if after is None:
            assert page.total == records.count_contacts(pat.db)
        else:
            assert page.total is None
        seen += [c.contact_id for c in page.contacts]
        if page.next_after is None:
            break
        after = page.next_after
    assert len(seen) == len(set(seen)) == records.count_contacts(pat.db)
    newest = seen[:25]
    assert set(newest) == set(made)
    assert newest == sorted(made, key=lambda cid: (-(made.index(cid) // 2), cid))
    assert pages == -(-len(seen) // 7) + (len(seen) % 7 == 0)
