"""Issued letters: kept in the encrypted database exactly as issued, and recognised again.

A letter is stored (PDF bytes and their sha256) in the same moment it is made, and never
made twice for the same referral: whoever sends or exports it later gets those very
bytes. A file is one the hub issued when its sha256 is on record; one changed byte and
it is not. Writing a letter out to a file is an export: supervisors only, audited.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from spoa.letters import assemble
from spoa.letters.assemble import Assembled, ModuleLookup
from spoa.letters.content import HubDetails, LetterContent, LetterKind, Section
from spoa.letters.pdf import build_letter
from spoa.letters.referrals import ReferralState, check_allowed, get_referral, sendable
from spoa.letters.wording import Wording
from spoa.roles import Permission
from spoa.store import records
from spoa.store.keyslots import write_atomically
from spoa.store.records import RecordNotFound
from spoa.store.store import Store

__all__ = [
    "IssuedLetter", "LetterFile", "Verification", "build_pdf", "export_letter", "export_referral_letter",
    "get_letter", "letter_pdf", "letters_of_referral", "make_advice_letter", "make_not_accepted_letter",
    "make_outcome_letter", "make_referral_letter", "new_letter_id", "verify", "verify_letter_bytes",
    "verify_letter_file", "write_private_file",
]

REFERRAL_KINDS = (LetterKind.REFERRAL_CAMHS, LetterKind.REFERRAL_SCHOOL_NURSING,
                  LetterKind.REFERRAL_VOLUNTARY_SECTOR)
LARGEST_LETTER_FILE = 64 * 1024 * 1024  # a file bigger than this is not a letter of ours


@dataclass(frozen=True)
class IssuedLetter:
    id: str  # also the document id printed on the letter
    kind: LetterKind
    sha256: str
    size: int
    referral_id: str | None
    advice_request_id: str | None
    contact_id: str | None
    created_at: datetime
    created_by: str
    notes: tuple[str, ...] = ()  # from assembling it, when it was made just now

    @property
    def belongs_to(self) -> str:
        if self.referral_id:
            return f"referral {self.referral_id}"
        if self.advice_request_id:
            return f"advice request {self.advice_request_id}"
        return f"contact {self.contact_id}"


@dataclass(frozen=True)
class Verification:
    sha256: str
    letter: IssuedLetter | None
    path: Path | None = None

    @property
    def issued(self) -> bool:
        return self.letter is not None

    def message(self) -> str:
        name = str(self.path) if self.path else "This file"
        if self.letter is None:
            return (f"{name} was NOT issued by this hub, or was changed after it was issued: its sha256 "
                    f"{self.sha256} matches no letter on record.")
        letter = self.letter
        return (f"{name} is letter {letter.id} ({letter.kind.value.replace('_', ' ')}) issued by this hub "
                f"on {letter.created_at:%Y-%m-%d %H:%M} UTC by {letter.created_by}, for {letter.belongs_to}. "
                f"sha256 {letter.sha256}.")


def new_letter_id() -> str:
    return f"lt-{secrets.token_hex(8)}"


def build_pdf(content: LetterContent, hub: HubDetails | None = None, wording: Wording | None = None) -> bytes:
    """The PDF of a letter (spoa.letters.pdf, the one document template)."""
    return build_letter(content, hub=hub, wording=wording)


def write_private_file(path: Path, data: bytes) -> Path:
    """Write a file whole or not at all (temporary file, fsync, rename), readable by its owner only."""
    path = Path(path)
    write_atomically(path, data)
    return path


# -- reading ------------------------------------------------------------------------------------

_COLUMNS = "id, kind, sha256, length(pdf), referral_id, advice_request_id, contact_id, created_at, created_by"


def _letter(row: tuple) -> IssuedLetter:
    return IssuedLetter(row[0], LetterKind(row[1]), row[2], int(row[3]), row[4], row[5], row[6],
                        datetime.fromisoformat(row[7]), row[8])


def get_letter(db: Database, letter_id: str) -> IssuedLetter:
    row = db.execute(f"SELECT {_COLUMNS} FROM letters WHERE id = ?", [letter_id]).fetchone()  # noqa: S608
    if row is None:
        raise RecordNotFound(f"There is no letter with the id {letter_id!r}.")
    return _letter(row)


def letter_pdf(db: Database, letter_id: str) -> bytes:
    row = db.execute("SELECT pdf, sha256 FROM letters WHERE id = ?", [letter_id]).fetchone()
    if row is None:
        raise RecordNotFound(f"There is no letter with the id {letter_id!r}.")
    data = bytes(row[0])
    if hashlib.sha256(data).hexdigest() != row[1]:
        raise RecordNotFound(f"Letter {letter_id} does not match its recorded sha256; restore the store "
                             "from a backup.")
    return data


def letters_of_referral(db: Database, referral_id: str) -> list[IssuedLetter]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM letters WHERE referral_id = ? "  # noqa: S608
                      "ORDER BY created_at, rowid", [referral_id]).fetchall()
    return [_letter(r) for r in rows]


def _issued(db: Database, referral_id: str, kinds: Iterable[LetterKind]) -> IssuedLetter | None:
    return next((letter for letter in letters_of_referral(db, referral_id) if letter.kind in tuple(kinds)),
                None)


def verify_letter_bytes(db: Database, data: bytes) -> Verification:
    digest = hashlib.sha256(data).hexdigest()
    row = db.execute(f"SELECT {_COLUMNS} FROM letters WHERE sha256 = ?", [digest]).fetchone()  # noqa: S608
    return Verification(digest, _letter(row) if row else None)


def verify_letter_file(db: Database, path: Path) -> Verification:
    """Whether a file is a letter this hub issued, and whose (no role check: callers check)."""
    path = Path(path)
    size = path.stat().st_size
    if size > LARGEST_LETTER_FILE:
        return Verification("(not computed: the file is too large to be a letter)", None, path)
    found = verify_letter_bytes(db, path.read_bytes())
    return Verification(found.sha256, found.letter, path)


def verify(store: Store, path: Path) -> Verification:
    """``spoa letter verify``: anyone who may view records; audited as a view of the letter."""
    check_allowed(store, Permission.VIEW_RECORDS, "view", "letter")
    found = verify_letter_file(store.db, path)
    store.audit("view", "letter", found.letter.id if found.letter else "", outcome="ok")
    return found


# -- making -------------------------------------------------------------------------------------

def _store_letter(store: Store, letter_id: str, kind: LetterKind, pdf: bytes, *,
                  referral_id: str | None = None, advice_request_id: str | None = None,
                  contact_id: str | None = None) -> None:
    """Keep the letter exactly as issued; inside the caller's transaction."""
    store.db.execute(
        "INSERT INTO letters (id, referral_id, advice_request_id, contact_id, kind, pdf, sha256, created_at, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [letter_id, referral_id, advice_request_id, contact_id, kind.value, pdf,
         hashlib.sha256(pdf).hexdigest(), datetime.now(UTC).isoformat(timespec="seconds"),
         store.user.username])
    store.audit("create", "letter", letter_id)


