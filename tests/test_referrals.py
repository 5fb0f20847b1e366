"""Referrals as each role works them: drafted from a decided triage session to a service
that takes it, approved or returned by a supervisor, sent (or sent at once in an
emergency and reviewed afterwards), with deadlines, letters kept as issued, and every
refusal said in words and audited."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from spoa import desk
from spoa.letters import archive, assemble, batch_export, outbox, referrals
from spoa.letters.content import LetterKind, Section
from spoa.letters.outbox import FolderTransport, OutboxState
from spoa.letters.referrals import ReferralRefused, ReferralState
from spoa.model import Route, Severity, Urgency
from spoa.roles import NotAllowed, Permission, Role, allowed
from spoa.store import records
from spoa.store.records import InvalidField
from spoa.store.store import Store
from tests.world import (
    EMERGENCY_ANSWERS,
    HOSTILE,
    RECEIVED,
    ROUTINE_ANSWERS,
    approved_referral,
    camhs_general,
    contact_draft,
    decided_session,
)


def last_seq(store) -> int:
    return store.db.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]


def audit_after(store, seq) -> list[tuple]:
    return store.db.execute("SELECT username, action, record_type, record_id, outcome FROM audit "
                            "WHERE seq > ? ORDER BY seq", [seq]).fetchall()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


# -- the whole way ----------------------------------------------------------------------------------

def test_draft_submit_approve_send_to_a_folder(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat)  # confirmed: school nursing, routine
    choices = referrals.service_choices(pat, session_id, today=date(2026, 11, 22))
    assert [m.service.id for m in choices.matches] == ["school-nursing"]
    assert (choices.route, choices.urgency, choices.child_age) == (Route.SCHOOL_NURSING, Urgency.ROUTINE, 14)

    seq = last_seq(pat)
    referral = referrals.create_referral(pat, session_id, "school-nursing", reason=HOSTILE,
                                         omit=[Section.CARERS])
    assert referral.state is ReferralState.DRAFT
    assert (referral.reason, referral.omitted) == (HOSTILE, frozenset({Section.CARERS}))
    with pytest.raises(ReferralRefused, match="is draft; it can only be sent when it is approved"):
        outbox.send_referral(pat, referral.id, FolderTransport(tmp_path))
    referrals.submit(pat, referral.id)
    approved = referrals.approve(sam, referral.id, note="Fine to go")
    assert approved.state is ReferralState.APPROVED

    item = outbox.send_referral(pat, referral.id, FolderTransport(tmp_path))
    assert item.state is OutboxState.SENT
    assert item.attempts == 1
    assert item.last_error == ""
    sent = referrals.get_referral(pat.db, referral.id)
    assert sent.state is ReferralState.SENT
    assert not sent.sent_before_review
    assert not sent.review_pending
    assert [(s.state, s.username, s.reason) for s in sent.steps] == [
        ("draft", "pat", None), ("awaiting_approval", "pat", None), ("approved", "sam", "Fine to go"),
        ("sent", "pat", None)]
    assert records.get_contact(pat.db, sent.contact_id).status == "referred"

    # The file is the letter exactly as issued and kept; the hub recognises it.
    (letter,) = archive.letters_of_referral(pat.db, referral.id)
    assert letter.kind is LetterKind.REFERRAL_SCHOOL_NURSING
    (written,) = tmp_path.glob("*.pdf")
    assert written.read_bytes() == archive.letter_pdf(pat.db, letter.id)
    assert archive.verify(pat, written).letter.referral_id == referral.id
    text = pdf_text(written.read_bytes())
    assert "Sam Supervisor" in text

    actions = [(user, action, kind) for user, action, kind, _, outcome in audit_after(pat, seq)
               if outcome == "ok"]
    for expected in (("pat", "create", "referral"), ("pat", "update", "referral"),
                     ("sam", "approve", "referral"),
                     ("pat", "create", "letter"), ("pat", "create", "outbox"), ("pat", "send", "referral"),
                     ("pat", "send", "outbox")):
        assert expected in actions, expected
    # Audit entries carry ids only.
    assert not any("Referralchild" in str(row) or "A & B" in str(row) for row in audit_after(pat, seq))

    closed = referrals.close(pat, referral.id)
    assert closed.state is ReferralState.CLOSED
    with pytest.raises(ReferralRefused, match="already closed"):
        referrals.close(pat, referral.id)


def test_return_with_a_reason_then_change_and_approve(desk_world):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, override=("camhs", "routine", "Clinical view"))
    referral = referrals.create_referral(pat, session_id, "camhs-core")
    referrals.submit(pat, referral.id)
    with pytest.raises(InvalidField, match="return_reason: is required"):
        referrals.return_referral(sam, referral.id, "  ")
    returned = referrals.return_referral(sam, referral.id, "Say what school has tried")
    assert returned.state is ReferralState.RETURNED
    assert returned.return_reason == "Say what school has tried"
    assert returned.steps[-1] == dataclasses.replace(returned.steps[-1], state="returned", username="sam",
                                                     reason="Say what school has tried")
    with pytest.raises(ReferralRefused, match="it can only be approved when it is awaiting approval"):
        referrals.approve(sam, referral.id)
    changed = referrals.update_referral(pat, referral.id, reason="School has tried mentoring since May.",
                                        omit=["child_address"])
    assert changed.omitted == frozenset({Section.CHILD_ADDRESS})
    again = referrals.submit(pat, referral.id)
    assert again.state is ReferralState.AWAITING_APPROVAL
    assert again.return_reason is None
    assert referrals.approve(sam, referral.id).state is ReferralState.APPROVED
    # Once approved its letter may be issued: it is withdrawn, never returned.
    with pytest.raises(ReferralRefused, match="is approved; it can only be returned when it is awaiting"):
        referrals.return_referral(sam, referral.id, "changed my mind")
    assert [s.state for s in referrals.get_referral(pat.db, referral.id).steps] == [
        "draft", "awaiting_approval", "returned", "edited", "awaiting_approval", "approved"]


def test_illegal_steps_are_refused_in_words(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, override=("camhs", "routine", "Clinical view"))
    referral = referrals.create_referral(pat, session_id, "camhs-core")
    with pytest.raises(ReferralRefused, match=r"is draft; it can only be approved when it is awaiting "
                                              "approval. Submit it for approval first."):
        referrals.approve(sam, referral.id)
    with pytest.raises(ReferralRefused, match="only emergency and very urgent referrals"):
        outbox.send_referral(pat, referral.id, FolderTransport(tmp_path), before_review=True)
    with pytest.raises(ReferralRefused, match="has no review pending"):
        referrals.record_review(sam, referral.id)
    with pytest.raises(ReferralRefused, match="already refers this session to this service"):
        referrals.create_referral(pat, session_id, "camhs-core")
    referrals.submit(pat, referral.id)
    with pytest.raises(ReferralRefused, match="awaiting approval; it can only be submitted"):
        referrals.submit(pat, referral.id)
    with pytest.raises(ReferralRefused, match="can only be changed when it is draft or returned"):
        referrals.update_referral(pat, referral.id, reason="too late")
    with pytest.raises(InvalidField, match="reason: is required"):
        referrals.close(pat, referral.id)  # withdrawing needs a reason: never silently dropped
    withdrawn = referrals.close(pat, referral.id, "Family moved out of area")
    assert withdrawn.state is ReferralState.CLOSED
    assert withdrawn.steps[-1].reason == "Family moved out of area"
    assert list(tmp_path.iterdir()) == []  # nothing left the desk
    with pytest.raises(records.RecordNotFound):
        referrals.submit(pat, "rf-nonesuch")


def test_only_a_service_that_takes_the_child_is_addressed(desk_world):
    pat = desk_world["pat"]
    camhs_routine = decided_session(pat, override=("camhs", "routine", "Clinical view"))
    emergency = decided_session(pat, answers=EMERGENCY_ANSWERS)
    cases = [
        (camhs_routine, "school-nursing", "is a School nursing service"),
        (camhs_routine, "camhs-under-fives", "takes children aged 0 to 4; this child is 14"),
        (camhs_routine, "camhs-crisis",
         r"does not take routine referrals \(it takes: emergency, very urgent, urgent\)"),
        (camhs_routine, "camhs-retired", "no longer active"),
        (camhs_routine, "nonesuch", "no service with the id 'nonesuch'"),
        (emergency, "camhs-core", "does not take emergency referrals"),
    ]
    for session_id, service_id, message in cases:
        with pytest.raises(ReferralRefused, match=message):
            referrals.create_referral(pat, session_id, service_id)
    # Undecided, advice-only and age-unknown sessions are refused with what to do.
    module = camhs_general()
    undecided = desk.add_contact(pat, contact_draft(), module=module,
                                 answers=ROUTINE_ANSWERS).triage.session_id
    with pytest.raises(ReferralRefused, match="has not been confirmed or overridden yet"):
        referrals.create_referral(pat, undecided, "school-nursing")
    advice = decided_session(pat, override=("advice", "routine", "Advice is enough"))
    with pytest.raises(ReferralRefused, match="ended in advice only"):
        referrals.create_referral(pat, advice, "school-nursing")
    undated = decided_session(pat, dob=None, override=("camhs", "routine", "Clinical view"))
    with pytest.raises(ReferralRefused, match="date of birth is not recorded"):
        referrals.create_referral(pat, undated, "camhs-core")
    # No match: a clear message, and nothing referred.
    choices = referrals.service_choices(pat, undated)
    assert choices.matches == ()
    assert "Nothing has been referred yet" in choices.message
    assert pat.db.execute("SELECT count(*) FROM referrals WHERE session_id IN (?, ?, ?)",
                          [undecided, advice, undated]).fetchone()[0] == 0


def test_emergency_sent_before_review_then_reviewed(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, answers=EMERGENCY_ANSWERS)
    referral = referrals.create_referral(pat, session_id, "camhs-crisis", reason="Plan and means tonight")
    assert referral.urgency is Urgency.EMERGENCY
    assert referral.respond_within_hours == 1  # emergency: act now, within 1 hour

    item = outbox.send_referral(pat, referral.id, FolderTransport(tmp_path), before_review=True,
                                reason="Crisis team phoned; letter sent at once")
    assert item.state is OutboxState.SENT
    sent = referrals.get_referral(pat.db, referral.id)
    assert sent.state is ReferralState.SENT
    assert sent.sent_before_review
    assert sent.review_pending
    assert sent.steps[-1].reason == "Crisis team phoned; letter sent at once"
    assert [r.id for r in referrals.list_referrals(sam, review_pending=True)].count(referral.id) == 1

    letter = archive.letters_of_referral(pat.db, referral.id)[0]
    content = assemble.referral_content(pat.db, referral.id, document_id=letter.id,
                                        before_review=True).content
    assert content.sent_before_review
    assert content.approved_by == ""
    text = pdf_text(archive.letter_pdf(pat.db, letter.id))
    assert "sent before supervisor review" in " ".join(text.split()).lower()

    with pytest.raises(ReferralRefused, match="not been reviewed yet"):
        referrals.close(pat, referral.id)
    with pytest.raises(NotAllowed):
        referrals.record_review(pat, referral.id)
    reviewed = referrals.record_review(sam, referral.id, "Agree: emergency was right")
    assert not reviewed.review_pending
    assert reviewed.state is ReferralState.SENT
    assert reviewed.steps[-1].state == "reviewed"
    assert reviewed.steps[-1].username == "sam"
    # The letter stays exactly as issued: the later review does not rewrite it.
    assert archive.letters_of_referral(pat.db, referral.id) == [letter]
    assert referrals.close(pat, referral.id, "Seen by the crisis team").state is ReferralState.CLOSED


def test_four_eyes_a_supervisor_never_approves_or_reviews_their_own_referral(desk_world, tmp_path):
    """A supervisor who drafts, submits or sends a referral before review cannot also approve
    or review it: a second supervisor must. The refusal is audited."""
    sam = desk_world["sam"]
    sue = second_supervisor(desk_world["admin"])
    try:
        session_id = decided_session(sam, override=("camhs", "routine", "Clinical view"))
        own = referrals.create_referral(sam, session_id, "camhs-core", reason="Low mood")
        referrals.submit(sam, own.id)
        seq = last_seq(sam)
        with pytest.raises(referrals.SecondPersonRequired, match="another supervisor must approve"):
            referrals.approve(sam, own.id)
        assert referrals.get_referral(sam.db, own.id).state is ReferralState.AWAITING_APPROVAL
        assert ("sam", "approve", "referral", own.id, "refused") in audit_after(sam, seq)
        assert referrals.approve(sue, own.id).state is ReferralState.APPROVED

        emergency = decided_session(sam, answers=EMERGENCY_ANSWERS)
        sent = referrals.create_referral(sam, emergency, "camhs-crisis", reason="Plan and means tonight")
        outbox.send_referral(sam, sent.id, FolderTransport(tmp_path), before_review=True)
        with pytest.raises(referrals.SecondPersonRequired, match="another supervisor must review"):
            referrals.record_review(sam, sent.id)
        assert not referrals.record_review(sue, sent.id, "Agree").review_pending
    finally:
        sue.lock()


def second_supervisor(admin: Store) -> Store:
    """Sue, a second supervisor in the module's world, logged in (the caller locks her)."""
    if "sue" not in {user.username for user in admin.users()}:
        admin.add_user("sue", "Sue Second", Role.SUPERVISOR, "temporary pass 9")
        with Store.unlock(admin.folder, "sue", "temporary pass 9") as first_login:
            first_login.change_password("temporary pass 9", "second supervisor 1")
    return Store.unlock(admin.folder, "sue", "second supervisor 1")


