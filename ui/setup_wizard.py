"""First run: the hub's details, where the records live, the first administrator, where
letters go, the keyring, creating the encrypted store, and the recovery code shown once.

Where letters go (an outbox folder or secure email) is a supervisor's decision once the
desk runs; while it is set up there is no supervisor yet, so the first administrator
chooses it here and the core allows exactly that, once, right after the store is made
(spoa.letters.outbox.configure_at_setup). "Set it later" is allowed: Today then tells
everyone that letters cannot be sent yet.

Where the records live: the default data folder (``spoa.paths.home_data_dir()``), or another
folder chosen here. A chosen folder is remembered in a one-line pointer file,
``data-folder.txt``, in the default data folder (spoa.paths): the desk and the command line
both follow it. At start the desk also sets ``SPOA_DATA_DIR`` for its own process.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from spoa.letters import outbox
from spoa.letters.content import HubDetails
from spoa.letters.outbox import SmtpSettings
from spoa.letters.wording import LetterResourceError, check_logo, save_letterhead
from spoa.paths import DATA_DIR_VARIABLE, POINTER_FILE, home_data_dir, remembered_data_dir
from spoa.settings import SettingsProblem
from spoa.store.database import StoreError
from spoa.store.device import NO_KEYRING_HELP, KeyringUnavailable, check_backend
from spoa.store.keys import KdfParams, calibrate
from spoa.store.keyslots import write_atomically
from spoa.store.records import RecordError
from spoa.store.store import Store, check_password, normalise_username
from ui.errors import report_unexpected
from ui.outbox_settings import SmtpFields
from ui.problems import user_message
from ui.session import DeskSession
from ui.unlock import describe

# -- where the records live --------------------------------------------------------------------

def data_folder(default: Path | None = None) -> Path:
    """The folder remembered at setup, else the default data folder."""
    default = Path(default) if default is not None else home_data_dir()
    return remembered_data_dir(default) or default


def remember_data_folder(folder: Path, default: Path | None = None) -> None:
    default = Path(default) if default is not None else home_data_dir()
    pointer = default / POINTER_FILE
    if Path(folder).resolve() == default.resolve():
        pointer.unlink(missing_ok=True)
        return
    default.mkdir(parents=True, exist_ok=True)
    write_atomically(pointer, (str(Path(folder).resolve()) + "\n").encode("utf-8"))


def use_data_folder(folder: Path) -> None:
    """This process's core uses ``folder`` (letterhead, user rule modules, settings)."""
    os.environ[DATA_DIR_VARIABLE] = str(folder)


class FolderDialog:
    @classmethod
    def ask(cls, parent: QWidget | None, start: str) -> str | None:
        """Tests replace this classmethod."""
        title = "Choose the folder for the desk's records"
        return QFileDialog.getExistingDirectory(parent, title, start) or None


class OutboxFolderDialog:
    @classmethod
    def ask(cls, parent: QWidget | None, start: str) -> str | None:
        """Tests replace this classmethod."""
        title = "Choose the folder letters are saved to"
        return QFileDialog.getExistingDirectory(parent, title, start) or None


class LogoDialog:
    @classmethod
    def ask(cls, parent: QWidget | None) -> str | None:
        """Tests replace this classmethod."""
        path, _ = QFileDialog.getOpenFileName(parent, "Choose the hub's logo", "", "PNG images (*.png)")
        return path or None


