"""Batch export for supervisors: every referral approved on a day, its letter (as issued;
made now if not yet) to a PDF in a folder, in order of approval, with progress and cancel.
Letters not yet made are built on worker processes (spoa.letters.builders) while this
process reads the records, keeps each letter and writes its file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlite_utils import Database

from spoa.letters import archive, builders
from spoa.letters.archive import IssuedLetter
from spoa.letters.assemble import ModuleLookup
from spoa.letters.content import HubDetails
from spoa.letters.formatting import long_date
from spoa.letters.referrals import check_allowed
from spoa.letters.wording import Wording
from spoa.roles import Permission
from spoa.store.store import Store

__all__ = ["BatchExport", "Cancel", "approved_on", "export_day"]


@dataclass(frozen=True)
class BatchExport:
    day: date
    folder: Path
    total: int
    files: tuple[Path, ...]
    cancelled: bool

    @property
    def done(self) -> int:
        return len(self.files)

    def summary(self) -> str:
        """What was written, as the supervisor reads it (the desk and 'spoa outbox export-day')."""
        day = long_date(self.day)
        if self.total == 0:
            return f"No referral was approved on {day}: nothing was written."
        if self.cancelled:
            return (f"Export cancelled: {self.done} of {_letters(self.total)} of referrals approved on "
                    f"{day} {'was' if self.done == 1 else 'were'} written to {self.folder}. Each file "
                    "written is complete; export the day again for the rest.")
        if self.done == 1:
            return f"The letter of the 1 referral approved on {day} was written to {self.folder}."
        return f"The {self.done} letters of the referrals approved on {day} were written to {self.folder}."


def _letters(count: int) -> str:
    return f"{count} letter" + ("" if count == 1 else "s")


Cancel = Callable[[], bool] | threading.Event


def _cancelled(cancel: Cancel | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def approved_on(db: Database, day: date) -> list[str]:
    """Referrals approved on ``day`` (UTC) and not returned since, in order of approval."""
    rows = db.execute(
        "SELECT s.referral_id, min(s.at) FROM referral_steps s JOIN referrals r ON r.id = s.referral_id "
        "WHERE s.state = 'approved' AND substr(s.at, 1, 10) = ? "
        "AND r.state IN ('approved', 'sent', 'closed') "
        "GROUP BY s.referral_id ORDER BY min(s.at), s.referral_id",
        [day.isoformat()]).fetchall()
    return [r[0] for r in rows]


def export_day(store: Store, day: date, folder: Path, *,
               progress: Callable[[int, int], None] | None = None, cancel: Cancel | None = None,
               hub: HubDetails | None = None, wording: Wording | None = None,
               modules: ModuleLookup | None = None) -> BatchExport:
    """Every referral approved on ``day``, its letter (as issued; made now if not yet) to a
    PDF in ``folder``, in order of approval. ``progress(done, total)`` after each letter;
    ``cancel`` (a callable or threading.Event) is checked between letters: the files written
    so far stay whole, and every letter made is kept as issued. Letters not yet made are
    built on worker processes (spoa.letters.builders) while this process reads the records,
    keeps each letter and writes its file."""
    check_allowed(store, Permission.EXPORT_LETTERS, "export", "referral")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ids = approved_on(store.db, day)
    total = len(ids)
    if progress is not None:
        progress(0, total)
    files: list[Path] = []

    def jobs():
        for referral_id in ids:
            if _cancelled(cancel):
                return
            archive.check_letter_may_be_made(store, referral_id)
            prepared = archive.prepare_referral_letter(store, referral_id, modules=modules)
            content = None if isinstance(prepared, IssuedLetter) else prepared.assembled.content
            yield prepared, content

    for prepared, pdf in builders.build_in_order(jobs(), expected=total, hub=hub, wording=wording):
        letter = prepared if pdf is None else archive.keep_referral_letter(store, prepared, pdf)[0]
        files.append(archive.export_letter(store, letter.id, folder / _file_name(day, letter)).path)
        if progress is not None:
            progress(len(files), total)
        if len(files) < total and _cancelled(cancel):
            break
    return BatchExport(day, folder, total, tuple(files), len(files) < total)


def _file_name(day: date, letter: IssuedLetter) -> str:
    return f"{day.isoformat()}-{letter.referral_id}-{letter.id}.pdf"

