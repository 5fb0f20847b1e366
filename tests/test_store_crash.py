"""Crash safety: a writer killed with SIGKILL at random moments loses no acknowledged commit
and leaves no torn transaction.

The writer (tests/store_crash_writer.py) runs in its own process against the store's
database, opened with the store's own ``connect`` and the data key of a store made by
``Store.init``. It prints a child's id only after COMMIT has returned. The parent kills
it 20-200 ms after its first acknowledged commit, 60 times against the same database
(every round a new writer, so every round also opens a database that the previous
writer left mid-transaction), and checks the database every few rounds and at the end.
benchmarks/crash_soak.py runs the same rounds 200 times.
"""

from __future__ import annotations

import random
import time

from spoa.store.store import Store
from tests.conftest import ADMIN_PASSWORD
from tests.store_crash_writer import check, crash_round, unexpected_exit

ROUNDS = 60  # the issue asks for at least 50 kills in the suite
CHECK_EVERY = 15


def test_sigkilled_writer_loses_no_acknowledged_commit_and_tears_nothing(new_store, store_folder):
    store, _ = new_store
    data_key = bytes(store._data_key)  # a copy: lock wipes the store's
    store.lock()  # the writer is the only one with the database open while it is killed

    rng = random.Random()  # a different schedule of kills every run; the seed is reported
    seed = rng.randrange(2**32)
    rng.seed(seed)
    acknowledged: set[str] = set()
    started = time.monotonic()
    for number in range(1, ROUNDS + 1):
        round_ = crash_round(store_folder, data_key, rng)
        problem = unexpected_exit(round_)
        assert problem is None, f"round {number} (seed {seed}): {problem}"
        acknowledged.update(round_.acknowledged)
        if number % CHECK_EVERY == 0:
            result = check(store_folder, data_key, acknowledged, full=number == ROUNDS)
            assert not result.lost, (
                f"round {number} (seed {seed}): {len(result.lost)} acknowledged commits lost, "
                f"e.g. {result.lost[:3]}")
            assert result.torn_total == 0, f"round {number} (seed {seed}): torn: {result.torn}"
    elapsed = time.monotonic() - started

    final = check(store_folder, data_key, acknowledged)
    assert final.lost == []
    assert final.torn_total == 0, final.torn
    assert final.integrity == ["ok"]
    assert final.cipher_problems == []
    assert final.children == final.contacts >= len(acknowledged) >= ROUNDS
    print(f"{ROUNDS} kills in {elapsed:.1f} s (seed {seed}): {len(acknowledged)} acknowledged, "
          f"{final.children} stored, 0 lost, 0 torn")

    # The store itself still opens over the crashed-into database, and its audit chain holds.
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as reopened:
        assert reopened.verify_audit().intact
        assert reopened.db["children"].count == final.children
