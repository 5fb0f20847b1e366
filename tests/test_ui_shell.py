"""The main window on a real store: navigation by role, Ctrl+L and idle locking back to the
same page, who is signed in, text size and high contrast."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
)

from spoa.roles import Permission
from tests.world import PASSWORDS
from ui import errors, problems, shell, theme
from ui.pages.audit import AuditPage
from ui.pages.base import Page
from ui.pages.modules import ModulesPage
from ui.pages.users import UsersPage
from ui.shell import MainWindow


class RecordPage(Page):
    """Stands in for a patient-data page: shows a name, remembers a selected id."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.field = QLineEdit()
        self.field.setAccessibleName("Child name")
        QVBoxLayout(self).addWidget(self.field)
        self.selected = ""
        self.events: list[str] = []

    def refresh(self):
        self.events.append("refresh")

    def clear(self):
        self.events.append("clear")
        self.field.clear()
        self.selected = ""

    def state(self):
        return {"selected": self.selected} if self.selected else {}

    def restore(self, state):
        self.events.append(f"restore {state}")
        self.selected = state.get("selected", "")

    def before_lock(self):
        self.events.append("before_lock")


class TodayPage(RecordPage):
    key, title, permission = "today", "Today", Permission.VIEW_RECORDS


class ContactsPage(RecordPage):
    key, title, permission = "contacts", "Contacts", Permission.VIEW_RECORDS


class ApprovalPage(RecordPage):
    key, title, permission = "approval", "Awaiting approval", Permission.APPROVE_REFERRALS


class QuietModulesPage(ModulesPage):
    def __init__(self, session, parent=None):
        super().__init__(session, parent, load=lambda: [])


PAGES = [TodayPage, ContactsPage, ApprovalPage, QuietModulesPage, UsersPage, AuditPage]


@pytest.fixture
def window_as(qtbot, staffed_desk_as):
    def make(username: str, **kwargs) -> MainWindow:
        window = MainWindow(staffed_desk_as(username), PAGES, **kwargs)
        qtbot.addWidget(window)
        qtbot.addWidget(window.unlock_window)
        window.show()
        return window

    return make


@pytest.fixture
def app_look():
    """Put the text size and theme back for the tests that follow."""
    app = QApplication.instance()
    yield app
    theme.apply_text_size(app, 100)
    theme.apply_high_contrast(app, False)


def nav_state(window: MainWindow) -> dict[str, tuple[bool, str]]:
    items = {}
    for row in range(window.nav.count()):
        item = window.nav.item(row)
        items[item.data(Qt.ItemDataRole.UserRole)] = (
            bool(item.flags() & Qt.ItemFlag.ItemIsEnabled), item.toolTip())
    return items


def unlock_through_window(qtbot, window: MainWindow, username: str) -> None:
    unlock = window.unlock_window
    unlock.username.setText(username)
    unlock.password.setText(PASSWORDS[username])
    qtbot.mouseClick(unlock.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.isVisible() and window.session.is_unlocked, timeout=20000)


def test_practitioner_sees_admin_and_approval_pages_disabled_with_the_reason(qtbot, window_as):
    window = window_as("pat")
    items = nav_state(window)
    assert items["today"] == (True, "")
    assert items["contacts"] == (True, "")
    assert items["modules"] == (True, "")
    assert items["users"] == (False, "Your role cannot manage users.")
    assert items["audit"] == (False, "Your role cannot read and verify the audit trail.")
    assert items["approval"] == (False, "Your role cannot approve or return referrals.")
    assert window.current_page().key == "today"

    # Neither the keyboard, a click nor another page's navigate can reach them.
    window.nav.setFocus()
    for _ in range(window.nav.count()):
        qtbot.keyClick(window.nav, Qt.Key.Key_Down)
        assert window.current_page().key in ("today", "contacts", "modules")
    users_row = [p.key for p in window.pages].index("users")
    rect = window.nav.visualItemRect(window.nav.item(users_row))
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_page().key != "users"
    window.page("contacts").navigate.emit("audit", {})
    assert window.current_page().key != "audit"
    assert "cannot read and verify the audit trail" in window.statusBar().currentMessage()


