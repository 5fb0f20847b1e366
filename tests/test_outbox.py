"""The outbox: letters saved to a folder or sent to a real SMTP server (aiosmtpd on
127.0.0.1, TLS with a certificate made here), queued while the server is down, never
lost, never sent twice, and batch export for supervisors with progress and cancel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import ipaddress
import json
import os
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from spoa.letters import archive, batch_export, outbox, referrals
from spoa.letters.outbox import (
    FolderTransport,
    OutboxState,
    SmtpSettings,
    SmtpTransport,
    set_smtp_password,
)
from spoa.letters.referrals import ReferralRefused
from spoa.roles import NotAllowed
from tests.world import approved_referral

SMTP_USER, SMTP_PASSWORD = "hub-desk", "smtp pass for tests"  # synthetic
TO = "crisis@c.ex"


# -- a real SMTP server on this machine --------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with cryptography for this run."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def client_context(certificate):
    """What the desk trusts: the test certificate, with hostname checks on."""
    return ssl.create_default_context(cafile=str(certificate[0]))


class Inbox:
    """The receiving mail system: keeps every message it accepted."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse_recipients = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and (auth_data.login, auth_data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode()))
    return AuthResult(success=ok, handled=False)  # the server answers 535 when not ok


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(certificate):
    """start(port, implicit_tls=False, tls=True) -> (controller, inbox); all stopped afterwards."""
    started = []

    def start(port: int, *, implicit_tls: bool = False, tls: bool = True):
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(*map(str, certificate))
        inbox = Inbox()
        # aiosmtpd does not count implicit TLS as TLS for AUTH; the connection is TLS anyway.
        options = {"authenticator": _authenticate, "auth_require_tls": tls and not implicit_tls}
        if implicit_tls:
            options["ssl_context"] = server_context
        elif tls:
            options.update(tls_context=server_context, require_starttls=True)
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return controller, inbox

    yield start
    for controller in started:
        controller.stop()


def settings(port: int, security: str = "starttls") -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, from_address="spa@hub.example", username=SMTP_USER,
                        security=security, timeout=5)


@pytest.fixture
def smtp_password():
    set_smtp_password(SMTP_USER, SMTP_PASSWORD)


def copies(inbox: Inbox, item) -> list:
    """The messages the server accepted for this outbox item (by its Message-ID)."""
    return [m for m in inbox.messages if m["Message-ID"] == item.message_id]


def attachment(message) -> bytes:
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    return part.get_content()


# -- folder ------------------------------------------------------------------------------------

def test_folder_transport_is_private_atomic_and_never_twice(desk_world, tmp_path, monkeypatch):
    pat = desk_world["pat"]
    drop = tmp_path / "shared-drive"
    drop.mkdir()
    referral_id = approved_referral(desk_world)
    item = outbox.send_referral(pat, referral_id, FolderTransport(drop))
    assert (item.state, item.attempts, item.transport, item.destination) == (
        OutboxState.SENT, 1, "folder", str(drop))
    (written,) = list(drop.iterdir())
    assert written.name.endswith(f"-{item.id}.pdf")
    assert written.stat().st_mode & 0o777 == 0o600
    letter = archive.letters_of_referral(pat.db, referral_id)[0]
    assert written.read_bytes() == archive.letter_pdf(pat.db, letter.id)
    before = written.stat().st_mtime_ns

    # Retried after success: nothing happens, nothing is written.
    assert outbox.deliver(pat, item.id) == item
    assert item.id not in [i.id for i in outbox.deliver_pending(pat)]
    assert written.stat().st_mtime_ns == before
    assert outbox.get_item(pat.db, item.id) == item

    # Interrupted mid-write (the disk fails before the data is safe): no file, no partial
    # file, the item stays queued with the reason, and a retry delivers it whole.
    other = approved_referral(desk_world)

    def failing_fsync(descriptor):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    stuck = outbox.send_referral(pat, other, FolderTransport(drop))
    monkeypatch.undo()
    assert stuck.state is OutboxState.QUEUED
    assert "Input/output error" in stuck.last_error
    assert [p.name for p in drop.iterdir()] == [written.name]
    assert referrals.get_referral(pat.db, other).state.value == "sent"  # queued: not lost
    retried = {i.id: i for i in outbox.deliver_pending(pat)}
    assert retried[stuck.id].state is OutboxState.SENT
    assert retried[stuck.id].attempts == 2
    assert len(list(drop.iterdir())) == 2

    # The shared drive is not there: queued with the reason.
    gone = outbox.send_referral(pat, approved_referral(desk_world), FolderTransport(tmp_path / "unmounted"))
    assert gone.state is OutboxState.QUEUED
    assert "is not there (is the shared drive connected?)" in gone.last_error