def _with_notes(letter: IssuedLetter, assembled: Assembled) -> IssuedLetter:
    return replace(letter, notes=assembled.notes)


@dataclass(frozen=True)
class PreparedLetter:
    """A referral letter's content read from the records, not yet built or kept."""

    referral_id: str
    letter_id: str
    assembled: Assembled


def prepare_referral_letter(store: Store, referral_id: str, *, before_review: bool = False,
                            modules: ModuleLookup | None = None) -> IssuedLetter | PreparedLetter:
    """The letter already issued for the referral, or its content ready to build."""
    db = store.db
    existing = _issued(db, referral_id, REFERRAL_KINDS)
    if existing is not None:
        return existing
    letter_id = new_letter_id()
    assembled = assemble.referral_content(db, referral_id, document_id=letter_id, before_review=before_review,
                                          modules=modules)
    return PreparedLetter(referral_id, letter_id, assembled)


def keep_referral_letter(store: Store, prepared: PreparedLetter, pdf: bytes) -> tuple[IssuedLetter, bool]:
    """Keep a built letter as issued, unless another desk issued one meanwhile (then that
    one is the letter). Returns (letter, made_now)."""
    db = store.db
    with records.transaction(db):
        existing = _issued(db, prepared.referral_id, REFERRAL_KINDS)
        if existing is not None:
            return existing, False
        referral = get_referral(db, prepared.referral_id)
        _store_letter(store, prepared.letter_id, prepared.assembled.content.kind, pdf,
                      referral_id=prepared.referral_id, contact_id=referral.contact_id)
    return _with_notes(get_letter(db, prepared.letter_id), prepared.assembled), True


def issue_referral_letter(store: Store, referral_id: str, *, before_review: bool = False,
                          hub: HubDetails | None = None, wording: Wording | None = None,
                          modules: ModuleLookup | None = None) -> tuple[IssuedLetter, bool]:
    """The referral's letter: the one already issued, or a new one made and kept now.
    Returns (letter, made_now). The caller checks the role and the referral's state."""
    prepared = prepare_referral_letter(store, referral_id, before_review=before_review, modules=modules)
    if isinstance(prepared, IssuedLetter):
        return prepared, False
    return keep_referral_letter(store, prepared, build_pdf(prepared.assembled.content, hub, wording))


