"""The functions a condition may call (answered, any_of, all_of, count, age_years, days_since,
today, min, max): each checks its arguments when the module loads and builds the node that
computes its value.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from spoa.rules.condition_types import (
    BOOL,
    DATE,
    NUMBER,
    TODAY_KEY,
    ConditionNode,
    ExpressionError,
    Kind,
    ValueType,
)


def _question_arg(raw: ast.AST, node: ConditionNode, kinds: tuple[Kind, ...], what: str) -> str:
    if not isinstance(raw, ast.Name) or node.type.owner is None or node.type.kind not in kinds:
        raise ExpressionError(f"needs {what}")
    return raw.id


def _fn_answered(raw, args, compiler) -> ConditionNode:
    if len(args) != 1:
        raise ExpressionError("takes one question")
    name = _question_arg(raw[0], args[0], tuple(Kind), "a question id")
    return ConditionNode(lambda env: env.get(name) is not None, BOOL)


def _fn_any_all(pick_all: bool):
    def build(raw, args, compiler) -> ConditionNode:
        if len(args) < 2:
            raise ExpressionError("takes a multiple-choice question and at least one option")
        question = args[0]
        if question.type.kind is not Kind.MULTI:
            raise ExpressionError(
                f"the first argument must be a multiple-choice question, not {question.type.describe()}")
        wanted = []
        for arg in args[1:]:
            if not (arg.is_const and isinstance(arg.const, str)):
                raise ExpressionError("options must be written in quotes")
            if arg.const not in question.type.options:
                raise ExpressionError(
                    f"{arg.const!r} is not an option of {question.type.owner}; its options are "
                    f"{', '.join(question.type.options)}")
            wanted.append(arg.const)
        options = frozenset(wanted)
        fn = question.fn
        test = options.issubset if pick_all else (lambda chosen: not options.isdisjoint(chosen))

        def pick(env):
            chosen = fn(env)
            return chosen is not None and test(chosen)
        return ConditionNode(pick, BOOL)
    return build


def _fn_count(raw, args, compiler) -> ConditionNode:
    if len(args) == 1 and args[0].type.kind is Kind.MULTI:
        fn = args[0].fn
        size = len(args[0].type.options)
        return ConditionNode(lambda env: len(fn(env) or ()), ValueType(Kind.NUMBER, minimum=0, maximum=size))
    if not args or any(a.type.kind is not Kind.BOOL for a in args):
        raise ExpressionError("counts the options chosen in one multiple-choice question, "
                              "or how many of several yes/no conditions are true")
    fns = tuple(a.fn for a in args)
    return ConditionNode(lambda env: sum(1 for fn in fns if fn(env)),
                 ValueType(Kind.NUMBER, minimum=0, maximum=len(fns)))


def _fn_age_years(raw, args, compiler) -> ConditionNode:
    if len(args) != 1:
        raise ExpressionError("takes one date question")
    _question_arg(raw[0], args[0], (Kind.DATE,), "a date question")
    fn = args[0].fn

    def age(env):
        born = fn(env)
        if born is None:
            return None
        today = env[TODAY_KEY]
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return ConditionNode(age, NUMBER)


def _fn_days_since(raw, args, compiler) -> ConditionNode:
    if len(args) != 1:
        raise ExpressionError("takes one date question")
    _question_arg(raw[0], args[0], (Kind.DATE,), "a date question")
    fn = args[0].fn

    def days(env):
        then = fn(env)
        return None if then is None else (env[TODAY_KEY] - then).days
    return ConditionNode(days, NUMBER)


def _fn_today(raw, args, compiler) -> ConditionNode:
    if args:
        raise ExpressionError("takes no arguments")
    return ConditionNode(lambda env: env[TODAY_KEY], DATE)


def _fn_min_max(pick):
    def build(raw, args, compiler) -> ConditionNode:
        if len(args) < 2 or any(a.type.kind is not Kind.NUMBER for a in args):
            raise ExpressionError("takes two or more numbers")
        fns = tuple(a.fn for a in args)

        def extreme(env):
            values = [v for v in (fn(env) for fn in fns) if v is not None]
            return pick(values) if values else None
        return ConditionNode(extreme, NUMBER)
    return build


FUNCTIONS: dict[str, Callable] = {
    "answered": _fn_answered,
    "any_of": _fn_any_all(pick_all=False),
    "all_of": _fn_any_all(pick_all=True),
    "count": _fn_count,
    "age_years": _fn_age_years,
    "days_since": _fn_days_since,
    "today": _fn_today,
    "min": _fn_min_max(min),
    "max": _fn_min_max(max),
}
