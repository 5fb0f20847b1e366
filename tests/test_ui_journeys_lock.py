"""Whole-desk journeys about locking and who may do what: the idle lock clears every patient
view and unlocking returns to the same place; a call left mid-way when the window is closed
is found again, answers and all, in a new desk; each role's limits in the real main window,
refused by the core even when a page is reached. Helpers: tests/test_ui_journeys.py."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QAbstractListModel, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from spoa import worklist
from spoa.letters import referrals
from spoa.roles import Role
from spoa.store import records
from tests.test_ui_journeys import (
    CALLED_ABOUT,
    WAIT,
    activate,
    answer,
    assert_no_messages,
    desk_starter,
    lock_with_ctrl_l,
    nav_to,
    open_row_with_enter,
    replace_dialogs,
    settle,
    unlock,
)
from tests.triage_page import key_answer, type_details
from tests.world import decided_session
from ui.approval_dialogs import ApproveDialog
from ui.pages.users import AddUserDialog, NewUser
from ui.problems import user_message

IDLE_MS = 4000


@pytest.fixture
def start_desk(qtbot, desk_world, monkeypatch):
    yield from desk_starter(qtbot, desk_world, monkeypatch)


@pytest.fixture
def dialogs(monkeypatch):
    return replace_dialogs(monkeypatch)


def texts_in(widget: QWidget) -> list[str]:
    """Every piece of text ``widget`` and its children hold: labels, fields, buttons, lists'
    and tables' cells, combo boxes' items, tooltips."""
    found = [widget.windowTitle(), widget.toolTip()]
    for child in [widget, *widget.findChildren(QWidget)]:
        found.append(child.toolTip())
        if isinstance(child, (QLabel, QLineEdit, QAbstractButton)):
            found.append(child.text())
        elif isinstance(child, (QPlainTextEdit, QTextEdit)):
            found.append(child.toPlainText())
        elif isinstance(child, QComboBox):
            found += [child.itemText(i) for i in range(child.count())]
        elif isinstance(child, QAbstractItemView) and child.model() is not None:
            model = child.model()
            columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount()
            found += [str(model.index(r, c).data() or "") for r in range(model.rowCount())
                      for c in range(columns)]
    return found


def nav_state(window) -> dict[str, tuple[bool, str]]:
    items = {}
    for row in range(window.nav.count()):
        item = window.nav.item(row)
        items[item.data(Qt.ItemDataRole.UserRole)] = (bool(item.flags() & Qt.ItemFlag.ItemIsEnabled),
                                                      item.toolTip())
    return items


# -- 4: the idle lock ---------------------------------------------------------------------------------


def test_an_idle_desk_locks_clears_every_patient_view_and_unlocks_back_to_the_same_place(
        qtbot, start_desk, desk_world, dialogs):
    session_id = decided_session(desk_world["pat"], given="Idris", family="Idlelockchild")
    contact_id = records.get_triage_session(desk_world["admin"].db, session_id).contact_id
    desk = start_desk(idle_ms=IDLE_MS)
    window = unlock(qtbot, desk, "pat")
    today = window.current_page()
    settle(qtbot, desk.session, lambda: today.model.row_of(contact_id) is not None)
    contacts = nav_to(qtbot, window, "contacts")
    settle(qtbot, desk.session, lambda: contacts.model.rowCount() > 0
           and any("Idlelockchild" in text for text in texts_in(contacts)))
    contacts.restore({"selected": contact_id})
    settle(qtbot, desk.session, lambda: contacts.current_contact_id() == contact_id)
    assert desk.session.is_unlocked
    last_input = time.monotonic()  # nobody touches the desk from here

    qtbot.waitUntil(lambda: not desk.session.is_unlocked, timeout=IDLE_MS + 10000)
    assert time.monotonic() - last_input >= IDLE_MS / 1000 - 0.5  # not before the idle time
    assert desk.unlock_window.isVisible()
    assert not window.isVisible()
    assert window.stack.currentWidget() is window.cover
    assert desk.unlock_window.username.text() == "pat"
    assert desk.unlock_window.password.text() == ""
    for key in ("today", "contacts", "advice", "outbox"):
        model = window.page(key).model
        assert model.rowCount() == 0, key
    assert contacts.proxy.rowCount() == 0
    held = [text for text in texts_in(window) if "Idlelockchild" in text or "Idris" in text]
    assert held == []  # nowhere in the hidden main window either
    for top in QApplication.topLevelWidgets():
        if top.isVisible():
            assert not [text for text in texts_in(top) if "Idlelockchild" in text], top

    unlock(qtbot, desk, "pat")
    assert window.current_page() is contacts  # back where pat was
    settle(qtbot, desk.session, lambda: contacts.current_contact_id() == contact_id)
    assert_no_messages(dialogs)


# -- 6: a call in progress survives the window closing -------------------------------------------------


def test_a_call_left_when_the_window_closes_is_resumed_with_its_answers_in_a_new_desk(
        qtbot, start_desk, desk_world, dialogs):
    first = start_desk()
    window = unlock(qtbot, first, "pat")
    page = nav_to(qtbot, window, "triage")
    qtbot.waitUntil(lambda: page.details.module.count() > 0, timeout=WAIT)
    activate(qtbot, window)
    type_details(qtbot, page, details={**CALLED_ABOUT, "given_name": "Dana", "family_name": "Draftclosed"})
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.session_id is not None and page.live.session is not None, timeout=WAIT)
    session_id, contact_id = page.session_id, page.contact_id
    questions = page.live.questions
    given = {"presenting_needs": ["anxiety", "sleep"], "school_attendance": "reduced",
             "eating_affected": "no"}
    for question_id, value in given.items():
        widget = questions.widgets[question_id]
        questions.focus_question(widget)
        key_answer(qtbot, widget, value)
    assert page.live.session.answers["school_attendance"] == "reduced"

    window.close()  # mid-call: the desk saves the call, then locks
    assert not first.session.is_unlocked
    first.session.wait()
    stored = records.get_triage_session(desk_world["admin"].db, session_id)
    assert stored.answers["school_attendance"] == "reduced"
    assert stored.decision is None

    second = start_desk()
    window = unlock(qtbot, second, "pat")
    today = window.current_page()
    assert today.key == "today"
    settle(qtbot, second.session, lambda: today.model.row_of(contact_id) is not None)
    row = today.model.row_of(contact_id)
    assert today.model.index(row, 0).data().endswith("Dana Draftclosed")
    open_row_with_enter(qtbot, today.table, row)
    resumed = window.current_page()
    assert resumed.key == "triage"
    settle(qtbot, second.session,
           lambda: resumed.session_id == session_id and resumed.live.session is not None)
    assert resumed.who.text().startswith("Dana Draftclosed")
    answers = resumed.live.session.answers
    assert answers["presenting_needs"] == ("anxiety", "sleep")
    assert answers["school_attendance"] == "reduced"
    assert answers["eating_affected"] is False
    widgets = resumed.live.questions.widgets
    assert widgets["school_attendance"].value() == "reduced"  # shown, not only held
    assert widgets["presenting_needs"].value() == ("anxiety", "sleep")
    assert resumed.decision.decided is None  # still a draft, to be finished
    assert_no_messages(dialogs)


# -- 5: each role's limits, in the real main window ------------------------------------------------------


PATIENT_PAGES = ("today", "contacts", "triage", "advice", "approval", "outbox")


def test_each_role_sees_its_limits_and_the_core_refuses_what_a_page_reaches(
        qtbot, start_desk, desk_world, dialogs, monkeypatch):
    pat = desk_world["pat"]
    session_id = decided_session(pat, given="Rhea", family="Rolejourney",
                                 override=("camhs", "routine", "Clinical view"))
    referral_id = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood").id
    referrals.submit(pat, referral_id)
    desk = start_desk()

    # A practitioner: no approval, users or audit; the directory read-only.
    window = unlock(qtbot, desk, "pat")
    items = nav_state(window)
    assert items["approval"] == (False, "Your role cannot approve or return referrals.")
    assert items["users"] == (False, "Your role cannot manage users.")
    assert items["audit"] == (False, "Your role cannot read and verify the audit trail.")
    for key in ("today", "contacts", "triage", "advice", "outbox", "directory", "modules"):
        assert items[key] == (True, ""), key
    users_row = [p.key for p in window.pages].index("users")
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.nav.visualItemRect(window.nav.item(users_row)).center())
    assert window.current_page().key != "users"
    directory = nav_to(qtbot, window, "directory")
    settle(qtbot, desk.session, lambda: directory.table.model().rowCount() > 0)
    for button in directory.manage_buttons:
        assert not button.isEnabled()
    for widget in (directory.new_button, directory.import_button, directory.export_button,
                   directory.form.fields["name"]):
        assert widget.toolTip() == "Your role cannot manage the service directory."
    assert directory.form.fields["name"].isReadOnly()  # the services can be read, not changed
    # Reached anyway (as a bug might), approving is refused by the core, in words.
    approval = window.page("approval")
    approval.restore({"referral_id": referral_id})
    settle(qtbot, desk.session, lambda: approval.selected_id() == referral_id)
    assert not approval.approve_button.isEnabled()
    answer(monkeypatch, ApproveDialog, "Looks right")
    approval.approve_selected()
    settle(qtbot, desk.session, lambda: dialogs["problems"])
    assert dialogs["problems"].pop() == ("A practitioner cannot approve or return referrals. Ask a colleague "
                                         "whose role allows it.")
    waiting = referrals.ReferralState.AWAITING_APPROVAL
    assert referrals.get_referral(desk_world["admin"].db, referral_id).state is waiting
    lock_with_ctrl_l(qtbot, desk)

    # A supervisor: approves, but does not manage users.
    unlock(qtbot, desk, "sam")
    items = nav_state(window)
    assert items["approval"] == (True, "")
    assert items["users"] == (False, "Your role cannot manage users.")
    approval = nav_to(qtbot, window, "approval")
    settle(qtbot, desk.session, lambda: approval.model.row_of(referral_id) is not None)
    approval.restore({"referral_id": referral_id})
    settle(qtbot, desk.session, lambda: approval.selected_id() == referral_id)
    assert approval.approve_button.isEnabled()
    assert approval.export_button.isEnabled()
    monkeypatch.setattr(AddUserDialog, "ask", classmethod(
        lambda cls, parent: NewUser("eve", "Eve Extra", Role.ADMIN, "temporary pass 9")))
    window.page("users").add_user()  # reached anyway: refused
    settle(qtbot, desk.session, lambda: dialogs["problems"])
    assert dialogs["problems"].pop().startswith("A supervisor cannot manage users.")
    assert "eve" not in [u.username for u in desk_world["admin"].users()]
    lock_with_ctrl_l(qtbot, desk)

    # An administrator: no patient page at all, and the core refuses patient data.
    unlock(qtbot, desk, "admin")
    items = nav_state(window)
    for key in PATIENT_PAGES:
        assert items[key][0] is False, key
        assert items[key][1].startswith("Your role cannot "), key
    for key in ("directory", "modules", "users", "audit"):
        assert items[key] == (True, ""), key
    assert window.current_page().key not in PATIENT_PAGES
    for key in PATIENT_PAGES:
        assert window.go_to(key) is False
        assert window.current_page().key not in PATIENT_PAGES
    refused: list[Exception] = []
    desk.session.call(worklist.today, lambda items: refused.append(None), refused.append)
    settle(qtbot, desk.session, lambda: refused)
    assert refused[0] is not None
    assert user_message(refused[0]) == "An admin cannot view records. Ask a colleague whose role allows it."
    assert_no_messages(dialogs)