def check_letter_may_be_made(store: Store, referral_id: str) -> None:
    """A referral's letter is made once it is approved (or was sent); else say why not."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "create", "letter")
    referral = get_referral(store.db, referral_id)
    if referral.state not in (ReferralState.SENT, ReferralState.CLOSED):
        sendable(store.db, referral_id, before_review=False)


def make_referral_letter(store: Store, referral_id: str, *, hub: HubDetails | None = None,
                         wording: Wording | None = None, modules: ModuleLookup | None = None) -> IssuedLetter:
    """The letter of an approved (or already sent) referral, made once and kept as issued."""
    check_letter_may_be_made(store, referral_id)
    letter, _ = issue_referral_letter(store, referral_id, hub=hub, wording=wording, modules=modules)
    return letter


def make_outcome_letter(store: Store, referral_id: str, *, hub: HubDetails | None = None,
                        wording: Wording | None = None, modules: ModuleLookup | None = None) -> IssuedLetter:
    """The letter telling the referrer where the child was referred and why (once sent)."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "create", "letter")
    db = store.db
    existing = _issued(db, referral_id, (LetterKind.OUTCOME_TO_REFERRER,))
    if existing is not None:
        return existing
    letter_id = new_letter_id()
    assembled = assemble.outcome_content(db, referral_id, document_id=letter_id, modules=modules)
    pdf = build_pdf(assembled.content, hub, wording)
    with records.transaction(db):
        _store_letter(store, letter_id, LetterKind.OUTCOME_TO_REFERRER, pdf, referral_id=referral_id,
                      contact_id=get_referral(db, referral_id).contact_id)
    return _with_notes(get_letter(db, letter_id), assembled)


def make_not_accepted_letter(store: Store, session_id: str, *, reasons: Iterable[str],
                             signposting: Iterable[str] = (), omit: Iterable[Section] = (),
                             hub: HubDetails | None = None, wording: Wording | None = None,
                             modules: ModuleLookup | None = None) -> IssuedLetter:
    """The letter to the referrer when the hub does not accept the referral: a supervisor's
    decision, so it carries their name."""
    check_allowed(store, Permission.APPROVE_REFERRALS, "create", "letter")
    db = store.db
    letter_id = new_letter_id()
    assembled = assemble.not_accepted_content(
        db, session_id, reasons=list(reasons), signposting=list(signposting), document_id=letter_id,
        approved_by=store.user.username, omit=omit, modules=modules)
    pdf = build_pdf(assembled.content, hub, wording)
    session = records.get_triage_session(db, session_id)
    with records.transaction(db):
        _store_letter(store, letter_id, LetterKind.NOT_ACCEPTED, pdf, contact_id=session.contact_id)
    return _with_notes(get_letter(db, letter_id), assembled)


def make_advice_letter(store: Store, advice_request_id: str, *, omit: Iterable[Section] = (),
                       hub: HubDetails | None = None, wording: Wording | None = None,
                       modules: ModuleLookup | None = None) -> IssuedLetter:
    """The specialist's advice to the requesting GP or school nurse, made once."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "create", "letter")
    db = store.db
    row = db.execute(f"SELECT {_COLUMNS} FROM letters WHERE advice_request_id = ? "  # noqa: S608
                     "ORDER BY created_at LIMIT 1", [advice_request_id]).fetchone()
    if row is not None:
        return _letter(row)
    letter_id = new_letter_id()
    assembled = assemble.advice_content(db, advice_request_id, document_id=letter_id, omit=omit,
                                        modules=modules)
    pdf = build_pdf(assembled.content, hub, wording)
    contact_id = db.execute("SELECT contact_id FROM advice_requests WHERE id = ?",
                            [advice_request_id]).fetchone()[0]
    with records.transaction(db):
        _store_letter(store, letter_id, LetterKind.ADVICE_RESPONSE, pdf,
                      advice_request_id=advice_request_id, contact_id=contact_id)
    return _with_notes(get_letter(db, letter_id), assembled)


# -- export -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LetterFile:
    letter: IssuedLetter
    path: Path


def export_letter(store: Store, letter_id: str, path: Path) -> LetterFile:
    """Write an issued letter, exactly as issued, to a file (owner-only). Supervisors only."""
    check_allowed(store, Permission.EXPORT_LETTERS, "export", "letter", letter_id)
    letter = get_letter(store.db, letter_id)
    write_private_file(Path(path), letter_pdf(store.db, letter_id))
    store.audit("export", "letter", letter_id)
    return LetterFile(letter, Path(path))


def export_referral_letter(store: Store, referral_id: str, path: Path, *, hub: HubDetails | None = None,
                           wording: Wording | None = None, modules: ModuleLookup | None = None) -> LetterFile:
    """``spoa letter make``: the referral's letter (made now if it was not yet) to a file."""
    check_allowed(store, Permission.EXPORT_LETTERS, "export", "referral", referral_id)
    letter = make_referral_letter(store, referral_id, hub=hub, wording=wording, modules=modules)
    exported = export_letter(store, letter.id, path)
    return LetterFile(letter, exported.path)