@pytest.mark.parametrize("change", [
    {"reason": "Low mood; school has tried mentoring since May."},
    {"omit": [Section.CARERS]},
    {"service_id": "camhs-crisis"},
], ids=["reason", "sections left out", "service"])
def test_four_eyes_a_supervisor_who_edited_a_referral_may_not_approve_it(desk_world, change):
    """Issue 12, item 10: whoever changes what the letter says (the reason, the sections left
    out, the service it is addressed to) is one of the referral's authors, so a second
    supervisor must approve it. The edit is a step in the referral's history ("edited", who,
    when, what), which is what the four-eyes check reads."""
    pat, sam = desk_world["pat"], desk_world["sam"]
    sue = second_supervisor(desk_world["admin"])
    try:
        session_id = decided_session(pat, override=("camhs", "urgent", "Clinical view"))
        referral = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood")

        edited = referrals.update_referral(sam, referral.id, **change)
        assert edited.steps[-1].state == referrals.EDITED
        assert edited.steps[-1].username == "sam"
        referrals.submit(pat, referral.id)
        seq = last_seq(sam)
        with pytest.raises(referrals.SecondPersonRequired,
                           match=f"You edited referral {referral.id}, so another supervisor must "
                                 "approve it"):
            referrals.approve(sam, referral.id)
        assert referrals.get_referral(pat.db, referral.id).state is ReferralState.AWAITING_APPROVAL
        assert ("sam", "approve", "referral", referral.id, "refused") in audit_after(sam, seq)
        assert referrals.approve(sue, referral.id).state is ReferralState.APPROVED
    finally:
        sue.lock()


