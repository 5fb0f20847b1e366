"""Restoring a backup into a store folder, only after the archive proves whole, on the
live store's authority.

Who may restore:

* **Over a live store** (the folder holds a key file that can be read): an active
  administrator of the *live* store, signing in to it as usual (failures counted and
  audited), or its recovery code. A backup's own accounts never count: an account
  deactivated since the backup was made stays out. The backup's key is then taken from
  its own key file with the same password or code, or with the backup's recovery code
  when those changed since. If the live database itself cannot be opened (damaged or
  missing), the live key file still decides: its recovery code, or a password that opens
  it and belongs to an active administrator in the backup (roles never change in place;
  a deactivated account has no slot left).
* **Into a folder with no usable store**: only the backup's recovery code.

Restoring checks everything before it touches the live store: the manifest, the hashes
of both files, that the key opens the database, ``PRAGMA integrity_check`` and
``cipher_integrity_check``, the per-table counts and content hashes and the manifest's
MAC. Over a live store it then shows what would be lost (``confirm``), and brings the
verified copy under the live store's keys *before* anything is replaced: its users
follow the live store's users (roles, active flag, names, password-change state; an
account the live store does not know is inactive), it is rekeyed to a fresh data key,
and its key file holds only the live store's active users' and recovery slots, sealed
to that key. Nobody who held the backup's key or slots opens the result.

Both stores are audited: the live one with "restore", outcome "replaced by backup of
<time>", before it is set aside; the restored one with "restore" by whoever did it.

Replacing is crash-safe: the live files are kept as ``*.before-restore-<timestamp>``
(hard links where the file system allows, so the live names never go missing); the key
file is first replaced by one holding the slots of both keys, then the database is
replaced in one rename, then the key file drops the old key's slots. A crash at any
point leaves a folder whose key file opens its database: the old store or the new one.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import argon2.exceptions
import sqlcipher3
from sqlite_utils import Database

from spoa.roles import NotAllowed, Permission, Role, require
from spoa.store import anchors, audit, schema
from spoa.store.attempts import UnlockAttempts, counted_attempt
from spoa.store.backup_archive import (
    IN_USE_WAIT_MS,
    BackupArchive,
    BackupProblem,
    RestoreComparison,
    RestoreReport,
    StoreInUse,
    TableSummary,
    applied_migrations,
    compare_records,
    damaged,
    extract_database,
    integrity_problems,
    manifest_mac,
    read_archive,
    schema_hash_of,
    table_summaries,
)
from spoa.store.database import (
    DATABASE_FILE,
    DamagedStore,
    DatabaseDamaged,
    DatabaseMissing,
    NotEncrypted,
    StoreError,
    close,
    connect,
    hold_exclusively,
)
from spoa.store.database import rekey as rekey_database
from spoa.store.device import KeyringUnavailable, check_backend, read_device_secret
from spoa.store.keys import (
    MINIMUM_KDF,
    KdfParams,
    WrongSecret,
    key_id,
    new_data_key,
    normalise_recovery_code,
    owned_key,
    wipe,
)
from spoa.store.keyslots import (
    RECOVERY,
    SLOT_FILE,
    USER,
    LegacySlot,
    Slot,
    SlotFile,
    SlotFileProblem,
    open_slot,
    reseal,
    upgrade_legacy,
)
from spoa.store.restore_files import (
    UNCHANGED,
    has_log,
    owner_only,
    replace_unusable,
    swap_over_live,
)
from spoa.store.store import (
    RECOVERY_USER,
    Store,
    UnlockFailed,
    User,
    normalise_username,
)

# The live database cannot be used to check who may restore: the live key file decides.
_LIVE_DATABASE_UNUSABLE = (DatabaseDamaged, DatabaseMissing, DamagedStore, NotEncrypted)


class RestoreCancelled(BackupProblem):
    """The person chose not to replace the live store after seeing what would be lost."""


def _unchanged(message: str) -> str:
    return message if UNCHANGED in message else f"{message.rstrip()} {UNCHANGED}"


def _needs_admin(folder: Path) -> str:
    return (f"Restoring a backup over the store in {folder} needs an active administrator of that "
            "store, or its recovery code (--recovery-code); accounts in the backup do not count.")


# -- restore ---------------------------------------------------------------------------------

def check_restorable(folder: Path, *, with_recovery_code: bool) -> None:
    """Refuse now, before any password is asked for, what restore would refuse: a folder
    with no store to restore over takes only the backup's recovery code."""
    folder = Path(folder).absolute()
    if with_recovery_code or _live_key_file(folder) is not None:
        return
    if Store.exists(folder):
        raise BackupProblem(
            f"The key file in {folder} is missing or cannot be read, so no password can be checked "
            "against it. Only the backup's recovery code can restore over this store: run "
            f"'spoa restore' again with --recovery-code. {UNCHANGED}")
    raise BackupProblem(
        f"There is no store in {folder} to restore over, so only the backup's recovery code can "
        f"restore it (any computer): run 'spoa restore' again with --recovery-code. {UNCHANGED}")


