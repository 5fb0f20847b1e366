"""The encrypted store: create it, unlock it, manage who can open it, rekey it, lock it.

A store is a folder holding ``spoa.db`` (SQLCipher) and ``keyslots.json``. Opening it
needs a user's password (and, unless set up with ``--no-keyring``, this machine's
device secret from the OS keyring) or the recovery code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlcipher3
from sqlite_utils import Database

from spoa.roles import NotAllowed, Permission, Role, require
from spoa.store import anchors, audit, schema
from spoa.store.attempts import FREE_ATTEMPTS, UnlockAttempts, counted_attempt
from spoa.store.backup_archive import backup_anchor
from spoa.store.database import (
    BUSY_TIMEOUT_MS,
    DATABASE_FILE,
    DatabaseDamaged,
    StoreError,
    WrongKey,
    close,
    connect,
    explain,
    hold_exclusively,
    rekey,
    write_in_place,
)
from spoa.store.device import (
    KeyringUnavailable,
    create_device_secret,
    delete_device_secret,
    read_device_secret,
)
from spoa.store.keys import (
    MINIMUM_KDF,
    KdfParams,
    WrongSecret,
    calibrate,
    key_id,
    new_data_key,
    new_recovery_code,
    normalise_recovery_code,
    owned_key,
    wipe,
    wipeable_subkey,
)
from spoa.store.keyslots import (
    RECOVERY,
    USER,
    LegacySlot,
    Slot,
    SlotFile,
    SlotFileProblem,
    make_slot,
    open_slot,
    reseal,
    upgrade_legacy,
)

MINIMUM_PASSWORD_LENGTH = 10
ALONE_WAIT_MS = 2000  # how long rekey waits for other desks' transactions before refusing
RECOVERY_USER = "(recovery code)"
UNKNOWN_USER = "(unknown username)"  # a failed sign-in as a username nobody has
ANCHOR_EVERY_SECONDS = 60  # the audit anchor is also renewed this often while in use

_log = logging.getLogger(__name__)


class UnlockFailed(StoreError):
    pass


class DeviceSecretMissing(StoreError):
    pass


class NoKeyringToBind(StoreError):
    """The recovery code was right, but there is no usable keyring to bind the store to."""


class PasswordRejected(StoreError):
    pass


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role
    active: bool = True
    must_change_password: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _moment(iso: str) -> datetime | None:
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None  # an unreadable time: the entry is dated when it is written


def normalise_username(text: str) -> str:
    name = unicodedata.normalize("NFC", text).strip().casefold()
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise StoreError("A username is 1 to 64 letters, digits, dots, dashes or underscores.")
    return name


def check_password(password: str, username: str = "") -> None:
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise PasswordRejected(
            f"A password needs at least {MINIMUM_PASSWORD_LENGTH} characters; a few unrelated "
            "words make a strong one that is easy to remember.")
    # Short usernames (e.g. "pat") occur inside ordinary words, so only longer ones count.
    if username and (password.casefold() == username
                     or (len(username) >= 4 and username in password.casefold())):
        raise PasswordRejected("A password must not contain the username.")


class Store:
    """An unlocked store, acting as one user. Use as a context manager or call lock()."""


    def __init__(self, folder: Path, db: Database, data_key: bytearray, slots: SlotFile, user: User,
                 device_secret: bytes | None):
        """The store takes ``data_key`` over and wipes it at lock (docs/security.md)."""
        self.folder = folder
        self.db = db
        self._data_key = data_key if isinstance(data_key, bytearray) else bytearray(data_key)
        self._audit_key = bytearray()
        self.slots = slots
        self.user = user
        self._device_secret = device_secret
        # When the audit trail was last anchored (anchor_audit): init, unlock and recover
        # anchor once their own entries are written, so the minute counts from here.
        self._anchored_at = time.monotonic()
        # The driver's bytes go straight to owned_key, which wipes them (keys.py).
        self._audit_key = owned_key(
            db.execute("SELECT value FROM meta WHERE name = 'audit_key'").fetchone()[0])

    def __del__(self):
        # A store dropped without lock() (an unlock that failed half-way) still wipes its keys.
        for secret in (getattr(self, "_data_key", None), getattr(self, "_audit_key", None)):
            if isinstance(secret, bytearray):
                secret[:] = bytes(len(secret))

    # -- creating and opening ----------------------------------------------------------

    @staticmethod
    def exists(folder: Path) -> bool:
        return (folder / DATABASE_FILE).exists() or (folder / "keyslots.json").exists()

    @classmethod
    def init(cls, folder: Path, *, admin_username: str, admin_display_name: str,
             admin_password: str, use_keyring: bool = True,
             kdf: KdfParams | None = None) -> tuple[Store, str]:
        """Create a new store with its first admin. Returns the store and the recovery code,
        which is shown once and never stored in the clear."""
        folder = Path(folder)
        if cls.exists(folder):
            raise StoreError(f"{folder} already holds a store; refusing to create another over it.")
        username = normalise_username(admin_username)
        check_password(admin_password, username)
        params = kdf or calibrate()
        if not params.meets(MINIMUM_KDF):
            raise StoreError("The key derivation settings are weaker than the minimum.")
        folder.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            os.chmod(folder, 0o700)
        slots = SlotFile.new(folder, uses_keyring=use_keyring)
        device = create_device_secret(slots.installation_id) if use_keyring else None
        data_key = new_data_key()
        recovery_code = new_recovery_code()
        slots.slots = [
            make_slot(data_key, USER, username, admin_password, params, device),
            make_slot(data_key, RECOVERY, "", normalise_recovery_code(recovery_code), params, None),
        ]
        db = None
        try:
            slots.save()
            db = connect(folder / DATABASE_FILE, data_key, create=True)
            if os.name == "posix":
                os.chmod(folder / DATABASE_FILE, 0o600)
            schema.apply(db)
            now = _now()
            with db.conn:
                db.execute("BEGIN IMMEDIATE")
                audit_key = wipeable_subkey(data_key, "audit")
                row = db["meta"].insert({"name": "audit_key", "value": bytes(len(audit_key))}).last_rowid
                write_in_place(db, "meta", "value", row, audit_key)  # not bound: see database.py
                wipe(audit_key)
                db["meta"].insert({"name": "created_at", "value": now})
                db["users"].insert({
                    "username": username, "display_name": admin_display_name.strip() or username,
                    "role": Role.ADMIN.value, "active": 1, "must_change_password": 0,
                    "created_at": now, "updated_at": now,
                })
            admin = User(username, admin_display_name.strip() or username, Role.ADMIN)
            store = cls(folder, db, data_key, slots, admin, device)
            store.audit("store_created")
            store.audit("user_added", "user", username)
            store.anchor_audit()
            return store, recovery_code
        except BaseException:
            # Leave nothing half-made behind: no key file without its database.
            close(db)
            for name in (DATABASE_FILE, DATABASE_FILE + "-wal", DATABASE_FILE + "-shm", "keyslots.json"):
                (folder / name).unlink(missing_ok=True)
            if device is not None:
                delete_device_secret(slots.installation_id)
            wipe(data_key)
            raise

    @classmethod
    def unlock(cls, folder: Path, username: str, password: str) -> Store:
        folder = Path(folder)
        slots = SlotFile.load(folder)
        try:
            name = normalise_username(username)
        except StoreError:
            raise UnlockFailed("Unlock failed: the username or password is not right.") from None
        attempts = UnlockAttempts(folder)
        database = folder / DATABASE_FILE
        with counted_attempt(attempts, name) as attempt:
            device = cls._device_secret_for(slots)
            db, data_key, opened = _open_with_first(database, slots.user_slots(name),
                                                    lambda slot: open_slot(slot, password, device))
            if db is None:
                left = FREE_ATTEMPTS - attempt.failed()
                hint = (f" {left} attempt{'s' if left != 1 else ''} left before a delay."
                        if 0 < left <= 3 else "")
                if left <= 0:
                    hint = f" Wait {attempts.wait_seconds(name)} seconds before the next attempt."
                raise UnlockFailed("Unlock failed: the username or password is not right." + hint)
        with _closed_on_failure(db, database):
            schema.apply(db)
            row = db.execute("SELECT username, display_name, role, active, must_change_password "
                             "FROM users WHERE username = ?", [name]).fetchone()
            if row is None or not row[3]:
                raise UnlockFailed("Unlock failed: this account is not active. Ask an administrator.")
            user = User(row[0], row[1], Role(row[2]), bool(row[3]), bool(row[4]))
            store = cls(folder, db, data_key, slots, user, device)
            store._renew_slots(opened, password)
            attempts.succeeded(name)
            store._audit_failed_sign_ins(attempts)
            store.audit("login")
        store.anchor_audit()
        return store

    @classmethod
    def recover(cls, folder: Path, recovery_code: str, *, without_keyring: bool = False) -> Store:
        """Open with the recovery code. If the keyring lost the device secret, a new one is
        made and every user slot is bound to it, so people can log in again.

        A store bound to a keyring on a computer that has no usable one (the keyring was
        removed, or the store was bound to one that forgot at exit) cannot be bound again
        here: NoKeyringToBind, unless ``without_keyring``, which unbinds every slot so that
        passwords alone open the store from the next start on (audited)."""
        folder = Path(folder)
        slots = SlotFile.load(folder)
        code = normalise_recovery_code(recovery_code)
        attempts = UnlockAttempts(folder)
        database = folder / DATABASE_FILE
        with counted_attempt(attempts, RECOVERY_USER) as attempt:
            db, data_key, opened = _open_with_first(database, slots.recovery_slots(),
                                                    lambda slot: open_slot(slot, code, None))
            if db is None:
                attempt.failed()
                raise UnlockFailed("The recovery code does not open this store. Check it and try again.")
        attempts.succeeded(RECOVERY_USER)
        user = User(RECOVERY_USER, "Recovery", Role.ADMIN)
        device, no_keyring = None, None
        if slots.uses_keyring:
            try:
                device = read_device_secret(slots.installation_id)
            except KeyringUnavailable as exc:
                no_keyring = exc
        if no_keyring is not None and not without_keyring:
            close(db)
            raise NoKeyringToBind(
                "The recovery code is right, but this store is bound to a keyring and this computer "
                f"has none that can keep the desk's secret ({no_keyring.detail}). Install and unlock a "
                "Secret Service keyring (GNOME Keyring or KWallet) and try again, or, if your "
                "information governance lead accepts the risk, open it without a keyring from now on.")
        with _closed_on_failure(db, database):
            schema.apply(db)
            store = cls(folder, db, data_key, slots, user, device)
            store._audit_failed_sign_ins(attempts)
            store.audit("recovery_used")
            store._renew_slots(opened, code)
        if no_keyring is not None:
            store._unbind_device()
        elif slots.uses_keyring and device is None:
            store._rebind_device()
        store.anchor_audit()
        return store

    def _audit_failed_sign_ins(self, attempts: UnlockAttempts) -> None:
        """Write every failed sign-in not yet audited, whoever it was for (attempts.py).
        If the trail cannot take them now, they wait for the next sign-in."""
        roles = dict(self.db.execute("SELECT username, role FROM users").fetchall())

        def write(found: list[tuple[str, str]], dropped: int) -> None:
            with self.db.conn:
                self.db.execute("BEGIN IMMEDIATE")
                for name, when in found:
                    if name == RECOVERY_USER:
                        who, role, kind, record = RECOVERY_USER, "", "recovery code", ""
                    elif name in roles:
                        who, role, kind, record = name, roles[name], "user", name
                    else:
                        who, role, kind, record = UNKNOWN_USER, "", "user", ""
                    audit.append(self.db, self._audit_key, username=who, role=role,
                                 action="login_failed", record_type=kind, record_id=record,
                                 outcome="failed", at=_moment(when))
                if dropped:
                    audit.append(self.db, self._audit_key, username=UNKNOWN_USER, role="",
                                 action="login_failed", record_type="user",
                                 outcome=f"failed: {dropped} more, not kept one by one")

        try:
            attempts.audit_unaudited([*roles, RECOVERY_USER], write)
        except (StoreError, sqlcipher3.DatabaseError) as exc:
            _log.warning("Failed sign-ins could not be audited yet (%s).", type(exc).__name__)

    @staticmethod
    def _device_secret_for(slots: SlotFile) -> bytes | None:
        if not slots.uses_keyring:
            return None
        try:
            device = read_device_secret(slots.installation_id)
        except KeyringUnavailable as exc:
            raise DeviceSecretMissing(
                "This store is bound to a keyring, and this computer has none that can be used now "
                f"({exc.detail}). Passwords cannot open it without the keyring's secret. Open it with "
                "the recovery code: it can then bind the store to a working keyring, or stop using "
                "one.") from None
        if device is None:
            raise DeviceSecretMissing(
                "This computer's keyring no longer holds the desk's device secret (a new computer, "
                "a reset keyring or another user account). Open the store with the recovery code; "
                "it will bind the store to this computer again.")
        return device

    def _renew_slots(self, opened: Slot | LegacySlot, secret: str) -> None:
        """Bring the key file up to date after an unlock with ``secret`` through ``opened``.

        Format-1 slots (from an older desk) are upgraded: the one just opened afresh from
        its secret, the others from their escrow and marked to be made afresh at their
        owner's next unlock; a slot marked so is made afresh now. Slots of any other data
        key (left by an interrupted rekey) cannot open the database and go."""
        if not self.slots.legacy_slots() and isinstance(opened, Slot) and not opened.renew:
            return
        key = self._data_key
        fresh = make_slot(key, opened.kind, opened.username, secret, self._kdf(), self._device_secret)

        def renewed(slots: list[Slot | LegacySlot]) -> list[Slot | LegacySlot]:
            result: list[Slot | LegacySlot] = []
            for slot in slots:
                if slot.id == opened.id:
                    result.append(fresh)
                elif isinstance(slot, LegacySlot):
                    if slot.key_id == key_id(key):
                        result.append(upgrade_legacy(slot, key, self._device_secret))
                else:
                    result.append(slot)
            return result

        self._update_slots(renewed)
        self.audit("key_file_upgraded", "user", opened.username or RECOVERY_USER)

    def _sealed_again(self, slot: Slot | LegacySlot, new_key: bytes, device: bytes | None) -> Slot:
        if isinstance(slot, LegacySlot):
            slot = upgrade_legacy(slot, self._data_key, device)
        return reseal(slot, self._data_key, new_key, device)

    def _rebind_device(self) -> None:
        device = create_device_secret(self.slots.installation_id)
        self._update_slots(lambda slots: [self._sealed_again(s, self._data_key, device) for s in slots
                                          if s.key_id == key_id(self._data_key)])
        self._device_secret = device
        self.audit("device_rebound")

    def _unbind_device(self) -> None:
        """Passwords alone open the store from now on (the recovery code's choice when this
        computer has no usable keyring); every user is told at each sign-in."""
        self._update_slots(lambda slots: [self._sealed_again(s, self._data_key, None) for s in slots
                                          if s.key_id == key_id(self._data_key)],
                           uses_keyring=False)
        self._device_secret = None
        self.audit("keyring_dropped")

    # -- acting ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.db is not None

    def require(self, permission: Permission, doing: str | None = None) -> None:
        require(self.user.role, permission, doing)

    def authorise(self, permission: Permission, action: str, record_type: str = "",
                  record_id: str = "", *, doing: str | None = None) -> None:
        """The desk's rule for every operation: a locked store refuses; a role that may not
        do this is refused (``doing``: what was attempted, in words), and the refusal is
        audited as 'denied'."""
        if not self.is_open:
            raise StoreError("The store is locked. Unlock it to carry on.")
        try:
            self.require(permission, doing)
        except NotAllowed:
            self.audit(action, record_type, record_id, outcome="denied")
            raise

    def audit(self, action: str, record_type: str = "", record_id: str = "", outcome: str = "ok",
              at: datetime | None = None) -> int:
        seq = audit.append(self.db, self._audit_key, username=self.user.username,
                           role=self.user.role.value, action=action, record_type=record_type,
                           record_id=record_id, outcome=outcome, at=at)
        if (not self.db.conn.in_transaction
                and time.monotonic() - self._anchored_at >= ANCHOR_EVERY_SECONDS):
            self.anchor_audit()
        return seq

    def anchor_audit(self, *, reset: bool = False) -> None:
        """Record the audit trail's head outside the database (anchors.py): done at
        sign-in, lock, backup and key changes, and at most once a minute between.

        A place that cannot be written (a full disk, a keyring that refuses) keeps its
        older anchor, which still checks the trail up to its entry; the work carries on."""
        try:
            anchors.anchor(self.db, self.folder, reset=reset)
        except (OSError, SlotFileProblem, KeyringUnavailable, sqlcipher3.DatabaseError) as exc:
            _log.warning("The audit anchor could not be recorded (%s).", type(exc).__name__)
        self._anchored_at = time.monotonic()

    def verify_audit(self, backups: Sequence[Path] = ()) -> audit.AuditReport:
        """Check the hash chain, then compare it with every anchor the store has (the key
        file, the keyring) and the anchors in ``backups`` (backup files)."""
        self.require(Permission.VERIFY_AUDIT)
        report = audit.verify(self.db, self._audit_key)
        kept = [backup_anchor(Path(path), self.slots.installation_id, self._data_key)
                for path in backups]
        found = anchors.checks(self.db, self.folder, report.count, kept)
        return dataclasses.replace(report, anchors=tuple(found))

    def lock(self) -> None:
        """Close the connection and drop the key. Idempotent."""
        if self.db is None:
            return
        try:
            self.audit("lock")
            self.anchor_audit()
        except sqlcipher3.DatabaseError:
            # The database was re-keyed by another session meanwhile: this connection can
            # no longer write, but it must still be closed and its key dropped.
            pass
        finally:
            close(self.db)
            self.db = None
            # Zeroed in place, then replaced by empty buffers that no key check accepts.
            wipe(self._data_key)
            wipe(self._audit_key)
            self._data_key = bytearray()
            self._audit_key = bytearray()

    close = lock

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.lock()

    # -- users -------------------------------------------------------------------------

    def users(self) -> list[User]:
        rows = self.db.execute("SELECT username, display_name, role, active, must_change_password "
                               "FROM users ORDER BY username").fetchall()
        return [User(r[0], r[1], Role(r[2]), bool(r[3]), bool(r[4])) for r in rows]

    def add_user(self, username: str, display_name: str, role: Role, temporary_password: str) -> User:
        """An admin adds a user with a temporary password they must change at first login."""
        self.require(Permission.MANAGE_USERS)
        name = normalise_username(username)
        check_password(temporary_password, name)
        if name in self.slots.usernames() or self.db["users"].count_where("username = ?", [name]):
            raise StoreError(f"There is already a user called {name}.")
        slot = make_slot(self._data_key, USER, name, temporary_password, self._kdf(), self._device_secret)
        now = _now()
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db["users"].insert({
                "username": name, "display_name": display_name.strip() or name, "role": Role(role).value,
                "active": 1, "must_change_password": 1, "created_at": now, "updated_at": now})
            self.audit("user_added", "user", name)
        self._update_slots(lambda slots: [*slots, slot])
        return User(name, display_name.strip() or name, Role(role), True, True)

    def change_password(self, old_password: str, new_password: str) -> None:
        """The logged-in user changes their own password."""
        name = self.user.username
        check_password(new_password, name)
        if new_password == old_password:
            raise PasswordRejected("Choose a password different from the current one.")
        mine = self.slots.user_slots(name)
        if not any(_opens(s, old_password, self._device_secret, self._data_key) for s in mine):
            raise UnlockFailed("The current password is not right.")
        self._set_password(name, new_password, must_change=False)
        self.audit("password_changed", "user", name)
        self.user = User(self.user.username, self.user.display_name, self.user.role, True, False)

    def reset_password(self, username: str, temporary_password: str) -> None:
        """An admin gives a user a temporary password to change at next login."""
        self.require(Permission.MANAGE_USERS)
        name = normalise_username(username)
        check_password(temporary_password, name)
        if not self.db["users"].count_where("username = ? AND active = 1", [name]):
            raise StoreError(f"There is no active user called {name}.")
        self._set_password(name, temporary_password, must_change=True)
        UnlockAttempts(self.folder).succeeded(name)
        self.audit("password_reset", "user", name)

    def deactivate_user(self, username: str) -> None:
        self.require(Permission.MANAGE_USERS)
        name = normalise_username(username)
        if name == self.user.username:
            raise StoreError("You cannot deactivate your own account.")
        active_admins = self.db.execute(
            "SELECT username FROM users WHERE role = 'admin' AND active = 1").fetchall()
        if [name] == [r[0] for r in active_admins]:
            raise StoreError("This is the last active administrator; add another first.")
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE users SET active = 0, updated_at = ? WHERE username = ?",
                            [_now(), name])
            self.audit("user_deactivated", "user", name)
        self._update_slots(lambda slots: [s for s in slots if not (s.kind == USER and s.username == name)])

    def _set_password(self, name: str, password: str, must_change: bool) -> None:
        new_slot = make_slot(self._data_key, USER, name, password, self._kdf(), self._device_secret)
        # The new slot is durably written before the old ones are removed.
        self._update_slots(lambda slots: [*slots, new_slot])
        self._update_slots(lambda slots: [s for s in slots if s.id == new_slot.id
                                          or not (s.kind == USER and s.username == name)])
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE users SET must_change_password = ?, updated_at = ? WHERE username = ?",
                            [int(must_change), _now(), name])

    def _kdf(self) -> KdfParams:
        strongest = max((s.kdf for s in self.slots.slots),
                        key=lambda k: (k.time_cost, k.memory_kib, k.parallelism), default=MINIMUM_KDF)
        return strongest

    def _update_slots(self, change: Callable[[list[Slot]], list[Slot]],
                      uses_keyring: bool | None = None) -> None:
        """Change the slot file as it is now on disk, not as this desk last read it: another
        desk on the same store may have changed it since (a password changed, a user added).
        The database's write lock serialises these changes between desks."""
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            current = SlotFile.load(self.folder)
            current.slots = list(change(list(current.slots)))
            if uses_keyring is not None:
                current.uses_keyring = uses_keyring
            current.save()
        self.slots = current

    # -- rekey -------------------------------------------------------------------------

    def rekey(self) -> list[str]:
        """A new data key for the database, sealed to the slots of the active users and the
        recovery code; safe against a crash at any point: the slot file holds slots for
        both keys until the database is rekeyed.

        Afterwards nothing in the old key file, opened with the old data key, opens the
        new one. The exception, returned by name: users whose slots came from a format-1
        key file and who have not signed in since (their slots are made afresh then); a
        holder of the old key and an old format-1 file could still follow them."""
        self.require(Permission.REKEY)
        with self._alone():
            old_key = self._data_key
            new_key = new_data_key()
            active = {row[0] for row in self.db.execute("SELECT username FROM users WHERE active = 1")}
            fresh: list[Slot] = []

            def both_keys(slots: list[Slot | LegacySlot]) -> list[Slot | LegacySlot]:
                current = [s for s in slots if s.key_id == key_id(old_key)]
                # A deactivated user's slot is normally gone already; one left by a crash
                # between the two steps of deactivation gets nothing of the new key.
                kept = [s for s in current if s.kind == RECOVERY or s.username in active]
                fresh[:] = [self._sealed_again(s, new_key, self._device_secret) for s in kept]
                return [*current, *fresh]

            self._update_slots(both_keys)  # 1: both keys can open
            rekey(self.db, new_key)  # 2: the database now needs the new key
            self._data_key = new_key
            wipe(old_key)
            self._update_slots(lambda _slots: list(fresh))  # 3: only the new key's slots remain
            self.audit("rekey")
        self.anchor_audit()
        return sorted({s.username or RECOVERY_USER for s in fresh if s.renew})

    def replace_recovery_code(self, show: Callable[[str], None]) -> None:
        """A new recovery code instead of the old one (after someone who knew it has left).

        ``show`` is given the new code once its slot is safely written and before the old
        code stops working, so a crash at any point leaves a code someone holds."""
        self.require(Permission.REKEY)
        code = new_recovery_code()
        slot = make_slot(self._data_key, RECOVERY, "", normalise_recovery_code(code), self._kdf(), None)
        self._update_slots(lambda slots: [*slots, slot])
        show(code)
        self._update_slots(lambda slots: [s for s in slots if s.kind != RECOVERY or s.id == slot.id])
        self.audit("recovery_code_replaced")
        self.anchor_audit()

    @contextlib.contextmanager
    def _alone(self):
        """Hold the database exclusively, or refuse: re-keying under another desk that has
        the store open would leave that desk unable to read or write."""
        db = self.db
        if not hold_exclusively(db, self.folder, ALONE_WAIT_MS):
            raise StoreError(
                "The store is open in another desk (here or on another computer). Lock or "
                "close it everywhere else, then change the key. Nothing was changed.")
        try:
            yield
        finally:
            db.execute("PRAGMA locking_mode = NORMAL")
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # releases the lock
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


