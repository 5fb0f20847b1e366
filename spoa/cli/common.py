"""What every command module shares: exit codes, the user-fixable error and the desk's
refusals turned into it, argument types, reading an input file and naming its fields in a
message."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import date
from pathlib import Path

from spoa.letters.outbox import DeliveryProblem
from spoa.roles import NotAllowed
from spoa.rules.errors import AnswersRejected
from spoa.rules.yamlsafe import Located, YamlProblem, load_file
from spoa.store.database import StoreError
from spoa.store.device import KeyringUnavailable
from spoa.store.records import ChildDraft, RecordError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Input the user can fix; the message says how. Exit code 2."""

    @classmethod
    def several(cls, problems: list[str]) -> BadInput:
        """One BadInput for several problems, one a line, each kept apart (FileProblems)."""
        error = cls("\n".join(problems))
        error.problems = list(problems)
        return error


@contextlib.contextmanager
def desk_errors() -> Iterator[None]:
    """What the desk refuses becomes a message and exit code 2, never a traceback."""
    try:
        yield
    except (RecordError, NotAllowed, StoreError, DeliveryProblem, KeyringUnavailable) as exc:
        raise BadInput(str(exc)) from None
    except AnswersRejected as exc:
        lines = "\n".join(f"  answers.{e.question_id}: {e.message}" for e in exc.errors)
        raise BadInput(f"some answers cannot be used:\n{lines}") from None


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("write the date as YYYY-MM-DD") from None


def read_input_file(path: Path) -> tuple[Located, Callable[[tuple, str], BadInput]]:
    """An input file read safely, and ``bad(keys, message)``, the BadInput naming its file,
    line and field; a file that is missing or is not YAML the desk reads is BadInput now."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        located = load_file(path)
    except YamlProblem as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise BadInput(f"{where}: {exc.message}") from None

    def bad(keys: tuple, message: str) -> BadInput:
        line = located.line_of(keys)
        where = f"{path}:{line}" if line else str(path)
        return BadInput(f"{where}: {dotted(keys)}: {message}")

    return located, bad


def check_known_keys(data: dict, known: tuple, where: tuple, bad) -> None:
    """Refuse a field the file format does not have (a typo would otherwise be ignored);
    every such field is named."""
    unknown = [str(bad((*where, key), "is not a field here; expected one of: " + ", ".join(known)))
               for key in data if key not in known]
    if unknown:
        raise BadInput.several(unknown)


CHILD_KEYS = tuple(f.name for f in fields(ChildDraft))


def read_child(data: dict, bad) -> ChildDraft | None:
    """The ``child`` section of a contact or advice file, checked; None when the file names
    a child on record instead (``child_id``)."""
    if "child" not in data:
        if "child_id" not in data:
            raise bad((), "give the child's details under 'child' (or 'child_id' for a child on record)")
        return None
    child_data = data["child"]
    if not isinstance(child_data, dict):
        raise bad(("child",), "must be a set of named fields (given_name, family_name, ...)")
    check_known_keys(child_data, CHILD_KEYS, ("child",), bad)
    if "given_name" not in child_data or "family_name" not in child_data:
        raise bad(("child",), "needs given_name and family_name")
    return ChildDraft(**child_data)


class FileProblems:
    """Every problem in one input file, reported together: each part of the file is read
    inside ``part()``, whose BadInput is kept while reading goes on with the next part."""

    def __init__(self, path: Path):
        self.path = path
        self.messages: list[str] = []

    @contextlib.contextmanager
    def part(self) -> Iterator[None]:
        try:
            yield
        except BadInput as exc:
            self.messages.extend(getattr(exc, "problems", None) or [str(exc)])

    def raise_any(self) -> None:
        """BadInput listing every problem found, if there was one; nothing is stored then."""
        if len(self.messages) == 1:
            raise BadInput(self.messages[0])
        if self.messages:
            raise BadInput(f"{self.path}: {len(self.messages)} problems; nothing was stored:\n"
                           + "\n".join(f"  {message}" for message in self.messages))


def field_path(field_name: str) -> tuple:
    """'carers[1].phone' -> ('carers', 1, 'phone'), the path of its line in the file."""
    keys: list = []
    for part in field_name.replace("[", ".").replace("]", "").split("."):
        if part:
            keys.append(int(part) if part.isdigit() else part)
    return tuple(keys)


def dotted(keys: tuple) -> str:
    """('carers', 1, 'phone') -> 'carers[1].phone', as a message names a field."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "file"