def restore(archive_path: Path, folder: Path, *, username: str | None = None,
            password: str | None = None, recovery_code: str | None = None,
            backup_recovery_code: str | None = None,
            confirm: Callable[[RestoreComparison], bool] | None = None) -> RestoreReport:
    """Replace the store in ``folder`` with the one in the archive, after proving it whole.

    Over a live store, ``username`` and ``password`` or ``recovery_code`` are those of the
    *live* store; ``backup_recovery_code`` opens the backup when they do not (changed
    since). ``confirm`` is shown what would be lost and returns whether to go on (False:
    RestoreCancelled). Into a folder without a store, ``recovery_code`` (or
    ``backup_recovery_code``) is the backup's. A failure at any check leaves the live
    store as it was.
    """
    if password is not None and recovery_code is not None:
        raise ValueError("give either a username and password or a recovery code")
    if password is None and recovery_code is None and backup_recovery_code is None:
        raise ValueError("give a username and password or a recovery code")
    archive_path = Path(archive_path).absolute()
    folder = Path(folder).absolute()
    archive = read_archive(archive_path)
    live_slots = _live_key_file(folder)
    if live_slots is not None:
        return _restore_over_live(archive, folder, username, password, recovery_code,
                                  backup_recovery_code, confirm)
    code = backup_recovery_code if backup_recovery_code is not None else recovery_code
    check_restorable(folder, with_recovery_code=code is not None)
    return _restore_into_empty(archive, folder, code or "")


def _live_key_file(folder: Path) -> SlotFile | None:
    if not Store.exists(folder):
        return None
    try:
        return SlotFile.load(folder)
    except SlotFileProblem:
        return None


# -- over a live store -----------------------------------------------------------------------

@dataclass
class _Authority:
    """Who restores, proven by the live store, and its keys."""

    who: User
    data_key: bytearray  # a copy of the live store's, wiped when the restore ends
    device: bytes | None
    store: Store | None  # None: the live database cannot be opened
    secret: str  # the password, or the normalised recovery code
    by_password: bool

    @property
    def check_in_backup(self) -> str | None:
        """A user whose role only the backup can tell (the live database is unusable)."""
        return self.who.username if self.store is None and self.by_password else None


