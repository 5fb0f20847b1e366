"""The encrypted store: creation, key slots, users and roles, audit chain, rekey, recovery.

Real SQLCipher, real Argon2id at the product's minimum settings, a real keyring API with
an in-memory backend.
"""

import json
import sqlite3

import pytest

from spoa.roles import MATRIX, NotAllowed, Permission, Role, allowed
from spoa.store import audit
from spoa.store.attempts import UnlockAttempts
from spoa.store.database import DATABASE_FILE, PLAIN_SQLITE_HEADER
from spoa.store.keys import MINIMUM_KDF, KdfParams
from spoa.store.keyslots import SLOT_FILE, SlotFile
from spoa.store.store import (
    DeviceSecretMissing,
    PasswordRejected,
    Store,
    StoreError,
    UnlockFailed,
)
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD


def page_hashes(path, page_size=4096):
    import hashlib

    data = path.read_bytes()
    return [hashlib.sha256(data[i:i + page_size]).hexdigest() for i in range(0, len(data), page_size)]


def test_new_store_is_encrypted_and_owner_only(new_store, store_folder):
    store, code = new_store
    store.lock()
    database = store_folder / DATABASE_FILE
    assert not database.read_bytes().startswith(PLAIN_SQLITE_HEADER)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(database).execute("SELECT * FROM sqlite_master").fetchall()
    for path in (database, store_folder / SLOT_FILE):
        assert path.stat().st_mode & 0o077 == 0
    assert store_folder.stat().st_mode & 0o077 == 0
    assert len(code.split("-")) == 5


def test_slot_file_holds_no_key_in_the_clear(new_store, store_folder):
    store, code = new_store
    data_key = store._data_key
    text = (store_folder / SLOT_FILE).read_text()
    raw = (store_folder / SLOT_FILE).read_bytes()
    assert data_key.hex() not in text
    assert data_key not in raw
    assert code not in text
    assert ADMIN_PASSWORD not in text
    slots = json.loads(text)["slots"]
    assert {s["kind"] for s in slots} == {"user", "recovery"}
    assert all(s["kdf"]["memory_kib"] >= 65536 and s["kdf"]["time_cost"] >= 3 for s in slots)


def test_init_refuses_an_existing_store_and_weak_settings(new_store, store_folder, tmp_path):
    with pytest.raises(StoreError, match="already holds a store"):
        Store.init(store_folder, admin_username="x", admin_display_name="X",
                   admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
    with pytest.raises(StoreError, match="weaker than the minimum"):
        Store.init(tmp_path / "weak", admin_username="x", admin_display_name="X",
                   admin_password=ADMIN_PASSWORD, kdf=KdfParams(1, 1024, 1))
    assert not (tmp_path / "weak" / DATABASE_FILE).exists()
    with pytest.raises(PasswordRejected):
        Store.init(tmp_path / "short", admin_username="x", admin_display_name="X",
                   admin_password="short", kdf=MINIMUM_KDF)


def test_each_user_and_the_recovery_code_open_the_store(staffed_store, new_store, store_folder):
    _, code = new_store
    for name in ("admin", "pat", "sam"):
        with staffed_store(name) as store:
            assert store.user.username == name
    with Store.recover(store_folder, code.lower().replace("-", " ")) as recovered:
        assert recovered.user.role is Role.ADMIN


def test_wrong_password_is_refused_and_counted(new_store, store_folder):
    with pytest.raises(UnlockFailed, match="not right"):
        Store.unlock(store_folder, "admin", "not the password")
    assert UnlockAttempts(store_folder).failures("admin") == 1
    assert "admin" not in (store_folder / "unlock-attempts.json").read_text()  # never in the clear
    # the failure reaches the audit trail at the next successful unlock
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as store:
        actions = [r[0] for r in store.db.execute("SELECT action FROM audit ORDER BY seq")]
        assert actions[-2:] == ["login_failed", "login"]


def test_unknown_user_gets_the_same_message(new_store, store_folder):
    with pytest.raises(UnlockFailed, match="the username or password is not right"):
        Store.unlock(store_folder, "nobody", ADMIN_PASSWORD)


def test_temporary_password_must_be_changed(new_store, store_folder):
    admin, _ = new_store
    admin.add_user("pat", "Pat", Role.PRACTITIONER, "temporary pass 1")
    with Store.unlock(store_folder, "pat", "temporary pass 1") as pat:
        assert pat.user.must_change_password
        with pytest.raises(PasswordRejected):
            pat.change_password("temporary pass 1", "temporary pass 1")
        pat.change_password("temporary pass 1", PRACTITIONER_PASSWORD)
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "pat", "temporary pass 1")
    with Store.unlock(store_folder, "pat", PRACTITIONER_PASSWORD) as pat:
        assert not pat.user.must_change_password


