"""The outbox page, driven as a user would: a queued letter sent to a folder with 'Send
queued now'; a letter the mail server refused shown with its reason, put back in the
queue with Retry and sent once the email settings are right; and where letters go,
saved beside the store (the SMTP password in the keyring)."""

from __future__ import annotations

import keyring
import pytest
from PySide6.QtCore import Qt

from spoa.letters import archive, outbox
from spoa.letters.outbox import (
    SMTP_KEYRING_SERVICE,
    FolderTransport,
    OutboxState,
    SmtpSettings,
    SmtpTransport,
)
from spoa.roles import NotAllowed
from spoa.settings import DeskSettings
from tests.test_outbox import (  # a real SMTP server on 127.0.0.1 with TLS
    SMTP_PASSWORD,
    SMTP_USER,
    TO,
    certificate,  # noqa: F401  (fixture)
    client_context,  # noqa: F401  (fixture)
    copies,
    free_port,
    settings,
    smtp_server,  # noqa: F401  (fixture)
)
from tests.world import approved_referral
from ui.pages.outbox import OutboxPage, OutboxTableModel


def open_page(qtbot, session, item_id=None) -> OutboxPage:
    page = OutboxPage(session)
    qtbot.addWidget(page)
    page.show()
    page.restore({"item_id": item_id} if item_id else {})
    if item_id:
        qtbot.waitUntil(lambda: page.selected_id() == item_id, timeout=20000)
    else:
        qtbot.waitUntil(lambda: page.status.text() != "", timeout=20000)
    return page


def shown(page, item_id, column):
    return page.model.index(page.model.row_of(item_id), column).data()


def test_a_queued_letter_goes_to_the_folder_with_send_queued_now(qtbot, desk_world, desk_as, tmp_path,
                                                                 qtmodeltester):
    pat = desk_world["pat"]
    folder = tmp_path / "shared-drive"
    folder.mkdir()
    referral_id = approved_referral(desk_world)
    queued = outbox.send_referral(pat, referral_id, FolderTransport(folder), deliver_now=False)
    page = open_page(qtbot, desk_as("sam"), queued.id)
    qtmodeltester.check(page.model)
    # What the letter is and for whom, in words, not its id.
    assert shown(page, queued.id, 0) == "Referral to CAMHS for Zoë Referralchild"
    assert shown(page, queued.id, 1) == "queued"
    assert shown(page, queued.id, 2) == "folder"
    assert shown(page, queued.id, 3) == str(folder)
    assert not page.retry_button.isEnabled()  # only failed letters are retried
    assert list(folder.iterdir()) == []

    qtbot.mouseClick(page.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(page, queued.id, 1) == "sent", timeout=20000)
    assert "sent" in page.status.text()
    (letter,) = archive.letters_of_referral(pat.db, referral_id)
    (written,) = folder.iterdir()
    assert written.read_bytes() == archive.letter_pdf(pat.db, letter.id)
    assert shown(page, queued.id, 6) != "—"  # when it was sent
    assert page.selected_id() == queued.id
    assert page.state() == {"item_id": queued.id}

    page.clear()
    assert page.model.rowCount() == 0
    qtmodeltester.check(page.model)