def _restore_over_live(archive: BackupArchive, folder: Path, username: str | None,
                       password: str | None, recovery_code: str | None, backup_code: str | None,
                       confirm: Callable[[RestoreComparison], bool] | None) -> RestoreReport:
    if password is None and recovery_code is None:
        raise UnlockFailed(f"The backup's recovery code alone does not restore over a live store. "
                           f"{_needs_admin(folder)} {UNCHANGED}")
    manifest = archive.manifest
    record_id = str(manifest["database"]["sha256"])[:16]
    authority = _live_authority(folder, username, password, recovery_code, record_id)
    staging = folder / f".restore-{secrets.token_hex(6)}"
    outcome: str | None = "failed"  # the live store's entry if anything goes wrong
    archive_key, fresh_key = bytearray(), new_data_key()
    try:
        if authority.store is not None:
            _hold_alone(authority.store)
        live_slots = SlotFile.load(folder)  # as it is now, with no other desk able to change it
        staging.mkdir(mode=0o700)
        slots = _stage(archive, staging)
        archive_key = _archive_key(archive, slots, folder, authority, backup_code)
        _verify_copy(archive, staging / DATABASE_FILE, archive_key, authority.check_in_backup)
        restored = connect(staging / DATABASE_FILE, archive_key)
        try:
            comparison = compare_records(
                authority.store.db if authority.store is not None else None, restored,
                backup_made_at=str(manifest["created_at"]),
                same_store=manifest["installation_id"] == live_slots.installation_id)
            if confirm is not None and not confirm(comparison):
                outcome = "cancelled"
                raise RestoreCancelled(f"The restore was cancelled. {UNCHANGED}")
            active = _follow_live_users(restored, authority, live_slots)
            audit_key = _audit_key(restored)
            try:
                audit.append(restored, audit_key, username=authority.who.username,
                             role=authority.who.role.value, action="restore", record_type="archive",
                             record_id=record_id)
            finally:
                wipe(audit_key)
            head = anchors.head_of(restored)  # the restored trail starts its anchors afresh
            rekey_database(restored, fresh_key)
        finally:
            close(restored)
        if has_log(staging / DATABASE_FILE):
            raise BackupProblem(f"The restored copy could not be closed cleanly. {UNCHANGED}")
        new_slots = _sealed_to(live_slots, authority, active, fresh_key)
        new_slots.audit_anchor = head.as_dict()
        if authority.store is not None:
            authority.store.audit("restore", "archive", record_id,
                                  outcome=f"replaced by backup of {manifest['created_at']}")
            outcome = None
            authority.store.lock()
        checkpointed = authority.store is not None and not has_log(folder / DATABASE_FILE)
        kept = swap_over_live(folder, staging / DATABASE_FILE, live_slots, new_slots, checkpointed)
        _reset_anchors(folder, fresh_key)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _audit_failure(folder, authority, record_id, outcome)
        if isinstance(exc, OSError) and not isinstance(exc, NotAllowed):
            raise BackupProblem(f"The backup could not be restored into {folder} "
                                f"({exc.strerror or exc}). {UNCHANGED} Check the space and "
                                "permissions of the folder.") from None
        raise
    finally:
        for key in (archive_key, fresh_key, authority.data_key):
            wipe(key)
    shutil.rmtree(staging, ignore_errors=True)
    owner_only(folder, kept)
    tables = {k: TableSummary(int(v["rows"]), str(v["hash"])) for k, v in manifest["tables"].items()}
    return RestoreReport(archive.path, folder, str(manifest["created_at"]), tables, kept,
                         checkpointed, over_live=True)


def _live_authority(folder: Path, username: str | None, password: str | None,
                    recovery_code: str | None, record_id: str) -> _Authority:
    """Sign in to the live store (counted and audited as any sign-in) and check that the
    person may restore over it."""
    try:
        if password is not None:
            store = Store.unlock(folder, username or "", password)
        else:
            store = Store.recover(folder, recovery_code or "")
    except UnlockFailed as exc:
        raise UnlockFailed(f"{exc} {_needs_admin(folder)} {UNCHANGED}") from None
    except _LIVE_DATABASE_UNUSABLE:
        return _authority_from_key_file(folder, username, password, recovery_code)
    except StoreError as exc:
        raise type(exc)(_unchanged(str(exc))) from None
    try:
        store.authorise(Permission.BACKUP_RESTORE, "restore", "archive", record_id,
                        doing="restore a backup over this store")
        if store.user.must_change_password:
            raise BackupProblem("Your password is a temporary one. Choose your own first "
                                f"('spoa user passwd'), then restore. {UNCHANGED}")
    except BaseException:
        store.lock()
        raise
    # The store's own key (a copy: lock wipes the store's) and device secret: the restored
    # slots are sealed with them.
    return _Authority(store.user, bytearray(store._data_key), store._device_secret, store,
                      password if password is not None else normalise_recovery_code(recovery_code or ""),
                      password is not None)


