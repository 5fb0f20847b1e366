"""The synthetic store the desktop benchmarks open: 100,000 contacts, made once per run.

People come from benchmarks/store_bench.py (synthetic names, 999-range NHS numbers);
each contact gets a received time spread over three years, a status (most closed, some
open) and a triage session with an outcome, so the contact list's summary query does
the work it does on a real desk. Rows go in by ``executemany``, 2,000 contacts to a
transaction, the way store_bench.py bulk-inserts (the search text is folded first).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_bench import synthetic_people

from spoa.roles import Role
from spoa.store import search
from spoa.store.keys import MINIMUM_KDF
from spoa.store.store import Store

ADMIN_PASSWORD = "correct pony battery staple"  # synthetic
PRACTITIONER = "pat"
PRACTITIONER_PASSWORD = "practitioner pass 1"  # synthetic
BATCH = 2_000
SEED = 2718
NEWEST = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
SPREAD_MINUTES = 3 * 365 * 24 * 60
ROUTES = ("camhs", "school_nursing", "voluntary_sector", "advice")
URGENCIES = ("emergency", "very_urgent", "urgent", "routine")


def _rows(count: int, rng: random.Random):
    now = NEWEST.isoformat(timespec="seconds")
    for person in synthetic_people(count, rng):
        child_id, contact_id, session_id = (f"{p}-{rng.randbytes(6).hex()}" for p in ("ch", "co", "ts"))
        received = (NEWEST - timedelta(minutes=rng.randrange(SPREAD_MINUTES))).isoformat(timespec="seconds")
        born = person.born.isoformat()
        status = "closed" if rng.random() < 0.9 else rng.choice(("open", "triaged", "referred"))
        outcome = json.dumps({"rule": "bench", "route": rng.choice(ROUTES),
                              "urgency": rng.choice(URGENCIES), "respond_within_hours": 672})
        text = search.document(given_name=person.given, family_name=person.family,
                               nhs_number=person.nhs, date_of_birth=born, school=person.school,
                               referrer_name=person.referrer, referrer_organisation=person.gp)
        yield ((child_id, person.given, person.family, born, person.nhs, person.school, person.gp,
                now, "bench", now),
               (contact_id, child_id, "gp", person.referrer, person.gp, received, status, now, "bench", now),
               (session_id, contact_id, "bench", "1", "0" * 64, outcome, received, received),
               (search._search_rowid(contact_id), contact_id, text))


def _insert(db, batch: list) -> None:
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        db.conn.executemany(
            "INSERT INTO children (id, given_name, family_name, date_of_birth, nhs_number, school, "
            "gp_practice, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row[0] for row in batch])
        db.conn.executemany(
            "INSERT INTO contacts (id, child_id, referrer_type, referrer_name, referrer_organisation, "
            "received_at, status, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row[1] for row in batch])
        db.conn.executemany(
            "INSERT INTO triage_sessions (id, contact_id, module_id, module_version, module_hash, outcome, "
            "complete, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)", [row[2] for row in batch])
        db.conn.executemany("INSERT INTO contact_search (rowid, contact_id, folded) VALUES (?, ?, ?)",
                            [row[3] for row in batch])


def build_store(folder: Path, count: int) -> None:
    """A store in ``folder`` with an admin, a practitioner (PRACTITIONER) and ``count`` contacts."""
    admin, _ = Store.init(folder, admin_username="admin", admin_display_name="Bench Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    try:
        admin.add_user(PRACTITIONER, "Pat Bench", Role.PRACTITIONER, "temporary pass 1")
        admin.db.execute("PRAGMA synchronous = OFF")  # bulk loading a throwaway store: no fsync per batch
        batch: list = []
        for row in _rows(count, random.Random(SEED)):
            batch.append(row)
            if len(batch) == BATCH:
                _insert(admin.db, batch)
                batch = []
        if batch:
            _insert(admin.db, batch)
    finally:
        admin.lock()
    with Store.unlock(folder, PRACTITIONER, "temporary pass 1") as first_login:
        first_login.change_password("temporary pass 1", PRACTITIONER_PASSWORD)


def open_store(folder: Path) -> Store:
    return Store.unlock(folder, PRACTITIONER, PRACTITIONER_PASSWORD)