def test_admin_cannot_reach_patient_pages_and_starts_on_the_first_allowed_one(qtbot, window_as):
    window = window_as("admin")
    items = nav_state(window)
    for key in ("today", "contacts", "approval"):
        assert items[key][0] is False
        assert items[key][1].startswith("Your role cannot")
    assert items["users"] == (True, "")
    assert items["audit"] == (True, "")
    assert window.current_page().key == "modules"
    assert window.go_to("contacts") is False


def test_status_bar_names_who_is_signed_in_and_their_role(qtbot, window_as):
    window = window_as("sam")
    assert window.who.text() == "Signed in as Sam Supervisor (sam), supervisor"
    assert nav_state(window)["approval"] == (True, "")


def test_navigate_switches_page_and_restores_its_state(qtbot, window_as):
    window = window_as("pat")
    today, contacts = window.page("today"), window.page("contacts")
    today.navigate.emit("contacts", {"selected": "contact-7"})
    assert window.current_page() is contacts
    assert window.nav.currentItem().text() == "Contacts"
    assert contacts.events[-2:] == ["refresh", "restore {'selected': 'contact-7'}"]


def test_ctrl_l_locks_clears_every_page_and_unlock_returns_to_the_same_page(qtbot, window_as):
    window = window_as("pat")
    contacts = window.page("contacts")
    window.go_to("contacts")
    contacts.field.setText("Zoë Testchild")
    contacts.selected = "contact-42"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(contacts.field, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)

    assert not window.session.is_unlocked
    assert not window.isVisible()
    assert window.unlock_window.isVisible()
    assert window.unlock_window.username.text() == "pat"
    assert window.unlock_window.password.text() == ""
    assert window.stack.currentWidget() is window.cover
    for page in (window.page("today"), contacts):
        assert "clear" in page.events
        assert page.events.index("before_lock") < page.events.index("clear")
    assert contacts.field.text() == ""
    assert window.who.text() == "Locked"

    contacts.events.clear()
    unlock_through_window(qtbot, window, "pat")
    assert not window.unlock_window.isVisible()
    assert window.current_page() is contacts
    assert contacts.events == ["refresh", "restore {'selected': 'contact-42'}"]
    assert contacts.selected == "contact-42"


def test_locking_closes_an_open_dialog(qtbot, window_as):
    window = window_as("pat")
    dialog = QMessageBox(QMessageBox.Icon.Question, "Discard the call?", "Zoë Testchild", parent=window)
    dialog.setModal(True)
    dialog.show()
    assert QApplication.activeModalWidget() is dialog
    window.lock_action.trigger()
    assert not dialog.isVisible()
    assert QApplication.activeModalWidget() is None
    assert window.unlock_window.isVisible()


def test_a_different_user_after_a_lock_starts_at_today(qtbot, window_as):
    window = window_as("pat")
    window.go_to("contacts")
    window.page("contacts").selected = "contact-42"
    window.lock_action.trigger()
    assert not window.session.is_unlocked
    window.page("contacts").events.clear()
    unlock_through_window(qtbot, window, "sam")
    assert window.current_page().key == "today"
    assert window.page("contacts").events == []
    assert window.who.text().startswith("Signed in as Sam Supervisor")


def test_idle_desk_locks_after_the_timeout_and_input_keeps_it_open(qtbot, window_as):
    window = window_as("pat", idle_ms=1000)
    field = window.page("today").field
    for _ in range(8):  # typing for ~1.6 s, longer than the timeout: still open
        qtbot.keyClick(field, Qt.Key.Key_A)
        qtbot.wait(200)
        assert window.session.is_unlocked
    qtbot.waitUntil(lambda: not window.session.is_unlocked, timeout=5000)
    assert window.unlock_window.isVisible()
    assert field.text() == ""
    assert "before_lock" in window.page("today").events


def test_idle_lock_minutes_come_from_the_desk_settings(qtbot, window_as):
    window = window_as("pat")
    assert window.idle.timeout_ms() == 10 * 60_000
    assert window.idle.watching


def test_two_hundred_percent_text_keeps_navigation_readable(qtbot, window_as, app_look):
    window = window_as("pat")
    base = theme.base_point_size(app_look)
    window.text_size_actions[200].trigger()
    qtbot.wait(50)
    assert app_look.font().pointSizeF() == pytest.approx(base * 2)
    assert window.nav.font().pointSizeF() == pytest.approx(base * 2)
    assert theme.text_size(app_look) == 200
    widest = max(window.nav.fontMetrics().horizontalAdvance(window.nav.item(r).text())
                 for r in range(window.nav.count()))
    assert window.nav.width() >= widest  # titles are not cut off
    window.text_size_actions[150].trigger()
    assert app_look.font().pointSizeF() == pytest.approx(base * 1.5)