def _authority_from_key_file(folder: Path, username: str | None, password: str | None,
                             recovery_code: str | None) -> _Authority:
    """The live database cannot be opened, so the live key file decides: the secret that
    Store.unlock or Store.recover just accepted opens one of its slots."""
    slots = SlotFile.load(folder)
    device = None
    if slots.uses_keyring:
        try:
            device = read_device_secret(slots.installation_id)
        except KeyringUnavailable:
            device = None
        if device is None:
            raise BackupProblem(
                f"The store in {folder} cannot be opened (its database is damaged or missing), and "
                "this computer's keyring does not hold its device secret, so its accounts cannot be "
                "carried over. Move the store's files to another folder, then restore the backup into "
                f"the empty folder with the backup's recovery code (--recovery-code). {UNCHANGED}")
    if password is not None:
        name = normalise_username(username or "")
        candidates, secret, who = slots.user_slots(name), password, User(name, name, Role.ADMIN)
    else:
        secret = normalise_recovery_code(recovery_code or "")
        candidates, who = slots.recovery_slots(), User(RECOVERY_USER, "Recovery", Role.ADMIN)
    data_key = _first_opening(candidates, secret, device)
    if data_key is None:  # Store.unlock accepted it a moment ago; the file changed since
        raise UnlockFailed(f"Unlock failed: the store's key file changed during the restore. {UNCHANGED}")
    return _Authority(who, data_key, device, None, secret, password is not None)


def _hold_alone(store: Store) -> None:
    """Hold the live database exclusively until it is closed, or refuse: no other desk may
    have it open while it is compared and replaced."""
    if not hold_exclusively(store.db, store.folder, IN_USE_WAIT_MS):
        raise StoreInUse(
            f"The store in {store.folder} is open in a desk (here or on another computer). "
            f"Close the desk everywhere, then restore again. {UNCHANGED}")


def _archive_key(archive: BackupArchive, slots: SlotFile, folder: Path, authority: _Authority,
                 backup_code: str | None) -> bytes:
    """The backup's data key from its own key file: with the backup's recovery code if
    given, else with the secret that opened the live store."""
    try:
        if backup_code is not None:
            data_key = _first_opening(slots.recovery_slots(), normalise_recovery_code(backup_code), None)
            if data_key is None:
                raise UnlockFailed("The backup's recovery code does not open this backup. Check it "
                                   f"and try again. {UNCHANGED}")
        elif authority.by_password:
            device = None
            if slots.uses_keyring:
                with contextlib.suppress(KeyringUnavailable):
                    device = read_device_secret(slots.installation_id)
            data_key = None if slots.uses_keyring and device is None else _first_opening(
                slots.user_slots(authority.who.username), authority.secret, device)
            if data_key is None and authority.store is None:
                raise UnlockFailed(
                    f"The store in {folder} cannot be opened (its database is damaged or missing), "
                    "and your password does not open this backup, so the desk cannot check that you "
                    "are an administrator. Restore with the store's recovery code (--recovery-code). "
                    f"{UNCHANGED}")
            if data_key is None:
                raise UnlockFailed(
                    f"Your password opens the store in {folder}, but not this backup: it was changed "
                    "after the backup was made, or the backup comes from another computer. Give the "
                    f"backup's recovery code as well (--backup-recovery-code). {UNCHANGED}")
        else:
            data_key = _first_opening(slots.recovery_slots(), authority.secret, None)
            if data_key is None:
                raise UnlockFailed(
                    f"The recovery code opens the store in {folder}, but not this backup: the code "
                    "was replaced after the backup was made. Give the backup's recovery code as well "
                    f"(--backup-recovery-code). {UNCHANGED}")
    except (argon2.exceptions.Argon2Error, MemoryError, ValueError):
        raise damaged(archive.path, "has a key file that cannot be read") from None
    if key_id(data_key) != archive.manifest["key_id"]:
        raise damaged(archive.path, "has a key file that does not belong to its database")
    return data_key


def _first_opening(slots: list[Slot | LegacySlot], secret: str, device: bytes | None) -> bytearray | None:
    for slot in slots:
        try:
            return owned_key(open_slot(slot, secret, device))  # the decrypted bytes are wiped
        except WrongSecret:
            continue
    return None


def _audit_key(db: Database) -> bytearray:
    return owned_key(db.execute("SELECT value FROM meta WHERE name = 'audit_key'").fetchone()[0])


