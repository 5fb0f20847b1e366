"""Users (administrators): who can open the desk, adding someone with a temporary password,
resetting a password, deactivating an account, and how soon an idle desk locks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa.roles import Permission, Role
from spoa.settings import MAX_IDLE_LOCK_MINUTES, DeskSettings
from spoa.store.database import StoreError
from spoa.store.store import Store, User, check_password, normalise_username
from ui.pages.base import Page
from ui.problems import show_problem, user_message
from ui.session import DeskSession
from ui.table_model import RowsModel

COLUMNS = ("Username", "Name", "Role", "Status")
ROLE_LABELS = {Role.PRACTITIONER: "Practitioner", Role.SUPERVISOR: "Supervisor", Role.ADMIN: "Administrator"}


def list_users(store: Store) -> list[User]:
    store.require(Permission.MANAGE_USERS)
    return store.users()


def suggest_temporary_password() -> str:
    """Three random groups, as 'spoa user add' gives (the person replaces it at first login)."""
    return "-".join(secrets.token_hex(3) for _ in range(3))


def status_of(user: User) -> str:
    if not user.active:
        return "deactivated"
    return "active, temporary password" if user.must_change_password else "active"


class UserTableModel(RowsModel):
    columns = COLUMNS

    def set_rows(self, rows: list[User]) -> None:
        self.replace_rows(rows)

    def user_at(self, row: int) -> User:
        return self._rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return None
        user = self._rows[index.row()]
        return (user.username, user.display_name, ROLE_LABELS[user.role], status_of(user))[index.column()]


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    role: Role
    temporary_password: str


class AddUserDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add a user")
        self.setAccessibleName("Add a user")
        self.username = QLineEdit()
        self.username.setAccessibleName("Username")
        self.display_name = QLineEdit()
        self.display_name.setAccessibleName("Name as shown to others")
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        for role in Role:
            self.role.addItem(ROLE_LABELS[role], role)
        self.temporary = QLineEdit(suggest_temporary_password())
        self.temporary.setAccessibleName("Temporary password")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("What needs fixing")
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel)
        self.ok_button = buttons.button(ok)
        self.ok_button.setText("Add user")
        self.ok_button.setAccessibleName("Add user")
        buttons.button(cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Username:", self.username)
        form.addRow("&Name:", self.display_name)
        form.addRow("&Role:", self.role)
        form.addRow("&Temporary password:", self.temporary)
        note = QLabel("Give the temporary password to the person yourself; they choose their own "
                      "the first time they sign in.")
        note.setWordWrap(True)
        note.setAccessibleName("About the temporary password")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        for field in (self.username, self.display_name, self.temporary):
            field.textChanged.connect(self._check)
        self._check()

    def current_problem(self) -> str:
        try:
            name = normalise_username(self.username.text())
        except StoreError as exc:
            return str(exc)
        if not self.display_name.text().strip():
            return "Type the person's name as colleagues should see it."
        try:
            check_password(self.temporary.text(), name)
        except StoreError as exc:
            return f"Temporary password: {exc}"
        return ""

    def _check(self) -> None:
        problem = self.current_problem()
        self.problem.setText(problem)
        self.ok_button.setEnabled(not problem)

    def new_user(self) -> NewUser:
        return NewUser(self.username.text().strip(), self.display_name.text().strip(),
                       self.role.currentData(), self.temporary.text())

    @classmethod
    def ask(cls, parent: QWidget | None) -> NewUser | None:
        """Tests replace this classmethod."""
        dialog = cls(parent)
        return dialog.new_user() if dialog.exec() == QDialog.DialogCode.Accepted else None


class Confirm:
    @classmethod
    def ask(cls, parent: QWidget | None, title: str, question: str) -> bool:
        """Tests replace this classmethod."""
        answer = QMessageBox.question(parent, title, question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes


class Notice:
    @classmethod
    def show(cls, parent: QWidget | None, title: str, message: str) -> None:
        """Tests replace this classmethod."""
        box = QMessageBox(QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok, parent)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()


class UsersPage(Page):
    key = "users"
    title = "Users"
    permission = Permission.MANAGE_USERS

    settings_changed = Signal(object)  # DeskSettings: the shell applies the idle lock at once

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self.model = UserTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Users")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.add_button = QPushButton("&Add user…")
        self.add_button.setAccessibleName("Add user")
        self.add_button.clicked.connect(self.add_user)
        self.reset_button = QPushButton("&Reset password…")
        self.reset_button.setAccessibleName("Reset password")
        self.reset_button.clicked.connect(self.reset_password)
        self.deactivate_button = QPushButton("&Deactivate…")
        self.deactivate_button.setAccessibleName("Deactivate user")
        self.deactivate_button.clicked.connect(self.deactivate)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Users message")

        self.idle_minutes = QSpinBox()
        self.idle_minutes.setRange(1, MAX_IDLE_LOCK_MINUTES)
        self.idle_minutes.setSuffix(" minutes")
        self.idle_minutes.setAccessibleName("Lock the desk after this many idle minutes")
        self.save_settings_button = QPushButton("&Save")
        self.save_settings_button.setAccessibleName("Save idle lock minutes")
        self.save_settings_button.clicked.connect(self.save_idle_minutes)
        self.settings_message = QLabel()
        self.settings_message.setWordWrap(True)
        self.settings_message.setAccessibleName("Idle lock message")
        settings_box = QGroupBox("Idle lock on this desk")
        settings_layout = QHBoxLayout(settings_box)
        settings_layout.addWidget(QLabel(f"Lock after (1 to {MAX_IDLE_LOCK_MINUTES}):"))
        settings_layout.addWidget(self.idle_minutes)
        settings_layout.addWidget(self.save_settings_button)
        settings_layout.addWidget(self.settings_message, 1)

        buttons = QHBoxLayout()
        for button in (self.add_button, self.reset_button, self.deactivate_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(settings_box)
        self._update_buttons()

    # -- the list -------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.session.call(list_users, self._listed)
        folder = self.session.folder
        self.session.run(lambda: DeskSettings.load(folder), self._settings_loaded)

    def _listed(self, users: list[User]) -> None:
        selected = self.selected_user()
        self.model.set_rows(users)
        if selected is not None:
            for row, user in enumerate(users):
                if user.username == selected.username:
                    self.table.selectRow(row)
        self._update_buttons()

    def selected_user(self) -> User | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid() or index.row() >= self.model.rowCount():
            return None
        return self.model.user_at(index.row())

    def select(self, username: str) -> None:
        for row in range(self.model.rowCount()):
            if self.model.user_at(row).username == username:
                self.table.selectRow(row)
        self._update_buttons()

    def _update_buttons(self) -> None:
        user = self.selected_user()
        usable = user is not None and user.active
        self.reset_button.setEnabled(usable)
        self.deactivate_button.setEnabled(usable)
        hint = "" if usable else "Select an active user first."
        self.reset_button.setToolTip(hint)
        self.deactivate_button.setToolTip(hint)

    # -- actions --------------------------------------------------------------------------------

    def add_user(self) -> None:
        new = AddUserDialog.ask(self)
        if new is None:
            return
        self.message.setText(f"Adding {new.username}…")

        def added(user: User) -> None:
            self.message.setText(f"Added {user.username} ({ROLE_LABELS[user.role].lower()}).")
            Notice.show(self, "User added",
                        f"{user.username} can now sign in with the temporary password\n\n"
                        f"{new.temporary_password}\n\nGive it to them yourself. They choose their "
                        "own password the first time they sign in.")
            self.refresh()

        self.session.call(lambda store: store.add_user(new.username, new.display_name, new.role,
                                                       new.temporary_password), added, self._failed)

    def reset_password(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        if not Confirm.ask(self, "Reset password",
                           f"Give {user.display_name} ({user.username}) a new temporary password? "
                           "Their current password stops working at once."):
            return
        temporary = suggest_temporary_password()

        def done(_result) -> None:
            self.message.setText(f"{user.username} has a new temporary password.")
            Notice.show(self, "Password reset",
                        f"{user.username}'s new temporary password is\n\n{temporary}\n\nGive it to them "
                        "yourself. They choose their own password when they next sign in.")
            self.refresh()

        self.session.call(lambda store: store.reset_password(user.username, temporary), done, self._failed)

    def deactivate(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        if not Confirm.ask(self, "Deactivate user",
                           f"Deactivate {user.display_name} ({user.username})? They will no longer be "
                           "able to open the desk. Their past work and audit entries are kept."):
            return

        def done(_result) -> None:
            self.message.setText(f"Deactivated {user.username}; their password no longer opens the desk.")
            self.refresh()

        self.session.call(lambda store: store.deactivate_user(user.username), done, self._failed)

    def _failed(self, exc: Exception) -> None:
        self.message.setText(user_message(exc) or "That could not be done.")
        show_problem(exc)

    # -- the idle lock --------------------------------------------------------------------------

    def _settings_loaded(self, settings: DeskSettings) -> None:
        self.idle_minutes.setValue(settings.idle_lock_minutes)

    def save_idle_minutes(self) -> None:
        folder, minutes = self.session.folder, self.idle_minutes.value()

        def save() -> DeskSettings:
            settings = DeskSettings.load(folder).changed(idle_lock_minutes=minutes)
            settings.save(folder)
            return settings

        def saved(settings: DeskSettings) -> None:
            self.settings_message.setText(
                f"Saved: this desk locks after {settings.idle_lock_minutes} minutes without input.")
            self.settings_changed.emit(settings)

        self.session.run(save, saved)

    def clear(self) -> None:
        self.model.set_rows([])
        self.message.clear()
        self.settings_message.clear()
        self._update_buttons()
