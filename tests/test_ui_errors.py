"""Unexpected errors reach the user as a reference, and the log never carries the message."""

import logging
import sys

from ui import errors
from ui.app import no_display_message


def test_unexpected_error_shows_a_reference_and_logs_no_message(qtbot, monkeypatch, caplog):
    shown = []
    monkeypatch.setattr(errors.UnexpectedErrorDialog, "show", classmethod(lambda cls, ref: shown.append(ref)))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    errors.install_excepthook()
    try:
        raise ValueError("Child called Zoë Example, NHS 999 000 0018")
    except ValueError:
        with caplog.at_level(logging.ERROR, logger="spoa.ui"):
            sys.excepthook(*sys.exc_info())
    (reference,) = shown
    assert len(reference) == 8
    assert reference in caplog.text
    assert "ValueError" in caplog.text
    assert "Zoë" not in caplog.text
    assert "999 000 0018" not in caplog.text


def test_no_display_is_explained(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert "no display was found" in no_display_message()
    monkeypatch.setenv("DISPLAY", ":0")
    assert no_display_message() is None