@contextlib.contextmanager
def _closed_on_failure(db: Database, database: Path):
    """Close a just-opened connection if anything fails before it is handed over; driver
    errors become messages naming the file."""
    try:
        yield
    except sqlcipher3.Error as exc:
        close(db)
        raise explain(exc, database) from None
    except BaseException:
        close(db)
        raise


def _open_with_first(database: Path, slots: list, unwrap) -> tuple:
    """Open the database with the first slot that both accepts the secret and whose key
    opens the file: (database, data key, slot). (None, None, None) when no slot accepts
    the secret: a wrong password.

    A slot that accepts the secret has proved the password right (AES-GCM), so if none
    of those keys opens the file, the file is damaged or replaced: say so, and never
    count it as a wrong password.
    """
    authenticated = False
    for slot in slots:
        try:
            data_key = owned_key(unwrap(slot))  # the decrypted bytes are wiped (keys.py)
        except WrongSecret:
            continue
        authenticated = True
        try:
            return connect(database, data_key), data_key, slot
        except WrongKey:
            wipe(data_key)
            continue  # a slot left over from an interrupted rekey
        except BaseException:
            wipe(data_key)
            raise
    if authenticated:
        raise DatabaseDamaged(
            f"The password is right, but {database} does not open with its key: the file is "
            "damaged or was replaced. Nothing was changed. Restore the store from a backup "
            "('spoa restore').")
    return None, None, None


def _opens(slot, password: str, device: bytes | None, data_key: bytes) -> bool:
    try:
        candidate = owned_key(open_slot(slot, password, device))
    except WrongSecret:
        return False
    try:
        return candidate == data_key
    finally:
        wipe(candidate)