def test_four_eyes_a_supervisor_who_returned_and_then_rewrote_a_referral_may_not_approve_it(desk_world):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, override=("camhs", "routine", "Clinical view"))
    referral = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood")
    referrals.submit(pat, referral.id)
    referrals.return_referral(sam, referral.id, "Say what school has tried")
    referrals.update_referral(sam, referral.id, reason="Low mood. School has tried mentoring.")
    referrals.submit(pat, referral.id)  # the practitioner resubmits the supervisor's words
    with pytest.raises(referrals.SecondPersonRequired, match="You edited referral"):
        referrals.approve(sam, referral.id)
    steps = referrals.get_referral(pat.db, referral.id).steps
    assert [(s.state, s.username) for s in steps] == [
        ("draft", "pat"), ("awaiting_approval", "pat"), ("returned", "sam"), ("edited", "sam"),
        ("awaiting_approval", "pat")]
    assert steps[3].reason == "changed: reason"


def test_saving_a_referral_unchanged_does_not_make_an_author(desk_world):
    """Decided: an edit that changes nothing the letter prints (the same service, the same
    reason once trimmed, the same sections left out) is not an edit. It leaves no step and
    no audit entry, and the supervisor may still approve."""
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, override=("camhs", "routine", "Clinical view"))
    referral = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood",
                                         omit=[Section.CARERS])
    seq = last_seq(sam)
    same = referrals.update_referral(sam, referral.id, service_id="camhs-core", reason="  Low mood \n",
                                     omit=["carers"])
    assert [s.state for s in same.steps] == ["draft"]
    assert same.updated_at == referral.updated_at
    assert ("sam", "update", "referral", referral.id, "ok") not in audit_after(sam, seq)
    referrals.submit(pat, referral.id)
    assert referrals.approve(sam, referral.id).state is ReferralState.APPROVED


