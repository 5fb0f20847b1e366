"""Accessibility across the whole desk: on every page of the real main window, in the states
people see (lists loaded, a call under way and decided, a request open, a referral previewed,
a user chosen), as a role that may use it, every visible control has an accessible name; at
200 % text size no visible button's text is cut off; the high-contrast theme applies.
Failures list every offender with its page, class and name. Helpers: tests/test_ui_journeys.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)
from pytestqt.exceptions import TimeoutError as WaitTimeout

from spoa import advice, call
from spoa.advice import AdviceDraft
from spoa.letters import referrals
from spoa.model import ReferrerType
from spoa.store.records import ChildDraft, ContactDraft
from tests.test_ui_journeys import (
    CALLED_ABOUT,
    WAIT,
    activate,
    assert_no_messages,
    desk_starter,
    lock_with_ctrl_l,
    nav_to,
    replace_dialogs,
    settle,
    unlock,
)
from tests.triage_page import type_details
from tests.world import ROUTINE_ANSWERS, contact_draft, decided_session
from ui import theme
from ui.approval_dialogs import ApproveDialog, ReturnDialog, ReviewDialog
from ui.export_dialog import ExportDayDialog
from ui.pages.users import AddUserDialog
from ui.triage.decision import OverrideDialog
from ui.triage.duplicates import DuplicateDialog
from ui.unlock import ChangePasswordDialog, RecoveryCodeDialog

INTERACTIVE = (QAbstractButton, QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QAbstractSpinBox,
               QAbstractItemView, QAbstractSlider)


@pytest.fixture
def start_desk(qtbot, desk_world, monkeypatch):
    yield from desk_starter(qtbot, desk_world, monkeypatch)


@pytest.fixture
def dialogs(monkeypatch):
    return replace_dialogs(monkeypatch)


def _internal(widget: QWidget) -> bool:
    """Qt's own parts of a control (a spin box's editor, a header, a scroll bar, a line edit's
    clear button): the control they belong to carries the name."""
    if isinstance(widget, (QHeaderView, QScrollBar)) or widget.objectName().startswith("qt_"):
        return True
    parent = widget.parentWidget()
    return isinstance(parent, (QComboBox, QAbstractSpinBox, QLineEdit))


def describe(where: str, widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, (QAbstractButton, QLineEdit)) else ""
    parent = widget.parentWidget()
    return (f"{where}: {type(widget).__name__} objectName={widget.objectName()!r} text={text!r} "
            f"in {type(parent).__name__ if parent else None} {parent.accessibleName() if parent else ''!r}")


def visible_controls(window) -> list[QWidget]:
    return [w for w in window.findChildren(QWidget)
            if isinstance(w, INTERACTIVE) and w.isVisible() and not _internal(w)]


def unnamed(window, where: str) -> list[str]:
    return [describe(where, w) for w in visible_controls(window) if not w.accessibleName().strip()]


def _scrolls(widget: QWidget) -> bool:
    """Inside a scroll area that scrolls sideways: the user can bring the rest into view."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.horizontalScrollBar().maximum() > 0:
            return True
        parent = parent.parentWidget()
    return False


def clipped(window, where: str) -> list[str]:
    return [f"{describe(where, b)} width {b.width()} < needed {b.sizeHint().width()}"
            for b in window.findChildren(QAbstractButton)
            if b.isVisible() and not _internal(b) and b.text()
            and b.width() < b.sizeHint().width() and not _scrolls(b)]


class Sweep:
    """What every state of every page is checked for; offenders gathered, reported together."""

    def __init__(self, qtbot, window):
        self.qtbot, self.window = qtbot, window
        self.unnamed: list[str] = []
        self.clipped: list[str] = []
        self.seen: list[str] = []

    def check(self, where: str) -> None:
        self.seen.append(where)
        self.unnamed += unnamed(self.window, where)
        try:  # the layout settles after the font change: wait for that, not for a fixed time
            self.qtbot.waitUntil(lambda: not clipped(self.window, where), timeout=3000)
        except WaitTimeout:
            self.clipped += clipped(self.window, where)


@pytest.fixture
def app_look():
    app = QApplication.instance()
    yield app
    theme.apply_text_size(app, 100)
    theme.apply_high_contrast(app, False)


def synthetic_world(world) -> tuple[str, str]:
    """A referral awaiting approval and an advice request with advice: (referral, request)."""
    pat = world["pat"]
    session_id = decided_session(pat, given="Alba", family="Accesschild",
                                 override=("camhs", "routine", "Clinical view"))
    referral_id = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood").id
    referrals.submit(pat, referral_id)
    contact = ContactDraft(referrer_type=ReferrerType.GP, referrer_name="Dr Access",
                           referrer_organisation="Test Surgery",
                           child=ChildDraft("Ari", "Accessadvice", date_of_birth="2012-03-04",
                                            postcode="ZZ1 1AA"))
    draft = AdviceDraft(question="Sleep diary first?", conversion_authorised=True)
    request = advice.record_request(pat, draft, contact=contact).request
    return referral_id, request.id


