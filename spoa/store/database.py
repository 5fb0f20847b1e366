"""Opening the encrypted database: SQLCipher or nothing.

Every connection is made here. It refuses to work with a driver that is not SQLCipher
or with cipher settings that are not the expected ones, refuses a file that is plain
SQLite, and never creates a database except when asked to (``create=True``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import sqlcipher3
import sqlite_utils

from spoa.store.keys import KEY_BYTES, wipe

DATABASE_FILE = "spoa.db"
PLAIN_SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000

# What SQLCipher 4 must report once keyed; anything else means a driver or build that
# would not protect the records the way this design assumes.
EXPECTED_CIPHER = {
    "cipher_page_size": "4096",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_use_hmac": "1",
    "cipher_plaintext_header_size": "0",
}


class StoreError(Exception):
    """A problem opening or using the store, worded for the person at the desk."""


class DamagedStore(StoreError):
    """The database file is there but is not a store (empty, truncated)."""


class NotEncrypted(StoreError):
    pass


class WrongKey(StoreError):
    pass


class DatabaseMissing(StoreError):
    pass


class DatabaseDamaged(StoreError):
    pass


# SQLite primary result codes that mean something a person can act on.
SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 3, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 13, 14, 26


def explain(exc: Exception, path: Path) -> StoreError:
    """A driver error turned into a message for people, naming the file."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == SQLITE_NOTADB:
        return WrongKey(
            f"{path} could not be opened with this key: either the key does not belong to it "
            "or the file is damaged. Nothing was changed.")
    if code == SQLITE_CORRUPT:
        return DatabaseDamaged(
            f"{path} is damaged: part of it fails its integrity check. Nothing was changed and "
            "no damaged data was used. Restore the store from a backup ('spoa restore').")
    if code in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM):
        return StoreError(
            f"The folder {path.parent} or the file {path.name} cannot be written, so the records "
            "cannot be opened safely. Check the folder's permissions and free space.")
    if code == SQLITE_FULL:
        return StoreError(f"The disk holding {path} is full; nothing was saved. Free some space "
                          "and try again.")
    if code == SQLITE_IOERR:
        return StoreError(f"Reading or writing {path} failed (a disk or network problem). "
                          "Nothing partial was saved.")
    return StoreError(f"The records database {path} could not be used ({type(exc).__name__}).")


def driver_cipher_version() -> str:
    """The SQLCipher version of the installed driver, or '' if it is not SQLCipher."""
    connection = sqlcipher3.connect(":memory:")
    try:
        row = connection.execute("PRAGMA cipher_version").fetchone()
        return row[0] if row and row[0] else ""
    finally:
        connection.close()


_HEX_DIGITS = b"0123456789abcdef"


def _keyspec(data_key: bytes | bytearray) -> bytearray:
    """SQLCipher's raw-key form x'<64 hex digits>', built in a buffer the caller wipes.

    Given to the driver's set_key (sqlite3_key) rather than as PRAGMA text: a str would
    stay in the driver's statement cache while the connection is open and in freed memory
    after, and could not be wiped."""
    if len(data_key) != KEY_BYTES:
        raise ValueError("a data key is 32 bytes")
    spec = bytearray(3 + 2 * KEY_BYTES)  # its final size: filled in place, never grown
    spec[0], spec[1], spec[-1] = ord("x"), ord("'"), ord("'")
    for i, byte in enumerate(data_key):
        spec[2 + 2 * i] = _HEX_DIGITS[byte >> 4]
        spec[3 + 2 * i] = _HEX_DIGITS[byte & 0x0F]
    return spec


def _set_key(connection, data_key: bytes | bytearray, *, rekey: bool = False) -> None:
    spec = _keyspec(data_key)
    try:
        (connection.reset_key if rekey else connection.set_key)(spec)
    finally:
        wipe(spec)


