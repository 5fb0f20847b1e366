"""The desktop app's entry point (``spoa-desk``)."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMainWindow

from ui.errors import install_excepthook
from ui.module_browser import ModuleBrowser

APP_TITLE = "SPOA triage desk"


class MainWindow(QMainWindow):
    def __init__(self, load=None):
        super().__init__()
        self.setWindowTitle(f"{APP_TITLE} — rule modules")
        self.browser = ModuleBrowser(self, load=load)
        self.setCentralWidget(self.browser)
        self.resize(1000, 640)
        QShortcut(QKeySequence.StandardKey.Refresh, self, activated=self.browser.reload)


def no_display_message() -> str | None:
    """On Linux without a display, Qt would abort; say so plainly instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("spoa-desk: no display was found, so the window cannot open. Start it from a "
            "desktop session; on a server, use the 'spoa' command line instead, or set "
            "QT_QPA_PLATFORM=offscreen to run it without a screen.")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    message = no_display_message()
    if message:
        print(message, file=sys.stderr)
        return 2
    install_excepthook()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_TITLE)
    window = MainWindow()
    window.show()
    window.browser.reload()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
