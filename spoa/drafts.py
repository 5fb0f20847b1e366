"""What someone had typed into a form when the desk locked, kept for them alone.

A person interrupted half-way through a new advice request, or through a call's details
before the call was started, comes back to a locked desk. Before the key is dropped the
page saves what was typed as a *form draft*: one per user and form kind, in the encrypted
store, replacing any earlier one. After they unlock, the page takes it back
(``take_form_draft`` returns it and deletes it) and refills the form.

Rules:

- Only the user who saved a draft ever gets it back; another user signing in at the same
  desk sees nothing of it, and their own take leaves it in place.
- Only known kinds (``FORM_FIELDS``) and, per kind, known field names are kept; anything
  else is refused with an InvalidField naming the kind or field. Values are text, cleaned
  like other free text (NFC, trimmed, no NUL or lone surrogates, at most
  ``FREE_TEXT_LIMIT`` characters a field); empty fields are not kept.
- Saving needs the role's permission to create contacts (``Permission.EDIT_CONTACTS``).
- A draft lives at most ``KEEP_FOR`` (7 days). An older one is not given back: the take
  returns None and the page says nothing (the form is simply empty, as after any lock).
  Every save and take also deletes every user's drafts older than that, and
  ``expire_form_drafts`` does the same on its own (for an unlock or a retention run).
- A draft is not a record of a child: nothing refers to it, so it never blocks a
  retention purge, and it is never listed or searched.
- Audited without content: ``("create", "form_draft", kind)`` on save, ``("view", ...)``
  when given back, ``("update", ...)`` when discarded, ``("purge", ...)`` when one expired.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from spoa.roles import Permission
from spoa.store.changes import transaction
from spoa.store.database import StoreError
from spoa.store.fields import FREE_TEXT_LIMIT, InvalidField, clean_text
from spoa.store.store import Store

RECORD_TYPE = "form_draft"
KEEP_FOR = timedelta(days=7)
ADVICE_REQUEST = "advice_request"
CALL_DETAILS = "call_details"
_PARTIES = ("referrer_type", "referrer_name", "referrer_organisation", "referrer_contact",
            "given_name", "family_name", "date_of_birth", "nhs_number", "postcode", "school", "gp_practice")
# The fields each form may keep, by the names the forms (and the core's drafts) use.
FORM_FIELDS: dict[str, frozenset[str]] = {
    ADVICE_REQUEST: frozenset((*_PARTIES, "question", "context", "tried", "how_soon",
                               "conversion_authorised")),
    # "carers": the parents or carers typed so far, as spoa.call.carers_as_text writes them.
    CALL_DETAILS: frozenset((*_PARTIES, "address", "carers", "consent_status", "consent_by", "consent_notes",
                             "module_id")),
}


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in FORM_FIELDS:
        raise InvalidField("form", "is not a form whose typing is kept; known forms: "
                                   + ", ".join(sorted(FORM_FIELDS)))
    return kind


def _require_open(store: Store) -> None:
    if not store.is_open:
        raise StoreError("The store is locked. Unlock it to carry on.")


def clean_form_fields(kind: str, fields: Mapping[str, str]) -> dict[str, str]:
    """The fields as they would be kept: known names only, cleaned text, empty ones left out."""
    kind = _check_kind(kind)
    if not isinstance(fields, Mapping):
        raise InvalidField("form", "must be a set of named fields")
    known = FORM_FIELDS[kind]
    kept = {}
    for name, value in fields.items():
        if not isinstance(name, str) or name not in known:
            shown = name if isinstance(name, str) and name.isidentifier() and len(name) <= 64 else "(a field)"
            raise InvalidField(shown, f"is not a field of the {kind.replace('_', ' ')} form")
        text = clean_text(value, name, limit=FREE_TEXT_LIMIT, single_line=False)
        if text:
            kept[name] = text
    return kept


def _expire(store: Store, moment: datetime) -> int:
    """Delete every user's drafts older than KEEP_FOR (inside the caller's transaction)."""
    cutoff = _stamp(moment - KEEP_FOR)
    expired = store.db.execute("SELECT kind FROM form_drafts WHERE saved_at < ?", [cutoff]).fetchall()
    if expired:
        store.db.execute("DELETE FROM form_drafts WHERE saved_at < ?", [cutoff])
        for (kind,) in expired:
            store.audit("purge", RECORD_TYPE, kind)
    return len(expired)


def save_form_draft(store: Store, kind: str, fields: Mapping[str, str], *,
                    now: datetime | None = None) -> bool:
    """Keep what the signed-in user typed into ``kind``'s form, replacing their earlier draft.

    Returns False (and keeps nothing, dropping any earlier draft) when every field is empty.
    """
    store.authorise(Permission.EDIT_CONTACTS, "create", RECORD_TYPE, kind if kind in FORM_FIELDS else "")
    kept = clean_form_fields(kind, fields)
    moment = _now(now)
    username = store.user.username
    with transaction(store.db):
        _expire(store, moment)
        if not kept:
            store.db.execute("DELETE FROM form_drafts WHERE username = ? AND kind = ?", [username, kind])
            return False
        store.db.execute(
            "INSERT INTO form_drafts (username, kind, payload, saved_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (username, kind) DO UPDATE SET payload = excluded.payload, "
            "saved_at = excluded.saved_at",
            [username, kind, json.dumps(kept, ensure_ascii=False), _stamp(moment)])
        store.audit("create", RECORD_TYPE, kind)
    return True


def take_form_draft(store: Store, kind: str, *, now: datetime | None = None) -> dict[str, str] | None:
    """The signed-in user's own draft of ``kind``'s form, deleted as it is given back; None
    when they have none, or when theirs is older than KEEP_FOR (then it is deleted unseen).
    Never another user's."""
    _require_open(store)
    kind = _check_kind(kind)
    moment = _now(now)
    username = store.user.username
    with transaction(store.db):
        _expire(store, moment)
        row = store.db.execute("SELECT payload FROM form_drafts WHERE username = ? AND kind = ?",
                               [username, kind]).fetchone()
        if row is None:
            return None
        store.db.execute("DELETE FROM form_drafts WHERE username = ? AND kind = ?", [username, kind])
        store.audit("view", RECORD_TYPE, kind)
    payload = json.loads(row[0])
    known = FORM_FIELDS[kind]
    return {name: value for name, value in payload.items() if name in known and isinstance(value, str)}


