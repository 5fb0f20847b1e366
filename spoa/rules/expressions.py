"""The condition language of rule modules: a small, typed subset of Python expressions.

Conditions such as ``self_harm_recent and not medical_treatment`` or
``count(impact_areas) >= 2`` are parsed with :mod:`ast` and then *compiled into
closures* by walking an allow-list of node types. Nothing is ever passed to ``eval``:
a name can only be a question, score, flag or context value that the module declares;
calls can only be the few functions in ``FUNCTIONS``; attribute access, subscripts,
lambdas, comprehensions and names starting with ``_`` do not exist in the language.

Because every name has a known type (a choice question knows its options, a number
question its range), mistakes are found when the module loads, not during a call:
unknown names, comparing a choice with a value it cannot take, ``age > 30`` on a
question whose maximum is 18, comparing a number with a word.

At run time an unanswered or hidden question is ``None``: every comparison with it is
false, and on its own it counts as false.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from spoa.rules.condition_functions import FUNCTIONS
from spoa.rules.condition_types import (
    BOOL,
    DATE,
    NUMBER,
    Compiled,
    ConditionNode,
    Evaluator,
    ExpressionError,
    Kind,
    Symbol,
    ValueType,
    constant_node,
)

MAX_EXPRESSION_LENGTH = 2000

_CONSTANTS = {"yes": True, "no": False, "true": True, "false": False}

_NOT_ALLOWED = {
    ast.Attribute: "attribute access (a.b) is not part of the condition language",
    ast.Subscript: "indexing (a[...]) is not part of the condition language",
    ast.Lambda: "lambda is not part of the condition language",
    ast.ListComp: "comprehensions are not part of the condition language",
    ast.SetComp: "comprehensions are not part of the condition language",
    ast.DictComp: "comprehensions are not part of the condition language",
    ast.GeneratorExp: "comprehensions are not part of the condition language",
    ast.Dict: "dictionaries are not part of the condition language",
    ast.Set: "sets are not part of the condition language; use a list [..]",
    ast.IfExp: "'x if c else y' is not part of the condition language; write separate rules",
    ast.NamedExpr: "assignment (:=) is not part of the condition language",
    ast.Await: "await is not part of the condition language",
    ast.Yield: "yield is not part of the condition language",
    ast.YieldFrom: "yield is not part of the condition language",
    ast.Starred: "* is not part of the condition language",
    ast.JoinedStr: "f-strings are not part of the condition language",
}


def compile_expression(
    source: object,
    symbols: Mapping[str, Symbol],
    expect: Kind | None = None,
) -> Compiled:
    """Compile ``source`` against the names in ``symbols``; raise ExpressionError if unsafe or wrong."""
    if isinstance(source, bool):
        text = "yes" if source else "no"
    elif isinstance(source, str):
        text = source.strip()
    else:
        raise ExpressionError("a condition must be written as text")
    if not text:
        raise ExpressionError("the condition is empty")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the condition is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(" ".join(text.splitlines()), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot read the condition: {exc.msg}", exc.offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the condition is nested too deeply to read") from None
    compiler = _Compiler(symbols)
    try:
        node = compiler.visit(tree.body)
    except RecursionError:
        raise ExpressionError("the condition is nested too deeply") from None
    if expect is not None and node.type.kind is not expect:
        if expect is Kind.BOOL:
            raise ExpressionError(
                f"this must be a yes/no condition, but it gives a {node.type.kind.value}"
                + _hint_for_non_bool(node.type)
            )
        raise ExpressionError(f"this must give a {expect.value}, not a {node.type.kind.value}")
    evaluate = node.fn
    if node.type.kind is Kind.BOOL:
        raw = node.fn

        def evaluate(env):
            return bool(raw(env))
    why = node.why

    def explain(env):
        return tuple(dict.fromkeys(why(env)))
    return Compiled(text, evaluate, node.type, tuple(compiler.names), explain)


def _hint_for_non_bool(vt: ValueType) -> str:
    if vt.owner and vt.kind is not Kind.BOOL:
        return f"; use answered({vt.owner}) or compare it with a value"
    return ""


class _Compiler:
    def __init__(self, symbols: Mapping[str, Symbol]):
        self.symbols = symbols
        self.names: list[str] = []
        self._read: list[str] = []  # names read inside the node being visited

    def visit(self, node: ast.AST) -> ConditionNode:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            message = _NOT_ALLOWED.get(type(node))
            if message is None:
                message = f"'{type(node).__name__}' is not part of the condition language"
            raise ExpressionError(message, getattr(node, "col_offset", -1) + 1)
        outer, self._read = self._read, []
        try:
            result = method(node)
        finally:
            inner, self._read = self._read, outer
            self._read.extend(inner)
        if result.why is None:
            read = tuple(dict.fromkeys(inner))
            result = replace(result, why=lambda env, _read=read: _read)
        return result

    # -- leaves ---------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> ConditionNode:
        value = node.value
        if isinstance(value, bool):
            return constant_node(value, BOOL)
        if isinstance(value, int | float):
            if isinstance(value, float) and value != value:  # NaN
                raise ExpressionError("not a number", node.col_offset + 1)
            return constant_node(value, ValueType(Kind.NUMBER, minimum=value, maximum=value))
        if isinstance(value, str):
            return constant_node(value, ValueType(Kind.TEXT))
        raise ExpressionError(f"{value!r} is not a value the condition language knows", node.col_offset + 1)

    def visit_Name(self, node: ast.Name) -> ConditionNode:
        name = node.id
        if name.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed ({name})", node.col_offset + 1)
        if name in _CONSTANTS:
            return constant_node(_CONSTANTS[name], BOOL)
        if name in ("True", "False"):
            return constant_node(name == "True", BOOL)
        symbol = self.symbols.get(name)
        if symbol is None:
            raise ExpressionError(_unknown_name(name, self.symbols, FUNCTIONS), node.col_offset + 1)
        if name not in self.names:
            self.names.append(name)
        self._read.append(name)
        # Read the raw value: an unanswered yes/no question is None, not False, so that
        # `q == no` is false until someone has actually answered "no".
        return ConditionNode(lambda env, _n=name: env.get(_n), symbol.type)

    def visit_List(self, node: ast.List | ast.Tuple) -> ConditionNode:
        items = [self.visit(item) for item in node.elts]
        if not items:
            raise ExpressionError("an empty list can never match", node.col_offset + 1)
        if not all(item.is_const for item in items):
            raise ExpressionError("a list may hold only plain values", node.col_offset + 1)
        kinds = {item.type.kind for item in items}
        if len(kinds) > 1:
            raise ExpressionError("a list must hold values of one kind", node.col_offset + 1)
        values = tuple(item.const for item in items)
        return constant_node(values, ValueType(Kind.LIST))

    visit_Tuple = visit_List

    # -- operators -------------------------------------------------------------

    def visit_BoolOp(self, node: ast.BoolOp) -> ConditionNode:
        parts = [self._boolean(v) for v in node.values]
        fns = tuple(p.fn for p in parts)
        if isinstance(node.op, ast.And):
            def both(env, _fns=fns):
                return all(fn(env) for fn in _fns)

            def why_both(env):
                falsifier = next((p for p in parts if not p.fn(env)), None)
                if falsifier is not None:
                    return falsifier.why(env)
                return tuple(name for p in parts for name in p.why(env))
            return ConditionNode(both, BOOL, why=why_both)

        def either(env, _fns=fns):
            return any(fn(env) for fn in _fns)

        def why_either(env):
            witness = next((p for p in parts if p.fn(env)), None)
            if witness is not None:
                return witness.why(env)
            return tuple(name for p in parts for name in p.why(env))
        return ConditionNode(either, BOOL, why=why_either)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ConditionNode:
        if isinstance(node.op, ast.Not):
            operand = self._boolean(node.operand)
            inner = operand.fn
            return ConditionNode(lambda env: not inner(env), BOOL, why=operand.why)
        operand = self.visit(node.operand)
        if operand.type.kind is not Kind.NUMBER:
            raise ExpressionError("a sign can only stand before a number", node.col_offset + 1)
        if isinstance(node.op, ast.USub):
            if operand.is_const:
                return constant_node(-operand.const, ValueType(Kind.NUMBER, minimum=-operand.const,
                                                        maximum=-operand.const))
            fn = operand.fn
            return ConditionNode(lambda env: None if (v := fn(env)) is None else -v, NUMBER)
        if isinstance(node.op, ast.UAdd):
            return operand
        raise ExpressionError("this operator is not part of the condition language", node.col_offset + 1)

    def visit_BinOp(self, node: ast.BinOp) -> ConditionNode:
        ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide}
        op = ops.get(type(node.op))
        if op is None:
            raise ExpressionError(
                "only + - * / are allowed in arithmetic", node.col_offset + 1
            )
        left, right = self.visit(node.left), self.visit(node.right)
        for side in (left, right):
            if side.type.kind is not Kind.NUMBER:
                raise ExpressionError(
                    f"arithmetic needs numbers, but {side.type.describe()} is a {side.type.kind.value}",
                    node.col_offset + 1,
                )
        lf, rf = left.fn, right.fn

        def arithmetic(env):
            a, b = lf(env), rf(env)
            if a is None or b is None:
                return None
            return op(a, b)
        return ConditionNode(arithmetic, NUMBER)

    def visit_Compare(self, node: ast.Compare) -> ConditionNode:
        parts = [self.visit(node.left), *(self.visit(c) for c in node.comparators)]
        checks = []
        for op, left, right in zip(node.ops, parts, parts[1:], strict=False):
            checks.append(self._comparison(op, left, right, node.col_offset + 1))
        if len(checks) == 1:
            return ConditionNode(checks[0], BOOL)
        fns = tuple(checks)
        return ConditionNode(lambda env: all(fn(env) for fn in fns), BOOL)

    def visit_Call(self, node: ast.Call) -> ConditionNode:
        if not isinstance(node.func, ast.Name):
            if type(node.func) in _NOT_ALLOWED:
                self.visit(node.func)  # raises its own, more specific message
            raise ExpressionError("only the listed functions can be called", node.col_offset + 1)
        name = node.func.id
        if name.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed ({name})", node.col_offset + 1)
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise ExpressionError(
                f"there is no function '{name}'; the functions are: {', '.join(sorted(FUNCTIONS))}",
                node.col_offset + 1,
            )
        if node.keywords:
            raise ExpressionError(f"{name}() takes no named arguments", node.col_offset + 1)
        args = [self.visit(a) for a in node.args]
        try:
            return spec(node.args, args, self)
        except ExpressionError as exc:
            if exc.column is None:
                raise ExpressionError(f"{name}(): {exc.message}", node.col_offset + 1) from None
            raise

    # -- helpers ---------------------------------------------------------------

    def _boolean(self, node: ast.AST) -> ConditionNode:
        result = self.visit(node)
        if result.type.kind is not Kind.BOOL:
            raise ExpressionError(
                f"'and', 'or' and 'not' need yes/no values, but {result.type.describe()} "
                f"is a {result.type.kind.value}" + _hint_for_non_bool(result.type),
                getattr(node, "col_offset", 0) + 1,
            )
        return result

    def _comparison(self, op: ast.cmpop, left: ConditionNode, right: ConditionNode, column: int) -> Evaluator:
        if isinstance(op, ast.In | ast.NotIn):
            return self._membership(op, left, right, column)
        if isinstance(op, ast.Is | ast.IsNot):
            raise ExpressionError("use == or != rather than 'is'", column)
        for side in (left, right):
            if side.type.kind is Kind.TEXT and not side.is_const:
                raise ExpressionError(
                    f"{side.type.describe()} is free text, which conditions cannot compare; "
                    f"use answered({side.type.owner})", column)
            if side.type.kind is Kind.MULTI:
                raise ExpressionError(
                    f"{side.type.describe()} can hold several answers; write 'value' in "
                    f"{side.type.owner} or any_of({side.type.owner}, ...)", column)
        if left.is_const and not right.is_const:
            left, right, op = right, left, _FLIPPED[type(op)]()
        left, right = self._coerce_dates(left, right, column)
        lk, rk = left.type.kind, right.type.kind
        ordering = isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE)
        if ordering and not (lk is rk and lk in (Kind.NUMBER, Kind.DATE)):
            raise ExpressionError(
                f"< and > compare numbers or dates, not {left.type.describe()} with "
                f"{right.type.describe()}", column)
        if lk is Kind.CHOICE and right.is_const:
            if not isinstance(right.const, str) or right.const not in left.type.options:
                raise ExpressionError(
                    f"{left.type.owner} can never be {right.const!r}; its options are "
                    f"{', '.join(left.type.options)}", column)
        elif lk is Kind.CHOICE and rk is Kind.CHOICE:
            pass
        elif lk is not rk:
            raise ExpressionError(
                f"cannot compare {left.type.describe()} with {right.type.describe()}", column)
        if lk is Kind.NUMBER and right.is_const:
            _check_reachable(op, left.type, right.const, column)
        compare = _OPERATORS[type(op)]
        lf, rf = left.fn, right.fn

        def comparison(env):
            a = lf(env)
            if a is None:
                return False
            b = rf(env)
            if b is None:
                return False
            return compare(a, b)
        return comparison

    def _membership(self, op, left: ConditionNode, right: ConditionNode, column: int) -> Evaluator:
        negate = isinstance(op, ast.NotIn)
        if right.type.kind is Kind.MULTI:
            if not (left.is_const and isinstance(left.const, str)):
                raise ExpressionError(
                    f"write the option in quotes: 'value' in {right.type.owner}", column)
            if left.const not in right.type.options:
                raise ExpressionError(
                    f"{left.const!r} is not an option of {right.type.owner}; its options are "
                    f"{', '.join(right.type.options)}", column)
            value, rf = left.const, right.fn

            def chosen(env):
                selected = rf(env)
                if selected is None:
                    return False
                return (value in selected) != negate
            return chosen
        if right.type.kind is Kind.LIST:
            lk = left.type.kind
            values = right.const
            if lk is Kind.CHOICE:
                for v in values:
                    if not isinstance(v, str) or v not in left.type.options:
                        raise ExpressionError(
                            f"{left.type.owner} can never be {v!r}; its options are "
                            f"{', '.join(left.type.options)}", column)
            elif lk is Kind.NUMBER:
                if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                    raise ExpressionError(f"{left.type.describe()} is a number; list numbers", column)
            else:
                raise ExpressionError(
                    f"'in' works with a choice or a number, not {left.type.describe()}", column)
            members = frozenset(values)
            lf = left.fn

            def listed(env):
                v = lf(env)
                if v is None:
                    return False
                return (v in members) != negate
            return listed
        raise ExpressionError(
            "'in' needs a multiple-choice question or a list [..] on its right", column)

    def _coerce_dates(self, left: ConditionNode, right: ConditionNode,
                      column: int) -> tuple[ConditionNode, ConditionNode]:
        if left.type.kind is Kind.DATE and right.is_const and isinstance(right.const, str):
            try:
                day = date.fromisoformat(right.const)
            except ValueError:
                raise ExpressionError(
                    f"{right.const!r} is not a date; write dates as 'YYYY-MM-DD'", column) from None
            return left, constant_node(day, DATE)
        return left, right


def _divide(a, b):
    return None if b == 0 else a / b


_OPERATORS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

_FLIPPED = {
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
}


def _check_reachable(op: ast.cmpop, vt: ValueType, value, column: int) -> None:
    """Refuse a comparison a number question can never satisfy (e.g. age > 30 when max is 18)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    low, high = vt.minimum, vt.maximum
    never = False
    if isinstance(op, ast.Eq):
        never = (low is not None and value < low) or (high is not None and value > high)
    elif isinstance(op, ast.Gt):
        never = high is not None and value >= high
    elif isinstance(op, ast.GtE):
        never = high is not None and value > high
    elif isinstance(op, ast.Lt):
        never = low is not None and value <= low
    elif isinstance(op, ast.LtE):
        never = low is not None and value < low
    if never and vt.owner:
        raise ExpressionError(
            f"this can never be true: {vt.owner} is between {_num(low)} and {_num(high)}", column)


def _num(value) -> str:
    return "any value" if value is None else f"{value:g}"


def _unknown_name(name: str, symbols: Mapping[str, Symbol], functions: Mapping) -> str:
    close = difflib.get_close_matches(name, list(symbols), n=1, cutoff=0.75)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    if name in functions:
        return f"'{name}' is a function; call it as {name}(...)"
    return f"unknown name '{name}': no question, score or flag has this id{hint}"