def test_password_change_re_encrypts_nothing(staffed_store, store_folder):
    with staffed_store("pat") as pat:
        pat.db.execute("CREATE TABLE filler (x)")
        with pat.db.conn:
            pat.db.execute("BEGIN")
            pat.db.conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 2000)
        pat.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = page_hashes(store_folder / DATABASE_FILE)
        pat.change_password(PRACTITIONER_PASSWORD, "another long password")
        pat.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = page_hashes(store_folder / DATABASE_FILE)
    changed = sum(1 for a, b in zip(before, after, strict=False) if a != b)
    assert len(before) > 200
    assert changed <= 4  # the users row and the audit entry, nothing re-encrypted


def test_admin_reset_and_deactivation(staffed_store, store_folder):
    with staffed_store("admin") as admin:
        admin.reset_password("pat", "fresh temporary 9")
        admin.deactivate_user("sam")
        with pytest.raises(StoreError, match="own account"):
            admin.deactivate_user("admin")
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "pat", PRACTITIONER_PASSWORD)
    with Store.unlock(store_folder, "pat", "fresh temporary 9") as pat:
        assert pat.user.must_change_password
    with pytest.raises(UnlockFailed):
        staffed_store("sam")
    assert "sam" not in SlotFile.load(store_folder).usernames()


def test_the_last_administrator_cannot_be_deactivated(new_store, store_folder):
    _, code = new_store
    # The recovery code is the only way to target the last admin (nobody deactivates themselves).
    with Store.recover(store_folder, code) as recovered, \
            pytest.raises(StoreError, match="last active administrator"):
        recovered.deactivate_user("admin")


def test_role_matrix_is_enforced_in_the_core(staffed_store):
    """Every role against every user-management and key operation: 0 unauthorised successes."""
    operations = {
        Permission.MANAGE_USERS: lambda s: s.add_user("newbie", "New", Role.PRACTITIONER, "temporary pass 3"),
        Permission.REKEY: lambda s: s.rekey(),
        Permission.VERIFY_AUDIT: lambda s: s.verify_audit(),
    }
    successes, refusals = [], []
    for name, role in (("pat", Role.PRACTITIONER), ("sam", Role.SUPERVISOR)):
        with staffed_store(name) as store:
            for permission, operation in operations.items():
                assert not allowed(role, permission)
                try:
                    operation(store)
                    successes.append((name, permission))
                except NotAllowed as exc:
                    refusals.append(str(exc))
    assert successes == []
    assert len(refusals) == 6
    assert all(" cannot " in text for text in refusals)
    with staffed_store("admin") as admin:
        for operation in operations.values():
            operation(admin)


def test_role_matrix_shape():
    assert Permission.APPROVE_REFERRALS in MATRIX[Role.SUPERVISOR]
    assert Permission.APPROVE_REFERRALS not in MATRIX[Role.PRACTITIONER]
    assert Permission.VIEW_RECORDS not in MATRIX[Role.ADMIN]
    assert Permission.EXPORT_LETTERS not in MATRIX[Role.PRACTITIONER]


def test_rekey_keeps_every_way_in(staffed_store, new_store, store_folder):
    _, code = new_store
    database = store_folder / DATABASE_FILE
    with staffed_store("admin") as admin:
        admin.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = page_hashes(database)
        old_key = bytes(admin._data_key)
        admin.rekey()
        admin.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert admin._data_key != old_key
    after = page_hashes(database)
    assert sum(1 for a, b in zip(before, after, strict=False) if a != b) >= len(before) - 1
    for name in ("admin", "pat", "sam"):
        with staffed_store(name) as store:
            assert store.user.username == name
    with Store.recover(store_folder, code) as recovered:
        assert recovered.verify_audit().intact
    assert len(SlotFile.load(store_folder).slots) == 4  # 3 users + recovery, one key only


