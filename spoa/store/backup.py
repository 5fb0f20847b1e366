"""Making a backup: an encrypted archive of the store, written whole or not at all (the
archive's layout is described in spoa.store.backup_archive).

The copy is made with SQLite's online backup API into a target connection that this
module keys itself with the data key and checks like every other connection
(:func:`spoa.store.database.connect`): one backup step reads a consistent snapshot while
other desks keep writing (write-ahead logging lets them). ``VACUUM INTO`` also yields an
encrypted file with SQLCipher 4, but only because the attached target silently inherits
the main database's key; here the key is explicit and checked, and the result is checked
again (it must not start with ``SQLite format 3``). The archive is written to a temporary
file beside its destination, fsynced and renamed, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import sqlcipher3

from spoa.roles import Permission
from spoa.store.anchors import head_of
from spoa.store.backup_archive import (
    ARCHIVE_COMMENT,
    ARCHIVE_FORMAT,
    ARCHIVE_VERSION,
    COPY_CHUNK,
    DATABASE_ENTRY,
    MANIFEST_ENTRY,
    SLOT_ENTRY,
    BackupProblem,
    BackupReport,
    StoreDamaged,
    TableSummary,
    applied_migrations,
    integrity_problems,
    manifest_mac,
    remove_database_files,
    schema_hash_of,
    sha256_of_file,
    table_summaries,
    utc_now,
)
from spoa.store.database import (
    DATABASE_FILE,
    SQLITE_CORRUPT,
    SQLITE_NOTADB,
    close,
    connect,
    is_plain_sqlite,
)
from spoa.store.keys import key_id
from spoa.store.keyslots import SLOT_FILE, _fsync_folder
from spoa.store.store import Store

# A page that fails its check (SQLCipher's HMAC, or SQLite's own structure checks).
DAMAGE_CODES = (SQLITE_CORRUPT, SQLITE_NOTADB)

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
    created = utc_now()
    staged = destination.parent / f".{destination.name}.{secrets.token_hex(6)}.db-copy"
    try:
        try:
            manifest, slot_bytes = _copy_database(store, data_key, staged, created)
            _write_archive(destination, manifest, slot_bytes, staged, created)
        finally:
            remove_database_files(staged)
    except BackupProblem:
        _audit_failure(store)
        raise
    except sqlcipher3.Error as exc:
        if _sqlite_code(exc) in DAMAGE_CODES:
            problem: BackupProblem = _damaged(store, str(exc))
        else:
            problem = _not_written(destination, str(exc))
        _audit_failure(store)
        raise problem from None
    except OSError as exc:
        _audit_failure(store)
        raise _not_written(destination, exc.strerror or str(exc)) from None
    store.audit("backup", "archive", manifest["database"]["sha256"][:16])
    store.anchor_audit()
    return BackupReport(destination, manifest["created_at"], manifest["database"]["sha256"],
                        destination.stat().st_size,
                        {name: TableSummary(**item) for name, item in manifest["tables"].items()})


def _audit_failure(store: Store) -> None:
    """Audit a failed backup when the database can still be written. A connection that met a
    damaged page refuses every write ('readonly'); that refusal must not replace the damage
    as the error the person is shown."""
    with contextlib.suppress(sqlcipher3.Error):
        store.audit("backup", "archive", "", outcome="failed")


def _sqlite_code(exc: sqlcipher3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _damaged(store: Store, detail: str) -> StoreDamaged:
    return StoreDamaged(
        f"The records database {store.folder / DATABASE_FILE} is damaged: part of it fails its "
        f"integrity check ({detail}). No backup was written, since a copy would carry the damage, "
        "and nothing in the store was changed. Restore the store from a backup made earlier "
        "('spoa restore BACKUP-FILE'); it keeps the damaged files beside it. Records entered since "
        "that backup will need entering again.")


def _not_written(destination: Path, detail: str) -> BackupProblem:
    return BackupProblem(f"The backup {destination} could not be written ({detail}). Nothing was "
                         "saved there; check the space and permissions of the folder.")


def _copy_database(store: Store, data_key: bytes, staged: Path, created: datetime) -> tuple[dict, bytes]:
    # Owner-only from the first byte; an empty file is an empty database to SQLite, and
    # its -wal and -shm inherit these permissions.
    os.close(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    target = connect(staged, data_key, empty_ok=True)
    try:
        # One step: a consistent snapshot; writers on other connections carry on (WAL).
        store.db.conn.backup(target.conn)
        problems = integrity_problems(target)
        if problems:
            raise _damaged(store, problems[0])
        tables = table_summaries(target, data_key)
        audit_head = head_of(target)
        schema_hash = schema_hash_of(target, data_key)
        applied = applied_migrations(target)
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
        "database": {"entry": DATABASE_ENTRY, "sha256": sha256_of_file(staged),
                     "size": staged.stat().st_size},
        "slot_file": {"entry": SLOT_ENTRY, "sha256": hashlib.sha256(slot_bytes).hexdigest(),
                      "size": len(slot_bytes)},
        "migrations": applied,
        "schema_hash": schema_hash,
        "content_hash": "hmac-sha256, key: HKDF(data key, 'spoa backup-manifest')",
        "tables": {name: {"rows": s.rows, "hash": s.hash} for name, s in tables.items()},
        "audit_anchor": audit_head.as_dict(),  # the trail's head in this copy (anchors.py)
    }
    manifest["mac"] = manifest_mac(manifest, data_key)
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
