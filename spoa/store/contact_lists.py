"""Lists of contacts: one summary line per contact for work lists and search results, and
keyset paging through every contact, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from spoa.model import ReferrerType, Route, Urgency
from spoa.store.contacts import CONTACT_STATUSES
from spoa.store.fields import clean_choice, stored_instant


@dataclass(frozen=True)
class ContactSummary:
    """One line of a work list or a search result."""

    contact_id: str
    child_id: str
    child_name: str
    date_of_birth: date | None
    nhs_number: str | None
    referrer_type: ReferrerType
    received_at: datetime
    status: str
    contact_by: datetime | None
    route: Route | None  # the latest session's final route, else its recommendation
    urgency: Urgency | None


_SUMMARY_SELECT = """
    SELECT co.id, ch.id, ch.given_name, ch.family_name, ch.date_of_birth, ch.nhs_number,
           co.referrer_type, co.received_at, co.status, co.contact_by,
           (SELECT coalesce(ts.final_route, json_extract(ts.outcome, '$.route'))
              FROM triage_sessions ts WHERE ts.contact_id = co.id
              ORDER BY ts.started_at DESC, ts.rowid DESC LIMIT 1),
           (SELECT coalesce(ts.final_urgency, json_extract(ts.outcome, '$.urgency'))
              FROM triage_sessions ts WHERE ts.contact_id = co.id
              ORDER BY ts.started_at DESC, ts.rowid DESC LIMIT 1)
    FROM contacts co JOIN children ch ON ch.id = co.child_id
"""


def _summary(row: tuple) -> ContactSummary:
    return ContactSummary(
        contact_id=row[0], child_id=row[1], child_name=f"{row[2]} {row[3]}".strip(),
        date_of_birth=date.fromisoformat(row[4]) if row[4] else None, nhs_number=row[5],
        referrer_type=ReferrerType(row[6]), received_at=datetime.fromisoformat(row[7]), status=row[8],
        contact_by=stored_instant(row[9]), route=Route(row[10]) if row[10] else None,
        urgency=Urgency(row[11]) if row[11] else None)


def list_contacts(db: Database, *, status: str | None = None, limit: int = 100) -> list[ContactSummary]:
    """Contacts, soonest deadline first (those without one last), then newest."""
    where, params = "", []
    if status is not None:
        where, params = "WHERE co.status = ?", [clean_choice(status, "status", CONTACT_STATUSES)]
    rows = db.execute(
        _SUMMARY_SELECT + where +
        " ORDER BY co.contact_by IS NULL, co.contact_by, co.received_at DESC LIMIT ?",
        [*params, max(1, int(limit))]).fetchall()
    return [_summary(r) for r in rows]


def contact_summaries(db: Database, contact_ids: Sequence[str]) -> list[ContactSummary]:
    """Summaries in the order of the ids given (a search's ranking)."""
    if not contact_ids:
        return []
    marks = ", ".join("?" for _ in contact_ids)
    rows = db.execute(_SUMMARY_SELECT + f" WHERE co.id IN ({marks})", list(contact_ids)).fetchall()
    by_id = {r[0]: _summary(r) for r in rows}
    return [by_id[i] for i in contact_ids if i in by_id]


PageKey = tuple[str, str]  # (received_at as stored, contact id): where a page of contacts ends


def contact_keys_newest_first(db: Database, *, after: PageKey | None = None,
                              limit: int = 200) -> list[PageKey]:
    """The next ``limit`` contacts newest first (ties by id), after the key of the last one
    already shown: keyset paging, so the last page of 100,000 costs what the first does
    (no OFFSET, which reads and throws away every row before the page). With an index on
    contacts (received_at DESC, id) a page is a seek; without one, each page is a scan."""
    where, params = "", []
    if after is not None:
        received_at, contact_id = after
        # The first term bounds the range (so an index on received_at seeks, not scans).
        where = "WHERE co.received_at <= ? AND (co.received_at < ? OR co.id > ?) "
        params = [received_at, received_at, contact_id]
    rows = db.execute(
        "SELECT co.received_at, co.id FROM contacts co " + where +  # noqa: S608 (fixed text only)
        "ORDER BY co.received_at DESC, co.id LIMIT ?", [*params, max(1, int(limit))]).fetchall()
    return [(r[0], r[1]) for r in rows]


def count_contacts(db: Database) -> int:
    return db.execute("SELECT count(*) FROM contacts").fetchone()[0]
