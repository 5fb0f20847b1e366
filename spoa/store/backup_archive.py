"""The backup archive: its entries and manifest, the problems a backup can meet, the keyed
content hashes that prove a copy whole, reading an archive back with its checks, and the
comparison of a backup's records with the live store's shown before a restore
(spoa.store.backup writes one, spoa.store.restore restores one).

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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from spoa.store import schema
from spoa.store.anchors import Anchor, AnchorCheck
from spoa.store.database import DATABASE_FILE, PLAIN_SQLITE_HEADER, StoreError
from spoa.store.keys import key_id, subkey
from spoa.store.keyslots import SLOT_FILE

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


class StoreDamaged(BackupProblem):
    """The store's own database is damaged, so no backup of it was made."""


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
class RecordCount:
    """One kind of record in the live store and in a backup: how many, and when the newest
    was entered (UTC; None when there are none, or the live database cannot be read)."""

    table: str
    live_rows: int | None  # None: the live database cannot be read
    backup_rows: int
    live_newest: datetime | None
    backup_newest: datetime | None


@dataclass(frozen=True)
class RestoreComparison:
    """What restoring a backup over the live store would take out of use, shown before
    anything is replaced."""

    backup_made_at: datetime
    same_store: bool  # the backup was made of this store (same installation)
    tables: tuple[RecordCount, ...]

    @property
    def live_readable(self) -> bool:
        return all(t.live_rows is not None for t in self.tables)

    @property
    def newer_in_live(self) -> tuple[str, ...]:
        """Tables whose newest live entry is later than anything in the backup: entries
        that are only in the live store."""
        return tuple(t.table for t in self.tables if t.live_newest is not None
                     and (t.backup_newest is None or t.live_newest > t.backup_newest))


@dataclass(frozen=True)
class RestoreReport:
    archive: Path
    folder: Path
    created_at: str
    tables: dict[str, TableSummary]
    kept: list[Path] = field(default_factory=list)  # the previous live files, set aside
    previous_checkpointed: bool = True  # False: the old database could not be opened first
    over_live: bool = False  # replaced a live store: its users and keys were kept


def utc_now() -> datetime:
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


def schema_hash_of(db: Database, data_key: bytes) -> str:
    mac = hmac.new(_manifest_key(data_key), b"schema", hashlib.sha256)
    for row in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"):
        for value in row:
            _feed(mac, value)
    return mac.hexdigest()


def manifest_mac(manifest: dict, data_key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(_manifest_key(data_key), payload.encode("ascii"), hashlib.sha256).hexdigest()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(COPY_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def applied_migrations(db: Database) -> list[str]:
    return [m.name for m in schema.migrations.applied(db)]


def integrity_problems(db: Database) -> list[str]:
    problems = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
    if problems == ["ok"]:
        problems = []
    problems += [" ".join(map(str, r)) for r in db.execute("PRAGMA cipher_integrity_check").fetchall()]
    return problems


def remove_database_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)



# -- comparing a backup with the live store --------------------------------------------------

# The records a person would miss, and the column saying when each was entered.
COMPARED_TABLES = (("contacts", "created_at"), ("children", "created_at"), ("referrals", "created_at"),
                   ("advice_requests", "created_at"), ("audit", "at"))


def _parsed(text) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count_and_newest(db: Database, table: str, column: str) -> tuple[int, datetime | None]:
    if not db[table].exists():
        return 0, None
    # Names come from COMPARED_TABLES above; no value is interpolated.
    rows, newest = db.execute(f"SELECT count(*), max({_quote(column)}) FROM {_quote(table)}").fetchone()  # noqa: S608
    return int(rows), _parsed(newest) if newest is not None else None


def compare_records(live: Database | None, backup: Database, *, backup_made_at: str,
                    same_store: bool) -> RestoreComparison:
    """Counts and newest entries of the main records in the live store (None: it cannot be
    read) and in the backup's database."""
    counts = []
    for table, column in COMPARED_TABLES:
        backup_rows, backup_newest = _count_and_newest(backup, table, column)
        live_rows, live_newest = (None, None) if live is None else _count_and_newest(live, table, column)
        counts.append(RecordCount(table, live_rows, backup_rows, live_newest, backup_newest))
    made = _parsed(backup_made_at) or datetime.fromtimestamp(0, UTC)
    return RestoreComparison(made, same_store, tuple(counts))


# -- reading an archive ----------------------------------------------------------------------

@dataclass
class BackupArchive:
    path: Path
    manifest: dict
    slot_bytes: bytes


# What zipfile raises for an archive it cannot read: a damaged one, or one whose entries
# claim a compression method, an encryption flag or a version it does not handle (edited
# metadata): each is "not a valid backup", never a traceback.
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError,
               RuntimeError, zlib.error)


