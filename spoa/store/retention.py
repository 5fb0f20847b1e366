"""Retention: when a child's records are due for review, and purging them on purpose.

Children's records are due for review after the child's 25th birthday, or after the 26th
if the child was 17 or older when their last contact was closed (a child closed at 18
is never reviewed earlier than one closed at 17). A local policy (``retention_policy``)
can make either age later, never earlier. A child with a contact still open is never
due: the record is in use. A contact counts as closed when its ``closed_at`` is set, or
when its status is ``closed`` (then its last update is the closing date). Someone born
on 29 February has a birthday on 1 March in other years, the later of the two
candidate days, so no record is reviewed a day early.

Nothing is deleted because a date passed. Purging is explicit, one child at a time,
by an administrator with a reason: the child and every record that refers to them
(contacts, triage sessions, referrals and their steps, advice requests, letters, edit
history, search rows) go in one transaction, audited with the child's id only, and the
write-ahead log is then checkpointed and truncated. With ``secure_delete`` on (always,
see :mod:`spoa.store.database`) freed space is overwritten, and the search index is
rebuilt so no folded name stays in it. Backups made earlier still hold the child.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlite_utils import Database

from spoa.roles import NotAllowed, Permission, allowed
from spoa.store.database import StoreError
from spoa.store.store import Store

BASE_REVIEW_AGE = 25
REVIEW_AGE_IF_17_AT_CLOSURE = 26
OLDEST_REVIEW_AGE = 120
LONGEST_REASON = 500
SEARCH_TABLE = "contact_search"
HISTORY_TABLE = "record_history"
STILL_OPEN = "a contact is still open"
UNDATED = "no usable date of birth: review by hand"


class RetentionProblem(StoreError):
    """A retention request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class RetentionPolicy:
    review_age: int = BASE_REVIEW_AGE
    review_age_if_17_at_closure: int = REVIEW_AGE_IF_17_AT_CLOSURE


NATIONAL_MINIMUM = RetentionPolicy()


@dataclass(frozen=True)
class ChildRetention:
    child_id: str
    due_on: date | None  # None: cannot be dated (no usable date of birth) or still open
    rule: str  # in words, without personal data
    name: str | None = None  # only for users who may view records, and when asked


@dataclass(frozen=True)
class PurgeReport:
    child_id: str
    removed: dict[str, int]  # table -> rows deleted
    wiped: bool  # False: another desk held the log open, so old pages may linger until it closes


# -- dates -----------------------------------------------------------------------------------

def birthday(date_of_birth: date, age: int) -> date:
    """The day a person born on ``date_of_birth`` turns ``age`` (29 February: 1 March)."""
    year = date_of_birth.year + age
    try:
        return date_of_birth.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return date(year, 3, 1)


def age_on(date_of_birth: date, day: date) -> int:
    years = day.year - date_of_birth.year
    return years - 1 if day < birthday(date_of_birth, years) else years


def review_date(date_of_birth: date, last_closed: date | None,
                policy: RetentionPolicy = NATIONAL_MINIMUM) -> tuple[date, str]:
    """When a child's records are due for review, and the rule that set it."""
    if last_closed is not None and age_on(date_of_birth, last_closed) >= 17:
        age = policy.review_age_if_17_at_closure
        return birthday(date_of_birth, age), f"{_ordinal(age)} birthday (17 or older at closure)"
    age = policy.review_age
    return birthday(date_of_birth, age), f"{_ordinal(age)} birthday"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _parse_day(text) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


# -- policy ----------------------------------------------------------------------------------

def policy(db: Database) -> RetentionPolicy:
    row = db.execute("SELECT review_age, review_age_if_17_at_closure FROM retention_policy "
                     "WHERE id = 1").fetchone()
    return RetentionPolicy(int(row[0]), int(row[1])) if row else NATIONAL_MINIMUM


