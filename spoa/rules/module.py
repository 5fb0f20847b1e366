"""Rule modules: the parsed, checked form of a module folder's ``module.yaml``.

Reading a module either gives a complete :class:`RuleModule` whose every condition has
been compiled and type-checked, or a :class:`ModuleError` listing every problem with
its file, line and field. There is no half-loaded module.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from spoa.model import ReferrerType, Route, Severity, Thrive, Urgency
from spoa.rules.errors import AnswerError, ModuleError, ModuleProblem
from spoa.rules.expressions import (
    BOOL,
    FUNCTIONS,
    NUMBER,
    Compiled,
    ExpressionError,
    Kind,
    Symbol,
    ValueType,
    compile_expression,
)
from spoa.rules.yamlsafe import Located, YamlProblem, load_file

FORMAT_VERSION = 1
MODULE_FILE = "module.yaml"
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)
DEFAULT_TEXT_LIMIT = 2000
RESERVED_NAMES = {"yes", "no", "true", "false", "value", "child_age", "referrer", *FUNCTIONS}


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    SINGLE = "single"
    MULTI = "multi"
    NUMBER = "number"
    DATE = "date"
    TEXT = "text"
    SCALE = "scale"


class SignOffStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    weight: float | None = None


@dataclass(frozen=True)
class Check:
    rule: Compiled
    message: str


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    text: str
    section_id: str
    help: str = ""
    required: bool = False
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    integer: bool = False
    max_length: int = DEFAULT_TEXT_LIMIT
    weight: float | None = None  # yes/no questions: what "yes" adds to a score
    scale_labels: tuple[tuple[int, str], ...] = ()
    show_if: Compiled | None = None
    checks: tuple[Check, ...] = ()

    @property
    def value_type(self) -> ValueType:
        kind = {
            QuestionType.YES_NO: Kind.BOOL,
            QuestionType.SINGLE: Kind.CHOICE,
            QuestionType.MULTI: Kind.MULTI,
            QuestionType.NUMBER: Kind.NUMBER,
            QuestionType.SCALE: Kind.NUMBER,
            QuestionType.DATE: Kind.DATE,
            QuestionType.TEXT: Kind.TEXT,
        }[self.type]
        return ValueType(
            kind,
            options=tuple(o.value for o in self.options),
            minimum=self.minimum,
            maximum=self.maximum,
            owner=self.id,
        )

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def coerce(self, raw: object) -> object:
        """The stored form of an answer, or AnswerError saying what this question takes.

        ``None`` (and empty text or an empty string) means "no answer".
        """
        if raw is None or (isinstance(raw, str) and not raw.strip() and self.type != QuestionType.MULTI):
            return None
        return _COERCERS[self.type](self, raw)

    def display(self, value: object) -> str:
        """An answer as a person reads it."""
        if value is None:
            return "not answered"
        if self.type is QuestionType.YES_NO:
            return "Yes" if value else "No"
        if self.type is QuestionType.SINGLE:
            option = self.option(value)
            return option.label if option else str(value)
        if self.type is QuestionType.MULTI:
            labels = [o.label for o in self.options if o.value in value]
            return ", ".join(labels) if labels else "None of these"
        if self.type in (QuestionType.NUMBER, QuestionType.SCALE):
            text = f"{value:g}"
            if self.type is QuestionType.SCALE and self.maximum is not None:
                text += f" of {self.maximum:g}"
            return f"{text} {self.unit}".strip()
        if self.type is QuestionType.DATE:
            return value.strftime("%d %b %Y")
        return str(value)


def _coerce_yes_no(q: Question, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("yes", "y", "true"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("no", "n", "false"):
        return False
    raise AnswerError(q.id, "this is a yes/no question; answer yes or no")


def _coerce_single(q: Question, raw: object) -> str:
    if isinstance(raw, str) and q.option(raw.strip()) is not None:
        return raw.strip()
    raise AnswerError(q.id, "choose one of: " + ", ".join(o.value for o in q.options))


def _coerce_multi(q: Question, raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [part for part in (p.strip() for p in raw.split(",")) if part]
    if not isinstance(raw, list | tuple | set | frozenset):
        raise AnswerError(q.id, "give a list of options (it may be empty for 'none of these')")
    chosen = set()
    for item in raw:
        if not isinstance(item, str) or q.option(item) is None:
            raise AnswerError(
                q.id, "each choice must be one of: " + ", ".join(o.value for o in q.options)
            )
        chosen.add(item)
    # Kept in the module's option order so that equal answers are equal records.
    return tuple(o.value for o in q.options if o.value in chosen)


def _coerce_number(q: Question, raw: object) -> float | int:
    if isinstance(raw, bool):
        raise AnswerError(q.id, "this question takes a number")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip().replace(",", ""))
        except ValueError:
            raise AnswerError(q.id, "this question takes a number") from None
    if not isinstance(raw, int | float) or not math.isfinite(raw):
        raise AnswerError(q.id, "this question takes a number")
    if (q.integer or q.type is QuestionType.SCALE) and raw != int(raw):
        raise AnswerError(q.id, "this question takes a whole number")
    value = int(raw) if raw == int(raw) else raw
    too_low = q.minimum is not None and value < q.minimum
    too_high = q.maximum is not None and value > q.maximum
    if too_low or too_high:
        unit = f" {q.unit}" if q.unit else ""
        if q.minimum is not None and q.maximum is not None:
            allowed = f"between {q.minimum:g} and {q.maximum:g}{unit}"
        elif too_low:
            allowed = f"at least {q.minimum:g}{unit}"
        else:
            allowed = f"at most {q.maximum:g}{unit}"
        raise AnswerError(q.id, f"the answer must be {allowed}")
    return value


def _coerce_date(q: Question, raw: object) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise AnswerError(q.id, "this question takes a date written as YYYY-MM-DD")


def _coerce_text(q: Question, raw: object) -> str:
    if not isinstance(raw, str):
        raise AnswerError(q.id, "this question takes text")
    text = raw.strip()
    if len(text) > q.max_length:
        raise AnswerError(
            q.id, f"the answer is {len(text)} characters long; the limit is {q.max_length}"
        )
    return text


_COERCERS = {
    QuestionType.YES_NO: _coerce_yes_no,
    QuestionType.SINGLE: _coerce_single,
    QuestionType.MULTI: _coerce_multi,
    QuestionType.NUMBER: _coerce_number,
    QuestionType.SCALE: _coerce_number,
    QuestionType.DATE: _coerce_date,
    QuestionType.TEXT: _coerce_text,
}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    help: str
    questions: tuple[Question, ...]
    show_if: Compiled | None = None


@dataclass(frozen=True)
class Band:
    start: float
    label: str


@dataclass(frozen=True)
class Score:
    id: str
    label: str
    parts: tuple[str, ...] = ()  # questions summed by their weights
    formula: Compiled | None = None
    bands: tuple[Band, ...] = ()

    def band(self, value: float | None) -> str | None:
        if value is None:
            return None
        label = None
        for band in self.bands:
            if value >= band.start:
                label = band.label
        return label


@dataclass(frozen=True)
class Flag:
    id: str
    label: str
    severity: Severity
    when: Compiled
    action: str | None = None


@dataclass(frozen=True)
class OutcomeRule:
    id: str
    route: Route
    urgency: Urgency
    respond_within: int
    thrive: Thrive
    because: str
    when: Compiled | None = None  # None: the default rule
    contact_within: int | None = None

    @property
    def is_default(self) -> bool:
        return self.when is None


@dataclass(frozen=True)
class SignOff:
    status: SignOffStatus
    by: str
    on: str
    note: str

    @property
    def approved(self) -> bool:
        return self.status is SignOffStatus.APPROVED and bool(self.by)


@dataclass(frozen=True)
class RuleModule:
    id: str
    version: str
    title: str
    description: str
    scale: str
    scale_version: str
    age_min: int
    age_max: int
    author: str
    sign_off: SignOff
    referrers: tuple[ReferrerType, ...]
    sections: tuple[Section, ...]
    scores: tuple[Score, ...]
    flags: tuple[Flag, ...]
    outcomes: tuple[OutcomeRule, ...]
    content_hash: str
    path: Path
    questions: dict[str, Question] = field(repr=False, compare=False, default_factory=dict)
    # Evaluation orders that respect dependencies (a show_if reads earlier questions, ...)
    visibility_order: tuple[str, ...] = ()
    score_order: tuple[str, ...] = ()
    flag_order: tuple[str, ...] = ()

    def label_of(self, name: str) -> str:
        if name in self.questions:
            return self.questions[name].text
        for item in (*self.scores, *self.flags):
            if item.id == name:
                return item.label
        return {"child_age": "Child's age", "referrer": "Referrer"}.get(name, name)


# -- reading ---------------------------------------------------------------------------


def content_hash(data: object) -> str:
    """sha256 of the module's canonical content: same meaning, same hash, whatever the layout."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=_canonical_default)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def load_module(folder: Path, label: str | None = None) -> RuleModule:
    """Read and check one module folder. Raises ModuleError listing every problem found."""
    path = folder / MODULE_FILE
    name = label or folder.name
    shown = _display_path(path)
    if not path.is_file():
        raise ModuleError([ModuleProblem(name, shown, None, "", f"there is no {MODULE_FILE} in this folder")])
    try:
        located = load_file(path)
    except YamlProblem as exc:
        raise ModuleError([ModuleProblem(name, shown, exc.line, "", exc.message)]) from None
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror}"
        raise ModuleError([ModuleProblem(name, shown, None, "", message)]) from None
    return _ModuleReader(located, shown, name, folder).read()


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_TOP_FIELDS = {
    "format", "id", "version", "title", "description", "scale", "age_range", "author",
    "sign_off", "referrers", "sections", "scores", "flags", "outcomes",
}
_SECTION_FIELDS = {"id", "title", "help", "show_if", "questions"}
_QUESTION_FIELDS = {
    "id", "type", "text", "help", "required", "options", "min", "max", "unit", "integer",
    "max_length", "weight", "labels", "show_if", "checks",
}
_OPTION_FIELDS = {"value", "label", "weight"}
_SCORE_FIELDS = {"id", "label", "sum", "value", "bands"}
_FLAG_FIELDS = {"id", "label", "severity", "when", "action"}
_OUTCOME_FIELDS = {
    "id", "when", "default", "route", "urgency", "respond_within", "contact_within", "thrive",
    "because",
}


