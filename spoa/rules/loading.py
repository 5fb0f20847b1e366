"""Loading a rule module folder: its ``module.yaml`` read and checked as a whole into a
:class:`~spoa.rules.module.RuleModule`, or a :class:`ModuleError` listing every problem with its
file, line and field. There is no half-loaded module."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from spoa.model import ReferrerType, Severity
from spoa.rules import danger_now
from spoa.rules.condition_types import TODAY_KEY, Kind, Symbol, ValueType
from spoa.rules.errors import ModuleError, ModuleProblem
from spoa.rules.field_reader import ID_PATTERN
from spoa.rules.module import RuleModule, Section, SignOff, SignOffStatus, content_hash
from spoa.rules.outcome_reader import OutcomeReader
from spoa.rules.question_reader import QuestionReader, question_deps
from spoa.rules.questions import NOT_KNOWN
from spoa.rules.yamlsafe import YamlProblem, load_file

FORMAT_VERSION = 1
MODULE_FILE = "module.yaml"
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)


def load_module(folder: Path, label: str | None = None) -> RuleModule:
    """Read and check one module folder. Raises ModuleError listing every problem found."""
    path = folder / MODULE_FILE
    name = label or folder.name
    shown = display_path(path)
    if not path.is_file():
        raise ModuleError([ModuleProblem(name, shown, None, "", f"there is no {MODULE_FILE} in this folder")])
    try:
        located = load_file(path)
    except YamlProblem as exc:
        raise ModuleError([ModuleProblem(name, shown, exc.line, "", exc.message)]) from None
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror}"
        raise ModuleError([ModuleProblem(name, shown, None, "", message)]) from None
    return ModuleReader(located, shown, name, folder).read()


def display_path(path: Path) -> str:
    """A module file's path as shown in a problem: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_TOP_FIELDS = {
    "format", "id", "version", "title", "description", "scale", "age_range", "author",
    "sign_off", "referrers", "sections", "scores", "flags", "outcomes",
}


class ModuleReader(QuestionReader, OutcomeReader):
    """One module file, read top to bottom: the module's own fields, then questions, scores,
    flags and outcomes, each condition compiled against what it may read."""

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

        screen = danger_now.screen()
        questions, sections_raw = self.read_questions(top, seen)
        for sid, _title, _help, show_raw, show_path, _qlist in sections_raw:
            if sid == danger_now.SECTION_ID and show_raw is not None:
                self.problem(show_path, "the danger-now screen is asked on every call: it cannot have "
                             "a 'show_if'")
        context = {
            "child_age": Symbol("child_age", "context", ValueType(
                Kind.NUMBER, minimum=age_min, maximum=age_max, owner="child_age")),
            "referrer": Symbol("referrer", "context", ValueType(
                Kind.CHOICE, options=tuple(r.value for r in ReferrerType), owner="referrer")),
        }
        asked = (*screen.questions.values(), *questions.values())
        question_symbols = {q.id: Symbol(q.id, "question", q.value_type) for q in asked} | context
        sections, questions = self.read_visibility(sections_raw, questions, question_symbols)
        visibility_order = self.order(
            {qid: question_deps(q, sections) for qid, q in questions.items()}, "show_if", "sections"
        )
        sections = self.with_screen_first(screen, sections)
        questions = screen.questions | questions

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
            for fid in (*(f.id for f in screen.flags), *flag_ids) if isinstance(fid, str)
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
        rule_ids = {o.id: ("outcome rule", ("outcomes", i, "id")) for i, o in enumerate(outcomes)}
        self.refuse_screen_ids(seen | rule_ids, screen)
        self.check_not_known(questions, flags, flag_order, screen)

        if self.problems:
            raise ModuleError(self.problems)
        return RuleModule(
            id=module_id, version=version, title=title, description=description,
            scale=scale_name, scale_version=scale_version, age_min=age_min, age_max=age_max,
            author=author, sign_off=sign_off, referrers=referrers, sections=sections,
            scores=tuple(scores), flags=(*screen.flags, *flags), outcomes=(*screen.outcomes, *outcomes),
            content_hash=content_hash({"module": self.doc.data, "danger_now": screen.data}),
            path=self.folder, questions=questions,
            visibility_order=(*screen.visibility_order, *visibility_order), score_order=score_order,
            flag_order=(*screen.flag_order, *flag_order),
        )

    def refuse_screen_ids(self, seen: dict[str, tuple], screen) -> None:
        """No id of the module's may be one of the danger-now screen's."""
        for ident, (_what, path) in seen.items():
            if ident in screen.ids:
                self.problem(path, f"'{ident}' belongs to the danger-now screen that every call starts "
                             "with; choose another id")

    def check_not_known(self, questions, flags, flag_order, screen) -> None:
        """Not known must never lower the risk picture: for each question that offers it,
        whenever some answer (all else unanswered) raises a flag of moderate severity or more,
        not known raises that flag or one at least as severe."""
        by_id = {f.id: f for f in (*screen.flags, *flags)}
        order = (*screen.flag_order, *flag_order)
        base: dict[str, object] = {TODAY_KEY: date.today(), "child_age": None, "referrer": None}
        base |= dict.fromkeys(questions)
        for index, flag in enumerate(flags):
            if flag.severity.rank < Severity.MODERATE.rank:
                continue
            for name in flag.when.names:
                question = questions.get(name)
                if question is None or not question.offers_not_known:
                    continue
                unknown = _raised(by_id, order, base | {name: question.counted(NOT_KNOWN)})
                if flag.id in unknown or any(by_id[f].severity.rank >= flag.severity.rank for f in unknown):
                    continue
                for answer, label in question.choices():
                    if answer != NOT_KNOWN and flag.id in _raised(by_id, order, base | {name: answer}):
                        self.problem(("flags", index, "when"), (
                            f"'{flag.id}' ({flag.severity}) is raised when '{name}' is {label!r}, but "
                            f"not known (counted as {question.display(question.if_not_known)!r}) raises "
                            "nothing as severe: not known must count as the riskier answer"))
                        break

    def with_screen_first(self, screen, sections: tuple[Section, ...]) -> tuple[Section, ...]:
        """The screen's section first; a module's own ``danger_now`` section adds its questions
        to the screen's, after them."""
        added = [q for s in sections if s.id == danger_now.SECTION_ID for q in s.questions]
        core = screen.section
        first = replace(core, questions=(*core.questions, *added))
        return (first, *(s for s in sections if s.id != danger_now.SECTION_ID))

    def read_scale(self, top: dict) -> tuple[str, str]:
        """The triage scale the module follows, by name and version. A scale with a 72-hour
        code (such as the UK scale's D) names it in ``seventy_two_hour_code``; only then may
        an urgent rule promise more than 24 hours (up to 72)."""
        scale = self.mapping(top.get("scale"), ("scale",), {"name", "version", "seventy_two_hour_code"})
        if not scale:
            return "", ""
        code = self.text(scale, ("scale",), "seventy_two_hour_code", required=False)
        if code and not re.fullmatch(r"[A-Z]", code):
            self.problem(("scale", "seventy_two_hour_code"),
                         f"'{code}' is not a scale code; give the code's letter, such as D")
        self.seventy_two_hour_code = code or None
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


