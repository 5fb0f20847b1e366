"""Who may restore a backup over a live store, and what the restored store trusts.

A restore over a live store takes its authority from the live store only: an active
administrator there (or its recovery code). The backup's own accounts never count, the
restored store's users follow the live ones, and its records come back under a fresh key
sealed only to the live store's active users and recovery code. What would be lost is
shown, and asked about, first; both stores record the restore.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from spoa.cli import main
from spoa.roles import Role
from spoa.store.backup import backup
from spoa.store.database import DATABASE_FILE, WrongKey, connect
from spoa.store.keys import MINIMUM_KDF
from spoa.store.keyslots import SLOT_FILE
from spoa.store.restore import restore
from spoa.store.store import Store, UnlockFailed
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD, SUPERVISOR_PASSWORD

REPO = Path(__file__).resolve().parent.parent
BOB_PASSWORD = "bobs own pass phrase"  # synthetic
NINA_PASSWORD = "quiet river lantern 7"
PAT_NEW_PASSWORD = "pats newer pass phrase"
WINTER = "2024-01-10T09:30:00+00:00"  # GMT: 09:30 in the UK
SUMMER = "2024-07-15T13:05:00+00:00"  # BST: 14:05 in the UK


def add_child(store: Store, given: str, at: str = WINTER) -> str:
    child_id = uuid.uuid4().hex
    with store.db.conn:
        store.db.execute("BEGIN IMMEDIATE")
        store.db.execute("INSERT INTO children (id, given_name, family_name, created_at, created_by, "
                         "updated_at) VALUES (?, ?, 'Example', ?, 'admin', ?)", [child_id, given, at, at])
        store.db.execute("INSERT INTO contacts (id, child_id, referrer_type, received_at, created_at, "
                         "created_by, updated_at) VALUES (?, ?, 'gp', ?, ?, 'admin', ?)",
                         [uuid.uuid4().hex, child_id, at, at, at])
    return child_id


@pytest.fixture
def old_backup(new_store, staffed_store, store_folder, tmp_path):
    """A store with two administrators (admin, bob), a practitioner and a supervisor, and
    three children, backed up. Since then bob was deactivated, nina joined, pat changed
    her password and a child was added. Returns the backup's path and the recovery code."""
    _, code = new_store
    with staffed_store("admin") as admin:
        admin.add_user("bob", "Bob Admin", Role.ADMIN, "temporary pass 3")
    with Store.unlock(store_folder, "bob", "temporary pass 3") as bob:
        bob.change_password("temporary pass 3", BOB_PASSWORD)
    archive = tmp_path / "old.spoa-backup"
    with staffed_store("admin") as admin:
        for n in range(3):
            add_child(admin, f"Before{n}")
        backup(admin, archive)
        admin.deactivate_user("bob")
        admin.add_user("nina", "Nina Practitioner", Role.PRACTITIONER, "temporary pass 4")
        add_child(admin, "AfterBackup", at=SUMMER)
    with Store.unlock(store_folder, "nina", "temporary pass 4") as nina:
        nina.change_password("temporary pass 4", NINA_PASSWORD)
    with staffed_store("pat") as pat:
        pat.change_password(PRACTITIONER_PASSWORD, PAT_NEW_PASSWORD)
    return archive, code


class Terminal(io.StringIO):
    """Standard input as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


def cli(monkeypatch, capsys, folder: Path, *args, user="admin", password=ADMIN_PASSWORD, stdin="",
        terminal=False, env=None):
    monkeypatch.setenv("SPOA_USER", user)
    monkeypatch.setenv("SPOA_PASSWORD", password)
    for variable, value in (env or {}).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr("sys.stdin", Terminal(stdin) if terminal else io.StringIO(stdin))
    code = main([*map(str, args), "--data-dir", str(folder)])
    out, err = capsys.readouterr()
    return code, out, err


def children(folder: Path) -> int:
    with Store.unlock(folder, "admin", ADMIN_PASSWORD) as store:
        return store.db.execute("SELECT count(*) FROM children").fetchone()[0]


def nothing_set_aside(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if "before-restore" in p.name or p.name.startswith(".restore-")]


def backup_key(archive: Path, code: str, tmp_path: Path) -> bytes:
    """The data key the backup's own slots hold (what a former user of it may still know)."""
    copy = tmp_path / "unpacked"
    restore(archive, copy, recovery_code=code)
    with Store.recover(copy, code) as store:
        return bytes(store._data_key)


