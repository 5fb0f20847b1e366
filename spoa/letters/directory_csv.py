"""The directory as a CSV file: reading one and checking every row (each bad row named by its
line and what is wrong), and writing the services back as a file that imports unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spoa.letters.service_checks import column_name, service_from_values
from spoa.letters.services import (
    COLUMNS,
    LIST_SEPARATOR,
    REQUIRED_COLUMNS,
    DirectoryError,
    RowProblem,
    Service,
)
from spoa.paths import resources_dir

MAX_FILE_BYTES = 5 * 1024 * 1024  # a directory of thousands of services is well under this
# A spreadsheet runs a cell that starts with one of these as a formula; the export quotes
# them with a leading apostrophe (as spreadsheets do) and the import takes it off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class DirectoryFileError(DirectoryError):
    """The file as a whole cannot be read (size, encoding, header)."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")


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


def _header(cells: Sequence[str], source: str) -> list[str]:
    names = [column_name(cell) for cell in cells]
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



def service_values(service: Service) -> dict[str, str]:
    """A service as the text of each column (as a CSV row or an edit form shows it)."""
    return dict(zip(COLUMNS, _cells(service), strict=True))
