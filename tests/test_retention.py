"""Retention review dates, the due list and purging a child, with real SQLCipher files."""

from __future__ import annotations

import io
import uuid
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from spoa.cli import main
from spoa.roles import NotAllowed
from spoa.store import retention
from spoa.store.database import DATABASE_FILE
from spoa.store.retention import RetentionPolicy, RetentionProblem, age_on, birthday, review_date
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD

NOW = "2024-01-01T00:00:00+00:00"
TODAY = date(2040, 1, 1)

# -- the date rules ---------------------------------------------------------------------------

DATES = [
    # born, last contact closed, review date, why
    ("2000-05-10", None, "2025-05-10", "no closed contact: 25th birthday"),
    ("2000-05-10", "2016-06-01", "2025-05-10", "16 at closure"),
    ("2000-05-10", "2017-05-09", "2025-05-10", "the day before the 17th birthday"),
    ("2000-05-10", "2017-05-10", "2026-05-10", "closed on the 17th birthday"),
    ("2000-05-10", "2017-12-31", "2026-05-10", "17 at closure"),
    ("2000-05-10", "2018-07-01", "2026-05-10", "18 at closure: never earlier than at 17"),
    ("2004-02-29", None, "2029-03-01", "leap-day birthday, 25th in a common year: 1 March"),
    ("2004-02-29", "2021-02-28", "2029-03-01", "leap-day child still 16 on 28 February"),
    ("2004-02-29", "2021-03-01", "2030-03-01", "leap-day child 17 on 1 March"),
    ("2003-02-28", "2020-02-28", "2029-02-28", "28 February is an ordinary birthday"),
]


@pytest.mark.parametrize(("born", "closed", "expected", "why"), DATES, ids=[d[3] for d in DATES])
def test_review_dates(born, closed, expected, why):
    due_on, _ = review_date(date.fromisoformat(born), date.fromisoformat(closed) if closed else None)
    assert due_on == date.fromisoformat(expected), why


def test_leap_day_ages_and_birthdays():
    born = date(2004, 2, 29)
    assert birthday(born, 24) == date(2028, 2, 29)  # a leap year keeps the day
    assert birthday(born, 25) == date(2029, 3, 1)
    assert age_on(born, date(2029, 2, 28)) == 24
    assert age_on(born, date(2029, 3, 1)) == 25


def test_a_longer_local_policy_moves_the_dates():
    longer = RetentionPolicy(review_age=30, review_age_if_17_at_closure=31)
    assert review_date(date(2000, 5, 10), None, longer)[0] == date(2030, 5, 10)
    assert review_date(date(2000, 5, 10), date(2017, 6, 1), longer)[0] == date(2031, 5, 10)


# -- records ----------------------------------------------------------------------------------

def add_child(db, given: str, family: str, dob: str | None, *, closed: list[str | None] = (),
              nhs: str = "9434765919", full: bool = False) -> str:
    """A child with one contact per entry of ``closed`` (None: still open). ``full`` adds a
    session, referral with a step, advice request, letters, history and a search row."""
    child = uuid.uuid4().hex
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO children (id, given_name, family_name, date_of_birth, nhs_number, "
                   "address, school, created_at, created_by, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'admin', ?)",
                   [child, given, family, dob, nhs, f"1 {family} Street", f"{given} school", NOW, NOW])
        for closed_at in closed:
            contact = uuid.uuid4().hex
            db.execute("INSERT INTO contacts (id, child_id, referrer_type, referrer_name, received_at, "
                       "status, closed_at, created_at, created_by, updated_at) "
                       "VALUES (?, ?, 'gp', ?, ?, ?, ?, ?, 'admin', ?)",
                       [contact, child, f"Dr {family}", NOW, "closed" if closed_at else "open",
                        closed_at, NOW, NOW])
            db.execute("INSERT INTO contact_search (contact_id, folded) VALUES (?, ?)",
                       [contact, f"{given} {family} {dob}".casefold()])
            if not full:
                continue
            session, referral, advice = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
            db.execute("INSERT INTO triage_sessions (id, contact_id, module_id, module_version, "
                       "module_hash, answers, started_at, updated_at) VALUES (?, ?, 'm', '1', 'h', ?, ?, ?)",
                       [session, contact, f'{{"notes": "{given} said"}}', NOW, NOW])
            db.execute("INSERT INTO referrals (id, contact_id, session_id, created_at, created_by, "
                       "updated_at) VALUES (?, ?, ?, ?, 'admin', ?)", [referral, contact, session, NOW, NOW])
            db.execute("INSERT INTO referral_steps (referral_id, state, at, username, reason) "
                       "VALUES (?, 'draft', ?, 'admin', ?)", [referral, NOW, f"about {given}"])
            db.execute("INSERT INTO advice_requests (id, contact_id, question, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?)", [advice, contact, f"How to help {given}?", NOW, NOW])
            for link, kind in ((referral, "referral"), (advice, "advice")):
                db.execute("INSERT INTO letters (id, referral_id, advice_request_id, kind, pdf, sha256, "
                           "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, 'admin')",
                           [uuid.uuid4().hex, link if kind == "referral" else None,
                            link if kind == "advice" else None, kind,
                            (f"%PDF {given} {family} " * 400).encode(), uuid.uuid4().hex, NOW])
            db.execute("INSERT INTO record_history (record_type, record_id, field, old_value, "
                       "new_value, changed_by, changed_at) VALUES ('child', ?, 'school', ?, ?, 'admin', ?)",
                       [child, f"old {given}", f"new {family}", NOW])
    return child


