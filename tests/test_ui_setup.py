"""First run, driven through the real wizard: a real encrypted store is created, its recovery
code is shown once and opens it; the app starts with the wizard or the unlock window."""

from __future__ import annotations

import re

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QPlainTextEdit, QProgressBar, QWizard

from spoa.letters import outbox
from spoa.letters.outbox import SmtpSettings
from spoa.letters.wording import default_letterhead_path, load_letterhead
from spoa.roles import Role
from spoa.settings import DeskSettings
from spoa.store.keys import MINIMUM_KDF
from spoa.store.keyslots import SlotFile
from spoa.store.store import Store
from ui import setup_wizard
from ui.app import Desk
from ui.session import DeskSession
from ui.setup_wizard import SetupWizard, data_folder, remember_data_folder

PASSWORD = "a setup pass phrase"  # synthetic


@pytest.fixture
def wizard(qtbot, private_data_dir):
    session = DeskSession(private_data_dir)
    wizard = SetupWizard(session, default_folder=private_data_dir, kdf=MINIMUM_KDF)
    qtbot.addWidget(wizard)
    wizard.show()
    yield wizard
    if wizard.store is not None:
        wizard.store.lock()
    session.lock()
    session.wait()


def next_button(wizard):
    which = (QWizard.WizardButton.CommitButton if wizard.currentPage().isCommitPage()
             else QWizard.WizardButton.NextButton)
    return wizard.button(which)


def fill_hub(wizard, logo=None):
    page = wizard.hub_page
    assert not next_button(wizard).isEnabled()  # name and address are required
    page.name.setText("Testshire SPA")
    page.address.setPlainText("1 Test Road\nTesttown\nZZ9 9ZZ")
    page.phone.setText("01632 960 999")
    if logo:
        page.logo.setText(str(logo))


def fill_admin(wizard, password=PASSWORD):
    page = wizard.admin_page
    page.username.setText("ada")
    page.display_name.setText("Ada Admin")
    page.password.setText(password)
    page.repeat.setText(password)


def test_setup_creates_a_real_store_and_its_recovery_code_opens_it(qtbot, wizard, tmp_path, monkeypatch,
                                                                   private_data_dir):
    chosen = tmp_path / "hub records"
    monkeypatch.setattr(setup_wizard.FolderDialog, "ask", classmethod(lambda cls, parent, start: str(chosen)))
    fill_hub(wizard)
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.folder_page
    assert wizard.folder_page.folder.text() == str(private_data_dir)  # the default is offered
    [choose] = [b for b in wizard.folder_page.findChildren(type(next_button(wizard)))
                if b.accessibleName() == "Choose data folder"]
    choose.click()
    assert wizard.folder_page.folder.text() == str(chosen)
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.admin_page
    fill_admin(wizard)
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.letters_page
    outbox_folder = tmp_path / "secure drive"
    outbox_folder.mkdir()
    monkeypatch.setattr(setup_wizard.OutboxFolderDialog, "ask",
                        classmethod(lambda cls, parent, start: str(outbox_folder)))
    choose_outbox = [b for b in wizard.letters_page.findChildren(QAbstractButton)
                     if b.accessibleName() == "Choose outbox folder"]
    assert wizard.letters_page.to_folder.isChecked()  # a folder is offered first
    assert not next_button(wizard).isEnabled()  # ...and must be chosen, or another way
    choose_outbox[0].click()
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.keyring_page
    assert "A keyring was found" in wizard.keyring_page.status.text()
    assert next_button(wizard).text().replace("&", "") == "Create the desk"
    next_button(wizard).click()

    assert wizard.currentPage() is wizard.create_page
    qtbot.waitUntil(lambda: wizard.create_page.isComplete(), timeout=30000)
    assert "was created in" in wizard.create_page.status.text()
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.recovery_page
    code = wizard.recovery_page.code.text()
    assert re.fullmatch(r"[A-Z0-9]{4,}(-[A-Z0-9]{4,})+", code), code
    assert wizard.recovery_page.code.font().pointSize() >= 20
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled()  # not before the code is written down
    wizard.reject()  # closing now would lose the code: refused
    assert wizard.isVisible()
    assert "cannot be shown again" in wizard.recovery_page.reminder.text()
    wizard.recovery_page.written.click()
    assert finish.isEnabled()
    finish.click()

    session = wizard.session
    assert not wizard.isVisible()
    assert session.is_unlocked
    assert session.user.username == "ada"
    assert session.user.role is Role.ADMIN
    assert session.folder == chosen
    # The chosen folder is remembered for the next start, and letters use the hub's details.
    assert data_folder(private_data_dir) == chosen
    assert default_letterhead_path() == chosen / "letterhead" / "hub.yaml"
    assert load_letterhead().hub.name == "Testshire SPA"
    assert SlotFile.load(chosen).uses_keyring
    # Where letters go was kept with the desk's settings, audited as the administrator's at setup.
    assert DeskSettings.load(chosen).outbox_folder == str(outbox_folder)
    assert outbox.letters_can_leave(chosen)
    session.lock()
    session.wait()
    recovered = Store.recover(chosen, code)
    assert recovered.user.role is Role.ADMIN
    trail = recovered.db.execute("SELECT username, role, action, record_type, record_id, outcome FROM audit "
                                 "ORDER BY seq LIMIT 3").fetchall()
    assert trail[2] == ("ada", "admin", "update", "settings", "outbox_folder", "ok")
    recovered.lock()
    Store.unlock(chosen, "ada", PASSWORD).lock()


