"""The unlock window: who you are and your password; nothing else of the desk is visible.

Key derivation is slow by design, so the attempt runs on the session's store thread with
a busy indicator. A wrong password, a lockout (with a countdown until the next attempt is
allowed), a missing keyring secret: each is said plainly, never as a traceback. After an
administrator's reset the user chooses a new password before the desk opens. The recovery
code opens the store when passwords or this computer's keyring are lost.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa.store.attempts import LockedOut, UnlockAttempts
from spoa.store.database import StoreError
from spoa.store.device import NOT_BOUND_NOTE, KeyringUnavailable
from spoa.store.keyslots import SlotFileProblem, uses_no_keyring
from spoa.store.store import (
    NoKeyringToBind,
    PasswordRejected,
    Store,
    UnlockFailed,
    check_password,
    normalise_username,
)
from ui.errors import report_unexpected
from ui.problems import user_message
from ui.session import DeskSession

# Problems unlocking that are the person's to fix (or an administrator's): their message is shown.
EXPECTED = (StoreError, KeyringUnavailable, SlotFileProblem)


def _expected_or_raise(fn):
    """Run ``fn``; return an expected problem as a value (so it is shown, not logged as a fault)."""
    try:
        return fn()
    except EXPECTED as exc:
        return exc


def describe(exc: BaseException) -> str:
    if isinstance(exc, EXPECTED):
        return str(exc)
    message = user_message(exc)
    if message is not None:
        return message
    reference = report_unexpected(type(exc), exc, exc.__traceback__)
    return ("The desk met an unexpected problem and could not unlock. Try again; if it happens "
            f"again, tell your system administrator the reference {reference}.")


class ChangePasswordDialog(QDialog):
    """Choose a new password (twice), checked as you type against the desk's rules."""

    def __init__(self, username: str, reason: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.username = username
        self.setWindowTitle("Choose a new password")
        self.setAccessibleName("Choose a new password")
        intro = QLabel(reason or "Choose a new password for your account.")
        intro.setWordWrap(True)
        intro.setAccessibleName("Why a new password is needed")
        self.new_password = QLineEdit()
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_password.setAccessibleName("New password")
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName("New password again")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Password problem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Change password")
        self.ok_button.setAccessibleName("Change password")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&New password:", self.new_password)
        form.addRow("&Type it again:", self.repeat)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.new_password.textChanged.connect(self._check)
        self.repeat.textChanged.connect(self._check)
        self._check()

    def current_problem(self) -> str:
        new = self.new_password.text()
        if not new:
            return "Type a new password."
        try:
            check_password(new, self.username)
        except PasswordRejected as exc:
            return str(exc)
        if self.repeat.text() != new:
            return "Type the same password again in the second box."
        return ""

    def _check(self) -> None:
        problem = self.current_problem()
        self.problem.setText(problem)
        self.ok_button.setEnabled(not problem)

    @classmethod
    def ask(cls, parent: QWidget | None, username: str, reason: str = "") -> str | None:
        """The new password, or None if the person cancelled. Tests replace this."""
        dialog = cls(username, reason, parent)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.new_password.text()
        return None


class RecoveryCodeDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open with the recovery code")
        self.setAccessibleName("Open with the recovery code")
        intro = QLabel(
            "Use this if you have lost your password and no administrator can reset it, or if this "
            "computer's keyring was reset. Type the recovery code that was written down when the "
            "desk was set up (capitals, spaces and dashes do not matter). You will then act as an "
            "administrator: give people new temporary passwords on the Users page.")
        intro.setWordWrap(True)
        intro.setAccessibleName("About the recovery code")
        self.code = QLineEdit()
        self.code.setAccessibleName("Recovery code")
        self.code.setFont(QFont("monospace"))
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel)
        buttons.button(ok).setText("Open the desk")
        buttons.button(ok).setAccessibleName("Open the desk")
        buttons.button(cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.code)
        layout.addWidget(buttons)

    @classmethod
    def ask(cls, parent: QWidget | None) -> str | None:
        """The code as typed, or None. Tests replace this."""
        dialog = cls(parent)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.code.text().strip():
            return dialog.code.text()
        return None