# -- who may restore --------------------------------------------------------------------------

def test_a_deactivated_admin_cannot_restore_an_old_backup_to_become_active_again(
        old_backup, store_folder, monkeypatch, capsys):
    archive, _ = old_backup
    code, out, err = cli(monkeypatch, capsys, store_folder, "restore", archive, "--yes",
                         user="bob", password=BOB_PASSWORD)

    assert code == 2, out
    assert "active administrator" in err
    assert "accounts in the backup do not count" in err
    assert "Nothing was changed" in err
    assert "Traceback" not in err
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "bob", BOB_PASSWORD)
    assert children(store_folder) == 4  # the live store, with the child added after the backup
    assert nothing_set_aside(store_folder)


def test_a_recovery_code_replaced_since_the_backup_does_not_restore_over_the_live_store(
        old_backup, store_folder, staffed_store):
    archive, old_code = old_backup
    shown = []
    with staffed_store("admin") as admin:
        admin.replace_recovery_code(shown.append)

    with pytest.raises(UnlockFailed, match="does not open this store") as refused:
        restore(archive, store_folder, recovery_code=old_code)
    assert "Nothing was changed" in str(refused.value)
    assert children(store_folder) == 4
    assert nothing_set_aside(store_folder)

    with pytest.raises(UnlockFailed, match="--backup-recovery-code"):  # the live code, not the backup's
        restore(archive, store_folder, recovery_code=shown[0])
    restore(archive, store_folder, recovery_code=shown[0], backup_recovery_code=old_code)
    assert children(store_folder) == 3
    with pytest.raises(UnlockFailed):
        Store.recover(store_folder, old_code)  # the restored store keeps the live code only
    Store.recover(store_folder, shown[0]).lock()


def test_a_password_changed_since_the_backup_needs_the_backups_recovery_code(
        old_backup, store_folder, monkeypatch, capsys):
    archive, code = old_backup

    refused, _, err = cli(monkeypatch, capsys, store_folder, "restore", archive, "--yes",
                          user="pat", password=PAT_NEW_PASSWORD)
    assert refused == 2
    assert "A practitioner cannot restore a backup" in err
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        admin.change_password(ADMIN_PASSWORD, "second harbour key 42")
    refused, _, err = cli(monkeypatch, capsys, store_folder, "restore", archive, "--yes",
                          password="second harbour key 42")
    assert refused == 2
    assert "opens the store" in err
    assert "not this backup" in err
    assert "--backup-recovery-code" in err
    assert "Nothing was changed" in err
    assert nothing_set_aside(store_folder)

    done, _, err = cli(monkeypatch, capsys, store_folder, "restore", archive, "--yes",
                         "--backup-recovery-code", password="second harbour key 42",
                         env={"SPOA_BACKUP_RECOVERY_CODE": code})
    assert done == 0, err
    with Store.unlock(store_folder, "admin", "second harbour key 42") as store:  # the live password
        assert store.db.execute("SELECT count(*) FROM children").fetchone()[0] == 3


def test_with_no_store_in_the_folder_only_the_backups_recovery_code_restores(
        old_backup, tmp_path, monkeypatch, capsys):
    archive, code = old_backup
    folder = tmp_path / "new-computer"

    refused, _, err = cli(monkeypatch, capsys, folder, "restore", archive)
    assert refused == 2
    assert "no store" in err
    assert "--recovery-code" in err
    assert "Nothing was changed" in err
    assert not folder.exists()

    done, out, err = cli(monkeypatch, capsys, folder, "restore", archive, "--recovery-code",
                         env={"SPOA_RECOVERY_CODE": code})
    assert done == 0, err
    assert "check them" in out  # the backup's accounts, as they were
    assert children(folder) == 3


# -- what the restored store trusts -----------------------------------------------------------

