"""`make bench`: the cost of one answer in a triage session, against a 5 ms p95 bar.

What is timed is ``TriageSession.answer(question_id, value)`` on a session that already
holds about 150 answers to a synthetic 200-question module (benchmarks/synthetic_module.py,
written to a temporary folder): one call re-checks skip logic for every question, the
value checks, all scores, all flags and the outcome. A few thousand answers are drawn with
a fixed seed, always a valid value for a question that is shown at that moment.

Shared machines are noisy, so the same run also times a baseline: the same answers
replayed through the same conditions done the unsafe way, as Python code objects
compiled from the module's condition text and run with the builtin ``eval`` against a
dict. That is about the fastest naive approach there is; the ratio between the two
(of medians on the summary line; per percentile in the table) says far more across
machines than the absolute figures do. The baseline is only a
yardstick here: conditions are never evaluated with ``eval`` in the desk itself.

Exit status 1 when the p95 of ``answer()`` is over the bar.
"""

from __future__ import annotations

import ast
import gc
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from synthetic_module import MODULE_ID, build_module, describe, write_module

from spoa.model import ReferrerType, SessionContext
from spoa.rules.loading import load_module
from spoa.rules.module import RuleModule
from spoa.rules.questions import Question, QuestionType
from spoa.rules.session import TriageSession

BAR_MS = 5.0
SEED = 1729
TARGET_ANSWERS = 150  # answers the session holds before each timed answer
WARMUP_ANSWERS = 300
MEASURED_ANSWERS = 5000
LOAD_RUNS = 10
ON_DATE = date(2026, 3, 2)
CONTEXT = SessionContext(child_age=14, referrer=ReferrerType.GP, on_date=ON_DATE)
TEXTS = ["Lives with mum and two siblings.", "Seen by the school counsellor last term.",
         "Caller is worried about the weekends.", "No further detail given."]


# -- drawing answers ---------------------------------------------------------------------

class AnswerDrawer:
    """Valid answers for shown questions, from a fixed seed.

    Yes/no questions that open follow-up questions are mostly answered yes, the others
    mostly no (as in real calls, where most risk questions are answered no), so that
    skip logic keeps most of the module shown while flags and outcomes still vary.
    """

    def __init__(self, module: RuleModule, seed: int):
        self.rng = random.Random(seed)
        self.gates = frozenset(
            name
            for item in (*module.sections, *module.questions.values()) if item.show_if
            for name in item.show_if.names
        )

    def value(self, question: Question) -> object:
        """A valid answer in the form the session stores it."""
        rng, qtype = self.rng, question.type
        if qtype is QuestionType.YES_NO:
            return rng.random() < (0.8 if question.id in self.gates else 0.3)
        if qtype is QuestionType.SINGLE:
            return rng.choice(question.options).value
        if qtype is QuestionType.MULTI:
            picked = set(rng.sample([o.value for o in question.options],
                                    k=rng.randint(0, min(3, len(question.options)))))
            return tuple(o.value for o in question.options if o.value in picked)
        if qtype in (QuestionType.NUMBER, QuestionType.SCALE):
            low, high = int(question.minimum or 0), int(question.maximum or 100)
            if question.integer or qtype is QuestionType.SCALE:
                return rng.randint(low, high)
            return round(rng.uniform(low, high), 1)
        if qtype is QuestionType.DATE:
            return ON_DATE - timedelta(days=rng.randint(0, 730))
        return rng.choice(TEXTS)

    def answer(self, session: TriageSession) -> tuple[str, object]:
        """Fill a question still unanswered while under the target, otherwise change an answer."""
        held = session.answers
        shown = session.visible_questions
        if len(held) < TARGET_ANSWERS:
            pool = [q for q in shown if q.id not in held] or shown
        else:
            pool = [q for q in shown if q.id in held]
        question = self.rng.choice(pool)
        return question.id, self.value(question)

    def fill(self, session: TriageSession) -> None:
        while len(session.answers) < TARGET_ANSWERS:
            unanswered = [q for q in session.visible_questions if q.id not in session.answers]
            if not unanswered:
                break
            question = self.rng.choice(unanswered)
            session.answer(question.id, self.value(question))


