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
        return _BANDS[self].mhsds_priority

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def longest_response_hours(self) -> int:
        """The longest respond_within an outcome of this urgency may state: the published
        time the word promises (URGENCY_BANDS). A module's loader refuses a rule that calls
        itself urgent but allows a longer wait."""
        return _BANDS[self].respond_within_hours

    @property
    def band(self) -> UrgencyBand:
        return _BANDS[self]

    def in_words(self, hours: int | None = None) -> str:
        """The band as a receiving team reads it: 'very urgent: seen within 4 hours'. With
        ``hours`` shorter than the band's ceiling, that time is said instead."""
        band = _BANDS[self]
        within = hours_in_words(hours if hours is not None else band.respond_within_hours)
        return f"{band.word}: {band.verb} within {within}"

    @property
    def rank(self) -> int:
        """0 for the most urgent; used to sort work lists."""
        return list(Urgency).index(self)


# MHSDS CLINICAL RESPONSE PRIORITY TYPE: 1 = Emergency, 4 = Very urgent, 2 = Urgent/serious, 3 = Routine.

@dataclass(frozen=True)
class UrgencyBand:
    """What an urgency word promises, from the published standards: the UK Mental Health
    Triage Scale's codes (A emergency, B very urgent within 4 hours, C urgent within 24 hours,
    E routine), NHS England's children and young people's standards (very urgent 4 hours,
    urgent 24 hours, routine 4 weeks) and the MHSDS clinical response priority codes.

    ``respond_within_hours`` is the ceiling: an outcome of this band may promise a shorter
    time, never a longer one (the loader refuses the module)."""

    urgency: Urgency
    word: str  # as a sentence starts it in a letter: "very urgent"
    verb: str  # what happens by then: "seen", "act now, respond"
    respond_within_hours: int
    scale_codes: str  # the triage scale codes this band covers
    mhsds_priority: int
    # The "contact by" clock when a practitioner sets this band themselves (an override):
    # the two-clock examples in REFERENCE.md (contact within 1 hour, seen within 4; 6 and 24).
    contact_within_hours: int


_BANDS = {
    Urgency.EMERGENCY: UrgencyBand(Urgency.EMERGENCY, "emergency", "act now, respond", 1, "A", 1, 1),
    Urgency.VERY_URGENT: UrgencyBand(Urgency.VERY_URGENT, "very urgent", "seen", 4, "B", 4, 1),
    Urgency.URGENT: UrgencyBand(Urgency.URGENT, "urgent", "seen", 24, "C (D where the scale names "
                                "a 72-hour code)", 2, 6),
    Urgency.ROUTINE: UrgencyBand(Urgency.ROUTINE, "routine", "seen", 28 * 24, "E, F, G", 3, 5 * 24),
}
URGENCY_BANDS: tuple[UrgencyBand, ...] = tuple(_BANDS.values())

# The one exception the standards allow: a module whose scale names a 72-hour code (the
# scale's D, "within 72 hours") may call that code urgent and promise up to 72 hours.
URGENT_72_HOUR_CEILING = 72


# An emergency or very urgent call may be decided (and its letter sent) before every question
# is asked: the emergency path is the fastest path. The questions not yet asked are named in
# the record and the letter, and can be answered afterwards.
DECIDE_BEFORE_COMPLETE = frozenset({Urgency.EMERGENCY, Urgency.VERY_URGENT})


def hours_in_words(hours: int) -> str:
    """A response time as a clinician says it: '1 hour', '4 hours', '3 days', '4 weeks'."""
    if hours < 48 or hours % 24:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = hours // 24
    if days % 7 == 0:
        weeks = days // 7
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    return f"{days} days"


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
    not_yet_asked: tuple[str, ...] = ()  # the required questions still unanswered, as asked

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
            f"{self.urgency.in_words(self.respond_within_hours)}. {self.because.strip()}"
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
            "not_yet_asked": list(self.not_yet_asked),
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
