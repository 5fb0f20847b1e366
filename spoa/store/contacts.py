"""Contacts (a call or letter about a child): the draft as typed, the stored contact, creating,
reading and changing one (each change with history; closing stamps closed_at), and the
deadlines counted from when it came in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from spoa.model import ReferrerType
from spoa.store import search
from spoa.store.changes import new_id, transaction, update_fields, utc_now_text, write_history
from spoa.store.children import ChildDraft
from spoa.store.fields import (
    LINE_LIMIT,
    NAME_LIMIT,
    InvalidField,
    RecordNotFound,
    clean_choice,
    clean_instant,
    clean_json,
    clean_reason,
    clean_text,
    stored_instant,
    text_of_number,
)

CONTACT_KINDS = ("triage", "advice")
CONTACT_STATUSES = ("open", "triaged", "referred", "closed")


@dataclass
class ContactDraft:
    """A new contact as typed: a new child (``child``) or one on record (``child_id``)."""

    referrer_type: ReferrerType | str
    child: ChildDraft | None = None
    child_id: str | None = None
    referrer_name: str = ""
    referrer_organisation: str = ""
    referrer_contact: str = ""
    source_of_referral: str = ""
    received_at: datetime | str | None = None  # None: now
    consent: Mapping = field(default_factory=dict)
    kind: str = "triage"
    status: str = "open"
    contact_by: datetime | str | None = None
    seen_by: datetime | str | None = None


@dataclass(frozen=True)
class Contact:
    id: str
    child_id: str
    kind: str
    referrer_type: ReferrerType
    referrer_name: str
    referrer_organisation: str
    referrer_contact: str
    source_of_referral: str
    received_at: datetime
    consent: dict
    status: str
    contact_by: datetime | None
    seen_by: datetime | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    closed_at: datetime | None = None  # set when the status becomes closed


def _consent(value: object) -> str:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise InvalidField("consent", "must be a set of named entries (status, given_by, notes, ...)")
    return json.dumps(clean_json(value, "consent"), ensure_ascii=False)


_CONTACT_FIELDS = {
    "child_id": lambda v: clean_text(v, "child_id", limit=NAME_LIMIT, required=True),
    "kind": lambda v: clean_choice(v, "kind", CONTACT_KINDS),
    "referrer_type": lambda v: clean_choice(v, "referrer_type", [r.value for r in ReferrerType]),
    "referrer_name": lambda v: clean_text(v, "referrer_name", limit=NAME_LIMIT),
    "referrer_organisation": lambda v: clean_text(v, "referrer_organisation", limit=NAME_LIMIT),
    "referrer_contact": lambda v: clean_text(text_of_number(v), "referrer_contact", limit=LINE_LIMIT,
                                             single_line=False),
    "source_of_referral": lambda v: clean_text(v, "source_of_referral", limit=NAME_LIMIT),
    "received_at": lambda v: clean_instant(v, "received_at", required=True),
    "consent": _consent,
    "status": lambda v: clean_choice(v, "status", CONTACT_STATUSES),
    "contact_by": lambda v: clean_instant(v, "contact_by"),
    "seen_by": lambda v: clean_instant(v, "seen_by"),
}


def contact_row(draft: ContactDraft) -> dict:
    """The checked columns of a new contact, except child_id (raises InvalidField)."""
    values = {name: getattr(draft, name) for name in _CONTACT_FIELDS if name != "child_id"}
    if values["received_at"] is None:
        values["received_at"] = datetime.now(UTC)
    if isinstance(values["referrer_type"], ReferrerType):
        values["referrer_type"] = values["referrer_type"].value
    return {name: _CONTACT_FIELDS[name](value) for name, value in values.items()}


def create_contact(db: Database, draft: ContactDraft, *, child_id: str, by: str) -> str:
    row = contact_row(draft)
    now = utc_now_text()
    with transaction(db):
        if db.execute("SELECT 1 FROM children WHERE id = ?", [child_id]).fetchone() is None:
            raise RecordNotFound(f"There is no child with the id {child_id!r}.")
        contact_id = new_id("co")
        while search.search_rowid_taken(db, contact_id):
            contact_id = new_id("co")
        db.execute(
            "INSERT INTO contacts (id, child_id, kind, referrer_type, referrer_name, "
            "referrer_organisation, referrer_contact, source_of_referral, received_at, consent, status, "
            "contact_by, seen_by, created_at, created_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [contact_id, child_id, row["kind"], row["referrer_type"], row["referrer_name"],
             row["referrer_organisation"], row["referrer_contact"], row["source_of_referral"],
             row["received_at"], row["consent"], row["status"], row["contact_by"], row["seen_by"],
             now, by, now])
        if row["status"] == "closed":
            db.execute("UPDATE contacts SET closed_at = ? WHERE id = ?", [now, contact_id])
        search.reindex_contact(db, contact_id)
    return contact_id


_CONTACT_COLUMNS = ("id, child_id, kind, referrer_type, referrer_name, referrer_organisation, "
                    "referrer_contact, source_of_referral, received_at, consent, status, contact_by, "
                    "seen_by, created_at, created_by, updated_at, closed_at")


def _contact(row: tuple) -> Contact:
    return Contact(
        id=row[0], child_id=row[1], kind=row[2], referrer_type=ReferrerType(row[3]),
        referrer_name=row[4], referrer_organisation=row[5], referrer_contact=row[6],
        source_of_referral=row[7], received_at=datetime.fromisoformat(row[8]),
        consent=json.loads(row[9]), status=row[10], contact_by=stored_instant(row[11]),
        seen_by=stored_instant(row[12]), created_at=datetime.fromisoformat(row[13]), created_by=row[14],
        updated_at=datetime.fromisoformat(row[15]), closed_at=stored_instant(row[16]))


def get_contact(db: Database, contact_id: str) -> Contact:
    row = db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE id = ?",  # noqa: S608
                     [contact_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no contact with the id {contact_id!r}.")
    return _contact(row)


def contacts_of_child(db: Database, child_id: str) -> list[Contact]:
    rows = db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE child_id = ? "  # noqa: S608
                      "ORDER BY received_at", [child_id]).fetchall()
    return [_contact(r) for r in rows]


def update_contact(db: Database, contact_id: str, changes: Mapping[str, object], *, by: str,
                   reason: str) -> list[str]:
    """Change fields of a contact; each change leaves a history row. Returns the fields changed."""
    changes = dict(changes)
    if isinstance(changes.get("referrer_type"), ReferrerType):
        changes["referrer_type"] = changes["referrer_type"].value
    with transaction(db):
        if "child_id" in changes:
            target = _CONTACT_FIELDS["child_id"](changes["child_id"])
            if db.execute("SELECT 1 FROM children WHERE id = ?", [target]).fetchone() is None:
                raise InvalidField("child_id", "there is no child with this id")
        changed = update_fields(db, "contact", "contacts", contact_id, _CONTACT_FIELDS, changes, by=by,
                          reason=reason)
        if "status" in changed:
            _record_closure(db, contact_id, by=by, reason=reason)
        if changed & {"child_id", "referrer_name", "referrer_organisation"}:
            search.reindex_contact(db, contact_id)
    return sorted(changed)


def _record_closure(db: Database, contact_id: str, *, by: str, reason: str) -> None:
    """Closing a contact stamps closed_at (retention counts from it); reopening clears it."""
    status, closed_at = db.execute("SELECT status, closed_at FROM contacts WHERE id = ?",
                                   [contact_id]).fetchone()
    wanted = (closed_at or utc_now_text()) if status == "closed" else None
    if wanted != closed_at:
        write_history(db, "contact", contact_id, "closed_at", closed_at, wanted, by, utc_now_text(),
                      clean_reason(reason))
        db.execute("UPDATE contacts SET closed_at = ? WHERE id = ?", [wanted, contact_id])


def deadlines(received_at: datetime, *, contact_within_hours: int | None,
              respond_within_hours: int | None) -> tuple[datetime | None, datetime | None]:
    """When first contact and being seen are due, counted from when the contact came in."""
    contact_by = received_at + timedelta(hours=contact_within_hours) if contact_within_hours else None
    seen_by = received_at + timedelta(hours=respond_within_hours) if respond_within_hours else None
    return contact_by, seen_by