def test_without_a_keyring_the_risk_is_explained_and_must_be_accepted(qtbot, wizard):
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        fill_hub(wizard)
        next_button(wizard).click()
        next_button(wizard).click()
        fill_admin(wizard)
        next_button(wizard).click()
        wizard.letters_page.later.click()
        next_button(wizard).click()
        page = wizard.keyring_page
        assert "No usable keyring was found" in page.status.text()
        assert "GNOME Keyring or KWallet" in page.status.text()
        assert "tick the box below" in page.status.text()
        assert not next_button(wizard).isEnabled()
        page.without.click()
        assert next_button(wizard).isEnabled()
        next_button(wizard).click()
        qtbot.waitUntil(lambda: wizard.create_page.isComplete(), timeout=30000)
        assert not SlotFile.load(wizard.folder).uses_keyring
    finally:
        keyring.set_keyring(previous)


def test_admin_details_are_checked_as_typed(qtbot, wizard):
    fill_hub(wizard)
    next_button(wizard).click()
    next_button(wizard).click()
    page = wizard.admin_page
    page.username.setText("ada admin")
    assert "letters, digits, dots, dashes or underscores" in page.problem.text()
    page.username.setText("ada")
    page.password.setText("short")
    assert "at least 10 characters" in page.problem.text()
    page.password.setText(PASSWORD)
    page.repeat.setText(PASSWORD + "x")
    assert "same password again" in page.problem.text()
    assert not next_button(wizard).isEnabled()
    page.repeat.setText(PASSWORD)
    assert page.problem.text() == ""
    assert next_button(wizard).isEnabled()


def test_a_logo_that_is_not_png_and_a_folder_with_a_store_are_refused(qtbot, wizard, tmp_path, new_store,
                                                                       store_folder):
    not_png = tmp_path / "logo.jpg"
    not_png.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    fill_hub(wizard, logo=not_png)
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.hub_page
    assert "is not a PNG image" in wizard.hub_page.problem.text()
    wizard.hub_page.logo.clear()
    next_button(wizard).click()
    wizard.folder_page.folder.setText(str(store_folder))
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.folder_page
    assert "already holds a desk's records" in wizard.folder_page.problem.text()


def test_the_remembered_folder_is_followed_and_forgotten(tmp_path):
    default, elsewhere = tmp_path / "default", tmp_path / "elsewhere"
    assert data_folder(default) == default
    remember_data_folder(elsewhere, default)
    assert data_folder(default) == elsewhere.resolve()
    remember_data_folder(default, default)
    assert data_folder(default) == default


def test_first_start_runs_the_wizard_into_the_main_window_and_later_starts_unlock(qtbot, private_data_dir):
    first = Desk(pages=[], kdf=MINIMUM_KDF)
    qtbot.addWidget(first.unlock_window)
    assert first.wizard is not None
    qtbot.addWidget(first.wizard)
    assert first.wizard.isVisible()
    assert first.window is None  # nothing slows the first window: the main one comes later
    wizard = first.wizard
    fill_hub(wizard)
    next_button(wizard).click()
    next_button(wizard).click()
    fill_admin(wizard)
    next_button(wizard).click()
    wizard.letters_page.later.click()
    next_button(wizard).click()
    next_button(wizard).click()
    qtbot.waitUntil(lambda: wizard.create_page.isComplete(), timeout=30000)
    next_button(wizard).click()
    assert first.window is None  # not until the recovery code is written down
    wizard.recovery_page.written.click()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.addWidget(first.window)
    assert first.window.isVisible()
    assert first.window.who.text() == "Signed in as Ada Admin (ada), administrator"
    first.window.close()  # locks the desk
    assert not first.session.is_unlocked
    first.session.wait()

    later = Desk(pages=[])
    qtbot.addWidget(later.unlock_window)
    assert later.wizard is None
    assert later.unlock_window.isVisible()
    assert later.window is None
    later.unlock_window.username.setText("ada")
    later.unlock_window.password.setText(PASSWORD)
    later.unlock_window.unlock_button.click()  # the window is built while the key is derived
    qtbot.waitUntil(lambda: later.window is not None and later.window.isVisible(), timeout=30000)
    qtbot.addWidget(later.window)
    assert later.window.unlock_window is later.unlock_window
    assert not later.unlock_window.isVisible()
    later.window.close()
    later.session.wait()


