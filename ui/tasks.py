"""Run a core function off the UI thread and hand its result back by signal.

Workers never touch widgets: the callbacks run on the main thread, connected through
Qt's queued signals.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ui.errors import report_unexpected


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], object]):
        super().__init__()
        self.fn = fn
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported on the main thread; never lost
            # The type and where, never the message: it may hold patient data.
            report_unexpected(type(exc), exc, exc.__traceback__)
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)


def run_in_background(
    fn: Callable[[], object],
    on_success: Callable[[object], None],
    on_failure: Callable[[Exception], None],
    owner: QObject,
) -> None:
    """Run ``fn()`` on the shared thread pool; call back on the main thread.

    ``owner`` keeps the signal receiver alive and on the main thread.
    """
    job = _Job(fn)
    job.signals.setParent(None)
    relay = _Relay(owner, on_success, on_failure)
    job.signals.succeeded.connect(relay.success)
    job.signals.failed.connect(relay.failure)
    job.setAutoDelete(True)
    relay.keep = job.signals  # the signals object must outlive the runnable
    QThreadPool.globalInstance().start(job)


class _Relay(QObject):
    def __init__(self, owner: QObject, on_success, on_failure):
        super().__init__(owner)
        self.on_success = on_success
        self.on_failure = on_failure
        self.keep = None

    def success(self, result: object) -> None:
        try:
            self.on_success(result)
        finally:
            self.deleteLater()

    def failure(self, exc: Exception) -> None:
        try:
            self.on_failure(exc)
        finally:
            self.deleteLater()