def damaged(path: Path, what: str) -> ArchiveDamaged:
    return ArchiveDamaged(f"The backup {path} {what}. Nothing was changed; use another copy of "
                          "the backup.")


def read_archive(path: Path) -> BackupArchive:
    if not path.is_file():
        raise BackupProblem(f"There is no backup file at {path}.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            for name in ENTRIES:
                if names.count(name) != 1:
                    what = "is missing" if name not in names else "appears more than once"
                    raise damaged(path, f"is not a complete backup: {name} {what}")
            unexpected = sorted(set(names) - set(ENTRIES))
            if unexpected:
                raise damaged(path, f"holds entries a backup never has ({', '.join(unexpected)})")
            small = {}
            for name in (MANIFEST_ENTRY, SLOT_ENTRY):
                if archive.getinfo(name).file_size > SMALL_ENTRY_LIMIT:
                    raise damaged(path, f"has an implausibly large {name}")
                small[name] = archive.read(name)  # checks the entry's CRC
    except ArchiveDamaged:
        raise
    except _UNREADABLE:
        raise damaged(path, "is damaged or is not a desk backup (not a readable archive)") from None
    except OSError as exc:
        raise BackupProblem(f"The backup {path} could not be read ({exc.strerror or exc}).") from None
    try:
        manifest = json.loads(small[MANIFEST_ENTRY].decode("utf-8"))
        if manifest.get("format") != ARCHIVE_FORMAT:
            raise damaged(path, "is not a desk backup (its manifest names another format)")
        if manifest.get("format_version") != ARCHIVE_VERSION:
            raise BackupProblem(
                f"The backup {path} is format {manifest.get('format_version')!r}; this version of "
                f"the desk reads format {ARCHIVE_VERSION}. Install the matching version of the desk.")
        missing = [key for key in MANIFEST_FIELDS if key not in manifest]
        if missing or not isinstance(manifest["tables"], dict):
            raise damaged(path, f"has a damaged manifest (missing {', '.join(missing) or 'tables'})")
        for entry in ("database", "slot_file"):
            if not isinstance(manifest[entry].get("sha256"), str):
                raise damaged(path, f"has a damaged manifest (no checksum for {entry})")
    except (ArchiveDamaged, BackupProblem):
        raise
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise damaged(path, "has a damaged manifest") from None
    if hashlib.sha256(small[SLOT_ENTRY]).hexdigest() != manifest["slot_file"]["sha256"]:
        raise damaged(path, "has a key file that does not match its manifest")
    return BackupArchive(path, manifest, small[SLOT_ENTRY])


def extract_database(archive: BackupArchive, target: Path) -> None:
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
    except _UNREADABLE:
        raise damaged(archive.path, "has a damaged database copy (its checksum does not match)") from None
    if digest.hexdigest() != archive.manifest["database"]["sha256"]:
        raise damaged(archive.path, "has a database copy that does not match its manifest")
    with open(target, "rb") as handle:
        if handle.read(len(PLAIN_SQLITE_HEADER)) == PLAIN_SQLITE_HEADER:
            raise damaged(archive.path, "holds an unencrypted database, which the desk never "
                                         "restores; tell your information governance lead")


def backup_anchor(path: Path, installation_id: str, data_key: bytes) -> AnchorCheck:
    """The audit anchor in the backup at ``path``, not yet compared with a trail (for
    ``anchors.checks``). It holds no anchor, with the reason in its note, when the file
    is not a readable backup of this store or was made before backups carried one; a
    manifest altered since it was made is a problem of its own."""
    place = f"the backup {path.name}"
    try:
        manifest = read_archive(path).manifest
    except BackupProblem as exc:
        return AnchorCheck(place, None, note=f"it could not be read ({exc})")
    if manifest.get("installation_id") != installation_id:
        return AnchorCheck(place, None, note="it is a backup of another store")
    kept = Anchor.from_dict(manifest.get("audit_anchor"))
    if kept is None:
        return AnchorCheck(place, None, note="it was made by an earlier version, which kept no anchor")
    if manifest.get("key_id") != key_id(data_key):
        return AnchorCheck(place, kept, note="it was made under an earlier data key, so the seal "
                                             "on its manifest could not be checked")
    if not hmac.compare_digest(manifest_mac(manifest, data_key), str(manifest.get("mac"))):
        return AnchorCheck(place, kept, problem="its manifest was altered after the backup was made")
    return AnchorCheck(place, kept)
