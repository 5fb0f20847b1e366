"""Started by ui_bench.py in a fresh interpreter, once per timed start.

``app``: the desk started as a person starts it (``ui.app.main``, with the data folder
from SPOA_DATA_DIR, where a store exists, so the unlock window is what opens).
``bare``: a plain PySide6 window, the yardstick.

Either way, when the first top-level window is exposed this prints one JSON line (the
monotonic clock then, and which windows are showing) and quits. Nothing in the desk
knows it is being timed.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


class FirstExposed(QObject):
    def __init__(self, app: QApplication):
        super().__init__(app)
        self.app = app
        self.done = False

    def eventFilter(self, watched, event):  # Qt's name
        if not self.done and event.type() == QEvent.Type.Expose and isinstance(watched, QWindow) \
                and watched.isExposed():
            self.done = True
            exposed_at = time.monotonic()
            shown = sorted(type(w).__name__ for w in self.app.topLevelWidgets() if w.isVisible())
            print(json.dumps({"exposed_at": exposed_at, "windows": shown}), flush=True)
            # Quit once the event loop runs: the window may be exposed before app.exec() starts,
            # and a quit() then would be lost.
            QTimer.singleShot(0, self.app.quit)
        return False


def main(mode: str) -> int:
    app = QApplication(sys.argv[:1])
    app.installEventFilter(FirstExposed(app))
    if mode == "bare":
        window = QMainWindow()
        window.setWindowTitle("Bare PySide6 window")
        window.setCentralWidget(QLabel("Hello"))
        window.show()
        return app.exec()
    import ui.app  # part of what is timed: the desk's imports

    return ui.app.main(sys.argv[:1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