def _raised(flags: dict, order: tuple[str, ...], env: dict) -> set[str]:
    """The flags raised with ``env``'s answers."""
    env = dict(env)
    for fid in order:
        env[fid] = bool(flags[fid].when.evaluate(env))
    return {fid for fid in order if env[fid]}


class ScreenReader(QuestionReader, OutcomeReader):
    """The core's danger-now screen (spoa.rules.danger_now): one section, its flags and its
    outcome rules, read with the same checks as a module's."""

    def __init__(self, located, file: str, name: str):
        super().__init__(located, file, name, Path(__file__).parent)

    def read_screen(self):
        top = self.mapping(self.doc.data, (), {"sections", "flags", "outcomes"})
        seen: dict[str, tuple] = {}
        questions, sections_raw = self.read_questions(top, seen)
        symbols = {q.id: Symbol(q.id, "question", q.value_type) for q in questions.values()}
        sections, questions = self.read_visibility(sections_raw, questions, symbols)
        visibility_order = self.order(
            {qid: question_deps(q, sections) for qid, q in questions.items()}, "show_if", "sections")
        flags_raw = self.list_of(top, "flags")
        flag_symbols = {f["id"]: Symbol(f["id"], "flag", ValueType(Kind.BOOL, owner=f["id"]))
                        for f in flags_raw if isinstance(f, dict) and isinstance(f.get("id"), str)}
        flags = self.read_flags(flags_raw, symbols | flag_symbols, seen)
        flag_order = self.order({f.id: tuple(n for n in f.when.names if n in flag_symbols) for f in flags},
                                "when", "flags")
        # The screen's rules come before a module's, so it has no default rule of its own.
        outcomes = self.read_outcomes(top, symbols | flag_symbols, needs_default=False)
        if self.problems or len(sections) != 1:
            raise ModuleError(self.problems or [ModuleProblem(self.name, self.file, None, "sections",
                                                              "the screen is one section")])
        from spoa.rules.danger_now import DangerNowScreen

        return DangerNowScreen(section=sections[0], questions=questions, flags=tuple(flags),
                               outcomes=tuple(outcomes), visibility_order=visibility_order,
                               flag_order=flag_order, data=self.doc.data)
