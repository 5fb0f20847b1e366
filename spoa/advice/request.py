"""What an advice request is: who may ask, how soon they need the advice, the states a request
passes through, the request as stored and the results the advice operations return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spoa import desk
from spoa.letters import routing
from spoa.letters.archive import IssuedLetter
from spoa.letters.referrals import Referral
from spoa.model import ReferrerType, Route, Urgency
from spoa.store.records import (
    Child,
    Contact,
    HistoryEntry,
    RecordError,
    TriageRecord,
)

ADVICE_MODULE_ID = "professional_advice"
RECORD_TYPE = "advice_request"
# How soon the requester needs the advice: the professional_advice module's choices.
HOW_SOON = {"today": "today", "within_week": "within a week", "routine": "routine, no particular deadline"}
REQUESTER_TYPES = (ReferrerType.GP, ReferrerType.SCHOOL_NURSE, ReferrerType.OTHER_PROFESSIONAL)


class AdviceRefused(RecordError):
    """What was asked of an advice request is not possible; the message says why and what to do."""


class AdviceState:
    AWAITING_RESPONSE = "awaiting response"
    ANSWERED = "answered"  # advice recorded, letter not yet made
    LETTER_ISSUED = "advice letter issued"
    CONVERTED = "converted into a referral"
    CLOSED = "closed"  # the contact was closed


@dataclass
class AdviceDraft:
    """A request as the requester put it, before it is checked. ``how_soon`` and
    ``conversion_authorised`` left as None take the module answers' values (else routine, no)."""

    question: str = ""
    context: str = ""
    tried: str = ""
    how_soon: str | None = None
    conversion_authorised: bool | str | None = None


@dataclass(frozen=True)
class AdviceRequest:
    id: str
    contact_id: str
    child_id: str
    child_name: str
    requester_type: ReferrerType
    requester_name: str
    requester_organisation: str
    question: str
    context: str
    tried: str
    how_soon: str
    conversion_authorised: bool
    response: str | None
    responded_by: str | None
    responded_at: datetime | None
    referral_id: str | None
    converted_by: str | None
    converted_at: datetime | None
    respond_by: datetime | None  # the contact's reply deadline
    contact_status: str
    letter_id: str | None  # the advice letter, once made
    created_at: datetime
    created_by: str
    updated_at: datetime

    @property
    def state(self) -> str:
        if self.referral_id:
            return AdviceState.CONVERTED
        if self.contact_status == "closed":
            return AdviceState.CLOSED
        if self.letter_id:
            return AdviceState.LETTER_ISSUED
        if self.response:
            return AdviceState.ANSWERED
        return AdviceState.AWAITING_RESPONSE

    @property
    def open(self) -> bool:
        """Still needs work at the desk: advice to give, or its letter to make."""
        return self.state in (AdviceState.AWAITING_RESPONSE, AdviceState.ANSWERED)

    @property
    def awaiting_response(self) -> bool:
        return self.state == AdviceState.AWAITING_RESPONSE

    @property
    def how_soon_label(self) -> str:
        return HOW_SOON.get(self.how_soon, self.how_soon)


@dataclass(frozen=True)
class AdviceRecorded:
    request: AdviceRequest
    added: desk.ContactAdded | None  # when the request came with a new contact
    triage: desk.TriageSaved | None  # when module answers were given


@dataclass(frozen=True)
class AdviceView:
    request: AdviceRequest
    contact: Contact
    child: Child
    sessions: tuple[TriageRecord, ...]
    letters: tuple[IssuedLetter, ...]
    history: tuple[HistoryEntry, ...]  # of the request, oldest first


@dataclass(frozen=True)
class Conversion:
    request: AdviceRequest
    referral: Referral
    session_id: str
    decision: str  # "confirmed", "overridden", or "already decided"
    new_session: bool  # a session was started for the conversion


@dataclass(frozen=True)
class AdviceLetter:
    letter: IssuedLetter
    pdf: bytes  # exactly as issued


@dataclass(frozen=True)
class ConversionChoices:
    """The services a request could be converted into a referral to, best first, and what to
    say when there are none (spoa.letters.routing, as for a decided triage session)."""

    request_id: str
    route: Route
    urgency: Urgency
    child_age: int | None
    matches: tuple[routing.ServiceMatch, ...]
    message: str