def _reset_anchors(folder: Path, data_key: bytes) -> None:
    """The restored trail is shorter than the live one on purpose: its anchors (anchors.py)
    start again from its head. Best effort, as at every sign-in: an anchor that cannot be
    written keeps the old one, which verify then reports."""
    with contextlib.suppress(OSError, StoreError, SlotFileProblem, KeyringUnavailable, sqlcipher3.Error):
        db = connect(folder / DATABASE_FILE, data_key)
        try:
            anchors.anchor(db, folder, reset=True)
        finally:
            close(db)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _follow_live_users(db: Database, authority: _Authority, live_slots: SlotFile) -> set[str]:
    """Make the restored users those of the live store; return who is active.

    Every live user's row is copied over the backup's (role, active flag, name,
    password-change state); an account only the backup knows is made inactive. With the
    live database unusable, the backup's rows stay, but only accounts that still have a
    slot in the live key file (a deactivated account has none) remain active."""
    schema.apply(db)  # the same columns as the live store, whose desk applied them at unlock
    now = _now()
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        if authority.store is not None:
            columns = [c.name for c in db["users"].columns]
            cursor = authority.store.db.execute("SELECT * FROM users")
            names = [c[0] for c in cursor.description]
            live_rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            for row in live_rows:
                db["users"].upsert({k: v for k, v in row.items() if k in columns}, pk="username")
            known = [row["username"] for row in live_rows]
        else:
            known = sorted(live_slots.usernames())
        placeholders = ", ".join("?" * len(known)) or "''"
        db.execute(f"UPDATE users SET active = 0, updated_at = ? WHERE active = 1 "  # noqa: S608
                   f"AND username NOT IN ({placeholders})", [now, *known])
    return {row[0] for row in db.execute("SELECT username FROM users WHERE active = 1")}


def _sealed_to(live_slots: SlotFile, authority: _Authority, active: set[str],
               fresh_key: bytes) -> SlotFile:
    """The restored key file: the live store's slots of active users and its recovery
    slots, sealed to ``fresh_key`` (no password needed: see keyslots.reseal)."""
    sealed: list[Slot | LegacySlot] = []
    for slot in live_slots.slots:
        if slot.key_id != key_id(authority.data_key):
            continue  # left by an interrupted rekey of the live store
        if slot.kind == USER and slot.username not in active:
            continue
        if isinstance(slot, LegacySlot):
            slot = upgrade_legacy(slot, authority.data_key, authority.device)
        sealed.append(reseal(slot, authority.data_key, fresh_key, authority.device))
    if not any(s.kind == RECOVERY for s in sealed):
        raise BackupProblem(f"The live store's key file has no recovery code to carry over. {UNCHANGED}")
    return SlotFile(live_slots.path, live_slots.installation_id, live_slots.uses_keyring, sealed)


def _audit_failure(folder: Path, authority: _Authority, record_id: str, outcome: str | None) -> None:
    """The live store's entry for a restore that did not happen (best effort: the restore's
    own error is what the person needs to see)."""
    store = authority.store
    if store is None:
        return
    if store.is_open:
        with contextlib.suppress(sqlcipher3.Error, StoreError):
            store.db.execute("PRAGMA locking_mode = NORMAL")
            if outcome is not None:
                store.audit("restore", "archive", record_id, outcome=outcome)
        store.lock()
        return
    # Already closed, with "replaced by backup" written, and then the swap failed: the
    # live files are back in place; say so in their audit trail.
    with contextlib.suppress(sqlcipher3.Error, StoreError, OSError, TypeError):
        db = connect(folder / DATABASE_FILE, authority.data_key)
        audit_key = _audit_key(db)
        try:
            audit.append(db, audit_key, username=authority.who.username,
                         role=authority.who.role.value, action="restore", record_type="archive",
                         record_id=record_id, outcome="failed")
        finally:
            wipe(audit_key)
            close(db)


# -- into a folder with no usable store --------------------------------------------------------