def test_a_refused_letter_shows_why_is_retried_and_goes_once_email_is_set_up(
        qtbot, desk_world, desk_as, smtp_server, client_context, certificate):  # noqa: F811
    pat = desk_world["pat"]
    port = free_port()
    _, inbox = smtp_server(port)
    inbox.refuse_recipients = True
    keyring.set_password(SMTP_KEYRING_SERVICE, SMTP_USER, SMTP_PASSWORD)
    referral_id = approved_referral(desk_world)
    transport = SmtpTransport(settings(port), TO, ssl_context=client_context)
    refused = outbox.send_referral(pat, referral_id, transport)
    assert refused.state is OutboxState.FAILED
    keyring.delete_password(SMTP_KEYRING_SERVICE, SMTP_USER)  # the page sets it below

    session = desk_as("sam")
    page = open_page(qtbot, session, refused.id)
    assert shown(page, refused.id, 1) == "failed"
    assert shown(page, refused.id, 2) == "email"
    assert "550" in shown(page, refused.id, 8)
    assert TO in shown(page, refused.id, 8)
    assert page.retry_button.isEnabled()
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(page, refused.id, 1) == "queued", timeout=20000)
    assert outbox.get_item(pat.db, refused.id).state is OutboxState.QUEUED
    assert "queued again" in page.status.text()
    assert not page.retry_button.isEnabled()

    # The mailbox exists now; the desk's email settings are typed in on the page.
    inbox.refuse_recipients = False
    form = page.settings
    form.host.setText("127.0.0.1")
    form.port.setValue(port)
    form.from_address.setText("spa@hub.example")
    form.username.setText(SMTP_USER)
    qtbot.keyClicks(form.password, SMTP_PASSWORD)
    form.cafile.setText(str(certificate[0]))
    qtbot.mouseClick(form.save_smtp_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "saved" in form.status.text(), timeout=20000)
    assert form.password.text() == ""
    assert keyring.get_password(SMTP_KEYRING_SERVICE, SMTP_USER) == SMTP_PASSWORD
    saved = SmtpSettings.load(session.folder)
    assert (saved.host, saved.port, saved.username) == ("127.0.0.1", port, SMTP_USER)
    assert saved.security == "starttls"
    assert SMTP_PASSWORD not in (session.folder / "smtp.json").read_text(encoding="utf-8")

    qtbot.mouseClick(page.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(page, refused.id, 1) == "sent", timeout=30000)
    assert len(copies(inbox, refused)) == 1


def test_the_outbox_folder_is_kept_beside_the_store_and_shown_again(qtbot, desk_as, tmp_path):
    session = desk_as("sam")
    page = open_page(qtbot, session)
    chosen = str(tmp_path / "secure drive")
    (tmp_path / "secure drive").mkdir()  # the desk saves only a folder it can write to
    page.settings.folder.path.setText(chosen)
    qtbot.mouseClick(page.settings.save_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chosen in page.settings.status.text(), timeout=20000)
    assert DeskSettings.load(session.folder).outbox_folder == chosen

    again = open_page(qtbot, session)
    qtbot.waitUntil(lambda: again.settings.folder.path.text() == chosen, timeout=20000)


def test_only_a_supervisor_changes_where_letters_go_and_it_is_audited(qtbot, desk_as, desk_world, tmp_path):
    practitioner = open_page(qtbot, desk_as("pat"))
    for button in (practitioner.settings.save_folder_button, practitioner.settings.save_smtp_button):
        assert not button.isEnabled()
        assert "Only a supervisor" in button.toolTip()
    pat = desk_world["pat"]
    with pytest.raises(NotAllowed):  # the core refuses too, and audits the refusal
        outbox.configure_outbox_folder(pat, str(tmp_path / "elsewhere"))
    refused = pat.db.execute("SELECT username, action, record_type, record_id, outcome FROM audit "
                             "ORDER BY seq DESC LIMIT 1").fetchone()
    assert refused == ("pat", "update", "settings", "outbox_folder", "denied")
    sam = desk_world["sam"]
    (tmp_path / "drive").mkdir()
    outbox.configure_outbox_folder(sam, str(tmp_path / "drive"))
    done = sam.db.execute("SELECT username, action, record_type, record_id, outcome FROM audit "
                          "ORDER BY seq DESC LIMIT 1").fetchone()
    assert done == ("sam", "update", "settings", "outbox_folder", "ok")


def test_email_settings_that_cannot_work_are_refused_and_nothing_is_saved(qtbot, desk_as, problems):
    session = desk_as("sam")
    page = open_page(qtbot, session)
    before = (session.folder / "smtp.json").read_bytes() if (session.folder / "smtp.json").exists() else None
    form = page.settings
    form.host.setText("mail.hub.example")
    form.from_address.setText("not an address")
    qtbot.mouseClick(form.save_smtp_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(problems), timeout=20000)
    assert "from_address" in problems[0]
    assert "email address" in problems[0]
    after = (session.folder / "smtp.json").read_bytes() if (session.folder / "smtp.json").exists() else None
    assert after == before
    assert form.host.text() == "mail.hub.example"  # what was typed stays, to be corrected


def test_the_outbox_model_passes_the_model_tester(desk_world, qtmodeltester):
    model = OutboxTableModel()
    qtmodeltester.check(model)
    model.set_items(outbox.list_items(desk_world["sam"]))
    qtmodeltester.check(model)
    model.clear()
    assert model.rowCount() == 0
