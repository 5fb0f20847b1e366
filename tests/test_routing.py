"""Routing a confirmed outcome to services: only those that take the child's age and the
urgency, best first (school > postcode district > area-wide), and a reason in words when
none does. Also ``spoa directory match`` end to end."""

from __future__ import annotations

import itertools

import pytest

from spoa.cli import main
from spoa.letters.directory import (
    COLUMNS,
    example_directory_path,
    import_services,
    read_directory,
    read_directory_file,
)
from spoa.letters.routing import (
    MatchBasis,
    RoutingInputError,
    explain_no_match,
    match_services,
)
from spoa.model import Route, Urgency
from tests.conftest import PRACTITIONER_PASSWORD

# A small directory built so that each rule can be seen on its own.
SERVICES = [
    # id, kind, ages, districts, schools, urgencies, active
    ("sn-ashdown", "school_nursing", (11, 18), "", "Ashdown Community College", "routine; urgent", "yes"),
    ("sn-riverside", "school_nursing", (5, 19), "ZZ1; ZZ2", "", "routine; urgent", "yes"),
    ("sn-county", "school_nursing", (5, 19), "", "", "routine", "yes"),
    ("sn-hillford-young", "school_nursing", (5, 11), "ZZ6", "", "routine; urgent", "yes"),
    ("sn-hillford-primary", "school_nursing", (4, 10), "ZZ6; ZZ7", "", "routine", "yes"),
    ("camhs-crisis", "camhs", (0, 17), "", "", "emergency; very_urgent", "yes"),
    ("camhs-core", "camhs", (5, 17), "", "", "urgent; routine", "yes"),
    ("camhs-closed", "camhs", (0, 17), "ZZ1", "", "emergency; very_urgent; urgent; routine", "no"),
    ("vs-youth", "voluntary_sector", (11, 25), "ZZ1; ZZ2; ZZ3", "", "routine", "yes"),
]


