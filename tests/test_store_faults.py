"""Bad input and faults: the store refuses, reports and changes nothing it should not.

Wrong passwords and lockout, damaged key files, tampered and plaintext databases, a
missing database, a read-only folder, a full disk, two writers at once, a crash in the
middle of a rekey and a keyring that lost the device secret.

Real SQLCipher, Argon2id at the product's minimum settings, the in-memory keyring of
conftest. Scenarios that need another process (a read-only view of the folder, a full
file system, concurrent writers, a rekey killed with SIGKILL) run Python children from
the repository root.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlcipher3

from spoa.roles import Role
from spoa.store.attempts import (
    ATTEMPTS_FILE,
    FIRST_DELAY_SECONDS,
    FREE_ATTEMPTS,
    LockedOut,
    UnlockAttempts,
)
from spoa.store.database import (
    DATABASE_FILE,
    DatabaseDamaged,
    DatabaseMissing,
    NotEncrypted,
    StoreError,
    WrongKey,
    close,
    connect,
)
from spoa.store.keys import MINIMUM_KDF, key_id
from spoa.store.keyslots import SLOT_FILE, SlotFile, SlotFileProblem
from spoa.store.store import (
    RECOVERY_USER,
    DeviceSecretMissing,
    Store,
    UnlockFailed,
)
from tests.conftest import ADMIN_PASSWORD
from tests.store_crash_writer import REPO, check, save_one, writer_command

PAT_TEMPORARY = "temporary pass 1"
RECORD_TABLES = ("children", "contacts", "contact_search", "meta")


# -- helpers -----------------------------------------------------------------------------------

def file_hashes(folder: Path, *, skip: tuple[str, ...] = (ATTEMPTS_FILE,)) -> dict[str, str]:
    """sha256 of every file in the folder (the unlock-attempts file may legitimately change)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file() and path.name not in skip}


def failures_recorded(folder: Path, username: str = "admin") -> int:
    return UnlockAttempts(folder).failures(username)


def seed(store: Store, count: int, rng: random.Random | None = None) -> list[str]:
    """``count`` synthetic child+contact transactions through the store's connection."""
    rng = rng or random.Random(11)
    return [save_one(store.db, rng, store.user.username) for _ in range(count)]


def records(db) -> dict[str, list[tuple]]:
    """The record tables' rows, for before/after comparisons (the audit trail grows, so it
    is checked with verify_audit instead)."""
    return {table: sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in RECORD_TABLES}


def read_everything(db) -> dict[str, list[tuple]]:
    """Every row of every table (including FTS5's own tables), by full scans."""
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names}


def flagged_pages(db) -> set[int]:
    """Pages that PRAGMA cipher_integrity_check reports (HMAC verification failed for page N)."""
    found = set()
    for (line,) in db.execute("PRAGMA cipher_integrity_check").fetchall():
        found.update(int(n) for n in re.findall(r"page (\d+)", str(line)))
    return found


def run_child(command: list[str], timeout: float = 120) -> dict:
    """Run a Python child from the repository root; its last stdout line is a JSON report."""
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    trace = f"child exited {done.returncode}\nstdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
    assert done.returncode == 0, trace
    assert lines, trace
    return json.loads(lines[-1])


@pytest.fixture
def closed_store(new_store, store_folder):
    """A store with 30 records, a practitioner (temporary password), locked; returns
    (recovery code, records, data key)."""
    store, code = new_store
    store.add_user("pat", "Pat Practitioner", Role.PRACTITIONER, PAT_TEMPORARY)
    seed(store, 30)
    data_key = bytes(store._data_key)  # a copy: lock wipes the store's
    before = records(store.db)
    store.lock()
    return code, before, data_key


def no_keyring_store(folder: Path, records_count: int = 20) -> dict:
    """A store made with --no-keyring (so a child process can open it without this
    process's in-memory keyring), with some records; locked. Returns its records."""
    store, _ = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    try:
        seed(store, records_count)
        return records(store.db)
    finally:
        store.lock()


# -- wrong password ----------------------------------------------------------------------------

