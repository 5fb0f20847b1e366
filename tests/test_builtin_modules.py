"""Every shipped module loads, is marked as example content, and passes all its vignettes."""

import re
from pathlib import Path

import pytest

from spoa.rules.cases import coverage_gaps, load_vignettes, run_vignette
from spoa.rules.loading import load_module
from spoa.rules.session import TriageSession
from tests.conftest import REPO

MODULE_DIRS = sorted(p.parent for p in (REPO / "triage_rules").glob("*/module.yaml"))
EXPECTED = {"camhs_general", "professional_advice", "urgency_screen"}


def all_vignettes():
    for folder in MODULE_DIRS:
        module = load_module(folder)
        for vignette in load_vignettes(module):
            yield pytest.param(module, vignette, id=f"{module.id}/{vignette.id}")


def test_the_three_builtin_modules_ship():
    assert {p.name for p in MODULE_DIRS} == EXPECTED


@pytest.mark.parametrize(("module", "vignette"), list(all_vignettes()))
def test_vignette(module, vignette):
    result = run_vignette(module, vignette)
    assert result.passed, result.describe()


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_vignettes_reach_every_rule_and_flag(folder):
    module = load_module(folder)
    vignettes = load_vignettes(module)
    assert len(vignettes) >= 12
    assert coverage_gaps(module, vignettes) == []


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_builtin_modules_are_marked_as_example_content(folder):
    module = load_module(folder)
    assert not module.sign_off.approved
    assert "sign-off" in module.sign_off.note.lower()


def test_safeguarding_flag_is_named_whatever_the_route():
    """A safeguarding concern raises a flag that the outcome names, on every route."""
    module = load_module(REPO / "triage_rules" / "camhs_general")
    safeguarding = {f.id for f in module.flags if "safeguard" in f.id}
    assert safeguarding
    routes = set()
    for vignette in load_vignettes(module):
        outcome = TriageSession(module, vignette.context, vignette.answers).outcome
        if safeguarding & {f.id for f in outcome.flags}:
            routes.add(outcome.route)
            assert any("afeguard" in line for line in outcome.rationale())
    assert len(routes) >= 3, routes


def test_readme_example_loads_and_decides(tmp_path):
    """The annotated example in the authoring guide is a working module."""
    guide = (REPO / "triage_rules" / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## A complete, annotated example\n\n```yaml\n(.*?)```", guide, re.S)
    folder = Path(tmp_path) / "example"
    folder.mkdir()
    (folder / "module.yaml").write_text(example.group(1), encoding="utf-8")
    module = load_module(folder)
    case = re.search(r"    answers:\n((?:      .*\n)+)", guide).group(1)
    answers = dict(line.strip().split(": ", 1) for line in case.splitlines())
    answers = {k: (v.strip("[]").split(", ") if v.startswith("[") else v.strip('"'))
               for k, v in answers.items()}
    outcome = TriageSession(module, answers=answers).outcome
    assert (outcome.rule_id, [f.id for f in outcome.flags]) == ("very_urgent_plan", ["suicidal_plan"])
    assert outcome.complete
