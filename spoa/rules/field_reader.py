"""Reading the typed fields of a located YAML document (text, numbers, ids, choices,
lists, conditions), collecting every problem with its file, line and field instead of stopping
at the first; and ordering names so each comes after what it depends on."""

from __future__ import annotations

import difflib
import math
import re
from enum import StrEnum
from pathlib import Path

from spoa.rules.condition_functions import FUNCTIONS
from spoa.rules.condition_types import ExpressionError, Kind, Symbol
from spoa.rules.errors import ModuleProblem
from spoa.rules.expressions import compile_expression
from spoa.rules.yamlsafe import Located

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

RESERVED_NAMES = {"yes", "no", "true", "false", "value", "child_age", "referrer", *FUNCTIONS}


class FieldReader:
    """The field readers shared by every part of a module file; problems pile up in
    ``problems`` and the caller raises them together."""

    def __init__(self, located: Located, file: str, name: str, folder: Path):
        self.doc = located
        self.file = file
        self.name = name
        self.folder = folder
        self.problems: list[ModuleProblem] = []

    # -- problem reporting ---------------------------------------------------------

    def problem(self, path: tuple, message: str) -> None:
        self.problems.append(
            ModuleProblem(self.name, self.file, self.doc.line_of(path), field_name_of(path), message)
        )

    def mapping(self, value: object, path: tuple, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            self.problem(path, "expected a block of 'key: value' lines here")
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.problem((*path, key), f"unknown field '{key}'{hint}")
        return value

    def text(self, block: dict, path: tuple, key: str, required: bool = True, default: str = "") -> str:
        value = block.get(key)
        if value is None:
            if required:
                self.problem((*path, key) if path else (key,), f"'{key}' is required")
            return default
        if isinstance(value, bool):
            self.problem((*path, key), f"'{key}' must be text; YAML reads an unquoted yes, no, on "
                         "or off as true/false, so put the text in quotes")
            return default
        if not isinstance(value, str | int | float):
            self.problem((*path, key), f"'{key}' must be text")
            return default
        return str(value).strip()

    def number(self, block: dict, path: tuple, key: str, required: bool = False) -> float | None:
        value = block.get(key)
        if value is None:
            if required:
                self.problem((*path, key), f"'{key}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.problem((*path, key), f"'{key}' must be a number")
            return None
        return value

    def identifier(self, block: dict, path: tuple, seen: dict[str, tuple], what: str) -> str:
        ident = self.text(block, path, "id")
        if not ident:
            return ""
        if not ID_PATTERN.match(ident):
            self.problem((*path, "id"), f"'{ident}' is not a valid id: use lower-case letters, "
                         "digits and _, starting with a letter")
        elif ident in RESERVED_NAMES:
            self.problem((*path, "id"),
                         f"'{ident}' is a reserved word of the condition language; choose another id")
        elif ident in seen:
            self.problem((*path, "id"), f"duplicate id '{ident}': already used by the "
                         f"{seen[ident][0]} at line {self.doc.line_of(seen[ident][1])}")
        else:
            seen[ident] = (what, (*path, "id"))
        return ident

    def choice(self, block: dict, path: tuple, key: str, enum: type[StrEnum], required: bool = True):
        value = block.get(key)
        if value is None:
            if required:
                self.problem((*path, key), f"'{key}' is required")
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            self.problem((*path, key), f"'{value}' is not allowed here; choose one of: {allowed}")
            return None

    def compile(self, source: object, path: tuple, symbols: dict[str, Symbol], expect: Kind):
        try:
            return compile_expression(source, symbols, expect)
        except ExpressionError as exc:
            self.problem(path, exc.message + (f" (column {exc.column})" if exc.column else ""))
            return None

    def list_of(self, block: dict, key: str, path: tuple = (), required: bool = True) -> list:
        value = block.get(key)
        if value is None:
            if required:
                self.problem((*path, key), f"'{key}' is required")
            return []
        if not isinstance(value, list):
            self.problem((*path, key), f"'{key}' must be a list (lines starting with '-')")
            return []
        return value

    # -- dependency order --------------------------------------------------------------

    def order(self, deps: dict[str, tuple[str, ...]], field_name: str, block: str) -> tuple[str, ...]:
        """Order names so that each comes after what it depends on; report any cycle."""
        result: list[str] = []
        state: dict[str, int] = {}
        reported = False

        def visit(name: str, trail: list[str]) -> None:
            nonlocal reported
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                if not reported:
                    cycle = [*trail[trail.index(name):], name]
                    self.problems.append(ModuleProblem(
                        self.name, self.file, None, f"{block}.{field_name}",
                        "these depend on each other in a circle: " + " → ".join(cycle)))
                    reported = True
                return
            state[name] = 1
            for dep in deps.get(name, ()):
                if dep in deps:
                    visit(dep, [*trail, name])
            state[name] = 2
            result.append(name)

        for name in deps:
            visit(name, [])
        return tuple(result)


def field_name_of(path: tuple) -> str:
    """A path into the document as a problem names it: sections[0].questions[2].id."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
