"""spoa.call: the triage call's details checked as typed, the module suggested for the child
and caller, possible duplicates before saving, and a saved call picked up again."""

from __future__ import annotations

from datetime import date

import pytest

from spoa import call, desk
from spoa.model import ReferrerType
from spoa.roles import NotAllowed
from spoa.rules.catalog import discover
from spoa.rules.errors import AnswerError
from spoa.store.records import ChildDraft, InvalidField, RecordError
from tests.conftest import MINIMAL_MODULE
from tests.world import ROUTINE_ANSWERS, camhs_general, contact_draft

TODAY = date(2026, 11, 22)


def shipped():
    return list(discover().modules.values())


# -- details as typed ---------------------------------------------------------------------------

def test_nhs_number_is_checked_and_the_message_never_repeats_it():
    wrong = call.check_field("nhs_number", "999 876 5438")
    assert not wrong.ok
    assert "check digit is wrong" in wrong.problem
    assert "5438" not in wrong.problem
    assert "876" not in wrong.problem
    short = call.check_field("nhs_number", "99987")
    assert short.problem.startswith("An NHS number has 10 digits; this one has 5.")
    right = call.check_field("nhs_number", "999-876-5439")
    assert right.value == "9998765439"
    assert "test-range NHS number" in right.note
    assert call.check_field("nhs_number", "").ok  # optional


def test_date_of_birth_gives_the_age_or_says_what_is_wrong():
    checked = call.check_field("date_of_birth", "04/03/2012", today=TODAY)
    assert checked.value == date(2012, 3, 4)
    assert checked.note == "Age 14 years (born 04 Mar 2012)."
    assert call.check_field("date_of_birth", "2025-11-22", today=TODAY).note.startswith("Age 1 year ")
    assert call.check_field("date_of_birth", "2027-01-01", today=TODAY).problem == (
        "Date of birth is in the future; check the date.")
    assert "31/02/2012" not in call.check_field("date_of_birth", "31/02/2012", today=TODAY).problem
    assert call.check_field("date_of_birth", "31/02/2012", today=TODAY).problem.startswith(
        "Date of birth must be a real date")
    assert "up to 25" in call.check_field("date_of_birth", "01/01/1990", today=TODAY).problem
    assert call.check_field("date_of_birth", "", today=TODAY).problem == "Date of birth is required."
    assert call.child_age("04/03/2012", today=TODAY) == 14
    assert call.child_age("not a date", today=TODAY) is None


def test_postcode_required_fields_and_caller():
    assert call.check_field("postcode", "zz11aa").value == "ZZ1 1AA"
    assert call.check_field("postcode", "12345").problem.startswith("A UK postcode looks like SW1A 1AA")
    assert call.check_field("given_name", "  ").problem == "Child's given name is required."
    assert call.check_field("given_name", "Zoë\x00").problem.startswith("Child's given name contains a NUL")
    assert call.check_field("referrer_type", "gp").value is ReferrerType.GP
    assert call.check_field("referrer_type", "").problem == "Who is calling is required."
    assert "kinds of caller" in call.check_field("referrer_type", "wizard").problem
    problems = {name: c.problem for name, c in call.check_details({"given_name": "Zoë"}).items() if c.problem}
    assert set(problems) == {"referrer_type", "family_name", "date_of_birth"}


def test_build_draft_from_the_form():
    values = {"referrer_type": "school_nurse", "referrer_name": " Nurse Test ", "given_name": "Zoë",
              "family_name": "Draftchild", "date_of_birth": "04/03/2012", "nhs_number": "9998765439",
              "postcode": "zz1 1aa"}
    draft = call.build_draft(values, {"status": "given", "given_by": "", "notes": ""}, today=TODAY)
    assert draft.referrer_type is ReferrerType.SCHOOL_NURSE
    assert draft.referrer_name == "Nurse Test"
    assert draft.child.postcode == "ZZ1 1AA"
    assert draft.child.date_of_birth == date(2012, 3, 4)
    assert draft.consent == {"status": "given"}  # empty entries are not stored
    on_record = call.build_draft({"referrer_type": "gp"}, child_id="ch-1", today=TODAY)
    assert on_record.child is None
    assert on_record.child_id == "ch-1"
    with pytest.raises(InvalidField) as raised:
        call.build_draft({**values, "nhs_number": "9998765438"}, today=TODAY)
    assert raised.value.field == "nhs_number"


