"""Questions of a rule module: their types, options and checks, and how a typed answer
becomes the stored form of an answer (or an AnswerError saying what the question takes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from spoa.rules.condition_types import Compiled, Kind, ValueType
from spoa.rules.errors import AnswerError

DEFAULT_TEXT_LIMIT = 2000

# The stored answer "not known" to a risk question that offers it (``if_not_known``).
NOT_KNOWN = "not_known"
_NOT_KNOWN_TYPED = {"not_known", "not known", "unknown", "nk", "k"}


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    SINGLE = "single"
    MULTI = "multi"
    NUMBER = "number"
    DATE = "date"
    TEXT = "text"
    SCALE = "scale"


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
    # A risk question may offer "not known"; it then counts as this answer (the riskier one)
    # for flags, scores and the outcome until someone finds out (CLINICAL.md, principle 2).
    if_not_known: object | None = None

    @property
    def offers_not_known(self) -> bool:
        return self.if_not_known is not None

    def counted(self, value: object) -> object:
        """The answer as the rules read it: "not known" counts as ``if_not_known``."""
        return self.if_not_known if value == NOT_KNOWN and self.offers_not_known else value

    def choices(self) -> list[tuple[object, str]]:
        """The answers a person picks from (yes/no and choice questions), "not known" last."""
        if self.type is QuestionType.YES_NO:
            listed: list[tuple[object, str]] = [(True, "Yes"), (False, "No")]
        else:
            listed = [(o.value, o.label) for o in self.options]
        if self.offers_not_known:
            listed.append((NOT_KNOWN, "Not known"))
        return listed

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
        if self.offers_not_known and isinstance(raw, str) and raw.strip().lower() in _NOT_KNOWN_TYPED:
            return NOT_KNOWN
        return _COERCERS[self.type](self, raw)

    def display(self, value: object) -> str:
        """An answer as a person reads it."""
        if value is None:
            return "not answered"
        if value == NOT_KNOWN and self.offers_not_known:
            return "Not known"
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
    raise AnswerError(q.id, "this is a yes/no question; answer yes or no"
                      + (", or not known" if q.offers_not_known else ""))


def _coerce_single(q: Question, raw: object) -> str:
    if isinstance(raw, str) and q.option(raw.strip()) is not None:
        return raw.strip()
    raise AnswerError(q.id, "choose one of: " + ", ".join(o.value for o in q.options)
                      + (", not_known" if q.offers_not_known else ""))


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