def test_every_page_names_its_controls_and_reads_at_double_size_and_high_contrast(
        qtbot, start_desk, desk_world, dialogs, app_look):
    referral_id, request_id = synthetic_world(desk_world)
    desk = start_desk()
    window = unlock(qtbot, desk, "pat")
    window.set_text_size(200)
    assert theme.text_size(app_look) == 200
    sweep = Sweep(qtbot, window)
    session = desk.session

    # A practitioner's pages.
    today = window.current_page()
    settle(qtbot, session, lambda: today.model.rowCount() > 0)
    sweep.check("today")
    contacts = nav_to(qtbot, window, "contacts")
    settle(qtbot, session, lambda: contacts.model.rowCount() > 0)
    sweep.check("contacts")
    call = nav_to(qtbot, window, "triage")
    qtbot.waitUntil(lambda: call.details.module.count() > 0, timeout=WAIT)
    sweep.check("new contact: details")
    activate(qtbot, window)
    type_details(qtbot, call, details={**CALLED_ABOUT, "given_name": "Acca", "family_name": "Accesscall"})
    qtbot.mouseClick(call.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: call.live.session is not None, timeout=WAIT)
    call.live.answer("self_harm_recent", True)  # the follow-ups and the safety section show too
    sweep.check("new contact: the call")
    call.live.answer("self_harm_recent", False)
    for question_id, value in ROUTINE_ANSWERS.items():
        call.live.answer(question_id, value)
    qtbot.mouseClick(call.decision.confirm_button, Qt.MouseButton.LeftButton)
    settle(qtbot, session, lambda: call.referral.services.count() > 0)
    sweep.check("new contact: decided, referral")
    advice_page = nav_to(qtbot, window, "advice")
    settle(qtbot, session, lambda: advice_page.model.rowCount() > 0)
    qtbot.mouseClick(advice_page.new_button, Qt.MouseButton.LeftButton)
    sweep.check("advice: new request form")
    advice_page.restore({"request_id": request_id})
    settle(qtbot, session, lambda: advice_page.detail.view is not None)
    sweep.check("advice: a request, conversion")
    for key in ("outbox", "directory", "modules"):
        page = nav_to(qtbot, window, key)
        session.wait()
        qtbot.waitUntil(page.isVisible, timeout=WAIT)
        sweep.check(key)
    lock_with_ctrl_l(qtbot, desk)
    sweep.unnamed += unnamed(desk.unlock_window, "unlock window")

    # A supervisor's: the queue with a letter previewed, advice to record.
    unlock(qtbot, desk, "sam")
    approval = nav_to(qtbot, window, "approval")
    approval.restore({"referral_id": referral_id})
    settle(qtbot, session, lambda: approval.selected_id() == referral_id and approval.preview.page_count > 0)
    sweep.check("approval: a referral previewed")
    advice_page = nav_to(qtbot, window, "advice")
    advice_page.restore({"request_id": request_id})
    settle(qtbot, session, lambda: advice_page.detail.view is not None)
    sweep.check("advice: as a supervisor")
    lock_with_ctrl_l(qtbot, desk)

    # An administrator's.
    unlock(qtbot, desk, "admin")
    for key in ("users", "audit", "directory", "modules"):
        page = nav_to(qtbot, window, key)
        session.wait()
        qtbot.waitUntil(page.isVisible, timeout=WAIT)
        sweep.check(key + " (administrator)")
    users = window.page("users")
    nav_to(qtbot, window, "users")
    settle(qtbot, session, lambda: users.model.rowCount() >= 3)
    users.table.selectRow(0)
    sweep.check("users: one chosen")
    for widget in (window.nav, window.unlock_window.username, window.unlock_window.unlock_button):
        assert widget.accessibleName()

    assert len(sweep.seen) == 17
    assert not sweep.unnamed, "Controls without an accessible name:\n" + "\n".join(sweep.unnamed)
    assert not sweep.clipped, "Buttons cut off at 200 % text:\n" + "\n".join(sweep.clipped)

    # High contrast: the whole desk's palette changes, and back.
    ordinary = window.palette().color(QPalette.ColorRole.Window).name()
    window.set_high_contrast(True)
    assert window.high_contrast_action.isChecked()
    for widget in (window, window.page("users").table, window.nav):
        assert widget.palette().color(QPalette.ColorRole.Window).name() == "#000000"
        assert widget.palette().color(QPalette.ColorRole.WindowText).name() == "#ffffff"
    assert window.page("users").table.palette().color(QPalette.ColorRole.Highlight).name() == "#ffff00"
    window.set_high_contrast(False)
    assert window.palette().color(QPalette.ColorRole.Window).name() == ordinary
    assert_no_messages(dialogs)


def test_every_dialog_names_its_controls(qtbot, desk_world):
    """The dialogs the journeys replace, built as the desk builds them, with real content."""
    pat = desk_world["pat"]
    decided_session(pat, given="Dupe", family="Dialogchild")
    found = call.find_possible_duplicates(pat, contact_draft(given="Dupe", family="Dialogchild").child)
    assert found
    built = {
        "override": OverrideDialog(None), "approve": ApproveDialog("rf-1"), "return": ReturnDialog("rf-1"),
        "review": ReviewDialog("rf-1"), "export the day": ExportDayDialog(None, "/tmp"),
        "add user": AddUserDialog(None), "possible duplicates": DuplicateDialog(found),
        "change password": ChangePasswordDialog("pat", "An administrator reset it"),
        "recovery code": RecoveryCodeDialog(None),
    }
    offenders = []
    for name, dialog in built.items():
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        offenders += unnamed(dialog, name + " dialog")
        dialog.reject()
    assert not offenders, "Controls without an accessible name:\n" + "\n".join(offenders)