def connect(path: Path, data_key: bytes, *, create: bool = False,
            empty_ok: bool = False) -> sqlite_utils.Database:
    """An open, keyed, checked connection wrapped in sqlite-utils.

    Raises DatabaseMissing, NotEncrypted, DamagedStore or WrongKey with a message for
    people. An existing empty file is a damaged store, unless ``empty_ok``: a file the
    caller has just made empty on purpose (owner-only from its first byte) to copy into.
    """
    exists = path.is_file()
    if not exists and not create:
        raise DatabaseMissing(
            f"The records database {path} is missing. Nothing has been created in its place. "
            "Restore it from a backup ('spoa restore'), or point the desk at the right folder.")
    if exists and create:
        raise StoreError(f"{path} already exists; refusing to create a new database over it.")
    if exists and not empty_ok and path.stat().st_size == 0:
        raise DamagedStore(
            f"The records database {path} is empty (0 bytes): it is damaged, and opening it would "
            "write a new, empty store over it. Nothing was written. Restore it from a backup "
            "('spoa restore').")
    if exists and is_plain_sqlite(path):
        raise NotEncrypted(
            f"{path} is an unencrypted SQLite file. The desk never opens or writes plaintext "
            "records; move the file away and tell your information governance lead.")
    if not driver_cipher_version():
        raise NotEncrypted(
            "The installed database driver is not SQLCipher, so records cannot be encrypted. "
            "Nothing was opened or written. Reinstall the desk ('make run' sets it up).")
    connection = sqlcipher3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000,
                                    isolation_level=None, check_same_thread=False)
    try:
        # Wrong keys are reported to the user by WrongKey, not by SQLCipher on stderr.
        connection.execute("PRAGMA cipher_log_level = NONE")
        # The key must be set before anything touches the database.
        _set_key(connection, data_key)
        # OFF, SQLCipher's default since 4.5: locking and wiping every allocation costs 2 to 9
        # times plain SQLite and cannot protect what matters here, since the records live in
        # Python objects anyway (docs/security.md).
        connection.execute("PRAGMA cipher_memory_security = OFF")
        _check_cipher(connection)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        for pragma in (
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA secure_delete = ON",
            "PRAGMA temp_store = MEMORY",
            "PRAGMA foreign_keys = ON",
        ):
            connection.execute(pragma)
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"The database could not switch to write-ahead logging ({mode}).")
    except sqlcipher3.Error as exc:
        connection.close()
        raise explain(exc, path) from None
    except BaseException:
        connection.close()
        raise
    return sqlite_utils.Database(connection)


def _check_cipher(connection) -> None:
    version = connection.execute("PRAGMA cipher_version").fetchone()
    if not version or not version[0] or not str(version[0]).startswith("4."):
        raise NotEncrypted("The database driver is not SQLCipher 4; refusing to continue.")
    for pragma, expected in EXPECTED_CIPHER.items():
        row = connection.execute(f"PRAGMA {pragma}").fetchone()
        if not row or str(row[0]) != expected:
            raise NotEncrypted(
                f"Unexpected cipher setting {pragma}={row[0] if row else None} (expected "
                f"{expected}); refusing to continue.")


def is_plain_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(PLAIN_SQLITE_HEADER)) == PLAIN_SQLITE_HEADER


def checkpoint(db: sqlite_utils.Database) -> None:
    """Fold the write-ahead log into the database and truncate it (on lock and close)."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def close(db: sqlite_utils.Database | None) -> None:
    if db is None:
        return
    with contextlib.suppress(sqlcipher3.Error):
        checkpoint(db)
    db.conn.close()


def write_in_place(db: sqlite_utils.Database, table: str, column: str, rowid: int,
                   value: bytes | bytearray) -> None:
    """Write ``value`` over the blob of the same length in one row, by SQLite's incremental
    blob I/O, which copies it straight into the page: a bound parameter would stay in the
    driver's cached statement until the connection closes, and in freed memory after."""
    blob = db.conn.open_blob(table, column, rowid)
    try:
        blob.write(value)
    finally:
        blob.close()


def rekey(db: sqlite_utils.Database, new_key: bytes) -> None:
    """Re-encrypt every page under ``new_key`` (SQLCipher does it in one transaction)."""
    checkpoint(db)
    _set_key(db.conn, new_key, rekey=True)
    checkpoint(db)


def hold_exclusively(db: sqlite_utils.Database, folder: Path, wait_ms: int) -> bool:
    """Take the database for this connection alone (until ``locking_mode = NORMAL`` and
    its next statement): True, or False when another connection, in this process or
    another, has it open (in WAL mode exclusive locking is refused then). Other failures
    are explained as StoreError."""
    db.execute(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("BEGIN EXCLUSIVE")
        db.execute("COMMIT")
    except sqlcipher3.OperationalError as exc:
        db.execute("PRAGMA locking_mode = NORMAL")
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        raise explain(exc, folder / DATABASE_FILE) from None
    return True
