"""The file steps of a restore: keeping the live files aside and putting the verified
copies in their place, each crash-safe (restore.py decides who may restore and what).

Over a live store (``swap_over_live``) the live names never go missing: the live files
are kept as ``*.before-restore-<timestamp>`` by hard link where the file system allows,
the key file is first replaced by one holding the slots of both keys, then the database
in one rename, then the key file drops the old key's slots. Into a folder with no usable
store (``replace_unusable``) whatever is there is moved aside, then the copies moved in.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import sqlcipher3

from spoa.store.backup_archive import BEFORE_RESTORE, IN_USE_WAIT_MS, BackupProblem, StoreInUse, utc_now
from spoa.store.database import DATABASE_FILE, StoreError, close, connect
from spoa.store.keyslots import SLOT_FILE, SlotFile, _fsync_folder, write_atomically

UNCHANGED = "Nothing was changed."


def has_log(database: Path) -> bool:
    log = Path(f"{database}-wal")
    return log.exists() and log.stat().st_size > 0


def swap_over_live(folder: Path, restored_db: Path, live_slots: SlotFile, new_slots: SlotFile,
                    checkpointed: bool) -> list[Path]:
    """Put the restored database and key file in place of the live ones, keeping these.

    1. the live key file and database are kept under their before-restore names (hard
       links: the live names stay in place), a log of the old database with them;
    2. the key file becomes one with the slots of both keys (opens the old database and
       the new);
    3. the database is replaced in one rename;
    4. the key file keeps only the new key's slots.
    A crash after any step leaves a key file that opens the database beside it; an error
    before step 3 puts the old key file back and removes what step 1 made."""
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    live_db, key_file = folder / DATABASE_FILE, folder / SLOT_FILE
    aside = {name: folder / f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}{name[len(DATABASE_FILE):]}"
             for name in (DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm")}
    aside[SLOT_FILE] = folder / f"{SLOT_FILE}.{BEFORE_RESTORE}-{stamp}"
    old_key_file = key_file.read_bytes()
    linked: list[Path] = []  # made by step 1: removed on failure
    renamed: list[tuple[Path, Path]] = []  # moved by step 1: moved back on failure
    kept: list[Path] = []
    try:
        for path in aside.values():
            if path.exists():
                raise BackupProblem(f"{path} appeared during the restore; nothing was replaced.")
        _keep(key_file, aside[SLOT_FILE], linked, renamed, copy_bytes=old_key_file)
        kept.append(aside[SLOT_FILE])
        for name in (f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm"):
            # A log beside the restored database would be replayed into it: it goes with
            # the old database (or, after a clean close, it holds nothing and just goes).
            source = folder / name
            if not source.exists():
                continue
            if checkpointed:
                source.unlink()
            else:
                os.rename(source, aside[name])
                renamed.append((source, aside[name]))
                kept.append(aside[name])
        if live_db.exists():
            _keep(live_db, aside[DATABASE_FILE], linked, renamed)
            kept.insert(0, aside[DATABASE_FILE])
        _fsync_folder(folder)
        both = SlotFile(key_file, new_slots.installation_id, new_slots.uses_keyring,
                        [*live_slots.slots, *new_slots.slots])
        both.save()
        os.replace(restored_db, live_db)  # from here on the restore has happened
    except BaseException:
        with contextlib.suppress(OSError):
            write_atomically(key_file, old_key_file)
        for source, target in reversed(renamed):
            with contextlib.suppress(OSError):
                os.rename(target, source)
        for path in linked:
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            _fsync_folder(folder)
        raise
    # Done: the old key's slots only open the database kept aside. Should this last write
    # fail, they stay until the next rekey, opening nothing more than their owners had.
    with contextlib.suppress(OSError):
        _fsync_folder(folder)
        new_slots.save()
    return kept


def _keep(path: Path, target: Path, linked: list[Path], renamed: list[tuple[Path, Path]],
          copy_bytes: bytes | None = None) -> None:
    """Keep ``path`` as ``target`` without it ever missing from its own name: a hard link,
    else a copy of a small file's bytes, else (a file system without links) a rename."""
    try:
        os.link(path, target)
        linked.append(target)
        return
    except OSError:
        pass
    if copy_bytes is not None:
        write_atomically(target, copy_bytes)
        linked.append(target)
        return
    os.rename(path, target)
    renamed.append((path, target))


def replace_unusable(folder: Path, staging: Path, data_key: bytes) -> tuple[list[Path], bool]:
    """Move whatever store files the folder holds aside, then the verified copies in: the
    database first and the key file last, so that a crash in between leaves no key file
    beside the new database and the next restore simply runs again."""
    live_db = folder / DATABASE_FILE
    checkpointed = True
    if live_db.exists():
        # Its key file cannot be read; it may still be this backup's own store.
        checkpointed = quiesce(live_db, [data_key])
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    moves: list[tuple[Path, Path]] = []
    # The old database with its own -wal and -shm, renamed together: a committed
    # transaction still in the old log stays with the old database, and no stale log is
    # left beside the restored one (SQLite would replay it into the wrong file).
    for name, aside in ((SLOT_FILE, f"{SLOT_FILE}.{BEFORE_RESTORE}-{stamp}"),
                        (DATABASE_FILE, f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}"),
                        (f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}-wal"),
                        (f"{DATABASE_FILE}-shm", f"{DATABASE_FILE}.{BEFORE_RESTORE}-{stamp}-shm")):
        if (folder / name).exists():
            moves.append((folder / name, folder / aside))
    moves += [(staging / DATABASE_FILE, folder / DATABASE_FILE), (staging / SLOT_FILE, folder / SLOT_FILE)]
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


def quiesce(live_db: Path, keys) -> bool:
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
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("COMMIT")
        except sqlcipher3.DatabaseError as exc:
            db.conn.close()  # no checkpoint: another desk's files stay exactly as they are
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreInUse(
                    f"The store in {live_db.parent} is open in a desk (here or on another "
                    f"computer). Close the desk everywhere, then restore again. {UNCHANGED}") from None
            return False  # damaged: moved aside as it is
        try:
            busy, log, done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return busy == 0 and log in (0, done)
        except sqlcipher3.DatabaseError:
            return False
        finally:
            close(db)
    return False


def owner_only(folder: Path, kept: list[Path]) -> None:
    """As 'spoa init' leaves them: the folder 0700, the store's files and the copies kept
    from before the restore 0600, whatever the folder was before."""
    if os.name != "posix":
        return
    os.chmod(folder, 0o700)
    for path in (folder / DATABASE_FILE, folder / SLOT_FILE, *kept):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, 0o600)
