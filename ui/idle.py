"""Noticing that nobody is at the desk: no keyboard or mouse input to the app for a while.

One event filter on the application sees every input event; each one (and each store
call the desk starts) restarts a single-shot timer. When it runs out, ``idle`` is emitted
and the shell locks the desk. The timeout comes from the desk settings (minutes, at most
15); tests give a few milliseconds instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from spoa.settings import MAX_IDLE_LOCK_MINUTES

INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TabletPress,
    QEvent.Type.InputMethod, QEvent.Type.ShortcutOverride,
})


class IdleWatcher(QObject):
    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self.set_timeout_ms(timeout_ms)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @staticmethod
    def minutes_to_ms(minutes: int) -> int:
        return max(1, min(int(minutes), MAX_IDLE_LOCK_MINUTES)) * 60_000

    def set_timeout_ms(self, timeout_ms: int) -> None:
        self._timer.setInterval(max(1, int(timeout_ms)))
        if self._timer.isActive():
            self._timer.start()

    def timeout_ms(self) -> int:
        return self._timer.interval()

    @property
    def watching(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def poke(self) -> None:
        """Someone is here (input or a store call): count again from now."""
        if self._timer.isActive():
            self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS:
            self.poke()
        return False

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
