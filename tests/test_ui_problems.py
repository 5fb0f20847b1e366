"""What the person at the desk sees when core work fails off the UI thread: a message that
says what to do for a known problem; a reference (logged once, type and place only, never
the message) for an unexpected one."""

from __future__ import annotations

import logging

import pytest

from spoa.store.records import InvalidField
from ui.errors import UnexpectedErrorDialog
from ui.problems import ProblemDialog, show_problem
from ui.tasks import BackgroundTasks

SECRET = "Zoë Synthetic 999 876 5439"  # stands for patient data inside an exception


@pytest.fixture
def shown(monkeypatch):
    seen = {"problems": [], "unexpected": []}
    monkeypatch.setattr(ProblemDialog, "show",
                        classmethod(lambda cls, title, message: seen["problems"].append(message)))
    monkeypatch.setattr(UnexpectedErrorDialog, "show",
                        classmethod(lambda cls, reference: seen["unexpected"].append(reference)))
    return seen


def run_failing(qtbot, exc: Exception) -> None:
    tasks = BackgroundTasks()

    def fail():
        raise exc

    with qtbot.waitSignal(tasks._finished, timeout=5000):
        tasks.run(fail, lambda _: None, show_problem)
    qtbot.wait(10)


def test_a_known_problem_shows_its_message_and_logs_nothing(qtbot, shown, caplog):
    with caplog.at_level(logging.INFO, logger="spoa.ui"):
        run_failing(qtbot, InvalidField("postcode", "is not a UK postcode; check it and try again"))
    assert len(shown["problems"]) == 1
    assert "postcode" in shown["problems"][0]
    assert "try again" in shown["problems"][0]
    assert shown["unexpected"] == []
    assert caplog.records == []


def test_an_unexpected_problem_gives_one_reference_and_never_its_message(qtbot, shown, caplog):
    with caplog.at_level(logging.INFO, logger="spoa.ui"):
        run_failing(qtbot, KeyError(SECRET))
    assert shown["problems"] == []
    (reference,) = shown["unexpected"]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1
    assert reference in logged[0]
    assert "KeyError" in logged[0]
    assert SECRET not in logged[0]