# -- the unsafe baseline -------------------------------------------------------------------

_PLAIN_CONSTANTS = {"yes": True, "no": False, "true": True, "false": False}


class _PlainNames(ast.NodeTransformer):
    """yes/no (and true/false) as Python's True/False; everything else left as written."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _PLAIN_CONSTANTS:
            return ast.copy_location(ast.Constant(_PLAIN_CONSTANTS[node.id]), node)
        return node


def compile_plain(source: str):
    """The condition as a Python code object, or None if it is not plain Python."""
    try:
        tree = ast.parse(" ".join(source.splitlines()), mode="eval")
        tree = ast.fix_missing_locations(_PlainNames().visit(tree))
        return compile(tree, "<condition>", "eval")
    except (SyntaxError, ValueError, TypeError):
        return None


class _NoChoices(tuple):
    """An unanswered multiple-choice question: empty, so ``'x' in q`` is simply false."""

    __slots__ = ()


NO_NUMBER = math.nan  # every comparison with NaN is false, as with an unanswered number
NO_CHOICES = _NoChoices()


def _answered(v) -> bool:
    return v is not None and v is not NO_CHOICES and v == v


def _count(*args):
    if len(args) == 1 and isinstance(args[0], tuple):
        return len(args[0])
    return sum(1 for a in args if a)


def _least(*values):
    present = [v for v in values if v == v]
    return min(present) if present else NO_NUMBER


def _most(*values):
    present = [v for v in values if v == v]
    return max(present) if present else NO_NUMBER


def naive_functions(today: date) -> dict[str, object]:
    """The condition language's functions, written the obvious way for eval."""
    return {
        "__builtins__": {},
        "answered": _answered,
        "any_of": lambda v, *opts: any(o in v for o in opts),
        "all_of": lambda v, *opts: all(o in v for o in opts),
        "count": _count,
        "days_since": lambda d: NO_NUMBER if d is None else (today - d).days,
        "age_years": lambda d: NO_NUMBER if d is None else (
            today.year - d.year - ((today.month, today.day) < (d.month, d.day))),
        "today": lambda: today,
        "min": _least,
        "max": _most,
    }


