"""A writer to kill, and the parent's side of the crash test (not a test module itself).

As a script, ``python tests/store_crash_writer.py FOLDER HEXKEY`` opens FOLDER/spoa.db
with ``spoa.store.database.connect`` and the raw data key, then commits transactions
for ever. Each transaction inserts a child, a contact for that child and the contact's
search row; the child's id is printed (and flushed) only after COMMIT has returned, so
every id on stdout is an acknowledged commit. The parent kills it with SIGKILL.

With ``--rows N`` it prints ``ready``, waits for a line on stdin (so that two writers
can be started together), commits N such transactions, prints one JSON line about its
run and exits 0: the concurrent-writers test.

Imported (tests/test_store_crash.py, benchmarks/crash_soak.py), it offers the parent's
side: one kill round and the check of the database after the kills.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
DELAY_MS = (20, 200)  # kill this long after the writer's first acknowledged commit

GIVEN = ["Zoe", "Amir", "Bethan", "Kai", "Maya", "Oliver", "Priya", "Tomasz", "Leah", "Noah"]
FAMILY = ["Example", "Sample", "Testcase", "Placeholder", "Dummy", "Fixture"]
SCHOOLS = ["Riverside School", "Hillview Academy", "St Example Primary", "Northgate High"]


# -- the child ---------------------------------------------------------------------------------

def save_one(db, rng: random.Random, writer: str) -> str:
    """One transaction: a child, its contact and the contact's search row. Returns the child id."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    child_id, contact_id = uuid.uuid4().hex, uuid.uuid4().hex
    given, family, school = rng.choice(GIVEN), rng.choice(FAMILY), rng.choice(SCHOOLS)
    nhs = f"999{rng.randrange(10**7):07d}"  # synthetic: the 999 range is never issued
    born = f"20{rng.randrange(8, 20):02d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "INSERT INTO children (id, given_name, family_name, date_of_birth, nhs_number, school, "
            "created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [child_id, given, family, born, nhs, school, now, writer, now])
        db.execute(
            "INSERT INTO contacts (id, child_id, referrer_type, referrer_name, received_at, "
            "created_at, created_by, updated_at) VALUES (?, ?, 'gp', 'Dr Example', ?, ?, ?, ?)",
            [contact_id, child_id, now, now, writer, now])
        db.execute("INSERT INTO contact_search (contact_id, folded) VALUES (?, ?)",
                   [contact_id, f"{given} {family} {nhs} {born} {school} dr example gp".lower()])
        db.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    return child_id


def child_main(argv: list[str]) -> int:
    import argparse

    from spoa.store.database import DATABASE_FILE, close, connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("hexkey")
    parser.add_argument("--rows", type=int, help="commit this many transactions, then exit")
    parser.add_argument("--name", default="crash-writer")
    args = parser.parse_args(argv)
    db = connect(args.folder / DATABASE_FILE, bytes.fromhex(args.hexkey))
    rng = random.Random()
    if args.rows is None:
        while True:
            print(save_one(db, rng, args.name), flush=True)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    longest = 0.0
    for _ in range(args.rows):
        t0 = time.monotonic()
        save_one(db, rng, args.name)
        longest = max(longest, time.monotonic() - t0)
    finished = time.monotonic()
    close(db)
    # CLOCK_MONOTONIC is system-wide on Linux, so the parent can compare two writers' spans.
    print(json.dumps({"rows": args.rows, "started": started, "finished": finished,
                      "longest_transaction_s": longest}), flush=True)
    return 0


# -- the parent --------------------------------------------------------------------------------

def writer_command(folder: Path, data_key: bytes, *extra: str) -> list[str]:
    return [sys.executable, str(HERE), str(folder), data_key.hex(), *extra]


@dataclass
class Round:
    acknowledged: list[str]
    delay_ms: float
    returncode: int
    stderr: str


def crash_round(folder: Path, data_key: bytes, rng: random.Random) -> Round:
    """Start a writer, wait for its first acknowledged commit, let it run 20-200 ms more,
    SIGKILL it. Returns the ids it acknowledged (complete lines only)."""
    process = subprocess.Popen(writer_command(folder, data_key), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO)
    try:
        first = process.stdout.readline()
        delay = rng.uniform(*DELAY_MS)
        if first:
            time.sleep(delay / 1000)
        process.send_signal(signal.SIGKILL)
        rest, err = process.communicate(timeout=30)
    except BaseException:
        process.kill()
        process.wait()
        raise
    text = (first + rest).decode("ascii", "replace")
    lines = text.split("\n")
    complete = lines[:-1]  # the last piece has no newline: not (fully) acknowledged
    return Round([line for line in complete if line], delay, process.returncode,
                 err.decode("utf-8", "replace"))


@dataclass
class Check:
    children: int = 0
    contacts: int = 0
    lost: list[str] = field(default_factory=list)
    torn: dict[str, int] = field(default_factory=dict)
    integrity: list[str] = field(default_factory=list)
    cipher_problems: list[tuple] = field(default_factory=list)

    @property
    def torn_total(self) -> int:
        return sum(self.torn.values())

    @property
    def ok(self) -> bool:
        return (not self.lost and not self.torn_total and self.integrity == ["ok"]
                and not self.cipher_problems)


TORN_QUERIES = {
    "children without a contact":
        "SELECT count(*) FROM children ch WHERE NOT EXISTS "
        "(SELECT 1 FROM contacts c WHERE c.child_id = ch.id)",
    "contacts without their child":
        "SELECT count(*) FROM contacts c WHERE NOT EXISTS "
        "(SELECT 1 FROM children ch WHERE ch.id = c.child_id)",
    "contacts without a search row":
        "SELECT count(*) FROM contacts c WHERE NOT EXISTS "
        "(SELECT 1 FROM contact_search s WHERE s.contact_id = c.id)",
    "search rows without a contact":
        "SELECT count(*) FROM contact_search s WHERE NOT EXISTS "
        "(SELECT 1 FROM contacts c WHERE c.id = s.contact_id)",
}


def check(folder: Path, data_key: bytes, acknowledged: set[str] | list[str],
          *, full: bool = True) -> Check:
    """Reopen the database and look for lost acknowledged commits, torn transactions and
    (when ``full``) anything the integrity checks report."""
    from spoa.store.database import DATABASE_FILE, close, connect

    db = connect(folder / DATABASE_FILE, data_key)
    try:
        present = {row[0] for row in db.execute("SELECT id FROM children")}
        result = Check(children=len(present),
                       contacts=db.execute("SELECT count(*) FROM contacts").fetchone()[0])
        result.lost = sorted(set(acknowledged) - present)
        result.torn = {name: db.execute(sql).fetchone()[0] for name, sql in TORN_QUERIES.items()}
        if full:
            result.integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
            result.cipher_problems = db.execute("PRAGMA cipher_integrity_check").fetchall()
        else:
            result.integrity = ["ok"]
        return result
    finally:
        close(db)


def new_database(folder: Path) -> bytes:
    """A fresh encrypted database with the store's schema; returns its data key."""
    from spoa.store import schema
    from spoa.store.database import DATABASE_FILE, close, connect
    from spoa.store.keys import new_data_key

    folder.mkdir(parents=True, exist_ok=True)
    key = new_data_key()
    db = connect(folder / DATABASE_FILE, key, create=True)
    try:
        schema.apply(db)
    finally:
        close(db)
    return key


def unexpected_exit(round_: Round) -> str | None:
    """Why a round did not end the way a crash round should (killed by SIGKILL), if it didn't."""
    if round_.returncode == -signal.SIGKILL and round_.acknowledged:
        return None
    return (f"writer exited {round_.returncode} after {len(round_.acknowledged)} commits: "
            f"{round_.stderr.strip()[-2000:]}")


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