def test_typed_answers_take_uk_dates():
    question = camhs_general().questions["last_self_harm_date"]
    assert call.parse_answer(question, "01/11/2026") == date(2026, 11, 1)
    assert call.parse_answer(question, "2026-11-01") == date(2026, 11, 1)
    with pytest.raises(AnswerError):
        call.parse_answer(question, "31/02/2026")
    weeks = camhs_general().questions["need_duration_weeks"]
    with pytest.raises(AnswerError, match="between 0 and 936 weeks"):
        call.parse_answer(weeks, "1000")


# -- which module --------------------------------------------------------------------------------

def test_the_general_module_is_suggested_for_a_school_age_child_from_a_gp():
    suggestion = call.suggest_module(shipped(), child_age=14, referrer="gp")
    assert suggestion.suggested.id == "camhs_general"
    assert suggestion.why.startswith("Suggested: General CAMHS SPA triage (example), which covers age 14 "
                                     "and calls from a GP.")
    # the advice-request module has its own screen: listed, never suggested for a call
    assert [f.module.id for f in suggestion.fits][-1] == "professional_advice"
    advice = call.suggest_module(shipped(), child_age=14, referrer="gp", kind="advice")
    assert advice.suggested.id == "professional_advice"  # fewest kinds of caller: most specific


def test_no_module_fits_says_so():
    suggestion = call.suggest_module(shipped(), child_age=30, referrer="gp")
    assert suggestion.suggested is None
    assert suggestion.why.startswith("No module is meant for this child's age and this caller")
    assert all(not f.fits for f in suggestion.fits)
    assert "for ages 0 to 18; the child is 30" in suggestion.fits[0].why
    parent = call.module_fit(discover().get("professional_advice"), 10, "parent")
    assert not parent.fits
    assert parent.why == "not for calls from a parent or carer"


def test_a_module_made_for_this_age_and_caller_wins(write_module):
    from spoa.rules.loading import load_module

    under_fives_text = (MINIMAL_MODULE.replace("id: mini", "id: under_fives")
                        .replace("age_range: {min: 0, max: 18}", "age_range: {min: 0, max: 4}"))
    police_text = (MINIMAL_MODULE.replace("id: mini", "id: police_calls")
                   .replace("author: Test suite", "author: Test suite\nreferrers: [police]"))
    under_fives = load_module(write_module(under_fives_text, name="under_fives"))
    police = load_module(write_module(police_text, name="police"))
    modules = [*shipped(), under_fives, police]
    assert call.suggest_module(modules, child_age=3, referrer="parent").suggested.id == "under_fives"
    assert call.suggest_module(modules, child_age=9, referrer="police").suggested.id == "police_calls"
    assert call.suggest_module(modules, child_age=9, referrer="gp").suggested.id == "camhs_general"
    # age not known yet: any module that takes the caller
    unknown = call.suggest_module(modules, child_age=None, referrer=None)
    assert unknown.suggested is not None
    assert "any age" in unknown.why


# -- duplicates and resuming -------------------------------------------------------------------

def test_possible_duplicates_are_found_before_anything_is_stored(desk_world):
    pat, admin = desk_world["pat"], desk_world["admin"]
    child = ChildDraft("Dupe", "Beforesave", date_of_birth="2013-05-06", nhs_number="9990001200")
    assert call.find_possible_duplicates(pat, child) == []
    desk.add_contact(pat, contact_draft(given="Dupe", family="Beforesave", dob="2013-05-06"))
    found = call.find_possible_duplicates(pat, child)
    assert [d.given_name for d in found] == ["Dupe"]
    assert found[0].reasons
    with pytest.raises(NotAllowed):
        call.find_possible_duplicates(admin, child)


