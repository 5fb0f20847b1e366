"""The service directory: the CAMHS, school nursing and voluntary sector services that
referrals go to.

An administrator keeps it as a CSV file (columns in resources/directory/README.md) and
imports it; every row is checked first, and each bad row is named by its line and what is
wrong. A file with any bad row changes nothing unless the administrator asks to skip the bad
rows. An import adds new services and replaces existing ones by id, all in one transaction;
services not in the file are left as they are (retire one by marking it inactive).
Routing (spoa.letters.routing) reads the services from the store.

This module keeps the directory in the store (import, edit, list, export); a service and its
errors are in spoa.letters.services, checking one in spoa.letters.service_checks, and the CSV
file in spoa.letters.directory_csv. The names in ``__all__`` are re-exported for callers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from spoa.letters.directory_csv import (
    MAX_FILE_BYTES,
    DirectoryFile,
    DirectoryFileError,
    DirectoryRejected,
    example_directory_path,
    read_directory,
    read_directory_file,
    service_values,
    to_csv,
)
from spoa.letters.service_checks import AGE_LIMITS, school_key, service_from_values
from spoa.letters.services import (
    COLUMNS,
    LIST_SEPARATOR,
    RECORD_TYPE,
    REQUIRED_COLUMNS,
    SERVICE_KINDS,
    DirectoryError,
    RowProblem,
    Service,
    ServiceRejected,
)
from spoa.model import Route, Urgency
from spoa.roles import NotAllowed, Permission
from spoa.store.records import clean_text, transaction
from spoa.store.store import Store

__all__ = [
    "AGE_LIMITS", "COLUMNS", "LIST_SEPARATOR", "MAX_FILE_BYTES", "RECORD_TYPE", "REQUIRED_COLUMNS",
    "SERVICE_KINDS", "DirectoryError", "DirectoryExport", "DirectoryFile", "DirectoryFileError",
    "DirectoryRejected", "ImportResult", "RowProblem", "Service", "ServiceRejected", "example_directory_path",
    "export_services", "import_file", "import_services", "list_services", "load_services", "read_directory",
    "read_directory_file", "require_view", "save_service", "school_key", "service_from_values",
    "service_values", "set_active", "to_csv",
]

# -- the directory in the store ------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[RowProblem, ...]  # the problems of bad rows left out (skip_bad)

    @property
    def imported(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)


def _check(store: Store, permissions: Sequence[Permission], action: str) -> None:
    """Allow if the user has any of the permissions; a refusal is audited, then raised."""
    if not store.is_open:
        raise DirectoryError("The store is locked. Unlock it to carry on.")
    refusal: NotAllowed | None = None
    for permission in permissions:
        try:
            store.require(permission)
            return
        except NotAllowed as exc:
            refusal = refusal or exc
    store.audit(action, RECORD_TYPE, "", outcome="denied")
    assert refusal is not None
    raise refusal


def import_services(store: Store, directory: DirectoryFile, *, skip_bad: bool = False) -> ImportResult:
    """Add the file's services and replace those with the same id, in one transaction, each
    change audited. A file with bad rows changes nothing (DirectoryRejected) unless
    ``skip_bad``: then the good rows go in and the bad ones are returned as ``skipped``."""
    _check(store, [Permission.MANAGE_DIRECTORY], "update")
    if directory.problems and not skip_bad:
        raise DirectoryRejected(directory)
    db = store.db
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with transaction(db):
        for service in directory.services:
            row = _row(service)
            old = db.execute(f"SELECT {', '.join(COLUMNS)} FROM services WHERE id = ?",  # noqa: S608
                             [service.id]).fetchone()
            if old is not None and dict(zip(COLUMNS, old, strict=True)) == row:
                unchanged.append(service.id)
                continue
            db.execute(
                f"INSERT OR REPLACE INTO services ({', '.join(COLUMNS)}, updated_at, updated_by) "  # noqa: S608
                f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))})",
                [*row.values(), now, store.user.username])
            (added if old is None else updated).append(service.id)
            store.audit("create" if old is None else "update", RECORD_TYPE, service.id)
    return ImportResult(tuple(added), tuple(updated), tuple(unchanged), directory.problems)


def import_file(store: Store, path: Path | str, *, skip_bad: bool = False) -> ImportResult:
    """Read, check and import a directory CSV file (see import_services)."""
    _check(store, [Permission.MANAGE_DIRECTORY], "update")
    return import_services(store, read_directory_file(path), skip_bad=skip_bad)



def save_service(store: Store, service: Service | Mapping[str, str], *, new: bool = False) -> Service:
    """Add one service (``new``: its id must not be taken) or replace the one with its id,
    checked as a CSV row is and audited as an import is (administrators)."""
    _check(store, [Permission.MANAGE_DIRECTORY], "update")
    values = service_values(service) if isinstance(service, Service) else dict(service)
    checked, problems = service_from_values(values)
    if problems:
        raise ServiceRejected(problems)
    assert checked is not None
    db = store.db
    row = _row(checked)
    with transaction(db):
        old = db.execute(f"SELECT {', '.join(COLUMNS)} FROM services WHERE id = ?",  # noqa: S608
                         [checked.id]).fetchone()
        if new and old is not None:
            raise DirectoryError(f"There is already a service with the id {checked.id!r}; choose another "
                                 "id, or edit that service instead.")
        if not new and old is None:
            raise DirectoryError(f"There is no service with the id {checked.id!r} to change; add it as a "
                                 "new service.")
        if old is not None and dict(zip(COLUMNS, old, strict=True)) == row:
            return checked
        _write(store, row)
        store.audit("create" if old is None else "update", RECORD_TYPE, checked.id)
    return checked


def set_active(store: Store, service_id: str, active: bool) -> Service:
    """Mark a service active or inactive (an inactive one takes no new referrals; its past
    referrals keep it); audited (administrators)."""
    _check(store, [Permission.MANAGE_DIRECTORY], "update")
    service_id = clean_text(service_id, "id", limit=64, required=True).casefold()
    db = store.db
    with transaction(db):
        found = next((s for s in load_services(db) if s.id == service_id), None)
        if found is None:
            raise DirectoryError(f"There is no service with the id {service_id!r}; 'spoa directory list' "
                                 "shows them.")
        if found.active == bool(active):
            return found
        changed = replace(found, active=bool(active))
        _write(store, _row(changed))
        store.audit("update", RECORD_TYPE, service_id)
    return changed


def _write(store: Store, row: dict[str, object]) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    store.db.execute(
        f"INSERT OR REPLACE INTO services ({', '.join(COLUMNS)}, updated_at, updated_by) "  # noqa: S608
        f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))})",
        [*row.values(), now, store.user.username])


def require_view(store: Store) -> None:
    """Anyone who may see records or manage the directory may read it (and match against it)."""
    _check(store, [Permission.VIEW_RECORDS, Permission.MANAGE_DIRECTORY], "view")


def list_services(store: Store, *, kind: Route | str | None = None,
                  active_only: bool = False) -> list[Service]:
    """The directory, by kind then name; anyone who may see records or manage it."""
    require_view(store)
    return load_services(store.db, kind=kind, active_only=active_only)


@dataclass(frozen=True)
class DirectoryExport:
    text: str  # CSV, as to_csv writes it
    count: int  # services in it


def export_services(store: Store) -> DirectoryExport:
    """The whole directory as CSV text that imports back unchanged (administrators; audited)."""
    _check(store, [Permission.MANAGE_DIRECTORY], "export")
    services = load_services(store.db)
    store.audit("export", RECORD_TYPE, "")
    return DirectoryExport(to_csv(services), len(services))


def load_services(db: Database, *, kind: Route | str | None = None,
                  active_only: bool = False) -> list[Service]:
    """Services as stored, without a role check: for the core (routing), not for people."""
    where, params = [], []
    if kind is not None:
        where.append("kind = ?")
        params.append(Route(kind).value)
    if active_only:
        where.append("active = 1")
    sql = f"SELECT {', '.join(COLUMNS)} FROM services"  # noqa: S608 (fixed column names)
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.execute(sql + " ORDER BY kind, name COLLATE NOCASE, id", params).fetchall()
    return [_service(row) for row in rows]


def _row(service: Service) -> dict[str, object]:
    return {
        "id": service.id, "kind": service.kind.value, "name": service.name, "team": service.team,
        "address": service.address, "secure_email": service.secure_email, "phone": service.phone,
        "age_min": service.age_min, "age_max": service.age_max,
        "postcode_districts": json.dumps(list(service.postcode_districts)),
        "schools": json.dumps(list(service.schools), ensure_ascii=False),
        "urgencies": json.dumps([u.value for u in service.urgencies]),
        "opening_notes": service.opening_notes, "active": int(service.active),
    }


def _service(row: Sequence) -> Service:
    values = dict(zip(COLUMNS, row, strict=True))
    return Service(
        id=values["id"], kind=Route(values["kind"]), name=values["name"], team=values["team"],
        address=values["address"], secure_email=values["secure_email"], phone=values["phone"],
        age_min=int(values["age_min"]), age_max=int(values["age_max"]),
        postcode_districts=tuple(json.loads(values["postcode_districts"])),
        schools=tuple(json.loads(values["schools"])),
        urgencies=tuple(Urgency(u) for u in json.loads(values["urgencies"])),
        opening_notes=values["opening_notes"], active=bool(values["active"]))
