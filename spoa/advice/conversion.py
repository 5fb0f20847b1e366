"""Converting an advice request into a draft referral, where the requester authorised it: the
services it could go to, and the conversion itself on a decided triage session.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlite_utils import Database

from spoa import desk
from spoa.advice.checks import advice_module, check_role, free_text, merged_answers
from spoa.advice.reading import get_request
from spoa.advice.recording import utc_now_text, write_history
from spoa.advice.request import RECORD_TYPE, AdviceRefused, AdviceRequest, Conversion, ConversionChoices
from spoa.letters import referrals, routing
from spoa.letters.directory import load_services
from spoa.letters.referrals import ReferralRefused, ReferralState
from spoa.model import Route, Urgency
from spoa.roles import Permission
from spoa.rules.module import RuleModule
from spoa.store import records
from spoa.store.records import (
    InvalidField,
    TriageRecord,
    clean_text,
)
from spoa.store.store import Store


def convert(store: Store, request_id: str, service_id: str, *, reason: str = "",
            urgency: Urgency | str | None = None, module: RuleModule | None = None,
            today: date | None = None) -> Conversion:
    """Turn an advice request into a draft referral to ``service_id``, only where the
    requester authorised conversion. The referral rests on a decided triage session:

    - the request's latest session, confirmed when it is complete and recommends the
      service's route (and ``urgency``, if given);
    - otherwise overridden to the service's route, at ``urgency`` (default: the one
      recommended), with ``reason`` (then required), through spoa.desk;
    - without a session, or when the latest was already decided otherwise, a new session
      of the professional_advice module is started from the request's answers first.

    ``reason`` is also the referral's reason. All in one transaction: a service that does
    not take the child leaves nothing changed. The referral is a draft that a supervisor
    approves as usual.
    """
    check_role(store, Permission.DRAFT_REFERRALS, "update", request_id)
    check_role(store, Permission.RUN_TRIAGE, "update", request_id)
    why = free_text(reason, "reason")
    wanted = _urgency(urgency)
    db = store.db
    current = get_request(db, request_id)
    if not current.conversion_authorised:
        raise AdviceRefused(
            f"The requester did not authorise converting advice request {request_id} into a referral, so it "
            "stays a request for advice: give the advice. If the requester now authorises conversion, record "
            f"that first ('spoa advice authorise {request_id} --reason …') and convert again.")
    _not_converted(db, current)
    route = _service_route(db, service_id)
    new_session = False
    with records.transaction(db):
        current = get_request(db, request_id)
        _not_converted(db, current)
        sessions = records.triage_sessions_of(db, current.contact_id)
        session = sessions[-1] if sessions else None
        if session is None or (session.decision is not None and not _fits(session, route, wanted)):
            chosen = advice_module(module)
            earlier = session.answers if session and session.module.id == chosen.id else {}
            answers = merged_answers(chosen, earlier, _fields_of(current), request_wins=True)
            saved = desk.save_triage(store, current.contact_id, chosen, answers)
            session, new_session = records.get_triage_session(db, saved.session_id), True
        if session.decision is not None:
            decision = "already decided"
        elif (session.complete and session.outcome is not None and session.recommended_route is route
              and wanted in (None, session.recommended_urgency)):
            desk.confirm_outcome(store, session.id)
            decision = "confirmed"
        else:
            if not why:
                whose = (f"Request {request_id} had no triage answers; the outcome of what it says"
                         if new_session and not sessions else f"The triage outcome of request {request_id}")
                raise AdviceRefused(
                    f"{whose} {_recommendation(session)}, not a referral to {route.label}{_at(wanted)}: "
                    "converting overrides it, so say why (--reason).")
            final = wanted or (session.recommended_urgency if session.outcome else Urgency.ROUTINE)
            desk.override_outcome(store, session.id, route, final,
                                  f"Advice request {request_id} converted into a referral at the requester's "
                                  f"authorisation: {why}")
            decision = "overridden"
        referral = referrals.create_referral(store, session.id, service_id, reason=why, today=today)
        now = utc_now_text()
        by = store.user.username
        write_history(db, request_id, "referral_id", None, referral.id, by, now,
                 "converted into a referral at the requester's authorisation")
        db.execute("UPDATE advice_requests SET referral_id = ?, converted_by = ?, converted_at = ?, "
                   "updated_at = ? WHERE id = ?", [referral.id, by, now, now, request_id])
        store.audit("update", RECORD_TYPE, request_id)
    return Conversion(get_request(db, request_id), referral, session.id, decision, new_session)


def conversion_choices(store: Store, request_id: str, route: Route | str, urgency: Urgency | str, *,
                       today: date | None = None) -> ConversionChoices:
    """The services of ``route`` that take the request's child at ``urgency`` (for choosing
    the service before ``convert``); nothing is changed."""
    check_role(store, Permission.DRAFT_REFERRALS, "view", request_id)
    wanted = _urgency(urgency) or Urgency.ROUTINE
    try:
        kind = Route(route)
    except ValueError:
        raise InvalidField("route", "must be one of: " + ", ".join(r.value for r in Route)) from None
    db = store.db
    current = get_request(db, request_id)
    child = records.get_child(db, current.child_id)
    age = child.age_on(today or datetime.now(UTC).date())
    where = {"route": kind, "urgency": wanted, "child_age": age, "postcode": child.postcode or None,
             "school": child.school or None}
    matches = tuple(routing.match_services(db, **where))
    message = (f"{len(matches)} service(s) take this referral, best first." if matches
               else routing.explain_no_match(db, **where))
    store.audit("view", RECORD_TYPE, request_id)
    return ConversionChoices(request_id, kind, wanted, age, matches, message)


def _urgency(value: Urgency | str | None) -> Urgency | None:
    if value is None or value == "":
        return None
    try:
        return Urgency(value)
    except ValueError:
        raise InvalidField("urgency", "must be one of: " + ", ".join(u.value for u in Urgency)) from None


def _not_converted(db: Database, current: AdviceRequest) -> None:
    if current.referral_id is None:
        return
    state = referrals.get_referral(db, current.referral_id).state
    if state is not ReferralState.CLOSED:
        raise AdviceRefused(f"Advice request {current.id} is already converted into referral "
                            f"{current.referral_id} ({state.label}); carry on with that one.")
    raise AdviceRefused(f"Advice request {current.id} was converted into referral {current.referral_id}, "
                        "which is closed; record a new request or triage the child again.")


def _service_route(db: Database, service_id: str) -> Route:
    service_id = clean_text(service_id, "service", limit=records.NAME_LIMIT, required=True)
    found = next((s for s in load_services(db) if s.id == service_id), None)
    if found is None:
        raise ReferralRefused(f"There is no service with the id {service_id!r} in the directory; "
                              "'spoa directory list' shows them.")
    return found.kind


def _fits(session: TriageRecord, route: Route, urgency: Urgency | None) -> bool:
    return session.final_route is route and urgency in (None, session.final_urgency)


def _fields_of(request: AdviceRequest) -> dict:
    return {"question": request.question, "context": request.context, "how_soon": request.how_soon,
            "conversion_authorised": request.conversion_authorised}


def _at(urgency: Urgency | None) -> str:
    return f" ({urgency.label.lower()})" if urgency else ""


def _recommendation(session: TriageRecord) -> str:
    if session.outcome is None:
        return "makes no recommendation"
    state = "recommends" if session.complete else "provisionally recommends (the answers are incomplete)"
    return f"{state} {session.recommended_route.label}, {session.recommended_urgency.label.lower()}"