def set_policy(store: Store, review_age: int, review_age_if_17_at_closure: int) -> RetentionPolicy:
    """Keep records longer than the national minimum (admin; audited). Never shorter."""
    store.require(Permission.PURGE_RECORDS)
    if review_age < BASE_REVIEW_AGE or review_age_if_17_at_closure < REVIEW_AGE_IF_17_AT_CLOSURE:
        raise RetentionProblem(
            f"A local policy can only keep records longer: review at {BASE_REVIEW_AGE} or later, "
            f"and at {REVIEW_AGE_IF_17_AT_CLOSURE} or later for a child 17 or older at closure.")
    if review_age_if_17_at_closure < review_age:
        raise RetentionProblem("The review age for a child 17 or older at closure cannot be "
                               "earlier than the general review age.")
    if max(review_age, review_age_if_17_at_closure) > OLDEST_REVIEW_AGE:
        raise RetentionProblem(f"A review age above {OLDEST_REVIEW_AGE} is not a real policy.")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.db.conn:
        store.db.execute("BEGIN IMMEDIATE")
        store.db.execute(
            "INSERT INTO retention_policy (id, review_age, review_age_if_17_at_closure, updated_at, "
            "updated_by) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "review_age = excluded.review_age, "
            "review_age_if_17_at_closure = excluded.review_age_if_17_at_closure, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [review_age, review_age_if_17_at_closure, now, store.user.username])
        store.audit("update", "retention_policy", "1")
    return RetentionPolicy(review_age, review_age_if_17_at_closure)


# -- what is due -----------------------------------------------------------------------------

_CHILDREN = """
    SELECT c.id, c.date_of_birth,
        (SELECT count(*) FROM contacts k WHERE k.child_id = c.id
            AND k.closed_at IS NULL AND k.status != 'closed') AS open_contacts,
        (SELECT max(CASE WHEN k.closed_at IS NOT NULL THEN k.closed_at ELSE k.updated_at END)
            FROM contacts k WHERE k.child_id = c.id
            AND (k.closed_at IS NOT NULL OR k.status = 'closed')) AS last_closed
    FROM children c
"""


def _assess(row, rules: RetentionPolicy) -> ChildRetention:
    child_id, date_of_birth, open_contacts, last_closed = row[:4]
    born = _parse_day(date_of_birth)
    if open_contacts:
        return ChildRetention(str(child_id), None, STILL_OPEN)
    if born is None:
        return ChildRetention(str(child_id), None, UNDATED)
    due_on, rule = review_date(born, _parse_day(last_closed), rules)
    return ChildRetention(str(child_id), due_on, rule)


def assess(store: Store, child_id: str) -> ChildRetention:
    """One child's review date (no name)."""
    _require_any(store, Permission.PURGE_RECORDS, Permission.VIEW_RECORDS)
    row = store.db.execute(_CHILDREN + " WHERE c.id = ?", [child_id]).fetchone()
    if row is None:
        raise RetentionProblem(f"There is no child with id {child_id}.")
    return _assess(row, policy(store.db))


def due(store: Store, today: date | None = None, *, with_names: bool = False) -> list[ChildRetention]:
    """Children whose records are due for review on ``today``, earliest first.

    Names only when asked and only for a role that may view records (admins may not);
    each child named is audited as a view.
    """
    _require_any(store, Permission.PURGE_RECORDS, Permission.VIEW_RECORDS)
    if with_names:
        store.require(Permission.VIEW_RECORDS)
    today = today or date.today()
    rules = policy(store.db)
    items = [item for item in (_assess(row, rules) for row in store.db.execute(_CHILDREN))
             if item.due_on is not None and item.due_on <= today]
    items.sort(key=lambda item: (item.due_on, item.child_id))
    if not with_names:
        return items
    named = []
    for item in items:
        given, family = store.db.execute("SELECT given_name, family_name FROM children WHERE id = ?",
                                         [item.child_id]).fetchone()
        store.audit("view", "child", item.child_id)
        named.append(ChildRetention(item.child_id, item.due_on, item.rule, f"{given} {family}".strip()))
    return named


def undated(store: Store) -> list[ChildRetention]:
    """Children that cannot be dated (no usable date of birth) and have nothing open."""
    _require_any(store, Permission.PURGE_RECORDS, Permission.VIEW_RECORDS)
    rules = policy(store.db)
    return [item for item in (_assess(row, rules) for row in store.db.execute(_CHILDREN))
            if item.rule == UNDATED]


def _require_any(store: Store, *permissions: Permission) -> None:
    if not any(allowed(store.user.role, p) for p in permissions):
        raise NotAllowed(store.user.role, permissions[0])


# -- purge -----------------------------------------------------------------------------------

def purge(store: Store, child_id: str, reason: str, *, today: date | None = None) -> PurgeReport:
    """Delete one child past their review date and everything that refers to them.

    Admin only; audited as 'purge' with the child's id. The reason is kept in the record
    of destruction and must not identify the child.
    """
    store.require(Permission.PURGE_RECORDS)
    reason = unicodedata.normalize("NFC", reason or "").strip()
    if not reason:
        raise RetentionProblem("Give the reason for the purge (for example the retention review "
                               "it follows), without naming the child.")
    if len(reason) > LONGEST_REASON:
        raise RetentionProblem(f"Keep the reason under {LONGEST_REASON} characters.")
    today = today or date.today()
    db = store.db
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(_CHILDREN + " WHERE c.id = ?", [child_id]).fetchone()
        if row is None:
            raise RetentionProblem(f"There is no child with id {child_id}; nothing was purged.")
        item = _assess(row, policy(db))
        if item.due_on is None:
            raise RetentionProblem(f"Child {child_id} cannot be purged: {item.rule}.")
        if item.due_on > today:
            raise RetentionProblem(f"Child {child_id} is not due for review until "
                                   f"{item.due_on.isoformat()} ({item.rule}); nothing was purged.")
        _check_reason(db, child_id, reason)
        removed: dict[str, int] = {}
        text_ids: set[str] = set()
        _delete_with_dependents(db, _references(db), "children", "id", [child_id], removed, text_ids,
                                path=())
        if db[SEARCH_TABLE].exists():
            removed[SEARCH_TABLE] = db.execute(
                f"DELETE FROM {SEARCH_TABLE} WHERE contact_id IN (SELECT value FROM json_each(?))",  # noqa: S608
                [json.dumps(sorted(text_ids))]).rowcount
            # Deleted documents linger in older index segments until they are merged.
            db.execute(f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('optimize')")  # noqa: S608
        if db[HISTORY_TABLE].exists():
            removed[HISTORY_TABLE] = db.execute(
                f"DELETE FROM {HISTORY_TABLE} WHERE record_id IN (SELECT value FROM json_each(?))",  # noqa: S608
                [json.dumps(sorted(text_ids))]).rowcount
        db.execute("INSERT INTO retention_purges (child_id, due_on, purged_at, purged_by, reason) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [child_id, item.due_on.isoformat(), datetime.now(UTC).isoformat(timespec="seconds"),
                    store.user.username, reason])
        store.audit("purge", "child", child_id)
    busy, log, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return PurgeReport(child_id, {k: v for k, v in removed.items() if v}, busy == 0 and log == 0)


def _check_reason(db: Database, child_id: str, reason: str) -> None:
    given, family, born, nhs_number = db.execute(
        "SELECT given_name, family_name, date_of_birth, nhs_number FROM children WHERE id = ?",
        [child_id]).fetchone()
    folded = reason.casefold()
    digits = re.sub(r"\D", "", reason)
    identifying = [unicodedata.normalize("NFC", part).casefold()
                   for part in (given or "", family or "") if len(part.strip()) >= 2]
    named = any(part.strip() in folded for part in identifying)
    numbered = bool(nhs_number) and re.sub(r"\D", "", nhs_number) in digits
    dated = False
    day = _parse_day(born)
    if day is not None:
        dated = any(form in reason for form in (day.isoformat(), day.strftime("%d/%m/%Y"),
                                                day.strftime("%d.%m.%Y")))
    if named or numbered or dated:
        raise RetentionProblem("The reason must not identify the child (name, NHS number or date "
                               "of birth): it is kept after the records are gone. Nothing was purged.")


def _references(db: Database) -> dict[str, list[tuple[str, str, str]]]:
    """parent table -> [(child table, child column, parent column)] from the declared foreign keys."""
    refs: dict[str, list[tuple[str, str, str]]] = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for fk in db.execute("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?)",
                             [name]).fetchall():
            parent, column, parent_column = fk
            if parent_column is None:
                parent_column = db[parent].pks[0]
            refs.setdefault(parent, []).append((name, column, parent_column))
    return refs


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _delete_with_dependents(db: Database, refs, table: str, column: str, values: list,
                            removed: dict[str, int], text_ids: set[str], path: tuple) -> None:
    """Delete rows of ``table`` whose ``column`` is in ``values``, after every row that
    refers to them (foreign keys stay enforced: a reference missed here fails the whole
    transaction rather than leaving an orphan)."""
    if not values or table in path:
        return
    chosen = "(SELECT value FROM json_each(?))"
    where = f"{_quote(column)} IN {chosen}"
    argument = [json.dumps(values)]
    for child, child_column, parent_column in refs.get(table, []):
        keys = [r[0] for r in db.execute(
            f"SELECT DISTINCT {_quote(parent_column)} FROM {_quote(table)} WHERE {where}",  # noqa: S608
            argument)]
        _delete_with_dependents(db, refs, child, child_column, keys, removed, text_ids,
                                (*path, table))
    pks = db[table].pks
    if len(pks) == 1:
        for (key,) in db.execute(f"SELECT {_quote(pks[0])} FROM {_quote(table)} WHERE {where}",  # noqa: S608
                                 argument):
            if isinstance(key, str):
                text_ids.add(key)
    count = db.execute(f"DELETE FROM {_quote(table)} WHERE {where}", argument).rowcount  # noqa: S608
    removed[table] = removed.get(table, 0) + count


__all__ = ["NATIONAL_MINIMUM", "ChildRetention", "PurgeReport", "RetentionPolicy", "RetentionProblem",
           "age_on", "assess", "birthday", "due", "policy", "purge", "review_date", "set_policy",
           "undated"]