def directory_csv() -> bytes:
    lines = [",".join(COLUMNS)]
    for service_id, kind, (low, high), districts, schools, urgencies, active in SERVICES:
        name = service_id.replace("-", " ").title()
        lines.append(f"{service_id},{kind},{name},,,{service_id}@nhs.example,,{low},{high},{districts},"
                     f"{schools},{urgencies},,{active}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def db(new_store):
    store, _ = new_store
    checked = read_directory(directory_csv())
    assert checked.problems == ()
    import_services(store, checked)
    return store.db


def ids(matches) -> list[str]:
    return [m.service.id for m in matches]


def test_school_beats_district_beats_area_wide(db):
    matches = match_services(db, route="school_nursing", urgency="routine", child_age=12,
                             postcode="zz2 4pq", school="  ashdown community  college ")
    assert ids(matches) == ["sn-ashdown", "sn-riverside", "sn-county"]
    assert [m.basis for m in matches] == [MatchBasis.SCHOOL, MatchBasis.POSTCODE_DISTRICT,
                                          MatchBasis.AREA_WIDE]
    assert matches[0].reasons == ("covers the child's school, Ashdown Community College",
                                  "takes ages 11 to 18 (the child is 12)", "accepts routine referrals")
    assert matches[1].reasons[0] == "covers postcode district ZZ2"
    assert matches[2].reasons[0] == "covers the whole area (it lists no districts or schools)"


def test_a_school_only_service_covers_only_its_schools(db):
    matches = match_services(db, route=Route.SCHOOL_NURSING, urgency=Urgency.ROUTINE, child_age=12,
                             postcode="ZZ1 1AA", school="Riverside High")
    assert ids(matches) == ["sn-riverside", "sn-county"]


def test_never_a_service_that_does_not_take_the_age_or_the_urgency(db):
    # sn-county is area-wide but routine only; sn-ashdown takes 11-18 only.
    urgent = match_services(db, route="school_nursing", urgency="urgent", child_age=8,
                            postcode="ZZ1 1AA", school="Ashdown Community College")
    assert ids(urgent) == ["sn-riverside"]
    # Exhaustively: every match takes the age and urgency, is active and of the kind.
    checked = 0
    for route, urgency, age, postcode, school in itertools.product(
            Route, Urgency, range(27), (None, "ZZ1 1AA", "ZZ6 2RT", "ZZ9 9ZZ"),
            (None, "Ashdown Community College")):
        for match in match_services(db, route=route, urgency=urgency, child_age=age, postcode=postcode,
                                    school=school):
            service = match.service
            assert service.active
            assert service.kind is route
            assert service.age_min <= age <= service.age_max
            assert urgency in service.urgencies
            checked += 1
    assert checked > 100


def test_inactive_services_are_never_offered(db):
    matches = match_services(db, route="camhs", urgency="urgent", child_age=3, postcode="ZZ1 1AA",
                             school=None)
    assert matches == []  # camhs-closed would take it, but it is inactive
    explanation = explain_no_match(db, route="camhs", urgency="urgent", child_age=3, postcode="ZZ1 1AA",
                                   school=None)
    assert "Camhs Closed (camhs-closed) would match but is marked inactive" in explanation


def test_advice_goes_to_no_service(db):
    assert match_services(db, route="advice", urgency="routine", child_age=10, postcode="ZZ1 1AA",
                          school=None) == []
    assert "goes back to the professional who asked" in explain_no_match(
        db, route="advice", urgency="routine", child_age=10, postcode="ZZ1 1AA", school=None)


def test_no_match_for_the_age_is_explained(db):
    request = {"route": "school_nursing", "urgency": "routine", "child_age": 17, "postcode": "ZZ6 2RT",
               "school": None}
    db.execute("UPDATE services SET active = 0 WHERE id = 'sn-county'")
    assert match_services(db, **request) == []
    explanation = explain_no_match(db, **request)
    first, *details = explanation.splitlines()
    assert first == ("No school nursing service covers postcode district ZZ6 for age 17; "
                     "2 services cover the district but not the age.")
    assert "- Sn Hillford Primary (sn-hillford-primary): takes ages 4 to 10, not 17" in details
    assert "- Sn Hillford Young (sn-hillford-young): takes ages 5 to 11, not 17" in details
    assert details[-1].startswith("Choose a service by hand")


def test_no_match_for_the_urgency_is_explained(db):
    explanation = explain_no_match(db, route="camhs", urgency="emergency", child_age=2, postcode=None,
                                   school=None)
    # camhs-crisis takes it: the explanation says so rather than inventing a reason.
    assert explanation == "1 CAMHS service matches; nothing to explain."
    db.execute("UPDATE services SET active = 0 WHERE id = 'camhs-crisis'")
    explanation = explain_no_match(db, route="camhs", urgency="emergency", child_age=8, postcode="ZZ5 1AA",
                                   school=None)
    first, *details = explanation.splitlines()
    assert first == ("No CAMHS service that covers postcode district ZZ5 and takes age 8 accepts "
                     "emergency referrals; 1 service covers the district and takes the age but not "
                     "that urgency.")
    assert "- Camhs Core (camhs-core): does not accept emergency referrals (it accepts urgent, routine)" \
        in details


def test_no_service_covering_the_place_is_explained(db):
    explanation = explain_no_match(db, route="voluntary_sector", urgency="routine", child_age=14,
                                   postcode="ZZ8 4NB", school="Hillford High")
    first, *details = explanation.splitlines()
    assert first == ("No voluntary sector service covers the child's school (Hillford High) or postcode "
                     "district ZZ8, and no voluntary sector service covers the whole area.")
    assert details[0] == "- 1 voluntary sector service takes age 14 and routine referrals but covers " \
                         "other places:"
    assert details[1] == "- Vs Youth (vs-youth): covers districts ZZ1, ZZ2, ZZ3"


def test_an_empty_or_inactive_kind_and_an_unknown_age(db):
    db.execute("UPDATE services SET active = 0 WHERE kind = 'voluntary_sector'")
    assert explain_no_match(db, route="voluntary_sector", urgency="routine", child_age=14,
                            postcode=None, school=None).startswith(
        "Every voluntary sector service in the directory (1) is marked inactive.")
    db.execute("DELETE FROM services WHERE kind = 'voluntary_sector'")
    assert explain_no_match(db, route="voluntary_sector", urgency="routine", child_age=14,
                            postcode=None, school=None).startswith(
        "The directory has no voluntary sector service.")
    assert match_services(db, route="camhs", urgency="routine", child_age=None, postcode=None,
                          school=None) == []
    assert "age is not known" in explain_no_match(db, route="camhs", urgency="routine", child_age=None,
                                                  postcode=None, school=None)


@pytest.mark.parametrize(("changes", "message"), [
    ({"route": "hospital"}, "route must be one of"),
    ({"urgency": "soon"}, "urgency must be one of"),
    ({"child_age": -1}, "whole number of years"),
    ({"child_age": "12"}, "whole number of years"),
    ({"postcode": "not a postcode"}, "postcode: A UK postcode looks like"),
    ({"school": "bad\x00school"}, "school: contains a NUL"),
])
def test_input_that_cannot_be_used(db, changes, message):
    request = {"route": "camhs", "urgency": "routine", "child_age": 12, "postcode": None, "school": None}
    with pytest.raises(RoutingInputError, match=message):
        match_services(db, **{**request, **changes})


def test_school_names_compare_without_case_punctuation_or_spacing(new_store):
    store, _ = new_store
    import_services(store, read_directory_file(example_directory_path()))
    matches = match_services(store.db, route="school_nursing", urgency="routine", child_age=15,
                             postcode="ZZ7 1AB", school="st brigid’s  catholic high school")
    assert ids(matches) == ["ashdown-college-school-nurse", "hillford-school-nursing"]
    assert matches[0].reasons[0] == "covers the child's school, St Brigid's Catholic High School"


# -- the command line --------------------------------------------------------------------------

def test_cli_match(capsys, staffed_store, store_folder, monkeypatch):
    with staffed_store("admin") as admin:
        import_services(admin, read_directory_file(example_directory_path()))
    monkeypatch.setenv("SPOA_USER", "pat")
    monkeypatch.setenv("SPOA_PASSWORD", PRACTITIONER_PASSWORD)
    where = ["--data-dir", str(store_folder)]

    code = main(["directory", "match", "--route", "school_nursing", "--urgency", "routine", "--age", "15",
                 "--postcode", "ZZ4 6WX", "--school", "Ashdown Community College", *where])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.startswith("1. Ashdown Community College School Nurse, College Health Drop-in "
                          "(ashdown-college-school-nurse)\n   why: covers the child's school, Ashdown "
                          "Community College; takes ages 11 to 18 (the child is 15); accepts routine "
                          "referrals\n")
    assert "2. Riverside School Nursing Service" in out
    assert "contact: secure email riverside.schoolnurses@riverside-hillford.nhs.example, phone 01632 960210" \
        in out

    code = main(["directory", "match", "--route", "school_nursing", "--urgency", "routine", "--age", "22",
                 "--postcode", "ZZ7 3DF", *where])
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.startswith("No school nursing service covers postcode district ZZ7 for age 22; "
                          "1 service covers the district but not the age.")

    code = main(["directory", "match", "--route", "advice", "--urgency", "routine", "--age", "9",
                 "--postcode", "ZZ7 3DF", *where])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "Advice goes back" in out

    code = main(["directory", "match", "--route", "camhs", "--urgency", "routine", "--age", "9",
                 "--postcode", "ZZ7", *where])
    _, err = capsys.readouterr()
    assert code == 2
    assert "spoa: postcode: A UK postcode looks like" in err