class ContinueWithoutKeyring:
    """Asks whether the store, bound to a keyring this computer no longer has, should be
    opened without one from now on (the recovery code's choice)."""

    @classmethod
    def ask(cls, parent: QWidget | None, problem: str) -> bool:
        """True if the person chose to continue without a keyring. Tests replace this."""
        box = QMessageBox(QMessageBox.Icon.Warning, "No keyring on this computer", problem,
                          QMessageBox.StandardButton.Cancel, parent)
        box.setInformativeText("Without a keyring, anyone with a copy of the files and a password can "
                               "open the records on any computer, and every user is told so.")
        go = box.addButton("Continue &without a keyring", QMessageBox.ButtonRole.AcceptRole)
        go.setAccessibleName("Continue without a keyring")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is go


class UnlockWindow(QWidget):
    """Unlocks ``session`` (``session.adopt`` emits ``unlocked``; the shell takes over)."""

    # Someone pressed Unlock: the key is being derived off the UI thread, which leaves
    # the UI thread free to build the main window meanwhile (ui.app.Desk).
    unlocking = Signal()

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("SPOA triage desk — unlock")
        self.setAccessibleName("Unlock the desk")
        # "Locked" only once someone has worked here (reset() after a lock); at a start, sign in.
        self.heading = heading = QLabel("Sign in to open the desk.")
        heading.setAccessibleName("Sign in")
        heading.setWordWrap(True)
        self.username = QLineEdit()
        self.username.setAccessibleName("Username")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.recovery_button = QPushButton("Use &recovery code…")
        self.recovery_button.setAccessibleName("Use recovery code")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy, no percentage: key derivation takes a second or two
        self.busy.setAccessibleName("Unlocking, please wait")
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.not_bound = QLabel(NOT_BOUND_NOTE)
        self.not_bound.setWordWrap(True)
        self.not_bound.setAccessibleName("Not bound to this computer's keyring")
        self.not_bound.hide()  # shown by showEvent when the store has no keyring
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Unlock message")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("&Username:", self.username)
        form.addRow("&Password:", self.password)
        buttons = QHBoxLayout()
        buttons.addWidget(self.recovery_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.not_bound)
        layout.addLayout(form)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.resize(460, 280)

        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)
        self._wait_until = 0.0
        self._working = False

        self.unlock_button.clicked.connect(self.try_unlock)
        self.password.returnPressed.connect(self.try_unlock)
        self.username.returnPressed.connect(self.password.setFocus)
        self.recovery_button.clicked.connect(self.use_recovery_code)

    # -- showing -------------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        # The store may have been set up (or recovered without a keyring) since this was made.
        self.not_bound.setVisible(uses_no_keyring(self.session.folder))
        super().showEvent(event)

    def reset(self, username: str = "") -> None:
        """Ready for the next person (after a lock): the password is never kept."""
        self.heading.setText("The desk is locked. Sign in to carry on.")
        self.heading.setAccessibleName("The desk is locked")
        self.password.clear()
        if username:
            self.username.setText(username)
        if not self._countdown.isActive():
            self.message.clear()
        (self.password if self.username.text() else self.username).setFocus()

    @property
    def waiting(self) -> bool:
        return self._countdown.isActive()

    def _set_working(self, working: bool) -> None:
        self._working = working
        self.busy.setVisible(working)
        for widget in (self.username, self.password, self.recovery_button):
            widget.setEnabled(not working)
        self.unlock_button.setEnabled(not working and not self.waiting)
        self.unlock_button.setText("Unlocking…" if working else "&Unlock")

    # -- unlocking -----------------------------------------------------------------------------

    def try_unlock(self) -> None:
        if self._working or self.waiting:
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.message.setText("Type your username and your password, then press Unlock.")
            (self.username if not username else self.password).setFocus()
            return
        folder = self.session.folder
        self.message.setText("Checking your password…")
        self._set_working(True)
        self.unlocking.emit()

        def attempt():
            try:
                return Store.unlock(folder, username, password)
            except UnlockFailed as exc:
                return exc, _wait_after(folder, username)
            except EXPECTED as exc:
                return exc, getattr(exc, "wait_seconds", 0)

        self.session.run(attempt, lambda result: self._attempted(result, password), self._failed)

    def _attempted(self, result, password: str) -> None:
        if isinstance(result, Store):
            if result.user.must_change_password:
                self._choose_password(result, password, "An administrator set a temporary password "
                                      "for you. Choose your own password now; the desk opens after that.")
            else:
                self._open(result)
            return
        exc, wait = result
        self._set_working(False)
        self.password.clear()
        self.password.setFocus()
        if wait or isinstance(exc, LockedOut):
            self._start_countdown(wait or exc.wait_seconds)
        else:
            self.message.setText(str(exc))

    def _failed(self, exc: Exception) -> None:
        self._set_working(False)
        self.message.setText(describe(exc))

    def _open(self, store: Store) -> None:
        self._set_working(False)
        self.password.clear()
        self.message.clear()
        self.session.adopt(store)
        self.hide()

    # -- a lockout ------------------------------------------------------------------------------

    def _start_countdown(self, seconds: int) -> None:
        self._wait_until = time.monotonic() + seconds
        self._countdown.start()
        self._tick()

    def seconds_left(self) -> int:
        return max(0, int(self._wait_until - time.monotonic() + 0.999))

    def _tick(self) -> None:
        left = self.seconds_left()
        if left <= 0:
            self._countdown.stop()
            self.message.setText("You can try again now.")
            self._set_working(False)
            return
        self.unlock_button.setEnabled(False)
        self.message.setText(
            f"Too many failed attempts. You can try again in {left} second{'s' if left != 1 else ''}. "
            "If you have forgotten your password, ask an administrator to reset it.")

    # -- first login after a reset ------------------------------------------------------------

    def _choose_password(self, store: Store, current: str, reason: str) -> None:
        new = ChangePasswordDialog.ask(self, store.user.username, reason)
        if new is None:
            self.session.run(store.lock, lambda _: None, lambda _exc: None)
            self._set_working(False)
            self.password.clear()
            self.message.setText("Your password was not changed, so the desk stays locked. Unlock "
                                 "again when you are ready to choose a new one.")
            return

        def change():
            store.change_password(current, new)

        self.session.run(lambda: _expected_or_raise(change),
                         lambda problem: self._password_chosen(store, current, problem), self._failed)

    def _password_chosen(self, store: Store, current: str, problem) -> None:
        if problem is not None:
            self._choose_password(store, current, f"That password cannot be used: {problem}")
            return
        self._open(store)

    # -- the recovery code --------------------------------------------------------------------

    def use_recovery_code(self) -> None:
        if self._working:
            return
        code = RecoveryCodeDialog.ask(self)
        if code is None:
            return
        self.message.setText("Checking the recovery code…")
        self._set_working(True)

        self._recover(code, without_keyring=False)

    def _recover(self, code: str, *, without_keyring: bool) -> None:
        folder = self.session.folder

        def attempt():
            try:
                return Store.recover(folder, code, without_keyring=without_keyring)
            except EXPECTED as exc:
                return exc, getattr(exc, "wait_seconds", 0)

        self.session.run(attempt, lambda result: self._recovered(result, code), self._failed)

    def _recovered(self, result, code: str) -> None:
        if isinstance(result, tuple) and isinstance(result[0], NoKeyringToBind):
            self._set_working(False)
            if ContinueWithoutKeyring.ask(self, str(result[0])):
                self.message.setText("Opening the desk without a keyring…")
                self._set_working(True)
                self._recover(code, without_keyring=True)
            else:
                self.message.setText("The desk stays locked. Set up a keyring on this computer, then "
                                     "use the recovery code again.")
            return
        self._attempted(result, "")


def _wait_after(folder, username: str) -> int:
    """Seconds before the next attempt is allowed (the core counts failures per username)."""
    try:
        return UnlockAttempts(folder).wait_seconds(normalise_username(username))
    except StoreError:
        return 0