def decrypted_pages(path: Path, data_key: bytes, wal: bool = False) -> bytes:
    """Every page of a SQLCipher 4 file decrypted by hand (AES-256-CBC, 16-byte IV and
    64-byte HMAC reserved at the end of each 4096-byte page), free space included: what
    a thief holding the key could read, not only what the tables still show."""
    raw = path.read_bytes() if path.exists() else b""
    page_size, reserve = 4096, 80
    if wal:
        frames = [raw[32 + i * (24 + page_size) + 24: 32 + (i + 1) * (24 + page_size)]
                  for i in range(max(0, (len(raw) - 32) // (24 + page_size)))]
    else:
        frames = [raw[i:i + page_size] for i in range(0, len(raw), page_size)]
    out = []
    for number, page in enumerate(frames, start=1):
        start = 16 if number == 1 and not wal else 0
        iv = page[page_size - reserve: page_size - reserve + 16]
        decryptor = Cipher(algorithms.AES(data_key), modes.CBC(iv)).decryptor()
        out.append(decryptor.update(page[start:page_size - reserve]) + decryptor.finalize())
    if out and not wal:
        assert out[0][:2] == b"\x10\x00", "page 1 did not decrypt (page size 4096 expected)"
    return b"".join(out)


def traces(store, marker: str) -> int:
    """How often the marker (any case) appears in the decrypted database and log."""
    folder = store.folder
    text = (decrypted_pages(folder / DATABASE_FILE, store._data_key)
            + decrypted_pages(folder / (DATABASE_FILE + "-wal"), store._data_key, wal=True)).lower()
    return text.count(marker.lower().encode())


def row_counts(db) -> dict[str, int]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'contact_search_%'")]
    return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


# -- due list ---------------------------------------------------------------------------------

def test_the_due_list_shows_ids_and_dates_to_administrators(staffed_store):
    with staffed_store("admin") as admin:
        due_child = add_child(admin.db, "Duegiven", "Duefamily", "2001-03-03", closed=["2016-01-01"])
        add_child(admin.db, "Young", "Person", "2020-01-01", closed=["2024-01-01"])
        add_child(admin.db, "Still", "Open", "2001-03-03", closed=["2016-01-01", None])
        undated = add_child(admin.db, "No", "Birthday", None, closed=["2016-01-01"])

        items = retention.due(admin, TODAY)
        assert [(i.child_id, i.due_on, i.name) for i in items] == [(due_child, date(2026, 3, 3), None)]
        assert [i.child_id for i in retention.undated(admin)] == [undated]
        with pytest.raises(NotAllowed):
            retention.due(admin, TODAY, with_names=True)

    with staffed_store("pat") as practitioner:
        named = retention.due(practitioner, TODAY, with_names=True)
        assert [i.name for i in named] == ["Duegiven Duefamily"]
        last = practitioner.db.execute("SELECT action, record_id FROM audit ORDER BY seq DESC").fetchone()
        assert last == ("view", due_child)


def test_a_local_policy_only_lengthens(new_store):
    store, _ = new_store
    child = add_child(store.db, "Policy", "Child", "2001-03-03", closed=["2016-01-01"])
    assert retention.assess(store, child).due_on == date(2026, 3, 3)
    with pytest.raises(RetentionProblem, match="only keep records longer"):
        retention.set_policy(store, 24, 26)
    retention.set_policy(store, 30, 31)
    assert retention.assess(store, child).due_on == date(2031, 3, 3)
    assert retention.due(store, date(2030, 1, 1)) == []


# -- purge ------------------------------------------------------------------------------------

def test_purge_removes_every_trace_and_is_audited(new_store):
    store, _ = new_store
    marker = "Qzxmark" + uuid.uuid4().hex[:10]
    keeper = "Kpwkeep" + uuid.uuid4().hex[:10]
    doomed = add_child(store.db, marker, marker + "fam", "2001-03-03",
                       closed=["2016-01-01", "2016-06-01"], full=True)
    kept = add_child(store.db, keeper, keeper + "fam", "2001-03-03", closed=["2016-01-01"], full=True)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    assert traces(store, marker) > 0  # the method finds what is there
    before = row_counts(store.db)

    report = retention.purge(store, doomed, "Retention review 2040 Q1, approved by the IG lead", today=TODAY)

    assert report.wiped
    assert report.removed["children"] == 1
    assert report.removed["contacts"] == 2
    assert report.removed["letters"] == 4
    after = row_counts(store.db)
    for table in ("children", "contacts", "triage_sessions", "referrals", "referral_steps",
                  "advice_requests", "letters", "record_history", "contact_search"):
        assert after[table] == before[table] - report.removed[table], table
        assert after[table] > 0, f"the other child's {table} rows were kept"
    assert traces(store, marker) == 0
    assert traces(store, keeper) > 0
    assert store.db.execute("SELECT count(*) FROM contact_search WHERE contact_search MATCH ?",
                            [keeper.lower()]).fetchone()[0] == 1
    row = store.db.execute("SELECT * FROM audit ORDER BY seq DESC").fetchone()
    assert (row[4], row[5], row[6]) == ("purge", "child", doomed)
    assert not any(marker.lower() in str(value).lower() for value in row)
    assert store.verify_audit().intact
    assert store.db.execute("SELECT child_id FROM retention_purges").fetchall() == [(doomed,)]
    assert retention.assess(store, kept).due_on == date(2026, 3, 3)


def test_purge_refuses_a_child_not_due_or_a_reason_that_names_them(new_store):
    store, _ = new_store
    young = add_child(store.db, "Young", "Person", "2020-01-01", closed=["2024-01-01"])
    due_child = add_child(store.db, "Ellis", "Marlow", "2001-03-03", closed=["2016-01-01"],
                          nhs="943 476 5919")
    before = row_counts(store.db)
    with pytest.raises(RetentionProblem, match="not due for review until 2045-01-01"):
        retention.purge(store, young, "annual review", today=TODAY)
    for reason in ("review of marlow", "ELLIS file", "nhs 9434765919", "born 03/03/2001", "  "):
        with pytest.raises(RetentionProblem):
            retention.purge(store, due_child, reason, today=TODAY)
    with pytest.raises(RetentionProblem, match="no child"):
        retention.purge(store, "no-such-id", "annual review", today=TODAY)
    assert row_counts(store.db) == before


def test_only_administrators_purge(staffed_store):
    with staffed_store("admin") as admin:
        child = add_child(admin.db, "Role", "Check", "2001-03-03", closed=["2016-01-01"])
    for name in ("pat", "sam"):
        with staffed_store(name) as user:
            with pytest.raises(NotAllowed):
                retention.purge(user, child, "annual review", today=TODAY)
            with pytest.raises(NotAllowed):
                retention.set_policy(user, 30, 31)
            assert user.db.execute("SELECT count(*) FROM children").fetchone()[0] == 1


# -- command line -----------------------------------------------------------------------------

def test_retention_from_the_command_line(staffed_store, store_folder, monkeypatch, capsys):
    with staffed_store("admin") as admin:
        child = add_child(admin.db, "Cligiven", "Clifamily", "1990-03-03", closed=["2005-01-01"])

    def run(*args, user="admin", password=ADMIN_PASSWORD):
        monkeypatch.setenv("SPOA_USER", user)
        monkeypatch.setenv("SPOA_PASSWORD", password)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = main([*args, "--data-dir", str(store_folder)])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("retention", "list", "--on", "2030-01-01")
    assert code == 0
    assert f"{child}  due 2015-03-03" in out
    assert "Cligiven" not in out
    code, out, err = run("retention", "list", "--names", "--on", "2030-01-01")
    assert code == 2
    assert "cannot view records" in err
    code, out, _ = run("retention", "list", "--names", "--on", "2030-01-01", user="pat",
                       password=PRACTITIONER_PASSWORD)
    assert "Cligiven Clifamily" in out
    code, _, err = run("retention", "purge", child, "--reason", "review", user="pat",
                       password=PRACTITIONER_PASSWORD)
    assert code == 2
    assert "Traceback" not in err
    code, out, err = run("retention", "purge", child, "unknown-id", "--reason", "annual review 2030")
    assert code == 2
    assert f"Purged before this: {child}" in err
    code, out, _ = run("retention", "list", "--on", "2030-01-01")
    assert "No child's records are due" in out
