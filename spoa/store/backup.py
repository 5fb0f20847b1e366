"""Backups of the encrypted store, and restoring one only after it proves whole.

The archive is one ZIP file whose entries are all *stored* (not compressed: the
database is encrypted and would not shrink, and stored entries keep the layout plain
enough to inspect with any zip tool). Entries, in this order:

``manifest.json``
    What the archive holds, and nothing about any patient: ``format``/``format_version``,
    ``created_at`` (UTC), ``installation_id``, ``key_id`` (the non-secret name of the data
    key), the ``sha256`` and size of the database copy and of the key file, the applied
    schema migrations, and per table its row count and a content hash. A content hash is
    an HMAC-SHA256 over the table's column names and rows in primary-key order, keyed by
    a subkey of the data key, so that it cannot be used to confirm a guess about a record
    (a plain hash of a table of one child would). ``mac`` authenticates the whole manifest
    the same way.
``keyslots.json``
    The key file as it was: the data key wrapped per user and by the recovery code.
``spoa.db``
    A page-for-page copy of the SQLCipher database, encrypted under the same data key.

The copy is made with SQLite's online backup API into a target connection that this
module keys itself with the data key and checks like every other connection
(:func:`spoa.store.database.connect`): one backup step reads a consistent snapshot while
other desks keep writing (write-ahead logging lets them). ``VACUUM INTO`` also yields an
encrypted file with SQLCipher 4, but only because the attached target silently inherits
the main database's key; here the key is explicit and checked, and the result is checked
again (it must not start with ``SQLite format 3``). The archive is written to a temporary
file beside its destination, fsynced and renamed, readable by its owner only.

Restoring checks everything before it touches the live store: the manifest, the
hashes of both files, that the credentials open the archive's key file and its key the
database, ``PRAGMA integrity_check`` and ``cipher_integrity_check``, the per-table
counts and content hashes and the manifest's MAC. Only then are the live files moved
aside as ``*.before-restore-<timestamp>`` (the old database together with any ``-wal``
and ``-shm`` of its own, so that nothing committed is lost and no stale log is ever
replayed into the restored database) and the verified copies renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import argon2.exceptions
import sqlcipher3
from sqlite_utils import Database

from spoa.roles import NotAllowed, Permission, Role, require
from spoa.store import schema
from spoa.store.database import (
    DATABASE_FILE,
    PLAIN_SQLITE_HEADER,
    StoreError,
    close,
    connect,
    is_plain_sqlite,
)
from spoa.store.device import KeyringUnavailable, check_backend, read_device_secret
from spoa.store.keys import (
    MINIMUM_KDF,
    KdfParams,
    WrongSecret,
    key_id,
    normalise_recovery_code,
    subkey,
)
from spoa.store.keyslots import SLOT_FILE, SlotFile, SlotFileProblem, _fsync_folder, open_slot
from spoa.store.store import (
    RECOVERY_USER,
    LockedOut,
    Store,
    UnlockAttempts,
    UnlockFailed,
    normalise_username,
)

ARCHIVE_FORMAT = "spoa-desk backup"
ARCHIVE_VERSION = 1
MANIFEST_ENTRY = "manifest.json"
SLOT_ENTRY = SLOT_FILE
DATABASE_ENTRY = DATABASE_FILE
ENTRIES = (MANIFEST_ENTRY, SLOT_ENTRY, DATABASE_ENTRY)
ARCHIVE_COMMENT = b"spoa-desk backup, format 1: manifest.json, keyslots.json, spoa.db (SQLCipher)"
SUGGESTED_SUFFIX = ".spoa-backup"
SMALL_ENTRY_LIMIT = 16 * 1024 * 1024  # the manifest and the key file are a few kB
COPY_CHUNK = 1024 * 1024
BEFORE_RESTORE = "before-restore"
MANIFEST_FIELDS = ("created_at", "installation_id", "key_id", "database", "slot_file", "migrations",
                   "schema_hash", "tables", "mac")
IN_USE_WAIT_MS = 1000


class BackupProblem(StoreError):
    """A backup could not be made or restored; the message says what and what to do."""


class ArchiveDamaged(BackupProblem):
    """The archive is damaged, tampered with or not a backup; nothing was changed."""


class StoreInUse(BackupProblem):
    pass


@dataclass(frozen=True)
class TableSummary:
    rows: int
    hash: str


@dataclass(frozen=True)
class BackupReport:
    path: Path
    created_at: str
    database_sha256: str
    size: int
    tables: dict[str, TableSummary]


@dataclass(frozen=True)
class RestoreReport:
    archive: Path
    folder: Path
    created_at: str
    tables: dict[str, TableSummary]
    kept: list[Path] = field(default_factory=list)  # the previous live files, renamed
    previous_checkpointed: bool = True  # False: the old database could not be opened first


def _now() -> datetime:
    return datetime.now(UTC)


# -- content hashes --------------------------------------------------------------------------

def _manifest_key(data_key: bytes) -> bytes:
    return subkey(data_key, "backup-manifest")


def _feed(mac, value) -> None:
    """An unambiguous encoding of one SQLite value (type tag, length, bytes)."""
    if value is None:
        mac.update(b"N")
    elif isinstance(value, int):
        encoded = str(value).encode("ascii")
        mac.update(b"I" + struct.pack(">I", len(encoded)) + encoded)
    elif isinstance(value, float):
        encoded = value.hex().encode("ascii")
        mac.update(b"F" + struct.pack(">I", len(encoded)) + encoded)
    elif isinstance(value, str):
        encoded = value.encode("utf-8", "surrogatepass")
        mac.update(b"T" + struct.pack(">Q", len(encoded)) + encoded)
    else:
        encoded = bytes(value)
        mac.update(b"B" + struct.pack(">Q", len(encoded)) + encoded)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_summaries(db: Database, data_key: bytes) -> dict[str, TableSummary]:
    """Row count and keyed content hash of every table, rows in primary-key order."""
    key = _manifest_key(data_key)
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\' ORDER BY name")]
    summaries = {}
    for name in names:
        table = db.table(name)
        pks = table.pks
        columns = [c.name for c in table.columns]
        selected = ["rowid", *columns] if pks == ["rowid"] else columns
        mac = hmac.new(key, name.encode("utf-8"), hashlib.sha256)
        for column in selected:
            _feed(mac, column)
        count = 0
        # Names come from sqlite_master and are quoted; no value is interpolated.
        cursor = db.execute(f"SELECT {', '.join(map(_quote, selected))} FROM {_quote(name)} "  # noqa: S608
                            f"ORDER BY {', '.join(map(_quote, pks))}")
        for row in cursor:
            count += 1
            mac.update(b"R")
            for value in row:
                _feed(mac, value)
        summaries[name] = TableSummary(count, mac.hexdigest())
    return summaries


def _schema_hash(db: Database, data_key: bytes) -> str:
    mac = hmac.new(_manifest_key(data_key), b"schema", hashlib.sha256)
    for row in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"):
        for value in row:
            _feed(mac, value)
    return mac.hexdigest()


def _manifest_mac(manifest: dict, data_key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(_manifest_key(data_key), payload.encode("ascii"), hashlib.sha256).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(COPY_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _applied_migrations(db: Database) -> list[str]:
    return [m.name for m in schema.migrations.applied(db)]


def _integrity_problems(db: Database) -> list[str]:
    problems = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
    if problems == ["ok"]:
        problems = []
    problems += [" ".join(map(str, r)) for r in db.execute("PRAGMA cipher_integrity_check").fetchall()]
    return problems


def _remove_database_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# -- backup ----------------------------------------------------------------------------------

def backup(store: Store, destination: Path, *, overwrite: bool = False) -> BackupReport:
    """Write an encrypted archive of ``store`` to ``destination`` (admin only; audited).

    Other desks may keep working meanwhile. Nothing is left at ``destination`` unless
    the whole archive was written and synced.
    """
    store.require(Permission.BACKUP_RESTORE)
    destination = Path(destination).absolute()
    if destination.is_dir():
        raise BackupProblem(f"{destination} is a folder; give a file name for the backup.")
    if destination.exists() and not overwrite:
        raise BackupProblem(f"{destination} already exists. Choose another name, or replace it "
                            "on purpose (--overwrite).")
    if not destination.parent.is_dir():
        raise BackupProblem(f"The folder {destination.parent} does not exist; create it first.")
    live = {store.folder.absolute() / name for name in (DATABASE_FILE, SLOT_FILE)}
    if destination in live:
        raise BackupProblem(f"{destination} is one of the store's own files; choose another name.")
    data_key = store._data_key  # the backup is keyed like the store itself
    created = _now()
    staged = destination.parent / f".{destination.name}.{secrets.token_hex(6)}.db-copy"
    try:
        try:
            manifest, slot_bytes = _copy_database(store, data_key, staged, created)
            _write_archive(destination, manifest, slot_bytes, staged, created)
        finally:
            _remove_database_files(staged)
    except BackupProblem:
        store.audit("backup", "archive", "", outcome="failed")
        raise
    except (OSError, sqlcipher3.Error) as exc:
        store.audit("backup", "archive", "", outcome="failed")
        detail = getattr(exc, "strerror", None) or str(exc)
        raise BackupProblem(f"The backup {destination} could not be written ({detail}). Nothing "
                            "was saved there; check the space and permissions of the folder.") from None
    store.audit("backup", "archive", manifest["database"]["sha256"][:16])
    return BackupReport(destination, manifest["created_at"], manifest["database"]["sha256"],
                        destination.stat().st_size,
                        {name: TableSummary(**item) for name, item in manifest["tables"].items()})


def _copy_database(store: Store, data_key: bytes, staged: Path, created: datetime) -> tuple[dict, bytes]:
    # Owner-only from the first byte; an empty file is an empty database to SQLite, and
    # its -wal and -shm inherit these permissions.
    os.close(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    target = connect(staged, data_key)
    try:
        # One step: a consistent snapshot; writers on other connections carry on (WAL).
        store.db.conn.backup(target.conn)
        problems = _integrity_problems(target)
        if problems:
            raise BackupProblem("The copy of the database did not pass its integrity check "
                                f"({problems[0]}); no backup was written. Run 'spoa audit verify' "
                                "and ask for help before relying on this store.")
        tables = table_summaries(target, data_key)
        schema_hash = _schema_hash(target, data_key)
        applied = _applied_migrations(target)
    finally:
        close(target)
    if is_plain_sqlite(staged) or staged.stat().st_size == 0:
        raise BackupProblem("The database copy is not encrypted; no backup was written.")
    slot_bytes = store.slots.path.read_bytes()
    try:
        slots = json.loads(slot_bytes)
        key_ids = {slot["key_id"] for slot in slots["slots"]}
    except (ValueError, KeyError, TypeError):
        raise BackupProblem(f"The key file {store.slots.path} could not be read; no backup was "
                            "written.") from None
    if key_id(data_key) not in key_ids:
        raise BackupProblem("The key file changed while the backup was made (a rekey?); no "
                            "backup was written. Run the backup again.")
    manifest = {
        "format": ARCHIVE_FORMAT,
        "format_version": ARCHIVE_VERSION,
        "created_at": created.isoformat(timespec="seconds"),
        "installation_id": store.slots.installation_id,
        "key_id": key_id(data_key),
        "database": {"entry": DATABASE_ENTRY, "sha256": _sha256_file(staged),
                     "size": staged.stat().st_size},
        "slot_file": {"entry": SLOT_ENTRY, "sha256": hashlib.sha256(slot_bytes).hexdigest(),
                      "size": len(slot_bytes)},
        "migrations": applied,
        "schema_hash": schema_hash,
        "content_hash": "hmac-sha256, key: HKDF(data key, 'spoa backup-manifest')",
        "tables": {name: {"rows": s.rows, "hash": s.hash} for name, s in tables.items()},
    }
    manifest["mac"] = _manifest_mac(manifest, data_key)
    return manifest, slot_bytes


def _entry(name: str, created: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=created.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    return info


def _write_archive(destination: Path, manifest: dict, slot_bytes: bytes, staged: Path,
                   created: datetime) -> None:
    temporary = destination.parent / f".{destination.name}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(handle, "w+b") as out:
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.comment = ARCHIVE_COMMENT
                archive.writestr(_entry(MANIFEST_ENTRY, created),
                                 json.dumps(manifest, indent=2, sort_keys=True).encode("ascii"))
                archive.writestr(_entry(SLOT_ENTRY, created), slot_bytes)
                with archive.open(_entry(DATABASE_ENTRY, created), "w", force_zip64=True) as entry, \
                        open(staged, "rb") as source:
                    shutil.copyfileobj(source, entry, COPY_CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(destination.parent)


# -- reading an archive ----------------------------------------------------------------------

@dataclass
class _Archive:
    path: Path
    manifest: dict
    slot_bytes: bytes


def _damaged(path: Path, what: str) -> ArchiveDamaged:
    return ArchiveDamaged(f"The backup {path} {what}. Nothing was changed; use another copy of "
                          "the backup.")


def _read_archive(path: Path) -> _Archive:
    if not path.is_file():
        raise BackupProblem(f"There is no backup file at {path}.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            for name in ENTRIES:
                if names.count(name) != 1:
                    what = "is missing" if name not in names else "appears more than once"
                    raise _damaged(path, f"is not a complete backup: {name} {what}")
            unexpected = sorted(set(names) - set(ENTRIES))
            if unexpected:
                raise _damaged(path, f"holds entries a backup never has ({', '.join(unexpected)})")
            small = {}
            for name in (MANIFEST_ENTRY, SLOT_ENTRY):
                if archive.getinfo(name).file_size > SMALL_ENTRY_LIMIT:
                    raise _damaged(path, f"has an implausibly large {name}")
                small[name] = archive.read(name)  # checks the entry's CRC
    except ArchiveDamaged:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise _damaged(path, "is damaged or is not a desk backup (not a readable archive)") from None
    except OSError as exc:
        raise BackupProblem(f"The backup {path} could not be read ({exc.strerror or exc}).") from None
    try:
        manifest = json.loads(small[MANIFEST_ENTRY].decode("utf-8"))
        if manifest.get("format") != ARCHIVE_FORMAT:
            raise _damaged(path, "is not a desk backup (its manifest names another format)")
        if manifest.get("format_version") != ARCHIVE_VERSION:
            raise BackupProblem(
                f"The backup {path} is format {manifest.get('format_version')!r}; this version of "
                f"the desk reads format {ARCHIVE_VERSION}. Install the matching version of the desk.")
        missing = [key for key in MANIFEST_FIELDS if key not in manifest]
        if missing or not isinstance(manifest["tables"], dict):
            raise _damaged(path, f"has a damaged manifest (missing {', '.join(missing) or 'tables'})")
        for entry in ("database", "slot_file"):
            if not isinstance(manifest[entry].get("sha256"), str):
                raise _damaged(path, f"has a damaged manifest (no checksum for {entry})")
    except (ArchiveDamaged, BackupProblem):
        raise
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise _damaged(path, "has a damaged manifest") from None
    if hashlib.sha256(small[SLOT_ENTRY]).hexdigest() != manifest["slot_file"]["sha256"]:
        raise _damaged(path, "has a key file that does not match its manifest")
    return _Archive(path, manifest, small[SLOT_ENTRY])


def _extract_database(archive: _Archive, target: Path) -> None:
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(archive.path) as bundle, bundle.open(DATABASE_ENTRY) as source:
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as out:
                for chunk in iter(lambda: source.read(COPY_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
    except (zipfile.BadZipFile, EOFError):
        raise _damaged(archive.path, "has a damaged database copy (its checksum does not match)") from None
    if digest.hexdigest() != archive.manifest["database"]["sha256"]:
        raise _damaged(archive.path, "has a database copy that does not match its manifest")
    with open(target, "rb") as handle:
        if handle.read(len(PLAIN_SQLITE_HEADER)) == PLAIN_SQLITE_HEADER:
            raise _damaged(archive.path, "holds an unencrypted database, which the desk never "
                                         "restores; tell your information governance lead")


# -- restore ---------------------------------------------------------------------------------

def restore(archive_path: Path, folder: Path, *, username: str | None = None,
            password: str | None = None, recovery_code: str | None = None) -> RestoreReport:
    """Replace the store in ``folder`` with the one in the archive, after proving it whole.

    The credentials are those that open the *archive*: an active administrator's username
    and password (on the computer the backup was made on), or the recovery code (any
    computer; the store is then bound to this one). A failure at any check leaves the
    live files exactly as they were.
    """
    if (password is None) == (recovery_code is None):
        raise ValueError("give either a username and password or the recovery code")
    archive_path = Path(archive_path).absolute()
    folder = Path(folder).absolute()
    archive = _read_archive(archive_path)
    created = next((f for f in reversed([folder, *folder.parents]) if not f.exists()), None)
    staging = folder / f".restore-{secrets.token_hex(6)}"
    try:
        if created is not None:
            folder.mkdir(parents=True, mode=0o700)
        staging.mkdir(mode=0o700)
        name, kept, checkpointed = _restore_verified(archive, folder, staging, created is not None,
                                                     username, password, recovery_code)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, NotAllowed):
            raise BackupProblem(f"The backup could not be restored into {folder} "
                                f"({exc.strerror or exc}). Nothing was changed; check the space and "
                                "permissions of the folder.") from None
        raise
    shutil.rmtree(staging, ignore_errors=True)
    if password is not None:
        store = Store.unlock(folder, name, password)
    else:
        store = Store.recover(folder, recovery_code or "")
    with store:
        store.audit("restore", "archive", archive.manifest["database"]["sha256"][:16])
    tables = {k: TableSummary(int(v["rows"]), str(v["hash"])) for k, v in archive.manifest["tables"].items()}
    return RestoreReport(archive_path, folder, str(archive.manifest["created_at"]), tables, kept,
                         checkpointed)


def _restore_verified(archive: _Archive, folder: Path, staging: Path, new_folder: bool,
                      username: str | None, password: str | None,
                      recovery_code: str | None) -> tuple[str, list[Path], bool]:
    """Stage and verify the archive's files in ``staging``, then swap them in."""
    (staging / SLOT_FILE).write_bytes(archive.slot_bytes)
    try:
        slots = SlotFile.load(staging)
        if not all(_plausible_kdf(slot.kdf) for slot in slots.slots):
            raise SlotFileProblem("key derivation settings out of range")
    except (SlotFileProblem, ValueError, KeyError, TypeError, AttributeError):
        raise _damaged(archive.path, "has a key file that cannot be read") from None
    _extract_database(archive, staging / DATABASE_FILE)
    try:
        if password is not None:
            name, data_key = _key_from_password(slots, folder, new_folder, username or "", password)
        else:
            name, data_key = RECOVERY_USER, _key_from_recovery_code(slots, folder, new_folder,
                                                                   recovery_code or "")
    except (argon2.exceptions.Argon2Error, MemoryError, ValueError):
        raise _damaged(archive.path, "has a key file that cannot be read") from None
    if key_id(data_key) != archive.manifest["key_id"]:
        raise _damaged(archive.path, "has a key file that does not belong to its database")
    _verify_copy(archive, staging / DATABASE_FILE, data_key, name)
    kept, checkpointed = _replace_live(folder, staging, data_key, username, password, recovery_code)
    return name, kept, checkpointed


