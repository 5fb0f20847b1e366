"""What the names and values of a condition are: the kinds of value (yes/no, number, choice, ...)
with what each can take, the symbols a module declares, a compiled condition and the nodes it is
built from, and the error a wrong condition raises (spoa.rules.expressions compiles them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

TODAY_KEY = "@today"  # not an identifier, so no module name can collide with it


class Kind(Enum):
    BOOL = "yes/no"
    NUMBER = "number"
    TEXT = "free text"
    DATE = "date"
    CHOICE = "choice"
    MULTI = "multiple choice"
    LIST = "list"


@dataclass(frozen=True)
class ValueType:
    kind: Kind
    options: tuple[str, ...] = ()  # CHOICE and MULTI: the values it can take
    minimum: float | None = None  # NUMBER
    maximum: float | None = None
    owner: str | None = None  # the question or score it belongs to, for messages

    def describe(self) -> str:
        return f"{self.owner} ({self.kind.value})" if self.owner else self.kind.value


BOOL = ValueType(Kind.BOOL)
NUMBER = ValueType(Kind.NUMBER)
DATE = ValueType(Kind.DATE)


@dataclass(frozen=True)
class Symbol:
    """A name a condition may use."""

    name: str
    category: str  # "question", "score", "flag", "context", "value"
    type: ValueType


class ExpressionError(Exception):
    def __init__(self, message: str, column: int | None = None):
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} (at column {column})")


Evaluator = Callable[[Mapping[str, object]], object]


Explainer = Callable[[Mapping[str, object]], tuple[str, ...]]


@dataclass(frozen=True)
class Compiled:
    source: str
    evaluate: Evaluator
    type: ValueType
    names: tuple[str, ...]  # the symbols it reads, in order of first appearance
    explain: Explainer  # the symbols its present result rests on (see ConditionNode.why)

@dataclass(frozen=True)
class ConditionNode:
    fn: Evaluator
    type: ValueType
    const: object = None
    is_const: bool = False
    # Which names the present result rests on. For `a or b` that is the true operand
    # only, for a false `a and b` the false one: the reasons, not everything read.
    why: Explainer | None = None


def constant_node(value, vt: ValueType) -> ConditionNode:
    return ConditionNode(lambda env: value, vt, value, True)