# -- SMTP ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_smtp_delivers_over_tls_with_the_keyring_password(desk_world, smtp_server, client_context,
                                                          smtp_password, security, tmp_path):
    pat = desk_world["pat"]
    port = free_port()
    _, inbox = smtp_server(port, implicit_tls=security == "tls")
    referral_id = approved_referral(desk_world)
    transport = SmtpTransport(settings(port, security), TO, ssl_context=client_context)
    item = outbox.send_referral(pat, referral_id, transport)
    assert item.state is OutboxState.SENT, item.last_error
    (message,) = copies(inbox, item)
    letter = archive.letters_of_referral(pat.db, referral_id)[0]
    assert message["Message-ID"] == item.message_id == f"<{item.id}@spoa-desk.invalid>"
    assert message["To"] == TO
    assert message["From"] == "spa@hub.example"
    assert message["X-SPOA-Letter-SHA256"].strip() == letter.sha256
    assert "Referralchild" not in message["Subject"]
    assert letter.id in message["Subject"]
    assert attachment(message) == archive.letter_pdf(pat.db, letter.id)
    # Never sent twice: a retry of a sent item does nothing.
    outbox.deliver(pat, item.id, transport)
    outbox.deliver_pending(pat, smtp=settings(port, security), ssl_context=client_context)
    assert len(copies(inbox, item)) == 1
    # The settings file holds no password: that is in the keyring only.
    saved = settings(port, security).save(tmp_path)
    assert SMTP_PASSWORD not in saved.read_text()
    assert json.loads(saved.read_text())["username"] == SMTP_USER
    assert SmtpSettings.load(tmp_path) == settings(port, security)


def test_server_down_then_up_sends_exactly_once(desk_world, smtp_server, client_context,
                                                smtp_password):
    pat = desk_world["pat"]
    port = free_port()  # nothing listens here yet: connection refused
    referral_id = approved_referral(desk_world)
    transport = SmtpTransport(settings(port), TO, ssl_context=client_context)
    item = outbox.send_referral(pat, referral_id, transport)
    assert item.state is OutboxState.QUEUED
    assert item.attempts == 1
    assert "connection refused" in item.last_error
    assert f"127.0.0.1:{port}" in item.last_error
    assert [i.id for i in outbox.list_items(pat, state="queued")].count(item.id) == 1

    again = {i.id: i for i in outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context)}
    assert again[item.id].state is OutboxState.QUEUED
    assert again[item.id].attempts == 2

    _, inbox = smtp_server(port)
    done = {i.id: i for i in outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context)}
    assert done[item.id].state is OutboxState.SENT
    assert done[item.id].last_error == ""
    outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context)
    assert len(copies(inbox, item)) == 1


def test_a_crash_after_the_server_took_it_resends_with_the_same_message_id(
        desk_world, smtp_server, client_context, smtp_password, monkeypatch):
    """The one window no sender can close: the server accepted the message, then the desk
    died before recording it. The item is not lost; after its claim runs out it is sent
    again with the same Message-ID, so the copy is recognisable; then never again."""
    pat = desk_world["pat"]
    port = free_port()
    _, inbox = smtp_server(port)
    referral_id = approved_referral(desk_world)
    transport = SmtpTransport(settings(port), TO, ssl_context=client_context)
    item = outbox.send_referral(pat, referral_id, transport, deliver_now=False)
    assert item.state is OutboxState.QUEUED
    assert item.attempts == 0

    def power_cut(store, item_id):
        raise SystemExit("the desk died here")

    monkeypatch.setattr(outbox, "_record_sent", power_cut)
    with pytest.raises(SystemExit):
        outbox.deliver(pat, item.id, transport)
    monkeypatch.undo()
    claimed = outbox.get_item(pat.db, item.id)
    assert claimed.state is OutboxState.QUEUED
    assert claimed.claimed_until is not None
    assert len(copies(inbox, item)) == 1

    # While the claim holds, no other attempt delivers it (no second desk at the same time).
    outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context)
    assert len(copies(inbox, item)) == 1
    later = datetime.now(UTC) + timedelta(seconds=outbox.CLAIM_SECONDS + 60)
    outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context, now=later)
    assert len(copies(inbox, item)) == 2  # the same Message-ID twice: a recognisable copy
    final = outbox.get_item(pat.db, item.id)
    assert (final.state, final.attempts, final.claimed_until) == (OutboxState.SENT, 2, None)
    outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context, now=later)
    assert len(copies(inbox, item)) == 2


