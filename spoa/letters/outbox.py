"""The outbox: letters on their way out, each queued, sent, or failed with the reason.

Sending a referral issues its letter (or reuses the one issued) and queues it in one
transaction with the referral's step to "sent", so a letter the desk has said is sent is
always in the outbox. Delivery is a separate step that may fail and be retried:

- a transport that cannot be reached (no network, connection refused, shared drive not
  mounted, TLS or login problems) leaves the item **queued** with the reason; ``retry``
  tries again later. Only a refusal of this letter by the receiving side (a permanent SMTP
  5xx answer) makes it **failed**; ``requeue`` puts it back once the cause is fixed.
- an item is claimed before delivery (``claimed_until``), so two desks never deliver it
  at the same time; the claim of a desk that crashed runs out after ``CLAIM_SECONDS``.
- success is recorded (state sent, audit 'send') in one transaction; an item already sent
  is never delivered again.

What is guaranteed: an item is never lost, and never delivered twice *by the desk's own
choice*. One window remains in any system that talks to a mail server: the server took
the message but the desk died before it recorded that. The item is then still queued and
is delivered again after its claim runs out, with the **same Message-ID** (derived from
the outbox item, fixed when it was queued), so the receiving mail system and its readers
can recognise the copy; the folder transport writes the same file name again, atomically,
so there is still exactly one file.
"""

from __future__ import annotations

import json
import secrets
import smtplib
import ssl
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Protocol

import keyring
import keyring.errors
from sqlite_utils import Database

from spoa.letters import archive
from spoa.letters.archive import write_private_file
from spoa.letters.assemble import ModuleLookup
from spoa.letters.content import HubDetails, LetterKind
from spoa.letters.referrals import (
    ReferralRefused,
    ReferralState,
    check_allowed,
    get_referral,
    release,
    sendable,
)
from spoa.letters.wording import Wording
from spoa.roles import NotAllowed, Permission
from spoa.settings import DeskSettings, SettingsProblem
from spoa.store import records
from spoa.store.database import StoreError
from spoa.store.device import KeyringUnavailable, check_backend
from spoa.store.records import InvalidField, RecordNotFound
from spoa.store.store import Store

__all__ = [
    "CLAIM_SECONDS", "SMTP_KEYRING_SERVICE", "DeliveryProblem", "DeliveryRefused",
    "FolderTransport", "OutboxItem", "OutboxState", "OutgoingLetter", "SmtpSettings", "SmtpTransport",
    "Transport", "check_outbox_folder", "configure_at_setup", "configure_outbox_folder", "configure_smtp",
    "deliver", "deliver_pending", "get_item", "letters_can_leave", "list_items", "queue_letter", "requeue",
    "send_referral", "set_smtp_password", "transport_for",
]

SMTP_KEYRING_SERVICE = "spoa-desk-smtp"
SMTP_SETTINGS_FILE = "smtp.json"
CLAIM_SECONDS = 10 * 60  # longer than any delivery can take (SMTP timeout below)
SMTP_TIMEOUT_SECONDS = 60
MESSAGE_ID_DOMAIN = "spoa-desk.invalid"  # never routable: the id only has to be unique


class OutboxState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class DeliveryProblem(Exception):
    """The letter could not be delivered now; it stays queued. The message says why."""


class DeliveryRefused(Exception):
    """The receiving side refused this letter; the item is marked failed with the reason."""


@dataclass(frozen=True)
class OutboxItem:
    id: str
    letter_id: str
    transport: str
    destination: str
    message_id: str
    state: OutboxState
    attempts: int
    last_error: str
    queued_at: datetime
    queued_by: str
    sent_at: datetime | None
    claimed_until: datetime | None


@dataclass(frozen=True)
class OutgoingLetter:
    """What a transport delivers: the letter exactly as issued, and its stable ids."""

    item_id: str
    message_id: str
    letter_id: str
    kind: LetterKind
    sha256: str
    pdf: bytes

    @property
    def file_name(self) -> str:
        # The same item always makes the same file: a retry replaces, never duplicates.
        return f"{self.letter_id}-{self.item_id}.pdf"

    @property
    def subject(self) -> str:
        # No names in a subject line: it travels outside the encrypted attachment.
        return f"Confidential: {self.kind.value.replace('_', ' ')} {self.letter_id}"


