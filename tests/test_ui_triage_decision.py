"""The triage call page after the questions: confirm or override, then the referral
(created and submitted, or for an emergency sent now before review), on the real store of
the synthetic world. Helpers and fixtures: tests/triage_page.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from spoa.letters import referrals
from spoa.model import Route, Urgency
from spoa.store import records
from tests.triage_page import CHILD, WAIT, make_page, start
from tests.world import EMERGENCY_ANSWERS, ROUTINE_ANSWERS
from ui.triage.decision import Override, OverrideDialog
from ui.triage.refer import FolderChoice

pytestmark = pytest.mark.usefixtures("new_child_on_duplicates")


def test_confirm_then_create_and_submit_the_referral(qtbot, desk_as, desk_world):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    for question_id, value in ROUTINE_ANSWERS.items():
        page.live.answer(question_id, value)
    assert page.decision.confirm_button.isEnabled()
    qtbot.mouseClick(page.decision.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.decision.decided is not None, timeout=WAIT)
    assert page.decision.status.text() == "Confirmed: School nursing, routine: seen within 2 weeks (by pat)."
    assert not page.live.questions.widgets["cp_plan"].isEnabled()  # decided: read only

    panel = page.referral
    qtbot.waitUntil(lambda: panel.services.count() > 0, timeout=WAIT)
    assert panel.services.item(0).text().startswith("Test School Nursing")
    assert not panel.send_now_button.isVisible()  # routine: no sending before review
    qtbot.keyClicks(panel.reason, "Worries about tests; school nurse support fits.")
    qtbot.mouseClick(panel.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.referral is not None, timeout=WAIT)
    assert "awaiting approval" in panel.status.text()
    stored = referrals.get_referral(desk_world["pat"].db, panel.referral.id)
    assert stored.state is referrals.ReferralState.AWAITING_APPROVAL
    assert stored.service_id == "school-nursing"
    assert stored.session_id == page.session_id
    assert not panel.submit_button.isEnabled()

    # Opened again later: decided, read only, the referral step ready.
    again = make_page(qtbot, desk_as)
    again.restore(page.state())
    qtbot.waitUntil(lambda: again.decision.decided is not None, timeout=WAIT)
    assert again.decision.status.text() == "Confirmed: School nursing, routine: seen within 2 weeks (by pat)."
    assert not again.decision.confirm_button.isVisible()
    assert not again.live.questions.widgets["cp_plan"].isEnabled()
    qtbot.waitUntil(lambda: again.referral.services.count() > 0, timeout=WAIT)
    assert again.referral.referral.id == panel.referral.id  # the referral under way, not a new one
    assert again.referral.status.text() == f"Referral {panel.referral.id} is awaiting approval."
    assert not again.referral.submit_button.isEnabled()
    # ...with its reason and its service as they were made, which the supervisor now has.
    assert again.referral.reason.text() == "Worries about tests; school nurse support fits."
    assert again.referral.reason.isReadOnly()
    assert again.referral.chosen_service() == "school-nursing"
    assert not again.referral.services.isEnabled()

    # Returned with a reason: the practitioner changes the reason and submits it again.
    referrals.return_referral(desk_world["sam"], panel.referral.id, "Say what the school has tried")
    third = make_page(qtbot, desk_as)
    third.restore(page.state())
    qtbot.waitUntil(lambda: third.referral.referral is not None, timeout=WAIT)
    assert "Returned: Say what the school has tried" in third.referral.status.text()
    assert not third.referral.reason.isReadOnly()
    third.referral.reason.setText("Worries about tests; the school has tried a mentor.")
    qtbot.mouseClick(third.referral.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "awaiting approval" in third.referral.status.text(), timeout=WAIT)
    stored = referrals.get_referral(desk_world["pat"].db, panel.referral.id)
    assert stored.reason == "Worries about tests; the school has tried a mentor."
    assert stored.state is referrals.ReferralState.AWAITING_APPROVAL


def test_a_practitioner_sees_no_approve_action(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    texts = [b.text().lower() + " " + b.accessibleName().lower() for b in page.findChildren(QPushButton)]
    assert texts
    assert not any("approve" in t and "approval" not in t for t in texts)


def test_override_requires_a_reason(qtbot, desk_as, monkeypatch):
    dialog = OverrideDialog(None)
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    assert dialog.hint.text().startswith("Say why you are overriding")
    assert dialog.override() is None
    qtbot.keyClicks(dialog.reason, "   ")
    assert not dialog.ok_button.isEnabled()
    dialog.route.setCurrentIndex(dialog.route.findData("camhs"))
    qtbot.keyClicks(dialog.reason, "Known to CAMHS last year")
    assert dialog.ok_button.isEnabled()
    assert dialog.hint.isHidden()
    assert dialog.override().route.value == "camhs"

    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    page.live.answer("cp_plan", True)  # incomplete: only an override can decide it
    assert not page.decision.confirm_button.isEnabled()
    monkeypatch.setattr(OverrideDialog, "ask", classmethod(lambda cls, parent, outcome: None))
    qtbot.mouseClick(page.decision.override_button, Qt.MouseButton.LeftButton)
    assert page.decision.decided is None  # cancelled: nothing decided
    chosen = Override(Route.CAMHS, Urgency.URGENT, "Safeguarding plan; CAMHS knows the family")
    monkeypatch.setattr(OverrideDialog, "ask", classmethod(lambda cls, parent, outcome: chosen))
    qtbot.mouseClick(page.decision.override_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.decision.decided is not None, timeout=WAIT)
    assert page.decision.status.text() == (
        "Overridden: CAMHS, urgent: seen within 24 hours (by pat).\n"
        "Decided before every question was asked: answer the rest when you can.\n"
        "Reason: Safeguarding plan; CAMHS knows the family")
    stored = records.get_triage_session(page.session.store.db, page.session_id)
    assert stored.answers["cp_plan"] is True  # the answers were saved with the decision


def test_emergency_send_now_writes_the_letter_into_the_outbox_folder(qtbot, desk_as, tmp_path, monkeypatch):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    for question_id, value in EMERGENCY_ANSWERS.items():
        page.live.answer(question_id, value)
    qtbot.mouseClick(page.decision.confirm_button, Qt.MouseButton.LeftButton)
    panel = page.referral
    qtbot.waitUntil(lambda: panel.services.count() > 0, timeout=WAIT)
    assert panel.services.item(0).text().startswith("Test CAMHS Crisis")
    assert panel.send_now_button.isVisible()
    assert panel.send_now_button.isEnabled()

    # No outbox folder set on this desk: it says so, and the user chooses one.
    told = []
    monkeypatch.setattr(FolderChoice, "ask", classmethod(lambda cls, parent, message: told.append(message)))
    qtbot.mouseClick(panel.send_now_button, Qt.MouseButton.LeftButton)
    assert told
    assert told[0].startswith("No outbox folder is set on this desk")
    assert told[0].endswith("a supervisor sets it for good on the Outbox page, under Where letters go.")
    assert "Not sent: no folder was chosen." in panel.status.text()
    assert panel.referral is None

    outbox_folder = tmp_path / "outbox"
    outbox_folder.mkdir()
    monkeypatch.setattr(FolderChoice, "ask", classmethod(lambda cls, parent, message: outbox_folder))
    qtbot.mouseClick(panel.send_now_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.referral is not None, timeout=WAIT)
    assert "sent before supervisor review" in panel.status.text()
    pdfs = list(outbox_folder.glob("*.pdf"))
    assert len(pdfs) == 1
    assert pdfs[0].read_bytes().startswith(b"%PDF")
    assert panel.referral.review_pending
    assert not panel.send_now_button.isEnabled()
    assert not panel.submit_button.isEnabled()


def test_send_now_uses_the_desk_outbox_folder_when_set(qtbot, desk_as, tmp_path, monkeypatch):
    from spoa.settings import SETTINGS_FILE, DeskSettings

    page = make_page(qtbot, desk_as)
    outbox_folder = tmp_path / "shared-drive"
    outbox_folder.mkdir()
    settings_file = DeskSettings(outbox_folder=str(outbox_folder)).save(page.session.folder)
    assert settings_file.name == SETTINGS_FILE
    try:
        monkeypatch.setattr(FolderChoice, "ask",
                            classmethod(lambda cls, parent, message: pytest.fail("asked")))
        start(qtbot, page)
        for question_id, value in EMERGENCY_ANSWERS.items():
            page.live.answer(question_id, value)
        qtbot.mouseClick(page.decision.confirm_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.referral.services.count() > 0, timeout=WAIT)
        qtbot.mouseClick(page.referral.submit_button, Qt.MouseButton.LeftButton)  # submitted first
        qtbot.waitUntil(lambda: page.referral.referral is not None, timeout=WAIT)
        qtbot.mouseClick(page.referral.send_now_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "sent before supervisor review" in page.referral.status.text(), timeout=WAIT)
        assert len(list(outbox_folder.glob("*.pdf"))) == 1
    finally:
        settings_file.unlink()


def test_advice_only_has_no_service_to_refer_to(qtbot, desk_as, monkeypatch):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    chosen = Override(Route.ADVICE, Urgency.ROUTINE, "Parent wants advice first")
    monkeypatch.setattr(OverrideDialog, "ask", classmethod(lambda cls, parent, outcome: chosen))
    qtbot.mouseClick(page.decision.override_button, Qt.MouseButton.LeftButton)
    panel = page.referral
    qtbot.waitUntil(lambda: "advice only" in panel.message.text(), timeout=WAIT)
    assert "there is no service to refer to" in panel.message.text()
    assert panel.services.count() == 0
    assert not panel.submit_button.isEnabled()


def test_no_matching_service_says_why_and_offers_the_route_services(qtbot, desk_as, monkeypatch, problems):
    page = make_page(qtbot, desk_as)
    start(qtbot, page, details={**CHILD, "given_name": "Nomatch", "date_of_birth": "01/01/2017"})
    chosen = Override(Route.VOLUNTARY_SECTOR, Urgency.ROUTINE, "Family asked for counselling")
    monkeypatch.setattr(OverrideDialog, "ask", classmethod(lambda cls, parent, outcome: chosen))
    qtbot.mouseClick(page.decision.override_button, Qt.MouseButton.LeftButton)
    panel = page.referral
    qtbot.waitUntil(lambda: panel.services.count() > 0, timeout=WAIT)
    assert panel.message.text().startswith("Nothing has been referred yet.")
    assert panel.message.text().endswith("Choose a service yourself if one can take it.")
    assert panel.services.item(0).text() == "Open Door (ages 11 to 25)"
    qtbot.mouseClick(panel.submit_button, Qt.MouseButton.LeftButton)  # the core still refuses it
    qtbot.waitUntil(lambda: bool(problems), timeout=WAIT)
    assert "takes children aged 11 to 25" in problems[0]
    assert panel.referral is None


def test_the_emergency_path_is_the_fastest_path(qtbot, desk_as, tmp_path, monkeypatch, problems):
    """A parent calls as it happens: the practitioner answers the danger-now screen, confirms
    beside the banner without the eleven other required questions, sends the letter from
    there, and answers the rest afterwards; the letter names what was not yet asked."""
    from pypdf import PdfReader

    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    live = page.live
    for question_id, value in (("now_harm", "no"), ("now_acted", "yes"), ("now_seen", "no"),
                               ("now_means", "no"), ("now_with_child", True), ("now_where", "At home")):
        live.answer(question_id, value)
    assert live.banner.isVisible()
    assert not live.session.is_complete
    decide = live.decide_now_button
    assert decide.isVisible()
    assert decide.isEnabled()
    assert decide.visibleRegion().boundingRect().height() > 0  # in view beside the banner, no scrolling
    assert "confirm now and act" in page.decision.status.text()
    qtbot.mouseClick(decide, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.decision.decided is not None, timeout=WAIT)
    assert page.decision.decided.final_urgency.value == "emergency"
    assert "Decided before every question was asked" in page.decision.status.text()
    qtbot.waitUntil(lambda: live.send_now_button.isVisible() and live.send_now_button.isEnabled(),
                    timeout=WAIT)
    assert not decide.isVisible()

    outbox_folder = tmp_path / "outbox"
    outbox_folder.mkdir()
    monkeypatch.setattr(FolderChoice, "ask", classmethod(lambda cls, parent, message: outbox_folder))
    qtbot.mouseClick(live.send_now_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(problems) or "sent before supervisor review" in page.referral.status.text(),
                    timeout=WAIT)
    assert problems == []
    (pdf,) = outbox_folder.glob("*.pdf")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages)
    assert "before every question was asked" in text
    assert "What are the main difficulties the caller is worried about?" in text  # named, not yet asked
    assert "Provisional" not in text  # decided: no longer provisional

    # The rest can still be answered; what was answered before the decision cannot change.
    widgets = live.questions.widgets
    assert widgets["presenting_needs"].isEnabled()
    assert not widgets["now_acted"].isEnabled()
    live.answer("cp_plan", True)
    page.save_now()
    page.session.wait()
    stored = records.get_triage_session(page.session.store.db, page.session_id)
    assert stored.answers["cp_plan"] is True
    assert stored.final_urgency.value == "emergency"  # the decision stands