class UnsafeEvalBaseline:
    """The session's re-evaluation done with ``eval`` over precompiled code objects.

    Same conditions in the same orders (section and question show_if, value checks,
    score formulas, flag whens, outcome whens), same sums, same dropping of answers to
    hidden questions. What stands for a missing answer is picked so that plain Python
    operators give the condition language's answers: NaN for numbers and scores (every
    comparison false), an empty tuple for multiple choice, None otherwise; anything that
    still raises counts as false.
    """

    def __init__(self, module: RuleModule, context: SessionContext, answers: dict[str, object]):
        self.skipped = 0
        self.compiled = 0
        self.globals = naive_functions(context.today)
        self.base_env = {
            "child_age": context.child_age,
            "referrer": context.referrer.value if context.referrer else None,
        }
        self.answers = dict(answers)
        sections = {s.id: s for s in module.sections}
        self.visibility = []
        self.checks: dict[str, list] = {}
        for qid in module.visibility_order:
            question = module.questions[qid]
            section = sections[question.section_id]
            missing = {QuestionType.NUMBER: NO_NUMBER, QuestionType.SCALE: NO_NUMBER,
                       QuestionType.MULTI: NO_CHOICES}.get(question.type)
            self.visibility.append(
                (qid, missing, self.code(section.show_if), self.code(question.show_if)))
            checks = [(self.code(c.rule), c.message) for c in question.checks]
            checks = [(code, message) for code, message in checks if code is not None]
            if checks:
                self.checks[qid] = checks
        scores = {s.id: s for s in module.scores}
        self.scores = []
        for sid in module.score_order:
            score = scores[sid]
            if score.formula is not None:
                self.scores.append((sid, self.code(score.formula), None))
                continue
            parts = []
            for qid in score.parts:
                question = module.questions[qid]
                weights = {o.value: o.weight or 0 for o in question.options}
                parts.append((qid, question.type.value, question.weight or 0, weights))
            self.scores.append((sid, None, parts))
        flags = {f.id: f for f in module.flags}
        self.flags = [(fid, self.code(flags[fid].when)) for fid in module.flag_order]
        self.outcomes = [(r.id, self.code(r.when), r.when is None) for r in module.outcomes]

    def code(self, compiled):
        if compiled is None:
            return None
        code = compile_plain(compiled.source)
        if code is None:
            self.skipped += 1
        else:
            self.compiled += 1
        return code

    def _true(self, code, env) -> bool:
        try:
            return bool(eval(code, self.globals, env))
        except (TypeError, ZeroDivisionError):
            return False

    def answer(self, question_id: str, value: object) -> str:
        """Record one answer, re-evaluate everything and return the chosen outcome rule."""
        answers = self.answers
        if value is None:
            answers.pop(question_id, None)
        else:
            answers[question_id] = value
        env = dict(self.base_env)
        true = self._true
        for qid, missing, section_code, question_code in self.visibility:
            if (section_code is None or true(section_code, env)) and (
                    question_code is None or true(question_code, env)):
                env[qid] = answers.get(qid, missing)
            else:
                env[qid] = missing
                answers.pop(qid, None)
        self.messages = [
            message
            for qid, value in answers.items() if qid in self.checks
            for code, message in self.checks[qid]
            if not true(code, {**env, "value": value})
        ]
        for sid, formula, parts in self.scores:
            if formula is not None:
                try:
                    env[sid] = eval(formula, self.globals, env)
                except (TypeError, ZeroDivisionError):
                    env[sid] = NO_NUMBER
                continue
            total, counted = 0.0, False
            for qid, kind, weight, weights in parts:
                v = answers.get(qid)
                if v is None:
                    continue
                counted = True
                if kind == "yes_no":
                    total += weight if v else 0
                elif kind == "single":
                    total += weights[v]
                elif kind == "multi":
                    total += sum(weights[o] for o in v)
                else:
                    total += v
            env[sid] = total if counted else NO_NUMBER
        for fid, code in self.flags:
            env[fid] = code is not None and true(code, env)
        self.raised = [fid for fid, _ in self.flags if env[fid]]
        return next(rid for rid, code, default in self.outcomes
                    if default or (code is not None and true(code, env)))


# -- timing ----------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def summary(ns: list[int]) -> dict[str, float]:
    ms = sorted(v / 1e6 for v in ns)
    return {"p50": percentile(ms, 0.50), "p95": percentile(ms, 0.95),
            "p99": percentile(ms, 0.99), "max": ms[-1]}


def time_load(folder: Path) -> float:
    load_module(folder)  # warm-up: imports, caches
    times = []
    for _ in range(LOAD_RUNS):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            load_module(folder)
            times.append(time.perf_counter_ns() - start)
        finally:
            gc.enable()
    return statistics.median(times) / 1e6


def time_session(module: RuleModule):
    draw = AnswerDrawer(module, SEED)
    session = TriageSession(module, CONTEXT)
    draw.fill(session)
    for _ in range(WARMUP_ANSWERS):
        session.answer(*draw.answer(session))
    draw.fill(session)
    start_answers = session.answers
    steps, held, expected, ns = [], [], [], []
    perf = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for _ in range(MEASURED_ANSWERS):
            qid, value = draw.answer(session)
            held.append(len(session.answers))
            t0 = perf()
            session.answer(qid, value)
            t1 = perf()
            ns.append(t1 - t0)
            steps.append((qid, value))
            expected.append((session.outcome.rule_id, frozenset(f.id for f in session.flags)))
    finally:
        gc.enable()
    return ns, start_answers, steps, held, expected


