"""What a letter says, as plain data: the one thing the PDF templates and the referral
workflow agree on.

The workflow (spoa.letters.referrals) fills a :class:`LetterContent` from the records;
the templates (spoa.letters.pdf and the modules it uses) turn it into PDF bytes. Neither knows how the other
works. Every string here is exactly what was typed: escaping is the template's job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum

from spoa.model import ModuleRef, Route, Severity, Urgency


class LetterKind(StrEnum):
    REFERRAL_CAMHS = "referral_camhs"
    REFERRAL_SCHOOL_NURSING = "referral_school_nursing"
    REFERRAL_VOLUNTARY_SECTOR = "referral_voluntary_sector"
    ADVICE_RESPONSE = "advice_response"
    OUTCOME_TO_REFERRER = "outcome_to_referrer"
    NOT_ACCEPTED = "not_accepted"

    @classmethod
    def referral_for(cls, route: Route) -> LetterKind:
        return {
            Route.CAMHS: cls.REFERRAL_CAMHS,
            Route.SCHOOL_NURSING: cls.REFERRAL_SCHOOL_NURSING,
            Route.VOLUNTARY_SECTOR: cls.REFERRAL_VOLUNTARY_SECTOR,
        }[route]


class Section(StrEnum):
    """Parts of a letter the practitioner may leave out (minimum necessary).

    The urgency, risk flags, safeguarding, rationale, override and consent are never
    optional: they are the decision itself.
    """

    CHILD_ADDRESS = "child_address"
    SCHOOL_AND_GP = "school_and_gp"
    CARERS = "carers"
    ANSWERS = "answers"
    REFERRER_CONTACT = "referrer_contact"


@dataclass(frozen=True)
class HubDetails:
    name: str
    address: str
    phone: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class Recipient:
    name: str  # the service or person
    team: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Carer:
    name: str
    relationship: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ChildIdentifiers:
    given_name: str
    family_name: str
    date_of_birth: date | None = None
    nhs_number: str = ""  # ten digits, or empty
    address: str = ""
    postcode: str = ""
    school: str = ""
    gp_practice: str = ""
    carers: tuple[Carer, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class ReferrerDetails:
    kind: str  # e.g. "GP", "School nurse"
    name: str = ""
    organisation: str = ""
    contact: str = ""


@dataclass(frozen=True)
class FlagLine:
    label: str
    severity: Severity
    action: str | None = None
    because: tuple[str, ...] = ()  # "Question: answer" lines it rested on
    safeguarding: bool = False


@dataclass(frozen=True)
class AnswerLine:
    section: str
    question: str
    answer: str


@dataclass(frozen=True)
class Override:
    recommended_route: Route
    recommended_urgency: Urgency
    reason: str


@dataclass(frozen=True)
class LetterContent:
    kind: LetterKind
    document_id: str
    issued_on: date
    recipient: Recipient
    child: ChildIdentifiers
    referrer: ReferrerDetails
    reason: str  # why the child is referred / what was asked, in the practitioner's words
    route: Route
    urgency: Urgency
    respond_within_hours: int
    respond_by: datetime | None
    module: ModuleRef
    flags: tuple[FlagLine, ...] = ()
    answers: tuple[AnswerLine, ...] = ()
    rationale: tuple[str, ...] = ()
    override: Override | None = None
    consent: str = ""
    approved_by: str = ""
    approved_on: date | None = None
    sent_before_review: bool = False
    advice_question: str = ""  # advice response: what the requester asked
    advice_given: str = ""  # advice response: the specialist's answer
    not_accepted_reasons: tuple[str, ...] = ()
    # An emergency or very urgent call decided at once: the required questions not yet asked then.
    not_yet_asked: tuple[str, ...] = ()
    signposting: tuple[str, ...] = ()
    omitted: frozenset[Section] = field(default_factory=frozenset)

    @property
    def mhsds_priority(self) -> int:
        return self.urgency.mhsds_priority

    @property
    def safeguarding(self) -> bool:
        return any(flag.safeguarding for flag in self.flags)

    def includes(self, section: Section) -> bool:
        return section not in self.omitted

    def content_hash(self) -> str:
        """sha256 of the canonical content: printed in the footer, so a printed letter can
        be matched to the decision it carries."""
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"), default=_canonical)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(type(value).__name__)
