"""The supervisor's queue and the letter preview: what is waiting, most urgent first; the
letter as it will be sent, built in memory and never issued; and its pages rendered as
images in the desk."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from spoa.letters import archive, outbox, queue, referrals
from spoa.letters.outbox import FolderTransport
from spoa.letters.referrals import ReferralState
from spoa.model import Urgency
from tests.world import EMERGENCY_ANSWERS, approved_referral, decided_session
from ui.letter_preview import LetterPreview


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def submitted(world, *, answers=None, service="camhs-core", override=("camhs", "routine", "Clinical view")):
    pat = world["pat"]
    session_id = decided_session(pat, answers=answers, override=override)
    referral = referrals.create_referral(pat, session_id, service, reason="Low mood at school")
    referrals.submit(pat, referral.id)
    return referral.id


# -- the core: queue and preview ---------------------------------------------------------------

def test_the_preview_is_the_letter_as_approval_will_issue_it_and_nothing_is_stored(desk_world):
    sam, pat = desk_world["sam"], desk_world["pat"]
    referral_id = submitted(desk_world)
    text = pdf_text(queue.preview_referral_letter(sam, referral_id))
    assert queue.PREVIEW_DOCUMENT_ID in text
    assert "Approved by Sam Supervisor" in text
    assert "Low mood at school" in text
    assert "Not yet approved" not in text
    # Nothing issued, nothing moved: the letter is made only when the referral is sent.
    assert archive.letters_of_referral(sam.db, referral_id) == []
    assert referrals.get_referral(sam.db, referral_id).state is ReferralState.AWAITING_APPROVAL
    # A practitioner's preview does not borrow a supervisor's name.
    assert "Not yet approved by a supervisor" in pdf_text(queue.preview_referral_letter(pat, referral_id))


def test_an_issued_letter_is_previewed_exactly_as_issued(desk_world):
    sam = desk_world["sam"]
    referral_id = approved_referral(desk_world)
    letter = archive.make_referral_letter(sam, referral_id)
    assert queue.preview_referral_letter(sam, referral_id) == archive.letter_pdf(sam.db, letter.id)


def test_the_queue_puts_the_most_urgent_first_then_reviews_after_an_early_send(desk_world, tmp_path):
    sam, pat = desk_world["sam"], desk_world["pat"]
    routine = submitted(desk_world)
    emergency = submitted(desk_world, answers=EMERGENCY_ANSWERS, service="camhs-crisis", override=None)
    early_session = decided_session(pat, answers=EMERGENCY_ANSWERS)
    early = referrals.create_referral(pat, early_session, "camhs-crisis").id
    outbox.send_referral(pat, early, FolderTransport(tmp_path), before_review=True)

    entries = queue.approval_queue(sam)
    ids = [entry.id for entry in entries]
    assert ids.index(emergency) < ids.index(routine) < ids.index(early)
    by_id = {entry.id: entry for entry in entries}
    assert by_id[early].waiting_for == queue.REVIEW
    assert by_id[routine].waiting_for == queue.APPROVAL
    assert by_id[emergency].referral.urgency is Urgency.EMERGENCY
    assert by_id[routine].submitted_by == "Pat Practitioner"
    assert by_id[routine].service_name == "Test CAMHS"
    assert by_id[routine].child_name == "Zoë Referralchild"
    assert by_id[routine].decision == "overridden"
    assert by_id[routine].override_reason == "Clinical view"
    assert by_id[emergency].rationale  # the rules that fired, in words
    # The early send's own letter is what the preview shows: the one that went.
    (letter,) = archive.letters_of_referral(sam.db, early)
    assert queue.preview_referral_letter(sam, early) == archive.letter_pdf(sam.db, letter.id)
    referrals.record_review(sam, early)
    assert early not in [entry.id for entry in queue.approval_queue(sam)]


def test_the_queue_is_for_people_who_may_view_records(desk_world):
    from spoa.roles import NotAllowed

    with pytest.raises(NotAllowed):
        queue.approval_queue(desk_world["admin"])


# -- the widget ----------------------------------------------------------------------------------

def dark_pixels(image, step: int = 7) -> int:
    return sum(1 for y in range(0, image.height(), step) for x in range(0, image.width(), step)
               if image.pixelColor(x, y).lightness() < 100)


def test_a_referral_letter_is_shown_as_its_pages_of_real_images(qtbot, desk_world, desk_as):
    session = desk_as("sam")
    data = queue.preview_referral_letter(desk_world["sam"], submitted(desk_world))
    pages = len(PdfReader(io.BytesIO(data)).pages)
    assert pages >= 2  # a referral letter runs over more than one page
    preview = LetterPreview(session)
    qtbot.addWidget(preview)
    preview.show()
    with qtbot.waitSignal(preview.rendered, timeout=20000) as shown:
        preview.show_pdf(data)
    assert shown.args == [pages]
    images = preview.page_images()
    assert len(images) == pages
    for image in images:
        assert not image.isNull()
        assert image.height() > image.width() > 500  # A4, portrait, at 100%
        assert dark_pixels(image) > 50  # printed text, not a blank page
    labels = preview.page_labels()
    assert [label.accessibleDescription() for label in labels] == [
        f"Page {n} of {pages} of the referral letter" for n in range(1, pages + 1)]
    assert f"{pages} pages" in preview.status.text()

    width = images[0].width()
    with qtbot.waitSignal(preview.rendered, timeout=20000):
        preview.step_zoom(+1)
    assert preview.page_images()[0].width() > width

    preview.clear()
    assert preview.page_count == 0
    assert not preview.has_letter
    assert preview.page_labels() == []


def test_a_letter_cleared_while_rendering_never_appears(qtbot, desk_world, desk_as):
    session = desk_as("sam")
    data = queue.preview_referral_letter(desk_world["sam"], submitted(desk_world))
    preview = LetterPreview(session)
    qtbot.addWidget(preview)
    preview.show_pdf(data)
    preview.clear()  # the desk locked, or another referral was chosen
    session.wait()
    qtbot.wait(50)
    assert preview.page_count == 0
    assert preview.status.text() == "No letter selected."


def test_bytes_that_are_not_a_pdf_say_so_without_their_content(qtbot, desk_as):
    preview = LetterPreview(desk_as("sam"))
    qtbot.addWidget(preview)
    preview.show_pdf(b"Zoe Secretname is not a PDF")
    qtbot.waitUntil(lambda: "could not be shown" in preview.status.text(), timeout=10000)
    assert "Secretname" not in preview.status.text()
    assert preview.page_count == 0
