"""Rule modules: the parsed, checked form of a module folder's ``module.yaml``.

A :class:`RuleModule` holds its sections of questions (:mod:`spoa.rules.questions`), scores,
flags and outcome rules, the clinical sign-off and the content hash. It is read and checked by
:func:`spoa.rules.loading.load_module`: either a complete module whose every condition has been
compiled and type-checked, or a :class:`ModuleError` listing every problem with its file, line
and field. There is no half-loaded module.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from spoa.model import ReferrerType, Route, Severity, Thrive, Urgency
from spoa.rules.condition_types import Compiled
from spoa.rules.questions import Question


class SignOffStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


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


def content_hash(data: object) -> str:
    """sha256 of the module's canonical content: same meaning, same hash, whatever the layout."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=_canonical_default)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


__all__ = [
    "Band",
    "Flag",
    "OutcomeRule",
    "RuleModule",
    "Score",
    "Section",
    "SignOff",
    "SignOffStatus",
    "content_hash",
]
