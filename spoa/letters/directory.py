"""The service directory: the CAMHS, school nursing and voluntary sector services that
referrals go to.

An administrator keeps it as a CSV file (columns in resources/directory/README.md) and
imports it; every row is checked first, and each bad row is named by its line and what is
wrong. A file with any bad row changes nothing unless the administrator asks to skip the bad
rows. An import adds new services and replaces existing ones by id, all in one transaction;
services not in the file are left as they are (retire one by marking it inactive).
Routing (spoa.letters.routing) reads the services from the store.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from spoa.model import Route, Urgency
from spoa.paths import resources_dir
from spoa.roles import NotAllowed, Permission
from spoa.store.records import LINE_LIMIT, NAME_LIMIT, InvalidField, clean_text, transaction
from spoa.store.store import Store

MAX_FILE_BYTES = 5 * 1024 * 1024  # a directory of thousands of services is well under this
AGE_LIMITS = (0, 25)  # children's and young people's services, up to 25
LIST_SEPARATOR = ";"

COLUMNS = ("id", "kind", "name", "team", "address", "secure_email", "phone", "age_min", "age_max",
           "postcode_districts", "schools", "urgencies", "opening_notes", "active")
REQUIRED_COLUMNS = ("id", "kind", "name", "age_min", "age_max", "urgencies")
SERVICE_KINDS = (Route.CAMHS, Route.SCHOOL_NURSING, Route.VOLUNTARY_SECTOR)
RECORD_TYPE = "service"

_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_DISTRICT = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?")  # A9, A99, AA9, AA99, A9A, AA9A
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_EMAIL_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_PHONE_CHARACTERS = frozenset("0123456789 +()-")
_YES = frozenset({"yes", "y", "true", "1", "active"})
_NO = frozenset({"no", "n", "false", "0", "inactive"})
# A spreadsheet runs a cell that starts with one of these as a formula; the export quotes
# them with a leading apostrophe (as spreadsheets do) and the import takes it off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Service:
    """One service that takes referrals. Ages are whole years, both ends included."""

    id: str
    kind: Route
    name: str
    team: str = ""
    address: str = ""
    secure_email: str = ""
    phone: str = ""
    age_min: int = 0
    age_max: int = 25
    postcode_districts: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    urgencies: tuple[Urgency, ...] = ()
    opening_notes: str = ""
    active: bool = True

    @property
    def area_wide(self) -> bool:
        """Lists no districts and no schools: it covers the whole area."""
        return not self.postcode_districts and not self.schools

    @property
    def ages(self) -> str:
        return f"{self.age_min} to {self.age_max}"

    def takes_age(self, age: int) -> bool:
        return self.age_min <= age <= self.age_max

    def takes_urgency(self, urgency: Urgency) -> bool:
        return urgency in self.urgencies


# -- reading a directory file -------------------------------------------------------------

class DirectoryError(ValueError):
    """The directory cannot be read or changed as asked; the message is for people."""


class DirectoryFileError(DirectoryError):
    """The file as a whole cannot be read (size, encoding, header)."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row; ``column`` is empty when it is the row as a whole."""

    line: int
    reason: str
    column: str = ""

    def __str__(self) -> str:
        return f"{self.column}: {self.reason}" if self.column else self.reason


@dataclass(frozen=True)
class DirectoryFile:
    """A checked directory file: the good services (with the line each started on) and
    every problem, in line order."""

    source: str
    services: tuple[Service, ...]
    lines: tuple[int, ...]
    problems: tuple[RowProblem, ...]

    @property
    def bad_lines(self) -> tuple[int, ...]:
        return tuple(sorted({p.line for p in self.problems}))


class DirectoryRejected(DirectoryError):
    """A file with bad rows was not imported (nothing changed)."""

    def __init__(self, directory: DirectoryFile):
        self.directory = directory
        count = len(directory.bad_lines)
        super().__init__(
            f"{directory.source}: {count} bad row{'s' if count != 1 else ''}; nothing was imported. "
            "Correct the rows named, or import the good rows only (skip the bad).")


def example_directory_path() -> Path:
    return resources_dir() / "directory" / "example_directory.csv"


