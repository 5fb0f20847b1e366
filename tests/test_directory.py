"""The service directory: CSV checked row by row, imported all or nothing, exported so it
round-trips, and read or changed only by the roles that may. Also ``spoa directory`` end to end."""

from __future__ import annotations

import csv
import io

import pytest

from spoa.cli import main
from spoa.letters import directory
from spoa.letters.directory import (
    COLUMNS,
    DirectoryFileError,
    DirectoryRejected,
    Service,
    example_directory_path,
    import_services,
    list_services,
    read_directory,
    read_directory_file,
    to_csv,
)
from spoa.model import Route, Urgency
from spoa.roles import NotAllowed
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD, SUPERVISOR_PASSWORD

HEADER = ",".join(COLUMNS)
GOOD = {
    "id": "riverside-school-nursing", "kind": "school_nursing", "name": "Riverside School Nursing",
    "team": "5 to 19 Team", "address": "Riverside Health Centre\nRiverside ZZ1 5LN",
    "secure_email": "schoolnurses@riverside.nhs.example", "phone": "01632 960210", "age_min": "5",
    "age_max": "19", "postcode_districts": "ZZ1; ZZ2", "schools": "", "urgencies": "urgent; routine",
    "opening_notes": "Term time, 8.30am to 4.30pm", "active": "yes",
}


