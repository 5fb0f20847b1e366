"""Vignettes: worked examples that a module carries with the outcome a clinician expects.

Each module's ``cases/*.yaml`` are read with the same care as the module itself, run
through a real :class:`TriageSession`, and compared field by field with what was
expected. A mismatch says which field differed and how, in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from spoa.model import ReferrerType, Route, SessionContext, Urgency
from spoa.rules import danger_now
from spoa.rules.errors import AnswersRejected, ModuleError, ModuleProblem
from spoa.rules.loading import display_path
from spoa.rules.module import RuleModule
from spoa.rules.session import TriageSession
from spoa.rules.yamlsafe import YamlProblem, load_file

CASES_FOLDER = "cases"
_CASE_FIELDS = {"id", "description", "code", "presentation", "context", "answers", "expect"}
# The triage scale's codes (CLINICAL.md): a vignette says which code its presentation is,
# from the code's published definition, so that the module's answer can be checked against it.
SCALE_CODES = ("A", "B", "C", "D", "E", "F", "G")
_EXPECT_FIELDS = {"rule", "route", "urgency", "flags", "scores", "complete"}
_CONTEXT_FIELDS = {"child_age", "referrer", "on_date"}


@dataclass(frozen=True)
class Vignette:
    id: str
    description: str
    context: SessionContext
    answers: dict
    expect: dict
    file: str
    line: int | None
    code: str | None = None  # the scale code of the presentation (A to G)
    presentation: str | None = None  # the same presentation written for another module


@dataclass(frozen=True)
class CaseResult:
    module_id: str
    vignette: Vignette
    mismatches: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def describe(self) -> str:
        where = f"{self.vignette.file}:{self.vignette.line}"
        if self.passed:
            return f"PASS {self.module_id}/{self.vignette.id}"
        return f"FAIL {self.module_id}/{self.vignette.id} ({where})\n" + "\n".join(
            f"     - {m}" for m in self.mismatches
        )


def load_vignettes(module: RuleModule) -> list[Vignette]:
    """Read every case file of a module; raise ModuleError naming each bad line."""
    folder = module.path / CASES_FOLDER
    problems: list[ModuleProblem] = []
    vignettes: list[Vignette] = []
    seen: dict[str, str] = {}
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []
    for path in files:
        shown = display_path(path)

        def problem(p: tuple, message: str, shown=shown, located=None) -> None:
            line = located.line_of(p) if located else None
            field_name = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in p)
            problems.append(ModuleProblem(module.id, shown, line, field_name.replace(".[", "["), message))

        try:
            located = load_file(path)
        except YamlProblem as exc:
            problems.append(ModuleProblem(module.id, shown, exc.line, "", exc.message))
            continue
        data = located.data
        if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
            problem((), "a case file holds 'cases:', a list of cases", located=located)
            continue
        for index, raw in enumerate(data["cases"]):
            base = ("cases", index)
            if not isinstance(raw, dict):
                problem(base, "each case is a block with id, answers and expect", located=located)
                continue
            for key in raw:
                if key not in _CASE_FIELDS:
                    problem((*base, key), f"unknown field '{key}'", located=located)
            case_id = raw.get("id")
            if not isinstance(case_id, str) or not case_id:
                problem((*base, "id"), "'id' is required", located=located)
                continue
            if case_id in seen:
                problem((*base, "id"), f"duplicate case id '{case_id}' (also in {seen[case_id]})",
                        located=located)
            seen[case_id] = shown
            answers = raw.get("answers") or {}
            expect = raw.get("expect")
            if not isinstance(answers, dict):
                problem((*base, "answers"), "'answers' maps question ids to answers", located=located)
                continue
            for question_id in answers:
                if question_id not in module.questions:
                    problem((*base, "answers", question_id),
                            f"module '{module.id}' has no question '{question_id}'", located=located)
            if not isinstance(expect, dict) or not expect:
                problem((*base, "expect"), "'expect' is required: what should the outcome be?",
                        located=located)
                continue
            bad_expect = _check_expect(module, expect)
            for key, message in bad_expect:
                problem((*base, "expect", key), message, located=located)
            code = raw.get("code")
            if code is not None and code not in SCALE_CODES:
                problem((*base, "code"), f"'{code}' is not a scale code; use one of {', '.join(SCALE_CODES)}",
                        located=located)
            presentation = raw.get("presentation")
            if presentation is not None and not isinstance(presentation, str):
                problem((*base, "presentation"), "'presentation' names a shared presentation",
                        located=located)
            context, context_errors = _read_context(raw.get("context") or {})
            for key, message in context_errors:
                problem((*base, "context", key), message, located=located)
            vignettes.append(Vignette(
                id=case_id,
                description=str(raw.get("description") or ""),
                context=context,
                answers=answers,
                expect=expect,
                file=shown,
                line=located.line_of(base),
                code=code,
                presentation=presentation,
            ))
    if problems:
        raise ModuleError(problems)
    return vignettes


def _check_expect(module: RuleModule, expect: dict) -> list[tuple[str, str]]:
    errors = []
    for key in expect:
        if key not in _EXPECT_FIELDS:
            errors.append((key, f"unknown field '{key}'"))
    rule_ids = {r.id for r in module.outcomes}
    flag_ids = {f.id for f in module.flags}
    score_ids = {s.id for s in module.scores}
    if "rule" in expect and expect["rule"] not in rule_ids:
        errors.append(("rule", f"no outcome rule '{expect['rule']}' in module '{module.id}'"))
    if "route" in expect and expect["route"] not in {r.value for r in Route}:
        errors.append(("route", f"'{expect['route']}' is not a route"))
    if "urgency" in expect and expect["urgency"] not in {u.value for u in Urgency}:
        errors.append(("urgency", f"'{expect['urgency']}' is not an urgency"))
    if "flags" in expect:
        flags = expect["flags"]
        if not isinstance(flags, list):
            errors.append(("flags", "'flags' is a list of flag ids ([] for none)"))
        else:
            errors.extend(("flags", f"no flag '{f}' in module '{module.id}'")
                          for f in flags if f not in flag_ids)
    if "scores" in expect:
        scores = expect["scores"]
        if not isinstance(scores, dict):
            errors.append(("scores", "'scores' maps score ids to values"))
        else:
            errors.extend(("scores", f"no score '{s}' in module '{module.id}'")
                          for s in scores if s not in score_ids)
    if "complete" in expect and not isinstance(expect["complete"], bool):
        errors.append(("complete", "'complete' is yes or no"))
    if not {"rule", "route", "urgency"} & set(expect):
        errors.append(("", "say at least which 'rule', 'route' or 'urgency' is expected"))
    return errors


def _read_context(raw: object) -> tuple[SessionContext, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return SessionContext(), [("", "'context' is a block of child_age, referrer, on_date")]
    for key in raw:
        if key not in _CONTEXT_FIELDS:
            errors.append((key, f"unknown field '{key}'"))
    age = raw.get("child_age")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 25):
        errors.append(("child_age", "'child_age' is whole years from 0 to 25"))
        age = None
    referrer = raw.get("referrer")
    try:
        referrer = ReferrerType(referrer) if referrer is not None else None
    except ValueError:
        errors.append(("referrer", f"'{referrer}' is not a referrer type"))
        referrer = None
    on_date = raw.get("on_date")
    if on_date is not None and not isinstance(on_date, date):
        errors.append(("on_date", "'on_date' is a date written YYYY-MM-DD"))
        on_date = None
    return SessionContext(child_age=age, referrer=referrer, on_date=on_date), errors


def run_vignette(module: RuleModule, vignette: Vignette) -> CaseResult:
    mismatches: list[str] = []
    try:
        session = TriageSession(module, vignette.context, vignette.answers)
    except AnswersRejected as exc:
        return CaseResult(module.id, vignette, tuple(f"answer refused: {e}" for e in exc.errors))
    outcome = session.outcome
    expect = vignette.expect
    if "rule" in expect and outcome.rule_id != expect["rule"]:
        mismatches.append(f"rule: expected '{expect['rule']}', got '{outcome.rule_id}'")
    if "route" in expect and outcome.route.value != expect["route"]:
        mismatches.append(f"route: expected {expect['route']}, got {outcome.route.value}")
    if "urgency" in expect and outcome.urgency.value != expect["urgency"]:
        mismatches.append(f"urgency: expected {expect['urgency']}, got {outcome.urgency.value}")
    if "flags" in expect:
        got = {f.id for f in outcome.flags}
        wanted = set(expect["flags"])
        if got != wanted:
            missing = ", ".join(sorted(wanted - got)) or "none"
            extra = ", ".join(sorted(got - wanted)) or "none"
            mismatches.append(f"flags: missing {missing}; unexpected {extra}")
    for score_id, wanted in (expect.get("scores") or {}).items():
        got = next(s.value for s in outcome.scores if s.id == score_id)
        if got != wanted:
            mismatches.append(f"score {score_id}: expected {wanted}, got {got}")
    wanted_complete = expect.get("complete", True)
    if session.is_complete != wanted_complete:
        if wanted_complete:
            missing = ", ".join(q.id for q in session.missing_required) or "none"
            messages = "; ".join(str(m) for m in session.validation_messages) or "none"
            mismatches.append(
                f"complete: expected a complete call; missing required: {missing}; checks failing: {messages}"
            )
        else:
            mismatches.append("complete: expected an incomplete call, but it is complete")
    return CaseResult(module.id, vignette, tuple(mismatches))


def run_vignettes(module: RuleModule) -> list[CaseResult]:
    return [run_vignette(module, v) for v in load_vignettes(module)]


def coverage_gaps(module: RuleModule, vignettes: list[Vignette]) -> list[str]:
    """The module's own outcome rules and flags that no vignette reaches."""
    reached_rules: set[str] = set()
    raised: set[str] = set()
    for vignette in vignettes:
        try:
            outcome = TriageSession(module, vignette.context, vignette.answers).outcome
        except AnswersRejected:
            continue
        reached_rules.add(outcome.rule_id)
        raised.update(f.id for f in outcome.flags)
    # The danger-now screen's own rule and flags are the desk's, the same in every module and
    # tested with it (tests/test_clinical_safety.py); a module's vignettes cover its own.
    core = danger_now.screen().ids
    gaps = [f"outcome rule '{r.id}' is reached by no vignette"
            for r in module.outcomes if r.id not in reached_rules and r.id not in core]
    gaps += [f"flag '{f.id}' is raised by no vignette" for f in module.flags
             if f.id not in raised and f.id not in core]
    return gaps