def test_wrong_password_changes_nothing_is_counted_and_locks_out(closed_store, store_folder):
    before = file_hashes(store_folder)
    for attempt in range(1, FREE_ATTEMPTS + 1):
        with pytest.raises(UnlockFailed, match=r"[Uu]nlock failed"):
            Store.unlock(store_folder, "admin", f"not the password {attempt}")
        assert file_hashes(store_folder) == before, f"attempt {attempt} changed a file"
        assert failures_recorded(store_folder) == attempt
    # Locked out: even the right password is not tried, and nothing is touched.
    for password in ("yet another wrong one", ADMIN_PASSWORD):
        with pytest.raises(LockedOut) as locked:
            Store.unlock(store_folder, "admin", password)
        assert 0 < locked.value.wait_seconds <= FIRST_DELAY_SECONDS
        assert f"Wait {locked.value.wait_seconds} seconds" in str(locked.value)
    assert file_hashes(store_folder) == before
    assert failures_recorded(store_folder) == FREE_ATTEMPTS
    # Other users are not locked out by admin's failures.
    Store.unlock(store_folder, "pat", PAT_TEMPORARY).lock()

    # Once the delay has passed (moved back in the attempts file), the right password opens
    # the store, the count is forgotten and every failure is in the audit trail.
    attempts = json.loads((store_folder / ATTEMPTS_FILE).read_text())
    (admin_entry,) = attempts["users"].values()  # only admin has failures (kept under a hash)
    admin_entry["last"] -= FIRST_DELAY_SECONDS + 1
    (store_folder / ATTEMPTS_FILE).write_text(json.dumps(attempts))
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        failed = store.db.execute("SELECT count(*) FROM audit WHERE action = 'login_failed' "
                                  "AND record_id = 'admin'").fetchone()[0]
        assert failed == FREE_ATTEMPTS
        assert store.verify_audit().intact
    assert failures_recorded(store_folder) == 0


# -- damaged key-slot file ---------------------------------------------------------------------

def _edit(change):
    def damage(raw: bytes) -> bytes:
        data = json.loads(raw)
        change(data)
        return json.dumps(data).encode()
    return damage


def _set(path: tuple, value):
    def change(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return _edit(change)


SLOT_DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "not text": lambda raw: b"\xff\xfe\x00\x01" + raw[4:],
    "not JSON": lambda raw: b"{" + raw,
    "unknown format": _set(("format",), 99),
    "a slot lost a field": _edit(lambda data: data["slots"][0].pop("sealed")),
    "a slot lost its ephemeral key": _edit(lambda data: data["slots"][0].pop("ephemeral")),
    "an ephemeral key of the wrong length": _set(("slots", 0, "ephemeral"), "AAAA"),
    "an unknown slot scheme": _set(("slots", 0, "scheme"), "rot13"),
    "bad base64": _set(("slots", 0, "salt"), "@@not base64@@"),
    "slots not a list": _set(("slots",), 7),
    "top level is a list": lambda raw: b"[]",
    "top level is null": lambda raw: b"null",
    "a slot is a string": _set(("slots", 0), "slot"),
    "key derivation time cost 0": _set(("slots", 0, "kdf", "time_cost"), 0),
}


@pytest.mark.parametrize("damage", list(SLOT_DAMAGE), ids=list(SLOT_DAMAGE))
def test_damaged_slot_file_is_named_and_nothing_is_overwritten(closed_store, store_folder, damage):
    code, _, _ = closed_store
    slot_path = store_folder / SLOT_FILE
    slot_path.write_bytes(SLOT_DAMAGE[damage](slot_path.read_bytes()))
    before = file_hashes(store_folder, skip=())
    for attempt in (lambda: Store.unlock(store_folder, "admin", ADMIN_PASSWORD),
                    lambda: Store.recover(store_folder, code)):
        with pytest.raises(SlotFileProblem) as problem:
            attempt()
        assert str(slot_path) in str(problem.value)
        assert file_hashes(store_folder, skip=()) == before  # nothing written, nothing counted


def test_missing_slot_file_is_named_and_nothing_is_created(closed_store, store_folder):
    (store_folder / SLOT_FILE).unlink()
    before = file_hashes(store_folder, skip=())
    with pytest.raises(SlotFileProblem, match="missing") as problem:
        Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    assert str(store_folder / SLOT_FILE) in str(problem.value)
    assert file_hashes(store_folder, skip=()) == before


