"""Children, contacts and triage sessions: written whole, read back as dataclasses, changed
only with history (old -> new, who, when, why).

Plain functions over a store's database. They know nothing of roles or the audit trail
(spoa.desk checks and records those, inside the same transaction) and nothing of rules:
an outcome arrives as the dict ``Outcome.as_dict()`` makes.

Text is NFC-normalised and trimmed on the way in. NUL characters, lone surrogates and text over the
field's limit are refused with an InvalidField naming the field, never repeating the value.
Every write that touches more than one row happens in one transaction, so nothing is ever
half-stored.
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlite_utils import Database

from spoa import nhs
from spoa.model import ModuleRef, ReferrerType, Route, Urgency
from spoa.store import search

NAME_LIMIT = 200  # names of people, schools, practices, organisations
LINE_LIMIT = 1_000  # an address, a phone number, a referrer's contact details
FREE_TEXT_LIMIT = 100_000  # notes, reasons, free-text answers
JSON_LIMIT = 1_000_000  # a whole answers or consent document, once encoded
JSON_DEPTH = 20
EARLIEST_BIRTH_YEAR = 1900

CONTACT_KINDS = ("triage", "advice")
CONTACT_STATUSES = ("open", "triaged", "referred", "closed")
CONFIRMED, OVERRIDDEN = "confirmed", "overridden"
CARER_FIELDS = ("name", "relationship", "phone")


class RecordError(ValueError):
    """A record could not be read or written as asked; the message is for people."""


class InvalidField(RecordError):
    """A value that cannot be stored. Names the field; never contains the value."""

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}")


class RecordNotFound(RecordError):
    pass


class DecisionRefused(RecordError):
    """A triage outcome cannot be confirmed, overridden or changed in this state."""


# -- cleaning what comes in ---------------------------------------------------------------

def clean_text(value: object, field_name: str, *, limit: int, required: bool = False,
               single_line: bool = True) -> str:
    """Text as stored: NFC and trimmed; single-line fields without control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField(field_name, "must be text")
    if "\x00" in value:
        raise InvalidField(field_name, "contains a NUL character (\\0), which cannot be stored; remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field_name, "contains a broken character (a lone surrogate); "
                                       "retype or paste the text again") from None
    text = unicodedata.normalize("NFC", value).strip()
    if single_line and any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidField(field_name, "must be one line, without tabs, line breaks or other "
                                       "control characters")
    if len(text) > limit:
        raise InvalidField(field_name, f"is {len(text):,} characters long; the limit is {limit:,}")
    if required and not text:
        raise InvalidField(field_name, "is required")
    return text


def clean_date(value: object, field_name: str, *, not_after: date | None = None) -> str | None:
    """A calendar date as ISO text; accepts a date, YYYY-MM-DD or DD/MM/YYYY."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        value = clean_text(value, field_name, limit=40)
        value = _parse_date_text(value, field_name)
    if not isinstance(value, date):
        raise InvalidField(field_name, "must be a date written as YYYY-MM-DD or DD/MM/YYYY")
    if value.year < EARLIEST_BIRTH_YEAR:
        raise InvalidField(field_name, f"is before {EARLIEST_BIRTH_YEAR}; check the year")
    if not_after is not None and value > not_after:
        raise InvalidField(field_name, "is in the future; check the date")
    return value.isoformat()


def _parse_date_text(text: str, field_name: str) -> date:
    with contextlib.suppress(ValueError):
        return date.fromisoformat(text)
    parts = text.replace(".", "/").replace("-", "/").split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        with contextlib.suppress(ValueError):
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
    raise InvalidField(field_name, "must be a real date written as YYYY-MM-DD or DD/MM/YYYY")


def clean_instant(value: object, field_name: str, *, required: bool = False) -> str | None:
    """A moment as UTC ISO text. A time without a zone is refused rather than guessed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidField(field_name, "is required")
        return None
    if isinstance(value, str):
        text = clean_text(value, field_name, limit=64)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidField(field_name, "must be a date and time such as 2026-11-20T09:30:00Z") from None
    if not isinstance(value, datetime):
        raise InvalidField(field_name, "must be a date and time such as 2026-11-20T09:30:00Z")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidField(field_name, "needs a time zone (end it with Z for UK winter time / UTC, "
                                       "or +01:00 for British Summer Time)")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def clean_json(value: object, field_name: str) -> object:
    """A JSON-able copy: strings cleaned as free text, dates as ISO, tuples as lists."""
    cleaned = _clean_json(value, field_name, 0)
    size = len(json.dumps(cleaned, ensure_ascii=False))
    if size > JSON_LIMIT:
        raise InvalidField(field_name, f"is {size:,} characters once stored; the limit is {JSON_LIMIT:,}")
    return cleaned


