"""Finding contacts by child name, NHS number, date of birth, school or referrer, whatever
the case, accents or Unicode form; queries are text, never FTS syntax; possible duplicates."""

import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoa.store import records, search
from spoa.store.keys import MINIMUM_KDF
from spoa.store.records import ChildDraft, ContactDraft
from spoa.store.search import SAME_NAME_AND_BIRTH_DATE, SAME_NHS_NUMBER, fold, match_expression
from spoa.store.store import Store
from tests.conftest import ADMIN_PASSWORD


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One store for the module; each test uses family names of its own."""
    store, _ = Store.init(tmp_path_factory.mktemp("search") / "store", admin_username="admin",
                          admin_display_name="Admin", admin_password=ADMIN_PASSWORD,
                          use_keyring=False, kdf=MINIMUM_KDF)
    yield store.db
    store.lock()


def add(db, given_name, family_name, *, dob=None, nhs=None, school="", referrer="",
        organisation=""):
    child_id = records.create_child(db, ChildDraft(given_name, family_name, date_of_birth=dob,
                                                   nhs_number=nhs, school=school), by="pat")
    contact_id = records.create_contact(db, ContactDraft(
        referrer_type="gp", referrer_name=referrer, referrer_organisation=organisation,
        received_at=datetime(2026, 11, 20, tzinfo=UTC)), child_id=child_id, by="pat")
    return child_id, contact_id


def found(db, text):
    return set(search.find_contacts(db, text))


def test_case_accents_and_unicode_form_do_not_matter(db):
    _, composed = add(db, "Zoë", "Quillfeather")
    _, typed_decomposed = add(db, unicodedata.normalize("NFD", "Zoë"), "Quillfeathers")
    _, plain = add(db, "Zoe", "Quillfeathery")
    everyone = {composed, typed_decomposed, plain}
    assert found(db, "zoe quillfeather") == everyone  # every word is a prefix
    assert found(db, "Zoë Quillfeather") == everyone
    assert found(db, "ZOË QUILLFEATHER") == everyone
    assert found(db, unicodedata.normalize("NFD", "Zoë") + " quillfeather") == everyone
    assert found(db, "zoe quillfeathers") == {typed_decomposed}
    assert found(db, "Zoé Quillfeathery") == {plain}


def test_other_scripts_and_letters_that_fold(db):
    _, istanbul = add(db, "İpek", "Straße-Łukasiewicz")
    assert found(db, "ipek strasse") == {istanbul}
    assert found(db, "ipek strasse-lukasiewicz") == {istanbul}
    _, soren = add(db, "Søren", "Ðorđević")
    assert found(db, "soren dordevic") == {soren}
    assert found(db, "IPEK") >= {istanbul}
    _, greek = add(db, "Ζωή", "Παπαδοπούλου")
    assert found(db, "ζωη παπαδοπουλου") == {greek}
    _, hidden = add(db, "Mi\u200bra", "Zerowidth")  # a zero-width space typed into the name
    assert found(db, "mira zerowidth") == {hidden}


def test_nhs_number_with_or_without_spaces(db):
    _, contact = add(db, "Nhs", "Numbered", nhs="999 000 0018")
    for typed in ("9990000018", "999 000 0018", "999-000-0018", "999 0000018", "999 000", "0018"):
        assert contact in found(db, typed), typed
    assert contact not in found(db, "9990000019")


def test_date_of_birth_as_iso_or_as_written_in_the_uk(db):
    _, contact = add(db, "Dobby", "Birthdate", dob="2011-07-09")
    for typed in ("2011-07-09", "09/07/2011", "9/7/2011", "09.07.2011", "Dobby 9/7/2011"):
        assert contact in found(db, typed), typed
    assert contact not in found(db, "Dobby 2011-07-10")


def test_school_and_referrer(db):
    _, contact = add(db, "Sky", "Schoolsearch", school="Saint Ælfric's Academy", referrer="Dr Ó Súilleabháin",
                     organisation="Riverside Surgery")
    assert contact in found(db, "aelfric academy")
    assert contact in found(db, "saint ælfric")
    assert contact in found(db, "o suilleabhain")
    assert contact in found(db, "riverside surgery schoolsearch")
    assert contact not in found(db, "riverside surgery someoneelse")


def test_changes_are_searchable_at_once(db):
    child_id, contact = add(db, "Before", "Renamedchild")
    records.update_child(db, child_id, {"given_name": "After", "school": "Newschool"}, by="pat",
                         reason="name corrected")
    assert contact in found(db, "after renamedchild newschool")
    assert contact not in found(db, "before renamedchild")
    other_child, _ = add(db, "Other", "Movedchild")
    records.update_contact(db, contact, {"child_id": other_child}, by="pat", reason="wrong child")
    assert contact in found(db, "other movedchild")
    assert contact not in found(db, "renamedchild")


@pytest.mark.parametrize("query", [
    '"', '""', "*", "zoe*", "NEAR(", "NEAR(zoe quill, 2)", "OR", "zoe OR 1=1", "AND NOT", "NOT zoe",
    "^zoe", "folded:zoe", "contact_id:co", "{folded contact_id}: zoe", "zoe)", "(", "'", "-zoe",
    "'); DROP TABLE children; --", "\x00", "zo\x00e", "\ud800", "", "   ", "a" * 10_000,
    " ".join(["zoe"] * 200), "+", "zoe AND", "x:", ":", "\\",
])
def test_query_syntax_is_only_ever_text(db, query):
    _, contact = add(db, "Zoe", "Injectionproof")
    result = search.find_contacts(db, query)
    assert isinstance(result, list)
    assert db.execute("SELECT count(*) FROM children").fetchone()[0] > 0
    assert contact in found(db, "zoe injectionproof")


def test_match_expression_quotes_every_word():
    assert match_expression('Zoë "x NEAR( OR') == '"zoe"* """x"* "near("* "or"*'
    assert match_expression("999 876 5439 04/03/2012") == '"9998765439"* "2012-03-04"*'
    assert match_expression('" * ( )') is None
    assert len(match_expression(" ".join(f"w{i}" for i in range(100))).split()) == search.MAX_QUERY_TERMS


def test_fold():
    assert fold("İSTANBUL") == "istanbul"
    assert fold("Straße") == "strasse"
    assert fold("Zo\u200be\u0308") == "zoe"
    assert fold(unicodedata.normalize("NFD", "Ñúñez")) == fold("Ñúñez") == "nunez"
    assert fold("Søren Łukasz Ælfric") == "soren lukasz aelfric"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec=None, exclude_categories=[]), max_size=40))