@pytest.mark.parametrize("part", ["sealed", "ephemeral", "nonce", "salt"])
def test_altered_sealed_key_in_a_slot_does_not_open_and_changes_nothing(closed_store, store_folder,
                                                                          part):
    slot_path = store_folder / SLOT_FILE
    data = json.loads(slot_path.read_text())
    admin_slot = next(s for s in data["slots"] if s["username"] == "admin")
    altered = bytearray(base64.b64decode(admin_slot[part]))
    altered[5] ^= 0x01
    admin_slot[part] = base64.b64encode(bytes(altered)).decode()
    slot_path.write_text(json.dumps(data))
    before = file_hashes(store_folder)
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    assert file_hashes(store_folder) == before


# -- tampered database -------------------------------------------------------------------------

def _flip(data: bytearray, page: int, rng: random.Random, page_size: int = 4096) -> None:
    start = (page - 1) * page_size
    for offset in rng.sample(range(page_size), rng.randint(1, 4)):
        data[start + offset] ^= rng.randrange(1, 256)


def test_tampered_pages_are_detected_and_never_served(new_store, store_folder):
    store, _ = new_store
    seed(store, 1500)
    data_key = bytes(store._data_key)  # a copy: lock wipes the store's
    store.lock()
    database = store_folder / DATABASE_FILE
    db = connect(database, data_key)
    try:
        snapshot = read_everything(db)
    finally:
        close(db)
    original = database.read_bytes()
    pages = len(original) // 4096
    rng = random.Random()
    seed_value = rng.randrange(2**32)
    rng.seed(seed_value)
    refused_at_open = raised_on_read = 0
    for trial in range(25):
        tampered = bytearray(original)
        flipped = set(rng.sample(range(2, pages + 1), rng.randint(1, 3)))
        for page in flipped:
            _flip(tampered, page, rng)
        database.write_bytes(bytes(tampered))
        where = f"trial {trial} (seed {seed_value}), pages {sorted(flipped)}"
        try:
            db = connect(database, data_key)
        except (WrongKey, DatabaseDamaged) as refused:
            refusal = str(refused)
            db = None
        if db is None:
            assert str(database) in refusal, where
            refused_at_open += 1
        else:
            try:
                assert flipped <= flagged_pages(db), where
                try:
                    served = read_everything(db)
                except sqlcipher3.DatabaseError:
                    raised_on_read += 1
                else:
                    assert served == snapshot, f"{where}: altered data was served"
            finally:
                close(db)
        assert database.read_bytes() == bytes(tampered), f"{where}: the file was rewritten"
    assert refused_at_open + raised_on_read > 0  # the trials did reach pages holding data


def test_tampered_database_is_reported_as_damaged_not_as_a_wrong_password(new_store, store_folder):
    """Through Store.unlock with the right password (and Store.recover with the right code):
    a damaged page must give a StoreError naming the file (not 'wrong password', not
    counted as a failed attempt, nothing overwritten), or the store opens and the damage
    shows when the page is read."""
    store, code = new_store
    seed(store, 200)
    data_key = bytes(store._data_key)  # a copy: lock wipes the store's
    store.lock()
    database = store_folder / DATABASE_FILE
    original = database.read_bytes()
    pages = len(original) // 4096
    rng = random.Random(5)

    def tamper(page: int) -> bytes:
        tampered = bytearray(original)
        _flip(tampered, page, rng)
        database.write_bytes(bytes(tampered))
        return bytes(tampered)

    # Pages the opening itself depends on (the schema beyond page 1) refuse at connect; find
    # them cheaply with the raw key, then try those, the first pages and a few others through
    # the store (each opening costs an Argon2id run).
    schema_pages = []
    for page in range(2, pages + 1):
        tamper(page)
        try:
            close(connect(database, data_key))
        except (WrongKey, DatabaseDamaged):
            schema_pages.append(page)
    chosen = sorted(set(schema_pages) | set(range(2, min(pages, 9) + 1))
                    | set(rng.sample(range(2, pages + 1), 4)))
    attempts = [(page, "Store.unlock", "admin") for page in chosen]
    attempts += [(page, "Store.recover", RECOVERY_USER) for page in schema_pages]
    problems: list[str] = []
    for page, how, counted_as in attempts:
        (store_folder / ATTEMPTS_FILE).unlink(missing_ok=True)
        tampered = tamper(page)
        where = f"page {page}, {how}"
        try:
            opened = (Store.unlock(store_folder, "admin", ADMIN_PASSWORD) if how == "Store.unlock"
                      else Store.recover(store_folder, code))
        except UnlockFailed as exc:
            problems.append(f"{where}: reported as a wrong password or code: {exc}")
        except StoreError as exc:
            if str(database) not in str(exc):
                problems.append(f"{where}: {type(exc).__name__} does not name the file: {exc}")
        except Exception as exc:
            problems.append(f"{where}: {type(exc).__module__}.{type(exc).__name__}: {exc}")
        else:
            try:
                assert page in flagged_pages(opened.db)
            finally:
                opened.lock()
            continue
        if database.read_bytes() != tampered:
            problems.append(f"{where}: the file was changed after a failed open")
        if failures_recorded(store_folder, counted_as):
            problems.append(f"{where}: counted as a failed unlock attempt")
    database.write_bytes(original)
    mishandled = {problem.split(":")[0] for problem in problems}
    assert not problems, (f"{len(mishandled)} of {len(attempts)} openings of a tampered file "
                          f"mishandled (pages the schema needs: {schema_pages}):\n" + "\n".join(problems))