def _label(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    return label


def _line(name: str, text: str = "", password: bool = False) -> QLineEdit:
    field = QLineEdit(text)
    field.setAccessibleName(name)
    if password:
        field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


# -- the pages ---------------------------------------------------------------------------------

class HubPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle("Your hub")
        self.setSubTitle("These details head every letter the desk writes. You can edit them later "
                         "in the letterhead file in the data folder.")
        self.name = _line("Hub name")
        self.address = QPlainTextEdit()
        self.address.setAccessibleName("Hub postal address")
        self.address.setTabChangesFocus(True)
        self.phone = _line("Hub telephone")
        self.email = _line("Hub email")
        self.website = _line("Hub website")
        self.logo = _line("Logo file (PNG, optional)")
        choose = QPushButton("Choose…")
        choose.setAccessibleName("Choose logo file")
        choose.clicked.connect(self._choose_logo)
        logo_row = QHBoxLayout()
        logo_row.addWidget(self.logo, 1)
        logo_row.addWidget(choose)
        self.problem = _label("", "Hub details problem")
        form = QFormLayout(self)
        form.addRow("Hub &name:", self.name)
        form.addRow("Postal &address:", self.address)
        form.addRow("&Telephone:", self.phone)
        form.addRow("&Email:", self.email)
        form.addRow("&Website:", self.website)
        logo_label = QLabel("&Logo (PNG):")
        logo_label.setBuddy(self.logo)  # a row holding a layout gets no buddy by itself
        form.addRow(logo_label, logo_row)
        form.addRow(self.problem)
        self.name.textChanged.connect(self.completeChanged)
        self.address.textChanged.connect(self.completeChanged)

    def _choose_logo(self) -> None:
        path = LogoDialog.ask(self)
        if path:
            self.logo.setText(path)

    def isComplete(self) -> bool:
        return bool(self.name.text().strip() and self.address.toPlainText().strip())

    def hub(self) -> HubDetails:
        return HubDetails(name=self.name.text().strip(), address=self.address.toPlainText().strip(),
                          phone=self.phone.text().strip(), email=self.email.text().strip(),
                          website=self.website.text().strip())

    def logo_path(self) -> Path | None:
        return Path(self.logo.text().strip()) if self.logo.text().strip() else None

    def validatePage(self) -> bool:
        logo = self.logo_path()
        if logo is not None:
            try:
                check_logo(logo)
            except LetterResourceError as exc:
                self.problem.setText(str(exc))
                return False
        self.problem.clear()
        return True


class FolderPage(QWizardPage):
    def __init__(self, default: Path):
        super().__init__()
        self.setTitle("Where the records are kept")
        self.setSubTitle("The encrypted records, the letterhead and the desk's settings live in this "
                         "folder. The suggested one suits most desks; choose another (for example an "
                         "encrypted drive) if your IT team asks you to.")
        self.folder = _line("Data folder", str(default))
        choose = QPushButton("Choose…")
        choose.setAccessibleName("Choose data folder")
        choose.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(choose)
        self.problem = _label("", "Data folder problem")
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self.folder.textChanged.connect(self.completeChanged)

    def _choose(self) -> None:
        chosen = FolderDialog.ask(self, self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def chosen(self) -> Path:
        return Path(self.folder.text().strip()).expanduser()

    def isComplete(self) -> bool:
        return bool(self.folder.text().strip())

    def validatePage(self) -> bool:
        folder = self.chosen()
        if not folder.is_absolute():
            self.problem.setText("Give the full path of the folder (for example one chosen with 'Choose…').")
            return False
        if Store.exists(folder):
            self.problem.setText(f"{folder} already holds a desk's records. Choose an empty or new folder "
                                 "for a new desk; to use those records, set that folder as the data folder "
                                 "and start the desk again.")
            return False
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.problem.setText(f"The folder {folder} cannot be made ({exc.strerror or 'not allowed'}). "
                                 "Choose a folder you may write to.")
            return False
        self.problem.clear()
        return True


class AdminPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle("The first administrator")
        self.setSubTitle("This account adds the other users. Administrators manage the desk; they do "
                         "not see patient records.")
        self.username = _line("Administrator username")
        self.display_name = _line("Administrator name as shown to others")
        self.password = _line("Administrator password", password=True)
        self.repeat = _line("Administrator password again", password=True)
        self.problem = _label("", "Administrator problem")
        form = QFormLayout(self)
        form.addRow("&Username:", self.username)
        form.addRow("&Name:", self.display_name)
        form.addRow("&Password:", self.password)
        form.addRow("Password &again:", self.repeat)
        form.addRow(self.problem)
        for field in (self.username, self.display_name, self.password, self.repeat):
            field.textChanged.connect(self._check)

    def current_problem(self) -> str:
        try:
            name = normalise_username(self.username.text())
        except StoreError as exc:
            return str(exc)
        if not self.password.text():
            return "Choose a password."
        try:
            check_password(self.password.text(), name)
        except StoreError as exc:
            return str(exc)
        if self.repeat.text() != self.password.text():
            return "Type the same password again in the second box."
        return ""

    def _check(self) -> None:
        self.problem.setText(self.current_problem() if self.username.text() or self.password.text() else "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.current_problem()


LATER_WORDS = ("Until it is set, letters cannot be sent from this desk, and Today says so to everyone. "
               "A supervisor sets it on the Outbox page, under Where letters go.")


class LettersPage(QWizardPage):
    """Where letters go: a folder (checked as the core checks it), secure email, or later."""

    FOLDER, EMAIL, LATER = "folder", "email", "later"

    def __init__(self):
        super().__init__()
        self.setTitle("Where letters go")
        self.setSubTitle("Letters to services and families leave the desk saved into a folder (for "
                         "example the secure shared drive your team sends them from) or by secure "
                         "email. A supervisor can change this later on the Outbox page, under Where "
                         "letters go.")
        self.to_folder = QRadioButton("Save letters to a &folder")
        self.to_email = QRadioButton("Send letters by secure &email")
        self.later = QRadioButton("Set it &later")
        self.choices = QButtonGroup(self)
        for button, value in ((self.to_folder, self.FOLDER), (self.to_email, self.EMAIL),
                              (self.later, self.LATER)):
            button.setAccessibleName(button.text().replace("&", ""))
            button.setProperty("choice", value)
            self.choices.addButton(button)
        self.to_folder.setChecked(True)

        self.folder = _line("Outbox folder")
        self.choose = QPushButton("Choose…")
        self.choose.setAccessibleName("Choose outbox folder")
        self.choose.clicked.connect(self._choose)
        self.folder_row = QWidget()
        row = QHBoxLayout(self.folder_row)
        row.setContentsMargins(24, 0, 0, 0)
        row.addWidget(self.folder, 1)
        row.addWidget(self.choose)
        self.smtp = SmtpFields()
        self.smtp.password.setPlaceholderText("kept in the system keyring; empty if the server needs none")
        self.smtp.setContentsMargins(24, 0, 0, 0)
        self.later_note = _label(LATER_WORDS, "Setting it later")
        self.problem = _label("", "Where letters go problem")
        layout = QVBoxLayout(self)
        layout.addWidget(self.to_folder)
        layout.addWidget(self.folder_row)
        layout.addWidget(self.to_email)
        layout.addWidget(self.smtp)
        layout.addWidget(self.later)
        layout.addWidget(self.later_note)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self.choices.buttonToggled.connect(self._chosen)
        for field in (self.folder, self.smtp.host, self.smtp.from_address):
            field.textChanged.connect(self.completeChanged)
        self._chosen()

    def choice(self) -> str:
        return self.choices.checkedButton().property("choice")

    def _chosen(self, *_args) -> None:
        choice = self.choice()
        self.folder_row.setEnabled(choice == self.FOLDER)
        self.smtp.setEnabled(choice == self.EMAIL)
        self.later_note.setVisible(choice == self.LATER)
        self.problem.clear()
        self.completeChanged.emit()

    def _choose(self) -> None:
        chosen = OutboxFolderDialog.ask(self, self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def isComplete(self) -> bool:
        choice = self.choice()
        if choice == self.FOLDER:
            return bool(self.folder.text().strip())
        if choice == self.EMAIL:
            return bool(self.smtp.host.text().strip() and self.smtp.from_address.text().strip())
        return True

    def validatePage(self) -> bool:
        try:
            if self.choice() == self.FOLDER:
                outbox.check_outbox_folder(self.folder.text())  # the core's own check
            elif self.choice() == self.EMAIL:
                self.smtp.settings()
        except (SettingsProblem, RecordError) as exc:
            self.problem.setText(str(exc))
            return False
        self.problem.clear()
        return True

    def outbox_folder(self) -> str | None:
        return self.folder.text().strip() if self.choice() == self.FOLDER else None

    def smtp_settings(self) -> tuple[SmtpSettings | None, str | None]:
        if self.choice() != self.EMAIL:
            return None, None
        return self.smtp.settings(), self.smtp.password.text() or None


class KeyringPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle("This computer's keyring")
        self.setSubTitle("The desk keeps a secret in the operating system's keyring so that the records "
                         "open only on this computer, even if someone copies the files and learns a "
                         "password.")
        self.status = _label("", "Keyring status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_again = QPushButton("Check &again")
        self.check_again.setAccessibleName("Check the keyring again")
        self.check_again.clicked.connect(self.check)
        self.without = QCheckBox("Continue &without a keyring. I understand that anyone with a copy of the "
                                 "files and a password could then open the records on any computer, and "
                                 "that every user will be told.")
        self.without.setAccessibleName("Continue without a keyring")
        self.without.toggled.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.check_again, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.without)
        layout.addStretch(1)
        self.keyring_ok = False
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Create the desk")

    def initializePage(self) -> None:
        self.check()

    def check(self) -> None:
        try:
            backend = check_backend()
        except KeyringUnavailable as exc:
            self.keyring_ok = False
            self.status.setText(NO_KEYRING_HELP + " To do that, tick the box below."
                                + (f"\n\nWhat was found: {exc.detail}." if exc.detail else ""))
        else:
            self.keyring_ok = True
            self.without.setChecked(False)
            self.status.setText(f"A keyring was found ({backend}). The records will open only on this "
                                "computer and user account; the recovery code opens them anywhere.")
        self.without.setVisible(not self.keyring_ok)
        self.check_again.setVisible(not self.keyring_ok)
        self.completeChanged.emit()

    @property
    def use_keyring(self) -> bool:
        return self.keyring_ok

    def isComplete(self) -> bool:
        return self.keyring_ok or self.without.isChecked()


class CreatePage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle("Creating the desk")
        self.status = _label("", "Creation progress")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Creating the encrypted store")
        self.retry = QPushButton("&Try again")
        self.retry.setAccessibleName("Try creating the desk again")
        self.retry.clicked.connect(self.start)
        self.retry.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.retry, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.working = False

    def initializePage(self) -> None:
        if self.wizard().store is None:
            self.start()

    def start(self) -> None:
        self.working = True
        self.retry.hide()
        self.progress.show()
        self.status.setText("Tuning the password protection to this computer and creating the encrypted "
                            "store. This takes a few seconds…")
        self.wizard().create_store(self._done)
        self.completeChanged.emit()

    def _done(self, problem: str | None) -> None:
        self.working = False
        self.progress.hide()
        if problem:
            self.status.setText(f"The desk could not be created: {problem}")
            self.retry.show()
        else:
            said = f"The encrypted store was created in {self.wizard().folder}."
            if self.wizard().letters_problem:
                said += (f"\n\nWhere letters go was not saved: {self.wizard().letters_problem} "
                         + LATER_WORDS)
            self.status.setText(said)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.wizard().store is not None


class RecoveryPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle("Your recovery code")
        self.setSubTitle("This code opens the records if every password is forgotten or this computer's "
                         "keyring is lost. It is shown only now and is not kept anywhere by the desk.")
        self.code = QLabel()
        self.code.setAccessibleName("Recovery code")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(22)
        font.setBold(True)
        self.code.setFont(font)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setWordWrap(True)
        advice = _label("Write it on paper and keep it somewhere safe, locked and apart from this "
                        "computer (for example with your information governance lead). Do not keep "
                        "it in a file on this computer or in an email.", "Where to keep the code")
        self.written = QCheckBox("I have &written it down and stored it safely")
        self.written.setAccessibleName("I have written it down and stored it safely")
        self.written.toggled.connect(self.completeChanged)
        self.reminder = _label("", "Recovery code reminder")
        layout = QVBoxLayout(self)
        layout.addWidget(self.code)
        layout.addWidget(advice)
        layout.addWidget(self.written)
        layout.addWidget(self.reminder)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.code.setText(self.wizard().recovery_code or "")

    def isComplete(self) -> bool:
        return self.written.isChecked()


# -- the wizard --------------------------------------------------------------------------------

class SetupWizard(QWizard):
    """Creates the store; on Finish the session adopts it, signed in as the new admin."""

    def __init__(self, session: DeskSession, *, default_folder: Path | None = None,
                 kdf: KdfParams | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.kdf = kdf  # None: tuned to this computer (tests pass the minimum to run fast)
        # The default data folder: where the pointer to a chosen folder is written.
        self.default_folder = Path(default_folder) if default_folder is not None else home_data_dir()
        self.store: Store | None = None
        self.recovery_code: str | None = None
        self.folder: Path | None = None
        self.letters_problem: str | None = None  # where letters go could not be saved: why
        self.setWindowTitle("Set up the SPOA triage desk")
        self.setAccessibleName("Set up the SPOA triage desk")
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.hub_page = HubPage()
        self.folder_page = FolderPage(session.folder)
        self.admin_page = AdminPage()
        self.letters_page = LettersPage()
        self.keyring_page = KeyringPage()
        self.create_page = CreatePage()
        self.recovery_page = RecoveryPage()
        for page in (self.hub_page, self.folder_page, self.admin_page, self.letters_page,
                     self.keyring_page, self.create_page, self.recovery_page):
            self.addPage(page)
        button = QWizard.WizardButton
        for which, name in ((button.NextButton, "Next"), (button.BackButton, "Back"),
                            (button.FinishButton, "Finish"), (button.CancelButton, "Cancel"),
                            (button.CommitButton, "Create the desk")):
            self.button(which).setAccessibleName(name)
        self.resize(720, 520)

    def create_store(self, done) -> None:
        """Save the letterhead and create the store on the session's thread; ``done(problem)``."""
        folder = self.folder_page.chosen()
        hub, logo = self.hub_page.hub(), self.hub_page.logo_path()
        admin = self.admin_page
        username, display, password = (admin.username.text(), admin.display_name.text(),
                                       admin.password.text())
        use_keyring, kdf = self.keyring_page.use_keyring, self.kdf
        outbox_folder = self.letters_page.outbox_folder()
        smtp, smtp_password = self.letters_page.smtp_settings()

        def create():
            try:
                save_letterhead(folder, hub, logo)
                store, code = Store.init(folder, admin_username=username, admin_display_name=display,
                                         admin_password=password, use_keyring=use_keyring,
                                         kdf=kdf or calibrate())
            except (StoreError, KeyringUnavailable, LetterResourceError, OSError) as exc:
                return exc
            return store, code, save_where_letters_go(store)

        def save_where_letters_go(store: Store) -> str | None:
            if outbox_folder is None and smtp is None:
                return None
            try:
                outbox.configure_at_setup(store, folder=outbox_folder, smtp=smtp, password=smtp_password)
            except Exception as exc:  # the store exists: its recovery code must still be shown
                message = user_message(exc)
                if message is None:
                    reference = report_unexpected(type(exc), exc, exc.__traceback__)
                    message = f"the desk met an unexpected problem (reference {reference})."
                return message
            return None

        def finished(result) -> None:
            if isinstance(result, tuple):
                self.store, self.recovery_code, self.letters_problem = result
                self.folder = folder
                self.session.folder = folder
                remember_data_folder(folder, self.default_folder)
                use_data_folder(folder)
                done(None)
            else:
                done(describe(result))

        self.session.run(create, finished, lambda exc: done(describe(exc)))

    def accept(self) -> None:
        if self.store is None or not self.recovery_page.written.isChecked():
            return
        super().accept()
        store, self.store = self.store, None
        self.recovery_code = None
        self.session.adopt(store)

    def reject(self) -> None:
        if self.store is not None:
            # The store exists: its recovery code must not be lost by closing the window.
            self.recovery_page.reminder.setText("Write the recovery code down and tick the box, then "
                                                "press Finish. It cannot be shown again.")
            return
        if self.create_page.working:
            return
        super().reject()
