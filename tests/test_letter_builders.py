"""Batch letters built on worker processes: the same bytes as built here, in order, and a
worker that dies mid-batch costs time, not letters."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

import pytest

from spoa.letters import archive, assemble, batch_export, builders
from spoa.letters.pdf import build_letter
from tests.world import approved_referral

BATCH = builders.MIN_POOLED_BATCH + 1


@pytest.fixture
def two_workers(monkeypatch):
    monkeypatch.setenv(builders.POOL_VARIABLE, "2")
    yield
    builders._discard_pool()


def contents(world, count):
    sam = world["sam"]
    ids = [approved_referral(world) for _ in range(count)]
    return [(rid, assemble.referral_content(sam.db, rid, document_id=f"doc-{n}").content)
            for n, rid in enumerate(ids)]


def test_pooled_build_gives_the_same_letters_in_the_same_order(desk_world, two_workers):
    jobs = contents(desk_world, BATCH)
    built = list(builders.build_in_order(iter(jobs), expected=len(jobs)))
    assert builders._pool is not None, "a batch this size should use the workers"
    assert [key for key, _ in built] == [key for key, _ in jobs]
    for (_, content), (_, pdf) in zip(jobs, built, strict=True):
        assert pdf == build_letter(content)


def test_a_worker_killed_mid_batch_still_gives_every_letter(desk_world, two_workers):
    jobs = contents(desk_world, BATCH)
    made = builders.build_in_order(iter(jobs), expected=len(jobs))
    first = next(made)  # the pool is running and busy with the next letters
    victim = next(iter(builders._pool._processes))
    os.kill(victim, signal.SIGKILL)
    rest = list(made)
    assert builders._pool is None, "a broken pool is dropped, the rest built here"
    assert [key for key, _ in [first, *rest]] == [key for key, _ in jobs]
    for (_, content), (_, pdf) in zip(jobs, [first, *rest], strict=True):
        assert pdf == build_letter(content)


def test_export_day_on_workers_keeps_and_writes_every_letter(desk_world, two_workers, tmp_path):
    sam = desk_world["sam"]
    for _ in range(BATCH):
        approved_referral(desk_world)
    today = datetime.now(UTC).date()
    expected = batch_export.approved_on(sam.db, today)
    seen = []
    report = batch_export.export_day(sam, today, tmp_path / "day",
                                     progress=lambda done, total: seen.append(done))
    assert (report.done, report.cancelled) == (len(expected), False)
    assert seen == list(range(len(expected) + 1))
    found = [archive.verify_letter_file(sam.db, path) for path in report.files]
    assert all(f.issued for f in found)
    assert [f.letter.referral_id for f in found] == expected  # in order of approval


def test_small_batches_and_one_core_build_here(monkeypatch):
    monkeypatch.setenv(builders.POOL_VARIABLE, "0")
    assert builders.worker_count() == 0
    monkeypatch.setenv(builders.POOL_VARIABLE, "99")
    assert builders.worker_count() == builders.MAX_WORKERS