def test_deadlines_follow_the_urgency_and_overdue_lists_them(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    received = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    emergency = referrals.create_referral(
        pat, decided_session(pat, answers=EMERGENCY_ANSWERS, received=received), "camhs-crisis")
    assert (emergency.contact_by, emergency.seen_by) == (received + timedelta(hours=1),
                                                         received + timedelta(hours=1))
    # An override takes its band's published times (urgent: seen within 24 hours, first
    # contact within 6), and first contact is the earliest of the module's and the band's.
    upgraded = referrals.create_referral(
        pat, decided_session(pat, received=received, override=("camhs", "urgent", "Worse than it sounds")),
        "camhs-crisis")
    assert upgraded.respond_within_hours == 24
    assert upgraded.seen_by == received + timedelta(hours=24)
    assert upgraded.contact_by == received + timedelta(hours=6)  # not the module's routine 5 days

    def late(now):
        return {o.referral.id: (o.clock, o.due) for o in referrals.overdue(pat, now)
                if o.referral.id in (emergency.id, upgraded.id)}

    assert late(received + timedelta(minutes=30)) == {}
    assert late(received + timedelta(hours=2)) == {
        emergency.id: ("contact by", received + timedelta(hours=1))}
    outbox.send_referral(pat, emergency.id, FolderTransport(tmp_path), before_review=True)
    # Sent: the clock now is being seen, within the hour.
    assert late(received + timedelta(minutes=50)) == {}
    assert late(received + timedelta(hours=2)) == {emergency.id: ("seen by", received + timedelta(hours=1))}
    assert late(received + timedelta(hours=7))[upgraded.id] == ("contact by", received + timedelta(hours=6))
    assert late(received + timedelta(days=8)).keys() == {emergency.id, upgraded.id}
    referrals.record_review(sam, emergency.id)
    referrals.close(pat, emergency.id)
    assert emergency.id not in late(received + timedelta(days=30))
    with pytest.raises(InvalidField, match="time zone"):
        referrals.overdue(pat, datetime(2026, 11, 30))


# -- what the letter says ---------------------------------------------------------------------------

def test_letter_content_comes_from_the_records(desk_world):
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, answers=EMERGENCY_ANSWERS,
                                 consent={"status": "given", "given_by": "parent",
                                          "notes": "Share with CAMHS"})
    referral = referrals.create_referral(pat, session_id, "camhs-crisis", reason="Plan tonight",
                                         omit=["carers", "school_and_gp"])
    referrals.submit(pat, referral.id)
    referrals.approve(sam, referral.id)
    content = assemble.referral_content(pat.db, referral.id, document_id="lt-test").content
    assert content.kind is LetterKind.REFERRAL_CAMHS
    assert (content.recipient.name, content.recipient.team, content.recipient.email) == (
        "Test CAMHS Crisis", "Crisis Team", "crisis@c.ex")
    assert content.child.full_name == "Zoë Referralchild"
    assert content.child.nhs_number == "9998765439"
    assert content.child.carers[0].name == "Alex Carer"
    assert (content.referrer.kind, content.referrer.name) == ("GP", "Dr Test")
    assert (content.route, content.urgency, content.respond_within_hours) == (
        Route.CAMHS, Urgency.EMERGENCY, 1)
    assert content.respond_by == RECEIVED + timedelta(hours=1)
    assert content.reason == "Plan tonight"
    assert content.omitted == frozenset({Section.CARERS, Section.SCHOOL_AND_GP})
    assert content.consent == "Consent: given. Given by: parent. Notes: Share with CAMHS."
    assert (content.approved_by, content.approved_on) == ("Sam Supervisor", datetime.now(UTC).date())
    assert not content.sent_before_review
    assert content.override is None
    # Flags, most severe first, with the answers they rested on; safeguarding marked.
    first = content.flags[0]
    assert first.severity is Severity.IMMEDIATE
    assert first.action
    assert "medically seen" in first.label  # the danger-now screen's flag comes first
    assert any("24 hours" in line for line in first.because)
    plan = next(f for f in content.flags if "plan" in f.label.lower())
    assert plan.severity is Severity.IMMEDIATE
    assert any("plan" in line.lower() for line in plan.because)
    assert content.safeguarding
    assert any(f.safeguarding and "Safeguarding" in f.label for f in content.flags)
    assert any("danger_now_emergency" in line for line in content.rationale)
    # Answers grouped by the module's sections, in its order; hidden and empty ones left out.
    module = camhs_general()
    titles = [s.title for s in module.sections]
    sections = [line.section for line in content.answers]
    assert sections == sorted(sections, key=titles.index)
    questions = {line.question: line.answer for line in content.answers}
    assert questions[module.questions["suicide_plan"].text] == "Yes"
    assert module.questions["safeguarding_details"].text not in questions  # hidden: no current concern
    assert module.questions["parent_consent"].text not in questions  # not answered


