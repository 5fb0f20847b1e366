"""Run core work off the UI thread and hand its result back on the UI thread.

One worker thread per owner (like a desk session: the database is used from one thread
at a time). The worker never touches widgets: it emits a queued signal carrying the
callback and the result, and Qt delivers it on the thread the owner lives in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, Qt, Signal

from ui.errors import report_unexpected
from ui.problems import user_message


class BackgroundTasks(QObject):
    """Owned by a widget; ``run(fn, on_success, on_failure)`` never blocks the UI."""

    _finished = Signal(object, object)  # the callback to call, and its argument

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spoa-task")
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.destroyed.connect(lambda *_: self._executor.shutdown(wait=False, cancel_futures=True))

    def run(self, fn: Callable[[], object], on_success: Callable[[object], None],
            on_failure: Callable[[Exception], None]) -> None:
        self._executor.submit(self._work, fn, on_success, on_failure)

    def _work(self, fn, on_success, on_failure) -> None:
        try:
            result = fn()
        except Exception as exc:  # reported on the UI thread; never lost
            if user_message(exc) is None:  # unexpected: logged here, where the stack is whole
                # The type and where, never the message: it may hold patient data.
                exc.spoa_reference = report_unexpected(type(exc), exc, exc.__traceback__)
            callback, argument = on_failure, exc
        else:
            callback, argument = on_success, result
        # The owner may have gone while we worked (window closed): then nobody is waiting.
        with contextlib.suppress(RuntimeError):
            self._finished.emit(callback, argument)

    def _deliver(self, callback: Callable[[object], None], argument: object) -> None:
        callback(argument)

    def wait(self) -> None:
        """Finish queued work (for closing the app and for tests)."""
        self._executor.shutdown(wait=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spoa-task")
