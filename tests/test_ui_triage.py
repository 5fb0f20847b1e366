"""The triage call page, driven as a practitioner drives it: keyboard first, on the real
encrypted store of the synthetic world (tests/world.py), the shipped camhs_general module."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import Qt

from spoa.store import records
from tests.triage_page import (
    CHILD,
    WAIT,
    answer_by_keyboard,
    focused_question,
    make_page,
    start,
    stored_form,
    type_details,
)
from tests.world import ROUTINE_ANSWERS, VERY_URGENT_ANSWERS
from ui.triage.duplicates import DuplicateChoice, DuplicateDialog

pytestmark = pytest.mark.usefixtures("new_child_on_duplicates")


# -- the tests ---------------------------------------------------------------------------------


def test_full_keyboard_call_reaches_the_recommended_outcome_with_reasons(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    assert page.details.chosen_module().id == "camhs_general"
    assert "General CAMHS" in page.details.suggestion.text()
    start(qtbot, page)
    assert page.stack.currentIndex() == 1
    qtbot.waitUntil(lambda: focused_question(page) is page.live.questions.first(), timeout=WAIT)

    answer_by_keyboard(qtbot, page, ROUTINE_ANSWERS)

    session = page.live.session
    assert session.answers == stored_form(ROUTINE_ANSWERS)
    assert session.outcome.complete
    panel = page.live.panel
    assert panel.recommendation.text().startswith("School nursing, routine")
    assert "Outcome rule 'school_nursing' chose School nursing" in panel.rationale.text()
    assert page.decision.confirm_button.isEnabled()


def test_module_suggestion_follows_age_and_caller_and_the_user_may_choose_another(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    form = page.details
    form.fields["date_of_birth"].setFocus()
    qtbot.keyClicks(form.fields["date_of_birth"], "04/03/2012")
    form.fields["given_name"].setFocus()
    assert form.messages["date_of_birth"].text().startswith("Age 14 years")
    assert form.chosen_module().id == "camhs_general"
    other = form.module.findData("urgency_screen")
    form.module.setCurrentIndex(other)
    form.module.activated.emit(other)
    form.fields["referrer_type"].setCurrentIndex(form.fields["referrer_type"].findData("police"))
    assert form.chosen_module().id == "urgency_screen"  # the user's choice stands


def test_invalid_nhs_number_is_explained_without_repeating_it(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    form = page.details
    field = form.fields["nhs_number"]
    field.setFocus()
    qtbot.keyClicks(field, "999 876 5438")  # wrong check digit
    form.fields["postcode"].setFocus()
    message = form.messages["nhs_number"]
    assert message.isVisible()
    assert "check digit is wrong" in message.text()
    assert "5438" not in message.text()
    assert "999" not in message.text().replace("999 range", "")
    field.clear()
    field.setFocus()
    qtbot.keyClicks(field, "999 876 5439")
    form.fields["postcode"].setFocus()
    assert "test-range NHS number" in message.text()  # valid, with the test-range warning

    qtbot.keyClicks(form.fields["postcode"], "12345")
    form.fields["school"].setFocus()
    assert "A UK postcode looks like" in form.messages["postcode"].text()

    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)  # required fields missing
    assert page.stack.currentIndex() == 0
    assert form.messages["given_name"].text() == "Child's given name is required."
    assert "Check before starting" in page.save_status.text()
    assert page.contact_id is None


def test_possible_duplicates_shown_and_cancel_stores_nothing(qtbot, desk_as, desk_world, monkeypatch):
    page = make_page(qtbot, desk_as)
    start(qtbot, page, details={**CHILD, "given_name": "Dupla", "family_name": "Twicechild"})
    first_contact = page.contact_id
    asked = []
    monkeypatch.setattr(DuplicateDialog, "ask", classmethod(lambda cls, parent, found: asked.append(found)))
    again = make_page(qtbot, desk_as)
    type_details(qtbot, again, details={**CHILD, "given_name": "Dupla", "family_name": "Twicechild"})
    qtbot.mouseClick(again.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked), timeout=WAIT)
    again.session.wait()
    qtbot.waitUntil(lambda: again.start_button.isEnabled(), timeout=WAIT)
    assert any(d.given_name == "Dupla" for d in asked[0])
    assert again.contact_id is None
    assert again.stack.currentIndex() == 0
    assert "Not started" in again.save_status.text()

    # Using the child on record: the new contact is about that child.
    child_id = records.get_contact(desk_world["pat"].db, first_contact).child_id
    monkeypatch.setattr(DuplicateDialog, "ask",
                        classmethod(lambda cls, parent, found: DuplicateChoice(child_id)))
    qtbot.mouseClick(again.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.contact_id is not None, timeout=WAIT)
    assert records.get_contact(desk_world["pat"].db, again.contact_id).child_id == child_id


def test_skip_logic_hides_and_shows_questions_and_drops_hidden_answers(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    widgets = page.live.questions.widgets
    follow_up = widgets["self_harm_medical"]
    assert not follow_up.isVisible()
    harm = widgets["self_harm_recent"]
    page.live.questions.focus_question(harm)
    qtbot.keyClick(harm, "1")  # yes
    assert follow_up.isVisible()
    assert widgets["safe_adult_available"].isVisible()
    page.live.questions.focus_question(follow_up)
    qtbot.keyClick(follow_up, "1")
    assert page.live.session.answers["self_harm_medical"] is True
    page.live.questions.focus_question(harm)
    qtbot.keyClick(harm, "2")  # no: the follow-up goes, and so does its answer
    assert not follow_up.isVisible()
    assert "self_harm_medical" not in page.live.session.answers
    qtbot.keyClick(harm, "1")
    assert follow_up.isVisible()
    assert follow_up.value() is None  # back, empty

    # A whole section follows its condition too.
    eating = widgets["eating_affected"]
    assert not widgets["ed_weight_loss"].isVisible()
    page.live.questions.focus_question(eating)
    qtbot.keyClick(eating, "y")
    assert widgets["ed_weight_loss"].isVisible()
    assert page.live.questions.headers["eating"].isVisible()


def test_number_keys_pick_options_of_the_focused_question(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    widgets = page.live.questions.widgets
    attendance = widgets["school_attendance"]
    page.live.questions.focus_question(attendance)
    qtbot.keyClick(attendance, "3")
    assert page.live.session.answers["school_attendance"] == "mostly_absent"
    assert attendance.buttons[2].isChecked()
    qtbot.keyClick(attendance, Qt.Key.Key_Delete)
    assert "school_attendance" not in page.live.session.answers

    needs = widgets["presenting_needs"]
    page.live.questions.focus_question(needs)
    for key in ("1", "3", "3", "2"):
        qtbot.keyClick(needs, key)
    assert page.live.session.answers["presenting_needs"] == ("anxiety", "low_mood")
    for _ in range(10):  # the eleventh option is past the number keys
        qtbot.keyClick(needs, Qt.Key.Key_Down)
    qtbot.keyClick(needs, Qt.Key.Key_Space)
    assert page.live.session.answers["presenting_needs"][-1] == "other"

    support = widgets["current_support"]
    page.live.questions.focus_question(support)
    qtbot.keyClick(support, "0")  # none of these
    assert page.live.session.answers["current_support"] == ()
    assert not widgets["support_helping"].isVisible()

    # Progress follows the question the user is on.
    # (danger now first; the eating section is not asked, so 11 sections are shown)
    assert page.live.progress.text().startswith("Section 10 of 11 — Support already in place")
    assert "of 1 answered" in page.live.progress.text()


def test_typed_answers_are_checked_with_a_clear_message(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    weeks = page.live.questions.widgets["need_duration_weeks"]
    page.live.questions.focus_question(weeks)
    qtbot.keyClicks(weeks.focus_target(), "5000")
    page.live.questions.focus_question(page.live.questions.widgets["school_attendance"])
    assert weeks.problem.text() == "The answer must be between 0 and 936 weeks."
    assert "need_duration_weeks" not in page.live.session.answers
    weeks.focus_target().clear()
    qtbot.keyClicks(weeks.focus_target(), "800")  # a value check of the module: older than the child
    assert "longer than the child has been alive" in weeks.problem.text()
    assert "1 answer to check" in page.live.panel.missing.text()


def test_immediate_risk_shows_a_banner_with_the_action_to_take_now(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    banner = page.live.banner
    assert not banner.isVisible()
    for question_id, value in VERY_URGENT_ANSWERS.items():
        page.live.answer(question_id, value)
    assert banner.isVisible()
    assert banner.text().startswith("IMMEDIATE RISK — Suicidal plan or intent with access to means.")
    assert "Act now: Crisis or liaison assessment face to face within 4 hours" in banner.text()
    panel = page.live.panel
    assert panel.recommendation.text().startswith(
        "CAMHS, very urgent: seen within 4 hours (first contact within 1 hour)")
    assert panel.flag_texts()[0].startswith("IMMEDIATE: Suicidal plan or intent with access to means")
    page.live.answer("means_access", False)
    assert not banner.isVisible()
    assert panel.recommendation.text().startswith("CAMHS, urgent: seen within 24 hours")


def test_danger_now_comes_first_and_the_banner_shows_on_the_first_yes_by_keyboard(qtbot, desk_as):
    """The practitioner answers the first questions by keyboard alone: the danger-now screen
    is what the call opens on, and a "not known" raises the emergency banner at once."""
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    questions = page.live.questions
    first = questions.first()
    qtbot.waitUntil(lambda: focused_question(page) is first, timeout=WAIT)
    assert first is questions.widgets["now_harm"]
    assert page.live.progress.text().startswith("Section 1 of")
    assert "Danger now" in page.live.progress.text()
    qtbot.keyClick(first, "2")  # No
    assert page.live.session.answers["now_harm"] == "no"
    assert not page.live.banner.isVisible()
    qtbot.keyClick(first, Qt.Key.Key_Tab)
    acted = questions.widgets["now_acted"]
    assert focused_question(page) is acted
    qtbot.keyClick(acted, "3")  # Not known
    assert page.live.session.answers["now_acted"] == "not_known"
    banner = page.live.banner
    assert banner.isVisible()  # at once, before anything else is asked
    assert banner.text().startswith("IMMEDIATE RISK — Overdose, harmful substance or injury not yet "
                                    "medically seen.")
    assert "999" in banner.text()
    assert page.live.panel.recommendation.text().startswith(
        "Provisional — CAMHS, emergency: act now, respond within 1 hour")
    assert questions.widgets["now_seen"].isVisible()  # the follow-up is asked next
    assert questions.widgets["now_where"].isVisible()  # and where the child is, for 999


def test_side_panel_follows_every_answer(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    panel = page.live.panel
    assert panel.recommendation.text().startswith("Provisional — ")
    assert "required questions still to answer" in panel.missing.text()
    assert panel.no_flags.text() == "None raised so far."
    page.live.answer("school_attendance", "not_attending")
    assert "Impact on daily life: 3 (mild)" in panel.scores.text()
    page.live.answer("cp_plan", True)
    assert panel.flag_texts() == [
        "HIGH: Safeguarding concern — Is the child subject to a child protection plan?: Yes"]
    assert "Act now: Tell the hub's safeguarding lead today" in panel.rationale.text()
    page.live.answer("cp_plan", False)
    assert panel.flag_texts() == []


def test_a_draft_is_resumed_after_the_page_is_destroyed_mid_call(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    harm = page.live.questions.widgets["self_harm_recent"]
    page.live.questions.focus_question(harm)
    qtbot.keyClick(harm, "1")
    description = page.live.questions.widgets["presenting_description"]
    qtbot.keyClicks(description.focus_target(), "Worried since the summer.")
    assert page.autosave.isActive()  # saved about a second after the last change
    qtbot.waitUntil(lambda: page.save_status.text().startswith("Draft saved."), timeout=WAIT)
    state = page.state()
    assert set(state) == {"contact_id", "session_id"}
    page.close()
    page.deleteLater()  # the window is gone mid-call
    qtbot.waitUntil(lambda: not shiboken6.isValid(page), timeout=WAIT)

    again = make_page(qtbot, desk_as)
    again.restore({"session_id": state["session_id"]})
    qtbot.waitUntil(lambda: again.live.session is not None, timeout=WAIT)
    answers = again.live.session.answers
    assert answers["self_harm_recent"] is True
    assert answers["presenting_description"] == "Worried since the summer."
    widgets = again.live.questions.widgets
    assert widgets["self_harm_recent"].buttons[0].isChecked()
    assert widgets["presenting_description"].text() == "Worried since the summer."
    assert widgets["self_harm_medical"].isVisible()
    assert again.details.fields["given_name"].text() == "Robin"
    assert not again.details.fields["given_name"].isEnabled()

    # as the shell does after an unlock: state() back in
    fourth = make_page(qtbot, desk_as)
    fourth.restore(state)
    qtbot.waitUntil(lambda: fourth.state() == state, timeout=WAIT)

    # by contact too; and before_lock saves at once what the timer was waiting for
    third = make_page(qtbot, desk_as)
    third.restore({"contact_id": state["contact_id"]})
    qtbot.waitUntil(lambda: third.live.session is not None, timeout=WAIT)
    third.live.answer("cp_plan", True)
    third.before_lock()
    assert not third.autosave.isActive()
    third.session.wait()
    stored = records.get_triage_session(third.session.store.db, state["session_id"])
    assert stored.answers["cp_plan"] is True


def test_clear_empties_every_field(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    page.live.answer("cp_plan", True)
    page.clear()
    assert page.state() == {}
    assert page.stack.currentIndex() == 0
    assert all(w.currentIndex() == 0 if hasattr(w, "currentIndex") else w.text() == ""
               for w in page.details.fields.values())
    assert page.details.consent_notes.text() == ""
    assert page.live.session is None
    assert not page.live.questions.widgets
    assert page.live.panel.recommendation.text() == "No call in progress"
    assert not page.live.banner.isVisible()
    assert page.who.text() == ""
    assert page.save_status.text() == ""
    assert page.details.fields["given_name"].isEnabled()


def test_tab_moves_question_by_question_and_the_view_follows(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    questions = page.live.questions
    first = questions.first()
    qtbot.waitUntil(lambda: focused_question(page) is first, timeout=WAIT)
    qtbot.keyClick(first, Qt.Key.Key_Tab)  # options take no Tab stop: straight to the next question
    assert focused_question(page) is questions.widgets["now_acted"]
    assert questions.verticalScrollBar().value() == 0
    last = questions.widgets["consent_notes"]
    questions.focus_question(last)
    qtbot.waitUntil(lambda: questions.verticalScrollBar().value() > 0, timeout=WAIT)
    assert last.visibleRegion().boundingRect().height() > 0  # scrolled into view
    assert page.live.progress.text().startswith("Section 11 of 11 — Consent")


def test_new_call_keeps_this_one_saved_and_starts_afresh(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    session_id = page.session_id
    page.live.answer("cp_plan", True)
    qtbot.mouseClick(page.new_call_button, Qt.MouseButton.LeftButton)
    assert page.stack.currentIndex() == 0
    assert page.state() == {}
    assert page.details.fields["given_name"].text() == ""
    page.session.wait()
    assert records.get_triage_session(page.session.store.db, session_id).answers["cp_plan"] is True


def test_locking_mid_call_saves_it_and_unlocking_returns_to_it(qtbot, desk_as):
    from spoa.store.store import Store
    from tests.world import PASSWORDS

    page = make_page(qtbot, desk_as)
    start(qtbot, page)
    page.live.answer("looked_after", True)
    assert page.autosave.isActive()  # not saved yet when the lock comes
    state = page.state()
    page.before_lock()
    folder = page.session.folder
    page.session.lock()
    page.clear()  # as the shell does on 'locked'
    assert page.live.session is None
    assert page.details.fields["family_name"].text() == ""

    page.session.adopt(Store.unlock(folder, "pat", PASSWORDS["pat"]))
    page.restore(state)
    qtbot.waitUntil(lambda: page.live.session is not None, timeout=WAIT)
    assert page.live.session.answers["looked_after"] is True
    assert page.live.questions.widgets["looked_after"].buttons[0].isChecked()


def test_a_professional_asking_what_to_do_is_offered_the_advice_module(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    form = page.details
    type_details(qtbot, page, referrer="gp")
    assert form.asking_for_advice.isVisible()
    assert form.module.currentData() != "professional_advice"
    form.asking_for_advice.click()
    assert form.module.currentData() == "professional_advice"
    assert "advice request" in form.suggestion.text()
    combo = form.fields["referrer_type"]
    combo.setCurrentIndex(combo.findData("parent"))
    assert not form.asking_for_advice.isVisible()  # a parent's call is triaged
    assert form.module.currentData() != "professional_advice"


def test_the_duplicate_dialog_chooses_no_child_and_enter_stores_nothing(qtbot):
    """Enter on the duplicate dialog must never attach the call to a child the practitioner
    did not pick: nothing is preselected and the default button is Cancel."""
    from spoa.store.search import PossibleDuplicate

    found = [PossibleDuplicate("ch-1", "Robin", "Pagetest", "2012-03-04", "9998765439", ("same NHS number",)),
             PossibleDuplicate("ch-2", "Robyn", "Pagetest", "2012-03-04", None,
                               ("same name and birth date",))]
    dialog = DuplicateDialog(found)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.list.currentItem() is None
    assert not dialog.use_button.isEnabled()
    assert dialog.buttons["Cancel"].isDefault()
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.result() == DuplicateDialog.DialogCode.Rejected
    assert dialog.choice is None
    again = DuplicateDialog(found)
    qtbot.addWidget(again)
    again.show()
    again.list.setCurrentRow(1)
    assert again.use_button.isEnabled()
    qtbot.mouseClick(again.use_button, Qt.MouseButton.LeftButton)
    assert again.choice == DuplicateChoice("ch-2")


def test_the_call_heading_names_the_caller_as_a_sentence_says_it(qtbot, desk_as):
    page = make_page(qtbot, desk_as)
    start(qtbot, page, referrer="parent")
    assert " — call from a parent or carer — " in page.who.text()
    assert "Parent or carer" not in page.who.text()
