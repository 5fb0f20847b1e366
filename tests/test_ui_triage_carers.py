"""The New contact details form's address and parents or carers, driven by keyboard as a
practitioner types them during a call: kept with the contact, shown again when it is
reopened, kept in the form's draft, and printed in the letter the contact leads to (read
back with pypdf). Synthetic people; NHS numbers in the 999 test range."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from spoa import desk, drafts
from spoa.letters import assemble, referrals
from spoa.store import records
from tests.test_letters_pdf import read
from tests.triage_page import (
    CHILD,
    PARENT,
    WAIT,
    add_parent_by_keyboard,
    make_page,
    type_address,
    type_details,
)
from tests.world import ROUTINE_ANSWERS, camhs_general

pytestmark = pytest.mark.usefixtures("new_child_on_duplicates")

def test_a_two_line_address_and_a_parent_are_kept_shown_again_and_named_in_the_letter(
        qtbot, desk_as, desk_world):
    page = make_page(qtbot, desk_as)
    form = page.details
    type_details(qtbot, page, {**CHILD, "family_name": "Carerdesk"})
    type_address(qtbot, form)
    box = add_parent_by_keyboard(qtbot, form)
    assert box.title() == "Parent or carer 1"
    assert box.fields["name"].accessibleName() == "Parent or carer 1: name (required)"
    assert box.remove_button.accessibleName() == "Remove parent or carer 1"
    assert form.fields["address"].accessibleName() == "Address"
    assert not box.messages["name"].isVisible()

    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.session_id is not None and page.live.session is not None, timeout=WAIT)
    contact_id, session_id = page.contact_id, page.session_id

    pat, sam = desk_world["pat"], desk_world["sam"]
    contact = records.get_contact(pat.db, contact_id)
    child = records.get_child(pat.db, contact.child_id)
    assert child.address == "1 Synthetic Street\nTesttown"
    assert child.carers == (records.Carer(**PARENT),)

    # reopened: the address on its two lines and the parent, read only like the rest
    again = make_page(qtbot, desk_as)
    again.restore({"contact_id": contact_id})
    qtbot.waitUntil(lambda: again.live.session is not None, timeout=WAIT)
    assert again.details.fields["address"].text() == "1 Synthetic Street\nTesttown"
    assert again.details.carers.carers() == [PARENT]
    shown = again.details.carers.boxes[0]
    assert not shown.fields["name"].isEnabled()
    assert not again.details.carers.add_button.isVisible()
    assert not shown.remove_button.isVisible()

    # the letter this contact leads to names the parent and how to reach them
    desk.save_triage(pat, contact_id, camhs_general(), ROUTINE_ANSWERS, session_id=session_id)
    desk.override_outcome(pat, session_id, "camhs", "routine", "Clinical view: CAMHS is better placed")
    referral = referrals.create_referral(pat, session_id, "camhs-core", reason="Worries at school")
    referrals.submit(pat, referral.id)
    referrals.approve(sam, referral.id)
    letter = read(assemble.referral_content(pat.db, referral.id, document_id="lt-carer").content)
    assert "Alex Carertest (mother)" in letter.text
    assert "07700 900123" in letter.text
    assert "1 Synthetic Street Testtown" in letter.text


def test_parents_are_checked_as_typed_and_before_the_call_starts(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    form = page.details
    type_details(qtbot, page, {**CHILD, "family_name": "Carercheck"})
    box = add_parent_by_keyboard(qtbot, form, {"name": "A", "relationship": "father",
                                               "phone": "07700 900456"})
    name = box.fields["name"]
    name.setFocus()
    qtbot.keyClick(name, Qt.Key.Key_Backspace)  # the name taken away again
    assert box.messages["name"].isVisible()
    assert box.messages["name"].text() == "Parent or carer 1: name is required."
    assert "07700" not in box.messages["name"].text()

    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert page.save_status.text() == "Check before starting: parent or carer 1's name."
    assert QApplication.focusWidget() is name
    assert page.session_id is None
    qtbot.keyClicks(name, "Sam Carertest")
    assert not box.messages["name"].isVisible()


def test_parents_are_added_and_removed_by_keyboard_and_tab_follows_the_screen(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    form = page.details
    section = form.carers
    assert section.none_yet.isVisible()
    form.fields["gp_practice"].setFocus()
    qtbot.keyClick(form.fields["gp_practice"], Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is section.add_button  # nobody added yet

    first = add_parent_by_keyboard(qtbot, form)
    second = add_parent_by_keyboard(qtbot, form, {"name": "Sam Carertest", "relationship": "father",
                                                  "phone": "07700 900456"})
    assert [b.title() for b in section.boxes] == ["Parent or carer 1", "Parent or carer 2"]
    qtbot.keyClick(second.fields["phone"], Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is second.remove_button
    qtbot.keyClick(second.remove_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is section.add_button

    first.remove_button.setFocus()
    qtbot.keyClick(first.remove_button, Qt.Key.Key_Space)
    assert section.carers() == [{"name": "Sam Carertest", "relationship": "father", "phone": "07700 900456"}]
    assert section.boxes == [second]
    assert second.title() == "Parent or carer 1"
    assert QApplication.focusWidget() is second.fields["name"]  # the next person, not lost focus
    second.remove_button.setFocus()
    qtbot.keyClick(second.remove_button, Qt.Key.Key_Space)
    assert section.carers() == []
    assert QApplication.focusWidget() is section.add_button
    assert not form.has_typing()


def test_the_address_and_parents_are_kept_in_the_forms_draft_and_cleared(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    form = page.details
    type_address(qtbot, form)
    add_parent_by_keyboard(qtbot, form)
    assert form.has_typing()
    # what before_lock keeps, as spoa.drafts would keep it, filled into another form
    kept = drafts.clean_form_fields(drafts.CALL_DETAILS, form.typed_values())
    other = make_page(qtbot, desk_as)
    other.details.fill(kept)
    assert other.details.fields["address"].text() == "1 Synthetic Street\nTesttown"
    assert other.details.carers.carers() == [PARENT]

    page.clear()
    assert form.fields["address"].text() == ""
    assert form.carers.carers() == []
    assert not form.has_typing()
