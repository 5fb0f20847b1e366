"""The supervisor's approval page, driven as a supervisor would: the queue most urgent
first, the letter as it will be sent, approve, return with a reason, review an early send,
and export a day's approved letters with progress and a working Cancel."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from spoa.letters import archive, batch_export, outbox, queue, referrals
from spoa.letters.outbox import FolderTransport
from spoa.letters.referrals import ReferralState
from tests.world import EMERGENCY_ANSWERS, HOSTILE, approved_referral, decided_session
from ui.approval_dialogs import ApproveDialog, ReturnDialog, ReviewDialog
from ui.export_dialog import ExportDayDialog, Notice
from ui.pages.approval import ApprovalPage, ApprovalQueueModel


def submitted(world, *, answers=None, service="camhs-core", override=("camhs", "routine", "Clinical view")):
    pat = world["pat"]
    session_id = decided_session(pat, answers=answers, override=override)
    referral = referrals.create_referral(pat, session_id, service, reason="Low mood " + HOSTILE)
    referrals.submit(pat, referral.id)
    return referral.id


@pytest.fixture
def notices(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(Notice, "show", classmethod(lambda cls, title, message: shown.append(message)))
    return shown


def answer(monkeypatch, dialog, value):
    asked = []

    def ask(cls, parent, referral_id):
        asked.append(referral_id)
        return value

    monkeypatch.setattr(dialog, "ask", classmethod(ask))
    return asked


@pytest.fixture
def practitioner(desk_as):
    """A desk signed in as pat, with its own connection."""
    return desk_as("pat")


def open_page(qtbot, session, referral_id=None) -> ApprovalPage:
    page = ApprovalPage(session)
    qtbot.addWidget(page)
    page.show()
    if referral_id:
        page.restore({"referral_id": referral_id})
        qtbot.waitUntil(lambda: page.selected_id() == referral_id, timeout=20000)
    else:
        page.refresh()
        qtbot.waitUntil(lambda: page.status.text() != "", timeout=20000)  # the queue is loaded
    return page


def test_selecting_a_referral_shows_its_decision_and_the_letter_as_it_will_be_sent(
        qtbot, desk_world, desk_as, qtmodeltester):
    referral_id = submitted(desk_world)
    page = open_page(qtbot, desk_as("sam"), referral_id)
    qtmodeltester.check(page.model)
    row = page.model.row_of(referral_id)
    assert page.model.index(row, 0).data() == "Zoë Referralchild"
    assert page.model.index(row, 1).data() == "Test CAMHS"
    assert page.model.index(row, 2).data() == "Routine"
    assert page.model.index(row, 4).data() == "Pat Practitioner"
    details = page.details.toPlainText()
    assert "Override reason: Clinical view" in details
    assert "Rationale:" in details
    assert HOSTILE in details  # typed markup shown as typed
    qtbot.waitUntil(lambda: page.preview.page_count >= 2, timeout=20000)
    assert all(not image.isNull() for image in page.preview.page_images())
    assert page.state() == {"referral_id": referral_id}
    assert page.approve_button.isEnabled()
    assert page.return_button.isEnabled()
    assert not page.review_button.isEnabled()

    page.clear()
    assert page.model.rowCount() == 0
    assert page.preview.page_count == 0
    assert page.details.toPlainText() == ""
    qtmodeltester.check(page.model)


def test_a_row_clicked_with_the_mouse_can_be_approved(qtbot, desk_world, desk_as):
    """A click makes the row current before it is selected; the actions follow the selection."""
    referral_id = submitted(desk_world)
    page = open_page(qtbot, desk_as("sam"))
    page.table.clearSelection()
    assert not page.approve_button.isEnabled()
    row = page.model.row_of(referral_id)
    rect = page.table.visualRect(page.model.index(row, 0))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.selected_id() == referral_id
    assert page.approve_button.isEnabled()
    assert page.return_button.isEnabled()


def test_a_referral_asked_for_while_the_list_reloads_stays_selected(qtbot, desk_world, desk_as):
    """Opened from Today while the page was already showing: the reload must not drop it."""
    first, second = submitted(desk_world), submitted(desk_world)
    page = open_page(qtbot, desk_as("sam"), first)
    page.refresh()  # what the shell does when it shows the page...
    page.restore({"referral_id": second})  # ...then the referral asked for
    page.session.wait()
    qtbot.waitUntil(lambda: page.status.text() != "" and page.selected_id() == second, timeout=20000)
    qtbot.wait(50)
    assert page.selected_id() == second
    assert "Referral " + second in page.details.toPlainText()


def test_the_most_urgent_referral_comes_first(qtbot, desk_world, desk_as):
    routine = submitted(desk_world)
    emergency = submitted(desk_world, answers=EMERGENCY_ANSWERS, service="camhs-crisis", override=None)
    page = open_page(qtbot, desk_as("sam"), routine)
    ids = page.model.ids()
    assert ids.index(emergency) < ids.index(routine)
    assert page.model.index(page.model.row_of(emergency), 2).data() == "Emergency"


def test_approving_from_the_page_takes_it_out_of_the_queue(qtbot, desk_world, desk_as, monkeypatch):
    referral_id = submitted(desk_world)
    asked = answer(monkeypatch, ApproveDialog, "Checked with the duty clinician")
    page = open_page(qtbot, desk_as("sam"), referral_id)
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: referral_id not in page.model.ids() and page.model.rowCount() > 0, timeout=20000)
    assert asked == [referral_id]
    referral = referrals.get_referral(desk_world["sam"].db, referral_id)
    assert referral.state is ReferralState.APPROVED
    assert referral.step(ReferralState.APPROVED).reason == "Checked with the duty clinician"
    assert referral.step(ReferralState.APPROVED).username == "sam"
    assert "approved" in page.status.text()
    assert page.selected_id() is None
    assert page.preview.page_count == 0


def test_returning_needs_a_reason_and_the_practitioner_gets_it(qtbot, desk_world, desk_as, monkeypatch,
                                                               problems):
    # The dialog itself will not return without a reason.
    dialog = ReturnDialog("rf-x")
    qtbot.addWidget(dialog)
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.text, "   ")
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.text, "Needs the school's view")
    assert dialog.ok.isEnabled()

    referral_id = submitted(desk_world)
    page = open_page(qtbot, desk_as("sam"), referral_id)
    answer(monkeypatch, ReturnDialog, "   ")  # and if a blank one got through, the core refuses it
    qtbot.mouseClick(page.return_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(problems), timeout=20000)
    assert "return_reason" in problems[0] or "reason" in problems[0].lower()
    sam = desk_world["sam"]
    assert referrals.get_referral(sam.db, referral_id).state is ReferralState.AWAITING_APPROVAL
    qtbot.waitUntil(lambda: page.selected_id() == referral_id, timeout=20000)  # still there, still chosen

    answer(monkeypatch, ReturnDialog, "Needs the school's view")
    qtbot.mouseClick(page.return_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: referral_id not in page.model.ids(), timeout=20000)
    returned = referrals.get_referral(sam.db, referral_id)
    assert returned.state is ReferralState.RETURNED
    assert returned.return_reason == "Needs the school's view"


def test_a_practitioner_is_refused_by_the_core_even_if_the_action_is_reached(
        qtbot, desk_world, practitioner, monkeypatch, problems):
    referral_id = submitted(desk_world)
    page = open_page(qtbot, practitioner, referral_id)
    assert not page.approve_button.isEnabled()
    assert not page.return_button.isEnabled()
    assert not page.export_button.isEnabled()
    assert "cannot approve or return referrals" in page.approve_button.toolTip()
    answer(monkeypatch, ApproveDialog, "")
    page.approve_selected()  # as if the disabled button had been pressed
    qtbot.waitUntil(lambda: bool(problems), timeout=20000)
    assert problems == ["A practitioner cannot approve or return referrals. Ask a colleague whose role "
                        "allows it."]
    assert referrals.get_referral(desk_world["sam"].db, referral_id).state is ReferralState.AWAITING_APPROVAL


def test_a_supervisor_who_edited_the_referral_is_refused_from_the_page_in_words(
        qtbot, desk_world, desk_as, monkeypatch, problems):
    """Issue 12, item 10: Sam rewrote the practitioner's reason, so Sam is one of its authors:
    the page does not offer Approve, says why, and the core refuses it all the same."""
    pat, sam = desk_world["pat"], desk_world["sam"]
    session_id = decided_session(pat, override=("camhs", "routine", "Clinical view"))
    referral = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood")
    referrals.update_referral(sam, referral.id, reason="Low mood; not sleeping; school worried.")
    referrals.submit(pat, referral.id)
    answer(monkeypatch, ApproveDialog, "Looks right")
    page = open_page(qtbot, desk_as("sam"), referral.id)
    assert not page.approve_button.isEnabled()
    assert page.approve_button.toolTip() == ("You edited this referral, so another supervisor must "
                                             "check it.")
    assert page.return_button.isEnabled()  # sending it back for changes is not a check
    page.approve_selected()  # as a shortcut would: the core decides, and says why
    qtbot.waitUntil(lambda: bool(problems), timeout=20000)
    assert problems == [f"You edited referral {referral.id}, so another supervisor must approve it: "
                        "a referral is always checked by a second person."]
    assert referrals.get_referral(sam.db, referral.id).state is ReferralState.AWAITING_APPROVAL
    page.session.wait()  # the reload after the refusal
    qtbot.waitUntil(lambda: referral.id in page.model.ids(), timeout=20000)  # waits for another supervisor


def test_a_referral_sent_before_review_is_reviewed_from_the_page(qtbot, desk_world, desk_as, monkeypatch,
                                                                 tmp_path):
    pat = desk_world["pat"]
    early = referrals.create_referral(pat, decided_session(pat, answers=EMERGENCY_ANSWERS), "camhs-crisis").id
    outbox.send_referral(pat, early, FolderTransport(tmp_path), before_review=True)
    answer(monkeypatch, ReviewDialog, "Right call; crisis team have it")
    page = open_page(qtbot, desk_as("sam"), early)
    assert "review" in page.model.index(page.model.row_of(early), 6).data()
    assert page.review_button.isEnabled()
    assert not page.approve_button.isEnabled()
    # The preview is the letter that went, exactly.
    qtbot.waitUntil(lambda: page.preview.page_count >= 1, timeout=20000)
    qtbot.mouseClick(page.review_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: early not in page.model.ids(), timeout=20000)
    referral = referrals.get_referral(pat.db, early)
    assert not referral.review_pending
    assert referral.step(referrals.REVIEWED).reason == "Right call; crisis team have it"


# -- batch export ------------------------------------------------------------------------------------

def whole_issued_letters(sam, files) -> None:
    for path in files:
        data = path.read_bytes()
        assert len(PdfReader(io.BytesIO(data)).pages) >= 1
        assert archive.verify_letter_bytes(sam.db, data).issued  # byte for byte as issued


def start_export(qtbot, page, monkeypatch, folder):
    today = datetime.now(UTC).date()
    monkeypatch.setattr(ExportDayDialog, "ask", classmethod(lambda cls, parent, folder_="": (today, folder)))
    seen: list[tuple[int, int]] = []
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    page._export.progressed.connect(lambda done, total: seen.append((done, total)))
    return seen


def test_cancelling_an_export_stops_early_and_leaves_whole_files(qtbot, desk_world, desk_as, monkeypatch,
                                                                 notices, tmp_path):
    for _ in range(6):
        approved_referral(desk_world)
    page = open_page(qtbot, desk_as("sam"))
    folder = tmp_path / "letters"
    seen = start_export(qtbot, page, monkeypatch, folder)
    assert page._export.dialog.isVisible()
    assert not page.export_button.isEnabled()  # one export at a time

    def cancel_after_the_first(done: int, _total: int) -> None:
        if done == 1:  # "Written 1 of 7 letters…": the supervisor presses Cancel
            qtbot.mouseClick(page._export.dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)

    page._export.progressed.connect(cancel_after_the_first)
    qtbot.waitUntil(lambda: bool(notices), timeout=60000)
    total = seen[0][1]
    written = sorted(folder.glob("*.pdf"))
    assert len(written) == 1  # stopped where the supervisor saw it
    assert notices[0].startswith(f"Export cancelled: {len(written)} of {total} letters")
    assert sorted(folder.iterdir()) == written  # no half-written or temporary file left
    whole_issued_letters(desk_world["sam"], written)
    assert not page._export.dialog.isVisible()
    assert page.export_button.isEnabled()


def test_exporting_a_day_shows_progress_to_the_total_and_a_summary(qtbot, desk_world, desk_as, monkeypatch,
                                                                   notices, tmp_path):
    approved_referral(desk_world)
    page = open_page(qtbot, desk_as("sam"))
    folder = tmp_path / "day"
    seen = start_export(qtbot, page, monkeypatch, folder)
    qtbot.waitUntil(lambda: bool(notices), timeout=60000)
    sam = desk_world["sam"]
    total = len(batch_export.approved_on(sam.db, datetime.now(UTC).date()))
    assert seen[0] == (0, total)
    assert seen[-1] == (total, total)
    written = sorted(folder.glob("*.pdf"))
    assert len(written) == total
    assert notices == [page.status.text()]
    assert notices[0].startswith("The letter of the 1 referral approved on " if total == 1
                                 else f"The {total} letters of the referrals approved on ")
    whole_issued_letters(sam, written)


def test_the_queue_model_with_entries_passes_the_model_tester(desk_world, qtmodeltester):
    submitted(desk_world)
    model = ApprovalQueueModel()
    model.set_entries(queue.approval_queue(desk_world["sam"]))
    assert model.rowCount() > 0
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)


def test_locking_during_an_export_stops_it_with_whole_files_and_clears_the_page(
        qtbot, desk_world, desk_as, monkeypatch, notices, tmp_path):
    approved_referral(desk_world)
    session = desk_as("sam")
    page = open_page(qtbot, session)
    folder = tmp_path / "locked"
    start_export(qtbot, page, monkeypatch, folder)
    page.before_lock()  # the idle timer ran out: the shell asks every page first
    session.lock()
    page.clear()
    assert page._export is None
    assert page.model.rowCount() == 0
    assert not page.export_button.isEnabled()  # locked: nobody may export
    assert notices == []  # the result of work cut short by a lock is not shown on a locked desk
    whole_issued_letters(desk_world["sam"], sorted(folder.glob("*.pdf")))
    assert all(path.suffix == ".pdf" for path in folder.iterdir())

