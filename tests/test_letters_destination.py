"""Where letters go: one check both faces use (an outbox folder or secure email set?), and
the first administrator's one chance to choose it while the desk is set up."""

from __future__ import annotations

import os

import pytest

from spoa.letters import outbox
from spoa.letters.outbox import SmtpSettings
from spoa.roles import NotAllowed
from spoa.settings import DeskSettings, SettingsProblem
from spoa.store.keys import MINIMUM_KDF
from spoa.store.store import Store

PASSWORD = "a setup pass phrase"  # synthetic


@pytest.fixture
def new_desk(tmp_path):
    store, _code = Store.init(tmp_path / "store", admin_username="ada", admin_display_name="Ada Admin",
                              admin_password=PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    yield store
    store.lock()


def last_audit(store) -> tuple:
    return store.db.execute("SELECT username, role, action, record_type, record_id, outcome FROM audit "
                            "ORDER BY seq DESC LIMIT 1").fetchone()


def test_letters_can_leave_once_a_folder_or_secure_email_is_set(tmp_path):
    folder = tmp_path / "desk"
    folder.mkdir()
    assert not outbox.letters_can_leave(folder)
    DeskSettings(outbox_folder=str(tmp_path)).save(folder)
    assert outbox.letters_can_leave(folder)
    DeskSettings(outbox_folder="").save(folder)
    assert not outbox.letters_can_leave(folder)
    SmtpSettings(host="relay.hub.example", port=465, from_address="spa@hub.example",
                 security="tls").save(folder)
    assert outbox.letters_can_leave(folder)


def test_the_outbox_folder_must_be_a_full_path_to_a_folder_the_desk_can_write_to(tmp_path):
    assert outbox.check_outbox_folder(tmp_path) == tmp_path
    assert not list(tmp_path.iterdir())  # the trial file is gone again
    with pytest.raises(SettingsProblem, match="full path"):
        outbox.check_outbox_folder("letters")
    with pytest.raises(SettingsProblem, match="is not there"):
        outbox.check_outbox_folder(tmp_path / "not mounted")
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "read only"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(SettingsProblem, match="Choose a folder you may write to"):
                outbox.check_outbox_folder(locked)
        finally:
            locked.chmod(0o700)


def test_the_first_administrator_chooses_it_once_at_setup_and_it_is_audited(new_desk, tmp_path):
    drive = tmp_path / "secure drive"
    drive.mkdir()
    assert not outbox.letters_can_leave(new_desk.folder)
    outbox.configure_at_setup(new_desk, folder=str(drive))
    assert DeskSettings.load(new_desk.folder).outbox_folder == str(drive)
    assert outbox.letters_can_leave(new_desk.folder)
    assert last_audit(new_desk) == ("ada", "admin", "update", "settings", "outbox_folder", "ok")
    # Once only: from now on it is a supervisor's decision, and the refusal is audited.
    with pytest.raises(NotAllowed, match="a supervisor does that now"):
        outbox.configure_at_setup(new_desk, folder=str(tmp_path))
    assert last_audit(new_desk) == ("ada", "admin", "update", "settings", "outbox_folder", "denied")
    assert DeskSettings.load(new_desk.folder).outbox_folder == str(drive)
    with pytest.raises(NotAllowed):  # nor by the everyday route: an administrator is not a supervisor
        outbox.configure_outbox_folder(new_desk, str(tmp_path))


def test_not_at_setup_once_anything_has_happened_in_the_store(desk_world, tmp_path):
    admin = desk_world["admin"]  # has imported the directory and added users
    with pytest.raises(NotAllowed):
        outbox.configure_at_setup(admin, folder=str(tmp_path))
    assert not outbox.letters_can_leave(admin.folder)


def test_secure_email_at_setup_and_a_folder_that_cannot_work_saves_nothing(new_desk, tmp_path):
    with pytest.raises(SettingsProblem, match="is not there"):
        outbox.configure_at_setup(new_desk, folder=str(tmp_path / "gone"))
    with pytest.raises(SettingsProblem, match="or set them later"):
        outbox.configure_at_setup(new_desk)
    assert not outbox.letters_can_leave(new_desk.folder)
    settings = SmtpSettings(host="relay.hub.example", port=587, from_address="spa@hub.example")
    outbox.configure_at_setup(new_desk, smtp=settings)  # refusals above did not use up the chance
    assert SmtpSettings.load(new_desk.folder) == settings
    assert last_audit(new_desk) == ("ada", "admin", "update", "settings", "smtp", "ok")
