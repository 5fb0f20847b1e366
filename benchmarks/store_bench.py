"""`make bench` (second part): the encrypted store against plain SQLite, one workload.

The same work is done, in one run, on

* plain: the standard library's ``sqlite3`` (no encryption), the store's schema applied
  through ``spoa.store.schema.apply`` on a ``sqlite_utils.Database``, and the store's
  pragmas (WAL, synchronous FULL, secure_delete, temp_store MEMORY, foreign keys, busy
  timeout) with the encrypted connection's page-cache size, so only the cipher differs;
* encrypted: a real store (``Store.init`` with the key derivation calibrated for this
  machine, not bound to a keyring), opened with ``Store.unlock``, working on ``store.db``.

The workload:

1. bulk insert of 50,000 contacts, each with its child and its search row, 1,000
   contacts to a transaction (the text to index is folded beforehand, outside the timing);
2. 500 single-contact saves, one transaction each, through the desk's own
   ``records.create_child`` and ``records.create_contact`` (checks, search index);
3. 200 searches through ``search.find_contacts`` (FTS5 MATCH, best 50 first): a name,
   an NHS number as typed (3 3 4), a surname with a date of birth (d/m/yyyy), or the
   start of a school's and a surname's words;
4. the database filled up to 100,000 contacts (timed for information), and 200 more
   searches: the p95 there is the search goal.

The two databases take turns unit by unit (a bulk transaction, a save, a search; who goes
first swaps every time), so a busy moment on a shared machine hits both alike. Unlocking
(Argon2id at the calibrated settings) is timed separately: slow by design.

The store leaves SQLCipher's cipher_memory_security OFF (docs/security.md). Were it ever
on (it is process-wide and cannot be turned off again), a child process would repeat the
three compared phases with it off, printed as a diagnosis; the goals are judged on the
store as it is configured.

Goals: encrypted at most 1.6x plain for the bulk insert, 1.3x for saves and searches; search
p95 at 100,000 contacts at most 20 ms. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import gc
import json
import math
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlcipher3
import sqlite_utils

from spoa.nhs import nhs_check_digit
from spoa.store import records, schema, search
from spoa.store.database import BUSY_TIMEOUT_MS
from spoa.store.keys import new_data_key
from spoa.store.store import Store

RATIO_GOAL = 1.3
BULK_RATIO_GOAL = 1.6  # a 50,000-contact bulk insert: pages are encrypted and HMACed as they are written
SEARCH_P95_GOAL_MS = 20.0
BULK_CONTACTS = 50_000
BULK_BATCH = 1_000
SAVES = 500
SEARCHES = 200
SEARCH_AT = 100_000
SEED = 1913
PASSWORD = "correct pony battery staple"  # synthetic

GIVEN = (
    "Zoë", "Zoe", "Amir", "Bethan", "Kai", "Maya", "Oliver", "Priya", "Tomasz", "Leah", "Noah",
    "Aoife", "Siân", "Łukasz", "Chloé", "Mohammed", "Freya", "Isla", "Harry", "Ava", "Jack", "Ruby",
    "Theo", "Evie", "Leo", "Grace", "Oscar", "Ella", "Arlo", "Lily", "Finn", "Poppy", "Ezra", "Ivy",
    "Jude", "Rosie", "Reggie", "Mila", "Albie", "Daisy", "Rory", "Willow", "Ronnie", "Hallie",
    "Eli", "Elsie", "Hamza", "Ayla", "Yusuf", "Maryam", "Ibrahim", "Zara", "Musa", "Aisha", "Ali",
    "Fatima", "Adam", "Hana", "Idris", "Layla", "Kwame", "Ama", "Kofi", "Abena", "Chidi", "Ngozi",
    "Tariq", "Nadia", "Dev", "Anaya", "Arjun", "Diya", "Rohan", "Saanvi", "Krish", "Meera",
    "Wiktoria", "Jakub", "Zofia", "Kacper", "Lena", "Mateusz", "Iona", "Callum", "Eilidh",
    "Ruaridh", "Morag", "Dylan", "Cerys", "Rhys", "Ffion", "Gethin", "Nia", "Seren", "Owain",
    "Caoimhe", "Niamh", "Cian", "Saoirse", "Oisín", "Róisín", "Renée", "José", "Chloë", "Noémie",
    "Zoé", "Amélie", "Björn", "Søren", "Åsa",
)
FAMILY_STEMS = (
    "Example", "Sample", "Testcase", "Placeholder", "Dummy", "Fixture", "Mock", "Stub", "Proxy",
    "Synthetic", "Fabricated", "Invented", "Notreal", "Fictional", "Madeup", "Demo", "Trial",
    "Specimen", "Model", "Pattern", "Template", "Prototype", "Draft", "Sketch", "Outline",
)
FAMILY = [f"{stem}{ending}" for stem in FAMILY_STEMS
          for ending in ("", "son", "ton", "ley", "ford", "wood", "field", "well", "by", "ham")]
PLACES = (
    "Riverside", "Hillview", "Northgate", "Southfield", "Eastbrook", "Westmoor", "Oakwood",
    "Ashgrove", "Elmhurst", "Meadowbank", "Brookside", "Kingsway", "Queensway", "Parkside",
    "Lakeside", "Greenacre",
)
SCHOOLS = [f"{place} {kind}" for place in PLACES for kind in ("School", "Academy", "Primary")]
PRACTICES = [f"{name} Surgery" for name in ("Abbey", "Bridge", "Castle", "Dale", "Grange", "Harbour")]
REFERRERS = [f"Dr {name}" for name in ("Smith", "Jones", "Patel", "Khan", "Evans", "Brown", "Wilson")]


# -- synthetic data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    given: str
    family: str
    born: date
    nhs: str
    school: str
    gp: str
    referrer: str


def synthetic_people(count: int, rng: random.Random) -> list[Person]:
    people = []
    while len(people) < count:
        first_nine = f"999{rng.randrange(10**6):06d}"  # 999: the test range, never issued
        check = nhs_check_digit(first_nine)
        if check is None:
            continue
        people.append(Person(
            rng.choice(GIVEN), rng.choice(FAMILY),
            date(2008, 1, 1) + timedelta(days=rng.randrange(14 * 365)),
            f"{first_nine}{check}", rng.choice(SCHOOLS), rng.choice(PRACTICES), rng.choice(REFERRERS)))
    return people


def bulk_rows(people: list[Person], rng: random.Random) -> list[tuple[tuple, tuple, tuple]]:
    """Ready-to-insert (child, contact, search row) per person; folding is done here."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = []
    for person in people:
        child_id, contact_id = f"ch-{rng.randbytes(6).hex()}", f"co-{rng.randbytes(6).hex()}"
        born = person.born.isoformat()
        text = search.document(given_name=person.given, family_name=person.family,
                               nhs_number=person.nhs, date_of_birth=born, school=person.school,
                               referrer_name=person.referrer, referrer_organisation=person.gp)
        rows.append((
            (child_id, person.given, person.family, born, person.nhs, person.school, person.gp,
             now, "bench", now),
            (contact_id, child_id, "gp", person.referrer, person.gp, now, now, "bench", now),
            # the same row id the desk gives a contact's search row (spoa.store.search)
            (search._search_rowid(contact_id), contact_id, text),
        ))
    return rows


