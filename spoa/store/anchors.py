"""Anchors of the audit trail: its length and newest hash, kept outside the database.

The hash chain (``audit.py``) shows that no entry was changed, removed or reordered
*within* the trail, but on its own it cannot show that entries were cut off the end,
or that someone holding the data key (and so the chain's key) rewrote the trail and
signed it again. An anchor records ``(count, head)`` at a moment: the trail then had
``count`` entries and the newest one's hash was ``head``. Every later trail must still
have that entry at that position with that hash, so an anchor checks the whole prefix
it names; an old anchor is never wrong, only less complete.

Anchors are kept in three kinds of place, each beyond the database: the key file
beside it, this computer's keyring (where the store uses one), and the manifest of
every backup. Someone holding the data key can still rewrite the database *and* every
anchor they can reach (the key file, and the keyring of an account they control);
backups kept elsewhere, and the hub's signed receipts (a later step), are what they
cannot reach. docs/security.md says so.

An anchor only moves forward along the same chain: a place whose anchor the trail no
longer agrees with keeps it (the evidence) until someone looks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import keyring
import keyring.errors

from spoa.store.device import SERVICE, KeyringUnavailable, check_backend
from spoa.store.keyslots import SlotFile

KEY_FILE = "the key file"
KEYRING = "this computer's keyring"


@dataclass(frozen=True)
class Anchor:
    count: int  # entries in the trail when anchored
    head: str  # the hash of entry ``count``
    at: str  # when anchored, ISO 8601 UTC

    def as_dict(self) -> dict:
        return {"count": self.count, "head": self.head, "at": self.at}

    @classmethod
    def from_dict(cls, data: object) -> Anchor | None:
        """The anchor in ``data``, or None when there is none or it is not one."""
        if not isinstance(data, dict):
            return None
        count, head, at = data.get("count"), data.get("head"), data.get("at")
        if (not isinstance(count, int) or isinstance(count, bool) or count < 0
                or not isinstance(head, str) or not isinstance(at, str)):
            return None
        return cls(count, head, at)


@dataclass(frozen=True)
class AnchorCheck:
    """What one place's anchor says about the trail."""

    place: str  # "the key file", "this computer's keyring", "the backup <file>"
    anchor: Anchor | None  # None: the place has no anchor to compare (said in ``note``)
    problem: str | None = None  # the disagreement, in words; None when it agrees
    note: str | None = None  # why nothing was compared, when nothing was

    @property
    def agrees(self) -> bool:
        return self.problem is None


def head_of(db) -> Anchor:
    """The trail's anchor now (count 0 for an empty trail)."""
    row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Anchor(row[0], row[1], now) if row else Anchor(0, "", now)


def follows(db, anchor: Anchor) -> bool:
    """Whether the trail in ``db`` still holds the entry ``anchor`` names, as it was."""
    if anchor.count == 0:
        return True
    row = db.execute("SELECT hash FROM audit WHERE seq = ?", [anchor.count]).fetchone()
    return row is not None and row[0] == anchor.head


def check(db, place: str, anchor: Anchor | None, count: int, note: str | None = None) -> AnchorCheck:
    """Compare the trail of ``count`` entries in ``db`` with ``place``'s anchor."""
    if anchor is None:
        return AnchorCheck(place, None, note=note or "it holds no anchor yet")
    if follows(db, anchor):
        return AnchorCheck(place, anchor, note=note)
    when = when_text(anchor.at)
    if anchor.count > count:
        problem = (f"{place} recorded {anchor.count} entries on {when}, but the trail now has "
                   f"only {count}: entries were removed from its end")
    else:
        problem = (f"entry {anchor.count} is not the one {place} recorded on {when}: the trail "
                   "was rewritten up to there")
    return AnchorCheck(place, anchor, problem, note)


def when_text(iso: str) -> str:
    """An anchor's time as people in the hub read it, in UK time: 'Wednesday 2 December
    2026 at 16:30 GMT'."""
    from spoa.letters.formatting import date_and_time

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    try:
        return date_and_time(moment.astimezone(ZoneInfo("Europe/London")))
    except ZoneInfoNotFoundError:  # no time zone data on this computer: its own local time
        return date_and_time(moment.astimezone())


# -- the keyring ------------------------------------------------------------------------

def _keyring_name(installation_id: str) -> str:
    return f"{installation_id}/audit-anchor"


def read_keyring_anchor(installation_id: str) -> Anchor | None:
    """This store's anchor in the keyring, or None (none kept, or unreadable)."""
    check_backend()
    try:
        stored = keyring.get_password(SERVICE, _keyring_name(installation_id))
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the keyring could not be read: {type(exc).__name__}") from None
    if stored is None:
        return None
    try:
        return Anchor.from_dict(json.loads(stored))
    except ValueError:
        return None


def write_keyring_anchor(installation_id: str, anchor: Anchor) -> None:
    check_backend()
    try:
        keyring.set_password(SERVICE, _keyring_name(installation_id), json.dumps(anchor.as_dict()))
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the keyring refused to store the audit anchor: "
                                 f"{type(exc).__name__}") from None


# -- anchoring ------------------------------------------------------------------------------

def anchor(db, folder: Path, *, reset: bool = False) -> None:
    """Record the trail's head now in the key file and, where the store uses one, the
    keyring. Outside any transaction (an anchor must name a committed entry).

    Each place moves forward only along the same chain; ``reset`` (after a restore, which
    rolls the trail back on purpose) sets it whatever it held."""
    with db.conn:
        # The database's write lock serialises key-file changes between desks, as
        # Store._update_slots does, and keeps the head still while it is recorded.
        db.execute("BEGIN IMMEDIATE")
        head = head_of(db)
        slots = SlotFile.load(folder)
        if _moves(db, Anchor.from_dict(slots.audit_anchor), head, reset):
            slots.audit_anchor = head.as_dict()
            slots.save()
    if slots.uses_keyring and _moves(db, read_keyring_anchor(slots.installation_id), head, reset):
        write_keyring_anchor(slots.installation_id, head)


def _moves(db, kept: Anchor | None, head: Anchor, reset: bool) -> bool:
    if reset or kept is None:
        return True
    # An anchor the trail no longer follows stays as it is: it is the evidence.
    return kept.count < head.count and follows(db, kept)


def checks(db, folder: Path, count: int, backups: list[AnchorCheck]) -> list[AnchorCheck]:
    """Every anchor this store has, compared with its trail of ``count`` entries: the key
    file's, the keyring's (when the store uses one), then each backup's (as read from its
    manifest by ``backup_archive.backup_anchor``)."""
    slots = SlotFile.load(folder)
    found = [check(db, KEY_FILE, Anchor.from_dict(slots.audit_anchor), count)]
    if slots.uses_keyring:
        try:
            found.append(check(db, KEYRING, read_keyring_anchor(slots.installation_id), count))
        except KeyringUnavailable:
            found.append(AnchorCheck(KEYRING, None, note="the keyring could not be read"))
    for kept in backups:
        usable = kept.anchor is not None and kept.problem is None
        found.append(check(db, kept.place, kept.anchor, count, kept.note) if usable else kept)
    return found
