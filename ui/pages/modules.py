"""Rule modules: every module, whether it loads and whether its vignettes pass (read-only)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from ui.module_browser import ModuleBrowser
from ui.pages.base import Page
from ui.session import DeskSession


class ModulesPage(Page):
    key = "modules"
    title = "Rule modules"
    permission = None  # everyone may look; changing modules is done outside the desk

    def __init__(self, session: DeskSession, parent: QWidget | None = None, load=None):
        super().__init__(session, parent)
        self.browser = ModuleBrowser(self, load=load)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        self._loaded = False

    def refresh(self) -> None:
        # Surveying runs every vignette: once per start, then on 'Reload modules'.
        if not self._loaded:
            self._loaded = True
            self.browser.reload()