def test_high_contrast_theme_toggles(qtbot, window_as, app_look):
    window = window_as("pat")
    window.high_contrast_action.trigger()
    palette = window.palette()
    assert palette.color(QPalette.ColorRole.Window).name() == "#000000"
    assert palette.color(QPalette.ColorRole.WindowText).name() == "#ffffff"
    assert palette.color(QPalette.ColorRole.Highlight).name() == "#ffff00"
    assert theme.is_high_contrast(app_look)
    window.high_contrast_action.trigger()
    qtbot.wait(20)
    assert window.palette().color(QPalette.ColorRole.Window).name() != "#000000"
    assert not theme.is_high_contrast(app_look)


def test_the_chosen_view_is_kept_for_the_next_start_unlock_window_included(qtbot, window_as, app_look,
                                                                          monkeypatch):
    from spoa.settings import DeskSettings
    from ui.app import Desk

    window = window_as("pat")
    window.text_size_actions[200].trigger()
    window.high_contrast_action.trigger()
    window.session.wait()
    saved = DeskSettings.load(window.session.folder)
    assert (saved.text_size_percent, saved.high_contrast) == (200, True)

    theme.apply_view(app_look, 100, False)  # as a fresh start would find the application
    monkeypatch.setenv("SPOA_DATA_DIR", str(window.session.folder))
    next_start = Desk(pages=[])
    qtbot.addWidget(next_start.unlock_window)
    assert next_start.session.folder == window.session.folder
    assert theme.text_size(app_look) == 200
    assert theme.is_high_contrast(app_look)
    assert next_start.unlock_window.palette().color(QPalette.ColorRole.Window).name() == "#000000"
    next_start.session.wait()


def test_about_names_the_version(qtbot, window_as, monkeypatch):
    shown = []
    monkeypatch.setattr(shell.AboutDialog, "show", classmethod(lambda cls, parent: shown.append(parent)))
    window = window_as("pat")
    window.about_action.trigger()
    assert shown == [window]
    assert shell.app_version()


def test_every_control_has_an_accessible_name(qtbot, window_as):
    window = window_as("admin")
    for key in ("modules", "users", "audit"):
        window.go_to(key)
        for kind in (QAbstractButton, QAbstractItemView, QLineEdit, QSpinBox):
            for widget in window.findChildren(kind):
                internal = isinstance(widget, QHeaderView) or widget.objectName().startswith("qt_")
                if widget.isVisibleTo(window) and not internal:  # not Qt's own parts of a control
                    assert widget.accessibleName(), (key, widget)
    for widget in window.unlock_window.findChildren(QAbstractButton):
        assert widget.accessibleName()


REACHABLE = {
    "pat": ["today", "contacts", "triage", "advice", "outbox", "directory", "modules"],
    "sam": ["today", "contacts", "triage", "advice", "approval", "outbox", "directory", "modules"],
    "admin": ["directory", "modules", "users", "audit"],
}


@pytest.mark.parametrize("username", ["pat", "sam", "admin"])
def test_the_real_pages_by_role(qtbot, staffed_desk_as, username, monkeypatch):
    shown = []
    monkeypatch.setattr(problems.ProblemDialog, "show",
                        classmethod(lambda cls, title, text: shown.append(text)))
    monkeypatch.setattr(errors.UnexpectedErrorDialog, "show", classmethod(lambda cls, ref: shown.append(ref)))
    window = MainWindow(staffed_desk_as(username))
    qtbot.addWidget(window)
    qtbot.addWidget(window.unlock_window)
    window.show()
    assert [p.key for p in window.pages] == ["today", "contacts", "triage", "advice", "approval", "outbox",
                                             "directory", "modules", "users", "audit"]
    assert [key for key, (enabled, _why) in nav_state(window).items() if enabled] == REACHABLE[username]
    for key in REACHABLE[username]:
        assert window.go_to(key)
        window.session.wait()
        qtbot.wait(20)
    window.lock_action.trigger()
    assert window.unlock_window.isVisible()
    assert shown == []  # no page met a problem opening or clearing
