"""Findings of the independent review of the encrypted store (issue 12), each reproduced as
it was found: a test that failed before its fix."""

from __future__ import annotations

import pytest

from spoa.letters import outbox
from spoa.roles import NotAllowed
from spoa.store.database import DATABASE_FILE, DamagedStore
from spoa.store.store import Store, UnlockFailed
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
