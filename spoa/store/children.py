"""Children on record: the draft as typed, the stored child, and creating, reading and
changing one (each change with history)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlite_utils import Database

from spoa import nhs
from spoa.store import search
from spoa.store.changes import new_id, transaction, update_fields, utc_now_text
from spoa.store.fields import (
    LINE_LIMIT,
    NAME_LIMIT,
    InvalidField,
    RecordNotFound,
    clean_date,
    clean_text,
    text_of_number,
)

CARER_FIELDS = ("name", "relationship", "phone")


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


# How each field of a parent or carer is checked (a contact file's `carers` entries, and
# the desk's form as it is typed); ``where`` names it, e.g. 'carers[0].phone'.
_CARER_CHECKS = {
    "name": lambda v, where: clean_text(v, where, limit=NAME_LIMIT, required=True),
    "relationship": lambda v, where: clean_text(v, where, limit=NAME_LIMIT),
    "phone": lambda v, where: clean_text(text_of_number(v), where, limit=LINE_LIMIT),
}


def clean_carer_field(field_name: str, value: object, *, index: int = 0) -> str:
    """One field of the ``index``-th parent or carer as stored; raises InvalidField naming
    it as 'carers[index].field'."""
    return _CARER_CHECKS[field_name](value, f"carers[{index}].{field_name}")


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
        carers.append({name: clean_carer_field(name, item.get(name), index=index) for name in CARER_FIELDS})
    return json.dumps(carers, ensure_ascii=False)


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
    child_id = new_id("ch")
    now = utc_now_text()
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
    changed = update_fields(db, "child", "children", child_id, _CHILD_FIELDS, changes, by=by, reason=reason)
    if changed & {"given_name", "family_name", "nhs_number", "date_of_birth", "school"}:
        search.reindex_child(db, child_id)
    return sorted(changed)
