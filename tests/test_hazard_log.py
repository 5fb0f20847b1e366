"""The hazard log (docs/safety/hazard-log.yaml) holds together: every hazard has its cause,
effect, ratings and controls; every control names tests; every named test exists; every
risk rating follows the log's own matrix; the safety case lists every hazard."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

LOG = REPO / "docs" / "safety" / "hazard-log.yaml"
CASE = REPO / "docs" / "safety" / "safety-case.md"
REQUIRED = ("id", "title", "cause", "effect", "severity", "likelihood_before", "risk_before", "controls",
            "severity_after", "likelihood_after", "risk_after")
DATA = yaml.safe_load(LOG.read_text(encoding="utf-8"))
HAZARDS = DATA["hazards"]


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """Test functions defined in a test file, at module level or in a class (Class::name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}::{item.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
    return frozenset(names)


def rating(severity: str, likelihood: str) -> int:
    return DATA["risk_matrix"][severity][DATA["likelihoods"].index(likelihood)]


def test_the_matrix_is_complete():
    assert set(DATA["risk_matrix"]) == set(DATA["severities"])
    assert all(len(row) == len(DATA["likelihoods"]) for row in DATA["risk_matrix"].values())


def test_the_hazards_the_safety_process_asks_for_are_logged():
    titles = " ".join(h["title"].lower() for h in HAZARDS)
    for words in ("immediate danger", "under-triage", "over-triage", "urgency word", "wrong child",
                  "unsigned module", "record lost", "wrong service", "leaked", "unlocked"):
        assert words in titles, words
    assert len({h["id"] for h in HAZARDS}) == len(HAZARDS)


@pytest.mark.parametrize("hazard", HAZARDS, ids=lambda h: h["id"])
def test_each_hazard_is_whole_and_its_ratings_follow_the_matrix(hazard):
    missing = [field for field in REQUIRED if not hazard.get(field)]
    assert missing == []
    assert hazard["risk_before"] == rating(hazard["severity"], hazard["likelihood_before"])
    assert hazard["risk_after"] == rating(hazard["severity_after"], hazard["likelihood_after"])
    assert hazard["risk_after"] <= hazard["risk_before"]


@pytest.mark.parametrize("hazard", HAZARDS, ids=lambda h: h["id"])
def test_every_control_names_tests_that_exist(hazard):
    for control in hazard["controls"]:
        assert control.get("what"), f"{hazard['id']}: a control without words"
        tests = control.get("tests") or []
        assert tests, f"{hazard['id']}: the control '{control['what']}' names no test"
        for test_id in tests:
            file_part, _, name = test_id.partition("::")
            path = REPO / file_part
            assert path.is_file(), f"{hazard['id']}: {file_part} does not exist"
            assert name.split("[")[0] in defined_tests(path), f"{hazard['id']}: {test_id} does not exist"


def test_the_safety_case_lists_every_hazard():
    text = CASE.read_text(encoding="utf-8")
    for hazard in HAZARDS:
        assert f"{hazard['id']} " in text, hazard["id"]
    assert "example content" in text.lower()
    assert "sign-off" in text.lower() or "signed off" in text.lower()
