"""Nothing typed is lost when the desk locks: a half-typed advice request, and a call's
details before "Start the call", are kept for the person who typed them and put back when
they unlock; the form is empty while locked and nobody else ever sees what was typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

from spoa import drafts
from spoa.store.store import Store
from tests.triage_page import PARENT, add_parent_by_keyboard, type_address, type_details
from tests.world import PASSWORDS, decided_session
from ui.pages.advice import AdvicePage
from ui.pages.triage import DETAILS, TriageCallPage
from ui.shell import MainWindow

WAIT = 20000
RESTORED = "Restored what you were typing before the desk locked."
ADVICE_TYPED = {"given_name": "Wren", "family_name": "Draftlockchild", "school": "Testtown Academy",
                "question": "Waking at night since the move.\nAny advice?"}
CALL_TYPED = {"given_name": "Robin", "family_name": "Callerdraftchild", "date_of_birth": "04/03/2012",
              "nhs_number": "999 876 5439", "referrer_name": "Dr Test"}


@pytest.fixture
def world(desk_world):
    """The module's store with nobody holding a draft."""
    desk_world["admin"].db.execute("DELETE FROM form_drafts")
    desk_world["admin"].db.conn.commit()
    return desk_world


@pytest.fixture
def desk(qtbot, world, desk_as, problems):
    """desk(username) -> the main window (advice and call pages) signed in as ``username``."""
    windows = []

    def make(username: str = "pat") -> MainWindow:
        window = MainWindow(desk_as(username), pages=[AdvicePage, TriageCallPage], idle_ms=600_000)
        qtbot.addWidget(window)
        qtbot.addWidget(window.unlock_window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.session.wait()
    assert problems == []


def texts_in(widget: QWidget) -> list[str]:
    found = []
    for child in [widget, *widget.findChildren(QWidget)]:
        if isinstance(child, (QLabel, QLineEdit)):
            found.append(child.text())
        elif isinstance(child, QPlainTextEdit):
            found.append(child.toPlainText())
        elif isinstance(child, QComboBox):
            found.append(child.currentText())
    return found


def shows(window: MainWindow, text: str) -> bool:
    return any(text in each for each in texts_in(window))


def settle(qtbot, window: MainWindow, condition) -> None:
    def done():
        window.session.wait()
        return bool(condition())
    qtbot.waitUntil(done, timeout=WAIT)


def unlock_as(qtbot, window: MainWindow, username: str) -> None:
    """Sign in again through the unlock window, as a person does."""
    unlock = window.unlock_window
    assert unlock.isVisible()
    unlock.username.clear()
    qtbot.keyClicks(unlock.username, username)
    unlock.password.clear()
    qtbot.keyClicks(unlock.password, PASSWORDS[username])
    qtbot.mouseClick(unlock.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.is_unlocked and window.session.user.username == username,
                    timeout=WAIT)
    settle(qtbot, window, lambda: window.isVisible())


def lock(qtbot, window: MainWindow) -> None:
    """Ctrl+L, as a person locks the desk."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not window.session.is_unlocked
    assert window.unlock_window.isVisible()


def has_draft(world, username: str, kind: str) -> bool:
    return drafts.has_form_draft(world[username], kind)


def type_advice(qtbot, window: MainWindow) -> AdvicePage:
    page = window.page("advice")
    assert window.current_page() is page
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    form = page.form
    for name, text in ADVICE_TYPED.items():
        widget = form.fields[name]
        widget.setFocus()
        for number, line in enumerate(text.split("\n")):
            if number:
                qtbot.keyClick(widget, Qt.Key.Key_Return)
            qtbot.keyClicks(widget, line)
    how_soon = form.fields["how_soon"]
    how_soon.setCurrentIndex(how_soon.findData("within_week"))
    qtbot.keyClick(form.fields["conversion_authorised"], Qt.Key.Key_Space)
    assert form.fields["conversion_authorised"].isChecked()
    return page


def assert_advice_refilled(page: AdvicePage) -> None:
    form = page.form
    for name, text in ADVICE_TYPED.items():
        assert form.text(name) == text.strip(), name
    assert form.fields["how_soon"].currentData() == "within_week"
    assert form.fields["conversion_authorised"].isChecked()
    assert page.stack.currentIndex() == 1  # the new request form is shown
    assert page.status.text() == RESTORED


# -- the advice request -------------------------------------------------------------------------


def test_a_half_typed_advice_request_is_empty_while_locked_and_back_after_unlocking(qtbot, desk, world):
    window = desk("pat")
    page = type_advice(qtbot, window)
    lock(qtbot, window)
    assert not page.form.has_typing()
    assert page.stack.currentIndex() == 0
    assert not shows(window, "Draftlockchild")
    assert not shows(window, "Waking at night")
    assert has_draft(world, "pat", drafts.ADVICE_REQUEST)

    unlock_as(qtbot, window, "pat")
    settle(qtbot, window, lambda: page.form.text("family_name") == "Draftlockchild")
    assert window.current_page() is page
    assert_advice_refilled(page)
    assert not has_draft(world, "pat", drafts.ADVICE_REQUEST)  # given back once, not kept
    # What was restored is the real form: recording it works as if typed just now.
    qtbot.mouseClick(page.form.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window, lambda: "recorded" in page.status.text())
    assert not page.form.has_typing()


def test_another_user_unlocking_sees_nothing_and_the_draft_stays_the_first_users(qtbot, desk, world):
    window = desk("pat")
    page = type_advice(qtbot, window)
    lock(qtbot, window)

    unlock_as(qtbot, window, "sam")
    settle(qtbot, window, lambda: page.counts.text() != "")  # the page has loaded for sam
    assert window.current_page() is page
    assert not page.form.has_typing()
    assert page.stack.currentIndex() == 0
    assert not shows(window, "Draftlockchild")
    assert not shows(window, "Waking at night")
    assert RESTORED not in page.status.text()
    assert has_draft(world, "pat", drafts.ADVICE_REQUEST)
    assert not has_draft(world, "sam", drafts.ADVICE_REQUEST)

    lock(qtbot, window)  # sam typed nothing: nothing kept for sam
    assert not has_draft(world, "sam", drafts.ADVICE_REQUEST)
    unlock_as(qtbot, window, "pat")
    settle(qtbot, window, lambda: page.form.text("family_name") == "Draftlockchild")
    assert_advice_refilled(page)


def test_an_empty_form_leaves_no_draft_and_no_message(qtbot, desk, world):
    window = desk("pat")
    page = window.page("advice")
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    lock(qtbot, window)
    assert not has_draft(world, "pat", drafts.ADVICE_REQUEST)
    unlock_as(qtbot, window, "pat")
    settle(qtbot, window, lambda: page.counts.text() != "")
    assert page.status.text() == ""
    assert not page.form.has_typing()


# -- the call's details before it starts ----------------------------------------------------------


def open_call_page(qtbot, window: MainWindow) -> TriageCallPage:
    assert window.go_to("triage")
    page = window.page("triage")
    settle(qtbot, window, lambda: page.details.module.count() > 0)
    return page


def assert_call_refilled(page: TriageCallPage) -> None:
    form = page.details
    for name, text in CALL_TYPED.items():
        assert form.fields[name].text() == text, name
    assert form.fields["referrer_type"].currentData() == "school_nurse"
    assert form.consent_status.currentData() == "given"
    assert form.consent_notes.text() == "Mother agrees"
    assert form.fields["address"].text() == "1 Synthetic Street\nTesttown"
    assert form.carers.carers() == [PARENT]
    assert page.stack.currentIndex() == DETAILS
    assert page.save_status.text() == RESTORED
    assert page.start_button.isEnabled()


def type_call(qtbot, page: TriageCallPage) -> None:
    type_details(qtbot, page, CALL_TYPED, referrer="school_nurse")
    form = page.details
    type_address(qtbot, form)
    add_parent_by_keyboard(qtbot, form)
    form.consent_status.setCurrentIndex(form.consent_status.findData("given"))
    form.consent_notes.setFocus()
    qtbot.keyClicks(form.consent_notes, "Mother agrees")


def test_call_details_typed_before_the_call_starts_come_back_after_unlocking(qtbot, desk, world):
    window = desk("pat")
    page = open_call_page(qtbot, window)
    type_call(qtbot, page)
    lock(qtbot, window)
    assert not page.details.has_typing()
    assert not shows(window, "Callerdraftchild")
    assert not shows(window, "Mother agrees")
    assert not shows(window, PARENT["name"])
    assert not shows(window, "Synthetic Street")
    assert has_draft(world, "pat", drafts.CALL_DETAILS)

    unlock_as(qtbot, window, "pat")
    assert window.current_page() is page
    settle(qtbot, window, lambda: page.details.fields["family_name"].text() == "Callerdraftchild")
    assert_call_refilled(page)
    assert not has_draft(world, "pat", drafts.CALL_DETAILS)


def test_call_details_are_not_shown_to_another_user(qtbot, desk, world):
    window = desk("pat")
    page = open_call_page(qtbot, window)
    type_call(qtbot, page)
    lock(qtbot, window)

    unlock_as(qtbot, window, "sam")
    open_call_page(qtbot, window)
    qtbot.wait(50)  # the draft is asked for once the page has been shown
    settle(qtbot, window, lambda: True)
    QApplication.processEvents()
    assert not page.details.has_typing()
    assert not shows(window, "Callerdraftchild")
    assert page.save_status.text() == ""
    assert has_draft(world, "pat", drafts.CALL_DETAILS)

    lock(qtbot, window)
    unlock_as(qtbot, window, "pat")  # back where pat starts: the call page holds the draft
    assert open_call_page(qtbot, window) is page
    settle(qtbot, window, lambda: page.details.fields["family_name"].text() == "Callerdraftchild")
    assert_call_refilled(page)


def test_closing_the_window_with_half_typed_details_keeps_them_for_the_next_start(qtbot, desk, world):
    window = desk("pat")
    page = open_call_page(qtbot, window)
    type_call(qtbot, page)
    window.close()
    assert not window.session.is_unlocked
    assert has_draft(world, "pat", drafts.CALL_DETAILS)

    again = desk("pat")
    page = open_call_page(qtbot, again)
    settle(qtbot, again, lambda: page.details.fields["family_name"].text() == "Callerdraftchild")
    assert_call_refilled(page)


def test_a_started_call_is_saved_as_a_call_not_as_a_draft(qtbot, desk, world, new_child_on_duplicates):
    window = desk("pat")
    page = open_call_page(qtbot, window)
    type_call(qtbot, page)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window, lambda: page.session_id is not None and page.live.session is not None)
    lock(qtbot, window)
    assert not has_draft(world, "pat", drafts.CALL_DETAILS)


def test_opening_a_saved_call_does_not_swallow_a_waiting_draft(qtbot, desk, world):
    session_id = decided_session(world["pat"], given="Sol", family="Savedcallchild")
    drafts.save_form_draft(world["pat"], drafts.CALL_DETAILS, {"family_name": "Callerdraftchild"})
    window = desk("pat")
    assert window.go_to("triage", {"session_id": session_id})
    page = window.page("triage")
    settle(qtbot, window, lambda: page.session_id == session_id)
    assert page.details.fields["family_name"].text() == "Savedcallchild"
    assert has_draft(world, "pat", drafts.CALL_DETAILS)
    # The next new call picks it up.
    qtbot.mouseClick(page.new_call_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window, lambda: page.details.fields["family_name"].text() == "Callerdraftchild")
    assert page.save_status.text() == RESTORED
    assert not has_draft(world, "pat", drafts.CALL_DETAILS)


def test_a_draft_from_another_desk_session_is_never_opened_by_a_stranger(qtbot, world):
    """The core rule the pages rely on, through a second sign-in on the same store."""
    drafts.save_form_draft(world["pat"], drafts.ADVICE_REQUEST, {"family_name": "Draftlockchild"})
    with Store.unlock(world["admin"].folder, "sam", PASSWORDS["sam"]) as sam:
        assert drafts.take_form_draft(sam, drafts.ADVICE_REQUEST) is None
    assert has_draft(world, "pat", drafts.ADVICE_REQUEST)


def test_a_draft_older_than_seven_days_is_not_put_back_and_nothing_is_said(qtbot, desk, world):
    long_ago = datetime.now(UTC) - drafts.KEEP_FOR - timedelta(hours=1)
    drafts.save_form_draft(world["pat"], drafts.ADVICE_REQUEST, {"family_name": "Draftlockchild"},
                           now=long_ago)
    window = desk("pat")
    page = window.page("advice")
    settle(qtbot, window, lambda: page.counts.text() != "")
    assert not page.form.has_typing()
    assert page.status.text() == ""
    assert not shows(window, "Draftlockchild")
    assert world["pat"].db.execute("SELECT count(*) FROM form_drafts").fetchone()[0] == 0


def test_an_old_draft_is_gone_once_anyone_unlocks_even_if_its_page_is_never_opened(qtbot, world, desk_as):
    long_ago = datetime.now(UTC) - drafts.KEEP_FOR - timedelta(hours=1)
    drafts.save_form_draft(world["pat"], drafts.ADVICE_REQUEST, {"family_name": "Recentchild"})
    # saved last (a save sweeps only drafts older than its own time): nothing has swept it yet
    drafts.save_form_draft(world["pat"], drafts.CALL_DETAILS, {"family_name": "Forgottenchild"}, now=long_ago)
    assert world["admin"].db.execute("SELECT count(*) FROM form_drafts").fetchone()[0] == 2
    session = desk_as("sam")  # another user; no page is built at all
    session.wait()
    left = world["admin"].db.execute("SELECT kind FROM form_drafts").fetchall()
    assert left == [(drafts.ADVICE_REQUEST,)]  # the recent one stays for pat


def test_typing_that_cannot_be_kept_is_said_to_the_same_person_after_unlocking(qtbot, desk, world):
    window = desk("pat")
    page = type_advice(qtbot, window)
    page.form.fields["question"].setPlainText("x" * 100_001)  # longer than any field may hold
    lock(qtbot, window)
    assert not has_draft(world, "pat", drafts.ADVICE_REQUEST)
    unlock_as(qtbot, window, "pat")
    settle(qtbot, window, lambda: "could not be kept" in page.status.text())
    assert "question" in page.status.text()  # which field, never what was typed
    assert "Please type it again." in page.status.text()
    assert "xxxx" not in page.status.text()
    lock(qtbot, window)
    unlock_as(qtbot, window, "pat")
    settle(qtbot, window, lambda: page.counts.text() != "")
    assert "could not be kept" not in page.status.text()  # said once
