"""Every failed sign-in reaches the audit trail at the next sign-in of anyone (issue 12, item 4).

Before: a failure was audited only at the next successful sign-in of that same user, so
a password reset by an administrator, a user who never came back, a made-up username or
a wrong recovery code left no trace at all.
"""

from __future__ import annotations

import json

import pytest

from spoa.cli import main
from spoa.store.attempts import ATTEMPTS_FILE, UnlockAttempts
from spoa.store.store import RECOVERY_USER, UNKNOWN_USER, Store, UnlockFailed
from tests.conftest import ADMIN_PASSWORD


def _failed_entries(store: Store) -> list[tuple[str, str, str, str]]:
    return store.db.execute("SELECT username, record_type, record_id, outcome FROM audit "
                            "WHERE action = 'login_failed' ORDER BY seq").fetchall()


def _fail(store_folder, username: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(UnlockFailed):
            Store.unlock(store_folder, username, "not the password at all")


def test_a_users_failures_are_audited_at_anyones_next_sign_in(staffed_store, store_folder):
    _fail(store_folder, "pat", 2)
    with staffed_store("sam") as sam:
        assert _failed_entries(sam) == [("pat", "user", "pat", "failed")] * 2
    with staffed_store("admin") as admin:  # written once, not again at every sign-in
        assert len(_failed_entries(admin)) == 2
        assert admin.verify_audit().intact


def test_failures_before_a_password_reset_still_reach_the_audit(staffed_store, store_folder):
    admin = staffed_store("admin")
    _fail(store_folder, "pat", 3)  # while the administrator is signed in
    admin.reset_password("pat", "temporary pass 9")
    admin.lock()
    # Pat never signs in with the old password again; the reset cleared the delay only.
    assert UnlockAttempts(store_folder).wait_seconds("pat") == 0
    with staffed_store("sam") as sam:
        assert [entry[0] for entry in _failed_entries(sam)] == ["pat"] * 3


def test_wrong_recovery_codes_are_audited(staffed_store, store_folder):
    for _ in range(2):
        with pytest.raises(UnlockFailed):
            Store.recover(store_folder, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    with staffed_store("admin") as admin:
        assert _failed_entries(admin) == [(RECOVERY_USER, "recovery code", "", "failed")] * 2


def test_a_made_up_username_is_audited_as_unknown_and_never_as_typed(staffed_store, store_folder):
    typed = "jo.bloggs.2012"  # what someone might type into the wrong box
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, typed, "not the password at all")
    assert "bloggs" not in (store_folder / ATTEMPTS_FILE).read_text().casefold()
    with staffed_store("admin") as admin:
        assert _failed_entries(admin) == [(UNKNOWN_USER, "user", "", "failed")]
        everything = json.dumps(admin.db.execute("SELECT * FROM audit").fetchall())
    assert "bloggs" not in everything.casefold()


def test_a_flood_of_failures_is_capped_and_counted(staffed_store, store_folder):
    attempts = UnlockAttempts(store_folder)
    for number in range(UnlockAttempts.MAX_UNAUDITED + 40):
        attempts.failed(f"nobody{number}")
    with staffed_store("admin") as admin:
        found = _failed_entries(admin)
    assert len(found) == UnlockAttempts.MAX_UNAUDITED + 1
    assert found[-1][3] == "failed: 40 more, not kept one by one"


def test_failures_kept_by_an_earlier_version_are_audited(staffed_store, store_folder):
    earlier = {"pat": {"failures": 2, "last": 0, "times": ["2026-11-30T09:00:00+00:00",
                                                            "2026-11-30T09:01:00+00:00"]}}
    (store_folder / ATTEMPTS_FILE).write_text(json.dumps(earlier))
    with staffed_store("sam") as sam:
        rows = sam.db.execute("SELECT username, at FROM audit WHERE action = 'login_failed' "
                              "ORDER BY seq").fetchall()
    assert [row[0] for row in rows] == ["pat", "pat"]
    assert rows[0][1].startswith("2026-11-30T09:00:00")


def test_a_failure_at_restore_is_audited_too(spoa, store_folder, tmp_path, monkeypatch):
    code, _out, _err = spoa("admin", "backup", tmp_path / "b.spoa-backup")
    assert code == 0
    monkeypatch.setenv("SPOA_USER", "admin")
    monkeypatch.setenv("SPOA_PASSWORD", "not the password at all")
    assert main(["restore", str(tmp_path / "b.spoa-backup"), "--yes", "--data-dir",
                 str(store_folder)]) != 0
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        assert [entry[0] for entry in _failed_entries(admin)] == ["admin"]


def test_a_deactivated_users_attempt_is_audited_under_their_name(staffed_store, store_folder):
    with staffed_store("admin") as admin:
        admin.deactivate_user("pat")
    _fail(store_folder, "pat")  # pat has no key slot now, but is still a user of the store
    with staffed_store("admin") as admin:
        assert _failed_entries(admin)[-1] == ("pat", "user", "pat", "failed")
