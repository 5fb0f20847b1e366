"""The command line, driven as a user would: arguments in, text and exit codes out."""

import json

import pytest

from spoa.cli import main
from tests.conftest import MINIMAL_MODULE

# The desk's danger-now screen, asked first on every call: nothing dangerous now.
NO_DANGER_YAML = 'now_harm: "no"\nnow_acted: "no"\nnow_means: "no"\nnow_with_child: no\n'
NO_DANGER_FLOW = 'now_harm: "no", now_acted: "no", now_means: "no", now_with_child: no'
GOOD_CASES = f"""\
cases:
  - id: emergency
    answers: {{{NO_DANGER_FLOW}, self_harm: yes, treated: yes}}
    expect: {{rule: emergency, route: camhs, urgency: emergency, flags: [treated_self_harm]}}
  - id: impact
    answers: {{{NO_DANGER_FLOW}, self_harm: yes, treated: no, areas: [school, eating]}}
    expect: {{rule: high_impact, flags: [eating_concern], scores: {{impact: 6}}}}
  - id: nothing
    answers: {{{NO_DANGER_FLOW}, self_harm: no}}
    expect: {{rule: advice, flags: []}}
"""


@pytest.fixture
def user_module(private_data_dir):
    folder = private_data_dir / "rules" / "mini"
    (folder / "cases").mkdir(parents=True)
    (folder / "module.yaml").write_text(MINIMAL_MODULE)
    (folder / "cases" / "cases.yaml").write_text(GOOD_CASES)
    return folder


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_rules_list_shows_each_module_with_source_and_status(capsys, user_module):
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0
    assert "camhs_general" in out
    assert "[built-in] ok (draft: needs local sign-off)" in out
    assert "mini" in out
    assert "[user]" in out


def test_rules_list_json(capsys, user_module):
    _code, out, _ = run(capsys, "rules", "list", "--json")
    rows = {row["id"]: row for row in json.loads(out)}
    assert rows["mini"]["source"] == "user"
    assert len(rows["mini"]["content_hash"]) == 64


def test_rules_check_passes_good_modules(capsys, user_module):
    code, out, _ = run(capsys, "rules", "check", str(user_module))
    assert (code, out.splitlines()[-1]) == (0, "1 ok, 0 broken")


def test_rules_check_fails_with_file_and_line(capsys, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "module.yaml").write_text(MINIMAL_MODULE.replace("when: impact >= 3", "when: impakt >= 3"))
    code, out, _ = run(capsys, "rules", "check", str(folder))
    line = MINIMAL_MODULE.splitlines().index("    when: impact >= 3") + 1
    assert code == 1
    assert f"module.yaml:{line}: [mini] outcomes[1].when: unknown name 'impakt'" in out


def test_rules_check_of_a_path_without_modules_is_bad_input(capsys, tmp_path):
    code, _, err = run(capsys, "rules", "check", str(tmp_path))
    assert code == 2
    assert "no module here" in err


def test_rules_test_runs_every_vignette(capsys, user_module):
    code, out, _ = run(capsys, "rules", "test")
    assert code == 0, out
    passed = int(out.splitlines()[-1].split()[0])
    assert out.splitlines()[-1] == f"{passed} passed, 0 failed"
    assert passed >= 3 * 12 + 3


def test_rules_test_reports_a_failing_vignette(capsys, user_module):
    (user_module / "cases" / "cases.yaml").write_text(GOOD_CASES.replace(
        "expect: {rule: advice, flags: []}", "expect: {rule: high_impact, flags: []}"))
    code, out, _ = run(capsys, "rules", "test", "mini")
    assert code == 1
    assert "FAIL mini/nothing" in out
    assert "rule: expected 'high_impact', got 'advice'" in out
    assert out.splitlines()[-1] == "2 passed, 1 failed"


def test_triage_prints_the_explained_outcome(capsys, user_module, tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text(NO_DANGER_YAML + "self_harm: yes\ntreated: yes\nareas: [eating]\n")
    code, out, _ = run(capsys, "triage", "--module", "mini", "--answers", str(answers))
    assert code == 0
    assert "Route:            CAMHS" in out
    assert "Urgency:          Emergency (MHSDS priority 1)" in out
    assert "ACT NOW: Arrange an emergency assessment today." in out
    assert "Outcome rule 'emergency' chose CAMHS" in out


def test_triage_json_has_every_field(capsys, user_module, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"now_harm": "no", "now_acted": "no", "now_means": "no",
                                   "now_with_child": False, "self_harm": False, "areas": ["school"]}))
    code, out, _ = run(capsys, "triage", "--module", "mini", "--answers", str(answers), "--json")
    result = json.loads(out)
    assert code == 0
    assert {k: result[k] for k in ("route", "urgency", "mhsds_priority", "respond_within_hours",
                                   "thrive")} == {
        "route": "advice", "urgency": "routine", "mhsds_priority": 3,
        "respond_within_hours": 120, "thrive": "getting_advice"}
    assert result["module"]["id"] == "mini"
    assert len(result["module"]["content_hash"]) == 64
    assert result["scores"] == [{"id": "impact", "label": "Impact", "value": 1.0, "band": "low"}]
    assert result["rationale"]


@pytest.mark.parametrize(("content", "message"), [
    ("self_harm: no\ncolour: blue\n", "colour: module 'mini' has no question with this id"),
    ("self_harm: perhaps\n", "self_harm: this is a yes/no question"),
    (NO_DANGER_YAML + "areas: [school]\n", "self_harm: required (Recent self-harm?)"),
    ("areas: [school]\n", "now_harm: required (Is anyone being harmed, or about to be harmed, right now"),
    (NO_DANGER_YAML + "self_harm: no\nweeks: 400\n", "weeks: More than five years"),
    ("- just a list\n", "expected a mapping"),
    ("self_harm: [\n", "not valid YAML"),
])
def test_triage_bad_answers_exit_2_naming_the_question(capsys, user_module, tmp_path, content, message):
    answers = tmp_path / "answers.yaml"
    answers.write_text(content)
    code, out, err = run(capsys, "triage", "--module", "mini", "--answers", str(answers))
    assert code == 2
    assert message in err
    assert out == ""


def test_triage_notes_dropped_hidden_answers(capsys, user_module, tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text(NO_DANGER_YAML + "self_harm: no\ntreated: yes\n")
    code, out, err = run(capsys, "triage", "--module", "mini", "--answers", str(answers))
    assert code == 0
    assert "the answer to 'treated' was not used" in err
    assert "Advice only" in out


def test_triage_unknown_module(capsys, tmp_path):
    answers = tmp_path / "a.yaml"
    answers.write_text("{}\n")
    code, _, err = run(capsys, "triage", "--module", "nope", "--answers", str(answers))
    assert code == 2
    assert "no module 'nope'" in err


@pytest.mark.parametrize(("number", "code", "text"), [
    ("943 476 5919", 0, "valid: 943 476 5919"),
    ("9434765918", 1, "invalid"),
])
def test_nhs_number(capsys, number, code, text):
    result, out, _ = run(capsys, "nhs-number", number)
    assert result == code
    assert text in out