def _plausible_kdf(params: KdfParams) -> bool:
    """Slot settings a real key file can hold: not below the floor, not absurd (a tampered
    file must not make the restore spend hours or all memory deriving a key)."""
    return (params.meets(MINIMUM_KDF) and params.time_cost <= 64 and params.parallelism <= 64
            and params.memory_kib <= 16 * 1024 * 1024)


def _key_from_password(slots: SlotFile, folder: Path, made_folder: bool, username: str,
                       password: str) -> tuple[str, bytes]:
    failed = UnlockFailed("Unlock failed: the username or password does not open this backup. "
                          "Nothing was changed.")
    try:
        name = normalise_username(username)
    except StoreError:
        raise failed from None
    attempts = None if made_folder else UnlockAttempts(folder)
    if attempts is not None:
        wait = attempts.wait_seconds(name)
        if wait:
            raise LockedOut(wait)
    device = None
    if slots.uses_keyring:
        device = read_device_secret(slots.installation_id)
        if device is None:
            raise BackupProblem(
                "This backup is bound to the computer it was made on, and this computer's keyring "
                "does not hold that binding, so passwords cannot open it here. Restore it with the "
                "recovery code instead (--recovery-code). Nothing was changed.")
    for slot in slots.user_slots(name):
        try:
            return name, open_slot(slot, password, device)
        except WrongSecret:
            continue
    if attempts is not None:
        attempts.failed(name)
    raise failed


