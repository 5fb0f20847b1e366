"""``spoa contact add|list|show|search`` driven as a user would, with the shipped example."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spoa.cli import main
from spoa.roles import Role
from spoa.store.keys import MINIMUM_KDF
from spoa.store.store import Store
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD, REPO

EXAMPLE = REPO / "examples" / "contact.yaml"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def as_practitioner(staffed_store, store_folder, monkeypatch):
    monkeypatch.setenv("SPOA_USER", "pat")
    monkeypatch.setenv("SPOA_PASSWORD", PRACTITIONER_PASSWORD)
    return ["--data-dir", store_folder]


def test_add_the_example_then_list_show_and_search(capsys, as_practitioner, monkeypatch):
    code, out, err = run(capsys, "contact", "add", "--file", EXAMPLE, *as_practitioner)
    assert code == 0, err
    assert out.startswith("Contact co-")
    contact_id = out.split()[1]
    assert "School nursing, routine [recommended]" in out
    assert "first contact by 2026-11-25 09:30 UTC" in out  # received 09:30 on the 20th, 120 h
    assert "Possible duplicate" not in out
    assert "test-range NHS number" in err

    code, out, _ = run(capsys, "contact", "add", "--file", EXAMPLE, *as_practitioner)
    assert code == 0
    assert "Possible duplicate: child ch-" in out
    assert "Zoë Example-Testcase, born 2012-03-04, NHS 999 876 5439" in out
    assert "(same NHS number; same name and date of birth)" in out

    code, out, _ = run(capsys, "contact", "list", *as_practitioner)
    assert code == 0
    assert out.count("Zoë Example-Testcase") == 2
    assert "School nursing, routine" in out

    code, out, _ = run(capsys, "contact", "show", contact_id, *as_practitioner)
    assert code == 0
    for expected in ("Child ch-", "Zoë Example-Testcase", "999 876 5439", "ZZ2 4AB", "Testtown Academy",
                     "Alex Example-Testcase (mother) 07700 900123", "school_nurse: Jo Nurse",
                     "2026-11-20 09:30 UTC", "module camhs_general 2.0.0", "recommended  school_nursing",
                     "Outcome rule 'school_nursing'", "not yet confirmed or overridden",
                     "consent      Given"):
        assert expected in out, expected

    for query in ("zoe example-testcase", "ZOË", "999 876 5439", "9998765439", "04/03/2012",
                  "testtown academy", "jo nurse"):
        code, out, _ = run(capsys, "contact", "search", query, *as_practitioner)
        assert code == 0
        assert out.count("Zoë Example-Testcase") == 2, query
    code, out, _ = run(capsys, "contact", "search", '"', "NEAR(", "OR", *as_practitioner)
    assert (code, out) == (0, "no contact matches\n")

    # The password from standard input instead of the environment.
    monkeypatch.delenv("SPOA_PASSWORD")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PRACTITIONER_PASSWORD + "\n"))
    code, out, _ = run(capsys, "contact", "list", "--password-stdin", *as_practitioner)
    assert code == 0
    assert out.count("Zoë") == 2


def test_who_may_and_what_goes_wrong(capsys, as_practitioner, monkeypatch, store_folder):
    code, out, _ = run(capsys, "contact", "add", "--file", EXAMPLE, *as_practitioner)
    contact_id = out.split()[1]
    code, _, err = run(capsys, "contact", "show", "co-nothing", *as_practitioner)
    assert (code, err) == (2, "spoa: There is no contact with the id 'co-nothing'.\n")

    monkeypatch.setenv("SPOA_USER", "admin")
    monkeypatch.setenv("SPOA_PASSWORD", ADMIN_PASSWORD)
    for command in (["show", contact_id], ["list"], ["search", "zoe"], ["add", "--file", EXAMPLE]):
        code, out, err = run(capsys, "contact", *command, *as_practitioner)
        assert code == 2, command
        assert "admin cannot" in err
        assert "Zoë" not in out + err

    monkeypatch.setenv("SPOA_USER", "pat")
    monkeypatch.setenv("SPOA_PASSWORD", "not the password")
    code, _, err = run(capsys, "contact", "list", *as_practitioner)
    assert code == 2
    assert "Unlock failed" in err

    code, _, err = run(capsys, "contact", "list", "--data-dir", store_folder.parent / "elsewhere")
    assert code == 2
    assert "There is no store" in err


BAD_FILES = [
    ('nhs_number: "999 876 5439"', 'nhs_number: "999 876 5438"', "child.nhs_number", "check digit"),
    ("  school: Testtown Academy", "  school: Testtown Academy\n  middle_name: X", "child.middle_name",
     "not a field here"),
    ("  type: school_nurse", "  type: neighbour", "referrer.type", "must be one of"),
    ("received_at: 2026-11-20T09:30:00Z", "received_at: 2026-11-20 09:30", "received_at", "time zone"),
    ("school_attendance: reduced", "school_attendance: sometimes", "answers.school_attendance",
     "choose one of"),
    ("module: camhs_general", "module: no_such_module", "module", "no module"),
    ("    - name: Alex Example-Testcase\n      relationship: mother", "    - relationship: mother",
     "child.carers[0].name", "is required"),
    ("postcode: zz2 4ab", "postcode: [1, 2]", "child.postcode", "must be text"),
    ("date_of_birth: 2012-03-04", "date_of_birth: 2099-03-04", "child.date_of_birth", "future"),
    ("  given_name: Zoë ", '  given_name: "Zoë\\tZoë"', "child.given_name", "one line"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD_FILES)
def test_a_bad_contact_file_names_the_line_and_field_before_any_password(capsys, tmp_path, old, new,
                                                                         field, message, monkeypatch):
    monkeypatch.delenv("SPOA_PASSWORD", raising=False)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "contact.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    changed_line = new.strip().splitlines()[-1].strip()
    expected_line = next(i for i, line in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1)
                         if line.strip().startswith(changed_line))
    # No store exists here: the file is checked first, and no password is asked for.
    code, out, err = run(capsys, "contact", "add", "--file", bad, "--data-dir", tmp_path / "nothing")
    assert code == 2
    assert out == ""
    assert message in err
    assert err.startswith(f"spoa: {bad}:{expected_line}: {field}: ")


def test_a_file_that_is_not_a_contact(capsys, tmp_path):
    for text, message in (("child: [", "not valid YAML"), ("- a list", "named sections"),
                          ("referrer: {type: gp}", "give the child's details")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text, encoding="utf-8")
        code, _, err = run(capsys, "contact", "add", "--file", bad)
        assert code == 2
        assert message in err
    code, _, err = run(capsys, "contact", "add", "--file", tmp_path / "missing.yaml")
    assert (code, err.strip()) == (2, f"spoa: {tmp_path / 'missing.yaml'}: no such file")


def test_the_installed_command_adds_the_example(tmp_path):
    """End to end in a fresh process: the console script, a store without a keyring (the
    in-memory test keyring does not cross processes), the password on standard input."""
    folder = tmp_path / "store"
    admin, _ = Store.init(folder, admin_username="admin", admin_display_name="Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    with admin:
        admin.add_user("pat", "Pat", Role.PRACTITIONER, "temporary pass 1")
    with Store.unlock(folder, "pat", "temporary pass 1") as pat:
        pat.change_password("temporary pass 1", PRACTITIONER_PASSWORD)
    script = Path(sys.executable).parent / "spoa"
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from spoa.cli import main; sys.exit(main())"]
    env = {**os.environ, "SPOA_USER": "pat"}
    env.pop("SPOA_PASSWORD", None)
    done = subprocess.run([*command, "contact", "add", "--file", str(EXAMPLE), "--data-dir", str(folder),
                           "--password-stdin"], input=PRACTITIONER_PASSWORD + "\n", capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Contact co-")
    with Store.unlock(folder, "pat", PRACTITIONER_PASSWORD) as pat:
        assert pat.db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1
        assert pat.db.execute("SELECT count(*) FROM triage_sessions").fetchone()[0] == 1


def test_a_contact_received_hours_from_now_is_refused_in_uk_time(capsys, tmp_path, monkeypatch):
    from datetime import UTC, datetime, timedelta

    monkeypatch.delenv("SPOA_PASSWORD", raising=False)
    later = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    bad = tmp_path / "contact.yaml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace(
        "received_at: 2026-11-20T09:30:00Z", f"received_at: {later.isoformat()}", 1), encoding="utf-8")
    code, out, err = run(capsys, "contact", "add", "--file", bad, "--data-dir", tmp_path / "nothing")
    assert (code, out) == (2, "")
    assert ": received_at: is " in err
    assert "which is later than now" in err
    assert f" {later.year} at " in err  # a date and time in words, never ISO text
    assert later.isoformat() not in err


def test_the_core_refuses_a_future_received_at_for_the_desk_too(staffed_store):
    from datetime import UTC, datetime, timedelta

    from spoa import desk
    from spoa.store.records import ChildDraft, ContactDraft, InvalidField

    with staffed_store("pat") as pat:
        draft = ContactDraft(referrer_type="gp", child=ChildDraft(given_name="Ada", family_name="Testcase"),
                             received_at=datetime.now(UTC) + timedelta(hours=2))
        with pytest.raises(InvalidField, match="later than now"):
            desk.add_contact(pat, draft)
        assert desk.list_contacts(pat) == []
        # A clock a minute or two behind is not a contact from the future.
        desk.add_contact(pat, ContactDraft(referrer_type="gp", child=draft.child,
                                           received_at=datetime.now(UTC) + timedelta(minutes=2)))


def test_a_bad_contact_file_reports_every_problem_at_once(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("SPOA_PASSWORD", raising=False)
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in (('nhs_number: "999 876 5439"', 'nhs_number: "999 876 5438"'),
                     ("  type: school_nurse", "  type: neighbour\n  title: Ms"),
                     ("school_attendance: reduced", "school_attendance: sometimes"),
                     ("sleep_affected: disrupted", "sleep_affected: badly")):
        assert old in text
        text = text.replace(old, new, 1)
    bad = tmp_path / "contact.yaml"
    bad.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "contact", "add", "--file", bad, "--data-dir", tmp_path / "nothing")
    assert (code, out) == (2, "")
    assert err.startswith(f"spoa: {bad}: 4 problems; nothing was stored:\n")
    for field in ("child.nhs_number", "referrer.title", "answers.school_attendance",
                  "answers.sleep_affected"):
        assert f": {field}: " in err, field
    assert "and 1 more" not in err


def test_list_marks_what_is_overdue_and_show_gives_consent_in_words(capsys, as_practitioner):
    code, out, err = run(capsys, "contact", "add", "--file", EXAMPLE, *as_practitioner)
    assert code == 0, err
    contact_id, session_id = out.split()[1], out.split("Triage session ")[1].split(":")[0]
    # The contact's own commands, not "at the desk" only.
    assert f"'spoa referral confirm {session_id}'" in out
    assert f"'spoa referral override {session_id} --route R --urgency U --reason" in out

    code, out, _ = run(capsys, "contact", "list", *as_practitioner)
    assert code == 0
    # Received on 20 November, first contact due within 5 days: well past by now.
    assert "OVERDUE by " in out
    assert "days" in out.split("OVERDUE by ")[1]

    code, out, _ = run(capsys, "contact", "show", contact_id, *as_practitioner)
    assert code == 0
    assert "  consent      Given\n" in out
    assert "given by: parent" in out
    assert "date: 20 November 2026" in out
    assert "notes: Parent agrees to sharing with CAMHS" in out
    assert "{" not in out.split("consent")[1].split("Child ")[0]  # never the stored JSON


def test_the_two_shipped_examples_are_two_different_children(capsys, as_practitioner):
    code, _out, err = run(capsys, "contact", "add", "--file", EXAMPLE, *as_practitioner)
    assert code == 0, err
    code, out, err = run(capsys, "advice", "add", "--file", REPO / "examples" / "advice.yaml",
                         *as_practitioner)
    assert code == 0, err
    assert "Possible duplicate" not in out