class _ModuleReader:
    def __init__(self, located: Located, file: str, name: str, folder: Path):
        self.doc = located
        self.file = file
        self.name = name
        self.folder = folder
        self.problems: list[ModuleProblem] = []

    # -- problem reporting ---------------------------------------------------------

    def problem(self, path: tuple, message: str) -> None:
        self.problems.append(
            ModuleProblem(self.name, self.file, self.doc.line_of(path), _field_name(path), message)
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

    # -- the module ------------------------------------------------------------------

    def read(self) -> RuleModule:
        top = self.mapping(self.doc.data, (), _TOP_FIELDS)
        if not top:
            if not self.problems:
                self.problem((), "the file is empty")
            raise ModuleError(self.problems)
        module_id = top.get("id")
        if isinstance(module_id, str) and ID_PATTERN.match(module_id):
            self.name = module_id
        fmt = top.get("format", FORMAT_VERSION)
        if fmt != FORMAT_VERSION:
            self.problem(("format",),
                         f"format {fmt!r} is not known; this version reads format {FORMAT_VERSION}")
        seen: dict[str, tuple] = {}
        module_id = self.identifier(top, (), {}, "module")
        version = self.text(top, (), "version")
        if version and not SEMVER.match(version):
            self.problem(("version",), f"'{version}' is not a semantic version such as 1.2.0")
        title = self.text(top, (), "title")
        description = self.text(top, (), "description")
        author = self.text(top, (), "author")
        scale_name, scale_version = self.read_scale(top)
        age_min, age_max = self.read_age_range(top)
        sign_off = self.read_sign_off(top)
        referrers = self.read_referrers(top)

        questions, sections_raw = self.read_questions(top, seen)
        context = {
            "child_age": Symbol("child_age", "context", ValueType(
                Kind.NUMBER, minimum=age_min, maximum=age_max, owner="child_age")),
            "referrer": Symbol("referrer", "context", ValueType(
                Kind.CHOICE, options=tuple(r.value for r in ReferrerType), owner="referrer")),
        }
        question_symbols = {
            q.id: Symbol(q.id, "question", q.value_type) for q in questions.values()
        } | context
        sections, questions = self.read_visibility(sections_raw, questions, question_symbols)
        visibility_order = self.order(
            {qid: _question_deps(q, sections) for qid, q in questions.items()}, "show_if", "sections"
        )

        scores_raw = self.list_of(top, "scores", required=False)
        flags_raw = self.list_of(top, "flags", required=False)
        score_ids = [s.get("id") for s in scores_raw if isinstance(s, dict)]
        flag_ids = [f.get("id") for f in flags_raw if isinstance(f, dict)]
        score_symbols = {
            sid: Symbol(sid, "score", ValueType(Kind.NUMBER, owner=sid))
            for sid in score_ids if isinstance(sid, str)
        }
        flag_symbols = {
            fid: Symbol(fid, "flag", ValueType(Kind.BOOL, owner=fid))
            for fid in flag_ids if isinstance(fid, str)
        }
        scores = self.read_scores(scores_raw, questions, question_symbols | score_symbols, seen)
        score_order = self.order(
            {s.id: tuple(n for n in (s.formula.names if s.formula else ()) if n in score_symbols)
             for s in scores},
            "value", "scores",
        )
        everything = question_symbols | score_symbols | flag_symbols
        flags = self.read_flags(flags_raw, everything, seen)
        flag_order = self.order(
            {f.id: tuple(n for n in f.when.names if n in flag_symbols) for f in flags},
            "when", "flags",
        )
        outcomes = self.read_outcomes(top, everything)

        if self.problems:
            raise ModuleError(self.problems)
        return RuleModule(
            id=module_id, version=version, title=title, description=description,
            scale=scale_name, scale_version=scale_version, age_min=age_min, age_max=age_max,
            author=author, sign_off=sign_off, referrers=referrers, sections=sections,
            scores=tuple(scores), flags=tuple(flags), outcomes=tuple(outcomes),
            content_hash=content_hash(self.doc.data), path=self.folder, questions=questions,
            visibility_order=visibility_order, score_order=score_order, flag_order=flag_order,
        )

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

    def read_scale(self, top: dict) -> tuple[str, str]:
        scale = self.mapping(top.get("scale"), ("scale",), {"name", "version"})
        if not scale:
            return "", ""
        return self.text(scale, ("scale",), "name"), self.text(scale, ("scale",), "version")

    def read_age_range(self, top: dict) -> tuple[int, int]:
        block = self.mapping(top.get("age_range"), ("age_range",), {"min", "max"})
        low = self.number(block, ("age_range",), "min", required=bool(block))
        high = self.number(block, ("age_range",), "max", required=bool(block))
        if low is None or high is None:
            return 0, 25
        if not (0 <= low <= high <= 25) or low != int(low) or high != int(high):
            self.problem(("age_range",), "the age range must be whole years with 0 <= min <= max <= 25")
            return 0, 25
        return int(low), int(high)

    def read_sign_off(self, top: dict) -> SignOff:
        path = ("sign_off",)
        block = self.mapping(top.get("sign_off"), path, {"status", "by", "date", "note"})
        status = self.choice(block, path, "status", SignOffStatus) if block else None
        by = self.text(block, path, "by", required=False)
        on = self.text(block, path, "date", required=False)
        if isinstance(block.get("date"), date):
            on = block["date"].isoformat()
        note = self.text(block, path, "note", required=False)
        if status is SignOffStatus.APPROVED and not (by and on):
            self.problem(path, "an approved module must say who signed it off ('by') and when ('date')")
        return SignOff(status or SignOffStatus.DRAFT, by, on, note)

    def read_referrers(self, top: dict) -> tuple[ReferrerType, ...]:
        result = []
        for index, value in enumerate(self.list_of(top, "referrers", required=False)):
            try:
                result.append(ReferrerType(value))
            except ValueError:
                allowed = ", ".join(r.value for r in ReferrerType)
                self.problem(("referrers", index), f"'{value}' is not a referrer type; use one of: {allowed}")
        return tuple(result)

    # -- questions -------------------------------------------------------------------

    def read_questions(self, top: dict, seen: dict) -> tuple[dict[str, Question], list]:
        questions: dict[str, Question] = {}
        sections_raw = []
        section_ids: dict[str, tuple] = {}
        raw_sections = self.list_of(top, "sections")
        if "sections" in top and not raw_sections and isinstance(top.get("sections"), list):
            self.problem(("sections",), "a module needs at least one section of questions")
        for s_index, raw_section in enumerate(raw_sections):
            spath = ("sections", s_index)
            section = self.mapping(raw_section, spath, _SECTION_FIELDS)
            if not section:
                continue
            sid = self.identifier(section, spath, section_ids, "section")
            title = self.text(section, spath, "title")
            help_text = self.text(section, spath, "help", required=False)
            qlist = []
            for q_index, raw_question in enumerate(self.list_of(section, "questions", spath)):
                qpath = (*spath, "questions", q_index)
                question = self.read_question(raw_question, qpath, sid, seen)
                if question is not None:
                    questions[question.id] = question
                    qlist.append((question, qpath))
            sections_raw.append((sid, title, help_text, section.get("show_if"), (*spath, "show_if"), qlist))
        return questions, sections_raw

    def read_question(self, raw: object, path: tuple, section_id: str, seen: dict) -> Question | None:
        block = self.mapping(raw, path, _QUESTION_FIELDS)
        if not block:
            return None
        qid = self.identifier(block, path, seen, "question")
        qtype = self.choice(block, path, "type", QuestionType)
        text = self.text(block, path, "text")
        required = block.get("required", False)
        if not isinstance(required, bool):
            self.problem((*path, "required"), "'required' must be yes or no")
            required = False
        kwargs: dict = {}
        if qtype in (QuestionType.SINGLE, QuestionType.MULTI):
            kwargs["options"] = self.read_options(block, path)
        elif "options" in block:
            self.problem((*path, "options"), f"a {qtype} question has no options")
        if qtype in (QuestionType.NUMBER, QuestionType.SCALE):
            low = self.number(block, path, "min", required=qtype is QuestionType.SCALE)
            high = self.number(block, path, "max", required=qtype is QuestionType.SCALE)
            if low is not None and high is not None and low >= high:
                self.problem((*path, "min"), "'min' must be less than 'max'")
            kwargs.update(minimum=low, maximum=high, unit=self.text(block, path, "unit", required=False))
            integer = block.get("integer", qtype is QuestionType.SCALE)
            kwargs["integer"] = bool(integer)
            if qtype is QuestionType.SCALE:
                kwargs["scale_labels"] = self.read_scale_labels(block, path, low, high)
        if qtype is QuestionType.TEXT and "max_length" in block:
            limit = self.number(block, path, "max_length")
            if limit is not None and (limit != int(limit) or not 1 <= limit <= 20000):
                self.problem((*path, "max_length"), "'max_length' must be a whole number from 1 to 20000")
            elif limit is not None:
                kwargs["max_length"] = int(limit)
        if "weight" in block:
            if qtype is not QuestionType.YES_NO:
                self.problem((*path, "weight"), "only yes/no questions carry a 'weight'; "
                             "give choice options their own weights")
            kwargs["weight"] = self.number(block, path, "weight")
        if qtype is None or not qid:
            return None
        return Question(id=qid, type=qtype, text=text, section_id=section_id,
                        help=self.text(block, path, "help", required=False),
                        required=required, **kwargs)

    def read_options(self, block: dict, path: tuple) -> tuple[Option, ...]:
        options = []
        values: set[str] = set()
        raw_options = self.list_of(block, "options", path)
        if "options" in block and len(raw_options) < 2 and isinstance(block["options"], list):
            self.problem((*path, "options"), "a choice question needs at least two options")
        for index, raw in enumerate(raw_options):
            opath = (*path, "options", index)
            item = self.mapping(raw, opath, _OPTION_FIELDS)
            if not item:
                continue
            value = self.text(item, opath, "value")
            if value and not ID_PATTERN.match(value):
                self.problem((*opath, "value"), f"'{value}' is not a valid option value: use lower-case "
                             "letters, digits and _")
            if value in values:
                self.problem((*opath, "value"), f"the option '{value}' appears twice")
            values.add(value)
            options.append(Option(value, self.text(item, opath, "label"),
                                  self.number(item, opath, "weight")))
        return tuple(options)

    def read_scale_labels(self, block, path, low, high) -> tuple[tuple[int, str], ...]:
        labels = block.get("labels")
        if labels is None:
            return ()
        if not isinstance(labels, dict):
            self.problem((*path, "labels"), "'labels' maps scale points to words, e.g. 0: Not at all")
            return ()
        result = []
        for point, word in labels.items():
            on_scale = low is not None and high is not None and low <= point <= high
            if not isinstance(point, int) or isinstance(point, bool) or not on_scale:
                self.problem((*path, "labels", point), f"{point!r} is not a point on this scale")
                continue
            result.append((point, str(word)))
        return tuple(sorted(result))

    def read_visibility(self, sections_raw, questions, symbols):
        sections = []
        checked: dict[str, Question] = {}
        for sid, title, help_text, show_raw, show_path, qlist in sections_raw:
            section_show = None
            if show_raw is not None:
                section_show = self.compile(show_raw, show_path, symbols, Kind.BOOL)
            built = []
            for question, qpath in qlist:
                block = self.doc_at(qpath)
                show_if = None
                if block.get("show_if") is not None:
                    show_if = self.compile(block["show_if"], (*qpath, "show_if"), symbols, Kind.BOOL)
                    if show_if and question.id in show_if.names:
                        self.problem((*qpath, "show_if"), "a question cannot depend on its own answer")
                checks = self.read_checks(block, qpath, question, symbols)
                question = _replace(question, show_if=show_if, checks=checks)
                checked[question.id] = question
                built.append(question)
            sections.append(Section(sid, title, help_text, tuple(built), section_show))
        return tuple(sections), checked

    def doc_at(self, path: tuple) -> dict:
        node = self.doc.data
        for key in path:
            node = node[key]
        return node

    def read_checks(self, block, path, question: Question, symbols) -> tuple[Check, ...]:
        checks = []
        scoped = dict(symbols)
        vt = question.value_type
        scoped["value"] = Symbol("value", "value", ValueType(
            vt.kind, vt.options, vt.minimum, vt.maximum, owner=question.id))
        for index, raw in enumerate(self.list_of(block, "checks", path, required=False)):
            cpath = (*path, "checks", index)
            item = self.mapping(raw, cpath, {"rule", "message"})
            if not item:
                continue
            message = self.text(item, cpath, "message")
            rule = self.compile(item.get("rule"), (*cpath, "rule"), scoped, Kind.BOOL)
            if rule is not None:
                checks.append(Check(rule, message))
        return tuple(checks)

    # -- scores, flags, outcomes -------------------------------------------------------

    def read_scores(self, raw_scores, questions, symbols, seen) -> list[Score]:
        scores = []
        for index, raw in enumerate(raw_scores):
            path = ("scores", index)
            block = self.mapping(raw, path, _SCORE_FIELDS)
            if not block:
                continue
            sid = self.identifier(block, path, seen, "score")
            label = self.text(block, path, "label")
            parts: tuple[str, ...] = ()
            formula = None
            if ("sum" in block) == ("value" in block):
                self.problem(path, "a score needs either 'sum' (a list of questions) or 'value' "
                             "(a formula), not both")
            elif "sum" in block:
                parts = self.read_sum(block, path, questions)
            else:
                formula = self.compile(block["value"], (*path, "value"), symbols, Kind.NUMBER)
            bands = self.read_bands(block, path)
            scores.append(Score(sid, label, parts, formula, bands))
        return scores

    def read_sum(self, block, path, questions) -> tuple[str, ...]:
        parts = []
        for index, qid in enumerate(self.list_of(block, "sum", path)):
            q = questions.get(qid) if isinstance(qid, str) else None
            ipath = (*path, "sum", index)
            if q is None:
                self.problem(ipath, f"unknown question '{qid}'")
            elif q.type in (QuestionType.SINGLE, QuestionType.MULTI) and all(
                    o.weight is None for o in q.options):
                self.problem(ipath, f"'{qid}' has no option with a weight, so it adds nothing")
            elif q.type is QuestionType.YES_NO and q.weight is None:
                self.problem(ipath, f"'{qid}' is yes/no without a 'weight', so it adds nothing")
            elif q.type in (QuestionType.TEXT, QuestionType.DATE):
                self.problem(ipath, f"'{qid}' is a {q.type} question and cannot be added up")
            else:
                parts.append(qid)
        return tuple(parts)

    def read_bands(self, block, path) -> tuple[Band, ...]:
        bands = []
        for index, raw in enumerate(self.list_of(block, "bands", path, required=False)):
            bpath = (*path, "bands", index)
            item = self.mapping(raw, bpath, {"from", "label"})
            start = self.number(item, bpath, "from", required=True)
            label = self.text(item, bpath, "label")
            if start is None:
                continue
            if bands and start <= bands[-1].start:
                self.problem((*bpath, "from"), "bands must go up: each 'from' above the one before")
            bands.append(Band(start, label))
        return tuple(bands)

    def read_flags(self, raw_flags, symbols, seen) -> list[Flag]:
        flags = []
        for index, raw in enumerate(raw_flags):
            path = ("flags", index)
            block = self.mapping(raw, path, _FLAG_FIELDS)
            if not block:
                continue
            fid = self.identifier(block, path, seen, "flag")
            label = self.text(block, path, "label")
            severity = self.choice(block, path, "severity", Severity)
            action = self.text(block, path, "action", required=False) or None
            if severity is Severity.IMMEDIATE and not action:
                self.problem((*path, "action"), "an immediate-risk flag must say the action to take now")
            when = None
            if "when" not in block:
                self.problem((*path, "when"), "'when' is required")
            else:
                when = self.compile(block["when"], (*path, "when"), symbols, Kind.BOOL)
                if when and fid in when.names:
                    self.problem((*path, "when"), "a flag cannot depend on itself")
            if when is not None and severity is not None and fid:
                flags.append(Flag(fid, label, severity, when, action))
        return flags

    def read_outcomes(self, top, symbols) -> list[OutcomeRule]:
        rules: list[OutcomeRule] = []
        ids: dict[str, tuple] = {}
        raw_rules = self.list_of(top, "outcomes")
        default_at = None
        for index, raw in enumerate(raw_rules):
            path = ("outcomes", index)
            block = self.mapping(raw, path, _OUTCOME_FIELDS)
            if not block:
                continue
            rid = self.identifier(block, path, ids, "outcome rule")
            is_default = block.get("default") is True
            if default_at is not None:
                self.problem(path, f"this rule can never be reached: the default rule "
                             f"'{raw_rules[default_at].get('id')}' comes before it")
            when = None
            if is_default:
                default_at = index
                if "when" in block:
                    self.problem((*path, "when"), "the default rule applies when no other does; "
                                 "remove its 'when'")
            elif "when" not in block:
                self.problem(path, "a rule needs 'when', or 'default: yes' if it is the last resort")
            else:
                when = self.compile(block["when"], (*path, "when"), symbols, Kind.BOOL)
            route = self.choice(block, path, "route", Route)
            urgency = self.choice(block, path, "urgency", Urgency)
            thrive = self.choice(block, path, "thrive", Thrive)
            because = self.text(block, path, "because")
            respond = self.hours(block, path, "respond_within", required=True)
            contact = self.hours(block, path, "contact_within", required=False)
            if urgency is not None and respond is not None and respond > urgency.longest_response_hours:
                self.problem((*path, "respond_within"), f"{respond} hours is too long for "
                             f"'{urgency}': at most {urgency.longest_response_hours} hours")
            if contact is not None and respond is not None and contact > respond:
                self.problem((*path, "contact_within"),
                             "'contact_within' cannot be later than 'respond_within'")
            complete = None not in (route, urgency, thrive, respond) and rid and (is_default or when)
            if complete:
                rules.append(OutcomeRule(rid, route, urgency, respond, thrive, because, when, contact))
        if raw_rules and default_at is None:
            self.problem(("outcomes",), "the module has no default outcome: every call must end in one, "
                         "so add a last rule with 'default: yes'")
        return rules

    def hours(self, block, path, key, required: bool) -> int | None:
        value = self.number(block, path, key, required=required)
        if value is None:
            return None
        if value != int(value) or value <= 0:
            self.problem((*path, key), f"'{key}' is a whole number of hours above 0")
            return None
        return int(value)

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


def _question_deps(question: Question, sections: tuple[Section, ...]) -> tuple[str, ...]:
    names = list(question.show_if.names) if question.show_if else []
    for section in sections:
        if section.id == question.section_id and section.show_if:
            names.extend(section.show_if.names)
    return tuple(names)


def _replace(question: Question, **changes) -> Question:
    from dataclasses import replace

    return replace(question, **changes)


def _field_name(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


__all__ = [
    "BOOL",
    "NUMBER",
    "Band",
    "Check",
    "Flag",
    "Option",
    "OutcomeRule",
    "Question",
    "QuestionType",
    "RuleModule",
    "Score",
    "Section",
    "SignOff",
    "SignOffStatus",
    "load_module",
]
