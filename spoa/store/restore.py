"""Restoring a backup into a store folder, only after the archive proves whole.

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
import hmac
import os
import secrets
import shutil
from pathlib import Path

import argon2.exceptions
import sqlcipher3

from spoa.roles import NotAllowed, Permission, Role, require
from spoa.store import schema
from spoa.store.attempts import UnlockAttempts, counted_attempt
from spoa.store.backup_archive import (
    BEFORE_RESTORE,
    IN_USE_WAIT_MS,
    BackupArchive,
    BackupProblem,
    RestoreReport,
    StoreInUse,
    TableSummary,
    applied_migrations,
    damaged,
    extract_database,
    integrity_problems,
    manifest_mac,
    read_archive,
    schema_hash_of,
    table_summaries,
    utc_now,
)
from spoa.store.database import DATABASE_FILE, StoreError, close, connect
from spoa.store.device import KeyringUnavailable, check_backend, read_device_secret
from spoa.store.keys import (
    MINIMUM_KDF,
    KdfParams,
    WrongSecret,
    key_id,
    normalise_recovery_code,
)
from spoa.store.keyslots import SLOT_FILE, SlotFile, SlotFileProblem, _fsync_folder, open_slot
from spoa.store.store import (
    RECOVERY_USER,
    Store,
    UnlockFailed,
    normalise_username,
)

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
    archive = read_archive(archive_path)
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
    _owner_only(folder, kept)
    if password is not None:
        store = Store.unlock(folder, name, password)
    else:
        store = Store.recover(folder, recovery_code or "")
    with store:
        store.audit("restore", "archive", archive.manifest["database"]["sha256"][:16])
    tables = {k: TableSummary(int(v["rows"]), str(v["hash"])) for k, v in archive.manifest["tables"].items()}
    return RestoreReport(archive_path, folder, str(archive.manifest["created_at"]), tables, kept,
                         checkpointed)


def _restore_verified(archive: BackupArchive, folder: Path, staging: Path, new_folder: bool,
                      username: str | None, password: str | None,
                      recovery_code: str | None) -> tuple[str, list[Path], bool]:
    """Stage and verify the archive's files in ``staging``, then swap them in."""
    handle = os.open(staging / SLOT_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(archive.slot_bytes)
    try:
        slots = SlotFile.load(staging)
        if not all(_plausible_kdf(slot.kdf) for slot in slots.slots):
            raise SlotFileProblem("key derivation settings out of range")
    except (SlotFileProblem, ValueError, KeyError, TypeError, AttributeError):
        raise damaged(archive.path, "has a key file that cannot be read") from None
    extract_database(archive, staging / DATABASE_FILE)
    try:
        if password is not None:
            name, data_key = _key_from_password(slots, folder, new_folder, username or "", password)
        else:
            name, data_key = RECOVERY_USER, _key_from_recovery_code(slots, folder, new_folder,
                                                                   recovery_code or "")
    except (argon2.exceptions.Argon2Error, MemoryError, ValueError):
        raise damaged(archive.path, "has a key file that cannot be read") from None
    if key_id(data_key) != archive.manifest["key_id"]:
        raise damaged(archive.path, "has a key file that does not belong to its database")
    _verify_copy(archive, staging / DATABASE_FILE, data_key, name)
    kept, checkpointed = _replace_live(folder, staging, data_key, username, password, recovery_code)
    return name, kept, checkpointed


def _owner_only(folder: Path, kept: list[Path]) -> None:
    """As 'spoa init' leaves them: the folder 0700, the store's files and the copies kept
    from before the restore 0600, whatever the folder was before."""
    if os.name != "posix":
        return
    os.chmod(folder, 0o700)
    for path in (folder / DATABASE_FILE, folder / SLOT_FILE, *kept):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, 0o600)


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
    counter = None if made_folder else UnlockAttempts(folder)
    with counted_attempt(counter, name) as attempt:
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
                # Right: earlier failures stay, for the next unlock to audit.
                return name, open_slot(slot, password, device)
            except WrongSecret:
                continue
        attempt.failed()
    raise failed


def _key_from_recovery_code(slots: SlotFile, folder: Path, made_folder: bool, code: str) -> bytes:
    if slots.uses_keyring:
        check_backend()  # the store will be bound to this computer: find out now, not after
    counter = None if made_folder else UnlockAttempts(folder)
    with counted_attempt(counter, RECOVERY_USER) as attempt:
        normalised = normalise_recovery_code(code)
        for slot in slots.recovery_slots():
            try:
                return open_slot(slot, normalised, None)
            except WrongSecret:
                continue
        attempt.failed()
    raise UnlockFailed("The recovery code does not open this backup. Check it and try again. "
                       "Nothing was changed.")


def _verify_copy(archive: BackupArchive, path: Path, data_key: bytes, username: str) -> None:
    manifest = archive.manifest
    try:
        db = connect(path, data_key)
    except (StoreError, sqlcipher3.DatabaseError):
        raise damaged(archive.path, "has a database copy that its own key does not open "
                                     "(damaged or replaced)") from None
    try:
        try:
            problems = integrity_problems(db)
            if problems:
                raise damaged(archive.path, f"failed the database integrity check ({problems[0]})")
            if not hmac.compare_digest(manifest_mac(manifest, data_key), str(manifest["mac"])):
                raise damaged(archive.path, "has a manifest that was altered after the backup was made")
            known = {m.name for m in schema.migrations._migrations}
            newer = [name for name in applied_migrations(db) if name not in known]
            if newer:
                raise BackupProblem(f"The backup {archive.path} was made by a newer version of the "
                                    "desk; install that version to restore it. Nothing was changed.")
            if schema_hash_of(db, data_key) != manifest["schema_hash"]:
                raise damaged(archive.path, "has a database whose structure does not match its manifest")
            found = table_summaries(db, data_key)
            expected = manifest["tables"]
            for table in sorted(set(found) | set(expected)):
                item = expected.get(table) or {}
                summary = found.get(table)
                if summary is None or summary.rows != item.get("rows") or summary.hash != item.get("hash"):
                    raise damaged(archive.path, f"does not match its manifest in table {table}")
            if username != RECOVERY_USER:
                row = db.execute("SELECT role, active FROM users WHERE username = ?",
                                 [username]).fetchone()
                if row is None or not row[1]:
                    raise UnlockFailed("Unlock failed: this account is not active in the backup. "
                                       "Nothing was changed.")
                require(Role(row[0]), Permission.BACKUP_RESTORE)
        except sqlcipher3.DatabaseError:
            raise damaged(archive.path, "has a damaged database copy") from None
    finally:
        close(db)


def _replace_live(folder: Path, staging: Path, data_key: bytes, username: str | None,
                  password: str | None, recovery_code: str | None) -> tuple[list[Path], bool]:
    live_db = folder / DATABASE_FILE
    checkpointed = True
    if live_db.exists():
        checkpointed = _quiesce(live_db, _live_keys(folder, data_key, username, password, recovery_code))
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
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