def read_directory_file(path: Path | str) -> DirectoryFile:
    """Read and check a directory CSV file; raises DirectoryFileError if it cannot be read."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DirectoryFileError(source, _too_big(size))
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DirectoryFileError(source, "there is no such file") from None
    except IsADirectoryError:
        raise DirectoryFileError(source, "this is a folder; give the CSV file inside it") from None
    except OSError as exc:
        raise DirectoryFileError(source, f"cannot be read ({exc.strerror or exc})") from None
    return read_directory(data, source=source)


def read_directory(data: bytes, *, source: str = "directory.csv") -> DirectoryFile:
    """Check directory CSV bytes row by row. Every bad row is reported; nothing is stored."""
    if len(data) > MAX_FILE_BYTES:
        raise DirectoryFileError(source, _too_big(len(data)))
    text = _decode(data, source)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise DirectoryFileError(source, "the file is empty; the first line must name the columns "
                                             f"({', '.join(COLUMNS)})", line=1)
        columns = _header(header, source)
        services: list[Service] = []
        lines: list[int] = []
        problems: list[RowProblem] = []
        seen: dict[str, int] = {}
        next_line = reader.line_num + 1
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and the empty rows spreadsheets leave at the end
            service, row_problems = _check_row(cells, columns)
            if service is not None and service.id in seen:
                row_problems.append(RowProblem(
                    line, f"{service.id!r} is already the id of the service on line {seen[service.id]}; "
                          "each service needs its own id", "id"))
            if row_problems:
                problems.extend(RowProblem(line, p.reason, p.column) for p in row_problems)
                continue
            assert service is not None
            seen[service.id] = line
            services.append(service)
            lines.append(line)
    except csv.Error as exc:
        raise DirectoryFileError(source, f"the CSV cannot be read ({exc}); check the quoting near "
                                         "this line: a value holding a comma, a quote or a line "
                                         "break needs double quotes around it, and a quote inside "
                                         "it is written twice (\"\")", line=reader.line_num) from None
    if not services and not problems:
        raise DirectoryFileError(source, "the file names the columns but lists no services")
    return DirectoryFile(source, tuple(services), tuple(lines), tuple(problems))


def _too_big(size: int) -> str:
    return (f"the file is {size / 1024 / 1024:.1f} MB; a directory file may be at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB. Is this the right file?")


def _decode(data: bytes, source: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DirectoryFileError(source, "the file is saved as UTF-16 ('Unicode text'); save it as "
                                         "'CSV UTF-8 (comma delimited)' and import that")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DirectoryFileError(
            source, "the file is not UTF-8 text (perhaps it was saved as 'CSV (comma delimited)' in "
                    "a Windows character set); save it as 'CSV UTF-8 (comma delimited)' and import "
                    "that", line=line) from None


def _column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().casefold())


def _header(cells: Sequence[str], source: str) -> list[str]:
    names = [_column_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()  # spreadsheets sometimes leave empty columns at the end
    if len(names) == 1 and (";" in cells[0] or "\t" in cells[0]):
        raise DirectoryFileError(source, "the columns are separated by semicolons or tabs; save the "
                                         "file as 'CSV UTF-8 (comma delimited)'", line=1)
    for position, name in enumerate(names, start=1):
        if not name:
            raise DirectoryFileError(source, f"column {position} has no name in the first line", line=1)
        if name not in COLUMNS:
            raise DirectoryFileError(source, f"{name!r} is not a directory column; the columns are "
                                             f"{', '.join(COLUMNS)}", line=1)
        if names.index(name) != position - 1:
            raise DirectoryFileError(source, f"the column {name!r} is named twice", line=1)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise DirectoryFileError(source, f"the first line must name the column"
                                         f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}", line=1)
    return names


def _check_row(cells: Sequence[str], columns: Sequence[str]) -> tuple[Service | None, list[RowProblem]]:
    extra = [cell for cell in cells[len(columns):] if cell.strip()]
    if extra or len(cells) < len(columns):
        return None, [RowProblem(0, f"has {len(cells)} values but the first line names {len(columns)} "
                                    "columns; a value holding a comma needs double quotes around it")]
    values = {name: _unquote_formula(cell) for name, cell in zip(columns, cells, strict=False)}
    return service_from_values(values)


def _unquote_formula(cell: str) -> str:
    if cell.startswith("'") and cell[1:2] and cell[1:2] in _FORMULA_STARTS:
        return cell[1:]
    return cell


def service_from_values(values: Mapping[str, str]) -> tuple[Service | None, list[RowProblem]]:
    """Check one service given as text (as in a CSV row); returns it, or every problem."""
    problems: list[RowProblem] = []
    checked: dict[str, object] = {}
    for name, check in _CHECKS.items():
        try:
            checked[name] = check(values.get(name, ""))
        except InvalidField as exc:
            problems.append(RowProblem(0, exc.problem, exc.field))
    if not problems:
        if checked["age_min"] > checked["age_max"]:
            problems.append(RowProblem(0, f"the lowest age ({checked['age_min']}) is above the highest "
                                          f"({checked['age_max']})", "age_min"))
        if not checked["secure_email"] and not checked["phone"]:
            problems.append(RowProblem(0, "give a secure email or a phone number, so a referral can "
                                          "reach the service", "secure_email"))
    if problems:
        return None, problems
    return Service(**checked), []


# -- checking each column ------------------------------------------------------------------

def _id(value: str) -> str:
    text = clean_text(value, "id", limit=64, required=True).casefold()
    if not _ID.fullmatch(text):
        raise InvalidField("id", "is 1 to 64 letters, digits, dots, dashes or underscores, starting "
                                 "with a letter or digit (for example riverside-camhs)")
    return text


def _kind(value: str) -> Route:
    text = _column_name(clean_text(value, "kind", limit=40, required=True))
    if text == Route.ADVICE.value:
        raise InvalidField("kind", "advice is not a kind of service: advice goes back to the person "
                                   "who asked for it")
    try:
        kind = Route(text)
    except ValueError:
        kind = None
    if kind not in SERVICE_KINDS:
        raise InvalidField("kind", f"must be one of {', '.join(k.value for k in SERVICE_KINDS)}")
    return kind


def _name(value: str) -> str:
    return clean_text(value, "name", limit=NAME_LIMIT, required=True)


def _team(value: str) -> str:
    return clean_text(value, "team", limit=NAME_LIMIT)


def _multiline(field_name: str):
    def check(value: str) -> str:
        text = clean_text((value or "").replace("\r\n", "\n").replace("\r", "\n"), field_name,
                          limit=LINE_LIMIT, single_line=False)
        if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text):
            raise InvalidField(field_name, "must not contain tabs or control characters")
        return "\n".join(line.strip() for line in text.split("\n"))

    return check


def _email(value: str) -> str:
    text = clean_text(value, "secure_email", limit=254)
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    if (not at or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local) or len(labels) < 2
            or not all(_EMAIL_LABEL.fullmatch(label) for label in labels)
            or not labels[-1].isalpha()):
        raise InvalidField("secure_email", "must be one email address such as "
                                           "referrals@camhs.nhs.example")
    return f"{local}@{domain.lower()}"


def _phone(value: str) -> str:
    text = clean_text(value, "phone", limit=40)
    if not text:
        return ""
    help_text = ("must be a UK phone number such as 01632 960123 or +44 1632 960123 (if a spreadsheet "
                 "dropped its leading 0, format the column as text)")
    if not set(text) <= _PHONE_CHARACTERS:
        raise InvalidField("phone", help_text)
    digits = "".join(ch for ch in text.replace("(0)", "") if ch.isdigit())
    if text.startswith("+"):
        if not digits.startswith("44"):
            raise InvalidField("phone", help_text)
        digits = "0" + digits[2:]
    short_helpline = digits.startswith("116") and len(digits) == 6  # 116 123 and the like
    if not short_helpline and not (digits.startswith("0") and 9 <= len(digits) <= 11):
        raise InvalidField("phone", help_text)
    return text


def _age(field_name: str):
    def check(value: str) -> int:
        text = clean_text(value, field_name, limit=20, required=True)
        match = re.fullmatch(r"(\d{1,3})(?:\.0+)?", text)  # a spreadsheet may write 5 as 5.0
        low, high = AGE_LIMITS
        if match is None or not low <= int(match[1]) <= high:
            raise InvalidField(field_name, f"must be a whole number of years from {low} to {high}")
        return int(match[1])

    return check


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def _districts(value: str) -> tuple[str, ...]:
    text = clean_text(value, "postcode_districts", limit=LINE_LIMIT)
    districts: list[str] = []
    for part in _split(text):
        district = part.upper()
        if not district.isascii() or not _DISTRICT.fullmatch(district):
            raise InvalidField("postcode_districts",
                               f"{part!r} is not a postcode district: a district is the first part of "
                               "a postcode, such as M1, B33, CR2, DN55, W1A or EC1A, and districts "
                               f"are separated by '{LIST_SEPARATOR}'")
        if district not in districts:
            districts.append(district)
    return tuple(districts)


def _schools(value: str) -> tuple[str, ...]:
    text = clean_text(value, "schools", limit=LINE_LIMIT * 20)
    schools: list[str] = []
    for part in _split(text):
        school = clean_text(part, "schools", limit=NAME_LIMIT)
        if school_key(school) not in {school_key(s) for s in schools}:
            schools.append(school)
    return tuple(schools)


def _urgencies(value: str) -> tuple[Urgency, ...]:
    text = clean_text(value, "urgencies", limit=LINE_LIMIT)
    urgencies: list[Urgency] = []
    for part in _split(text):
        try:
            urgency = Urgency(_column_name(part))
        except ValueError:
            raise InvalidField("urgencies", f"{part!r} is not an urgency; use "
                                            f"{', '.join(u.value for u in Urgency)}, separated by "
                                            f"'{LIST_SEPARATOR}'") from None
        if urgency not in urgencies:
            urgencies.append(urgency)
    if not urgencies:
        raise InvalidField("urgencies", "list the urgencies the service accepts "
                                        f"({', '.join(u.value for u in Urgency)}), separated by "
                                        f"'{LIST_SEPARATOR}'")
    return tuple(sorted(urgencies, key=lambda u: u.rank))


def _active(value: str) -> bool:
    text = clean_text(value, "active", limit=20).casefold()
    if not text or text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidField("active", "must be yes or no (empty means yes)")


_CHECKS = {
    "id": _id,
    "kind": _kind,
    "name": _name,
    "team": _team,
    "address": _multiline("address"),
    "secure_email": _email,
    "phone": _phone,
    "age_min": _age("age_min"),
    "age_max": _age("age_max"),
    "postcode_districts": _districts,
    "schools": _schools,
    "urgencies": _urgencies,
    "opening_notes": _multiline("opening_notes"),
    "active": _active,
}


def school_key(name: str) -> str:
    """A school's name as compared: case, accents' composition, punctuation and spacing aside."""
    text = clean_text(name or "", "school", limit=NAME_LIMIT * 2, single_line=False).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


# -- writing a directory file --------------------------------------------------------------

def to_csv(services: Iterable[Service]) -> str:
    """The services as directory CSV text (CRLF line ends, as spreadsheets write them)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for service in services:
        writer.writerow([_quote_formula(cell) for cell in _cells(service)])
    return buffer.getvalue()


def _cells(service: Service) -> list[str]:
    separator = f"{LIST_SEPARATOR} "
    return [
        service.id, service.kind.value, service.name, service.team, service.address,
        service.secure_email, service.phone, str(service.age_min), str(service.age_max),
        separator.join(service.postcode_districts), separator.join(service.schools),
        separator.join(u.value for u in service.urgencies), service.opening_notes,
        "yes" if service.active else "no",
    ]


def _quote_formula(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


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


class ServiceRejected(DirectoryError):
    """A service given as values is not valid; ``problems`` names each field and what is wrong."""

    def __init__(self, problems: Sequence[RowProblem]):
        self.problems = tuple(problems)
        super().__init__("The service was not saved: " + "; ".join(str(p) for p in self.problems) + ".")


def service_values(service: Service) -> dict[str, str]:
    """A service as the text of each column (as a CSV row or an edit form shows it)."""
    return dict(zip(COLUMNS, _cells(service), strict=True))


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