# -- not encrypted, missing ---------------------------------------------------------------------

def test_plaintext_sqlite_file_is_refused_and_left_unchanged(closed_store, store_folder):
    database = store_folder / DATABASE_FILE
    database.unlink()
    plain = sqlite3.connect(database)
    plain.execute("CREATE TABLE children (id TEXT, given_name TEXT)")
    plain.execute("INSERT INTO children VALUES ('c1', 'Zoe')")
    plain.commit()
    plain.close()
    before = file_hashes(store_folder, skip=())
    with pytest.raises(NotEncrypted, match="unencrypted") as refused:
        Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    assert str(database) in str(refused.value)
    assert file_hashes(store_folder, skip=()) == before  # no -wal, no -shm, not counted


def test_missing_database_beside_a_slot_file_creates_nothing(closed_store, store_folder):
    code, _, _ = closed_store
    (store_folder / DATABASE_FILE).unlink()
    before = file_hashes(store_folder, skip=())
    with pytest.raises(DatabaseMissing, match="Nothing has been created"):
        Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    with pytest.raises(DatabaseMissing):
        Store.recover(store_folder, code)
    assert file_hashes(store_folder, skip=()) == before
    assert not (store_folder / DATABASE_FILE).exists()


# -- read-only folder, full disk ---------------------------------------------------------------

READ_ONLY_CHILD = """
import json, random, sys
from pathlib import Path
from spoa.store.store import Store
from tests.store_crash_writer import save_one

folder, password = Path(sys.argv[1]), sys.argv[2]
report = {}
try:
    (folder / "probe").write_bytes(b"x")
    report["probe"] = "written"
except OSError as exc:
    report["probe"] = f"refused: {exc}"

def failed(stage, exc):
    report.update(stage=stage, type=type(exc).__name__, message=str(exc),
                  classes=[c.__name__ for c in type(exc).__mro__])

try:
    store = Store.unlock(folder, "admin", password)
except Exception as exc:
    failed("unlock", exc)
else:
    try:
        save_one(store.db, random.Random(), "admin")
        report["stage"] = "saved"
    except Exception as exc:
        failed("save", exc)
    try:
        store.lock()
    except Exception as exc:
        report["lock"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(report))
"""


