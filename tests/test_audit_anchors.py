"""The audit trail's head is anchored outside the database (issue 12, item 3).

Each test plays someone who holds the data key (a former administrator who kept it):
they can open the database, drop the triggers that refuse UPDATE and DELETE, and re-sign
the chain with its key, which lives in the same database. Before anchors, every one of
these edits verified as intact; the chain alone still says so (``chain_intact``), and
the anchors are what catch it.
"""

from __future__ import annotations

import json

import pytest

from spoa.store import anchors
from spoa.store.audit import _digest
from spoa.store.backup import backup
from spoa.store.database import close, connect
from spoa.store.keyslots import SLOT_FILE
from spoa.store.store import Store
from tests.conftest import ADMIN_PASSWORD


def _busy_day(store_folder, entries: int = 6) -> None:
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        for number in range(entries):
            admin.audit("view", "contact", f"c-{number}")


def _data_key(store_folder) -> bytes:
    """What the former administrator kept."""
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        return bytes(admin._data_key)


def _cut_to(store_folder, key: bytes, keep: int) -> None:
    db = connect(store_folder / "spoa.db", key)
    try:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE seq > ?", [keep])
        db.conn.commit()
    finally:
        close(db)


def _rewrite(store_folder, key: bytes, record_id: str, instead: str) -> None:
    """Change one entry and sign every entry again with the chain's own key."""
    db = connect(store_folder / "spoa.db", key)
    try:
        chain_key = bytes(db.execute("SELECT value FROM meta WHERE name = 'audit_key'").fetchone()[0])
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET record_id = ? WHERE record_id = ?", [instead, record_id])
        previous = "0" * 64
        rows = db.execute("SELECT seq, at, username, role, action, record_type, record_id, outcome "
                          "FROM audit ORDER BY seq").fetchall()
        for seq, at, username, role, action, record_type, record_id_, outcome in rows:
            digest = _digest(chain_key, seq, at, username, role, action, record_type, record_id_,
                             outcome, previous)
            db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", [previous, digest, seq])
            previous = digest
        db.conn.commit()
    finally:
        close(db)


def _verify(store_folder, backups=()):
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        return admin.verify_audit(list(backups))


@pytest.fixture
def busy_store(new_store, store_folder):
    admin, _code = new_store
    admin.lock()
    _busy_day(store_folder)
    return store_folder


def test_every_anchor_agrees_after_ordinary_use(busy_store, tmp_path):
    made = tmp_path / "monday.spoa-backup"
    with Store.unlock(busy_store, "admin", ADMIN_PASSWORD) as admin:
        backup(admin, made)
        admin.rekey()
    _busy_day(busy_store)
    report = _verify(busy_store, [made])
    assert report.intact
    assert [check.place for check in report.anchors] == [
        anchors.KEY_FILE, anchors.KEYRING, "the backup monday.spoa-backup"]
    assert all(check.anchor is not None for check in report.anchors)
    # The backup's anchor is older than the others, and still checks the trail up to it.
    assert report.anchors[2].anchor.count < report.anchors[0].anchor.count


def test_cutting_off_the_newest_entries_is_caught_by_the_key_file_and_the_keyring(busy_store):
    key = _data_key(busy_store)
    _cut_to(busy_store, key, keep=1)  # all but one
    report = _verify(busy_store)
    assert report.chain_intact  # the chain alone cannot see it: this verified before anchors
    assert not report.intact
    assert [check.place for check in report.disagreeing] == [anchors.KEY_FILE, anchors.KEYRING]
    assert "were removed" in report.disagreeing[0].problem


def test_a_trail_signed_again_is_caught(busy_store):
    key = _data_key(busy_store)
    _rewrite(busy_store, key, "c-2", "c-9")
    report = _verify(busy_store)
    assert report.chain_intact
    assert not report.intact
    assert "the trail was rewritten" in report.disagreeing[0].problem


def test_an_anchor_the_trail_disagrees_with_is_kept_as_evidence(busy_store):
    key = _data_key(busy_store)
    before = json.loads((busy_store / SLOT_FILE).read_text())["audit_anchor"]
    _cut_to(busy_store, key, keep=2)
    for _ in range(3):  # sign-ins and locks go on; none may move the anchor past the cut
        _busy_day(busy_store, entries=10)
    assert json.loads((busy_store / SLOT_FILE).read_text())["audit_anchor"]["head"] == before["head"]
    assert not _verify(busy_store).intact