def test_the_restored_store_keeps_the_live_users_and_a_fresh_key_only_they_open(
        old_backup, store_folder, tmp_path):
    archive, code = old_backup
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        live_key = bytes(store._data_key)
    old_key = backup_key(archive, code, tmp_path)

    restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)

    with pytest.raises(UnlockFailed):  # deactivated live: still out, though active in the backup
        Store.unlock(store_folder, "bob", BOB_PASSWORD)
    with pytest.raises(UnlockFailed):  # the backup's password of pat opens nothing
        Store.unlock(store_folder, "pat", PRACTITIONER_PASSWORD)
    with Store.unlock(store_folder, "pat", PAT_NEW_PASSWORD) as pat:
        assert pat.user.role == Role.PRACTITIONER
    with Store.unlock(store_folder, "nina", NINA_PASSWORD) as nina:  # joined after the backup
        assert not nina.user.must_change_password
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        assert store.db.execute("SELECT count(*) FROM children").fetchone()[0] == 3
        users = {u.username: u.active for u in store.users()}
        new_key = bytes(store._data_key)
    assert users == {"admin": True, "bob": False, "nina": True, "pat": True, "sam": True}
    slots = json.loads((store_folder / SLOT_FILE).read_bytes())["slots"]
    assert {s["username"] for s in slots if s["kind"] == "user"} == {"admin", "nina", "pat", "sam"}
    assert new_key not in (old_key, live_key)
    for former in (old_key, live_key):  # a key someone may have kept opens nothing restored
        with pytest.raises(WrongKey):
            connect(store_folder / DATABASE_FILE, former)
    Store.recover(store_folder, code).lock()  # the live recovery code (here the same as the backup's)


def test_the_restore_is_audited_in_both_stores(old_backup, store_folder):
    archive, _ = old_backup
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        live_key = bytes(store._data_key)

    report = restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)

    set_aside = next(p for p in report.kept if p.name.startswith(f"{DATABASE_FILE}.before-restore-"))
    old = connect(set_aside, live_key)
    try:
        rows = old.execute("SELECT username, outcome FROM audit WHERE action = 'restore'").fetchall()
        assert old.execute("SELECT count(*) FROM children").fetchone()[0] == 4  # nothing lost
    finally:
        old.conn.close()
    assert rows == [("admin", f"replaced by backup of {report.created_at}")]
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        entries = store.db.execute("SELECT username, role, record_id FROM audit "
                                   "WHERE action = 'restore'").fetchall()
        assert store.verify_audit().intact  # the chain, and its anchors started afresh
    assert entries == [("admin", "admin", json.loads(_manifest(archive))["database"]["sha256"][:16])]


def _manifest(archive: Path) -> bytes:
    with zipfile.ZipFile(archive) as bundle:
        return bundle.read("manifest.json")


# -- what would be lost, asked first ----------------------------------------------------------

def test_restore_shows_what_would_be_lost_and_asks_first(old_backup, store_folder, monkeypatch, capsys):
    archive, _ = old_backup

    declined, out, err = cli(monkeypatch, capsys, store_folder, "restore", archive, terminal=True,
                             stdin="n\n")

    assert declined == 1, err
    lines = out.splitlines()
    children_line = next(line for line in lines if line.strip().startswith("children"))
    assert "4, newest 15 July 2024 at 14:05" in children_line  # UK summer time
    assert "3, newest 10 January 2024 at 09:30" in children_line
    assert any(line.strip().startswith("advice requests") for line in lines)
    assert any(line.strip().startswith("audit entries") for line in lines)
    assert "entered after the newest in the backup" in out
    assert "Replace the live store with this backup? [y/N]" in out
    assert "Nothing was changed" in out
    assert children(store_folder) == 4
    assert nothing_set_aside(store_folder)
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        last = store.db.execute("SELECT outcome FROM audit WHERE action = 'restore' ORDER BY seq DESC"
                                ).fetchone()
    assert last == ("cancelled",)

    accepted, out, err = cli(monkeypatch, capsys, store_folder, "restore", archive, terminal=True,
                             stdin="y\n")
    assert accepted == 0, err
    assert "Restored the backup of" in out
    assert "accounts are the live store's" in out
    assert children(store_folder) == 3


