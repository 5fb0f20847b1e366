"""Backups and restores, as an administrator makes them, with real SQLCipher files."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from spoa.cli import main
from spoa.roles import NotAllowed, Role
from spoa.store.backup import backup
from spoa.store.backup_archive import (
    ArchiveDamaged,
    BackupProblem,
    StoreDamaged,
    StoreInUse,
    table_summaries,
)
from spoa.store.database import DATABASE_FILE, PLAIN_SQLITE_HEADER, connect
from spoa.store.keyslots import SLOT_FILE
from spoa.store.restore import restore
from spoa.store.store import Store, UnlockFailed
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD, SUPERVISOR_PASSWORD

NOW = "2024-01-01T00:00:00+00:00"


def add_child(db, given: str, family: str = "Example", dob: str = "2010-04-01",
              filler: str = "") -> str:
    child_id = uuid.uuid4().hex
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO children (id, given_name, family_name, date_of_birth, address, "
                   "created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'admin', ?)",
                   [child_id, given, family, dob, filler, NOW, NOW])
        db.execute("INSERT INTO contacts (id, child_id, referrer_type, received_at, created_at, "
                   "created_by, updated_at) VALUES (?, ?, 'gp', ?, ?, 'admin', ?)",
                   [uuid.uuid4().hex, child_id, NOW, NOW, NOW])
    return child_id


def live_files(folder: Path, *, shared_memory: bool = True) -> dict[str, bytes]:
    """Every file in the store's folder, byte for byte. The -shm file of an open database
    is an index in shared memory that every reader touches, so it can be left out."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and (shared_memory or not p.name.endswith("-shm"))}


# Content hashes of two databases under different data keys, made comparable.
COMPARE_KEY = bytes(range(32))


def live_state(folder: Path) -> tuple:
    """What a refused restore leaves as it was: every table but the audit trail (a refused
    restore is audited there, as the sign-in it made), the key slots, and the store's files."""
    with Store.unlock(folder, "admin", ADMIN_PASSWORD) as store:
        tables = {k: v for k, v in table_summaries(store.db, COMPARE_KEY).items() if k != "audit"}
    slots = json.loads((folder / SLOT_FILE).read_bytes())["slots"]
    names = sorted(p.name for p in folder.iterdir()
                   if p.name != "unlock-attempts.json" and not p.name.endswith(("-wal", "-shm")))
    return tables, slots, names


def last_audit(folder: Path, action: str) -> tuple:
    with Store.unlock(folder, "admin", ADMIN_PASSWORD) as store:
        return store.db.execute("SELECT username, outcome FROM audit WHERE action = ? ORDER BY seq DESC",
                                [action]).fetchone()