def queries(people: list[Person], count: int, rng: random.Random) -> list[str]:
    """What a person at the desk types: names, NHS numbers, surname and birth date, prefixes."""
    typed = []
    for _ in range(count):
        person = rng.choice(people)
        kind = rng.random()
        if kind < 0.4:
            typed.append(f"{person.given} {person.family}")
        elif kind < 0.6:
            typed.append(f"{person.nhs[:3]} {person.nhs[3:6]} {person.nhs[6:]}")
        elif kind < 0.8:
            typed.append(f"{person.family} {person.born.day}/{person.born.month}/{person.born.year}")
        else:
            typed.append(f"{person.school.split()[0][:5]} {person.family[:4]}")
    return typed


# -- the two databases -------------------------------------------------------------------------

def plain_database(path: Path, cache_size: int) -> sqlite_utils.Database:
    connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
    for pragma in (f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", "PRAGMA journal_mode = WAL",
                   "PRAGMA synchronous = FULL", "PRAGMA secure_delete = ON",
                   "PRAGMA temp_store = MEMORY", "PRAGMA foreign_keys = ON",
                   f"PRAGMA cache_size = {cache_size}"):
        connection.execute(pragma)
    db = sqlite_utils.Database(connection)
    schema.apply(db)
    return db


def encrypted_store(folder: Path) -> tuple[Store, dict]:
    """A calibrated store, locked and unlocked again a few times to time unlocking."""
    started = time.perf_counter()
    store, _ = Store.init(folder, admin_username="bench", admin_display_name="Benchmark",
                          admin_password=PASSWORD, use_keyring=False)
    init_s = time.perf_counter() - started
    kdf = store.slots.slots[0].kdf
    store.lock()
    unlocks = []
    for _ in range(3):
        started = time.perf_counter()
        store = Store.unlock(folder, "bench", PASSWORD)
        unlocks.append(time.perf_counter() - started)
        if len(unlocks) < 3:
            store.lock()
    return store, {"init_s": init_s, "kdf": kdf, "unlocks": unlocks}


