"""The store is bound only to a keyring that keeps secrets across a restart.

The defect these tests guard against: a test-only in-memory keyring, registered by importing
the core, was picked by keyring as the default on Linux computers without a Secret Service.
The store was bound to a secret that lived only in that process, and after the first restart
every password failed. So the decisive tests run the desk's own paths in fresh processes on
a computer with no Secret Service (no D-Bus session, an empty home, no test fixtures), then
open the store again from a *second* process, as a person would after a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import pytest

from spoa.store.device import KeyringUnavailable, check_backend
from spoa.store.keys import MINIMUM_KDF
from spoa.store.keyslots import SlotFile
from spoa.store.store import DeviceSecretMissing, NoKeyringToBind, Store, UnlockFailed
from tests.conftest import ADMIN_PASSWORD, REPO
from tests.memory_keyring import ForgetfulKeyring, MemoryKeyring


@pytest.fixture
def no_secret_service(tmp_path) -> dict[str, str]:
    """The environment of a Linux computer with no Secret Service: no D-Bus session bus, an
    empty home (so no keyring configuration or keyring files), nothing the tests set up."""
    home = tmp_path / "home"
    home.mkdir()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PYTHON_KEYRING", "SPOA_", "DBUS_", "KEYRING_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local"),
               XDG_RUNTIME_DIR=str(home / "run"), DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/bus",
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO), SPOA_NO_PLUGINS="1")
    return env


def run_python(code: str, env: dict[str, str], *, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], input=stdin, capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120, check=False)


def run_spoa(args: list[str], env: dict[str, str], *, stdin: str = "") -> subprocess.CompletedProcess:
    """The command line in a process of its own."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from spoa.cli import main; sys.exit(main(sys.argv[1:]))", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False)


# -- nothing of the tests reaches the desk -----------------------------------------------------

def test_no_module_of_the_desk_registers_a_keyring_backend(no_secret_service):
    """Import every module of spoa/ and ui/ in a fresh process: keyring's choice is then the
    computer's own, and no backend defined by the desk is even a candidate."""
    done = run_python("""
        import importlib, json, pkgutil
        import keyring, keyring.backend
        import spoa, ui
        for package in (spoa, ui):
            for found in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                if found.name.startswith(("ui.screenshots", "ui.dev")):
                    continue
                importlib.import_module(found.name)
        chosen = keyring.get_keyring()
        ours = sorted(f"{c.__module__}.{c.__name__}" for c in keyring.backend.KeyringBackend._classes
                      if c.__module__.split(".")[0] in ("spoa", "ui", "tests"))
        print(json.dumps({"chosen": type(chosen).__module__, "ours": ours}))
    """, no_secret_service)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["ours"] == []
    assert not result["chosen"].startswith(("spoa", "ui", "tests"))


def test_the_tests_keyring_is_never_chosen_by_keyring_itself():
    """Even inside the tests, where it is defined, only an explicit set_keyring uses it."""
    assert MemoryKeyring not in set(keyring.backend.get_all_keyring())
    assert not MemoryKeyring.viable


# -- keyrings that would forget are refused ----------------------------------------------------

class _Chain(keyring.backends.chainer.ChainerBackend):
    """A chainer over the given backends (keyring's own picks from what is installed)."""

    viable = False  # never chosen by keyring itself (the chainer says it always is)

    def __init__(self, *inner):
        super().__init__()
        self._inner = list(inner)

    @property
    def backends(self):
        return self._inner


class _PlainFileKeyring(MemoryKeyring):
    """Stands for keyrings.alt, which keeps secrets in a plain file beside the records."""


_PlainFileKeyring.__module__ = "keyrings.alt.file"


