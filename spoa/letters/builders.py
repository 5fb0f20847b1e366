"""Building many letter PDFs at once: on worker processes when that is quicker.

Building a letter is pure CPU work in ReportLab (about 20 ms for two pages) and the same
arguments always give the same bytes, so a batch (a supervisor's export of the day's
approved referrals) builds its letters on a small pool of worker processes while this
process reads the records, keeps each letter as issued and writes the files, in order.

- Workers are started with "spawn" (the same on Linux, macOS and Windows, and never a
  fork of a process holding an open SQLCipher connection or Qt threads). The pool is
  started on the first batch big enough to pay for it and kept for the life of the
  process, so a desk that exports every day pays the start once.
- Letter content travels to a worker through a pipe, in memory; nothing is written to
  disk, and a worker keeps nothing after it returns the bytes.
- If workers cannot be started or one dies, the rest of the batch is built here, in this
  process: slower, never different. A letter that cannot be built raises the same error
  as it would here.
- A frozen app must call ``multiprocessing.freeze_support()`` first thing in its entry
  point (ui/app.py and spoa/cli do), or a worker would start the app again.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from spoa.letters.content import HubDetails, LetterContent
from spoa.letters.pdf import build_letter
from spoa.letters.wording import Wording, load_letterhead, load_wording

log = logging.getLogger(__name__)

Key = TypeVar("Key")

MIN_POOLED_BATCH = 8  # fewer letters are built here: starting workers costs about half a second
MAX_WORKERS = 4
POOL_VARIABLE = "SPOA_LETTER_WORKERS"  # "0" builds every letter in this process

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_count() -> int:
    """How many worker processes a batch may use: one per core, at most MAX_WORKERS; 0
    when there is one core or SPOA_LETTER_WORKERS says 0 (or a number to use instead)."""
    configured = os.environ.get(POOL_VARIABLE, "").strip()
    if configured.isdigit():
        return min(int(configured), MAX_WORKERS)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cores < 2 else min(cores, MAX_WORKERS)


def _warm() -> None:
    """In each worker as it starts: fonts registered and resources read before any letter."""
    from spoa.letters.fonts import register_fonts

    register_fonts()


def _build(content: LetterContent, hub: HubDetails, wording: Wording, logo: str) -> bytes:
    return build_letter(content, hub, wording, logo=logo)


def _shared_pool(workers: int) -> ProcessPoolExecutor | None:
    global _pool
    with _pool_lock:
        if _pool is None:
            try:
                spawn = multiprocessing.get_context("spawn")
                _pool = ProcessPoolExecutor(max_workers=workers, mp_context=spawn, initializer=_warm)
            except (OSError, ValueError, NotImplementedError) as exc:
                log.warning("letter workers could not start (%s); building letters in this process",
                            type(exc).__name__)
                return None
        return _pool


def _discard_pool() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(_discard_pool)


def build_in_order(jobs: Iterable[tuple[Key, LetterContent | None]], *, expected: int,
                   hub: HubDetails | None = None, wording: Wording | None = None,
                   logo: str | os.PathLike[str] | None = None) -> Iterator[tuple[Key, bytes]]:
    """``(key, pdf)`` for each ``(key, content)`` of ``jobs``, in the order given (``pdf``
    is None where ``content`` is None: nothing to build, e.g. a letter already issued).

    ``jobs`` is read lazily, a few letters ahead of what has been yielded, so reading
    records for the next letters overlaps building the earlier ones. Stopping the
    iteration (a cancelled export) drops the letters still being built. ``expected`` is
    how many jobs there will be, to decide whether workers are worth starting."""
    letterhead = load_letterhead() if hub is None or logo is None else None
    hub = hub if hub is not None else letterhead.hub
    logo = str(logo if logo is not None else letterhead.logo)
    words = wording if wording is not None else load_wording()
    workers = worker_count()
    pool = _shared_pool(workers) if workers and expected >= MIN_POOLED_BATCH else None
    pending: deque[tuple[Key, LetterContent, Future | None]] = deque()
    window = 2 * workers
    source = iter(jobs)
    exhausted = False
    try:
        while True:
            while not exhausted and ((pool is not None and len(pending) < window) or not pending):
                job = next(source, None)
                if job is None:
                    exhausted = True
                    break
                key, content = job
                future = None
                if pool is not None and content is not None:
                    try:
                        future = pool.submit(_build, content, hub, words, logo)
                    except (BrokenProcessPool, RuntimeError):
                        pool = _fall_back()
                pending.append((key, content, future))
            if not pending:
                return
            key, content, future = pending.popleft()
            yield key, _result(future, content, hub, words, logo)
    finally:
        for _, _, future in pending:
            if future is not None:
                future.cancel()


def _result(future: Future | None, content: LetterContent | None, hub: HubDetails, words: Wording,
            logo: str) -> bytes | None:
    if content is None:
        return None
    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            _fall_back()
    return build_letter(content, hub, words, logo=Path(logo))


def _fall_back() -> None:
    log.warning("a letter worker stopped; building the rest of the batch in this process")
    _discard_pool()