def _key_from_recovery_code(slots: SlotFile, folder: Path, made_folder: bool, code: str) -> bytes:
    if slots.uses_keyring:
        check_backend()  # the store will be bound to this computer: find out now, not after
    attempts = None if made_folder else UnlockAttempts(folder)
    if attempts is not None:
        wait = attempts.wait_seconds(RECOVERY_USER)
        if wait:
            raise LockedOut(wait)
    normalised = normalise_recovery_code(code)
    for slot in slots.recovery_slots():
        try:
            return open_slot(slot, normalised, None)
        except WrongSecret:
            continue
    if attempts is not None:
        attempts.failed(RECOVERY_USER)
    raise UnlockFailed("The recovery code does not open this backup. Check it and try again. "
                       "Nothing was changed.")


def _verify_copy(archive: _Archive, path: Path, data_key: bytes, username: str) -> None:
    manifest = archive.manifest
    try:
        db = connect(path, data_key)
    except (StoreError, sqlcipher3.DatabaseError):
        raise _damaged(archive.path, "has a database copy that its own key does not open "
                                     "(damaged or replaced)") from None
    try:
        try:
            problems = _integrity_problems(db)
            if problems:
                raise _damaged(archive.path, f"failed the database integrity check ({problems[0]})")
            if not hmac.compare_digest(_manifest_mac(manifest, data_key), str(manifest["mac"])):
                raise _damaged(archive.path, "has a manifest that was altered after the backup was made")
            known = {m.name for m in schema.migrations._migrations}
            newer = [name for name in _applied_migrations(db) if name not in known]
            if newer:
                raise BackupProblem(f"The backup {archive.path} was made by a newer version of the "
                                    "desk; install that version to restore it. Nothing was changed.")
            if _schema_hash(db, data_key) != manifest["schema_hash"]:
                raise _damaged(archive.path, "has a database whose structure does not match its manifest")
            found = table_summaries(db, data_key)
            expected = manifest["tables"]
            for table in sorted(set(found) | set(expected)):
                item = expected.get(table) or {}
                summary = found.get(table)
                if summary is None or summary.rows != item.get("rows") or summary.hash != item.get("hash"):
                    raise _damaged(archive.path, f"does not match its manifest in table {table}")
            if username != RECOVERY_USER:
                row = db.execute("SELECT role, active FROM users WHERE username = ?",
                                 [username]).fetchone()
                if row is None or not row[1]:
                    raise UnlockFailed("Unlock failed: this account is not active in the backup. "
                                       "Nothing was changed.")
                require(Role(row[0]), Permission.BACKUP_RESTORE)
        except sqlcipher3.DatabaseError:
            raise _damaged(archive.path, "has a damaged database copy") from None
    finally:
        close(db)