@pytest.mark.parametrize(("backend", "why"), [
    (ForgetfulKeyring(), "forgets everything when the program ends"),
    (keyring.backends.fail.Keyring(), "keeps nothing"),
    (keyring.backends.null.Keyring(), "keeps nothing"),
    (_PlainFileKeyring(), "keeps secrets in a plain file"),
    (_Chain(ForgetfulKeyring(), keyring.backends.fail.Keyring()), "forgets everything"),
], ids=["in-memory", "fail", "null", "keyrings.alt", "chainer of those"])
def test_a_store_is_never_bound_to_a_keyring_that_forgets(backend, why, store_folder):
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        with pytest.raises(KeyringUnavailable, match=why) as refused:
            Store.init(store_folder, admin_username="admin", admin_display_name="Admin",
                       admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
        assert "GNOME Keyring or KWallet" in str(refused.value)  # the remedy, not only the refusal
        assert not Store.exists(store_folder)  # nothing half-made
    finally:
        keyring.set_keyring(previous)


def test_a_chain_with_one_keyring_that_keeps_secrets_is_used(store_folder):
    keeper = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(_Chain(keyring.backends.fail.Keyring(), keeper))
    try:
        assert check_backend() == "tests.memory_keyring.MemoryKeyring"
    finally:
        keyring.set_keyring(previous)


# -- a computer with no Secret Service: set up, restart, unlock ---------------------------------

def test_cli_init_on_a_computer_with_no_keyring_then_a_second_process_unlocks(tmp_path, no_secret_service):
    folder = tmp_path / "records"
    env = {**no_secret_service, "SPOA_USER": "ada"}
    refused = run_spoa(["init", "--data-dir", str(folder), "--password-stdin"], env,
                       stdin=ADMIN_PASSWORD + "\n")
    assert refused.returncode == 2, refused.stderr
    assert "No usable keyring was found" in refused.stderr
    assert "spoa init --no-keyring" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not Store.exists(folder)

    made = run_spoa(["init", "--data-dir", str(folder), "--no-keyring", "--password-stdin"], env,
                    stdin=ADMIN_PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "RECOVERY CODE" in made.stdout
    assert not SlotFile.load(folder).uses_keyring

    again = run_spoa(["user", "list", "--data-dir", str(folder), "--password-stdin"], env,
                     stdin=ADMIN_PASSWORD + "\n")  # a second process: the restart
    assert again.returncode == 0, again.stderr
    assert "ada" in again.stdout
    assert "not bound to this computer" in again.stdout + again.stderr


WIZARD_ON_A_COMPUTER_WITHOUT_A_KEYRING = """
    import json, sys, time
    from pathlib import Path
    from PySide6.QtWidgets import QApplication, QWizard
    from spoa.store.keys import MINIMUM_KDF
    from ui.session import DeskSession
    from ui.setup_wizard import SetupWizard

    app = QApplication([])
    folder = Path(sys.argv[1])
    session = DeskSession(folder)
    wizard = SetupWizard(session, default_folder=folder, kdf=MINIMUM_KDF)
    wizard.show()

    def next_page():
        which = (QWizard.WizardButton.CommitButton if wizard.currentPage().isCommitPage()
                 else QWizard.WizardButton.NextButton)
        wizard.button(which).click()
        app.processEvents()

    wizard.hub_page.name.setText("Testshire SPA")
    wizard.hub_page.address.setPlainText("1 Test Road\\nTesttown\\nZZ9 9ZZ")
    next_page()
    next_page()
    admin = wizard.admin_page
    admin.username.setText("ada")
    admin.display_name.setText("Ada Admin")
    admin.password.setText(sys.argv[2])
    admin.repeat.setText(sys.argv[2])
    next_page()
    wizard.letters_page.later.click()
    next_page()
    page = wizard.keyring_page
    seen = {"status": page.status.text(), "offered": page.without.isVisibleTo(page),
            "could_go_on": wizard.button(QWizard.WizardButton.CommitButton).isEnabled()}
    page.without.click()
    next_page()
    deadline = time.monotonic() + 60
    while wizard.store is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    seen["created"] = wizard.create_page.status.text()
    next_page()
    wizard.recovery_page.written.click()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    seen["signed_in"] = session.is_unlocked
    session.lock()
    session.wait()
    print(json.dumps(seen))
"""


def test_the_wizard_on_a_computer_with_no_keyring_then_a_second_process_unlocks(tmp_path,
                                                                                  no_secret_service):
    folder = tmp_path / "records"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(WIZARD_ON_A_COMPUTER_WITHOUT_A_KEYRING),
                           str(folder), ADMIN_PASSWORD], capture_output=True, text=True,
                          env=no_secret_service, cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert "No usable keyring was found" in seen["status"]
    assert "MemoryKeyring" not in seen["status"]
    assert seen["offered"]  # the documented choice is there
    assert not seen["could_go_on"]  # but only once the risk is accepted
    assert "was created in" in seen["created"]
    assert seen["signed_in"]

    restarted = run_python(f"""
        from spoa.store.store import Store
        store = Store.unlock({str(folder)!r}, "ada", {ADMIN_PASSWORD!r})
        print(store.user.display_name, store.slots.uses_keyring)
        store.lock()
    """, no_secret_service)
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.split() == ["Ada", "Admin", "False"]


# -- a store already bound to a secret that was lost ---------------------------------------------

@pytest.fixture
def store_bound_to_a_lost_secret(store_folder):
    """A store bound, by an earlier version of the desk, to a keyring that kept its secret only
    in memory: the secret went with that process."""
    bound_to = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(bound_to)
    try:
        store, code = Store.init(store_folder, admin_username="ada", admin_display_name="Ada Admin",
                                 admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
        store.lock()
    finally:
        keyring.set_keyring(previous)
    assert SlotFile.load(store_folder).uses_keyring
    return code


def test_recovery_code_unbinds_a_store_whose_keyring_forgot_and_that_survives_a_restart(
        store_folder, store_bound_to_a_lost_secret, no_secret_service):
    code = store_bound_to_a_lost_secret
    env = {**no_secret_service, "SPOA_USER": "ada"}
    locked = run_spoa(["user", "list", "--data-dir", str(store_folder), "--password-stdin"], env,
                      stdin=ADMIN_PASSWORD + "\n")
    assert locked.returncode == 2
    assert "recovery code" in locked.stderr
    assert "Traceback" not in locked.stderr

    asked = run_spoa(["recover", "--data-dir", str(store_folder), "--admin", "ada"],
                     {**env, "SPOA_RECOVERY_CODE": code})
    assert asked.returncode == 2
    assert "The recovery code is right" in asked.stderr
    assert "spoa recover --no-keyring" in asked.stderr
    assert SlotFile.load(store_folder).uses_keyring  # nothing changed without the choice

    recovered = run_spoa(["recover", "--data-dir", str(store_folder), "--admin", "ada", "--no-keyring"],
                         {**env, "SPOA_RECOVERY_CODE": code})
    assert recovered.returncode == 0, recovered.stderr
    temporary = recovered.stdout.rsplit(": ", 1)[1].strip()

    restarted = run_python(f"""
        from spoa.store.store import Store
        store = Store.unlock({str(store_folder)!r}, "ada", {temporary!r})
        actions = [row[0] for row in store.db.execute("SELECT action FROM audit ORDER BY seq")]
        print(store.slots.uses_keyring, "keyring_dropped" in actions, store.user.must_change_password)
        store.lock()
    """, no_secret_service)
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.split() == ["False", "True", "True"]


def test_recovery_code_binds_the_store_to_a_working_keyring_again(store_folder, store_bound_to_a_lost_secret):
    """The computer has a real keyring now (here: the tests' stand-in for one, which keeps its
    secrets for the test's restarts): the recovery code binds the store to it."""
    with pytest.raises(DeviceSecretMissing, match="recovery code"):
        Store.unlock(store_folder, "ada", ADMIN_PASSWORD)
    recovered = Store.recover(store_folder, store_bound_to_a_lost_secret)
    recovered.lock()
    assert SlotFile.load(store_folder).uses_keyring
    with Store.unlock(store_folder, "ada", ADMIN_PASSWORD) as store:  # the next start
        actions = [row[0] for row in store.db.execute("SELECT action FROM audit ORDER BY seq")]
    assert "device_rebound" in actions


def test_without_a_keyring_the_recovery_code_asks_before_unbinding(store_folder,
                                                                   store_bound_to_a_lost_secret):
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(DeviceSecretMissing, match="none that can be used now"):
            Store.unlock(store_folder, "ada", ADMIN_PASSWORD)
        with pytest.raises(NoKeyringToBind, match="GNOME Keyring or KWallet"):
            Store.recover(store_folder, store_bound_to_a_lost_secret)
        assert SlotFile.load(store_folder).uses_keyring
        with pytest.raises(UnlockFailed):
            Store.recover(store_folder, "AAAA-BBBB-CCCC-DDDD", without_keyring=True)
        assert SlotFile.load(store_folder).uses_keyring  # a wrong code changes nothing
        Store.recover(store_folder, store_bound_to_a_lost_secret, without_keyring=True).lock()
        Store.unlock(store_folder, "ada", ADMIN_PASSWORD).lock()
    finally:
        keyring.set_keyring(previous)