def test_override_and_a_module_that_is_not_the_one_used(desk_world):
    pat, sam = desk_world["pat"], desk_world["sam"]
    referral_id = approved_referral(desk_world)
    content = assemble.referral_content(pat.db, referral_id, document_id="lt-x").content
    assert content.override is not None
    assert (content.override.recommended_route, content.override.recommended_urgency) == (
        Route.SCHOOL_NURSING, Urgency.ROUTINE)
    assert content.override.reason == "Clinical view: CAMHS is better placed"
    assert content.reason == "Low mood " + HOSTILE

    module = camhs_general()
    changed = dataclasses.replace(module, content_hash="0" * 64, version="9.9.9")
    assembled = assemble.referral_content(pat.db, referral_id, document_id="lt-x", modules=lambda _: changed)
    assert "listed by question id" in assembled.notes[0]
    assert "9.9.9" in assembled.notes[0]
    lines = assembled.content.answers
    assert {line.section for line in lines} == {"Answers by question id"}
    assert [line.question for line in lines] == sorted(line.question for line in lines)
    assert ("self_harm_recent", "No") in [(line.question, line.answer) for line in lines]
    missing = assemble.referral_content(pat.db, referral_id, document_id="lt-x", modules=lambda _: None)
    assert "not installed on this desk" in missing.notes[0]
    del sam