def csv_text(*rows: dict, header: str = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([row.get(c, "") for c in COLUMNS])
    return header + "\n" + buffer.getvalue()


def row(**changes) -> dict:
    return {**GOOD, **changes}


def services_in(store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT id FROM services ORDER BY id").fetchall()]


# -- checking a file row by row ----------------------------------------------------------------

BAD_ROWS = [
    ({"kind": "hospital"}, "kind", "must be one of camhs, school_nursing, voluntary_sector"),
    ({"kind": "advice"}, "kind", "advice is not a kind of service"),
    ({"kind": ""}, "kind", "is required"),
    ({"name": "  "}, "name", "is required"),
    ({"id": ""}, "id", "is required"),
    ({"id": "has space"}, "id", "letters, digits, dots, dashes or underscores"),
    ({"age_min": "-1"}, "age_min", "from 0 to 25"),
    ({"age_max": "26"}, "age_max", "from 0 to 25"),
    ({"age_max": "ten"}, "age_max", "whole number"),
    ({"age_min": ""}, "age_min", "is required"),
    ({"age_min": "12", "age_max": "11"}, "age_min", "the lowest age (12) is above the highest (11)"),
    ({"postcode_districts": "ZZ1; LS 6 2"}, "postcode_districts", "'LS 6 2' is not a postcode district"),
    ({"postcode_districts": "ZZ1 1AA"}, "postcode_districts", "is not a postcode district"),
    ({"postcode_districts": "1ZZ"}, "postcode_districts", "is not a postcode district"),
    ({"urgencies": "urgent; soon"}, "urgencies", "'soon' is not an urgency"),
    ({"urgencies": ""}, "urgencies", "list the urgencies the service accepts"),
    ({"secure_email": "nurses at riverside"}, "secure_email", "must be one email address"),
    ({"secure_email": "a@b"}, "secure_email", "must be one email address"),
    ({"secure_email": "a@b.example, c@d.example"}, "secure_email", "must be one email address"),
    ({"phone": "1632 960210"}, "phone", "leading 0"),
    ({"phone": "ring the office"}, "phone", "must be a UK phone number"),
    ({"secure_email": "", "phone": ""}, "secure_email", "give a secure email or a phone number"),
    ({"active": "maybe"}, "active", "must be yes or no"),
    ({"name": "Tab\there"}, "name", "must be one line"),
    ({"opening_notes": "bell\x07"}, "opening_notes", "control characters"),
    ({"name": "x" * 201}, "name", "the limit is 200"),
]


@pytest.mark.parametrize(("changes", "column", "reason"), BAD_ROWS)
def test_each_bad_row_is_named_by_its_line_and_reason(changes, column, reason):
    # Line 2 is a row over two lines (a quoted address), so the bad row starts on line 4.
    text = csv_text(row(), row(**{"id": "bad-one", **changes}), row(id="after"))
    checked = read_directory(text.encode(), source="dir.csv")
    assert [(p.line, p.column) for p in checked.problems] == [(4, column)]
    assert reason in checked.problems[0].reason
    assert [s.id for s in checked.services] == ["riverside-school-nursing", "after"]
    assert checked.lines == (2, 6)


def test_every_problem_of_a_row_is_reported_and_every_bad_row_is_named():
    text = csv_text(row(kind="x", age_min="30", urgencies="never"), row(id="ok"),
                    row(id="also-bad", secure_email="@"))
    checked = read_directory(text.encode(), source="dir.csv")
    assert [(p.line, p.column) for p in checked.problems] == [
        (2, "kind"), (2, "age_min"), (2, "urgencies"), (6, "secure_email")]
    assert checked.bad_lines == (2, 6)


def test_a_duplicate_id_names_the_line_that_has_it_first():
    text = csv_text(row(), row(id="other"), row(id="Riverside-School-Nursing"))
    checked = read_directory(text.encode(), source="dir.csv")
    (problem,) = checked.problems
    assert problem.line == 6
    assert problem.column == "id"
    assert "already the id of the service on line 2" in problem.reason


def test_a_row_with_too_many_or_too_few_values():
    text = HEADER + "\n" + "a,camhs,Name with, a comma,,,,01632 960000,5,17,,,routine,,yes\n" \
        + "b,camhs,Short\n"
    checked = read_directory(text.encode(), source="dir.csv")
    assert [p.line for p in checked.problems] == [2, 3]
    assert "needs double quotes" in checked.problems[0].reason
    assert "has 3 values" in checked.problems[1].reason


def test_values_are_tidied_as_stored():
    text = csv_text(row(id="Riverside-SN", kind="School nursing", postcode_districts="zz1;ZZ1; w1a ",
                        urgencies="Routine; very urgent; routine", active="", schools=" A ;; B ",
                        secure_email="Nurses@Riverside.NHS.Example"))
    (service,) = read_directory(text.encode()).services
    assert service == Service(
        id="riverside-sn", kind=Route.SCHOOL_NURSING, name="Riverside School Nursing", team="5 to 19 Team",
        address="Riverside Health Centre\nRiverside ZZ1 5LN", secure_email="Nurses@riverside.nhs.example",
        phone="01632 960210", age_min=5, age_max=19, postcode_districts=("ZZ1", "W1A"), schools=("A", "B"),
        urgencies=(Urgency.VERY_URGENT, Urgency.ROUTINE), opening_notes="Term time, 8.30am to 4.30pm",
        active=True)


def test_excel_files_bom_crlf_quotes_and_friendly_headers():
    excel = ("\ufeffID,Kind,Name,Team,Address,Secure Email,Phone,Age Min,Age Max,Postcode Districts,"
             "Schools,Urgencies,Opening Notes,Active,,\r\n"
             'st-b,voluntary_sector,"The ""Open Door"", Riverside",,"1 Bridge St\r\nRiverside",,'
             "'+44 1632 960123,11,25.0,,St Brigid's,routine,,no,,\r\n"
             ",,,,,,,,,,,,,,,\r\n")
    checked = read_directory(excel.encode("utf-8"), source="excel.csv")
    assert checked.problems == ()
    (service,) = checked.services
    assert service.name == 'The "Open Door", Riverside'
    assert service.address == "1 Bridge St\nRiverside"
    assert service.phone == "+44 1632 960123"
    assert (service.age_max, service.active, service.schools) == (25, False, ("St Brigid's",))


FILE_PROBLEMS = [
    (b"", "the file is empty"),
    (HEADER.encode() + b"\n", "lists no services"),
    (b"name,kind,id,age_min,age_max,urgencies,colour\n", "'colour' is not a directory column"),
    (b"id,kind,name,urgencies\n", "must name the columns age_min, age_max"),
    (b"id,kind,name,age_min,age_max,urgencies,name\n", "the column 'name' is named twice"),
    (HEADER.replace(",", ";").encode() + b"\n", "separated by semicolons or tabs"),
    ("\ufeffid,name".encode("utf-16"), "UTF-16"),
    (csv_text(row(), row(id="x", name="Café Ötzi")).encode("cp1252"), "not UTF-8"),
    (HEADER.encode() + b'\nx,camhs,"unclosed,\n', "the CSV cannot be read"),
]


@pytest.mark.parametrize(("data", "reason"), FILE_PROBLEMS)
def test_a_file_that_cannot_be_read_says_why(data, reason):
    with pytest.raises(DirectoryFileError) as caught:
        read_directory(data, source="dir.csv")
    assert reason in str(caught.value)
    assert str(caught.value).startswith("dir.csv")


def test_the_line_of_the_first_byte_that_is_not_utf8():
    data = csv_text(row(), row(id="x", name="Café")).encode("cp1252")
    with pytest.raises(DirectoryFileError) as caught:
        read_directory(data, source="dir.csv")
    assert caught.value.line == 4


def test_a_file_too_big_or_missing(tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    big.write_bytes(HEADER.encode() + b"\n" + b"#" * directory.MAX_FILE_BYTES)
    with pytest.raises(DirectoryFileError, match="at most 5 MB"):
        read_directory_file(big)
    with pytest.raises(DirectoryFileError, match="no such file"):
        read_directory_file(tmp_path / "missing.csv")
    with pytest.raises(DirectoryFileError, match="folder"):
        read_directory_file(tmp_path)


# -- importing into the store ------------------------------------------------------------------

def test_the_example_directory_imports_cleanly(new_store):
    store, _ = new_store
    checked = read_directory_file(example_directory_path())
    assert checked.problems == ()
    result = import_services(store, checked)
    assert result.imported == len(checked.services) >= 10
    services = list_services(store)
    assert {s.kind for s in services} == {Route.CAMHS, Route.SCHOOL_NURSING, Route.VOLUNTARY_SECTOR}
    assert any(not s.active for s in services)
    for service in services:
        assert service.secure_email.endswith(".example")
        assert all(d.startswith("ZZ") for d in service.postcode_districts)
        assert service.phone.replace(" ", "").startswith(("01632960", "01134960", "08081570"))


def test_a_file_with_a_bad_row_changes_nothing(new_store):
    store, _ = new_store
    import_services(store, read_directory(csv_text(row()).encode()))
    before = store.db.execute("SELECT * FROM services").fetchall()
    audit_before = store.db["audit"].count
    bad = read_directory(csv_text(row(name="Renamed"), row(id="new-one"), row(id="bad", kind="x")).encode())
    with pytest.raises(DirectoryRejected, match="1 bad row; nothing was imported"):
        import_services(store, bad)
    assert store.db.execute("SELECT * FROM services").fetchall() == before
    assert store.db["audit"].count == audit_before


def test_skip_bad_imports_the_good_rows_and_reports_the_bad(new_store):
    store, _ = new_store
    bad = read_directory(csv_text(row(), row(id="bad", age_max="99"), row(id="good-two")).encode())
    result = import_services(store, bad, skip_bad=True)
    assert result.added == ("riverside-school-nursing", "good-two")
    assert [(p.line, p.column) for p in result.skipped] == [(4, "age_max")]
    assert services_in(store) == ["good-two", "riverside-school-nursing"]


def test_an_import_adds_replaces_by_id_and_audits_each_change(new_store):
    store, _ = new_store
    first = import_services(store, read_directory(csv_text(row(), row(id="other")).encode()))
    assert (first.added, first.updated, first.unchanged) == (("riverside-school-nursing", "other"), (), ())
    second = import_services(store, read_directory(csv_text(
        row(age_max="18", postcode_districts="ZZ3"), row(id="other"), row(id="third")).encode()))
    assert (second.added, second.updated, second.unchanged) == (("third",), ("riverside-school-nursing",),
                                                                ("other",))
    (service,) = [s for s in list_services(store) if s.id == "riverside-school-nursing"]
    assert (service.age_max, service.postcode_districts) == (18, ("ZZ3",))
    rows = store.db.execute("SELECT action, record_type, record_id, outcome FROM audit "
                            "WHERE record_type = 'service' ORDER BY seq").fetchall()
    assert rows == [("create", "service", "riverside-school-nursing", "ok"),
                    ("create", "service", "other", "ok"),
                    ("update", "service", "riverside-school-nursing", "ok"),
                    ("create", "service", "third", "ok")]
    updated_by = store.db.execute("SELECT DISTINCT updated_by FROM services").fetchall()
    assert updated_by == [("admin",)]
    assert store.verify_audit().intact


def test_export_round_trips(new_store):
    store, _ = new_store
    import_services(store, read_directory_file(example_directory_path()))
    tricky = row(id="tricky", name="=HYPERLINK(\"http://x\")", team="@team", phone="+44 1632 960999",
                 opening_notes="-closed Fridays\nOpen \"late\", Thursdays", schools="Zoë's; Ōtsuka Academy")
    import_services(store, read_directory(csv_text(tricky).encode()))
    exported = directory.export_services(store)
    assert exported.count == len(list_services(store))
    assert "'=HYPERLINK" in exported.text
    assert "'+44 1632 960999" in exported.text
    assert "'@team" in exported.text
    again = read_directory(exported.text.encode("utf-8-sig"))
    assert again.problems == ()
    assert list(again.services) == list_services(store)
    assert to_csv(again.services) == exported.text
    result = import_services(store, again)
    assert result.unchanged == tuple(s.id for s in again.services)
    assert store.db.execute("SELECT count(*) FROM audit WHERE action = 'export'").fetchone()[0] == 1


# -- who may ----------------------------------------------------------------------------------

def test_only_an_administrator_changes_or_exports_the_directory(staffed_store):
    checked = read_directory(csv_text(row()).encode())
    allowed = {"import": {"admin"}, "export": {"admin"}, "list": {"admin", "pat", "sam"}}
    operations = {
        "import": lambda store: import_services(store, checked, skip_bad=True),
        "export": directory.export_services,
        "list": list_services,
    }
    unauthorised_successes = 0
    refusals = []
    for username in ("pat", "sam", "admin"):
        with staffed_store(username) as store:
            for name, operation in operations.items():
                try:
                    operation(store)
                except NotAllowed as exc:
                    refusals.append((username, name, str(exc)))
                else:
                    unauthorised_successes += username not in allowed[name]
    assert unauthorised_successes == 0
    assert [(who, what) for who, what, _ in refusals] == [
        ("pat", "import"), ("pat", "export"), ("sam", "import"), ("sam", "export")]
    assert all("cannot manage the service directory" in message for *_, message in refusals)
    with staffed_store("admin") as store:
        assert services_in(store) == ["riverside-school-nursing"]
        denied = store.db.execute("SELECT username, action FROM audit WHERE outcome = 'denied' "
                                  "AND record_type = 'service' ORDER BY seq").fetchall()
        assert denied == [("pat", "update"), ("pat", "export"), ("sam", "update"), ("sam", "export")]
        # The administrator's import came last and changed nothing already there.
        assert [s.id for s in list_services(store)] == ["riverside-school-nursing"]


# -- the command line --------------------------------------------------------------------------

def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def as_user(staffed_store, store_folder, monkeypatch):
    passwords = {"admin": ADMIN_PASSWORD, "pat": PRACTITIONER_PASSWORD, "sam": SUPERVISOR_PASSWORD}

    def become(username):
        monkeypatch.setenv("SPOA_USER", username)
        monkeypatch.setenv("SPOA_PASSWORD", passwords[username])
        return ["--data-dir", store_folder]

    return become


def test_cli_import_all_or_nothing_then_skip_bad(capsys, tmp_path, as_user, monkeypatch):
    bad_file = tmp_path / "directory.csv"
    bad_file.write_text(csv_text(row(), row(id="bad", kind="hospital"), row(id="worse", urgencies="")),
                        encoding="utf-8")
    admin = as_user("admin")
    monkeypatch.delenv("SPOA_PASSWORD")  # a bad file is reported before any password is asked for
    code, out, err = run(capsys, "directory", "import", bad_file, *admin)
    assert code == 1
    assert out == ""
    assert f"{bad_file}:4: kind: must be one of" in err
    assert f"{bad_file}:6: urgencies: list the urgencies" in err
    assert "2 bad rows; nothing was imported" in err

    admin = as_user("admin")
    code, out, _ = run(capsys, "directory", "list", *admin)
    assert (code, out.startswith("The directory lists no services")) == (0, True)

    code, out, err = run(capsys, "directory", "import", bad_file, "--skip-bad", *admin)
    assert code == 0
    assert f"{bad_file}:4: kind:" in err
    assert "Imported 1 service from" in out
    assert "1 added, 0 updated, 0 unchanged" in out
    assert "Skipped 2 bad rows" in out

    all_bad = tmp_path / "all_bad.csv"
    all_bad.write_text(csv_text(row(kind="x")), encoding="utf-8")
    code, out, _ = run(capsys, "directory", "import", all_bad, "--skip-bad", *admin)
    assert code == 1
    assert "Imported 0 services" in out


def test_cli_import_export_list_and_roles(capsys, tmp_path, as_user):
    admin = as_user("admin")
    code, out, err = run(capsys, "directory", "import", example_directory_path(), *admin)
    assert code == 0, err
    assert "Imported 12 services" in out

    exported = tmp_path / "out.csv"
    code, out, _ = run(capsys, "directory", "export", "--out", exported, *admin)
    assert (code, out) == (0, f"Exported 12 services to {exported}.\n")
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
    code, out, _ = run(capsys, "directory", "export", *admin)
    assert out.replace("\r\n", "\n") == exported.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    code, out, _ = run(capsys, "directory", "import", exported, *admin)
    assert "0 added, 0 updated, 12 unchanged" in out

    pat = as_user("pat")
    code, out, err = run(capsys, "directory", "import", exported, *pat)
    assert code == 2
    assert "A practitioner cannot manage the service directory" in err
    code, _, err = run(capsys, "directory", "export", *pat)
    assert code == 2
    code, out, _ = run(capsys, "directory", "list", "--kind", "school_nursing", *pat)
    assert code == 0
    assert "hillford-school-nursing  school_nursing  ages 5 to 19  Hillford School Nursing Service" in out
    assert "covers districts ZZ6 ZZ7 ZZ8 ZZ9; accepts urgent, routine" in out
    assert "camhs" not in out
    code, out, _ = run(capsys, "directory", "list", *as_user("sam"))
    assert "brightpath-bereavement" in out
    assert "[inactive]" in out
    code, out, _ = run(capsys, "directory", "list", "--active", *as_user("sam"))
    assert "brightpath-bereavement" not in out


def test_cli_bad_file_and_bad_input(capsys, tmp_path, as_user):
    admin = as_user("admin")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(csv_text(row(name="Café")).encode("cp1252"))
    code, _, err = run(capsys, "directory", "import", latin1, *admin)
    assert code == 2
    assert f"spoa: {latin1}:2: the file is not UTF-8" in err
    code, _, err = run(capsys, "directory", "import", tmp_path / "nope.csv", *admin)
    assert code == 2
    assert "no such file" in err
