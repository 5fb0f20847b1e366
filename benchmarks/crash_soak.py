"""The crash test, 200 times: a writer SIGKILLed at random moments loses nothing acknowledged.

Each round starts a new writer (tests/store_crash_writer.py) on the same encrypted
database (spoa.store.database.connect with the raw data key, the store's schema). The
writer commits transactions of a child, its contact and the contact's search row, and
prints the child's id only after COMMIT returns; it is killed with SIGKILL 20-200 ms
after its first acknowledged commit. Every 25 rounds, and at the end, the database is
reopened: every acknowledged id must be there, no contact without its child or child
without its contact (no torn transaction), PRAGMA integrity_check ok and PRAGMA
cipher_integrity_check silent.

    .venv/bin/python benchmarks/crash_soak.py [ROUNDS] [--seed N]

Prints "200 rounds, 0 lost, 0 torn" when all is well; exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.store_crash_writer import check, crash_round, new_database, unexpected_exit  # noqa: E402

CHECK_EVERY = 25


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=200)
    parser.add_argument("--seed", type=int, help="the kill schedule's seed (default: a new one)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    started = time.perf_counter()
    acknowledged: set[str] = set()
    delays: list[float] = []
    with tempfile.TemporaryDirectory(prefix="spoa-crash-soak-") as tmp:
        folder = Path(tmp)
        data_key = new_database(folder)
        result = None
        for number in range(1, args.rounds + 1):
            round_ = crash_round(folder, data_key, rng)
            problem = unexpected_exit(round_)
            if problem:
                print(f"round {number}: {problem}")
                return 1
            acknowledged.update(round_.acknowledged)
            delays.append(round_.delay_ms)
            if number % CHECK_EVERY == 0 or number == args.rounds:
                result = check(folder, data_key, acknowledged, full=number == args.rounds)
                if not result.ok:
                    print(f"round {number} (seed {seed}): {len(result.lost)} lost, {result.torn_total} "
                          f"torn {result.torn}, integrity {result.integrity[:5]}, "
                          f"cipher_integrity_check {result.cipher_problems[:5]}")
                    return 1
        size_mb = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 2**20
    elapsed = time.perf_counter() - started
    print(f"seed {seed}; kills {min(delays):.0f}-{max(delays):.0f} ms after the first acknowledged commit; "
          f"{len(acknowledged):,} commits acknowledged, {result.children:,} stored "
          f"(the rest committed but killed before they could be acknowledged); database {size_mb:.1f} MB; "
          f"integrity_check ok, cipher_integrity_check silent; {elapsed:.1f} s")
    print(f"{args.rounds} rounds, {len(result.lost)} lost, {result.torn_total} torn")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