def test_every_control_in_the_wizard_has_an_accessible_name(qtbot, wizard):
    for page in (wizard.hub_page, wizard.folder_page, wizard.admin_page, wizard.letters_page,
                 wizard.keyring_page, wizard.create_page, wizard.recovery_page):
        for kind in (QAbstractButton, QLineEdit, QPlainTextEdit, QProgressBar):
            for widget in page.findChildren(kind):
                assert widget.accessibleName(), (page.title(), widget)
    for which in (QWizard.WizardButton.NextButton, QWizard.WizardButton.BackButton,
                  QWizard.WizardButton.CancelButton, QWizard.WizardButton.FinishButton):
        assert wizard.button(which).accessibleName()


def test_a_chosen_folder_that_has_gone_is_said_plainly_and_both_desk_and_cli_follow_the_pointer(
        tmp_path, private_data_dir, monkeypatch):
    from spoa.paths import data_dir
    from ui import app

    gone = tmp_path / "shared drive" / "spoa"
    remember_data_folder(gone, private_data_dir)
    message = app.missing_folder_message(private_data_dir)
    assert str(gone.resolve()) in message
    assert "cannot be found" in message
    assert "Nothing has been changed" in message
    shown = []
    monkeypatch.setattr(app.StartProblem, "show", classmethod(lambda cls, text: shown.append(text)))
    assert app.main(["spoa-desk"]) == 2  # no setup wizard offering a new, empty desk there
    assert shown == [message]
    assert not gone.exists()
    gone.mkdir(parents=True)
    assert app.missing_folder_message(private_data_dir) is None
    assert data_dir() == gone.resolve()  # the core (and so the command line) follows it too


def through_to_letters(wizard):
    fill_hub(wizard)
    next_button(wizard).click()
    next_button(wizard).click()
    fill_admin(wizard)
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.letters_page


def finish(qtbot, wizard):
    next_button(wizard).click()  # the keyring: found
    qtbot.waitUntil(lambda: wizard.create_page.isComplete(), timeout=30000)
    next_button(wizard).click()
    wizard.recovery_page.written.click()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    return wizard.session


def test_an_outbox_folder_the_desk_cannot_write_to_is_refused_and_later_is_allowed(qtbot, wizard, tmp_path):
    through_to_letters(wizard)
    page = wizard.letters_page
    page.folder.setText(str(tmp_path / "not mounted"))
    next_button(wizard).click()
    assert wizard.currentPage() is page
    assert "is not there" in page.problem.text()
    page.folder.setText("letters")
    next_button(wizard).click()
    assert "full path" in page.problem.text()
    page.later.click()
    assert page.problem.text() == ""
    assert "Today says so to everyone" in page.later_note.text()
    next_button(wizard).click()
    assert wizard.currentPage() is wizard.keyring_page
    session = finish(qtbot, wizard)
    assert session.is_unlocked
    assert not outbox.letters_can_leave(session.folder)


def test_secure_email_chosen_at_setup_is_saved_and_its_mistakes_named(qtbot, wizard):
    through_to_letters(wizard)
    page = wizard.letters_page
    page.to_email.click()
    assert not next_button(wizard).isEnabled()
    page.smtp.host.setText("relay.hub.example")
    page.smtp.from_address.setText("no address")
    next_button(wizard).click()
    assert wizard.currentPage() is page
    assert page.problem.text().startswith("from_address")
    page.smtp.from_address.setText("spa@hub.example")
    page.smtp.port.setValue(465)
    page.smtp.security.setCurrentIndex(page.smtp.security.findData("tls"))
    next_button(wizard).click()
    session = finish(qtbot, wizard)
    saved = SmtpSettings.load(session.folder)
    assert (saved.host, saved.port, saved.security, saved.from_address) == (
        "relay.hub.example", 465, "tls", "spa@hub.example")
    assert DeskSettings.load(session.folder).outbox_folder == ""
    assert outbox.letters_can_leave(session.folder)