def test_a_saved_call_is_resumed_by_session_or_contact(desk_world):
    pat = desk_world["pat"]
    module = camhs_general()
    added = desk.add_contact(pat, contact_draft(given="Resume", family="Callchild"), module=module,
                             answers={"cp_plan": "yes"})
    session_id = added.triage.session_id
    desk.save_triage(pat, added.contact_id, module, {**ROUTINE_ANSWERS}, session_id=session_id)
    resumed = call.resume_call(pat, {module.id: module}, session_id=session_id)
    assert resumed.contact.id == added.contact_id
    assert resumed.child.given_name == "Resume"
    assert resumed.session.answers["school_attendance"] == "reduced"
    assert resumed.session.outcome.complete
    assert resumed.session.context.child_age == 14
    by_contact = call.resume_call(pat, {module.id: module}, contact_id=added.contact_id)
    assert by_contact.record.id == session_id

    with pytest.raises(RecordError, match="is not installed or does not load on this desk"):
        call.resume_call(pat, {}, session_id=session_id)
    with pytest.raises(RecordError, match="Give either"):
        call.resume_call(pat, {module.id: module})
    bare = desk.add_contact(pat, contact_draft(given="No", family="Sessionchild"))
    with pytest.raises(RecordError, match="has no triage session to resume"):
        call.resume_call(pat, {module.id: module}, contact_id=bare.contact_id)


def test_the_referrals_of_a_session(desk_world):
    from spoa.letters import referrals
    from tests.world import decided_session

    pat, admin = desk_world["pat"], desk_world["admin"]
    session_id = decided_session(pat, given="Refer", family="Listchild")
    assert call.referrals_of_session(pat, session_id) == []
    made = referrals.create_referral(pat, session_id, "school-nursing")
    assert [r.id for r in call.referrals_of_session(pat, session_id)] == [made.id]
    with pytest.raises(NotAllowed):
        call.referrals_of_session(admin, session_id)


# -- parents or carers, as the contact file has them ---------------------------------------------

def test_the_desk_has_the_contact_files_carer_fields_and_checks_them_as_the_file_reader_does():
    from spoa.store.records import CARER_FIELDS, child_row

    assert tuple(call.CARER_FIELDS) == CARER_FIELDS
    assert call.check_carer_field("name", " Alex Carer ").value == "Alex Carer"
    assert call.check_carer_field("name", "", index=1).problem == "Parent or carer 2: name is required."
    assert call.check_carer_field("phone", "").ok  # optional, as in the file
    long_phone = call.check_carer_field("phone", "0" * 1001)
    assert long_phone.problem == ("Parent or carer 1: phone is 1,001 characters long; the limit is 1,000.")
    broken = call.check_carer_field("relationship", "mo\nther")
    assert broken.problem.startswith("Parent or carer 1: relationship to the child must be one line")
    # the same refusals from the file reader's path, naming the same field
    for field, text in (("phone", "0" * 1001), ("relationship", "mo\nther")):
        with pytest.raises(InvalidField) as raised:
            child_row(ChildDraft("Zoë", "Filechild", carers=[{"name": "Alex", field: text}]))
        assert raised.value.field == f"carers[0].{field}"


def test_build_draft_keeps_the_parents_or_carers_and_a_several_line_address():
    values = {"referrer_type": "parent", "given_name": "Zoë", "family_name": "Carerchild",
              "date_of_birth": "04/03/2012", "address": "1 Synthetic Street\nTesttown"}
    typed = [{"name": " Alex Carer ", "relationship": "mother", "phone": "07700 900123"},
             {"name": "", "relationship": "", "phone": " "},  # added and left empty: not kept
             {"name": "Sam Carer", "relationship": "", "phone": ""}]
    draft = call.build_draft(values, carers=typed, today=TODAY)
    assert draft.child.address == "1 Synthetic Street\nTesttown"
    assert list(draft.child.carers) == [
        {"name": "Alex Carer", "relationship": "mother", "phone": "07700 900123"},
        {"name": "Sam Carer", "relationship": "", "phone": ""}]
    with pytest.raises(InvalidField) as raised:
        call.build_draft(values, carers=[{"name": "Alex"}, {"phone": "07700 900123"}], today=TODAY)
    assert raised.value.field == "carers[1].name"


def test_carers_kept_in_a_form_draft_come_back_as_typed():
    typed = [{"name": "Alex Carer", "relationship": "mother", "phone": "07700 900123"},
             {"name": "", "relationship": "", "phone": ""}]
    text = call.carers_as_text(typed)
    assert call.carers_from_text(text) == typed[:1]
    assert call.carers_as_text([{"name": " "}]) == ""
    assert call.carers_from_text("") == []
    assert call.carers_from_text("not json") == []
    assert call.carers_from_text('{"name": "x"}') == []
