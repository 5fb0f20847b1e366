"""Stored triage sessions: the module used, the answers, the outcome and the practitioner's
decision (confirmed or overridden), each change with history.

Nothing here knows of rules: an outcome arrives as the dict ``Outcome.as_dict()`` makes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from spoa.model import DECIDE_BEFORE_COMPLETE, ModuleRef, Route, Urgency
from spoa.store.changes import history_value, new_id, transaction, utc_now_text, write_history
from spoa.store.fields import (
    FREE_TEXT_LIMIT,
    NAME_LIMIT,
    DecisionRefused,
    InvalidField,
    RecordNotFound,
    clean_json,
    clean_reason,
    clean_text,
    stored_instant,
)

CONFIRMED, OVERRIDDEN = "confirmed", "overridden"


@dataclass(frozen=True)
class TriageRecord:
    """A stored triage session: the module used, the answers, the outcome, the decision."""

    id: str
    contact_id: str
    module: ModuleRef
    answers: dict
    outcome: dict | None
    complete: bool
    decision: str | None
    final_route: Route | None
    final_urgency: Urgency | None
    override_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    started_at: datetime
    updated_at: datetime

    @property
    def recommended_route(self) -> Route | None:
        return Route(self.outcome["route"]) if self.outcome else None

    @property
    def recommended_urgency(self) -> Urgency | None:
        return Urgency(self.outcome["urgency"]) if self.outcome else None


def _module_ref(module: ModuleRef) -> tuple[str, str, str]:
    return (clean_text(module.id, "module.id", limit=NAME_LIMIT, required=True),
            clean_text(module.version, "module.version", limit=NAME_LIMIT, required=True),
            clean_text(module.content_hash, "module.content_hash", limit=NAME_LIMIT, required=True))


def _outcome(outcome: Mapping | None) -> str | None:
    if outcome is None:
        return None
    if not isinstance(outcome, Mapping):
        raise InvalidField("outcome", "must be the outcome's fields (Outcome.as_dict())")
    cleaned = clean_json(outcome, "outcome")
    try:
        Route(cleaned["route"])
        Urgency(cleaned["urgency"])
    except (KeyError, ValueError):
        raise InvalidField("outcome", "must name a known route and urgency") from None
    return json.dumps(cleaned, ensure_ascii=False)


def _answers(answers: Mapping) -> dict:
    if not isinstance(answers, Mapping):
        raise InvalidField("answers", "must map question ids to answers")
    return clean_json(answers, "answers")


def create_triage_session(db: Database, *, contact_id: str, module: ModuleRef, answers: Mapping,
                          outcome: Mapping | None, complete: bool, by: str) -> str:
    module_id, version, content_hash = _module_ref(module)
    answers_json = json.dumps(_answers(answers), ensure_ascii=False)
    outcome_json = _outcome(outcome)
    session_id = new_id("ts")
    now = utc_now_text()
    with transaction(db):
        if db.execute("SELECT 1 FROM contacts WHERE id = ?", [contact_id]).fetchone() is None:
            raise RecordNotFound(f"There is no contact with the id {contact_id!r}.")
        db.execute(
            "INSERT INTO triage_sessions (id, contact_id, module_id, module_version, module_hash, "
            "answers, outcome, complete, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [session_id, contact_id, module_id, version, content_hash, answers_json, outcome_json,
             int(bool(complete)), now, now])
    return session_id


def save_triage_answers(db: Database, session_id: str, *, answers: Mapping, outcome: Mapping | None,
                        complete: bool, by: str, reason: str = "") -> list[str]:
    """Replace a session's answers and outcome before it is decided. Each answer that
    changed, and the outcome if it changed, leaves a history row. Returns what changed."""
    new_answers = _answers(answers)
    outcome_json = _outcome(outcome)
    why = clean_text(reason, "reason", limit=FREE_TEXT_LIMIT, single_line=False)
    with transaction(db):
        current = get_triage_session(db, session_id)
        afterwards = current.decision is not None
        if afterwards:
            _only_answers_not_yet_given(current, new_answers, session_id)
            outcome_json = _outcome(current.outcome)  # the decision rests on what was known then
        now = utc_now_text()
        changed = []
        for question_id in sorted(set(current.answers) | set(new_answers)):
            old, new = current.answers.get(question_id), new_answers.get(question_id)
            if old != new:
                changed.append(f"answers.{question_id}")
                write_history(db, "triage_session", session_id, f"answers.{question_id}",
                         history_value(old), history_value(new), by, now, why)
        old_summary, new_summary = _outcome_summary(current.outcome), _outcome_summary(
            json.loads(outcome_json) if outcome_json else None)
        if old_summary != new_summary:
            changed.append("outcome")
            write_history(db, "triage_session", session_id, "outcome", old_summary, new_summary, by, now, why)
        if bool(complete) != current.complete:
            changed.append("complete")
            write_history(db, "triage_session", session_id, "complete", str(current.complete).lower(),
                     str(bool(complete)).lower(), by, now, why)
        db.execute("UPDATE triage_sessions SET answers = ?, outcome = ?, complete = ?, updated_at = ? "
                   "WHERE id = ?", [json.dumps(new_answers, ensure_ascii=False), outcome_json,
                                    int(bool(complete)), now, session_id])
    return changed


def _only_answers_not_yet_given(current: TriageRecord, new_answers: dict, session_id: str) -> None:
    """After a decision, a call decided before it was complete may have its remaining
    questions answered; nothing already answered may change."""
    if current.complete:
        raise DecisionRefused(
            f"The outcome of session {session_id} was already {current.decision}; its answers "
            "can no longer change. Start a new session to triage again.")
    changed = [q for q in set(current.answers) | set(new_answers)
               if current.answers.get(q) != new_answers.get(q)]
    if any(current.answers.get(q) is not None for q in changed):
        raise DecisionRefused(
            f"The outcome of session {session_id} was already {current.decision}: only the questions "
            "not yet asked can be answered now; what was answered before the decision stays as it was.")


def _outcome_summary(outcome: Mapping | None) -> str | None:
    if not outcome:
        return None
    return f"{outcome.get('rule')}: {outcome.get('route')}, {outcome.get('urgency')}"


def confirm_outcome(db: Database, session_id: str, *, by: str) -> TriageRecord:
    """The practitioner accepts the recommended outcome of a complete session, or of an
    emergency or very urgent one before every question is asked (the questions not yet
    asked are named in its history, can be answered afterwards, and the letter says which)."""
    with transaction(db):
        current = _undecided(db, session_id)
        if current.outcome is None:
            raise DecisionRefused("This call has no outcome yet: answer its questions first.")
        early = not current.complete
        if early and current.recommended_urgency not in DECIDE_BEFORE_COMPLETE:
            raise DecisionRefused(
                "This call is not complete, so its outcome is only provisional. Answer the missing "
                "questions, or override the outcome with a reason.")
        _decide(db, current, CONFIRMED, current.recommended_route, current.recommended_urgency, None, by)
        if early:
            left = current.outcome.get("not_yet_asked") or []
            write_history(db, "triage_session", session_id, "decided_before_complete", None,
                          f"{len(left)} required question{'s' if len(left) != 1 else ''} not yet asked",
                          by, utc_now_text(), "an emergency or very urgent outcome is acted on at once")
    return get_triage_session(db, session_id)


def override_outcome(db: Database, session_id: str, *, route: Route | str, urgency: Urgency | str,
                     reason: str, by: str) -> TriageRecord:
    """The practitioner sets a different route or urgency and says why."""
    try:
        final_route = Route(route)
    except ValueError:
        raise InvalidField("route", "must be one of: " + ", ".join(r.value for r in Route)) from None
    try:
        final_urgency = Urgency(urgency)
    except ValueError:
        raise InvalidField("urgency", "must be one of: " + ", ".join(u.value for u in Urgency)) from None
    why = clean_reason(reason, "override_reason")
    with transaction(db):
        current = _undecided(db, session_id)
        if (current.outcome is not None and current.complete
                and (final_route, final_urgency) == (current.recommended_route,
                                                     current.recommended_urgency)):
            raise DecisionRefused("The override is the same as the recommendation; confirm it instead.")
        _decide(db, current, OVERRIDDEN, final_route, final_urgency, why, by)
    return get_triage_session(db, session_id)


def _undecided(db: Database, session_id: str) -> TriageRecord:
    current = get_triage_session(db, session_id)
    if current.decision is not None:
        raise DecisionRefused(
            f"This session's outcome was already {current.decision} by {current.decided_by} at "
            f"{current.decided_at:%Y-%m-%d %H:%M} UTC.")
    return current


def _decide(db: Database, current: TriageRecord, decision: str, route: Route, urgency: Urgency,
            reason: str | None, by: str) -> None:
    now = utc_now_text()
    why = reason or "outcome confirmed"
    for name, value in (("decision", decision), ("final_route", route.value),
                        ("final_urgency", urgency.value), ("override_reason", reason)):
        if value is not None:
            write_history(db, "triage_session", current.id, name, None, value, by, now, why)
    db.execute("UPDATE triage_sessions SET decision = ?, final_route = ?, final_urgency = ?, "
               "override_reason = ?, decided_by = ?, decided_at = ?, updated_at = ? WHERE id = ?",
               [decision, route.value, urgency.value, reason, by, now, now, current.id])


_SESSION_COLUMNS = ("id, contact_id, module_id, module_version, module_hash, answers, outcome, complete, "
                    "decision, final_route, final_urgency, override_reason, decided_by, decided_at, "
                    "started_at, updated_at")


def _session(row: tuple) -> TriageRecord:
    return TriageRecord(
        id=row[0], contact_id=row[1], module=ModuleRef(row[2], row[3], row[4]),
        answers=json.loads(row[5]), outcome=json.loads(row[6]) if row[6] else None,
        complete=bool(row[7]), decision=row[8], final_route=Route(row[9]) if row[9] else None,
        final_urgency=Urgency(row[10]) if row[10] else None, override_reason=row[11],
        decided_by=row[12], decided_at=stored_instant(row[13]), started_at=datetime.fromisoformat(row[14]),
        updated_at=datetime.fromisoformat(row[15]))


def get_triage_session(db: Database, session_id: str) -> TriageRecord:
    row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM triage_sessions WHERE id = ?",  # noqa: S608
                     [session_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no triage session with the id {session_id!r}.")
    return _session(row)


def triage_sessions_of(db: Database, contact_id: str) -> list[TriageRecord]:
    rows = db.execute(f"SELECT {_SESSION_COLUMNS} FROM triage_sessions WHERE contact_id = ? "  # noqa: S608
                      "ORDER BY started_at, rowid", [contact_id]).fetchall()
    return [_session(r) for r in rows]
