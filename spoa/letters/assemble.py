"""What each letter says, read from the records: a :class:`LetterContent` for the templates.

Pure reading: no role checks and no audit (the operations in spoa.letters.archive and
spoa.letters.outbox do those), and no PDF. Answers are grouped by the sections of the
exact rule module the session used, found by id and checked by its content hash; when
that module is not on this desk (or has changed), the answers are listed by question id
and the letter says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlite_utils import Database

from spoa.letters.content import (
    AnswerLine,
    Carer,
    ChildIdentifiers,
    FlagLine,
    LetterContent,
    LetterKind,
    Override,
    Recipient,
    ReferrerDetails,
    Section,
)
from spoa.letters.referrals import (
    REVIEWED,
    Referral,
    ReferralRefused,
    ReferralState,
    deadlines_of,
    get_referral,
)
from spoa.model import ModuleRef, ReferrerType, Route, SessionContext, Severity, Urgency
from spoa.rules.errors import AnswerError, AnswersRejected
from spoa.rules.module import RuleModule
from spoa.rules.session import TriageSession
from spoa.store import records
from spoa.store.records import Child, Contact, RecordNotFound, TriageRecord

__all__ = [
    "Assembled", "ModuleLookup", "advice_content", "answer_lines", "not_accepted_content",
    "outcome_content", "referral_content",
]

ModuleLookup = Callable[[str], "RuleModule | None"]

REFERRER_LABELS = {
    ReferrerType.GP: "GP",
    ReferrerType.SCHOOL_NURSE: "School nurse",
    ReferrerType.PARENT: "Parent or carer",
    ReferrerType.SELF: "Self-referral",
    ReferrerType.POLICE: "Police",
    ReferrerType.SOCIAL_CARE: "Social care",
    ReferrerType.OTHER_PROFESSIONAL: "Other professional",
}
# Flags that make a letter carry a safeguarding section, by words in their id or label.
SAFEGUARDING_WORDS = ("safeguard", "child protection", "child_protection", "looked after", "looked_after")


@dataclass(frozen=True)
class Assembled:
    content: LetterContent
    notes: tuple[str, ...] = ()  # what the practitioner should know, e.g. answers not grouped


# -- the rule module a session used ------------------------------------------------------------

_modules: dict[tuple[str, str], RuleModule] = {}


def _installed_module(module_id: str) -> RuleModule | None:
    from spoa.rules.catalog import discover

    return discover().get(module_id)


def _module_for(ref: ModuleRef, lookup: ModuleLookup | None) -> tuple[RuleModule | None, str | None]:
    """The module a session used, or None and the reason it cannot be used."""
    cached = _modules.get((ref.id, ref.content_hash))
    if cached is not None and lookup is None:
        return cached, None
    module = (lookup or _installed_module)(ref.id)
    if module is None:
        return None, (f"The rule module '{ref.id}' ({ref.version}) is not installed on this desk, so the "
                      "answers are listed by question id.")
    if module.content_hash != ref.content_hash:
        return None, (f"The rule module '{ref.id}' on this desk (version {module.version}) is not the one "
                      f"this call used ({ref.version}, sha256 {ref.content_hash[:12]}…), so the answers "
                      "are listed by question id.")
    if lookup is None:
        _modules[(ref.id, ref.content_hash)] = module
    return module, None


def answer_lines(session: TriageRecord, contact: Contact, child: Child, *,
                 modules: ModuleLookup | None = None) -> tuple[tuple[AnswerLine, ...], str | None]:
    """The answers given, grouped by the module's sections in its order, hidden and empty
    ones left out; or, without the module, by question id with a note saying why."""
    module, note = _module_for(session.module, modules)
    if module is not None:
        day = contact.received_at.date()
        context = SessionContext(child_age=child.age_on(day), referrer=contact.referrer_type, on_date=day)
        try:
            replay = TriageSession(module, context)
            replay.answer_many(session.answers)
        except (AnswersRejected, AnswerError):
            module, note = None, (f"The stored answers no longer fit the rule module '{module.id}', so "
                                  "they are listed by question id.")
    if module is None:
        lines = tuple(
            AnswerLine("Answers by question id", question_id, _plain(value))
            for question_id, value in sorted(session.answers.items()) if not _empty(value))
        return lines, note
    lines = []
    for section in module.sections:
        for question in section.questions:
            if not replay.is_visible(question.id):
                continue
            value = replay.answers.get(question.id)
            if _empty(value):
                continue
            lines.append(AnswerLine(section.title, question.text, question.display(value)))
    return tuple(lines), None


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple) and not value)


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- pieces --------------------------------------------------------------------------------------

def child_identifiers(child: Child) -> ChildIdentifiers:
    return ChildIdentifiers(
        given_name=child.given_name, family_name=child.family_name, date_of_birth=child.date_of_birth,
        nhs_number=child.nhs_number or "", address=child.address, postcode=child.postcode,
        school=child.school, gp_practice=child.gp_practice,
        carers=tuple(Carer(c.name, c.relationship, c.phone) for c in child.carers))


def referrer_details(contact: Contact) -> ReferrerDetails:
    return ReferrerDetails(kind=REFERRER_LABELS.get(contact.referrer_type, contact.referrer_type.value),
                           name=contact.referrer_name, organisation=contact.referrer_organisation,
                           contact=contact.referrer_contact)


def referrer_recipient(contact: Contact) -> Recipient:
    name = contact.referrer_name or REFERRER_LABELS.get(contact.referrer_type, "The referrer")
    return Recipient(name=name, team=contact.referrer_organisation, address=contact.referrer_contact)


def consent_text(consent: Mapping) -> str:
    """The consent record as a sentence or two: its status first, then the other entries."""
    if not consent:
        return "Consent was not recorded."
    parts = []
    status = consent.get("status")
    if status not in (None, ""):
        parts.append(f"Consent: {_plain(status)}.")
    for key, value in consent.items():
        if key == "status" or _empty(value):
            continue
        parts.append(f"{key.replace('_', ' ').capitalize()}: {_consent_value(value)}.")
    return " ".join(parts) or "Consent was not recorded."


def _consent_value(value: object) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k.replace('_', ' ')}: {_consent_value(v)}" for k, v in value.items())
    return _plain(value)


def flag_lines(outcome: Mapping | None) -> tuple[FlagLine, ...]:
    """Every flag raised, most severe first, with the answers it rested on."""
    flags = []
    for flag in (outcome or {}).get("flags", []):
        words = f"{flag.get('id', '')} {flag.get('label', '')}".casefold()
        flags.append(FlagLine(
            label=flag["label"], severity=Severity(flag["severity"]), action=flag.get("action"),
            because=tuple(f"{e['label']}: {e['value']}" for e in flag.get("rested_on", [])),
            safeguarding=any(word in words for word in SAFEGUARDING_WORDS)))
    flags.sort(key=lambda f: -f.severity.rank)
    return tuple(flags)


def override_of(session: TriageRecord) -> Override | None:
    if session.decision != records.OVERRIDDEN or session.outcome is None:
        return None
    return Override(session.recommended_route, session.recommended_urgency, session.override_reason or "")


def rationale_of(session: TriageRecord) -> tuple[str, ...]:
    if session.outcome is None:
        reason = session.override_reason or "not recorded"
        return (f"The rule module made no recommendation; the practitioner decided ({reason}).",)
    lines = tuple(session.outcome.get("rationale", []))
    if session.decision is not None:
        # Decided: the recommendation is no longer provisional; a call decided before it was
        # complete says so in its own paragraph, with the questions not yet asked.
        lines = tuple(line for line in lines if not line.startswith("Provisional:"))
    return lines


def _display_name(db: Database, username: str) -> str:
    row = db.execute("SELECT display_name FROM users WHERE username = ?", [username]).fetchone()
    return row[0] if row else username


def _service_recipient(db: Database, service_id: str | None) -> Recipient:
    row = db.execute("SELECT name, team, address, secure_email, phone FROM services WHERE id = ?",
                     [service_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"The service {service_id!r} of this referral is no longer in the directory.")
    return Recipient(name=row[0], team=row[1], address=row[2], email=row[3], phone=row[4])


def _today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class _Records:
    session: TriageRecord
    contact: Contact
    child: Child


def _records_of(db: Database, session_id: str) -> _Records:
    session = records.get_triage_session(db, session_id)
    contact = records.get_contact(db, session.contact_id)
    return _Records(session, contact, records.get_child(db, contact.child_id))


def _decision_content(db: Database, kind: LetterKind, document_id: str, issued_on: date | None,
                      recipient: Recipient, found: _Records, reason: str, omitted: Iterable[Section],
                      modules: ModuleLookup | None, **extra) -> Assembled:
    """The parts every letter about a decided triage session shares."""
    session, contact, child = found.session, found.contact, found.child
    respond_hours, _, seen_by = deadlines_of(contact, session)
    answers, note = answer_lines(session, contact, child, modules=modules)
    content = LetterContent(
        kind=kind, document_id=document_id, issued_on=issued_on or _today(), recipient=recipient,
        child=child_identifiers(child), referrer=referrer_details(contact), reason=reason,
        route=session.final_route, urgency=session.final_urgency, respond_within_hours=respond_hours,
        respond_by=seen_by, module=session.module, flags=flag_lines(session.outcome), answers=answers,
        rationale=rationale_of(session), override=override_of(session),
        consent=consent_text(contact.consent), omitted=frozenset(omitted),
        not_yet_asked=tuple((session.outcome or {}).get("not_yet_asked") or ()), **extra)
    return Assembled(content, (note,) if note else ())


def _referral_reason(referral: Referral, session: TriageRecord) -> str:
    if referral.reason:
        return referral.reason
    if session.outcome and session.outcome.get("because"):
        return session.outcome["because"]
    return session.override_reason or ""


def _approval(db: Database, referral: Referral) -> dict:
    """Who approved the letter and when; none yet for a letter sent before review."""
    approved = referral.step(ReferralState.APPROVED)
    if approved is not None:
        return {"approved_by": _display_name(db, approved.username), "approved_on": approved.at.date()}
    reviewed = referral.step(REVIEWED)
    if reviewed is not None:
        return {"approved_by": _display_name(db, reviewed.username), "approved_on": reviewed.at.date(),
                "sent_before_review": True}
    return {"sent_before_review": True}


# -- the letters -----------------------------------------------------------------------------------

def referral_content(db: Database, referral_id: str, *, document_id: str, issued_on: date | None = None,
                     before_review: bool = False, modules: ModuleLookup | None = None) -> Assembled:
    """The referral letter to the service. ``before_review``: the letter leaves before a
    supervisor has approved it (emergency or very urgent), and says so."""
    referral = get_referral(db, referral_id)
    approved = referral.step(ReferralState.APPROVED) is not None or referral.sent_before_review
    if not before_review and not approved:
        raise ReferralRefused(f"Referral {referral_id} has not been approved by a supervisor, so its letter "
                              "cannot be made yet.")
    found = _records_of(db, referral.session_id)
    approval = {"sent_before_review": True} if before_review else _approval(db, referral)
    return _decision_content(
        db, LetterKind.referral_for(referral.route), document_id, issued_on,
        _service_recipient(db, referral.service_id), found, _referral_reason(referral, found.session),
        referral.omitted, modules, **approval)


def outcome_content(db: Database, referral_id: str, *, document_id: str, issued_on: date | None = None,
                    modules: ModuleLookup | None = None) -> Assembled:
    """The letter to the referrer: we have referred the child to this service, because …"""
    referral = get_referral(db, referral_id)
    if referral.state not in (ReferralState.SENT, ReferralState.CLOSED):
        raise ReferralRefused(f"Referral {referral_id} is {referral.state.label}: tell the referrer once "
                              "the referral has been sent.")
    found = _records_of(db, referral.session_id)
    service = _service_recipient(db, referral.service_id)
    referred_to = service.name + (f" ({service.team})" if service.team else "")
    reason = _referral_reason(referral, found.session).strip()
    if reason and not reason.endswith((".", "!", "?")):
        reason += "."
    reason = f"{reason} The referral has gone to {referred_to}."
    return _decision_content(
        db, LetterKind.OUTCOME_TO_REFERRER, document_id, issued_on, referrer_recipient(found.contact),
        found, reason.strip(), referral.omitted, modules, **_approval(db, referral))


def not_accepted_content(db: Database, session_id: str, *, reasons: Iterable[str],
                         signposting: Iterable[str] = (), document_id: str,
                         issued_on: date | None = None, approved_by: str = "",
                         omit: Iterable[Section] = (), modules: ModuleLookup | None = None) -> Assembled:
    """The letter to the referrer when the hub does not accept the referral: the reasons,
    and where else the child and family can get help."""
    found = _records_of(db, session_id)
    if found.session.decision is None:
        raise ReferralRefused(f"The outcome of session {session_id} has not been confirmed or overridden "
                              "yet; decide it first.")
    why = tuple(r.strip() for r in reasons if r and r.strip())
    if not why:
        raise records.InvalidField("reasons", "say why the referral is not accepted (at least one reason)")
    where = tuple(s.strip() for s in signposting if s and s.strip())
    approver = {"approved_by": _display_name(db, approved_by), "approved_on": _today()} if approved_by else {}
    return _decision_content(
        db, LetterKind.NOT_ACCEPTED, document_id, issued_on, referrer_recipient(found.contact), found,
        " ".join(why), omit, modules, not_accepted_reasons=why, signposting=where, **approver)


_HOW_SOON = {"today": "needed today", "within_week": "needed within a week",
             "routine": "routine"}


def advice_content(db: Database, advice_request_id: str, *, document_id: str,
                   issued_on: date | None = None, omit: Iterable[Section] = (),
                   modules: ModuleLookup | None = None) -> Assembled:
    """The specialist's answer to the GP's or school nurse's question."""
    row = db.execute("SELECT contact_id, question, context, response, responded_by, responded_at, "
                     "tried, how_soon FROM advice_requests WHERE id = ?", [advice_request_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no advice request with the id {advice_request_id!r}.")
    contact_id, question, context, response, responded_by, responded_at, tried, how_soon = row
    if not (response or "").strip():
        raise ReferralRefused(f"Advice request {advice_request_id} has no response yet; record the "
                              "advice before making the letter.")
    contact = records.get_contact(db, contact_id)
    child = records.get_child(db, contact.child_id)
    sessions = [s for s in records.triage_sessions_of(db, contact_id) if s.outcome is not None]
    asked = "\n\n".join(part for part in (
        question,
        f"Context: {context}" if context else "",
        f"Already tried: {tried}" if tried else "",
    ) if part)
    reason = "Request for specialist advice" + (f" ({_HOW_SOON.get(how_soon, how_soon)})" if how_soon else "")
    approval = {}
    if responded_by:
        approval = {"approved_by": _display_name(db, responded_by),
                    "approved_on": datetime.fromisoformat(responded_at).date() if responded_at else None}
    common = {"kind": LetterKind.ADVICE_RESPONSE, "document_id": document_id,
              "issued_on": issued_on or _today(), "recipient": referrer_recipient(contact),
              "child": child_identifiers(child), "referrer": referrer_details(contact), "reason": reason,
              "consent": consent_text(contact.consent), "advice_question": asked, "advice_given": response,
              "omitted": frozenset(omit), **approval}
    if not sessions:
        urgent = how_soon == "today"
        hours = 24 if urgent else 120
        return Assembled(LetterContent(
            route=Route.ADVICE, urgency=Urgency.URGENT if urgent else Urgency.ROUTINE,
            respond_within_hours=hours,
            respond_by=records.deadlines(contact.received_at, contact_within_hours=None,
                                         respond_within_hours=hours)[1],
            module=ModuleRef("", "", ""), **common))
    session = sessions[-1]
    urgency = session.final_urgency or session.recommended_urgency
    hours = int(session.outcome.get("respond_within_hours") or urgency.longest_response_hours)
    answers, note = answer_lines(session, contact, child, modules=modules)
    return Assembled(LetterContent(
        route=session.final_route or session.recommended_route, urgency=urgency, respond_within_hours=hours,
        respond_by=records.deadlines(contact.received_at, contact_within_hours=None,
                                     respond_within_hours=hours)[1],
        module=session.module, flags=flag_lines(session.outcome), answers=answers,
        rationale=rationale_of(session), override=override_of(session), **common),
        (note,) if note else ())

