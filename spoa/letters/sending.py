"""Sending approved referrals from the desk: where each letter goes, and sending them.

An approved referral's letter leaves by the way this desk has: the receiving service's
secure email when the desk sends secure email and the service has an address, else the
desk's outbox folder. The letter is issued once, queued and the referral marked sent
together (``outbox.send_referral``); the approval page sends it as it approves, and the
Outbox page's "Send queued now" sends any approved referral still waiting (approved
while letters could not leave yet) with the queued letters.
"""

from __future__ import annotations

from dataclasses import dataclass

from spoa.letters import outbox, referrals
from spoa.letters.directory import load_services
from spoa.letters.outbox import FolderTransport, OutboxItem, SmtpSettings, SmtpTransport, Transport
from spoa.letters.referrals import Referral, ReferralState, get_referral, list_referrals
from spoa.settings import DeskSettings, SettingsProblem
from spoa.store.store import Store

NOWHERE_YET = ("Letters cannot leave yet: no outbox folder or secure email is set on this desk. "
               "A supervisor sets it on the Outbox page, under Where letters go; then 'Send queued "
               "now' sends it.")


@dataclass(frozen=True)
class SendReport:
    """What "Send queued now" did: each outbox item as it is afterwards, and the approved
    referrals it could not send yet (with why)."""

    items: list[OutboxItem]
    waiting: int = 0
    problem: str | None = None


def destination_for(store: Store, referral: Referral) -> Transport:
    """Where ``referral``'s letter goes from this desk, or SettingsProblem (NOWHERE_YET)."""
    smtp = SmtpSettings.load(store.folder)
    if smtp is not None and referral.service_id:
        service = next((s for s in load_services(store.db) if s.id == referral.service_id), None)
        if service is not None and service.secure_email:
            return SmtpTransport(smtp, service.secure_email)
    folder = DeskSettings.load(store.folder).outbox_folder
    if folder:
        return FolderTransport(folder)
    raise SettingsProblem(NOWHERE_YET)


def send_approved(store: Store, referral_id: str, *, deliver_now: bool = True) -> OutboxItem:
    """Send one approved referral's letter where this desk sends letters (see module)."""
    referral = get_referral(store.db, referral_id)
    return outbox.send_referral(store, referral_id, destination_for(store, referral),
                                deliver_now=deliver_now)


def approve_and_send(store: Store, referral_id: str, note: str = "") -> tuple[OutboxItem | None, str | None]:
    """A supervisor approves (four eyes, as ``referrals.approve``), then the letter is sent
    where this desk sends letters: the outbox item, or None with why it could not leave yet
    (the referral stays approved, and "Send queued now" sends it once it can)."""
    referrals.approve(store, referral_id, note)
    try:
        return send_approved(store, referral_id), None
    except SettingsProblem as exc:
        return None, str(exc)


def send_everything(store: Store) -> SendReport:
    """Every approved referral not yet sent, then every queued letter."""
    waiting: list[Referral] = list_referrals(store, state=ReferralState.APPROVED)
    problem, released = None, 0
    for referral in waiting:
        try:
            send_approved(store, referral.id, deliver_now=False)  # queued; delivered below
        except SettingsProblem as exc:
            problem = str(exc)
            break
        released += 1
    return SendReport(outbox.deliver_pending(store), len(waiting) - released, problem)


KIND_WORDS = {
    "referral_camhs": "Referral to CAMHS", "referral_school_nursing": "Referral to school nursing",
    "referral_voluntary_sector": "Referral to the voluntary sector", "advice_response": "Advice",
    "outcome_to_referrer": "Outcome for the referrer", "not_accepted": "Not accepted",
}


def letter_titles(store: Store, letter_ids: list[str]) -> dict[str, str]:
    """What each letter is, and for which child, as the Outbox page names it: 'Referral to
    CAMHS for Zoë Example-Testcase' (the caller has checked the reader may view records)."""
    if not letter_ids:
        return {}
    marks = ", ".join("?" for _ in letter_ids)
    rows = store.db.execute(
        "SELECT l.id, l.kind, ch.given_name, ch.family_name FROM letters l "  # noqa: S608 (marks only)
        "LEFT JOIN referrals r ON r.id = l.referral_id "
        "LEFT JOIN advice_requests a ON a.id = l.advice_request_id "
        "LEFT JOIN contacts c ON c.id = COALESCE(r.contact_id, a.contact_id) "
        "LEFT JOIN children ch ON ch.id = c.child_id "
        f"WHERE l.id IN ({marks})", letter_ids).fetchall()
    titles = {}
    for letter_id, kind, given, family in rows:
        what = KIND_WORDS.get(kind, "Letter")
        titles[letter_id] = f"{what} for {given} {family}" if given else what
    return titles