def _replace_live(folder: Path, staging: Path, data_key: bytes, username: str | None,
                  password: str | None, recovery_code: str | None) -> tuple[list[Path], bool]:
    live_db = folder / DATABASE_FILE
    checkpointed = True
    if live_db.exists():
        checkpointed = _quiesce(live_db, _live_keys(folder, data_key, username, password, recovery_code))
    stamp = _now().strftime("%Y%m%dT%H%M%S%fZ")
    moves: list[tuple[Path, Path]] = []
    # The old database with its own -wal and -shm, renamed together: a committed
    # transaction still in the old log stays with the old database, and no stale log is
    # left beside the restored one (SQLite would replay it into the wrong file).
    for name, aside in ((DATABASE_FILE, f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}"),
                        (f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}-wal"),
                        (f"{DATABASE_FILE}-shm", f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}-shm"),
                        (SLOT_FILE, f"{SLOT_FILE}.{BEFORE_RESTORE}-{stamp}")):
        if (folder / name).exists():
            moves.append((folder / name, folder / aside))
    moves += [(staging / SLOT_FILE, folder / SLOT_FILE), (staging / DATABASE_FILE, folder / DATABASE_FILE)]
    done: list[tuple[Path, Path]] = []
    try:
        for source, target in moves:
            if target.exists():
                raise BackupProblem(f"{target} appeared during the restore; nothing was replaced.")
            os.rename(source, target)
            done.append((source, target))
        _fsync_folder(folder)
    except BaseException:
        for source, target in reversed(done):  # put every file back where it was
            with contextlib.suppress(OSError):
                os.rename(target, source)
        with contextlib.suppress(OSError):
            _fsync_folder(folder)
        raise
    kept = [target for _, target in moves[:-2]]
    if checkpointed:
        # The old database was closed by us with nothing left in its log: its -shm is a
        # stale index that holds no data.
        for stale in [path for path in kept if path.name.endswith("-shm")]:
            stale.unlink(missing_ok=True)
            kept.remove(stale)
    return kept, checkpointed