def test_refusals_and_problems_are_said_in_words(desk_world, smtp_server, client_context,
                                                 smtp_password, certificate):
    pat = desk_world["pat"]
    port = free_port()
    _, inbox = smtp_server(port)
    inbox.refuse_recipients = True
    referral_id = approved_referral(desk_world)
    transport = SmtpTransport(settings(port), TO, ssl_context=client_context)
    item = outbox.send_referral(pat, referral_id, transport)
    assert item.state is OutboxState.FAILED
    assert "550" in item.last_error
    assert TO in item.last_error
    inbox.refuse_recipients = False
    outbox.deliver_pending(pat, smtp=settings(port), ssl_context=client_context)
    assert outbox.get_item(pat.db, item.id).state is OutboxState.FAILED  # failed waits for a person
    assert outbox.requeue(pat, item.id).state is OutboxState.QUEUED
    sent = outbox.deliver(pat, item.id, SmtpTransport(settings(port), TO, ssl_context=client_context))
    assert sent.state is OutboxState.SENT
    assert len(copies(inbox, item)) == 1
    with pytest.raises(ReferralRefused, match="never sent twice"):
        outbox.requeue(pat, item.id)

    # A certificate the desk does not trust, a wrong password, a server without STARTTLS:
    # each stays queued with the reason, and nothing goes out unencrypted.
    untrusting = ssl.create_default_context()
    for transport, expected in (
            (SmtpTransport(settings(port), TO, ssl_context=untrusting), "certificate that is not trusted"),
            (SmtpTransport(dataclasses.replace(settings(port), username="someone-else"), TO,
                           ssl_context=client_context), "holds no SMTP password"),
    ):
        queued = outbox.queue_letter(pat, archive.letters_of_referral(pat.db, referral_id)[0].id, transport)
        assert queued.state is OutboxState.QUEUED
        assert expected in queued.last_error
    set_smtp_password(SMTP_USER, "not the password")
    wrong = outbox.queue_letter(pat, archive.letters_of_referral(pat.db, referral_id)[0].id,
                                SmtpTransport(settings(port), TO, ssl_context=client_context))
    assert "refused the SMTP username or password" in wrong.last_error
    plain_port = free_port()
    smtp_server(plain_port, tls=False)
    clear = outbox.queue_letter(pat, archive.letters_of_referral(pat.db, referral_id)[0].id,
                                SmtpTransport(settings(plain_port), TO, ssl_context=client_context))
    assert clear.state is OutboxState.QUEUED
    assert "does not offer STARTTLS" in clear.last_error
    assert len(copies(inbox, item)) == 1


# -- batch export ----------------------------------------------------------------------------------

def test_batch_export_of_a_day_with_progress_and_cancel(desk_world, tmp_path):
    pat, sam = desk_world["pat"], desk_world["sam"]
    mine = [approved_referral(desk_world) for _ in range(3)]
    today = datetime.now(UTC).date()
    expected = batch_export.approved_on(sam.db, today)
    assert set(mine) <= set(expected)
    with pytest.raises(NotAllowed, match="export letters"):
        batch_export.export_day(pat, today, tmp_path / "no")

    calls = []
    report = batch_export.export_day(sam, today, tmp_path / "all",
                               progress=lambda done, total: calls.append((done, total)))
    total = len(expected)
    assert calls == [(i, total) for i in range(total + 1)]
    assert (report.total, report.done, report.cancelled) == (total, total, False)
    for path in report.files:
        assert path.stat().st_mode & 0o777 == 0o600
        found = archive.verify_letter_file(sam.db, path)
        assert found.issued
        assert found.letter.referral_id in expected
    assert {archive.verify_letter_file(sam.db, p).letter.referral_id for p in report.files} == set(expected)

    # Cancelled after two letters (a callable), or at once (an Event): whole files only.
    seen = []
    stopped = batch_export.export_day(sam, today, tmp_path / "some", progress=lambda d, t: seen.append(d),
                                cancel=lambda: len(seen) > 2)
    assert (stopped.done, stopped.cancelled) == (2, True)
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == sorted(p.name for p in stopped.files)
    event = threading.Event()
    event.set()
    assert batch_export.export_day(sam, today, tmp_path / "none", cancel=event).done == 0
    assert batch_export.export_day(sam, dt.date(2020, 1, 1), tmp_path / "empty").total == 0