def discard_form_draft(store: Store, kind: str) -> bool:
    """Delete the signed-in user's draft of ``kind``'s form; whether there was one."""
    _require_open(store)
    kind = _check_kind(kind)
    with transaction(store.db):
        gone = store.db.execute("DELETE FROM form_drafts WHERE username = ? AND kind = ?",
                                [store.user.username, kind]).rowcount
        if gone:
            store.audit("update", RECORD_TYPE, kind)
    return bool(gone)


def has_form_draft(store: Store, kind: str, *, now: datetime | None = None) -> bool:
    """Whether the signed-in user has a draft of ``kind``'s form young enough to be given back."""
    _require_open(store)
    kind = _check_kind(kind)
    cutoff = _stamp(_now(now) - KEEP_FOR)
    return store.db.execute("SELECT 1 FROM form_drafts WHERE username = ? AND kind = ? AND saved_at >= ?",
                            [store.user.username, kind, cutoff]).fetchone() is not None


def expire_form_drafts(store: Store, *, now: datetime | None = None) -> int:
    """Delete every user's drafts older than KEEP_FOR; how many went. Any signed-in role."""
    _require_open(store)
    with transaction(store.db):
        return _expire(store, _now(now))


__all__ = ["ADVICE_REQUEST", "CALL_DETAILS", "FORM_FIELDS", "KEEP_FOR", "RECORD_TYPE", "clean_form_fields",
           "discard_form_draft", "expire_form_drafts", "has_form_draft", "save_form_draft", "take_form_draft"]
