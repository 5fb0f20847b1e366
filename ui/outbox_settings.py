"""Where letters go from this desk: the outbox folder (spoa.settings.DeskSettings) and the
secure mail service (spoa.letters.outbox.SmtpSettings, its password in the OS keyring).

Both are settings kept beside the store, with no patient data, as ``spoa outbox smtp``
keeps them. They decide where children's letters go, so only a supervisor changes them
(spoa.letters.outbox.configure_smtp / configure_outbox_folder check the role and audit);
others see them read-only. The password field is emptied once saved and never read back
from the keyring. The email fields (SmtpFields) are also the setup wizard's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from spoa.letters import outbox
from spoa.letters.outbox import DeliveryProblem, SmtpSettings
from spoa.roles import Permission
from spoa.settings import DeskSettings
from spoa.store.device import KeyringUnavailable
from ui.export_dialog import FolderField
from ui.problems import ProblemDialog, show_problem
from ui.session import DeskSession

SECURITY = (("starttls", "STARTTLS (usually port 587)"), ("tls", "Implicit TLS (usually port 465)"))


def say_problem(exc: Exception, title: str) -> None:
    # These carry a message written for people (what is wrong, what to do) and no patient data.
    if isinstance(exc, DeliveryProblem | KeyringUnavailable):
        ProblemDialog.show(title, str(exc))
    else:
        show_problem(exc, title)


def _named(widget, name: str):
    widget.setAccessibleName(name)
    return widget


class SmtpFields(QWidget):
    """The secure mail service's settings as typed: here and on the setup wizard's page."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.host = _named(QLineEdit(), "SMTP host")
        self.port = _named(QSpinBox(), "SMTP port")
        self.port.setRange(1, 65535)
        self.port.setValue(587)
        _named(self.port.findChild(QLineEdit), "SMTP port")  # the box's own editor, read aloud too
        self.from_address = _named(QLineEdit(), "Sending address")
        self.username = _named(QLineEdit(), "SMTP username")
        self.username.setPlaceholderText("none: the server needs no login")
        self.password = _named(QLineEdit(), "SMTP password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the system keyring; leave empty to keep it")
        self.security = _named(QComboBox(), "Connection security")
        for value, label in SECURITY:
            self.security.addItem(label, value)
        self.cafile = _named(QLineEdit(), "Extra certificate authority file")
        self.cafile.setPlaceholderText("only for a private mail service")
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        for label, field in (("Host:", self.host), ("Port:", self.port), ("From:", self.from_address),
                             ("Username:", self.username), ("Password:", self.password),
                             ("Security:", self.security), ("CA file:", self.cafile)):
            self.form.addRow(label, field)

    def values(self) -> dict:
        return {"host": self.host.text().strip(), "port": self.port.value(),
                "from_address": self.from_address.text().strip(), "username": self.username.text().strip(),
                "security": self.security.currentData(), "cafile": self.cafile.text().strip()}

    def settings(self) -> SmtpSettings:
        """As typed; InvalidField names the field that cannot work."""
        return SmtpSettings(**self.values())

    def show_settings(self, settings: SmtpSettings) -> None:
        self.host.setText(settings.host)
        self.port.setValue(int(settings.port))
        self.from_address.setText(settings.from_address)
        self.username.setText(settings.username)
        self.security.setCurrentIndex(max(self.security.findData(settings.security), 0))
        self.cafile.setText(settings.cafile)


class OutboxSettings(QWidget):
    """The two forms; ``load()`` fills them from the store folder, each Save writes one."""

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session

        self.folder = FolderField("Outbox folder")
        self.save_folder_button = _named(QPushButton("Save the outbox &folder"), "Save the outbox folder")
        self.save_folder_button.clicked.connect(self.save_folder)
        folder_box = QGroupBox("Save letters to a folder")
        folder_form = QFormLayout(folder_box)
        folder_form.addRow("Outbox folder:", self.folder)
        folder_form.addRow(self.save_folder_button)

        self.smtp = SmtpFields()
        fields = self.smtp
        self.host, self.port, self.from_address = fields.host, fields.port, fields.from_address
        self.username, self.password, self.security = fields.username, fields.password, fields.security
        self.cafile = fields.cafile
        self.save_smtp_button = _named(QPushButton("Save the &email settings"), "Save the email settings")
        self.save_smtp_button.clicked.connect(self.save_smtp)
        smtp_box = QGroupBox("Send letters by secure email")
        smtp_layout = QVBoxLayout(smtp_box)
        smtp_layout.addWidget(fields)
        smtp_layout.addWidget(self.save_smtp_button)

        self.status = _named(QLabel(""), "Outbox settings status")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(folder_box)
        layout.addWidget(smtp_box)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.apply_role()

    def apply_role(self) -> None:
        """Only a supervisor may change where letters go: the others see the settings only."""
        may = self.session.can(Permission.APPROVE_REFERRALS)
        why = "" if may else "Only a supervisor changes where letters go."
        for button in (self.save_folder_button, self.save_smtp_button):
            button.setEnabled(may)
            button.setToolTip(why)
            button.setAccessibleDescription(why)

    @property
    def store_folder(self) -> Path:
        return self.session.folder

    # -- loading -------------------------------------------------------------------------------------

    def load(self) -> None:
        folder = self.store_folder
        self.session.run(lambda: DeskSettings.load(folder),
                         lambda settings: self.folder.path.setText(settings.outbox_folder),
                         lambda exc: say_problem(exc, "The desk settings could not be read"))
        self.session.run(lambda: SmtpSettings.load(folder), self._show_smtp,
                         lambda exc: say_problem(exc, "The email settings could not be read"))

    def _show_smtp(self, settings: SmtpSettings | None) -> None:
        if settings is not None:
            self.smtp.show_settings(settings)

    # -- saving --------------------------------------------------------------------------------------

    def save_folder(self) -> None:
        chosen = self.folder.path.text().strip()
        said = f"Letters sent to a folder go to {chosen}." if chosen else "No outbox folder is set."
        self.session.call(lambda store: outbox.configure_outbox_folder(store, chosen),
                          lambda _path: self.status.setText(said),
                          lambda exc: say_problem(exc, "The outbox folder could not be saved"))

    def save_smtp(self) -> None:
        fields = self.smtp.values()
        password = self.password.text()

        def save(store) -> bool:
            settings = SmtpSettings(**fields)  # says which field is wrong
            outbox.configure_smtp(store, settings, password or None)
            return bool(settings.username and password)

        def saved(with_password: bool) -> None:
            self.password.clear()
            self.status.setText("The email settings are saved" + (
                "; the password is in the system keyring." if with_password else "."))

        self.session.call(save, saved, lambda exc: say_problem(exc, "The email settings could not be saved"))

    def clear(self) -> None:
        self.password.clear()
        self.status.clear()