def test_read_only_folder_fails_visibly_and_stores_nothing(store_folder):
    """The store's folder is read-only (chmod 0500) when the desk starts: opening (or the
    first save) must fail with a StoreError that names the folder, not be taken for a
    wrong password, and leave every file as it was. Tests run as root here, and root
    ignores file modes, so then the child runs without CAP_DAC_OVERRIDE (setpriv)."""
    before_records = no_keyring_store(store_folder)
    before = file_hashes(store_folder, skip=())
    as_if_not_root = (["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                       "--inh-caps=-dac_override,-dac_read_search", "--"]
                      if os.geteuid() == 0 else [])
    os.chmod(store_folder, 0o500)
    try:
        report = run_child([*as_if_not_root, sys.executable, "-c", READ_ONLY_CHILD,
                            str(store_folder), ADMIN_PASSWORD])
    finally:
        os.chmod(store_folder, 0o700)
    (store_folder / "probe").unlink(missing_ok=True)
    assert report["probe"].startswith("refused"), "the folder was not read-only for the child"
    assert report.get("stage") in ("unlock", "save"), f"nothing failed: {report}"
    reported = f"{report['type']}: {report['message']}"
    assert "StoreError" in report["classes"], f"not a store error worded for people: {reported}"
    assert "UnlockFailed" not in report["classes"], f"reported as a wrong password: {reported}"
    assert str(store_folder) in report["message"], report
    assert file_hashes(store_folder, skip=()) == before  # nothing partial, nothing counted
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        assert records(store.db) == before_records


def test_save_that_does_not_fit_fails_visibly_and_stores_nothing_partial(new_store, store_folder):
    """Disk full as SQLite sees it (SQLITE_FULL), forced with PRAGMA max_page_count."""
    store, _ = new_store
    seed(store, 40)
    before = records(store.db)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = "x" * 200_000
    with pytest.raises(sqlcipher3.OperationalError, match="full"), store.db.conn:  # noqa: PT012
        store.db.execute("BEGIN IMMEDIATE")
        store.db.execute(
            "INSERT INTO children (id, given_name, family_name, address, created_at, created_by, "
            "updated_at) VALUES ('too-big', 'Zoe', 'Example', ?, 'now', 'admin', 'now')", [big])
        store.db.execute(
            "INSERT INTO contacts (id, child_id, referrer_type, received_at, created_at, "
            "created_by, updated_at) VALUES ('too-big-contact', 'too-big', 'gp', 'now', 'now', "
            "'admin', 'now')")
    assert not store.db.conn.in_transaction
    assert records(store.db) == before
    store.db.execute("PRAGMA max_page_count = 4294967294")
    seed(store, 1, random.Random(99))  # the store carries on once there is room
    store.lock()
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as reopened:
        leftovers = "SELECT count(*) FROM children WHERE id LIKE 'too-big%'"
        assert reopened.db.execute(leftovers).fetchone()[0] == 0
        assert reopened.db["children"].count == reopened.db["contacts"].count == 41
        assert reopened.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert reopened.db.execute("PRAGMA cipher_integrity_check").fetchall() == []


FULL_DISK_CHILD = """
import json, os, random, resource, signal, sys
from pathlib import Path
from spoa.store.keys import MINIMUM_KDF
from spoa.store.store import Store
from tests.store_crash_writer import check, save_one

base, mode, password = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
folder = base / "store"
store, _ = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                      admin_password=password, use_keyring=False, kdf=MINIMUM_KDF)
data_key = bytes(store._data_key)  # a copy: lock wipes the store's
rng = random.Random(7)
acknowledged = [save_one(store.db, rng, "admin") for _ in range(20)]
filler = base / "filler"
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
if mode == "tmpfs":  # fill the file system, then give 256 KiB back
    handle = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(handle, b"\\0" * 65536)
    except OSError:
        pass
    os.close(handle)
    os.truncate(filler, max(0, filler.stat().st_size - 256 * 1024))
else:  # no mount namespace here: a file-size limit stands in for the full disk
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    largest = max(path.stat().st_size for path in folder.iterdir())
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 256 * 1024, hard))
report = {"mode": mode}
for _ in range(100_000):
    try:
        acknowledged.append(save_one(store.db, rng, "admin"))
    except Exception as exc:
        report.update(type=type(exc).__name__, message=str(exc), saved=len(acknowledged))
        break
try:
    save_one(store.db, rng, "admin")
    report["again"] = "saved"
except Exception as exc:
    report["again"] = f"{type(exc).__name__}: {exc}"
try:
    store.lock()
except Exception as exc:
    report["lock"] = f"{type(exc).__name__}: {exc}"
if mode == "tmpfs":
    filler.unlink()
else:
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
with Store.unlock(folder, "admin", password) as reopened:
    report["audit_intact"] = reopened.verify_audit().intact
result = check(folder, data_key, acknowledged)
report.update(acknowledged=len(acknowledged), children=result.children, contacts=result.contacts,
              lost=len(result.lost), torn=result.torn, integrity=result.integrity,
              cipher_problems=[list(r) for r in result.cipher_problems])
print(json.dumps(report))
"""


def _namespace_prefix(probe_folder: Path) -> list[str] | None:
    """A command prefix running its command in a private mount namespace where it may mount
    a tmpfs, or None where this system allows none."""
    if shutil.which("unshare") is None:
        return None
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix.append("--map-root-user")
    probe_folder.mkdir(exist_ok=True)
    done = subprocess.run([*prefix, "--", "sh", "-c", 'mount -t tmpfs -o size=1m probe "$1"', "sh",
                           str(probe_folder)], capture_output=True, check=False)
    return prefix if done.returncode == 0 else None


def test_full_disk_fails_the_save_visibly_and_keeps_every_commit(tmp_path):
    """A real full file system (a 6 MiB tmpfs in a private mount namespace) where the
    system allows it, otherwise a file-size limit (RLIMIT_FSIZE): saves go on until one
    fails; that one fails with an exception, stores nothing, and after space comes back
    every acknowledged save is there, whole."""
    base = tmp_path / "small-disk"
    base.mkdir()
    prefix = _namespace_prefix(tmp_path / "probe")
    if prefix is not None:
        script = 'mount -t tmpfs -o size=6m,mode=0700 spoa-full "$1" && exec "$2" -c "$3" "$1" tmpfs "$4"'
        command = [*prefix, "--", "sh", "-c", script, "sh", str(base), sys.executable,
                   FULL_DISK_CHILD, ADMIN_PASSWORD]
    else:
        command = [sys.executable, "-c", FULL_DISK_CHILD, str(base), "rlimit", ADMIN_PASSWORD]
    report = run_child(command)
    print(f"full disk ({report['mode']}): after {report.get('saved')} saves: {report.get('type')}: "
          f"{report.get('message')}; next save: {report.get('again')}; lock: {report.get('lock', 'ok')}")
    assert report.get("type"), f"no save failed: {report}"
    assert report["message"], report
    assert report["saved"] > 20, report  # some saves fitted before the disk was full
    assert report["lost"] == 0, report
    assert set(report["torn"].values()) == {0}, report
    assert report["children"] == report["contacts"] == report["acknowledged"], report  # no partial
    assert report["integrity"] == ["ok"], report
    assert report["cipher_problems"] == [], report
    assert report["audit_intact"], report


# -- two writers at once ----------------------------------------------------------------------

def test_two_processes_writing_at_once_both_succeed(new_store, store_folder):
    store, _ = new_store
    data_key = bytes(store._data_key)  # a copy: lock wipes the store's
    store.lock()
    rows = 300
    writers = [subprocess.Popen(writer_command(store_folder, data_key, "--rows", str(rows), "--name", name),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=REPO) for name in ("writer-a", "writer-b")]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        for writer in writers:  # both start together
            writer.stdin.write("go\n")
            writer.stdin.flush()
        outcomes = [writer.communicate(timeout=120) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    for writer, (_, err) in zip(writers, outcomes, strict=True):
        assert writer.returncode == 0, err
    runs = [json.loads(out.strip().splitlines()[-1]) for out, _ in outcomes]
    a, b = runs
    assert a["started"] < b["finished"], "the writers did not overlap"
    assert b["started"] < a["finished"], "the writers did not overlap"
    result = check(store_folder, data_key, [])
    assert result.children == result.contacts == 2 * rows
    assert result.torn_total == 0
    assert result.integrity == ["ok"]
    assert result.cipher_problems == []
    db = connect(store_folder / DATABASE_FILE, data_key)
    try:
        per_writer = dict(db.execute("SELECT created_by, count(*) FROM children GROUP BY created_by"))
    finally:
        close(db)
    assert per_writer == {"writer-a": rows, "writer-b": rows}


# -- rekey interrupted -------------------------------------------------------------------------

class SimulatedCrash(Exception):
    pass


def _assert_every_way_in(folder: Path, code: str, expected: dict) -> None:
    """Admin's password, pat's password and the recovery code each open the store, with
    all records, intact pages and an intact audit chain."""
    for opened in (lambda: Store.unlock(folder, "admin", ADMIN_PASSWORD),
                   lambda: Store.unlock(folder, "pat", PAT_TEMPORARY),
                   lambda: Store.recover(folder, code)):
        with opened() as store:
            assert records(store.db) == expected
            assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert store.db.execute("PRAGMA cipher_integrity_check").fetchall() == []
            if store.user.role is Role.ADMIN:
                assert store.verify_audit().intact


CRASH_POINTS = {
    # (which step fails, before or after it does its work)
    "before the new key's slots are written": ("slots", 1, "before"),
    "after the new key's slots are written": ("slots", 1, "after"),
    "in the database rekey, before it runs": ("database", 1, "before"),
    "after the database rekey": ("database", 1, "after"),
    "after the old key's slots are dropped": ("slots", 2, "after"),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS), ids=list(CRASH_POINTS))
def test_rekey_interrupted_at_each_step_keeps_every_way_in(closed_store, store_folder, monkeypatch,
                                                           point):
    import spoa.store.store as store_module

    code, expected, _ = closed_store
    step, call, when = CRASH_POINTS[point]
    calls = {"slots": 0, "database": 0}

    def failing(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            if calls[name] == call and when == "before":
                raise SimulatedCrash(point)
            result = real(*args, **kwargs)
            if calls[name] == call and when == "after":
                raise SimulatedCrash(point)
            return result
        return wrapper

    store = Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    if step == "slots":
        monkeypatch.setattr(Store, "_update_slots", failing("slots", Store._update_slots))
    else:
        monkeypatch.setattr(store_module, "rekey", failing("database", store_module.rekey))
    with pytest.raises(SimulatedCrash):
        store.rekey()
    # The process "dies": the connection goes without the store's own lock/checkpoint.
    store.db.conn.close()
    store.db = None
    monkeypatch.undo()

    _assert_every_way_in(store_folder, code, expected)
    # A later rekey completes and leaves only the new key's slots.
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        admin.rekey()
        current = key_id(admin._data_key)
    assert {slot.key_id for slot in SlotFile.load(store_folder).slots} == {current}
    _assert_every_way_in(store_folder, code, expected)


REKEY_CHILD = """
import sys
from pathlib import Path
from spoa.store.store import Store

store = Store.unlock(Path(sys.argv[1]), "admin", sys.argv[2])
print("rekeying", flush=True)
while True:
    store.rekey()
    print("rekeyed", flush=True)
"""


def test_rekey_killed_at_random_moments_keeps_the_store_open(store_folder):
    """Store.rekey in a loop in a child process, SIGKILLed at random moments (inside PRAGMA
    rekey, a checkpoint, a slot-file write or the audit entry): afterwards the password
    opens the store with every record."""
    expected = no_keyring_store(store_folder, records_count=2500)
    rng = random.Random()
    seed_value = rng.randrange(2**32)
    rng.seed(seed_value)
    completed = 0
    for round_number in range(6):
        child = subprocess.Popen([sys.executable, "-c", REKEY_CHILD, str(store_folder), ADMIN_PASSWORD],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert child.stdout.readline().strip() == "rekeying", child.stderr.read()
            time.sleep(rng.uniform(0.0, 0.4))
            child.send_signal(signal.SIGKILL)
            out, _ = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        completed += out.count("rekeyed")
        where = f"round {round_number} (seed {seed_value})"
        with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
            assert records(store.db) == expected, where
            assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
            assert store.db.execute("PRAGMA cipher_integrity_check").fetchall() == [], where
            assert store.verify_audit().intact, where
    assert completed > 0  # kills landed after some rekeys had completed, not only before


# -- lost keyring ------------------------------------------------------------------------------

def test_recovery_code_opens_after_the_keyring_lost_the_device_secret(closed_store, store_folder,
                                                                     memory_keyring):
    code, expected, _ = closed_store
    memory_keyring.secrets.clear()
    before = file_hashes(store_folder, skip=())
    with pytest.raises(DeviceSecretMissing, match="recovery code"):
        Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    with pytest.raises(UnlockFailed):
        Store.recover(store_folder, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    assert file_hashes(store_folder) == {k: v for k, v in before.items() if k != ATTEMPTS_FILE}
    with Store.recover(store_folder, code) as recovered:
        assert records(recovered.db) == expected
        actions = [row[0] for row in recovered.db.execute("SELECT action FROM audit ORDER BY seq")]
        assert actions[-2:] == ["recovery_used", "device_rebound"]
    device_secrets = [name for _, name in memory_keyring.secrets if not name.endswith("/audit-anchor")]
    assert len(device_secrets) == 1  # a new device secret (beside the audit trail's anchor)
    # Everyone logs in again with their own password, and nothing was lost.
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        assert records(admin.db) == expected
        assert admin.verify_audit().intact
    with Store.unlock(store_folder, "pat", PAT_TEMPORARY) as pat:
        assert pat.user.must_change_password