def time_baseline(module: RuleModule, start_answers, steps, expected):
    warm = UnsafeEvalBaseline(module, CONTEXT, start_answers)
    for qid, value in steps[:WARMUP_ANSWERS]:
        warm.answer(qid, value)
    baseline = UnsafeEvalBaseline(module, CONTEXT, start_answers)
    ns, agreed = [], 0
    perf = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for (qid, value), (rule_id, flags) in zip(steps, expected, strict=True):
            t0 = perf()
            chosen = baseline.answer(qid, value)
            t1 = perf()
            ns.append(t1 - t0)
            agreed += chosen == rule_id and frozenset(baseline.raised) == flags
    finally:
        gc.enable()
    return ns, agreed, baseline


def main() -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spoa-bench-") as tmp:
        folder = write_module(Path(tmp) / MODULE_ID)
        module = load_module(folder)
        load_ms = time_load(folder)
        yaml_kb = (folder / "module.yaml").stat().st_size / 1024
    shape = describe(build_module())

    ns, start_answers, steps, held, expected = time_session(module)
    base_ns, agreed, baseline = time_baseline(module, start_answers, steps, expected)
    engine, base = summary(ns), summary(base_ns)
    outcomes = len({rule_id for rule_id, _ in expected})

    print(f"synthetic module: {shape['questions']} questions in {shape['sections']} sections "
          f"({shape['questions with show_if']} with show_if, chains up to "
          f"{shape['deepest show_if chain']} deep), {shape['value checks']} value checks, "
          f"{len(module.scores)} scores, {len(module.flags)} flags, "
          f"{len(module.outcomes)} outcome rules; {yaml_kb:.0f} KB of YAML")
    print(f"module load (load_module, median of {LOAD_RUNS}): {load_ms:.1f} ms")
    print(f"timed answers: {len(ns)} after {WARMUP_ANSWERS} warm-up (seed {SEED}); answers held "
          f"before each: median {statistics.median(held):.0f}, min {min(held)}, max {max(held)}; "
          f"{outcomes} different outcome rules chosen")
    print()
    print(f"{'one answer, ms':<30}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    print(f"{'TriageSession.answer()':<30}"
          + "".join(f"{engine[k]:>8.3f}" for k in ("p50", "p95", "p99", "max")))
    print(f"{'unsafe eval baseline':<30}"
          + "".join(f"{base[k]:>8.3f}" for k in ("p50", "p95", "p99", "max")))
    print(f"{'ratio':<30}"
          + "".join(f"{engine[k] / base[k]:>7.1f}x" for k in ("p50", "p95", "p99", "max")))
    print()
    print(f"baseline: {baseline.compiled} conditions compiled as plain Python, "
          f"{baseline.skipped} skipped; same outcome and flags as the session on "
          f"{agreed}/{len(steps)} answers")
    print(f"ratio to unsafe eval baseline: {engine['p50'] / base['p50']:.1f}x")
    print(f"(whole run {time.perf_counter() - started:.1f} s)")
    p95 = engine["p95"]
    if p95 <= BAR_MS:
        print(f"PASS: p95 {p95:.2f} ms <= {BAR_MS:g} ms")
        return 0
    print(f"FAIL: p95 {p95:.2f} ms > {BAR_MS:g} ms")
    return 1


if __name__ == "__main__":
    engine_status = main()
    print()
    import store_bench  # the encrypted store against plain SQLite (benchmarks/store_bench.py)

    store_status = store_bench.main()
    print()
    import letters_bench  # batch export of referral letters (benchmarks/letters_bench.py)

    letters_status = letters_bench.main()
    print()
    import ui_bench  # the desktop app: start, the contact list at 100,000, memory (benchmarks/ui_bench.py)

    ui_status = ui_bench.main()
    print()
    import triage_panel_bench  # an answer to the call's side panel (benchmarks/triage_panel_bench.py)

    panel_status = triage_panel_bench.main()
    statuses = (engine_status, store_status, letters_status, ui_status, panel_status)
    sys.exit(1 if any(statuses) else 0)