def _live_keys(folder: Path, archive_key: bytes, username: str | None, password: str | None,
               recovery_code: str | None):
    """Keys that may open the live database: the archive's own (no rekey since), else the
    live key file opened with the same credentials."""
    yield archive_key
    try:
        live_slots = SlotFile.load(folder)
    except SlotFileProblem:
        return
    if password is not None:
        try:
            name = normalise_username(username or "")
            device = (read_device_secret(live_slots.installation_id)
                      if live_slots.uses_keyring else None)
        except (StoreError, KeyringUnavailable):
            return
        candidates = [(slot, password, device) for slot in live_slots.user_slots(name)]
    else:
        code = normalise_recovery_code(recovery_code or "")
        candidates = [(slot, code, None) for slot in live_slots.recovery_slots()]
    for slot, secret, device in candidates:
        if slot.key_id == key_id(archive_key):
            continue
        try:
            yield open_slot(slot, secret, device)
        except WrongSecret:
            continue


def _quiesce(live_db: Path, keys) -> bool:
    """Make sure no desk has the live database open, and fold its log into it.

    Returns False when no key opens it (damaged, or from another key): it is then moved
    aside as it is, with its log beside it.
    """
    for data_key in keys:
        try:
            db = connect(live_db, data_key)
        except StoreError:
            continue
        except sqlcipher3.DatabaseError:
            return False
        try:
            db.execute(f"PRAGMA busy_timeout = {IN_USE_WAIT_MS}")
            # Exclusive locking mode on a WAL database: refused while any other connection,
            # in this process or another, has the database open.
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("COMMIT")
        except sqlcipher3.DatabaseError as exc:
            db.conn.close()  # no checkpoint: another desk's files stay exactly as they are
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreInUse(
                    f"The store in {live_db.parent} is open in a desk (here or on another "
                    "computer). Close the desk everywhere, then restore again. Nothing was "
                    "changed.") from None
            return False  # damaged: moved aside as it is
        try:
            busy, log, done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return busy == 0 and log in (0, done)
        except sqlcipher3.DatabaseError:
            return False
        finally:
            close(db)
    return False


__all__ = ["ArchiveDamaged", "BackupProblem", "BackupReport", "RestoreReport", "StoreInUse",
           "backup", "restore", "table_summaries"]