class Transport(Protocol):
    kind: ClassVar[str]

    @property
    def destination(self) -> str: ...

    def deliver(self, letter: OutgoingLetter) -> None:
        """Deliver or raise DeliveryProblem (try again later) / DeliveryRefused (failed)."""


# -- transports ---------------------------------------------------------------------------------

class FolderTransport:
    """Save letters into a folder (for example a secure shared drive): written whole or not
    at all (temporary file, fsync, rename) and readable by the owner only."""

    kind: ClassVar[str] = "folder"

    def __init__(self, folder: Path | str):
        self.folder = Path(folder).expanduser().absolute()

    @property
    def destination(self) -> str:
        return str(self.folder)

    def deliver(self, letter: OutgoingLetter) -> None:
        if not self.folder.is_dir():
            raise DeliveryProblem(f"The folder {self.folder} is not there (is the shared drive connected?).")
        try:
            write_private_file(self.folder / letter.file_name, letter.pdf)
        except OSError as exc:
            raise DeliveryProblem(f"Could not write to {self.folder}: {exc.strerror or exc}.") from None


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the secure mail service. The password is never here: it is kept in the
    OS keyring under the service 'spoa-desk-smtp' and the username."""

    host: str
    port: int
    from_address: str
    username: str = ""
    security: str = "starttls"  # "starttls" (usually port 587) or "tls" (implicit, usually 465)
    cafile: str = ""  # an extra certificate authority to trust (a private mail service)
    timeout: float = SMTP_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if self.security not in ("starttls", "tls"):
            raise InvalidField("security", "must be starttls or tls; the desk never sends mail unencrypted")
        if not self.host or not 0 < int(self.port) < 65536:
            raise InvalidField("smtp", "needs a host and a port between 1 and 65535")
        if "@" not in self.from_address:
            raise InvalidField("from_address", "must be an email address")

    def save(self, folder: Path) -> Path:
        return write_private_file(Path(folder) / SMTP_SETTINGS_FILE,
                                  json.dumps(asdict(self), indent=2).encode("utf-8"))

    @classmethod
    def load(cls, folder: Path) -> SmtpSettings | None:
        path = Path(folder) / SMTP_SETTINGS_FILE
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise DeliveryProblem(f"{path} cannot be read ({exc}); set SMTP up again "
                                  "('spoa outbox smtp').") from None


def set_smtp_password(username: str, password: str) -> None:
    """Keep the SMTP password in the OS keyring (never in a file)."""
    check_backend()
    try:
        keyring.set_password(SMTP_KEYRING_SERVICE, username, password)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the keyring refused to store the SMTP password: {type(exc).__name__}") \
            from None


def configure_smtp(store: Store, settings: SmtpSettings, password: str | None = None) -> Path:
    """Set where letters sent by email are relayed (and its password, into the keyring).
    It decides which server carries children's letters, so only a supervisor may, and it
    is audited (``update`` of ``settings`` ``smtp``)."""
    store.authorise(Permission.APPROVE_REFERRALS, "update", "settings", "smtp",
                    doing="change how letters are sent by secure email")
    return _save_smtp(store, settings, password)


def configure_outbox_folder(store: Store, folder: str) -> Path:
    """Set the folder letters are saved to when sent to a folder (e.g. a secure shared
    drive; empty: none). It must be a folder the desk can write to. Supervisors only,
    audited, as for configure_smtp."""
    store.authorise(Permission.APPROVE_REFERRALS, "update", "settings", "outbox_folder",
                    doing="change the folder letters are saved to")
    chosen = str(folder).strip()
    if chosen:
        check_outbox_folder(chosen)
    return _save_outbox_folder(store, chosen)


def check_outbox_folder(folder: Path | str) -> Path:
    """The outbox folder as it will be kept, if the desk can save letters there now: a full
    path to a folder that exists and takes a file (written and removed again). Otherwise a
    SettingsProblem saying what is wrong with it."""
    text = str(folder).strip()
    path = Path(text).expanduser()
    if not text or not path.is_absolute():
        raise SettingsProblem("Give the full path of the outbox folder (for example one chosen with "
                              "'Choose…').")
    if not path.is_dir():
        raise SettingsProblem(f"The outbox folder {path} is not there. Choose a folder that exists (is the "
                              "shared drive connected?).")
    probe = path / f".spoa-desk-check-{secrets.token_hex(4)}"
    try:
        write_private_file(probe, b"")
        probe.unlink()
    except OSError as exc:
        raise SettingsProblem(f"The desk cannot save letters in {path} ({exc.strerror or 'not allowed'}). "
                              "Choose a folder you may write to.") from None
    return path


def configure_at_setup(store: Store, *, folder: str | None = None, smtp: SmtpSettings | None = None,
                       password: str | None = None) -> list[Path]:
    """Where letters go, chosen while the desk is set up (the desk's first-run wizard):
    the outbox folder, or secure email, or both, saved and audited as configure_outbox_folder
    and configure_smtp do, by the first administrator.

    Afterwards only a supervisor changes it. Setting up is not a supervisor's decision
    being taken away: no supervisor exists yet, and without this the question is first
    asked at an emergency 'Send now'. So it is allowed once, to the person who created the
    store, while its audit trail holds nothing but its creation; anything else is refused
    (and the refusal audited)."""
    if not folder and smtp is None:
        raise SettingsProblem("Choose an outbox folder or secure email settings, or set them later.")
    if not store.is_open:
        raise StoreError("The store is locked. Unlock it to carry on.")
    user = store.user
    trail = [tuple(row) for row in store.db.execute(
        "SELECT action, record_type, record_id, username FROM audit ORDER BY seq LIMIT 3").fetchall()]
    # What Store.init writes, and nothing since: this person has just created the store.
    name = user.username
    just_created = [("store_created", "", "", name), ("user_added", "user", name, name)]
    if trail != just_created:
        store.audit("update", "settings", "outbox_folder" if folder else "smtp", outcome="denied")
        raise NotAllowed(user.role, Permission.APPROVE_REFERRALS,
                         doing="choose where letters go once the desk is set up: a supervisor does that now")
    chosen = str(check_outbox_folder(folder)) if folder else ""
    saved = []
    if smtp is not None:
        saved.append(_save_smtp(store, smtp, password))
    if chosen:
        saved.append(_save_outbox_folder(store, chosen))
    return saved


def letters_can_leave(store_folder: Path) -> bool:
    """Whether this desk has somewhere to send letters: an outbox folder or secure email.
    Until it has, the desk's Today page tells everyone so."""
    return bool(DeskSettings.load(store_folder).outbox_folder) or SmtpSettings.load(store_folder) is not None


def _save_smtp(store: Store, settings: SmtpSettings, password: str | None) -> Path:
    if settings.username and password:
        set_smtp_password(settings.username, password)
    path = settings.save(store.folder)
    store.audit("update", "settings", "smtp")
    return path


def _save_outbox_folder(store: Store, chosen: str) -> Path:
    path = DeskSettings.load(store.folder).changed(outbox_folder=chosen).save(store.folder)
    store.audit("update", "settings", "outbox_folder")
    return path


def _smtp_password(username: str) -> str:
    try:
        check_backend()
        password = keyring.get_password(SMTP_KEYRING_SERVICE, username)
    except (KeyringUnavailable, keyring.errors.KeyringError) as exc:
        raise DeliveryProblem(f"The SMTP password cannot be read from the keyring: {exc}") from None
    if password is None:
        raise DeliveryProblem(f"The keyring holds no SMTP password for {username!r}; set it with "
                              "'spoa outbox smtp'.")
    return password


class SmtpTransport:
    """Send letters to a secure mail service over TLS (STARTTLS or implicit TLS), logging in
    with the password kept in the OS keyring. Never falls back to an unencrypted connection."""

    kind: ClassVar[str] = "smtp"

    def __init__(self, settings: SmtpSettings, to: str, *, ssl_context: ssl.SSLContext | None = None):
        if "@" not in to or any(ch in to for ch in "\r\n,;<>"):
            raise InvalidField("to", "must be one email address")
        self.settings = settings
        self.to = to.strip()
        self._context = ssl_context

    @property
    def destination(self) -> str:
        return self.to

    def context(self) -> ssl.SSLContext:
        if self._context is not None:
            return self._context
        return ssl.create_default_context(cafile=self.settings.cafile or None)

    def message(self, letter: OutgoingLetter) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = self.to
        message["Subject"] = letter.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = letter.message_id
        message["X-SPOA-Letter"] = letter.letter_id
        message["X-SPOA-Letter-SHA256"] = letter.sha256
        message.set_content(
            f"A confidential letter is attached (document {letter.letter_id}).\n\n"
            f"Its sha256 is {letter.sha256}: the sending hub can confirm that the attachment is the "
            "letter it issued.\n\nIf this message reached you by mistake, please tell the sender and "
            "delete it.\n")
        message.add_attachment(letter.pdf, maintype="application", subtype="pdf",
                               filename=f"{letter.letter_id}.pdf")
        return message

    def deliver(self, letter: OutgoingLetter) -> None:
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        message = self.message(letter)
        password = _smtp_password(settings.username) if settings.username else None
        try:
            if settings.security == "tls":
                client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                          context=self.context())
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            with client:
                if settings.security == "starttls":
                    client.ehlo()
                    if not client.has_extn("starttls"):
                        raise DeliveryProblem(f"The mail server {where} does not offer STARTTLS; the desk "
                                              "never sends letters unencrypted. Check the SMTP settings.")
                    client.starttls(context=self.context())
                    client.ehlo()
                if password is not None:
                    client.login(settings.username, password)
                client.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise DeliveryProblem(f"The mail server {where} refused the SMTP username or password; set "
                                  "them again with 'spoa outbox smtp'.") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            _refused_or_later(code, f"The mail server {where} refused the recipient {self.to}", text)
        except smtplib.SMTPDataError as exc:
            _refused_or_later(exc.smtp_code, f"The mail server {where} refused the letter", exc.smtp_error)
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryProblem(f"The mail server {where} presented a certificate that is not trusted "
                                  f"({exc.verify_message}); nothing was sent.") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryProblem(f"Could not reach the mail server {where}: {_reason(exc)}.") from None