def test_outcome_not_accepted_and_advice_letters(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    referral_id = approved_referral(desk_world)
    with pytest.raises(ReferralRefused, match="once the referral has been sent"):
        archive.make_outcome_letter(pat, referral_id)
    outbox.send_referral(pat, referral_id, FolderTransport(tmp_path))
    outcome = archive.make_outcome_letter(pat, referral_id)
    assert outcome.kind is LetterKind.OUTCOME_TO_REFERRER
    assert outcome.referral_id == referral_id
    assert archive.make_outcome_letter(pat, referral_id) == dataclasses.replace(outcome, notes=())
    content = assemble.outcome_content(pat.db, referral_id, document_id="lt-o").content
    assert content.recipient.name == "Dr Test"
    assert "Test CAMHS" in content.reason

    session_id = decided_session(pat, override=("advice", "routine", "Advice is enough"))
    with pytest.raises(NotAllowed):
        archive.make_not_accepted_letter(pat, session_id, reasons=["x"])
    with pytest.raises(InvalidField, match="reasons"):
        archive.make_not_accepted_letter(sam, session_id, reasons=[" "])
    refused = archive.make_not_accepted_letter(sam, session_id, reasons=["Needs are met by school support"],
                                               signposting=["Kooth online counselling", HOSTILE])
    assert refused.kind is LetterKind.NOT_ACCEPTED
    assert refused.referral_id is None
    assert refused.contact_id == records.get_triage_session(pat.db, session_id).contact_id
    content = assemble.not_accepted_content(pat.db, session_id, reasons=["R"], signposting=["S"],
                                            document_id="lt-n", approved_by="sam").content
    assert content.not_accepted_reasons == ("R",)
    assert content.signposting == ("S",)
    assert content.approved_by == "Sam Supervisor"

    contact_id = refused.contact_id
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with pat.db.conn:
        pat.db.execute("INSERT INTO advice_requests (id, contact_id, question, context, response, "
                       "responded_by, "
                       "responded_at, created_at, updated_at) VALUES ('ad-1', ?, ?, '', ?, 'sam', ?, ?, ?)",
                       [contact_id, "Is sertraline " + HOSTILE, "Refer if no better in 6 weeks", now, now,
                        now])
    advice = archive.make_advice_letter(pat, "ad-1")
    assert advice.kind is LetterKind.ADVICE_RESPONSE
    assert advice.advice_request_id == "ad-1"
    content = assemble.advice_content(pat.db, "ad-1", document_id="lt-a").content
    assert content.advice_question == "Is sertraline " + HOSTILE
    assert content.advice_given == "Refer if no better in 6 weeks"
    assert content.approved_by == "Sam Supervisor"
    for letter in (outcome, refused, advice):
        found = archive.verify_letter_bytes(pat.db, archive.letter_pdf(pat.db, letter.id))
        assert found.letter.id == letter.id


def test_verify_a_letter_file_and_export_it(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    referral_id = approved_referral(desk_world)
    with pytest.raises(NotAllowed, match="export letters"):
        archive.export_referral_letter(pat, referral_id, tmp_path / "letter.pdf")
    exported = archive.export_referral_letter(sam, referral_id, tmp_path / "letter.pdf")
    path = exported.path
    assert path.stat().st_mode & 0o777 == 0o600
    found = archive.verify_letter_file(sam.db, path)
    assert found.issued
    assert found.letter.referral_id == referral_id
    assert f"for referral {referral_id}" in found.message()
    # Made once: exporting again gives the same bytes.
    again = archive.export_referral_letter(sam, referral_id, tmp_path / "again.pdf")
    assert again.letter.id == exported.letter.id
    assert again.path.read_bytes() == path.read_bytes()

    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(bytes(data))
    result = archive.verify_letter_file(sam.db, flipped)
    assert not result.issued
    assert "NOT issued by this hub" in result.message()
    assert not archive.verify_letter_file(sam.db, _write(tmp_path / "other.pdf", b"%PDF-1.4 other")).issued


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- roles ------------------------------------------------------------------------------------------

class Fresh:
    """Records made for one attempt, on demand, by the practitioner and the supervisor."""

    def __init__(self, world, folder: Path):
        self.pat, self.sam, self.folder = world["pat"], world["sam"], folder

    def session(self) -> str:
        return decided_session(self.pat, override=("camhs", "routine", "Clinical view"))

    def draft(self) -> str:
        return referrals.create_referral(self.pat, self.session(), "camhs-core").id

    def waiting(self) -> str:
        referral_id = self.draft()
        referrals.submit(self.pat, referral_id)
        return referral_id

    def approved(self) -> str:
        referral_id = self.waiting()
        referrals.approve(self.sam, referral_id)
        return referral_id

    def emergency(self) -> str:
        return referrals.create_referral(self.pat, decided_session(self.pat, answers=EMERGENCY_ANSWERS),
                                         "camhs-crisis").id

    def sent_early(self) -> str:
        referral_id = self.emergency()
        outbox.send_referral(self.pat, referral_id, FolderTransport(self.folder), before_review=True)
        return referral_id

    def letter(self) -> str:
        return archive.make_referral_letter(self.pat, self.approved()).id


@dataclass
class Operation:
    name: str
    permission: Permission
    prepare: Any  # fresh -> the record the operation works on (made before the attempt)
    run: Any  # (store, record, folder) -> result


def _none(fresh):
    return None


OPERATIONS = [
    Operation("service choices", Permission.DRAFT_REFERRALS, Fresh.session,
              lambda s, r, d: referrals.service_choices(s, r)),
    Operation("create", Permission.DRAFT_REFERRALS, Fresh.session,
              lambda s, r, d: referrals.create_referral(s, r, "camhs-core")),
    Operation("update", Permission.DRAFT_REFERRALS, Fresh.draft,
              lambda s, r, d: referrals.update_referral(s, r, reason="x")),
    Operation("submit", Permission.DRAFT_REFERRALS, Fresh.draft, lambda s, r, d: referrals.submit(s, r)),
    Operation("approve", Permission.APPROVE_REFERRALS, Fresh.waiting,
              lambda s, r, d: referrals.approve(s, r)),
    Operation("return", Permission.APPROVE_REFERRALS, Fresh.waiting,
              lambda s, r, d: referrals.return_referral(s, r, "needs more")),
    Operation("withdraw", Permission.DRAFT_REFERRALS, Fresh.draft,
              lambda s, r, d: referrals.close(s, r, "moved away")),
    Operation("list", Permission.VIEW_RECORDS, _none, lambda s, r, d: referrals.list_referrals(s)),
    Operation("overdue", Permission.VIEW_RECORDS, _none, lambda s, r, d: referrals.overdue(s)),
    Operation("send", Permission.DRAFT_REFERRALS, Fresh.approved,
              lambda s, r, d: outbox.send_referral(s, r, FolderTransport(d))),
    Operation("send before review", Permission.DRAFT_REFERRALS, Fresh.emergency,
              lambda s, r, d: outbox.send_referral(s, r, FolderTransport(d), before_review=True)),
    Operation("review", Permission.APPROVE_REFERRALS, Fresh.sent_early,
              lambda s, r, d: referrals.record_review(s, r)),
    Operation("make letter", Permission.DRAFT_REFERRALS, Fresh.approved,
              lambda s, r, d: archive.make_referral_letter(s, r)),
    Operation("letter make --out", Permission.EXPORT_LETTERS, Fresh.approved,
              lambda s, r, d: archive.export_referral_letter(s, r, d / "l.pdf")),
    Operation("export letter", Permission.EXPORT_LETTERS, Fresh.letter,
              lambda s, r, d: archive.export_letter(s, r, d / "e.pdf")),
    Operation("not accepted", Permission.APPROVE_REFERRALS, Fresh.session,
              lambda s, r, d: archive.make_not_accepted_letter(s, r, reasons=["r"])),
    Operation("verify", Permission.VIEW_RECORDS, _none,
              lambda s, r, d: archive.verify(s, _write(d / "v.pdf", b"x"))),
    Operation("outbox list", Permission.VIEW_RECORDS, _none, lambda s, r, d: outbox.list_items(s)),
    Operation("outbox retry", Permission.DRAFT_REFERRALS, _none, lambda s, r, d: outbox.deliver_pending(s)),
    Operation("batch export", Permission.EXPORT_LETTERS, _none,
              lambda s, r, d: batch_export.export_day(s, date.today(), d / "batch")),
]


def test_role_matrix_has_no_unauthorised_success(desk_world, tmp_path):
    """Every referral, letter and outbox operation by every role: practitioners draft and
    send, supervisors also approve, return, review and export, administrators none of it.
    Each refusal is audited as denied and changes nothing."""
    unauthorised = refused_when_allowed = denied = 0
    for number, operation in enumerate(OPERATIONS):
        for name in ("pat", "sam", "admin"):
            store = desk_world[name]
            folder = tmp_path / f"{number}-{name}"
            folder.mkdir()
            record = operation.prepare(Fresh(desk_world, folder))
            seq = last_seq(store)
            try:
                operation.run(store, record, folder)
            except NotAllowed as exc:
                denied += 1
                article = "An" if store.user.role.value[0] in "aeiou" else "A"
                assert str(exc).startswith(f"{article} {store.user.role.value} cannot")  # noqa: PT017
                refused_when_allowed += allowed(store.user.role, operation.permission)
                rows = [r for r in audit_after(store, seq) if r[0] == name]
                assert rows, (operation.name, name)
                assert all(r[-1] == "denied" for r in rows), (operation.name, name)
            else:
                unauthorised += not allowed(store.user.role, operation.permission)
    assert unauthorised == 0
    assert refused_when_allowed == 0
    assert denied == sum(not allowed(role, op.permission) for op in OPERATIONS
                         for role in (Role.PRACTITIONER, Role.SUPERVISOR, Role.ADMIN))
