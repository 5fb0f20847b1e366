"""The desktop app's entry point (``spoa-desk``): the setup wizard on first run, else the
unlock window; then the main window. ``spoa-desk --self-test`` checks an installation
without a display (spoa.selftest) and exits 0 or 1."""

from __future__ import annotations

import ctypes.util
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from spoa.paths import home_data_dir, remembered_data_dir
from spoa.settings import DeskSettings, SettingsProblem
from spoa.store.store import Store
from ui import theme
from ui.errors import install_excepthook
from ui.session import DeskSession
from ui.setup_wizard import SetupWizard, data_folder, use_data_folder
from ui.unlock import UnlockWindow

if TYPE_CHECKING:
    from ui.pages.base import Page
    from ui.shell import MainWindow

APP_TITLE = "SPOA triage desk"


def no_display_message() -> str | None:
    """On Linux without a display, Qt would abort; say so plainly instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("spoa-desk: no display was found, so the window cannot open. Start it from a "
            "desktop session; on a server, use the 'spoa' command line instead, or set "
            "QT_QPA_PLATFORM=offscreen to run it without a screen.")


# What Qt's X11 platform plugin (xcb) needs from the system on Linux, as ctypes names it,
# with the Debian and Ubuntu package that provides it. Qt's own abort names only the first
# one it misses (and, for some, the wrong one).
XCB_LIBRARIES = (
    ("xcb-cursor", "libxcb-cursor0"), ("xcb-icccm", "libxcb-icccm4"),
    ("xcb-keysyms", "libxcb-keysyms1"), ("xcb-image", "libxcb-image0"),
    ("xcb-render-util", "libxcb-render-util0"), ("xcb-randr", "libxcb-randr0"),
    ("xcb-shape", "libxcb-shape0"), ("xcb-xkb", "libxcb-xkb1"),
    ("xkbcommon-x11", "libxkbcommon-x11-0"), ("EGL", "libegl1"), ("GL", "libgl1"),
    ("fontconfig", "libfontconfig1"), ("dbus-1", "libdbus-1-3"),
)


def missing_libraries_message(find: Callable[[str], str | None] = ctypes.util.find_library) -> str | None:
    """On Linux, before Qt starts its X11 plugin: the system libraries it needs that this
    computer lacks, with the packages to install (Qt itself would abort naming one)."""
    if not sys.platform.startswith("linux") or getattr(sys, "frozen", False):
        return None  # the packaged app carries what it needs
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None
    if not platform and os.environ.get("WAYLAND_DISPLAY") and os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return None  # Qt uses its Wayland plugin here
    missing = [package for library, package in XCB_LIBRARIES if find(library) is None]
    if not missing:
        return None
    return ("spoa-desk: this computer lacks libraries the desktop window needs. On Debian or "
            f"Ubuntu install them with: sudo apt install {' '.join(missing)} (on other systems, "
            "the packages of the same names). The 'spoa' command line works without them.")


def missing_folder_message(home: Path) -> str | None:
    """The records folder chosen at setup has gone (a network or removable drive not
    connected): say so, instead of offering to set up a new, empty desk in its place."""
    remembered = remembered_data_dir(home)
    if remembered is None or remembered.is_dir():
        return None
    return (f"The desk's records are kept in {remembered}, the folder chosen when the desk was set "
            "up, but that folder cannot be found. If it is on a network or removable drive, connect "
            "it and start the desk again. Nothing has been changed.")


def apply_remembered_view(folder: Path) -> None:
    """Text size and high contrast as last chosen on this desk, before the first window."""
    try:
        settings = DeskSettings.load(folder)
    except SettingsProblem as exc:  # a damaged file: the usual view, and the log says why
        logging.getLogger("spoa.ui").warning("desk settings not used: %s", exc)
        return
    theme.apply_view(QApplication.instance(), settings.text_size_percent, settings.high_contrast)


class StartProblem:
    @classmethod
    def show(cls, message: str) -> None:
        """Tests replace this classmethod."""
        QMessageBox.critical(None, APP_TITLE, message)


class Desk:
    """The running desk: one session, the first window (setup wizard or unlock window) shown
    at once, and the main window built while the first person unlocks."""

    def __init__(self, pages: Sequence[type[Page]] | None = None, *, idle_ms: int | None = None,
                 kdf=None):
        default = home_data_dir()  # where the pointer to a chosen folder lives
        folder = data_folder(default)
        use_data_folder(folder)
        self.session = DeskSession(folder)
        self.window: MainWindow | None = None
        self.wizard: SetupWizard | None = None
        self.unlock_window = UnlockWindow(self.session)
        self._pages, self._idle_ms = pages, idle_ms
        apply_remembered_view(folder)
        if Store.exists(folder):
            self.unlock_window.show()
        else:
            self.wizard = SetupWizard(self.session, default_folder=default, kdf=kdf)
            self.wizard.show()
        # The main window (its pages' imports are the slow part of starting) is built while
        # the key is derived after Unlock is pressed, so neither the first window nor the
        # person waits for it; at the latest, when the desk is unlocked.
        self.unlock_window.unlocking.connect(self._build_soon)
        self.session.unlocked.connect(lambda _user: self.build_window())

    def _build_soon(self) -> None:
        QTimer.singleShot(0, self.build_window)

    def build_window(self) -> MainWindow:
        if self.window is None:
            from ui.shell import MainWindow

            self.window = MainWindow(self.session, self._pages, idle_ms=self._idle_ms,
                                     unlock_window=self.unlock_window)
        return self.window


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # a frozen build's letter workers (spoa.letters.builders)
    arguments = list(sys.argv[1:] if argv is None else argv[1:])
    if "--self-test" in arguments:  # headless: no display, no Qt (see spoa.selftest)
        from spoa.selftest import main as self_test

        return self_test()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    message = no_display_message() or missing_libraries_message()
    if message:
        print(message, file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_TITLE)
    problem = missing_folder_message(home_data_dir())
    if problem:
        StartProblem.show(problem)
        return 2
    install_excepthook()
    desk = Desk()
    code = app.exec()
    desk.session.lock()
    desk.session.wait()
    return code


if __name__ == "__main__":
    sys.exit(main())