def test_any_query_is_answered_without_error(db, text):
    assert isinstance(search.find_contacts(db, text), list)


# -- possible duplicates ------------------------------------------------------------------------

def test_possible_duplicates(db):
    first, _ = add(db, "Zoë", "Duplicated", dob="2013-05-14", nhs="999 111 2227")
    same_nhs, _ = add(db, "Zed", "Different", dob="2010-01-01", nhs="999 111 2227")
    same_name_dob, _ = add(db, "ZOE", unicodedata.normalize("NFD", "duplicated"), dob="2013-05-14")
    add(db, "Zoë", "Duplicated", dob="2013-05-15")  # another child: a different birthday

    matches = search.possible_duplicates(db, given_name="zoë", family_name="Duplicated",
                                         date_of_birth="2013-05-14", nhs_number="9991112227")
    reasons = {m.child_id: m.reasons for m in matches}
    assert reasons == {first: (SAME_NHS_NUMBER, SAME_NAME_AND_BIRTH_DATE), same_nhs: (SAME_NHS_NUMBER,),
                       same_name_dob: (SAME_NAME_AND_BIRTH_DATE,)}
    assert next(m for m in matches if m.child_id == first).given_name == "Zoë"

    without_nhs = search.possible_duplicates(db, given_name="Zoe", family_name="Duplicated",
                                             date_of_birth="2013-05-14", nhs_number=None,
                                             exclude_child_id=first)
    assert [m.child_id for m in without_nhs] == [same_name_dob]
    assert search.possible_duplicates(db, given_name="Zoe", family_name="Duplicated",
                                      date_of_birth=None, nhs_number=None) == []
