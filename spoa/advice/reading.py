"""Reading advice requests: one request, its letters, a request with everything around it,
and the open requests by reply deadline.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from spoa.advice.checks import check_role
from spoa.advice.request import RECORD_TYPE, AdviceRequest, AdviceView
from spoa.letters import archive
from spoa.letters.archive import IssuedLetter
from spoa.model import ReferrerType
from spoa.roles import Permission
from spoa.store import records
from spoa.store.records import (
    RecordNotFound,
)
from spoa.store.store import Store

_SELECT = """
    SELECT ar.id, ar.contact_id, co.child_id, ch.given_name, ch.family_name, co.referrer_type,
           co.referrer_name, co.referrer_organisation, ar.question, ar.context, ar.tried, ar.how_soon,
           ar.conversion_authorised, ar.response, ar.responded_by, ar.responded_at, ar.referral_id,
           ar.converted_by, ar.converted_at, co.seen_by, co.status,
           (SELECT lt.id FROM letters lt WHERE lt.advice_request_id = ar.id
              ORDER BY lt.created_at, lt.rowid LIMIT 1),
           ar.created_at, ar.created_by, ar.updated_at
    FROM advice_requests ar JOIN contacts co ON co.id = ar.contact_id JOIN children ch ON ch.id = co.child_id
"""


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _request(row: tuple) -> AdviceRequest:
    return AdviceRequest(
        id=row[0], contact_id=row[1], child_id=row[2], child_name=f"{row[3]} {row[4]}".strip(),
        requester_type=ReferrerType(row[5]), requester_name=row[6], requester_organisation=row[7],
        question=row[8], context=row[9], tried=row[10], how_soon=row[11],
        conversion_authorised=bool(row[12]), response=row[13], responded_by=row[14],
        responded_at=_instant(row[15]), referral_id=row[16], converted_by=row[17],
        converted_at=_instant(row[18]), respond_by=_instant(row[19]), contact_status=row[20],
        letter_id=row[21], created_at=datetime.fromisoformat(row[22]), created_by=row[23],
        updated_at=datetime.fromisoformat(row[24]))


def get_request(db: Database, request_id: str) -> AdviceRequest:
    """One request (no role check: callers check)."""
    row = db.execute(_SELECT + " WHERE ar.id = ?", [request_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no advice request with the id {request_id!r}.")
    return _request(row)


def letters_of_request(db: Database, request_id: str) -> list[IssuedLetter]:
    rows = db.execute("SELECT id FROM letters WHERE advice_request_id = ? ORDER BY created_at, rowid",
                      [request_id]).fetchall()
    return [archive.get_letter(db, r[0]) for r in rows]


def view_request(store: Store, request_id: str) -> AdviceView:
    """One request with its contact, child, triage sessions, letters and history."""
    check_role(store, Permission.VIEW_RECORDS, "view", request_id)
    db = store.db
    request = get_request(db, request_id)
    contact = records.get_contact(db, request.contact_id)
    view = AdviceView(request, contact, records.get_child(db, contact.child_id),
                      tuple(records.triage_sessions_of(db, contact.id)),
                      tuple(letters_of_request(db, request_id)),
                      tuple(records.history(db, RECORD_TYPE, request_id)))
    store.audit("view", RECORD_TYPE, request_id)
    return view


def list_requests(store: Store, *, awaiting: bool = False, limit: int = 200) -> list[AdviceRequest]:
    """Open requests (advice to give, or its letter to make), soonest reply deadline first;
    ``awaiting``: only those still waiting for the specialist's advice."""
    check_role(store, Permission.VIEW_RECORDS, "view")
    where = " WHERE ar.referral_id IS NULL AND co.status != 'closed'"
    if awaiting:
        where += " AND ar.response IS NULL"
    order = " ORDER BY co.seen_by IS NULL, co.seen_by, ar.created_at, ar.id"
    rows = store.db.execute(_SELECT + where + order).fetchall()
    found = [r for r in map(_request, rows) if r.open and (r.awaiting_response or not awaiting)]
    store.audit("view", RECORD_TYPE)
    return found[:max(1, int(limit))]
