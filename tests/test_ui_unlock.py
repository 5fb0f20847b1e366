"""The unlock window on a real store: success, a wrong password, the lockout countdown, the
new password after an administrator's reset, the recovery code, a lost keyring secret."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from spoa.roles import Role
from spoa.store.store import Store, UnlockFailed
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD
from ui import unlock as unlock_module
from ui.session import DeskSession
from ui.unlock import ChangePasswordDialog, UnlockWindow


@pytest.fixture
def window(qtbot, staffed_store, store_folder):
    session = DeskSession(store_folder)
    unlock = UnlockWindow(session)
    qtbot.addWidget(unlock)
    unlock.show()
    yield unlock
    session.lock()
    session.wait()


def attempt(qtbot, unlock: UnlockWindow, username: str, password: str) -> None:
    unlock.username.setText(username)
    unlock.password.setText(password)
    qtbot.mouseClick(unlock.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not unlock._working, timeout=20000)


def test_right_password_unlocks_off_the_ui_thread_with_a_busy_indicator(qtbot, window):
    window.username.setText("pat")
    window.password.setText(PRACTITIONER_PASSWORD)
    with qtbot.waitSignal(window.session.unlocked, timeout=20000) as signal:
        qtbot.keyClick(window.password, Qt.Key.Key_Return)
        assert window.busy.isVisible()  # the click returned at once; the key is derived elsewhere
        assert not window.unlock_button.isEnabled()
        assert window.unlock_button.text() == "Unlocking…"
    assert signal.args[0].username == "pat"
    assert window.session.is_unlocked
    assert not window.isVisible()
    assert window.password.text() == ""


def test_wrong_password_is_said_plainly_and_nothing_else_changes(qtbot, window):
    attempt(qtbot, window, "pat", "not the password")
    assert window.message.text() == "Unlock failed: the username or password is not right."
    assert not window.session.is_unlocked
    assert window.password.text() == ""
    assert window.username.text() == "pat"
    assert window.unlock_button.isEnabled()
    assert not window.busy.isVisible()
    attempt(qtbot, window, "pat", "")
    assert window.message.text() == "Type your username and your password, then press Unlock."


def test_repeated_failures_show_a_countdown_and_block_the_button(qtbot, window):
    for number in range(1, 5):
        attempt(qtbot, window, "ghost", f"guess {number}")
    assert "1 attempt left before a delay" in window.message.text()
    attempt(qtbot, window, "ghost", "guess 5")
    assert window.waiting
    assert not window.unlock_button.isEnabled()
    first = window.message.text()
    assert re.search(r"try again in (29|30) seconds", first), first
    assert "ask an administrator to reset it" in first
    qtbot.waitUntil(lambda: window.message.text() != first, timeout=3000)
    assert re.search(r"try again in 2\d seconds", window.message.text())
    window.try_unlock()  # Enter while waiting does nothing
    assert not window.busy.isVisible()
    assert not window.unlock_button.isEnabled()


def test_a_locked_out_user_sees_the_wait_left_when_the_window_reopens(qtbot, window, store_folder):
    for number in range(5):
        with pytest.raises(UnlockFailed):
            Store.unlock(store_folder, "sam", f"wrong {number}")
    attempt(qtbot, window, "sam", "anything at all")
    assert window.waiting
    assert "Too many failed attempts" in window.message.text()
    assert not window.unlock_button.isEnabled()


def test_after_a_reset_the_user_chooses_a_new_password_before_the_desk_opens(
        qtbot, window, staffed_store, store_folder, monkeypatch):
    admin = staffed_store("admin")
    admin.add_user("robin", "Robin Newstarter", Role.PRACTITIONER, "temporary pass 7")
    admin.lock()
    reasons = []
    answers = iter(["temporary pass 7", "a passphrase of my own"])

    def ask(cls, parent, username, reason=""):
        reasons.append((username, reason))
        return next(answers)

    monkeypatch.setattr(ChangePasswordDialog, "ask", classmethod(ask))
    opened = []
    window.session.unlocked.connect(opened.append)
    attempt(qtbot, window, "robin", "temporary pass 7")
    qtbot.waitUntil(lambda: window.session.is_unlocked, timeout=20000)
    assert reasons[0][0] == "robin"
    assert "temporary password" in reasons[0][1]
    assert "different from the current one" in reasons[1][1]  # the first choice was refused
    assert len(opened) == 1
    assert opened[0].must_change_password is False
    window.session.lock()
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "robin", "temporary pass 7").lock()
    Store.unlock(store_folder, "robin", "a passphrase of my own").lock()


def test_declining_to_choose_a_password_keeps_the_desk_locked(qtbot, window, staffed_store, monkeypatch):
    admin = staffed_store("admin")
    admin.add_user("kit", "Kit Newstarter", Role.SUPERVISOR, "temporary pass 8")
    admin.lock()
    monkeypatch.setattr(ChangePasswordDialog, "ask",
                        classmethod(lambda cls, parent, username, reason="": None))
    attempt(qtbot, window, "kit", "temporary pass 8")
    assert not window.session.is_unlocked
    assert "stays locked" in window.message.text()
    assert window.unlock_button.isEnabled()


def test_change_password_dialog_checks_as_you_type(qtbot):
    dialog = ChangePasswordDialog("robin", "Choose your own password.")
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.new_password, "short")
    assert "at least 10 characters" in dialog.problem.text()
    assert not dialog.ok_button.isEnabled()
    dialog.new_password.setText("robinrobin12")
    assert dialog.problem.text() == "A password must not contain the username."
    dialog.new_password.setText("a long enough passphrase")
    qtbot.keyClicks(dialog.repeat, "a long enough")
    assert "same password again" in dialog.problem.text()
    qtbot.keyClicks(dialog.repeat, " passphrase")
    assert dialog.problem.text() == ""
    assert dialog.ok_button.isEnabled()
    for widget in (dialog, dialog.new_password, dialog.repeat, dialog.ok_button):
        assert widget.accessibleName()


def test_recovery_code_opens_the_desk_and_a_wrong_one_is_refused(qtbot, tmp_path, monkeypatch):
    from spoa.store.keys import MINIMUM_KDF

    folder = tmp_path / "recoverable"
    store, code = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                             admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
    store.lock()
    session = DeskSession(folder)
    window = UnlockWindow(session)
    qtbot.addWidget(window)
    codes = iter(["AAAA-BBBB-CCCC", code.lower().replace("-", " ")])
    monkeypatch.setattr(unlock_module.RecoveryCodeDialog, "ask", classmethod(lambda cls, parent: next(codes)))

    window.recovery_button.click()
    qtbot.waitUntil(lambda: not window._working, timeout=20000)
    assert window.message.text() == "The recovery code does not open this store. Check it and try again."
    assert not session.is_unlocked

    window.recovery_button.click()
    qtbot.waitUntil(lambda: session.is_unlocked, timeout=20000)
    assert session.user.role is Role.ADMIN
    session.lock()
    session.wait()


def test_a_lost_keyring_secret_points_to_the_recovery_code(qtbot, tmp_path, memory_keyring):
    from spoa.store.keys import MINIMUM_KDF

    folder = tmp_path / "moved"
    store, _code = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                              admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
    store.lock()
    memory_keyring.secrets.clear()  # a reset keyring, or another computer
    session = DeskSession(folder)
    window = UnlockWindow(session)
    qtbot.addWidget(window)
    attempt(qtbot, window, "admin", ADMIN_PASSWORD)
    assert "keyring no longer holds" in window.message.text()
    assert "recovery code" in window.message.text()
    assert "Traceback" not in window.message.text()
    assert not session.is_unlocked


def test_every_control_has_an_accessible_name(qtbot, window):
    for widget in (window, window.username, window.password, window.unlock_button,
                   window.recovery_button, window.busy, window.message):
        assert widget.accessibleName()


def test_with_no_keyring_left_the_recovery_code_asks_then_opens_without_one(qtbot, tmp_path, monkeypatch):
    """A store bound to a keyring on a computer that has none now: a password cannot open it,
    the recovery code can, after the person chooses to go on without a keyring; and from then
    on a password opens it (the next start)."""
    import keyring
    from keyring.backends import fail

    from spoa.store.keys import MINIMUM_KDF
    from spoa.store.keyslots import SlotFile

    folder = tmp_path / "bound"
    store, code = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                             admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
    store.lock()
    keyring.set_keyring(fail.Keyring())  # the keyring is gone (the fixture puts its own back)
    session = DeskSession(folder)
    window = UnlockWindow(session)
    qtbot.addWidget(window)
    attempt(qtbot, window, "admin", ADMIN_PASSWORD)
    assert "none that can be used now" in window.message.text()
    assert "recovery code" in window.message.text()

    monkeypatch.setattr(unlock_module.RecoveryCodeDialog, "ask", classmethod(lambda cls, parent: code))
    questions: list[str] = []
    answers = iter([False, True])
    monkeypatch.setattr(unlock_module.ContinueWithoutKeyring, "ask",
                        classmethod(lambda cls, parent, problem: questions.append(problem) or next(answers)))
    window.recovery_button.click()
    qtbot.waitUntil(lambda: not window._working, timeout=20000)
    assert "The recovery code is right" in questions[0]
    assert "stays locked" in window.message.text()
    assert not session.is_unlocked
    assert SlotFile.load(folder).uses_keyring  # declining changed nothing

    window.recovery_button.click()
    qtbot.waitUntil(lambda: session.is_unlocked, timeout=20000)
    assert len(questions) == 2
    session.lock()
    session.wait()
    assert not SlotFile.load(folder).uses_keyring
    Store.unlock(folder, "admin", ADMIN_PASSWORD).lock()


def test_at_a_start_it_asks_to_sign_in_and_says_locked_only_after_a_lock(qtbot, window):
    assert window.heading.text() == "Sign in to open the desk."
    window.reset("pat")
    assert window.heading.text() == "The desk is locked. Sign in to carry on."


def test_the_recovery_code_is_not_named_as_a_person_in_the_status_bar():
    from spoa.store.store import RECOVERY_USER, User
    from ui.shell import signed_in_text

    assert signed_in_text(User(RECOVERY_USER, "Recovery", Role.ADMIN)) == (
        "Opened with the recovery code, as an administrator")
    assert signed_in_text(User("sam", "Sam Supervisor", Role.SUPERVISOR)) == (
        "Signed in as Sam Supervisor (sam), supervisor")


def test_a_store_without_a_keyring_is_said_at_sign_in_and_while_working(qtbot, tmp_path):
    from spoa.store.keys import MINIMUM_KDF
    from ui.shell import MainWindow

    folder = tmp_path / "unbound"
    store, _code = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                              admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    store.lock()
    session = DeskSession(folder)
    window = MainWindow(session)
    qtbot.addWidget(window)
    qtbot.addWidget(window.unlock_window)
    window.unlock_window.show()
    unlock = window.unlock_window
    assert unlock.not_bound.isVisible()
    assert unlock.not_bound.text() == ("This store is not bound to this computer's keyring, so its files "
                                       "and a password open it anywhere.")
    unlock.username.setText("admin")
    unlock.password.setText(ADMIN_PASSWORD)
    qtbot.mouseClick(unlock.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.isVisible() and session.is_unlocked, timeout=20000)
    assert window.not_bound.isVisible()
    session.lock()
    session.wait()


def test_a_store_bound_to_the_keyring_says_nothing_of_it(window):
    assert not window.not_bound.isVisible()
