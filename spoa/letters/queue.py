"""The supervisor's queue: referrals waiting for approval, and referrals sent before review
waiting for a review, each with what the supervisor decides on; and the letter as it will
be sent, built in memory for a preview (never stored, never written to a file).

Reading only: approving, returning and reviewing are spoa.letters.referrals' operations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlite_utils import Database

from spoa.letters import archive, assemble
from spoa.letters.assemble import ModuleLookup
from spoa.letters.content import HubDetails
from spoa.letters.directory import load_services
from spoa.letters.referrals import (
    Referral,
    ReferralState,
    check_allowed,
    get_referral,
    list_referrals,
)
from spoa.letters.wording import Wording
from spoa.model import Route, Urgency
from spoa.roles import Permission, allowed
from spoa.store import records
from spoa.store.store import Store

__all__ = [
    "APPROVAL", "PREVIEW_DOCUMENT_ID", "REVIEW", "QueueEntry", "approval_queue", "preview_referral_letter",
]

APPROVAL = "approval"  # awaiting a supervisor's approval
REVIEW = "review"  # sent before review (emergency, very urgent): waiting for the review
# Printed as the document id of a preview: a letter with this id was never issued.
PREVIEW_DOCUMENT_ID = "PREVIEW - not issued"


@dataclass(frozen=True)
class QueueEntry:
    """One referral in the supervisor's queue, with the decision it carries."""

    referral: Referral
    waiting_for: str  # APPROVAL or REVIEW
    child_name: str
    service_name: str
    submitted_by: str  # display name of who submitted (or sent it before review)
    submitted_at: datetime | None
    decision: str  # "confirmed" or "overridden"
    recommended_route: Route | None
    recommended_urgency: Urgency | None
    rationale: tuple[str, ...]
    override_reason: str

    @property
    def id(self) -> str:
        return self.referral.id

    @property
    def deadline(self) -> datetime | None:
        return self.referral.due()[1]

    @property
    def deadline_clock(self) -> str:
        return self.referral.due()[0]


def _display_names(db: Database) -> dict[str, str]:
    return {row[0]: row[1] for row in db.execute("SELECT username, display_name FROM users")}


def _entry(db: Database, referral: Referral, waiting_for: str, services: dict[str, str],
           names: dict[str, str]) -> QueueEntry:
    session = records.get_triage_session(db, referral.session_id)
    contact = records.get_contact(db, referral.contact_id)
    child = records.get_child(db, contact.child_id)
    step = referral.step(ReferralState.AWAITING_APPROVAL if waiting_for == APPROVAL else ReferralState.SENT)
    return QueueEntry(
        referral=referral, waiting_for=waiting_for, child_name=child.full_name,
        service_name=services.get(referral.service_id or "", referral.service_id or "(no service)"),
        submitted_by=names.get(step.username, step.username) if step else "",
        submitted_at=step.at if step else None, decision=session.decision or "",
        recommended_route=session.recommended_route, recommended_urgency=session.recommended_urgency,
        rationale=assemble.rationale_of(session), override_reason=session.override_reason or "")


def _urgency_first(entry: QueueEntry) -> tuple:
    due = entry.deadline
    return (entry.referral.urgency.rank, due is None, due or datetime.max.replace(tzinfo=UTC), entry.id)


def approval_queue(store: Store) -> list[QueueEntry]:
    """Referrals awaiting approval, then those sent before review waiting for one; each
    part most urgent first, then soonest deadline (role-checked and audited as a view)."""
    awaiting = list_referrals(store, state=ReferralState.AWAITING_APPROVAL)
    unreviewed = list_referrals(store, review_pending=True)
    db = store.db
    services = {service.id: service.name for service in load_services(db)}
    names = _display_names(db)
    queue = sorted((_entry(db, r, APPROVAL, services, names) for r in awaiting), key=_urgency_first)
    queue += sorted((_entry(db, r, REVIEW, services, names) for r in unreviewed), key=_urgency_first)
    return queue


def preview_referral_letter(store: Store, referral_id: str, *, hub: HubDetails | None = None,
                            wording: Wording | None = None, modules: ModuleLookup | None = None) -> bytes:
    """The PDF of the referral's letter as it will be sent, in memory.

    A letter already issued (sent before review, or approved and made) is returned exactly
    as issued. Otherwise the letter is built as approval would issue it, naming the person
    looking as the approver when their role may approve (else it says it is not yet
    approved), with the document id ``PREVIEW - not issued``; nothing is stored."""
    check_allowed(store, Permission.VIEW_RECORDS, "view", "referral", referral_id)
    db = store.db
    issued = next((letter for letter in archive.letters_of_referral(db, referral_id)
                   if letter.kind in archive.REFERRAL_KINDS), None)
    if issued is not None:
        data = archive.letter_pdf(db, issued.id)
        store.audit("view", "letter", issued.id)
        return data
    referral = get_referral(db, referral_id)
    if referral.step(ReferralState.APPROVED) is not None:
        content = assemble.referral_content(db, referral_id, document_id=PREVIEW_DOCUMENT_ID,
                                            modules=modules).content
    else:
        # Assembled as for an early send (the only path that needs no approval step yet),
        # then given the approval it will carry.
        content = assemble.referral_content(db, referral_id, document_id=PREVIEW_DOCUMENT_ID,
                                            before_review=True, modules=modules).content
        user = store.user
        if allowed(user.role, Permission.APPROVE_REFERRALS):
            content = replace(content, sent_before_review=False, approved_by=user.display_name,
                              approved_on=datetime.now(UTC).date())
        else:
            content = replace(content, sent_before_review=False, approved_by="", approved_on=None)
    data = archive.build_pdf(content, hub, wording)
    store.audit("view", "referral", referral_id)
    return data