def _refused_or_later(code: int, what: str, text: bytes | str) -> None:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if 500 <= int(code) < 600:
        raise DeliveryRefused(f"{what} ({code} {said}).")
    raise DeliveryProblem(f"{what} for now ({code} {said}); it will be tried again.")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (no network, or the server is down)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    said = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return said.rstrip(". ")


def transport_for(item: OutboxItem, *, folder: Path | None = None, smtp: SmtpSettings | None = None,
                  ssl_context: ssl.SSLContext | None = None) -> Transport:
    """The transport an item was queued for, rebuilt from what the outbox recorded."""
    if item.transport == FolderTransport.kind:
        return FolderTransport(item.destination)
    if item.transport == SmtpTransport.kind:
        settings = smtp or (SmtpSettings.load(folder) if folder is not None else None)
        if settings is None:
            raise DeliveryProblem("SMTP is not set up on this desk; set it up with 'spoa outbox smtp'.")
        return SmtpTransport(settings, item.destination, ssl_context=ssl_context)
    raise DeliveryProblem(f"Unknown transport {item.transport!r}.")


# -- the outbox table -----------------------------------------------------------------------------

_COLUMNS = ("id, letter_id, transport, destination, message_id, state, attempts, last_error, queued_at, "
            "queued_by, sent_at, claimed_until")


