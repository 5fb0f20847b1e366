"""The audit trail: who did what to which record and when, as an HMAC hash chain.

Each entry's hash is an HMAC (keyed from the store's data key) over its fields and the
previous entry's hash, so changing, removing or reordering any entry breaks the chain
from that entry on. Triggers refuse UPDATE and DELETE on the table. Entries carry ids
and actions only, never free-text patient data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlite_utils import Database

if TYPE_CHECKING:
    from spoa.store.anchors import AnchorCheck

GENESIS = "0" * 64

ACTIONS = frozenset({
    "store_created", "login", "login_failed", "lock", "recovery_used", "device_rebound", "keyring_dropped",
    "user_added", "user_changed", "password_changed", "password_reset", "user_deactivated",
    "create", "view", "update", "export", "approve", "return", "send", "search",
    "backup", "restore", "rekey", "purge", "key_file_upgraded", "recovery_code_replaced",
})


@dataclass(frozen=True)
class AuditReport:
    count: int
    first_bad: int | None  # position (1-based) of the first entry that does not verify
    problem: str | None
    # What each anchor kept outside the database says (anchors.py); empty when not asked.
    anchors: tuple[AnchorCheck, ...] = ()

    @property
    def chain_intact(self) -> bool:
        return self.first_bad is None

    @property
    def disagreeing(self) -> list[AnchorCheck]:
        return [a for a in self.anchors if not a.agrees]

    @property
    def intact(self) -> bool:
        """The chain checks out and no anchor disagrees with it."""
        return self.first_bad is None and not self.disagreeing


def _digest(key: bytes, seq: int, at: str, username: str, role: str, action: str,
            record_type: str, record_id: str, outcome: str, prev_hash: str) -> str:
    payload = json.dumps([seq, at, username, role, action, record_type, record_id, outcome, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def append(db: Database, key: bytes, *, username: str, role: str, action: str,
           record_type: str = "", record_id: str = "", outcome: str = "ok",
           at: datetime | None = None) -> int:
    """Add one entry inside the caller's transaction (or its own). Returns its sequence number."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not db.conn.in_transaction:
        # Reading the chain's head and adding to it must not interleave with another writer.
        with db.conn:
            db.execute("BEGIN IMMEDIATE")
            return append(db, key, username=username, role=role, action=action,
                          record_type=record_type, record_id=record_id, outcome=outcome, at=at)
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    when = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    digest = _digest(key, seq, when, username, role, action, record_type, record_id, outcome,
                     prev_hash)
    db.execute(
        "INSERT INTO audit (seq, at, username, role, action, record_type, record_id, outcome, "
        "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, when, username, role, action, record_type, record_id, outcome, prev_hash, digest],
    )
    return seq


def verify(db: Database, key: bytes) -> AuditReport:
    """Walk the chain; name the first entry that was altered, removed or moved."""
    expected_prev = GENESIS
    count = 0
    rows = db.execute(
        "SELECT seq, at, username, role, action, record_type, record_id, outcome, prev_hash, hash "
        "FROM audit ORDER BY rowid")
    for position, row in enumerate(rows, start=1):
        count = position
        seq, at, username, role, action, record_type, record_id, outcome, prev_hash, digest = row
        if seq != position:
            kind = "removed or reordered" if seq > position else "reordered"
            return AuditReport(count, position,
                               f"entry {position}: sequence number {seq}; an entry was {kind} here")
        if prev_hash != expected_prev:
            return AuditReport(count, position,
                               f"entry {position}: does not follow entry {position - 1}; "
                               "entries were removed or reordered")
        recomputed = _digest(key, seq, at, username, role, action, record_type, record_id,
                             outcome, prev_hash)
        if not hmac.compare_digest(recomputed, digest):
            return AuditReport(count, position, f"entry {position}: its contents were altered")
        expected_prev = digest
    return AuditReport(count, None, None)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO 8601, UTC
    username: str
    role: str
    action: str
    record_type: str
    record_id: str
    outcome: str


def entries(db: Database, *, limit: int = 1000, before_seq: int | None = None) -> list[AuditEntry]:
    """The newest entries first (at most ``limit``; older pages with ``before_seq``). The
    caller checks the reader's role (``Permission.VERIFY_AUDIT``)."""
    where, params = ("WHERE seq < ?", [before_seq]) if before_seq is not None else ("", [])
    rows = db.execute(
        f"SELECT seq, at, username, role, action, record_type, record_id, outcome FROM audit {where} "  # noqa: S608
        "ORDER BY seq DESC LIMIT ?", [*params, max(0, int(limit))]).fetchall()
    return [AuditEntry(*row) for row in rows]
