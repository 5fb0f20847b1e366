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


def test_missing_desktop_libraries_are_named_with_their_packages(monkeypatch):
    from ui.app import missing_libraries_message

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    lacking = {"xcb-cursor", "xcb-icccm"}
    message = missing_libraries_message(lambda name: None if name in lacking else f"lib{name}.so")
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 " in message
    assert "libegl1" not in message
    assert missing_libraries_message(lambda name: f"lib{name}.so") is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # no X11 plugin: nothing to check
    assert missing_libraries_message(lambda name: None) is None