def _item(row: tuple) -> OutboxItem:
    return OutboxItem(row[0], row[1], row[2], row[3], row[4], OutboxState(row[5]), int(row[6]), row[7],
                      datetime.fromisoformat(row[8]), row[9], _instant(row[10]), _instant(row[11]))


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def get_item(db: Database, item_id: str) -> OutboxItem:
    row = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [item_id]).fetchone()  # noqa: S608
    if row is None:
        raise RecordNotFound(f"There is no outbox item with the id {item_id!r}.")
    return _item(row)


def list_items(store: Store, *, state: OutboxState | str | None = None) -> list[OutboxItem]:
    check_allowed(store, Permission.VIEW_RECORDS, "view", "outbox")
    where, params = "", []
    if state is not None:
        where, params = "WHERE state = ?", [OutboxState(state).value]
    rows = store.db.execute(f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY queued_at, id",  # noqa: S608
                            params).fetchall()
    store.audit("view", "outbox")
    return [_item(r) for r in rows]


def _insert(store: Store, letter_id: str, transport: Transport) -> str:
    """Queue inside the caller's transaction; the Message-ID is fixed here, once."""
    item_id = f"ob-{secrets.token_hex(8)}"
    store.db.execute(
        "INSERT INTO outbox (id, letter_id, transport, destination, message_id, state, queued_at, queued_by) "
        "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
        [item_id, letter_id, transport.kind, transport.destination, f"<{item_id}@{MESSAGE_ID_DOMAIN}>",
         _iso(_now()), store.user.username])
    store.audit("create", "outbox", item_id)
    return item_id


