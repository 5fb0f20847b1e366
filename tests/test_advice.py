"""Advice before referral: a professional asks, a supervisor answers, the advice letter
carries both; a request becomes a referral only where the requester authorised that;
every operation is role-checked and audited by id only; text is kept exactly as typed."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from spoa import advice
from spoa.advice import AdviceDraft, AdviceRefused, AdviceState
from spoa.letters import archive, referrals
from spoa.letters.content import LetterKind
from spoa.letters.referrals import ReferralState
from spoa.model import ReferrerType, Route, Urgency
from spoa.roles import NotAllowed, Permission, Role, allowed
from spoa.store import records
from spoa.store.records import ChildDraft, ContactDraft, InvalidField
from tests.test_referrals import audit_after, last_seq
from tests.world import HOSTILE, decided_session

RECEIVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
QUESTION = "Should we try a sleep diary before referring, or refer now?"
ADVICE = "Try a four-week sleep diary with the family; refer if no better, or sooner if mood drops."

# professional_advice answers that make an urgent CAMHS referral: severe impact with self-harm,
# conversion authorised and the family agrees.
REFERRAL_ANSWERS = {
    "now_harm": "no", "now_acted": "no", "now_means": "no", "now_with_child": "no",
    "requester_role": "gp", "concern_category": "self_harm", "concern_level": "severe",
    "tried_already": ["school_support", "counselling"], "response_to_help": "no_change",
    "risk_noticed": "yes", "risk_self_harm": "yes", "risk_suicidal_plan": "no", "risk_safeguarding": "no",
    "family_consent": "consent_given",
}


@pytest.fixture(scope="module")
def world(desk_world):
    return desk_world


def requester(*, kind=ReferrerType.GP, family="Advicechild") -> ContactDraft:
    return ContactDraft(
        referrer_type=kind, referrer_name="Dr Asker", referrer_organisation="Test Surgery",
        referrer_contact="01632 960002", received_at=RECEIVED, consent={"status": "given"},
        child=ChildDraft("Zoë", family, date_of_birth="2012-03-04", nhs_number="999 876 5439",
                         postcode="ZZ1 1AA", school="Testtown Academy"))


def ask(store, *, question=QUESTION, authorised=False, answers=None, **draft) -> advice.AdviceRecorded:
    return advice.record_request(
        store, AdviceDraft(question=question, context=draft.pop("context", "Poor sleep since the summer."),
                           tried=draft.pop("tried", "Sleep hygiene leaflet."),
                           how_soon=draft.pop("how_soon", None), conversion_authorised=authorised),
        contact=requester(**draft), answers=answers)


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def flat(text: str) -> str:
    return " ".join(text.split())


# -- request, advice, letter ----------------------------------------------------------------------

def test_request_response_and_the_advice_letter(world, tmp_path):
    pat, sam = world["pat"], world["sam"]
    seq = last_seq(pat)
    recorded = ask(pat, how_soon="today")
    request = recorded.request
    assert recorded.triage is None
    assert request.id.startswith("ad-")
    assert (request.question, request.tried, request.how_soon) == (QUESTION, "Sleep hygiene leaflet.",
                                                                     "today")
    assert not request.conversion_authorised
    assert request.state == AdviceState.AWAITING_RESPONSE
    assert request.created_by == "pat"
    contact = records.get_contact(pat.db, request.contact_id)
    assert (contact.kind, contact.referrer_type) == ("advice", ReferrerType.GP)
    assert contact.seen_by == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # needed today: 24 h

    awaiting = [r.id for r in advice.list_requests(pat, awaiting=True)]
    assert request.id in awaiting
    with pytest.raises(NotAllowed, match="A practitioner cannot record a specialist's advice"):
        advice.respond(pat, request.id, ADVICE)
    with pytest.raises(referrals.ReferralRefused, match="has no response yet"):
        archive.make_advice_letter(pat, request.id)
    answered = advice.respond(sam, request.id, ADVICE)
    assert (answered.response, answered.responded_by, answered.state) == (ADVICE, "sam", AdviceState.ANSWERED)
    assert request.id not in [r.id for r in advice.list_requests(pat, awaiting=True)]
    assert request.id in [r.id for r in advice.list_requests(pat)]
    with pytest.raises(InvalidField, match="reason"):
        advice.respond(sam, request.id, ADVICE + " Review in a month.")  # a change needs a reason
    advice.respond(sam, request.id, ADVICE + " Review in a month.", reason="Added the review date")

    letter = archive.make_advice_letter(pat, request.id)
    assert letter.kind is LetterKind.ADVICE_RESPONSE
    assert letter.advice_request_id == request.id
    text = pdf_text(archive.letter_pdf(pat.db, letter.id))
    assert flat(QUESTION) in text
    assert flat(ADVICE + " Review in a month.") in text
    assert "Dr Asker" in text
    assert "Sam Supervisor" in text
    written = archive.export_letter(sam, letter.id, tmp_path / "advice.pdf").path
    assert archive.verify(pat, written).letter.advice_request_id == request.id

    view = advice.view_request(pat, request.id)
    assert view.request.state == AdviceState.LETTER_ISSUED
    assert [item.id for item in view.letters] == [letter.id]
    assert [(h.field, h.old_value, h.new_value, h.reason) for h in view.history] == [
        ("response", ADVICE, ADVICE + " Review in a month.", "Added the review date")]
    assert request.id not in [r.id for r in advice.list_requests(pat)]  # done: its letter is made
    with pytest.raises(AdviceRefused, match="cannot change now"):
        advice.respond(sam, request.id, "Something else", reason="Second thoughts")

    # The audit says who did what to which record, never what was asked or advised.
    rows = audit_after(pat, seq)
    kept = {(user, action, kind) for user, action, kind, _, outcome in rows if outcome == "ok"}
    for expected in (("pat", "create", "advice_request"), ("pat", "create", "contact"),
                     ("sam", "update", "advice_request"), ("pat", "view", "advice_request"),
                     ("pat", "create", "letter")):
        assert expected in kept, expected
    assert ("pat", "update", "advice_request", request.id, "denied") in rows
    dumped = repr(rows)
    for secret in ("sleep", "Sleep", "Advicechild", "Zoë", "Dr Asker", "Review"):
        assert secret not in dumped


def test_hostile_text_is_printed_literally(world):
    pat, sam = world["pat"], world["sam"]
    request = ask(pat, question="Q " + HOSTILE, context="C " + HOSTILE, tried=HOSTILE).request
    assert request.question == "Q " + HOSTILE
    advice.respond(sam, request.id, "R " + HOSTILE)
    letter = archive.make_advice_letter(pat, request.id)
    data = archive.letter_pdf(pat.db, letter.id)
    text = pdf_text(data)
    for typed in ("Q " + HOSTILE, "C " + HOSTILE, "R " + HOSTILE):
        assert flat(typed) in text, typed
    assert "&lt;" not in text
    assert b"/URI" not in data
    assert b"/Link" not in data
    for page in PdfReader(io.BytesIO(data)).pages:
        assert not page.get("/Annots")


def test_text_is_checked_by_field_name(world):
    pat, sam = world["pat"], world["sam"]
    before = pat.db.execute("SELECT count(*) FROM advice_requests").fetchone()[0]
    for draft, field, words in (
            ({"question": "a\x00b"}, "question", "NUL"),
            ({"question": "fine", "context": "bad \ud800"}, "context", "surrogate"),
            ({"question": "fine", "tried": "x" * 100_001}, "tried", "limit"),
            ({"question": "  "}, "question", "required"),
            ({"question": "fine", "how_soon": "yesterday"}, "how_soon", "one of"),
            ({"question": "fine", "conversion_authorised": "perhaps"}, "conversion_authorised", "yes or no")):
        with pytest.raises(InvalidField) as caught:
            advice.record_request(pat, AdviceDraft(**draft), contact=requester())
        assert caught.value.field == field
        assert words in str(caught.value)
        assert "\x00" not in str(caught.value)
        assert "xxxx" not in str(caught.value)
    with pytest.raises(InvalidField, match="referrer_type: an advice request comes from a professional"):
        advice.record_request(pat, AdviceDraft(question="fine"), contact=requester(kind=ReferrerType.PARENT))
    assert pat.db.execute("SELECT count(*) FROM advice_requests").fetchone()[0] == before
    request = ask(pat).request
    with pytest.raises(InvalidField) as caught:
        advice.respond(sam, request.id, "advice \ud800")
    assert caught.value.field == "response"
    decomposed = "Cafe\u0301"  # stored NFC
    assert advice.respond(sam, request.id, decomposed).response == "Café"


# -- conversion into a referral -------------------------------------------------------------------

def test_conversion_is_refused_without_authorisation_and_allowed_with_it(world):
    pat, sam = world["pat"], world["sam"]
    request = ask(pat, family="Convertchild").request
    contact_id = request.contact_id

    def referrals_of_contact() -> int:
        return pat.db.execute("SELECT count(*) FROM referrals WHERE contact_id = ?",
                              [contact_id]).fetchone()[0]

    def sessions_of_contact() -> int:
        return len(records.triage_sessions_of(pat.db, contact_id))

    with pytest.raises(AdviceRefused, match="did not authorise converting") as caught:
        advice.convert(pat, request.id, "camhs-core", reason="Needs CAMHS", urgency="routine")
    assert f"spoa advice authorise {request.id}" in str(caught.value)
    assert (referrals_of_contact(), sessions_of_contact()) == (0, 0)

    # The requester calls back and authorises it.
    with pytest.raises(InvalidField, match="reason"):
        advice.authorise_conversion(pat, request.id, "")
    advice.authorise_conversion(pat, request.id, "Dr Asker phoned to authorise conversion")
    # No module answers: the new session's outcome is provisional, so converting is an override.
    with pytest.raises(AdviceRefused, match=r"had no triage answers.*converting overrides it, so say why"):
        advice.convert(pat, request.id, "camhs-core")
    assert (referrals_of_contact(), sessions_of_contact()) == (0, 0)  # nothing half-done
    with pytest.raises(referrals.ReferralRefused, match="does not take emergency"):
        advice.convert(pat, request.id, "camhs-core", reason="x", urgency="emergency")
    assert (referrals_of_contact(), sessions_of_contact()) == (0, 0)

    done = advice.convert(pat, request.id, "camhs-core", reason="Sleep and mood worse despite a diary",
                          urgency="routine")
    assert done.decision == "overridden"
    assert done.new_session
    referral = done.referral
    assert (referral.state, referral.route, referral.urgency) == (ReferralState.DRAFT, Route.CAMHS,
                                                                 Urgency.ROUTINE)
    assert (referral.service_id, referral.contact_id, referral.session_id) == ("camhs-core", contact_id,
                                                                             done.session_id)
    session = records.get_triage_session(pat.db, done.session_id)
    assert session.module.id == "professional_advice"
    assert session.answers["specialist_question"] == QUESTION
    assert session.answers["conversion_authorised"] is True
    assert session.decision == "overridden"
    assert "requester's authorisation" in session.override_reason
    assert done.request.referral_id == referral.id
    assert done.request.state == AdviceState.CONVERTED
    assert request.id not in [r.id for r in advice.list_requests(pat)]
    with pytest.raises(AdviceRefused, match="already converted"):
        advice.convert(pat, request.id, "camhs-core", reason="again")
    # From here it is an ordinary referral.
    referrals.submit(pat, referral.id)
    assert referrals.approve(sam, referral.id).state is ReferralState.APPROVED


def test_module_answers_make_the_session_and_a_fitting_outcome_is_confirmed(world):
    pat = world["pat"]
    with pytest.raises(InvalidField) as caught:
        ask(pat, authorised=True, answers={**REFERRAL_ANSWERS, "conversion_authorised": "no"})
    assert caught.value.field == "answers.conversion_authorised"
    recorded = ask(pat, authorised=True, answers=REFERRAL_ANSWERS, how_soon="within_week",
                   family="Modulechild")
    saved = recorded.triage
    assert saved.complete
    assert (saved.outcome.route, saved.outcome.urgency) == (Route.CAMHS, Urgency.URGENT)
    session = records.get_triage_session(pat.db, saved.session_id)
    assert session.answers["specialist_question"] == QUESTION
    assert session.answers["advice_needed_by"] == "within_week"
    assert session.answers["background"] == "Poor sleep since the summer."
    # The answers alone can carry the question.
    alone = advice.record_request(
        pat, AdviceDraft(), contact=requester(family="Answerschild"),
        answers={**REFERRAL_ANSWERS, "specialist_question": "Refer?", "advice_needed_by": "today",
                 "conversion_authorised": True})
    assert (alone.request.question, alone.request.how_soon) == ("Refer?", "today")
    assert alone.request.conversion_authorised

    done = advice.convert(pat, recorded.request.id, "camhs-core")
    assert (done.decision, done.new_session, done.session_id) == ("confirmed", False, saved.session_id)
    assert (done.referral.route, done.referral.urgency) == (Route.CAMHS, Urgency.URGENT)
    assert records.get_triage_session(pat.db, saved.session_id).decision == "confirmed"
    # School nursing instead of the CAMHS recommendation: an override with the reason.
    other = ask(pat, authorised=True, answers=REFERRAL_ANSWERS, family="Otherchild").request
    with pytest.raises(AdviceRefused, match="recommends CAMHS, urgent, not a referral to School nursing"):
        advice.convert(pat, other.id, "school-nursing")
    moved = advice.convert(pat, other.id, "school-nursing", reason="School nurse already knows her")
    assert (moved.decision, moved.referral.route, moved.referral.urgency) == (
        "overridden", Route.SCHOOL_NURSING, Urgency.URGENT)


# -- roles ----------------------------------------------------------------------------------------

def test_role_matrix_has_no_unauthorised_success(world):
    """Each advice operation by each role: practitioners record, authorise and convert,
    supervisors also give advice, administrators none of it. Each refusal is audited as
    denied and changes nothing."""
    pat = world["pat"]

    def fresh(authorised=False) -> str:
        return ask(pat, authorised=authorised, family="Rolechild").request.id

    operations = [
        (Permission.EDIT_CONTACTS, lambda: None, lambda s, _: ask(s, family="Rolechild")),
        (Permission.VIEW_RECORDS, lambda: None, lambda s, _: advice.list_requests(s)),
        (Permission.VIEW_RECORDS, lambda: None, lambda s, _: advice.list_requests(s, awaiting=True)),
        (Permission.VIEW_RECORDS, fresh, lambda s, rid: advice.view_request(s, rid)),
        (Permission.APPROVE_REFERRALS, fresh, lambda s, rid: advice.respond(s, rid, ADVICE)),
        (Permission.EDIT_CONTACTS, fresh, lambda s, rid: advice.authorise_conversion(s, rid, "phoned")),
        (Permission.DRAFT_REFERRALS, lambda: fresh(True),
         lambda s, rid: advice.convert(s, rid, "camhs-core", reason="r", urgency="routine")),
    ]
    unauthorised = refused_when_allowed = denied = 0
    for permission, prepare, run in operations:
        for name in ("pat", "sam", "admin"):
            store = world[name]
            record = prepare()
            before = pat.db.execute("SELECT count(*), (SELECT count(*) FROM referrals), "
                                    "(SELECT count(*) FROM record_history) FROM advice_requests").fetchone()
            seq = last_seq(store)
            try:
                run(store, record)
            except NotAllowed:
                denied += 1
                refused_when_allowed += allowed(store.user.role, permission)
                rows = [r for r in audit_after(store, seq) if r[0] == name]
                assert rows
                assert all(r[-1] == "denied" for r in rows)
                assert pat.db.execute("SELECT count(*), (SELECT count(*) FROM referrals), "
                                      "(SELECT count(*) FROM record_history) FROM advice_requests"
                                      ).fetchone() == before
                if record:
                    assert advice.get_request(pat.db, record).response is None
            else:
                unauthorised += not allowed(store.user.role, permission)
    assert unauthorised == 0
    assert refused_when_allowed == 0
    assert denied == sum(not allowed(role, permission) for permission, _, _ in operations
                         for role in (Role.PRACTITIONER, Role.SUPERVISOR, Role.ADMIN))
    assert denied >= 8


def test_a_second_request_on_an_advice_contact_on_record(world):
    pat = world["pat"]
    first = ask(pat, family="Secondchild").request
    second = advice.record_request(pat, AdviceDraft(question="And for her brother's worries?",
                                                    conversion_authorised="yes"),
                                   contact_id=first.contact_id, answers=REFERRAL_ANSWERS)
    assert second.request.contact_id == first.contact_id
    assert second.request.conversion_authorised
    assert second.triage.session_id in [s.id for s in records.triage_sessions_of(pat.db, first.contact_id)]
    # The contact's reply deadline now follows the evaluated outcome (urgent CAMHS, code D: 72 hours).
    assert records.get_contact(pat.db, first.contact_id).seen_by == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    triage_contact = records.get_triage_session(pat.db, decided_session(pat, family="Triagechild")).contact_id
    with pytest.raises(AdviceRefused, match="is a triage contact, not an advice contact"):
        advice.record_request(pat, AdviceDraft(question="q"), contact_id=triage_contact)
    with pytest.raises(InvalidField, match="give either"):
        advice.record_request(pat, AdviceDraft(question="q"))