def _clean_json(value: object, where: str, depth: int) -> object:
    if depth > JSON_DEPTH:
        raise InvalidField(where, f"is nested more than {JSON_DEPTH} levels deep")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidField(where, "must be a finite number")
        return value
    if isinstance(value, str):
        return clean_text(value, where, limit=FREE_TEXT_LIMIT, single_line=False)
    if isinstance(value, datetime):
        return clean_instant(value, where)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidField(where, "has a key that is not text")
            name = clean_text(key, f"{where} (a key)", limit=NAME_LIMIT, required=True)
            result[name] = _clean_json(item, f"{where}.{name}", depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [_clean_json(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise InvalidField(where, f"cannot be stored (a {type(value).__name__})")


def clean_reason(value: object, field_name: str = "reason") -> str:
    return clean_text(value, field_name, limit=FREE_TEXT_LIMIT, required=True, single_line=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _new_id(prefix: str) -> str:
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


# -- children ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Carer:
    name: str
    relationship: str = ""
    phone: str = ""


@dataclass
class ChildDraft:
    """A child as typed, before it is checked."""

    given_name: str
    family_name: str
    date_of_birth: date | str | None = None
    nhs_number: str | None = None
    address: str = ""
    postcode: str = ""
    school: str = ""
    gp_practice: str = ""
    carers: Sequence[Carer | Mapping] = ()


@dataclass(frozen=True)
class Child:
    id: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None
    address: str
    postcode: str
    school: str
    gp_practice: str
    carers: tuple[Carer, ...]
    created_at: datetime
    created_by: str
    updated_at: datetime

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        return age_on(self.date_of_birth, day)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _nhs_number(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = clean_text(value, "nhs_number", limit=40)
    try:
        return nhs.parse_nhs_number(text).digits
    except nhs.NhsNumberError as exc:
        raise InvalidField("nhs_number", str(exc)) from None


def _postcode(value: object) -> str:
    text = clean_text(value, "postcode", limit=40)
    if not text:
        return ""
    try:
        return nhs.parse_postcode(text)
    except nhs.PostcodeError as exc:
        raise InvalidField("postcode", str(exc)) from None


def _carers(value: object) -> str:
    if value is None:
        value = ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidField("carers", "must be a list of parents or carers")
    carers = []
    for index, item in enumerate(value):
        where = f"carers[{index}]"
        if isinstance(item, Carer):
            item = {"name": item.name, "relationship": item.relationship, "phone": item.phone}
        if not isinstance(item, Mapping):
            raise InvalidField(where, "must have a name, a relationship and a phone number")
        unknown = sorted(str(k) for k in item if k not in CARER_FIELDS)
        if unknown:
            raise InvalidField(f"{where}.{unknown[0]}", "is not a carer field (use name, "
                                                        "relationship, phone)")
        carers.append({
            "name": clean_text(item.get("name"), f"{where}.name", limit=NAME_LIMIT, required=True),
            "relationship": clean_text(item.get("relationship"), f"{where}.relationship",
                                       limit=NAME_LIMIT),
            "phone": clean_text(_text_of_number(item.get("phone")), f"{where}.phone", limit=LINE_LIMIT),
        })
    return json.dumps(carers, ensure_ascii=False)


def _text_of_number(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# How each changeable field of a child is checked; the stored form is what is compared.
_CHILD_FIELDS = {
    "given_name": lambda v: clean_text(v, "given_name", limit=NAME_LIMIT, required=True),
    "family_name": lambda v: clean_text(v, "family_name", limit=NAME_LIMIT, required=True),
    "date_of_birth": lambda v: clean_date(v, "date_of_birth", not_after=datetime.now(UTC).date()),
    "nhs_number": _nhs_number,
    "address": lambda v: clean_text(v, "address", limit=LINE_LIMIT, single_line=False),
    "postcode": _postcode,
    "school": lambda v: clean_text(v, "school", limit=NAME_LIMIT),
    "gp_practice": lambda v: clean_text(v, "gp_practice", limit=NAME_LIMIT),
    "carers": _carers,
}


def child_row(draft: ChildDraft) -> dict:
    """The checked columns of a new child (raises InvalidField); writes nothing."""
    return {name: check(getattr(draft, name)) for name, check in _CHILD_FIELDS.items()}


def create_child(db: Database, draft: ChildDraft, *, by: str) -> str:
    row = child_row(draft)
    child_id = _new_id("ch")
    now = _now()
    with transaction(db):
        db.execute(
            "INSERT INTO children (id, given_name, family_name, date_of_birth, nhs_number, address, "
            "postcode, school, gp_practice, carers, created_at, created_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [child_id, row["given_name"], row["family_name"], row["date_of_birth"], row["nhs_number"],
             row["address"], row["postcode"], row["school"], row["gp_practice"], row["carers"],
             now, by, now])
    return child_id


_CHILD_COLUMNS = ("id, given_name, family_name, date_of_birth, nhs_number, address, postcode, school, "
                  "gp_practice, carers, created_at, created_by, updated_at")


def _child(row: tuple) -> Child:
    return Child(
        id=row[0], given_name=row[1], family_name=row[2],
        date_of_birth=date.fromisoformat(row[3]) if row[3] else None,
        nhs_number=row[4], address=row[5], postcode=row[6], school=row[7], gp_practice=row[8],
        carers=tuple(Carer(**c) for c in json.loads(row[9])),
        created_at=datetime.fromisoformat(row[10]), created_by=row[11],
        updated_at=datetime.fromisoformat(row[12]))


def get_child(db: Database, child_id: str) -> Child:
    row = db.execute(f"SELECT {_CHILD_COLUMNS} FROM children WHERE id = ?",  # noqa: S608
                     [child_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no child with the id {child_id!r}.")
    return _child(row)


def update_child(db: Database, child_id: str, changes: Mapping[str, object], *, by: str,
                 reason: str) -> list[str]:
    """Change fields of a child; each change leaves a history row. Returns the fields changed."""
    changed = _update(db, "child", "children", child_id, _CHILD_FIELDS, changes, by=by, reason=reason)
    if changed & {"given_name", "family_name", "nhs_number", "date_of_birth", "school"}:
        search.reindex_child(db, child_id)
    return sorted(changed)


# -- contacts ------------------------------------------------------------------------------

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


def _choice(value: object, field_name: str, choices: Sequence[str]) -> str:
    text = clean_text(value, field_name, limit=NAME_LIMIT, required=True)
    if text not in choices:
        raise InvalidField(field_name, "must be one of: " + ", ".join(choices))
    return text


def _consent(value: object) -> str:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise InvalidField("consent", "must be a set of named entries (status, given_by, notes, ...)")
    return json.dumps(clean_json(value, "consent"), ensure_ascii=False)


_CONTACT_FIELDS = {
    "child_id": lambda v: clean_text(v, "child_id", limit=NAME_LIMIT, required=True),
    "kind": lambda v: _choice(v, "kind", CONTACT_KINDS),
    "referrer_type": lambda v: _choice(v, "referrer_type", [r.value for r in ReferrerType]),
    "referrer_name": lambda v: clean_text(v, "referrer_name", limit=NAME_LIMIT),
    "referrer_organisation": lambda v: clean_text(v, "referrer_organisation", limit=NAME_LIMIT),
    "referrer_contact": lambda v: clean_text(_text_of_number(v), "referrer_contact", limit=LINE_LIMIT,
                                             single_line=False),
    "source_of_referral": lambda v: clean_text(v, "source_of_referral", limit=NAME_LIMIT),
    "received_at": lambda v: clean_instant(v, "received_at", required=True),
    "consent": _consent,
    "status": lambda v: _choice(v, "status", CONTACT_STATUSES),
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
    now = _now()
    with transaction(db):
        if db.execute("SELECT 1 FROM children WHERE id = ?", [child_id]).fetchone() is None:
            raise RecordNotFound(f"There is no child with the id {child_id!r}.")
        contact_id = _new_id("co")
        while search.search_rowid_taken(db, contact_id):
            contact_id = _new_id("co")
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


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _contact(row: tuple) -> Contact:
    return Contact(
        id=row[0], child_id=row[1], kind=row[2], referrer_type=ReferrerType(row[3]),
        referrer_name=row[4], referrer_organisation=row[5], referrer_contact=row[6],
        source_of_referral=row[7], received_at=datetime.fromisoformat(row[8]),
        consent=json.loads(row[9]), status=row[10], contact_by=_instant(row[11]),
        seen_by=_instant(row[12]), created_at=datetime.fromisoformat(row[13]), created_by=row[14],
        updated_at=datetime.fromisoformat(row[15]), closed_at=_instant(row[16]))


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
        changed = _update(db, "contact", "contacts", contact_id, _CONTACT_FIELDS, changes, by=by,
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
    wanted = (closed_at or _now()) if status == "closed" else None
    if wanted != closed_at:
        _history(db, "contact", contact_id, "closed_at", closed_at, wanted, by, _now(), clean_reason(reason))
        db.execute("UPDATE contacts SET closed_at = ? WHERE id = ?", [wanted, contact_id])


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
        contact_by=_instant(row[9]), route=Route(row[10]) if row[10] else None,
        urgency=Urgency(row[11]) if row[11] else None)


def list_contacts(db: Database, *, status: str | None = None, limit: int = 100) -> list[ContactSummary]:
    """Contacts, soonest deadline first (those without one last), then newest."""
    where, params = "", []
    if status is not None:
        where, params = "WHERE co.status = ?", [_choice(status, "status", CONTACT_STATUSES)]
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


# -- triage sessions -----------------------------------------------------------------------

@dataclass(frozen=True)
class TriageRecord:
    """A stored triage session: the module used, the answers, the outcome, the decision."""

    id: str
    contact_id: str
    module: ModuleRef
    answers: dict
    outcome: dict | None
    complete: bool
    decision: str | None
    final_route: Route | None
    final_urgency: Urgency | None
    override_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    started_at: datetime
    updated_at: datetime

    @property
    def recommended_route(self) -> Route | None:
        return Route(self.outcome["route"]) if self.outcome else None

    @property
    def recommended_urgency(self) -> Urgency | None:
        return Urgency(self.outcome["urgency"]) if self.outcome else None


def _module_ref(module: ModuleRef) -> tuple[str, str, str]:
    return (clean_text(module.id, "module.id", limit=NAME_LIMIT, required=True),
            clean_text(module.version, "module.version", limit=NAME_LIMIT, required=True),
            clean_text(module.content_hash, "module.content_hash", limit=NAME_LIMIT, required=True))


def _outcome(outcome: Mapping | None) -> str | None:
    if outcome is None:
        return None
    if not isinstance(outcome, Mapping):
        raise InvalidField("outcome", "must be the outcome's fields (Outcome.as_dict())")
    cleaned = clean_json(outcome, "outcome")
    try:
        Route(cleaned["route"])
        Urgency(cleaned["urgency"])
    except (KeyError, ValueError):
        raise InvalidField("outcome", "must name a known route and urgency") from None
    return json.dumps(cleaned, ensure_ascii=False)


def _answers(answers: Mapping) -> dict:
    if not isinstance(answers, Mapping):
        raise InvalidField("answers", "must map question ids to answers")
    return clean_json(answers, "answers")


def create_triage_session(db: Database, *, contact_id: str, module: ModuleRef, answers: Mapping,
                          outcome: Mapping | None, complete: bool, by: str) -> str:
    module_id, version, content_hash = _module_ref(module)
    answers_json = json.dumps(_answers(answers), ensure_ascii=False)
    outcome_json = _outcome(outcome)
    session_id = _new_id("ts")
    now = _now()
    with transaction(db):
        if db.execute("SELECT 1 FROM contacts WHERE id = ?", [contact_id]).fetchone() is None:
            raise RecordNotFound(f"There is no contact with the id {contact_id!r}.")
        db.execute(
            "INSERT INTO triage_sessions (id, contact_id, module_id, module_version, module_hash, "
            "answers, outcome, complete, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [session_id, contact_id, module_id, version, content_hash, answers_json, outcome_json,
             int(bool(complete)), now, now])
    return session_id


def save_triage_answers(db: Database, session_id: str, *, answers: Mapping, outcome: Mapping | None,
                        complete: bool, by: str, reason: str = "") -> list[str]:
    """Replace a session's answers and outcome before it is decided. Each answer that
    changed, and the outcome if it changed, leaves a history row. Returns what changed."""
    new_answers = _answers(answers)
    outcome_json = _outcome(outcome)
    why = clean_text(reason, "reason", limit=FREE_TEXT_LIMIT, single_line=False)
    with transaction(db):
        current = get_triage_session(db, session_id)
        if current.decision is not None:
            raise DecisionRefused(
                f"The outcome of session {session_id} was already {current.decision}; its answers "
                "can no longer change. Start a new session to triage again.")
        now = _now()
        changed = []
        for question_id in sorted(set(current.answers) | set(new_answers)):
            old, new = current.answers.get(question_id), new_answers.get(question_id)
            if old != new:
                changed.append(f"answers.{question_id}")
                _history(db, "triage_session", session_id, f"answers.{question_id}",
                         _history_value(old), _history_value(new), by, now, why)
        old_summary, new_summary = _outcome_summary(current.outcome), _outcome_summary(
            json.loads(outcome_json) if outcome_json else None)
        if old_summary != new_summary:
            changed.append("outcome")
            _history(db, "triage_session", session_id, "outcome", old_summary, new_summary, by, now, why)
        if bool(complete) != current.complete:
            changed.append("complete")
            _history(db, "triage_session", session_id, "complete", str(current.complete).lower(),
                     str(bool(complete)).lower(), by, now, why)
        db.execute("UPDATE triage_sessions SET answers = ?, outcome = ?, complete = ?, updated_at = ? "
                   "WHERE id = ?", [json.dumps(new_answers, ensure_ascii=False), outcome_json,
                                    int(bool(complete)), now, session_id])
    return changed


def _outcome_summary(outcome: Mapping | None) -> str | None:
    if not outcome:
        return None
    return f"{outcome.get('rule')}: {outcome.get('route')}, {outcome.get('urgency')}"


def confirm_outcome(db: Database, session_id: str, *, by: str) -> TriageRecord:
    """The practitioner accepts the recommended outcome of a complete session."""
    with transaction(db):
        current = _undecided(db, session_id)
        if current.outcome is None or not current.complete:
            raise DecisionRefused(
                "This call is not complete, so its outcome is only provisional. Answer the missing "
                "questions, or override the outcome with a reason.")
        _decide(db, current, CONFIRMED, current.recommended_route, current.recommended_urgency, None, by)
    return get_triage_session(db, session_id)


def override_outcome(db: Database, session_id: str, *, route: Route | str, urgency: Urgency | str,
                     reason: str, by: str) -> TriageRecord:
    """The practitioner sets a different route or urgency and says why."""
    try:
        final_route = Route(route)
    except ValueError:
        raise InvalidField("route", "must be one of: " + ", ".join(r.value for r in Route)) from None
    try:
        final_urgency = Urgency(urgency)
    except ValueError:
        raise InvalidField("urgency", "must be one of: " + ", ".join(u.value for u in Urgency)) from None
    why = clean_reason(reason, "override_reason")
    with transaction(db):
        current = _undecided(db, session_id)
        if (current.outcome is not None and current.complete
                and (final_route, final_urgency) == (current.recommended_route,
                                                     current.recommended_urgency)):
            raise DecisionRefused("The override is the same as the recommendation; confirm it instead.")
        _decide(db, current, OVERRIDDEN, final_route, final_urgency, why, by)
    return get_triage_session(db, session_id)


def _undecided(db: Database, session_id: str) -> TriageRecord:
    current = get_triage_session(db, session_id)
    if current.decision is not None:
        raise DecisionRefused(
            f"This session's outcome was already {current.decision} by {current.decided_by} at "
            f"{current.decided_at:%Y-%m-%d %H:%M} UTC.")
    return current


def _decide(db: Database, current: TriageRecord, decision: str, route: Route, urgency: Urgency,
            reason: str | None, by: str) -> None:
    now = _now()
    why = reason or "outcome confirmed"
    for name, value in (("decision", decision), ("final_route", route.value),
                        ("final_urgency", urgency.value), ("override_reason", reason)):
        if value is not None:
            _history(db, "triage_session", current.id, name, None, value, by, now, why)
    db.execute("UPDATE triage_sessions SET decision = ?, final_route = ?, final_urgency = ?, "
               "override_reason = ?, decided_by = ?, decided_at = ?, updated_at = ? WHERE id = ?",
               [decision, route.value, urgency.value, reason, by, now, now, current.id])


_SESSION_COLUMNS = ("id, contact_id, module_id, module_version, module_hash, answers, outcome, complete, "
                    "decision, final_route, final_urgency, override_reason, decided_by, decided_at, "
                    "started_at, updated_at")


def _session(row: tuple) -> TriageRecord:
    return TriageRecord(
        id=row[0], contact_id=row[1], module=ModuleRef(row[2], row[3], row[4]),
        answers=json.loads(row[5]), outcome=json.loads(row[6]) if row[6] else None,
        complete=bool(row[7]), decision=row[8], final_route=Route(row[9]) if row[9] else None,
        final_urgency=Urgency(row[10]) if row[10] else None, override_reason=row[11],
        decided_by=row[12], decided_at=_instant(row[13]), started_at=datetime.fromisoformat(row[14]),
        updated_at=datetime.fromisoformat(row[15]))


def get_triage_session(db: Database, session_id: str) -> TriageRecord:
    row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM triage_sessions WHERE id = ?",  # noqa: S608
                     [session_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no triage session with the id {session_id!r}.")
    return _session(row)


def triage_sessions_of(db: Database, contact_id: str) -> list[TriageRecord]:
    rows = db.execute(f"SELECT {_SESSION_COLUMNS} FROM triage_sessions WHERE contact_id = ? "  # noqa: S608
                      "ORDER BY started_at, rowid", [contact_id]).fetchall()
    return [_session(r) for r in rows]


def deadlines(received_at: datetime, *, contact_within_hours: int | None,
              respond_within_hours: int | None) -> tuple[datetime | None, datetime | None]:
    """When first contact and being seen are due, counted from when the contact came in."""
    contact_by = received_at + timedelta(hours=contact_within_hours) if contact_within_hours else None
    seen_by = received_at + timedelta(hours=respond_within_hours) if respond_within_hours else None
    return contact_by, seen_by


# -- history -------------------------------------------------------------------------------

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


def _history(db: Database, record_type: str, record_id: str, field_name: str, old: str | None,
             new: str | None, by: str, at: str, reason: str) -> None:
    db.execute(
        "INSERT INTO record_history (record_type, record_id, field, old_value, new_value, changed_by, "
        "changed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [record_type, record_id, field_name, old, new, by, at, reason])


def _history_value(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _update(db: Database, record_type: str, table: str, record_id: str, checks: Mapping,
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
        now = _now()
        old_values = dict(zip(stored, row, strict=False))
        for name, value in sorted(changed.items()):
            _history(db, record_type, record_id, name, old_values[name], value, by, now, why)
        assignments = ", ".join(f"{name} = ?" for name in changed)
        db.execute(f"UPDATE {table} SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                   [*changed.values(), now, record_id])
    return set(changed)