# -- the workload ----------------------------------------------------------------------------------

def insert_batch(db: sqlite_utils.Database, batch) -> int:
    """One bulk transaction: the children, their contacts and the search rows."""
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        db.conn.executemany(
            "INSERT INTO children (id, given_name, family_name, date_of_birth, nhs_number, school, "
            "gp_practice, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row[0] for row in batch])
        db.conn.executemany(
            "INSERT INTO contacts (id, child_id, referrer_type, referrer_name, "
            "referrer_organisation, received_at, created_at, created_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [row[1] for row in batch])
        db.conn.executemany("INSERT INTO contact_search (rowid, contact_id, folded) VALUES (?, ?, ?)",
                            [row[2] for row in batch])
    return len(batch)


def batches(rows: list) -> list[list]:
    return [rows[start:start + BULK_BATCH] for start in range(0, len(rows), BULK_BATCH)]


def save_contact(db: sqlite_utils.Database, person: Person) -> int:
    """One contact with a new child in one transaction, the way the desk saves one."""
    with records.transaction(db):
        child_id = records.create_child(db, records.ChildDraft(
            given_name=person.given, family_name=person.family, date_of_birth=person.born,
            nhs_number=person.nhs, school=person.school, gp_practice=person.gp), by="bench")
        records.create_contact(db, records.ContactDraft(
            referrer_type="gp", referrer_name=person.referrer, referrer_organisation=person.gp),
            child_id=child_id, by="bench")
    return 1


def search_for(db: sqlite_utils.Database, text: str) -> int:
    return len(search.find_contacts(db, text))


@dataclass
class Timings:
    seconds: list[float]
    result: int  # rows inserted, contacts saved or contacts found

    @property
    def total(self) -> float:
        return sum(self.seconds)


def alternating(step, dbs: dict[str, sqlite_utils.Database],
                work: dict[str, list]) -> dict[str, Timings]:
    """Each unit of work on one database, then the same unit on the other (who goes first
    swaps every time), so a busy moment on a shared machine hits both alike."""
    names = list(dbs)
    timings = {name: Timings([], 0) for name in names}
    perf = time.perf_counter
    gc.collect()
    gc.disable()
    try:
        for index in range(len(work[names[0]])):
            for name in (names if index % 2 == 0 else names[::-1]):
                started = perf()
                timings[name].result += step(dbs[name], work[name][index])
                timings[name].seconds.append(perf() - started)
    finally:
        gc.enable()
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Data:
    people: list[Person]
    savers: list[Person]
    rows: dict[str, tuple[list, list]]
    typed_early: list[str]
    typed_full: list[str]
    warm_up: list[str]


def build_data(databases: tuple[str, ...], *, fill: bool = True) -> Data:
    """The same synthetic people, saves and queries on every run and in every process."""
    rng = random.Random(SEED)
    people = synthetic_people(SEARCH_AT, rng)
    savers = synthetic_people(SAVES, rng)
    first, rest = people[:BULK_CONTACTS], people[BULK_CONTACTS:SEARCH_AT - SAVES]
    rows = {name: (bulk_rows(first, random.Random(f"{name}-1")),
                   bulk_rows(rest, random.Random(f"{name}-2")) if fill else [])
            for name in databases}
    return Data(people, savers, rows, queries(first, SEARCHES, random.Random(SEED + 1)),
                queries(people[:SEARCH_AT - SAVES], SEARCHES, random.Random(SEED + 2)),
                queries(first, 20, random.Random(SEED + 3)))


def without_memory_security() -> int:
    """Diagnosis, run as a child process (the setting is process-wide and cannot be turned
    off again once on): the three compared phases, plain against an encrypted database
    opened with the store's key format, cipher settings and pragmas but
    cipher_memory_security OFF. Prints one JSON line."""
    data = build_data(("plain", "encrypted"), fill=False)
    with tempfile.TemporaryDirectory(prefix="spoa-store-bench-") as tmp:
        connection = sqlcipher3.connect(str(Path(tmp) / "diagnosis.db"), isolation_level=None,
                                        timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        connection.execute(f"PRAGMA key = \"x'{new_data_key().hex()}'\"")
        connection.execute("PRAGMA cipher_memory_security = OFF")
        for pragma in (f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", "PRAGMA journal_mode = WAL",
                       "PRAGMA synchronous = FULL", "PRAGMA secure_delete = ON",
                       "PRAGMA temp_store = MEMORY", "PRAGMA foreign_keys = ON"):
            connection.execute(pragma)
        encrypted = sqlite_utils.Database(connection)
        schema.apply(encrypted)
        cache_size = connection.execute("PRAGMA cache_size").fetchone()[0]
        dbs = {"plain": plain_database(Path(tmp) / "plain.db", cache_size), "encrypted": encrypted}
        both = ("plain", "encrypted")
        bulk = alternating(insert_batch, dbs, {name: batches(data.rows[name][0]) for name in both})
        saves = alternating(save_contact, dbs, dict.fromkeys(both, data.savers))
        alternating(search_for, dbs, dict.fromkeys(both, data.warm_up))
        early = alternating(search_for, dbs, dict.fromkeys(both, data.typed_early))
        for db in dbs.values():
            db.conn.close()
    print(json.dumps({phase: {name: timings[name].total for name in both}
                      for phase, timings in (("bulk", bulk), ("saves", saves), ("searches", early))}))
    return 0


def diagnosis() -> dict | None:
    done = subprocess.run([sys.executable, __file__, "--without-memory-security"], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        print(f"(diagnosis without cipher_memory_security failed: {done.stderr.strip()[-500:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    run_started = time.perf_counter()
    data = build_data(("plain", "encrypted"))
    rows, savers = data.rows, data.savers

    with tempfile.TemporaryDirectory(prefix="spoa-store-bench-") as tmp:
        store, unlock = encrypted_store(Path(tmp) / "store")
        try:
            cache_size = store.db.execute("PRAGMA cache_size").fetchone()[0]
            dbs = {"encrypted": store.db, "plain": plain_database(Path(tmp) / "plain.db", cache_size)}
            dbs = {"plain": dbs["plain"], "encrypted": dbs["encrypted"]}
            both = ("plain", "encrypted")
            bulk = alternating(insert_batch, dbs, {name: batches(rows[name][0]) for name in both})
            saves = alternating(save_contact, dbs, dict.fromkeys(both, savers))
            alternating(search_for, dbs, dict.fromkeys(both, data.warm_up))
            early = alternating(search_for, dbs, dict.fromkeys(both, data.typed_early))
            fill = alternating(insert_batch, dbs, {name: batches(rows[name][1]) for name in both})
            alternating(search_for, dbs, dict.fromkeys(both, data.warm_up))
            full = alternating(search_for, dbs, dict.fromkeys(both, data.typed_full))
            counts = {name: dbs[name].execute("SELECT count(*) FROM contacts").fetchone()[0]
                      for name in both}
            sizes_mb = {"plain": (Path(tmp) / "plain.db").stat().st_size / 2**20,
                        "encrypted": (Path(tmp) / "store" / "spoa.db").stat().st_size / 2**20}
            memory_security = store.db.execute("PRAGMA cipher_memory_security").fetchone()[0]
            dbs["plain"].conn.close()
        finally:
            store.lock()
    diagnosed = diagnosis() if str(memory_security) != "0" else None

    kdf = unlock["kdf"]
    print(f"plain: stdlib sqlite3 {sqlite3.sqlite_version}; encrypted: SQLCipher "
          f"{sqlcipher3.connect(':memory:').execute('PRAGMA cipher_version').fetchone()[0]} "
          f"(SQLite {sqlcipher3.sqlite_version}); same schema and pragmas, cache_size {cache_size}")
    print(f"contacts at the end: plain {counts['plain']:,}, encrypted {counts['encrypted']:,}; "
          f"database files {sizes_mb['plain']:.0f} MB plain, {sizes_mb['encrypted']:.0f} MB encrypted")
    print()
    print(f"{'workload':<46}{'plain':>11}{'encrypted':>11}{'ratio':>8}")
    lines = []

    def line(label: str, plain: float, encrypted: float, unit: str, goal: bool | float) -> None:
        ratio = encrypted / plain
        lines.append((label, ratio, RATIO_GOAL if goal is True else goal))
        print(f"{label:<46}{plain:>9.3f} {unit}{encrypted:>9.3f} {unit}{ratio:>7.2f}x"
              + ("" if goal else "  (information)"))

    line(f"bulk insert {BULK_CONTACTS:,} contacts, total", bulk["plain"].total,
         bulk["encrypted"].total, "s", BULK_RATIO_GOAL)
    line(f"{SAVES} single-contact saves, total", saves["plain"].total, saves["encrypted"].total, "s", True)
    for q in (0.5, 0.95):
        line(f"  one save, p{round(q * 100)}", percentile(saves["plain"].seconds, q) * 1e3,
             percentile(saves["encrypted"].seconds, q) * 1e3, "ms", False)
    line(f"{SEARCHES} searches at {BULK_CONTACTS + SAVES:,}, total", early["plain"].total,
         early["encrypted"].total, "s", True)
    line("  one search, p95", percentile(early["plain"].seconds, 0.95) * 1e3,
         percentile(early["encrypted"].seconds, 0.95) * 1e3, "ms", False)
    line(f"fill up to {SEARCH_AT:,} contacts, total", fill["plain"].total, fill["encrypted"].total,
         "s", False)
    line(f"{SEARCHES} searches at {SEARCH_AT:,}, total", full["plain"].total, full["encrypted"].total,
         "s", False)
    for q in (0.5, 0.95, 0.99):
        line(f"  one search at {SEARCH_AT:,}, p{round(q * 100)}",
             percentile(full["plain"].seconds, q) * 1e3, percentile(full["encrypted"].seconds, q) * 1e3,
             "ms", False)
    print(f"(searches at {SEARCH_AT:,} found {full['plain'].result:,} contacts plain, "
          f"{full['encrypted'].result:,} encrypted: the same queries on both; bulk insert "
          f"{BULK_BATCH:,} contacts a transaction; the two databases take turns unit by unit)")
    print()
    unlocks = unlock["unlocks"]
    print(f"unlock (Store.unlock, Argon2id t={kdf.time_cost}, m={kdf.memory_kib // 1024} MiB, "
          f"p={kdf.parallelism}, calibrated at init in {unlock['init_s']:.1f} s): median "
          f"{statistics.median(unlocks):.2f} s of {len(unlocks)} (max {max(unlocks):.2f} s); slow by design")
    if diagnosed:
        print()
        print("diagnosis: the store sets cipher_memory_security = ON (process-wide: SQLCipher then "
              "locks and wipes every allocation); the three compared phases again in a separate "
              "process, encrypted with it OFF:")
        for label, key in ((f"bulk insert {BULK_CONTACTS:,} contacts, total", "bulk"),
                           (f"{SAVES} single-contact saves, total", "saves"),
                           (f"{SEARCHES} searches at {BULK_CONTACTS + SAVES:,}, total", "searches")):
            plain, encrypted = diagnosed[key]["plain"], diagnosed[key]["encrypted"]
            print(f"{label:<46}{plain:>9.3f} s{encrypted:>9.3f} s{encrypted / plain:>7.2f}x  (diagnosis)")
    print(f"(cipher_memory_security on the store's connection: {memory_security}; "
          f"store benchmark {time.perf_counter() - run_started:.1f} s)")

    failed = False
    for label, ratio, goal in lines:
        if goal:
            verdict = "PASS" if ratio <= goal else "FAIL"
            failed |= ratio > goal
            print(f"{verdict}: {label.strip()}: encrypted {ratio:.2f}x plain (goal <= {goal}x)")
    p95 = percentile(full["encrypted"].seconds, 0.95) * 1e3
    verdict = "PASS" if p95 <= SEARCH_P95_GOAL_MS else "FAIL"
    failed |= p95 > SEARCH_P95_GOAL_MS
    print(f"{verdict}: search p95 at {SEARCH_AT:,} contacts (encrypted) {p95:.2f} ms "
          f"(goal <= {SEARCH_P95_GOAL_MS:g} ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(without_memory_security() if sys.argv[1:] == ["--without-memory-security"] else main())
