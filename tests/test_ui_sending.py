"""Approved referrals leave from the desk (issue 10, item 2): approve, the letter issued,
queued to where this desk sends letters, sent, with the referral following; approved while
letters cannot leave, it waits and the Outbox page's "Send queued now" sends it later.

A module of its own: its desk world starts with no outbox set and no approved referral."""

from __future__ import annotations

from pypdf import PdfReader
from PySide6.QtCore import Qt

from spoa.letters import outbox, referrals
from spoa.letters.referrals import ReferralState
from tests.test_ui_approval import answer, open_page, submitted
from ui.approval_dialogs import ApproveDialog


def test_an_approved_referral_leaves_from_the_desk_as_it_is_approved(qtbot, desk_world, desk_as, monkeypatch,
                                                                      tmp_path, request):
    sam = desk_world["sam"]
    folder = tmp_path / "secure-drive"
    folder.mkdir()
    outbox.configure_outbox_folder(sam, str(folder))
    request.addfinalizer(lambda: outbox.configure_outbox_folder(sam, ""))  # the world is shared
    referral_id = submitted(desk_world)
    answer(monkeypatch, ApproveDialog, "Right service")
    page = open_page(qtbot, desk_as("sam"), referral_id)
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "approved and its letter sent" in page.status.text(), timeout=20000)
    assert page.status.text() == f"Referral {referral_id} approved and its letter sent to {folder}."
    assert referrals.get_referral(sam.db, referral_id).state is ReferralState.SENT
    (letter,) = [p for p in folder.iterdir() if p.suffix == ".pdf"]
    assert "Approved by Sam Supervisor" in "".join(p.extract_text() for p in PdfReader(letter).pages)


def test_approved_while_letters_cannot_leave_it_waits_and_the_outbox_sends_it_later(
        qtbot, desk_world, desk_as, monkeypatch, tmp_path, request):
    from ui.pages.outbox import OutboxPage

    sam = desk_world["sam"]
    assert not outbox.letters_can_leave(sam.folder)
    referral_id = submitted(desk_world)
    answer(monkeypatch, ApproveDialog, "Right service")
    page = open_page(qtbot, desk_as("sam"), referral_id)
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Letters cannot leave yet" in page.status.text(), timeout=20000)
    assert page.status.text().startswith(f"Referral {referral_id} approved. Letters cannot leave yet")
    assert referrals.get_referral(sam.db, referral_id).state is ReferralState.APPROVED

    folder = tmp_path / "secure-drive"
    folder.mkdir()
    outbox.configure_outbox_folder(sam, str(folder))
    request.addfinalizer(lambda: outbox.configure_outbox_folder(sam, ""))
    desk = OutboxPage(page.session)
    qtbot.addWidget(desk)
    desk.show()
    desk.refresh()
    qtbot.waitUntil(lambda: desk.status.text() != "", timeout=20000)
    qtbot.mouseClick(desk.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "sent," in desk.status.text(), timeout=20000)
    assert desk.status.text() == "1 sent, 0 still queued, 0 failed."  # this world's one approved
    assert referrals.get_referral(sam.db, referral_id).state is ReferralState.SENT
    assert [p.suffix for p in folder.iterdir()] == [".pdf"]