def test_restore_over_a_live_store_without_a_terminal_needs_yes(old_backup, store_folder, monkeypatch,
                                                                capsys):
    archive, _ = old_backup
    refused, _, err = cli(monkeypatch, capsys, store_folder, "restore", archive)
    assert refused == 2
    assert "no terminal" in err
    assert "--yes" in err
    assert "Nothing was changed" in err
    assert children(store_folder) == 4
    assert nothing_set_aside(store_folder)


# -- a crash at any moment of the swap ----------------------------------------------------------

CRASHER = """
import os, sys
from pathlib import Path
from spoa.store.restore import restore

archive, folder, password, crash_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
calls = 0

def replacing():
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name in ("swap_over_live", "_reset_anchors"):
            return True
        frame = frame.f_back
    return False

def crashing(real):
    def step(*args, **kwargs):
        global calls
        if replacing():
            calls += 1
            if calls == crash_at:
                os._exit(9)  # as a power cut: no clean-up, no rollback
        return real(*args, **kwargs)
    return step

for name in ("replace", "rename", "link", "unlink"):
    setattr(os, name, crashing(getattr(os, name)))
restore(archive, folder, username="admin", password=password)
print(calls, flush=True)
"""


def test_a_crash_at_any_step_leaves_the_old_store_or_the_new_one(tmp_path):
    """Killed before each rename, link, unlink and atomic write while a restore replaces a
    live store: the folder then opens with the live password, as the old store or as the new
    one, never neither; and restoring again completes."""
    template = tmp_path / "template"
    store, _ = Store.init(template / "store", admin_username="admin", admin_display_name="Ada",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    with store:
        for n in range(3):
            add_child(store, f"Before{n}")
        backup(store, template / "old.spoa-backup")
        add_child(store, "AfterBackup", at=SUMMER)
    environment = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(folder: Path, crash_at: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", CRASHER, str(template / "old.spoa-backup"),
                               str(folder), ADMIN_PASSWORD, str(crash_at)],
                              capture_output=True, text=True, env=environment, timeout=120)

    whole = tmp_path / "whole"
    shutil.copytree(template / "store", whole)
    done = run(whole, 0)
    assert done.returncode == 0, done.stderr
    steps = int(done.stdout.strip())
    assert steps >= 5
    seen = set()
    for crash_at in range(1, steps + 1):
        folder = tmp_path / f"crash-{crash_at}"
        shutil.copytree(template / "store", folder)
        crashed = run(folder, crash_at)
        assert crashed.returncode == 9, crashed.stderr
        with Store.unlock(folder, "admin", ADMIN_PASSWORD) as store:
            count = store.db.execute("SELECT count(*) FROM children").fetchone()[0]
            assert store.verify_audit().chain_intact, f"crash at step {crash_at}"
        assert count in (4, 3), f"crash at step {crash_at}"
        seen.add(count)
        again = run(folder, 0)
        assert again.returncode == 0, f"crash at step {crash_at}: {again.stderr}"
        assert children(folder) == 3
    assert seen == {3, 4}  # the crashes fell both before and after the database was replaced


def test_with_the_live_database_damaged_the_live_key_file_still_decides(old_backup, store_folder):
    """A damaged live database cannot say who is active, but its key file still holds a
    slot only for those who are: a deactivated admin stays out, a practitioner too."""
    archive, code = old_backup
    database = store_folder / DATABASE_FILE
    damaged = bytearray(database.read_bytes())
    damaged[4096 - 200] ^= 0xFF  # the first page: nothing opens
    database.write_bytes(bytes(damaged))

    with pytest.raises(UnlockFailed, match="active administrator"):
        restore(archive, store_folder, username="bob", password=BOB_PASSWORD)
    for name, password in (("pat", PAT_NEW_PASSWORD), ("sam", SUPERVISOR_PASSWORD)):
        with pytest.raises(UnlockFailed, match="store's recovery code \\(--recovery-code\\)"):
            restore(archive, store_folder, username=name, password=password)
    assert database.read_bytes() == bytes(damaged)
    assert nothing_set_aside(store_folder)

    report = restore(archive, store_folder, recovery_code=code)

    assert not report.previous_checkpointed
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "bob", BOB_PASSWORD)
    with Store.unlock(store_folder, "pat", PAT_NEW_PASSWORD):  # the live key file's password
        pass
    assert children(store_folder) == 3
