"""What every page of the main window is.

A page is a QWidget built in code that shows one part of the desk. The main window
(ui.shell) puts it in the navigation under ``title``; a page whose ``permission`` the
signed-in role lacks is listed disabled with ``why_not`` as its tooltip (the core refuses
anyway). The shell calls ``refresh()`` when the page is shown and after an unlock, and
``clear()`` when the desk locks: a page then drops every piece of patient data it holds
(models emptied, fields blanked), so nothing is left on screen or in memory behind the
unlock window. A page asks for another page with ``navigate.emit(key, state)``.
``state()``/``restore(state)`` carry where the user was (a selected id,
a half-typed call is saved as a draft instead) across a lock, without patient data.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from spoa.roles import Permission
from ui.session import DeskSession


class Page(QWidget):
    key: str = ""  # stable name for navigation: "today", "contacts", "triage", ...
    title: str = ""
    permission: Permission | None = None  # None: every signed-in user

    # Ask the shell to show another page and restore(state) it, e.g.
    # navigate.emit("triage", {"session_id": ...}). Ids only, never patient data.
    navigate = Signal(str, dict)

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setAccessibleName(self.title)

    @classmethod
    def why_not(cls) -> str:
        if cls.permission is None:
            return ""
        return f"Your role cannot {cls.permission.value}."

    def refresh(self) -> None:
        """Load what the page shows (through ``self.session.call``)."""

    def clear(self) -> None:
        """Forget every piece of patient data shown or held."""

    def state(self) -> dict:
        """Where the user was, as ids only (no patient data): restored after unlock."""
        return {}

    def restore(self, state: dict) -> None:
        """Go back to ``state`` (from ``state()``) after the desk was unlocked again."""

    def before_lock(self) -> None:
        """The desk is about to lock: save what would otherwise be lost (a draft call)."""