def rezip(source: Path, target: Path, change) -> Path:
    """Copy an archive entry by entry, letting ``change(name, data)`` alter or drop entries
    (CRCs stay valid, as a careful tamperer would make them)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)
    return target


def flip_page(data: bytes, page: int = 2) -> bytes:
    raw = bytearray(data)
    raw[page * 4096 - 200] ^= 0xFF
    return bytes(raw)


@pytest.fixture
def archived(new_store, store_folder, tmp_path):
    """A store with a few children, its backup, and the store locked (no desk open)."""
    store, code = new_store
    for n in range(5):
        add_child(store.db, f"Child{n}")
    archive = tmp_path / "desk.spoa-backup"
    backup(store, archive)
    store.lock()
    return archive, code


# -- backup -----------------------------------------------------------------------------------

def test_backup_is_an_encrypted_owner_only_archive_without_patient_data(new_store, tmp_path):
    store, _ = new_store
    marker = "Zqvmarker" + uuid.uuid4().hex[:8]
    add_child(store.db, marker, marker)
    archive = tmp_path / "desk.spoa-backup"

    report = backup(store, archive)

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert marker.encode() not in archive.read_bytes()
    assert marker.lower().encode() not in archive.read_bytes().lower()
    with zipfile.ZipFile(archive) as bundle:
        assert bundle.namelist() == ["manifest.json", SLOT_FILE, DATABASE_FILE]
        assert {i.compress_type for i in bundle.infolist()} == {zipfile.ZIP_STORED}
        database = bundle.read(DATABASE_FILE)
        manifest = json.loads(bundle.read("manifest.json"))
        slots = bundle.read(SLOT_FILE)
    assert not database.startswith(PLAIN_SQLITE_HEADER)
    assert hashlib.sha256(database).hexdigest() == manifest["database"]["sha256"] == report.database_sha256
    # The same key slots; the live file's audit anchor has moved on past the backup since.
    assert json.loads(slots)["slots"] == json.loads((store.folder / SLOT_FILE).read_bytes())["slots"]
    assert manifest["tables"]["children"]["rows"] == 1
    assert manifest["installation_id"] == store.slots.installation_id
    assert set(manifest) >= {"format_version", "created_at", "key_id", "tables", "mac"}
    row = store.db.execute("SELECT action, record_type, record_id FROM audit ORDER BY seq DESC").fetchone()
    assert row == ("backup", "archive", report.database_sha256[:16])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_backup_refuses_to_overwrite_and_needs_an_existing_folder(new_store, tmp_path):
    store, _ = new_store
    existing = tmp_path / "old.spoa-backup"
    existing.write_bytes(b"keep me")
    with pytest.raises(Exception, match="already exists"):
        backup(store, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(Exception, match="does not exist"):
        backup(store, tmp_path / "nowhere" / "x.spoa-backup")


# -- a damaged store -------------------------------------------------------------------------

def _filled_store(store: Store, children: int = 200) -> Path:
    """Enough children for the database to span about a hundred pages; the store is locked."""
    for n in range(children):
        add_child(store.db, f"Child{n}", filler="x" * 300)
    store.lock()
    return store.folder / DATABASE_FILE


def _flip_middle_pages(database: Path) -> None:
    raw = bytearray(database.read_bytes())
    middle = len(raw) // 4096 // 2
    for page in (middle, middle + 3, middle + 7):
        raw[page * 4096 + 100] ^= 0xFF
    database.write_bytes(bytes(raw))


def _cut_last_bytes(database: Path) -> None:
    """Truncated mid-page: as a copy or a sync that stopped short leaves a file."""
    database.write_bytes(database.read_bytes()[:-100])


DAMAGE = {"flipped bytes in three pages": _flip_middle_pages, "truncated mid-page": _cut_last_bytes}


def _only_the_store_is_left(tmp_path: Path) -> None:
    """No archive, no staging copy and no temporary file beside where it was to go."""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_backup_of_a_damaged_database_says_it_is_damaged(new_store, tmp_path, damage):
    """Issue 12, item 7: the failure's own audit write (refused by a connection that met a
    damaged page) used to replace the damage with "cannot be written, check permissions"."""
    store, _ = new_store
    damage(_filled_store(store))
    archive = tmp_path / "desk.spoa-backup"

    with Store.unlock(tmp_path / "store", "admin", ADMIN_PASSWORD) as admin, \
            pytest.raises(StoreDamaged) as refused:
        backup(admin, archive)

    message = str(refused.value)
    assert "is damaged" in message
    assert "spoa restore" in message
    assert "made earlier" in message
    assert "permission" not in message
    _only_the_store_is_left(tmp_path)


def test_backup_of_a_database_truncated_while_the_desk_has_it_open(new_store, tmp_path):
    store, _ = new_store
    database = _filled_store(store)
    with Store.unlock(tmp_path / "store", "admin", ADMIN_PASSWORD) as admin:
        with open(database, "r+b") as handle:
            handle.truncate(database.stat().st_size - 5 * 4096)
        with pytest.raises(StoreDamaged, match=r"is damaged.*spoa restore"):
            backup(admin, tmp_path / "desk.spoa-backup")
    _only_the_store_is_left(tmp_path)


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_backup_of_a_damaged_database_from_the_command_line(new_store, tmp_path, monkeypatch, capsys,
                                                            damage):
    store, _ = new_store
    damage(_filled_store(store))

    code, out, err = run(monkeypatch, capsys, "backup", str(tmp_path / "desk.spoa-backup"),
                         "--data-dir", str(tmp_path / "store"))

    assert code == 2
    assert "Traceback" not in err
    assert "is damaged" in err
    assert "spoa restore" in err
    assert "permission" not in err
    assert "Backup written" not in out
    _only_the_store_is_left(tmp_path)


def test_a_failed_backup_is_audited_when_the_database_can_still_be_written(new_store, tmp_path):
    store, _ = new_store
    (store.folder / SLOT_FILE).write_bytes(b"{ not the key file")

    with pytest.raises(BackupProblem, match="key file"):
        backup(store, tmp_path / "desk.spoa-backup")

    row = store.db.execute("SELECT action, outcome FROM audit ORDER BY seq DESC").fetchone()
    assert row == ("backup", "failed")
    _only_the_store_is_left(tmp_path)


def test_backup_while_another_connection_is_writing(new_store, store_folder, tmp_path):
    store, code = new_store
    filler = "x" * 2000
    for n in range(300):
        add_child(store.db, f"Bulk{n}", filler=filler)
    writer = connect(store_folder / DATABASE_FILE, store._data_key)
    stop = threading.Event()
    written: list[float] = []
    errors: list[Exception] = []

    def keep_writing():
        try:
            while not stop.is_set():
                add_child(writer, "Writer", filler=filler)
                written.append(time.monotonic())
        except Exception as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        while len(written) < 5:
            time.sleep(0.005)
        started = time.monotonic()
        report = backup(store, tmp_path / "busy.spoa-backup")
        finished = time.monotonic()
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
        writer.conn.close()
    assert errors == []
    assert any(started <= t <= finished for t in written), "the writer was held up by the backup"
    store.lock()

    restored = restore(tmp_path / "busy.spoa-backup", tmp_path / "copy", recovery_code=code)
    copy = connect(restored.folder / DATABASE_FILE, store_key(restored.folder))
    try:
        children = copy.execute("SELECT count(*) FROM children").fetchone()[0]
        contacts = copy.execute("SELECT count(*) FROM contacts").fetchone()[0]
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        copy.conn.close()
    assert 300 < children == report.tables["children"].rows == contacts  # a consistent snapshot


def store_key(folder: Path) -> bytes:
    with Store.unlock(folder, "admin", ADMIN_PASSWORD) as store:
        return bytes(store._data_key)  # a copy: lock wipes the store's


# -- restore ----------------------------------------------------------------------------------

def test_restore_round_trip_equals_and_keeps_the_previous_files(archived, store_folder):
    archive, _ = archived
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        before = table_summaries(store.db, COMPARE_KEY)
        after_backup = add_child(store.db, "AddedAfterBackup")
        key = bytes(store._data_key)

    report = restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)

    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        now = table_summaries(store.db, COMPARE_KEY)
        assert bytes(store._data_key) != key  # a fresh key, sealed to the live store's slots
        assert store.verify_audit().intact
        actions = [r[0] for r in store.db.execute("SELECT action FROM audit ORDER BY seq")]
        assert "restore" in actions[-3:]
        assert store.db.execute("SELECT count(*) FROM children WHERE id = ?",
                                [after_backup]).fetchone()[0] == 0
    changed = {name for name in before if before[name] != now.get(name)}
    assert changed <= {"audit", "_sqlite_migrations"}  # only the audit of login, restore, lock
    assert {k: v.rows for k, v in report.tables.items()}["children"] == 5
    kept = {p.name for p in report.kept}
    assert any(n.startswith(f"{DATABASE_FILE}.before-restore-") for n in kept)
    assert any(n.startswith(f"{SLOT_FILE}.before-restore-") for n in kept)
    old = connect(next(p for p in report.kept if p.name.startswith(DATABASE_FILE + ".")), key)
    try:  # nothing is lost: the child added after the backup is in the kept database
        assert old.execute("SELECT count(*) FROM children WHERE id = ?", [after_backup]).fetchone()[0] == 1
    finally:
        old.conn.close()
    assert not [p for p in store_folder.iterdir() if p.name.startswith(".restore-")]


TAMPERING = {
    "bytes flipped in the database copy (zip checksum)": "raw",
    "a database page flipped, archive rebuilt": lambda n, d: flip_page(d) if n == DATABASE_FILE else d,
    "a page flipped and the manifest checksum recomputed": "page+sha",
    "manifest date edited": lambda n, d: (d.replace(b'"created_at": "2', b'"created_at": "1')
                                          if n == "manifest.json" else d),
    "manifest row count edited": "rows",
    "manifest removed": lambda n, d: None if n == "manifest.json" else d,
    "slot file removed": lambda n, d: None if n == SLOT_FILE else d,
    "slot file edited": lambda n, d: d.replace(b'"format": 2', b'"format": 2 ') if n == SLOT_FILE else d,
    "manifest not JSON": lambda n, d: b"{not json" if n == "manifest.json" else d,
    "slot file a list, manifest checksum recomputed": ("slots", lambda slots: []),
    "slot time cost 0, manifest checksum recomputed": ("slots", lambda slots: {
        **slots, "slots": [{**x, "kdf": {**x["kdf"], "time_cost": 0}} for x in slots["slots"]]}),
    "not an archive": "garbage",
}


def _tamper(archive: Path, how, target: Path) -> Path:
    if how == "raw":
        raw = bytearray(archive.read_bytes())
        with zipfile.ZipFile(archive) as bundle:
            info = bundle.getinfo(DATABASE_FILE)
        raw[info.header_offset + 200 + len(DATABASE_FILE) + 30] ^= 0xFF
        target.write_bytes(bytes(raw))
        return target
    if how == "garbage":
        target.write_bytes(b"this is not a backup at all" * 10)
        return target
    if how == "page+sha":
        with zipfile.ZipFile(archive) as bundle:
            flipped = flip_page(bundle.read(DATABASE_FILE))

        def change(name, data):
            if name == DATABASE_FILE:
                return flipped
            if name == "manifest.json":
                manifest = json.loads(data)
                manifest["database"]["sha256"] = hashlib.sha256(flipped).hexdigest()
                return json.dumps(manifest).encode()
            return data
        return rezip(archive, target, change)
    if isinstance(how, tuple):
        with zipfile.ZipFile(archive) as bundle:
            slots = json.dumps(how[1](json.loads(bundle.read(SLOT_FILE)))).encode()

        def change(name, data):
            if name == SLOT_FILE:
                return slots
            if name == "manifest.json":
                manifest = json.loads(data)
                manifest["slot_file"]["sha256"] = hashlib.sha256(slots).hexdigest()
                return json.dumps(manifest).encode()
            return data
        return rezip(archive, target, change)
    if how == "rows":
        def change(name, data):
            if name != "manifest.json":
                return data
            manifest = json.loads(data)
            manifest["tables"]["children"]["rows"] += 1
            return json.dumps(manifest).encode()
        return rezip(archive, target, change)
    return rezip(archive, target, how)


@pytest.mark.parametrize("tampering", list(TAMPERING), ids=list(TAMPERING))
def test_a_damaged_or_tampered_archive_is_refused_and_nothing_changes(archived, store_folder, tmp_path,
                                                                      tampering):
    archive, _ = archived
    bad = _tamper(archive, TAMPERING[tampering], tmp_path / "tampered.spoa-backup")
    before = live_state(store_folder)

    with pytest.raises(ArchiveDamaged) as problem:
        restore(bad, store_folder, username="admin", password=ADMIN_PASSWORD)

    assert str(bad) in str(problem.value)
    assert "Nothing was changed" in str(problem.value)
    assert live_state(store_folder) == before
    # Refused by reading the archive (nothing audited), or after signing in to the live store:
    assert last_audit(store_folder, "restore") in (None, ("admin", "failed"))


def test_wrong_password_is_refused_and_counted_without_change(archived, store_folder):
    archive, _ = archived
    before = {k: v for k, v in live_files(store_folder).items() if k != "unlock-attempts.json"}
    with pytest.raises(UnlockFailed, match="Unlock failed"):
        restore(archive, store_folder, username="admin", password="not the password at all")
    after = live_files(store_folder)
    assert "unlock-attempts.json" in after  # counted like any failed unlock
    assert {k: v for k, v in after.items() if k != "unlock-attempts.json"} == before
    with pytest.raises(UnlockFailed):
        restore(archive, store_folder, recovery_code="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    assert {k: v for k, v in live_files(store_folder).items() if k != "unlock-attempts.json"} == before


def test_restore_into_an_empty_folder_on_a_new_computer(archived, tmp_path, memory_keyring):
    archive, code = archived
    memory_keyring.secrets.clear()  # another computer: its keyring has never seen this store
    folder = tmp_path / "new-computer" / "spoa"

    with pytest.raises(Exception, match="recovery code"):
        restore(archive, folder, username="admin", password=ADMIN_PASSWORD)
    assert not folder.exists()

    report = restore(archive, folder, recovery_code=code)

    assert report.kept == []
    assert memory_keyring.secrets  # bound to this computer's keyring
    with Store.unlock(folder, "admin", ADMIN_PASSWORD) as store:  # passwords work here again
        assert store.db.execute("SELECT count(*) FROM children").fetchone()[0] == 5
        actions = [r[0] for r in store.db.execute("SELECT action FROM audit ORDER BY seq")]
        assert actions[-5:] == ["recovery_used", "device_rebound", "restore", "lock", "login"]
        assert store.verify_audit().intact


def test_restore_is_refused_while_a_desk_has_the_store_open(archived, store_folder):
    archive, _ = archived
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD):
        before = live_state(store_folder)
        with pytest.raises(StoreInUse, match="Close the desk"):
            restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)
        assert live_state(store_folder) == before


HOLDER = """
import sys
from pathlib import Path
from spoa.store.database import connect
db = connect(Path(sys.argv[1]), bytes.fromhex(sys.stdin.readline().strip()))
db.execute("SELECT count(*) FROM children").fetchone()
print("open", flush=True)
sys.stdin.readline()
db.conn.close()
"""


def test_restore_is_refused_while_a_desk_in_another_process_has_it_open(archived, store_folder):
    archive, _ = archived
    key = store_key(store_folder)
    desk = subprocess.Popen([sys.executable, "-c", HOLDER, str(store_folder / DATABASE_FILE)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        desk.stdin.write(key.hex() + "\n")
        desk.stdin.flush()
        assert desk.stdout.readline().strip() == "open"
        before = live_state(store_folder)
        with pytest.raises(StoreInUse):
            restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)
        assert live_state(store_folder) == before
    finally:
        desk.communicate("\n", timeout=30)
    restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)  # closed: fine


def test_restore_replaces_a_damaged_live_database(archived, store_folder):
    archive, _ = archived
    database = store_folder / DATABASE_FILE
    damaged = flip_page(database.read_bytes(), page=1)
    database.write_bytes(damaged)

    report = restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)

    assert not report.previous_checkpointed
    assert (store_folder / next(p.name for p in report.kept if p.name.startswith(DATABASE_FILE))
            ).read_bytes() == damaged
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        assert store.db.execute("SELECT count(*) FROM children").fetchone()[0] == 5


def test_only_administrators_back_up_and_restore(staffed_store, store_folder, tmp_path):
    with staffed_store("admin") as admin:
        backup(admin, tmp_path / "desk.spoa-backup")
    for name in ("pat", "sam"):
        with staffed_store(name) as user, pytest.raises(NotAllowed):
            backup(user, tmp_path / f"{name}.spoa-backup")
        assert not (tmp_path / f"{name}.spoa-backup").exists()
    before = live_state(store_folder)
    for name, password in (("pat", PRACTITIONER_PASSWORD), ("sam", SUPERVISOR_PASSWORD)):
        with pytest.raises(NotAllowed):
            restore(tmp_path / "desk.spoa-backup", store_folder, username=name, password=password)
        assert last_audit(store_folder, "restore") == (name, "denied")
    assert live_state(store_folder) == before


# -- command line -----------------------------------------------------------------------------

def run(monkeypatch, capsys, *args, user="admin", password=ADMIN_PASSWORD, stdin=""):
    for variable, value in (("SPOA_USER", user), ("SPOA_PASSWORD", password)):
        monkeypatch.setenv(variable, value) if value else monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_backup_and_restore_from_the_command_line(archived, store_folder, tmp_path, monkeypatch, capsys):
    archive, code = archived
    folder = ["--data-dir", str(store_folder)]
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        admin.add_user("pat", "Pat", Role.PRACTITIONER, "temporary pass 1")
    with Store.unlock(store_folder, "pat", "temporary pass 1") as pat:
        pat.change_password("temporary pass 1", PRACTITIONER_PASSWORD)
    refused, _, err = run(monkeypatch, capsys, "backup", str(tmp_path / "pat.spoa-backup"), *folder,
                          user="pat", password=PRACTITIONER_PASSWORD)
    assert refused == 2
    assert "cannot back up" in err
    assert "Traceback" not in err

    written, out, err = run(monkeypatch, capsys, "backup", str(tmp_path / "cli.spoa-backup"), *folder)
    assert written == 0, err
    assert "Backup written" in out
    assert "apart from the recovery code" in out
    again, _, err = run(monkeypatch, capsys, "backup", str(tmp_path / "cli.spoa-backup"), *folder)
    assert again == 2
    assert "already exists" in err

    restored, out, err = run(monkeypatch, capsys, "restore", str(tmp_path / "cli.spoa-backup"), "--yes",
                             *folder)
    assert restored == 0, err
    assert "kept the previous file" in out

    bad = _tamper(archive, TAMPERING["manifest row count edited"], tmp_path / "bad.spoa-backup")
    refused, out, err = run(monkeypatch, capsys, "restore", str(bad), "--yes", *folder)
    assert refused == 2
    assert str(bad) in err
    assert "Traceback" not in err

    by_code, out, err = run(monkeypatch, capsys, "restore", str(archive), "--recovery-code", "--yes",
                            "--password-stdin", *folder, user=None, password=None, stdin=code + "\n")
    assert by_code == 0, err

    wrong, _, err = run(monkeypatch, capsys, "restore", str(archive), "--yes", *folder,
                        password="wrong password!")
    assert wrong == 2
    assert "Unlock failed" in err


def test_restore_leaves_the_folder_and_files_owner_only(archived, store_folder):
    """A folder that was 0755 and a slot file written by the restore: as 'spoa init' makes them."""
    archive, _ = archived
    store_folder.chmod(0o755)
    restore(archive, store_folder, username="admin", password=ADMIN_PASSWORD)
    assert stat.S_IMODE(store_folder.stat().st_mode) == 0o700
    for path in store_folder.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def _edit_every_entry(data: bytes, local_offset: int, central_offset: int, value: int, *,
                      bits: bool = False) -> bytes:
    """Set a 2-byte field of every local and central header (or OR in bits) in a zip file."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = raw.find(signature)
        while start != -1:
            field = start + offset
            old = int.from_bytes(raw[field:field + 2], "little")
            raw[field:field + 2] = ((old | value) if bits else value).to_bytes(2, "little")
            start = raw.find(signature, start + 4)
    return bytes(raw)


@pytest.mark.parametrize(("local", "central", "value", "bits"), [
    (8, 10, 99, False),  # a compression method zipfile does not know
    (6, 8, 0x1, True),  # the "encrypted" flag
    (4, 6, 99, False),  # a version needed to extract beyond what zipfile reads
], ids=["compression method", "encrypted flag", "version needed"])
def test_edited_zip_metadata_is_not_a_valid_backup_not_a_traceback(archived, store_folder, tmp_path, capsys,
                                                                    monkeypatch, local, central, value, bits):
    archive, _ = archived
    bad = tmp_path / "edited.spoa-backup"
    bad.write_bytes(_edit_every_entry(archive.read_bytes(), local, central, value, bits=bits))
    before = live_files(store_folder)
    with pytest.raises(ArchiveDamaged, match="Nothing was changed"):
        restore(bad, store_folder, username="admin", password=ADMIN_PASSWORD)
    assert live_files(store_folder) == before
    monkeypatch.setenv("SPOA_PASSWORD", ADMIN_PASSWORD)
    code = main(["restore", str(bad), "--data-dir", str(store_folder), "--user", "admin"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "Nothing was changed" in err