def queue_letter(store: Store, letter_id: str, transport: Transport, *,
                 deliver_now: bool = True) -> OutboxItem:
    """Put an issued letter (an outcome, not-accepted or advice letter, or a copy of a sent
    referral letter) in the outbox, and try to deliver it now."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "send", "letter", letter_id)
    letter = archive.get_letter(store.db, letter_id)
    if letter.referral_id and letter.kind in archive.REFERRAL_KINDS:
        state = get_referral(store.db, letter.referral_id).state
        if state not in (ReferralState.SENT, ReferralState.CLOSED):
            raise ReferralRefused(f"Letter {letter_id} is the letter of referral {letter.referral_id}, which "
                                  f"is {state.label}: send it with the referral ('spoa outbox send').")
    with records.transaction(store.db):
        item_id = _insert(store, letter_id, transport)
    return deliver(store, item_id, transport) if deliver_now else get_item(store.db, item_id)


def send_referral(store: Store, referral_id: str, transport: Transport, *, before_review: bool = False,
                  reason: str | None = None, hub: HubDetails | None = None, wording: Wording | None = None,
                  modules: ModuleLookup | None = None, deliver_now: bool = True) -> OutboxItem:
    """Send an approved referral's letter: issue it (once), queue it and mark the referral
    sent, together; then try to deliver it. ``before_review``: an emergency or very urgent
    referral leaves before a supervisor has approved it; its letter says so, and the
    referral waits for the supervisor's review."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "send", "referral", referral_id)
    db = store.db
    sendable(db, referral_id, before_review=before_review)  # refuse before building anything
    letter, _ = archive.issue_referral_letter(store, referral_id, before_review=before_review, hub=hub,
                                              wording=wording, modules=modules)
    with records.transaction(db):
        item_id = _insert(store, letter.id, transport)
        release(store, referral_id, before_review=before_review, reason=reason)
    if not deliver_now:
        return get_item(db, item_id)
    return deliver(store, item_id, transport)


def _claim(store: Store, item_id: str, now: datetime) -> OutboxItem | None:
    """Take the item for delivery, or None: already sent or failed, or another desk has it."""
    db = store.db
    with records.transaction(db):
        item = get_item(db, item_id)
        if item.state is not OutboxState.QUEUED:
            return None
        if item.claimed_until is not None and item.claimed_until > now:
            return None
        db.execute("UPDATE outbox SET attempts = attempts + 1, claimed_until = ? WHERE id = ?",
                   [_iso(now + timedelta(seconds=CLAIM_SECONDS)), item_id])
    return get_item(db, item_id)