def test_a_backup_catches_what_the_key_file_and_keyring_no_longer_can(
        busy_store, tmp_path, memory_keyring):
    made = tmp_path / "monday.spoa-backup"
    with Store.unlock(busy_store, "admin", ADMIN_PASSWORD) as admin:
        backup(admin, made)
    key = _data_key(busy_store)
    _rewrite(busy_store, key, "c-1", "c-7")
    # They also set both local anchors to the rewritten head: everything on this computer agrees.
    db = connect(busy_store / "spoa.db", key)
    try:
        forged = anchors.head_of(db)
    finally:
        close(db)
    slots = json.loads((busy_store / SLOT_FILE).read_text())
    slots["audit_anchor"] = forged.as_dict()
    (busy_store / SLOT_FILE).write_text(json.dumps(slots))
    anchors.write_keyring_anchor(slots["installation_id"], forged)

    assert _verify(busy_store).intact  # nothing on the computer itself can tell
    report = _verify(busy_store, [made])
    assert [check.place for check in report.disagreeing] == ["the backup monday.spoa-backup"]
    assert "the trail was rewritten" in report.disagreeing[0].problem


def test_verify_from_the_command_line_names_the_place_that_disagrees(spoa, store_folder, tmp_path):
    busy_store = store_folder
    _busy_day(busy_store)
    made = tmp_path / "backups"
    made.mkdir()
    code, out, _ = spoa("admin", "backup", made / "monday.spoa-backup")
    assert code == 0
    code, out, _ = spoa("admin", "audit", "verify", "--backup", made)
    assert code == 0
    assert "intact:" in out
    assert "agrees with the backup monday.spoa-backup (entry " in out
    assert "agrees with the key file" in out

    _cut_to(busy_store, _data_key(busy_store), keep=3)
    code, out, _ = spoa("admin", "audit", "verify", "--backup", made)
    assert code == 1
    assert "BROKEN: the key file recorded" in out
    assert "BROKEN: the backup monday.spoa-backup recorded" in out
    assert "but the trail now has only 4: entries were removed from its end" in out
    assert "tell your information governance lead" in out


def test_verify_says_what_it_could_not_compare(spoa, tmp_path):
    other = tmp_path / "nothing.spoa-backup"
    other.write_bytes(b"not a backup")
    code, out, _ = spoa("admin", "audit", "verify", "--backup", other)
    assert code == 0
    assert "not compared with the backup nothing.spoa-backup: it could not be read" in out
    code, _out, err = spoa("admin", "audit", "verify", "--backup", tmp_path / "missing")
    assert code == 2
    assert "There is no backup file or folder at" in err


def test_a_backup_whose_manifest_was_edited_is_a_problem_of_its_own(busy_store, tmp_path):
    import zipfile

    made = tmp_path / "monday.spoa-backup"
    with Store.unlock(busy_store, "admin", ADMIN_PASSWORD) as admin:
        backup(admin, made)
    edited = tmp_path / "edited.spoa-backup"
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["audit_anchor"]["count"] = 1
                data = json.dumps(manifest).encode()
            target.writestr(item, data)
    report = _verify(busy_store, [edited])
    assert report.disagreeing[0].problem == "its manifest was altered after the backup was made"


def test_two_desks_on_one_store_never_disagree_with_each_other(busy_store):
    first = Store.unlock(busy_store, "admin", ADMIN_PASSWORD)
    second = Store.unlock(busy_store, "admin", ADMIN_PASSWORD)
    try:
        for number in range(5):
            first.audit("view", "contact", f"a-{number}")
            second.anchor_audit()
            second.audit("view", "contact", f"b-{number}")
            first.anchor_audit()
    finally:
        second.lock()
        first.lock()
    assert _verify(busy_store).intact


def test_the_audit_page_says_which_anchor_disagrees(qtbot, busy_store):
    from ui.pages.audit import AuditPage
    from ui.session import DeskSession

    _cut_to(busy_store, _data_key(busy_store), keep=2)
    session = DeskSession(busy_store)
    session.adopt(Store.unlock(busy_store, "admin", ADMIN_PASSWORD))
    page = AuditPage(session)
    qtbot.addWidget(page)
    page.verify()
    qtbot.waitUntil(lambda: "does not check out" in page.result.text(), timeout=20000)
    assert "the key file recorded" in page.result.text()
    assert "entries were removed from its end" in page.result.text()
    session.lock()


def test_an_anchors_time_is_said_in_uk_time():
    assert anchors.when_text("2026-07-15T13:05:00+00:00") == "Wednesday 15 July 2026 at 14:05 BST"
    assert anchors.when_text("2026-12-02T16:07:00+00:00") == "Wednesday 2 December 2026 at 16:07 GMT"
