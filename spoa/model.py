"""Plain domain types shared by the rule engine, the store, letters and the UI.

Nothing here knows how it is computed or stored; these are the words of the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Route(StrEnum):
    CAMHS = "camhs"
    SCHOOL_NURSING = "school_nursing"
    VOLUNTARY_SECTOR = "voluntary_sector"
    ADVICE = "advice"

    @property
    def label(self) -> str:
        return _ROUTE_LABELS[self]


_ROUTE_LABELS = {
    Route.CAMHS: "CAMHS",
    Route.SCHOOL_NURSING: "School nursing",
    Route.VOLUNTARY_SECTOR: "Voluntary sector",
    Route.ADVICE: "Advice only",
}


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    VERY_URGENT = "very_urgent"
    URGENT = "urgent"
    ROUTINE = "routine"

    @property
    def mhsds_priority(self) -> int:
        """NHS MHSDS CLINICAL RESPONSE PRIORITY TYPE code for this urgency."""
        return _MHSDS_PRIORITY[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def longest_response_hours(self) -> int:
        """The longest respond_within an outcome of this urgency may state.

        Guards against a rule that calls itself urgent but allows a routine wait.
        """
        return _LONGEST_RESPONSE_HOURS[self]

    @property
    def rank(self) -> int:
        """0 for the most urgent; used to sort work lists."""
        return list(Urgency).index(self)


# MHSDS: 1 = Emergency, 4 = Very urgent, 2 = Urgent/serious, 3 = Routine.
_MHSDS_PRIORITY = {
    Urgency.EMERGENCY: 1,
    Urgency.VERY_URGENT: 4,
    Urgency.URGENT: 2,
    Urgency.ROUTINE: 3,
}

_LONGEST_RESPONSE_HOURS = {
    Urgency.EMERGENCY: 4,
    Urgency.VERY_URGENT: 24,
    Urgency.URGENT: 7 * 24,
    Urgency.ROUTINE: 28 * 24,
}


class Thrive(StrEnum):
    """THRIVE needs-led grouping: what kind of help, kept apart from urgency."""

    THRIVING = "thriving"
    GETTING_ADVICE = "getting_advice"
    GETTING_HELP = "getting_help"
    GETTING_MORE_HELP = "getting_more_help"
    GETTING_RISK_SUPPORT = "getting_risk_support"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Severity(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMEDIATE = "immediate"

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return list(Severity).index(self)


class ReferrerType(StrEnum):
    GP = "gp"
    SCHOOL_NURSE = "school_nurse"
    PARENT = "parent"
    SELF = "self"
    POLICE = "police"
    SOCIAL_CARE = "social_care"
    OTHER_PROFESSIONAL = "other_professional"


@dataclass(frozen=True)
class ModuleRef:
    """Which exact rule module a decision was made with."""

    id: str
    version: str
    content_hash: str


@dataclass(frozen=True)
class Evidence:
    """One answer (or derived fact) that a flag or outcome rested on."""

    name: str
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"


@dataclass(frozen=True)
class ScoreResult:
    id: str
    label: str
    value: float | None
    band: str | None

    @property
    def display(self) -> str:
        if self.value is None:
            return "not enough answers"
        number = f"{self.value:g}"
        return f"{number} ({self.band})" if self.band else number


@dataclass(frozen=True)
class RaisedFlag:
    id: str
    label: str
    severity: Severity
    action: str | None
    rested_on: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The recommended route and urgency, with every reason behind it."""

    rule_id: str
    route: Route
    urgency: Urgency
    respond_within_hours: int
    contact_within_hours: int | None
    thrive: Thrive
    because: str
    module: ModuleRef
    complete: bool
    flags: tuple[RaisedFlag, ...] = ()
    scores: tuple[ScoreResult, ...] = ()
    rested_on: tuple[Evidence, ...] = ()

    @property
    def mhsds_priority(self) -> int:
        return self.urgency.mhsds_priority

    @property
    def immediate_actions(self) -> tuple[RaisedFlag, ...]:
        return tuple(f for f in self.flags if f.severity is Severity.IMMEDIATE)

    def rationale(self) -> list[str]:
        """The decision in words: each flag raised, then the rule that chose the outcome."""
        lines: list[str] = []
        if not self.complete:
            lines.append("Provisional: the call is not complete (required answers are missing "
                         "or an answer needs checking).")
        for flag in self.flags:
            line = f"Flag raised — {flag.label} ({flag.severity.value})"
            if flag.rested_on:
                line += ", because " + "; ".join(str(e) for e in flag.rested_on)
            lines.append(line + ".")
            if flag.action:
                lines.append(f"Act now: {flag.action}")
        chosen = (
            f"Outcome rule '{self.rule_id}' chose {self.route.label}, "
            f"{self.urgency.label.lower()} (respond within {self.respond_within_hours} h): "
            f"{self.because.strip()}"
        )
        lines.append(chosen)
        if self.rested_on:
            lines.append("It rested on: " + "; ".join(str(e) for e in self.rested_on) + ".")
        return lines

    def as_dict(self) -> dict:
        return {
            "rule": self.rule_id,
            "route": self.route.value,
            "urgency": self.urgency.value,
            "mhsds_priority": self.mhsds_priority,
            "respond_within_hours": self.respond_within_hours,
            "contact_within_hours": self.contact_within_hours,
            "thrive": self.thrive.value,
            "because": self.because.strip(),
            "complete": self.complete,
            "flags": [
                {
                    "id": f.id,
                    "label": f.label,
                    "severity": f.severity.value,
                    "action": f.action,
                    "rested_on": [_evidence_dict(e) for e in f.rested_on],
                }
                for f in self.flags
            ],
            "scores": [
                {"id": s.id, "label": s.label, "value": s.value, "band": s.band}
                for s in self.scores
            ],
            "rested_on": [_evidence_dict(e) for e in self.rested_on],
            "rationale": self.rationale(),
            "module": {
                "id": self.module.id,
                "version": self.module.version,
                "content_hash": self.module.content_hash,
            },
        }


def _evidence_dict(e: Evidence) -> dict:
    return {"name": e.name, "label": e.label, "value": e.value}


@dataclass(frozen=True)
class SessionContext:
    """What the session knows from outside the module's questions."""

    child_age: int | None = None
    referrer: ReferrerType | None = None
    on_date: date | None = None  # the day the call is made; None means today

    @property
    def today(self) -> date:
        return self.on_date or date.today()