def _record_sent(store: Store, item_id: str) -> None:
    with records.transaction(store.db):
        store.db.execute("UPDATE outbox SET state = 'sent', sent_at = ?, last_error = '', "
                         "claimed_until = NULL WHERE id = ? AND state = 'queued'", [_iso(_now()), item_id])
        store.audit("send", "outbox", item_id)


def _record_problem(store: Store, item_id: str, problem: str, *, refused: bool) -> None:
    with records.transaction(store.db):
        store.db.execute("UPDATE outbox SET state = ?, last_error = ?, claimed_until = NULL "
                         "WHERE id = ? AND state = 'queued'",
                         ["failed" if refused else "queued", problem[:2000], item_id])
        store.audit("send", "outbox", item_id, outcome="failed")


def deliver(store: Store, item_id: str, transport: Transport | None = None, *,
            now: datetime | None = None, smtp: SmtpSettings | None = None) -> OutboxItem:
    """Try to deliver one queued item now. An item already sent is left alone (never sent
    twice); a problem leaves it queued with the reason; a refusal marks it failed."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "send", "outbox", item_id)
    item = _claim(store, item_id, now or _now())
    if item is None:
        return get_item(store.db, item_id)
    try:
        chosen = transport or transport_for(item, folder=store.folder, smtp=smtp)
        if (chosen.kind, chosen.destination) != (item.transport, item.destination):
            raise DeliveryProblem(f"Item {item_id} was queued for {item.transport} to {item.destination}, "
                                  f"not {chosen.kind} to {chosen.destination}.")
        letter = archive.get_letter(store.db, item.letter_id)
        chosen.deliver(OutgoingLetter(item.id, item.message_id, letter.id, letter.kind, letter.sha256,
                                      archive.letter_pdf(store.db, letter.id)))
    except DeliveryRefused as exc:
        _record_problem(store, item_id, str(exc), refused=True)
    except (DeliveryProblem, InvalidField) as exc:
        _record_problem(store, item_id, str(exc), refused=False)
    else:
        _record_sent(store, item_id)
    return get_item(store.db, item_id)


def deliver_pending(store: Store, *, now: datetime | None = None, smtp: SmtpSettings | None = None,
                    ssl_context: ssl.SSLContext | None = None) -> list[OutboxItem]:
    """Retry every queued item (oldest first); returns them as they are afterwards."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "send", "outbox")
    ids = [r[0] for r in store.db.execute(
        "SELECT id FROM outbox WHERE state = 'queued' ORDER BY queued_at, id").fetchall()]
    done = []
    for item_id in ids:
        item = get_item(store.db, item_id)
        try:
            transport = transport_for(item, folder=store.folder, smtp=smtp, ssl_context=ssl_context)
        except DeliveryProblem as exc:
            if _claim(store, item_id, now or _now()) is not None:
                _record_problem(store, item_id, str(exc), refused=False)
            done.append(get_item(store.db, item_id))
            continue
        done.append(deliver(store, item_id, transport, now=now))
    return done


def requeue(store: Store, item_id: str) -> OutboxItem:
    """Put a failed item back in the queue once its cause is fixed (it keeps its Message-ID)."""
    check_allowed(store, Permission.DRAFT_REFERRALS, "update", "outbox", item_id)
    with records.transaction(store.db):
        item = get_item(store.db, item_id)
        if item.state is not OutboxState.FAILED:
            raise ReferralRefused(f"Outbox item {item_id} is {item.state.value}; only a failed item can be "
                                  "queued again." + (" It was sent: it is never sent twice."
                                                     if item.state is OutboxState.SENT else ""))
        store.db.execute("UPDATE outbox SET state = 'queued', claimed_until = NULL WHERE id = ?", [item_id])
        store.audit("update", "outbox", item_id)
    return get_item(store.db, item_id)
