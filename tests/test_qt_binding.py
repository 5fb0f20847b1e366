"""The Qt binding the desk is built on must not leak or free Python objects: PySide6 6.12.0
on Python 3.11 dropped a reference to None on every call of a void Qt method, so a desk left
open all day (or a long test run) aborted with 'none_dealloc'. pyproject.toml excludes it."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_none_alive(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(5000):
        label.setText("synthetic")
        label.update()
    assert sys.getrefcount(None) >= before - 50  # a little slack for the interpreter's own use
