"""How records change: in one write transaction, with new ids and UTC timestamps, and every
changed field leaving a history row (old -> new, who, when, why).

Every write that touches more than one row happens in one transaction, so nothing is ever
half-stored.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from spoa.store.fields import InvalidField, RecordNotFound, clean_reason


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[None]:
    """One write transaction; joins the caller's if one is open (so the desk can add the
    audit entry to the same commit)."""
    if db.conn.in_transaction:
        yield
        return
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        yield


@dataclass(frozen=True)
class HistoryEntry:
    seq: int  # order of writing, across all records
    record_type: str
    record_id: str
    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str
    changed_at: datetime
    reason: str


def history(db: Database, record_type: str, record_id: str) -> list[HistoryEntry]:
    rows = db.execute(
        "SELECT id, record_type, record_id, field, old_value, new_value, changed_by, changed_at, reason "
        "FROM record_history WHERE record_type = ? AND record_id = ? ORDER BY id",
        [record_type, record_id]).fetchall()
    return [HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], datetime.fromisoformat(r[7]), r[8])
            for r in rows]


def write_history(db: Database, record_type: str, record_id: str, field_name: str, old: str | None,
             new: str | None, by: str, at: str, reason: str) -> None:
    db.execute(
        "INSERT INTO record_history (record_type, record_id, field, old_value, new_value, changed_by, "
        "changed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [record_type, record_id, field_name, old, new, by, at, reason])


def history_value(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def update_fields(db: Database, record_type: str, table: str, record_id: str, checks: Mapping,
            changes: Mapping[str, object], *, by: str, reason: str) -> set[str]:
    """Check every change first, then write the changed columns and their history together."""
    why = clean_reason(reason)
    stored = {}
    for name, value in changes.items():
        if name not in checks:
            raise InvalidField(str(name), f"is not a field of a {record_type} that can be changed")
        stored[name] = checks[name](value)
    with transaction(db):
        columns = ", ".join(stored) or "id"
        row = db.execute(f"SELECT {columns} FROM {table} WHERE id = ?",  # noqa: S608 (names checked above)
                         [record_id]).fetchone()
        if row is None:
            raise RecordNotFound(f"There is no {record_type} with the id {record_id!r}.")
        changed = {name: value for (name, value), old in zip(stored.items(), row, strict=False)
                   if old != value}
        if not changed:
            return set()
        now = utc_now_text()
        old_values = dict(zip(stored, row, strict=False))
        for name, value in sorted(changed.items()):
            write_history(db, record_type, record_id, name, old_values[name], value, by, now, why)
        assignments = ", ".join(f"{name} = ?" for name in changed)
        db.execute(f"UPDATE {table} SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                   [*changed.values(), now, record_id])
    return set(changed)