def _restore_into_empty(archive: BackupArchive, folder: Path, recovery_code: str) -> RestoreReport:
    """The backup's recovery code restores into a folder with no store, or over files no
    key file can open (kept aside as they are)."""
    created = next((f for f in reversed([folder, *folder.parents]) if not f.exists()), None)
    staging = folder / f".restore-{secrets.token_hex(6)}"
    try:
        if created is not None:
            folder.mkdir(parents=True, mode=0o700)
        staging.mkdir(mode=0o700)
        slots = _stage(archive, staging)
        try:
            data_key = _key_from_recovery_code(slots, folder, created is not None, recovery_code)
        except (argon2.exceptions.Argon2Error, MemoryError, ValueError):
            raise damaged(archive.path, "has a key file that cannot be read") from None
        try:
            if key_id(data_key) != archive.manifest["key_id"]:
                raise damaged(archive.path, "has a key file that does not belong to its database")
            _verify_copy(archive, staging / DATABASE_FILE, data_key, None)
            kept, checkpointed = replace_unusable(folder, staging, data_key)
        finally:
            wipe(data_key)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, NotAllowed):
            raise BackupProblem(f"The backup could not be restored into {folder} "
                                f"({exc.strerror or exc}). {UNCHANGED} Check the space and "
                                "permissions of the folder.") from None
        raise
    shutil.rmtree(staging, ignore_errors=True)
    owner_only(folder, kept)
    with Store.recover(folder, recovery_code) as store:
        store.audit("restore", "archive", archive.manifest["database"]["sha256"][:16])
        store.anchor_audit(reset=True)  # this computer's keyring may hold another trail's head
    tables = {k: TableSummary(int(v["rows"]), str(v["hash"])) for k, v in archive.manifest["tables"].items()}
    return RestoreReport(archive.path, folder, str(archive.manifest["created_at"]), tables, kept,
                         checkpointed)


def _key_from_recovery_code(slots: SlotFile, folder: Path, made_folder: bool, code: str) -> bytearray:
    if slots.uses_keyring:
        check_backend()  # the store will be bound to this computer: find out now, not after
    counter = None if made_folder else UnlockAttempts(folder)
    with counted_attempt(counter, RECOVERY_USER) as attempt:
        data_key = _first_opening(slots.recovery_slots(), normalise_recovery_code(code), None)
        if data_key is not None:
            return data_key
        attempt.failed()
    raise UnlockFailed(f"The recovery code does not open this backup. Check it and try again. {UNCHANGED}")


# -- checking the archive's copy ---------------------------------------------------------------

def _stage(archive: BackupArchive, staging: Path) -> SlotFile:
    """The archive's key file and database copy, written into ``staging``."""
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
    return slots


def _plausible_kdf(params: KdfParams) -> bool:
    """Slot settings a real key file can hold: not below the floor, not absurd (a tampered
    file must not make the restore spend hours or all memory deriving a key)."""
    return (params.meets(MINIMUM_KDF) and params.time_cost <= 64 and params.parallelism <= 64
            and params.memory_kib <= 16 * 1024 * 1024)


def _verify_copy(archive: BackupArchive, path: Path, data_key: bytes, admin_in_backup: str | None) -> None:
    """Prove the staged copy whole against its manifest; ``admin_in_backup``: a user who
    must be an active administrator in it (only when the live database cannot tell)."""
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
                                    f"desk; install that version to restore it. {UNCHANGED}")
            if schema_hash_of(db, data_key) != manifest["schema_hash"]:
                raise damaged(archive.path, "has a database whose structure does not match its manifest")
            found = table_summaries(db, data_key)
            expected = manifest["tables"]
            for table in sorted(set(found) | set(expected)):
                item = expected.get(table) or {}
                summary = found.get(table)
                if summary is None or summary.rows != item.get("rows") or summary.hash != item.get("hash"):
                    raise damaged(archive.path, f"does not match its manifest in table {table}")
            if admin_in_backup is not None:
                row = db.execute("SELECT role, active FROM users WHERE username = ?",
                                 [admin_in_backup]).fetchone()
                if row is None or not row[1] or row[0] != Role.ADMIN.value:
                    raise UnlockFailed(
                        f"The store in {path.parent.parent} cannot be opened (its database is damaged "
                        "or missing), so the desk cannot check there that you are an active "
                        "administrator, and the backup does not show you as one either. Restore with "
                        f"the store's recovery code (--recovery-code). {UNCHANGED}")
                require(Role(row[0]), Permission.BACKUP_RESTORE)
        except sqlcipher3.DatabaseError:
            raise damaged(archive.path, "has a damaged database copy") from None
    finally:
        close(db)