def test_lost_keyring_needs_the_recovery_code_then_rebinds(staffed_store, new_store, store_folder,
                                                          memory_keyring):
    _, code = new_store
    memory_keyring.secrets.clear()
    with pytest.raises(DeviceSecretMissing, match="recovery code"):
        staffed_store("pat")
    with pytest.raises(UnlockFailed):
        Store.recover(store_folder, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    with Store.recover(store_folder, code):
        pass
    with staffed_store("pat") as pat:
        assert pat.user.username == "pat"
    assert (store_folder / DATABASE_FILE).exists()


def test_a_store_set_up_without_a_keyring_opens_with_a_password_alone(tmp_path):
    """(Keyrings that cannot be used are refused: tests/test_keyring_binding.py.)"""
    store, _ = Store.init(tmp_path / "c", admin_username="admin", admin_display_name="A",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    store.lock()
    assert SlotFile.load(tmp_path / "c").uses_keyring is False
    with Store.unlock(tmp_path / "c", "admin", ADMIN_PASSWORD) as reopened:
        assert reopened.user.role is Role.ADMIN


# -- the audit chain --------------------------------------------------------------------------

@pytest.fixture
def audited(new_store):
    store, _ = new_store
    for index in range(8):
        store.audit("view", "contact", f"c{index}")
    return store


def test_audit_trail_refuses_update_and_delete(audited):
    with pytest.raises(Exception, match="cannot be changed"):
        audited.db.execute("UPDATE audit SET action = 'login' WHERE seq = 3")
    with pytest.raises(Exception, match="cannot be changed"):
        audited.db.execute("DELETE FROM audit WHERE seq = 3")
    report = audited.verify_audit()
    assert report.intact
    assert report.count == 10


def _without_triggers(store):
    store.db.execute("DROP TRIGGER audit_no_update")
    store.db.execute("DROP TRIGGER audit_no_delete")


@pytest.mark.parametrize(("tamper", "first_bad"), [
    ("UPDATE audit SET record_id = 'c99' WHERE seq = 5", 5),
    ("UPDATE audit SET at = '2020-01-01T00:00:00+00:00' WHERE seq = 2", 2),
    ("DELETE FROM audit WHERE seq = 4", 4),
    ("UPDATE audit SET seq = CASE seq WHEN 6 THEN 7 ELSE 6 END WHERE seq IN (6, 7)", 6),
])
def test_audit_verify_names_the_first_altered_entry(audited, tamper, first_bad):
    _without_triggers(audited)
    if "CASE" in tamper:  # swap two entries' positions (reorder)
        audited.db.execute("UPDATE audit SET seq = -seq WHERE seq IN (6, 7)")
        audited.db.execute("UPDATE audit SET seq = 7 WHERE seq = -6")
        audited.db.execute("UPDATE audit SET seq = 6 WHERE seq = -7")
        rows = audited.db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        audited.db.execute("DELETE FROM audit")
        audited.db.conn.executemany("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    else:
        audited.db.execute(tamper)
    report = audited.verify_audit()
    assert report.first_bad == first_bad, report


def test_audit_entries_carry_ids_not_text(audited):
    rows = audited.db.execute("SELECT * FROM audit").fetchall()
    assert all(len(str(v)) <= 64 or str(v).startswith(("20",)) for row in rows for v in row)
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.append(audited.db, b"k" * 32, username="u", role="admin", action="drop tables")


def test_rekey_is_refused_while_another_desk_has_the_store_open(staffed_store, store_folder):
    with staffed_store("pat") as other_desk, staffed_store("admin") as admin:
        before = (store_folder / "keyslots.json").read_bytes()
        with pytest.raises(StoreError, match="open in another desk"):
            admin.rekey()
        assert (store_folder / "keyslots.json").read_bytes() == before
        assert other_desk.db.execute("SELECT count(*) FROM users").fetchone()[0] == 3
        admin.audit("view", "contact", "c1")  # the refusing desk carries on normally
    with staffed_store("admin") as admin:
        admin.rekey()
    with staffed_store("pat") as pat:
        assert pat.user.username == "pat"


def test_two_desks_open_at_once_never_undo_each_others_key_changes(staffed_store, store_folder):
    """The admin's desk read the slot file before pat changed his password; adding a user
    afterwards must not write the stale copy back (pat would be locked out)."""
    from spoa.roles import Role
    from spoa.store.store import Store, UnlockFailed
    from tests.conftest import PRACTITIONER_PASSWORD

    admin = staffed_store("admin")
    pat = staffed_store("pat")
    try:
        pat.change_password(PRACTITIONER_PASSWORD, "pat's newer password 2")
        admin.add_user("kim", "Kim Newcomer", Role.PRACTITIONER, "temporary pass 3")
        admin.reset_password("sam", "temporary pass 4")
    finally:
        pat.lock()
        admin.lock()
    Store.unlock(store_folder, "pat", "pat's newer password 2").lock()
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "pat", PRACTITIONER_PASSWORD)
    Store.unlock(store_folder, "kim", "temporary pass 3").lock()
    Store.unlock(store_folder, "sam", "temporary pass 4").lock()
