"""Findings of the independent review of the encrypted store (issue 12), each reproduced as
it was found: a test that failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spoa.letters import outbox
from spoa.roles import NotAllowed
from spoa.store.attempts import ATTEMPTS_FILE, FREE_ATTEMPTS, UnlockAttempts
from spoa.store.database import DATABASE_FILE, DamagedStore
from spoa.store.store import (
    DeviceSecretMissing,
    Store,
    UnlockFailed,
)
from tests.conftest import ADMIN_PASSWORD


def test_a_zero_byte_database_is_refused_as_damaged_and_nothing_is_written(new_store, store_folder):
    admin, _ = new_store
    admin.lock()
    database = store_folder / DATABASE_FILE
    database.write_bytes(b"")
    for leftover in (store_folder / (DATABASE_FILE + "-wal"), store_folder / (DATABASE_FILE + "-shm")):
        leftover.unlink(missing_ok=True)
    with pytest.raises(DamagedStore, match="empty") as refused:
        Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    assert "Nothing was written" in str(refused.value)
    assert "restore" in str(refused.value)
    assert database.stat().st_size == 0
    assert not (store_folder / (DATABASE_FILE + "-wal")).exists()


def test_attempts_left_is_said_in_good_english(new_store, store_folder):
    admin, _ = new_store
    admin.lock()
    messages = []
    for _ in range(4):
        with pytest.raises(UnlockFailed) as failed:
            Store.unlock(store_folder, "admin", "not the password at all")
        messages.append(str(failed.value))
    assert any(m.endswith("3 attempts left before a delay.") for m in messages)
    assert any(m.endswith("1 attempt left before a delay.") for m in messages)
    assert not any("1 attempts" in m for m in messages)


def test_a_refusal_names_what_was_attempted(staffed_store, tmp_path):
    with staffed_store("pat") as pat:
        with pytest.raises(NotAllowed) as smtp:
            outbox.configure_smtp(pat, outbox.SmtpSettings(host="relay.example", port=465,
                                                           from_address="spa@hub.example"))
        with pytest.raises(NotAllowed) as folder:
            outbox.configure_outbox_folder(pat, str(tmp_path))
    assert str(smtp.value).startswith("A practitioner cannot change how letters are sent by secure email.")
    assert str(folder.value).startswith("A practitioner cannot change the folder letters are saved to.")
    assert "approve or return referrals" not in str(smtp.value) + str(folder.value)


def test_memory_security_is_off_by_decision(new_store):
    """docs/security.md: SQLCipher's default since 4.5; it cannot protect records that live
    in Python objects, and it cost 2 to 9 times plain SQLite."""
    admin, _ = new_store
    assert str(admin.db.execute("PRAGMA cipher_memory_security").fetchone()[0]) == "0"
    assert admin.db.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.")


def _attempt(folder: str, start_at: float, results) -> None:
    import time as _time

    from spoa.store.attempts import LockedOut as _LockedOut
    from spoa.store.store import Store as _Store
    from spoa.store.store import UnlockFailed as _UnlockFailed

    _time.sleep(max(0.0, start_at - _time.time()))
    try:
        _Store.unlock(Path(folder), "admin", "not the password at all")
        results.put("opened")
    except _LockedOut:
        results.put("locked out")
    except _UnlockFailed:
        results.put("wrong password")


def test_simultaneous_wrong_passwords_cannot_all_slip_past_the_delay(tmp_path):
    """12 processes at once: only the free attempts reach the password check."""
    import multiprocessing
    import time

    from spoa.store.keys import MINIMUM_KDF

    store_folder = tmp_path / "shared"  # not bound to a keyring: other processes open it too
    admin, _ = Store.init(store_folder, admin_username="admin", admin_display_name="Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    admin.lock()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3
    workers = [context.Process(target=_attempt, args=(str(store_folder), start_at, results))
               for _ in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    seen = sorted(results.get(timeout=10) for _ in workers)
    assert seen.count("wrong password") == FREE_ATTEMPTS
    assert seen.count("locked out") == 12 - FREE_ATTEMPTS


def test_made_up_usernames_do_not_grow_the_attempt_file_for_ever(new_store, store_folder):
    admin, _ = new_store
    admin.lock()
    attempts = UnlockAttempts(store_folder)
    for index in range(300):
        attempts.begin(f"nobody{index}")
        attempts.failed(f"nobody{index}")
    kept = json.loads((store_folder / ATTEMPTS_FILE).read_text(encoding="utf-8"))["users"]
    assert len(kept) == UnlockAttempts.MAX_NAMES
    assert attempts.failures("nobody299") == 1  # the most recent are the ones kept
    assert attempts.failures("nobody0") == 0


def test_an_attempt_that_fails_for_another_reason_is_not_counted(new_store, store_folder, memory_keyring):
    admin, _ = new_store
    admin.lock()
    memory_keyring.secrets.clear()  # the keyring lost the device secret: not the password's fault
    for _ in range(FREE_ATTEMPTS + 2):
        with pytest.raises(DeviceSecretMissing):
            Store.unlock(store_folder, "admin", ADMIN_PASSWORD)
    assert UnlockAttempts(store_folder).wait_seconds("admin") == 0
