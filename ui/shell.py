"""The main window: navigation on the left, the chosen page on the right, who is signed in
below; locking (Ctrl+L or idle) and unlocking back to where the user was.

Every page is listed for every role. A page the signed-in role may not use is listed
disabled, with the reason as its tooltip and accessible description (the core refuses
anyway), so people can see what exists and who to ask.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from PySide6.QtCore import QSettings, QSignalBlocker, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QWidget,
)

from spoa.paths import data_dir
from spoa.settings import DeskSettings, SettingsProblem
from spoa.store.device import NOT_BOUND_NOTE
from spoa.store.keyslots import uses_no_keyring
from spoa.store.store import RECOVERY_USER, User
from ui import theme
from ui.app import APP_TITLE
from ui.errors import report_unexpected
from ui.idle import IdleWatcher
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession
from ui.unlock import UnlockWindow

# The pages in navigation order, imported only when the window is built.
PAGE_CLASSES = (
    ("ui.pages.today", "TodayPage"),
    ("ui.pages.contacts", "ContactsPage"),
    ("ui.pages.triage", "TriageCallPage"),
    ("ui.pages.advice", "AdvicePage"),
    ("ui.pages.approval", "ApprovalPage"),
    ("ui.pages.outbox", "OutboxPage"),
    ("ui.pages.directory", "DirectoryPage"),
    ("ui.pages.modules", "ModulesPage"),
    ("ui.pages.users", "UsersPage"),
    ("ui.pages.audit", "AuditPage"),
)
ROLE_NAMES = {"practitioner": "practitioner", "supervisor": "supervisor", "admin": "administrator"}


def signed_in_text(user: User) -> str:
    """Who the status bar says is working: the recovery code is not a person with a name."""
    if user.username == RECOVERY_USER:
        return "Opened with the recovery code, as an administrator"
    role = ROLE_NAMES.get(user.role.value, user.role.value)
    return f"Signed in as {user.display_name} ({user.username}), {role}"


def default_pages() -> list[type[Page]]:
    return [getattr(importlib.import_module(module), name) for module, name in PAGE_CLASSES]


def app_version() -> str:
    try:
        return version("spoa-desk")
    except PackageNotFoundError:
        return "development"


def window_settings() -> QSettings:
    """Window geometry and state only, in an INI file in the data folder."""
    return QSettings(str(data_dir() / "window.ini"), QSettings.Format.IniFormat)


class AboutDialog:
    @classmethod
    def show(cls, parent: QWidget | None) -> None:
        """Tests replace this classmethod."""
        QMessageBox.about(parent, f"About {APP_TITLE}",
                          f"{APP_TITLE}, version {app_version()}.\n\nTriage calls, advice requests, "
                          "approval and referral letters for a children's mental health Single "
                          "Point of Access hub. Records are kept encrypted on this computer.")


class MainWindow(QMainWindow):
    def __init__(self, session: DeskSession, pages: Sequence[type[Page]] | None = None, *,
                 idle_ms: int | None = None, unlock_window: UnlockWindow | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(APP_TITLE)
        self.setAccessibleName("SPOA triage desk")
        self._idle_override = idle_ms
        self._user: User | None = None
        self._resume: tuple[str, str, dict] | None = None  # username, page key, page state
        self._closing = False

        self.nav = QListWidget()
        self.nav.setAccessibleName("Navigation")
        self.nav.setSizeAdjustPolicy(QListWidget.SizeAdjustPolicy.AdjustToContents)
        self.nav.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Expanding)
        self.nav.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.stack = QStackedWidget()
        self.stack.setAccessibleName("Page")
        self.pages: list[Page] = []
        for page_class in (default_pages() if pages is None else pages):
            page = page_class(session)
            self.pages.append(page)
            self.stack.addWidget(page)
            item = QListWidgetItem(page.title)
            item.setData(Qt.ItemDataRole.UserRole, page.key)
            self.nav.addItem(item)
            page.navigate.connect(self.go_to)
            changed = getattr(page, "settings_changed", None)
            if changed is not None:
                changed.connect(self.apply_settings)
        self.cover = QLabel("The desk is locked.")
        self.cover.setAccessibleName("The desk is locked")
        self.cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.cover)
        self.nav.currentRowChanged.connect(self._nav_changed)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.who = QLabel()
        self.who.setAccessibleName("Signed in as")
        self.not_bound = QLabel(NOT_BOUND_NOTE)
        self.not_bound.setAccessibleName("Not bound to this computer's keyring")
        self.not_bound.setStyleSheet("color: #b00020; font-weight: bold;")
        self.not_bound.hide()
        self.statusBar().addWidget(self.not_bound)
        self.statusBar().addPermanentWidget(self.who)

        self.idle = IdleWatcher(idle_ms or IdleWatcher.minutes_to_ms(10), self)
        # Only keyboard and mouse input count as someone being here: a page's own store calls
        # (a clock, an export running) never keep an unattended desk open.
        self.idle.idle.connect(self.lock_desk)
        self.unlock_window = unlock_window or UnlockWindow(session)
        session.unlocked.connect(self._unlocked)
        session.locked.connect(self._locked)
        self._build_menus()
        self.resize(1100, 720)
        self._restore_window_state()
        self._update_navigation()
        if session.is_unlocked:
            self._unlocked(session.user)
        else:
            self.stack.setCurrentWidget(self.cover)

    # -- menus -----------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        desk = self.menuBar().addMenu("&Desk")
        self.lock_action = QAction("&Lock the desk", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.triggered.connect(self.lock_desk)
        desk.addAction(self.lock_action)
        self.addAction(self.lock_action)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        desk.addAction(quit_action)

        view = self.menuBar().addMenu("&View")
        sizes = view.addMenu("&Text size")
        self.text_size_actions: dict[int, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for percent in theme.TEXT_SIZES:
            action = QAction(f"{percent} %", self, checkable=True)
            action.triggered.connect(lambda _checked=False, p=percent: self.set_text_size(p))
            group.addAction(action)
            sizes.addAction(action)
            self.text_size_actions[percent] = action
        app = QApplication.instance()
        current = theme.text_size(app)
        self.text_size_actions[current if current in self.text_size_actions else 100].setChecked(True)
        self.high_contrast_action = QAction("&High contrast", self, checkable=True)
        self.high_contrast_action.setChecked(theme.is_high_contrast(app))  # as the desk started
        self.high_contrast_action.toggled.connect(self.set_high_contrast)
        view.addAction(self.high_contrast_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About the desk", self)
        self.about_action.triggered.connect(lambda: AboutDialog.show(self))
        help_menu.addAction(self.about_action)

    def set_text_size(self, percent: int) -> None:
        theme.apply_text_size(QApplication.instance(), percent)
        self.text_size_actions[percent].setChecked(True)
        self.nav.updateGeometry()
        self._remember_view(text_size_percent=percent)

    def set_high_contrast(self, on: bool) -> None:
        theme.apply_high_contrast(QApplication.instance(), on)
        if self.high_contrast_action.isChecked() != on:
            self.high_contrast_action.setChecked(on)
        self._remember_view(high_contrast=bool(on))

    def _remember_view(self, **changes) -> None:
        """Kept beside the store, so the next start (its unlock window too) reads the same."""
        folder = self.session.folder
        if not folder.is_dir():
            return
        self.session.run(lambda: DeskSettings.load(folder).changed(**changes).save(folder),
                         lambda _path: None, show_problem)

    # -- navigation ------------------------------------------------------------------------------

    def page(self, key: str) -> Page | None:
        return next((p for p in self.pages if p.key == key), None)

    def current_page(self) -> Page | None:
        widget = self.stack.currentWidget()
        return widget if isinstance(widget, Page) else None

    def may_open(self, page: Page) -> bool:
        return self.session.is_unlocked and (page.permission is None or self.session.can(page.permission))

    def _update_navigation(self) -> None:
        for row, page in enumerate(self.pages):
            item = self.nav.item(row)
            allowed = self.may_open(page)
            flags = item.flags()
            if allowed:
                item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            else:
                item.setFlags(flags & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable)
            reason = "" if allowed or not self.session.is_unlocked else page.why_not()
            item.setToolTip(reason)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, reason)

    def go_to(self, key: str, state: dict | None = None) -> bool:
        """Show the page named ``key`` and restore ``state`` there (a page's navigate signal)."""
        page = self.page(key)
        if page is None or not self.may_open(page):
            why = page.why_not() if page is not None else f"There is no page called {key}."
            self.statusBar().showMessage(why, 8000)
            return False
        with QSignalBlocker(self.nav):
            self.nav.setCurrentRow(self.pages.index(page))
        self._show(page)
        if state:
            page.restore(state)
        return True

    def _nav_changed(self, row: int) -> None:
        if 0 <= row < len(self.pages) and self.may_open(self.pages[row]):
            self._show(self.pages[row])

    def _show(self, page: Page) -> None:
        self.stack.setCurrentWidget(page)
        page.refresh()

    # -- signing in and locking ------------------------------------------------------------------

    def _unlocked(self, user: User) -> None:
        resume, self._resume = self._resume, None
        self._user = user
        self._update_navigation()
        self.who.setText(signed_in_text(user))
        self.not_bound.setVisible(uses_no_keyring(self.session.folder))
        self.unlock_window.hide()
        self.show()
        self.raise_()
        same_user = resume is not None and resume[0] == user.username
        if not (same_user and self.go_to(resume[1], resume[2])):
            self._go_to_start()
        self._start_idle_watch()

    def _go_to_start(self) -> None:
        """Today, or the first page this role may open (an administrator's)."""
        first = self.page("today")
        if first is None or not self.may_open(first):
            first = next((p for p in self.pages if self.may_open(p)), None)
        if first is not None:
            self.go_to(first.key)
        else:
            self.stack.setCurrentWidget(self.cover)

    def _start_idle_watch(self) -> None:
        if self._idle_override is None:
            try:
                minutes = DeskSettings.load(self.session.folder).idle_lock_minutes
            except SettingsProblem as exc:
                minutes = DeskSettings().idle_lock_minutes
                show_problem(exc, "The desk settings could not be read")
            self.idle.set_timeout_ms(IdleWatcher.minutes_to_ms(minutes))
        self.idle.start()

    def apply_settings(self, settings: DeskSettings) -> None:
        """A page saved new desk settings (the idle lock minutes)."""
        if self._idle_override is None:
            self.idle.set_timeout_ms(IdleWatcher.minutes_to_ms(settings.idle_lock_minutes))

    def lock_desk(self) -> None:
        """Ctrl+L or idle: pages save what they must, the key is dropped, every page clears."""
        if not self.session.is_unlocked:
            return
        for page in self.pages:
            _safely(page.before_lock)
        self.session.lock()  # emits locked -> _locked

    def _locked(self) -> None:
        self.idle.stop()
        page = self.current_page()
        if self._user is not None and page is not None:
            self._resume = (self._user.username, page.key, _safely(page.state) or {})
        for each in self.pages:
            _safely(each.clear)
        _close_dialogs()
        self.stack.setCurrentWidget(self.cover)
        self._update_navigation()
        self.who.setText("Locked")
        self.hide()
        if self._closing:
            return
        self.unlock_window.reset(self._user.username if self._user else "")
        self.unlock_window.show()
        self.unlock_window.raise_()
        self.unlock_window.activateWindow()

    # -- window state ----------------------------------------------------------------------------

    def _restore_window_state(self) -> None:
        settings = window_settings()
        geometry = settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("state")
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = window_settings()
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        self._closing = True
        if self.session.is_unlocked:
            self.lock_desk()
        self.idle.stop()
        self.idle.remove()
        self.unlock_window.close()
        event.accept()


def _close_dialogs() -> None:
    """A dialog left open (a confirmation, a message) may show patient data: close it; the
    code waiting on it sees a cancel."""
    seen = set()
    while (dialog := QApplication.activeModalWidget()) is not None and id(dialog) not in seen:
        seen.add(id(dialog))
        if isinstance(dialog, QDialog):
            dialog.reject()
        else:
            dialog.close()


def _safely(fn):
    """A page's failure to save or clear must never stop the desk from locking."""
    try:
        return fn()
    except Exception as exc:
        report_unexpected(type(exc), exc, exc.__traceback__)
        return None
