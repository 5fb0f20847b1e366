"""The signed-in desk: the unlocked store, the one thread that uses it, and locking.

Every page talks to the core through ``DeskSession.call(fn, on_success)``: ``fn(store)``
runs on the session's single store thread (so the SQLCipher connection is never used
from two threads at once, and the UI never waits on key derivation, search or PDF
building); its result comes back on the UI thread by queued signal. Workers never touch
widgets. Locking drops the key and closes the connection, then emits ``locked`` so every
page clears the patient data it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from spoa import drafts
from spoa.roles import Permission, allowed
from spoa.store.store import Store, User
from ui.problems import show_problem
from ui.tasks import BackgroundTasks


class NotUnlocked(RuntimeError):
    """A page asked for the store while the desk is locked (a bug in the page, not the user)."""


class DeskSession(QObject):
    unlocked = Signal(object)  # the User who unlocked
    locked = Signal()  # the key is gone: every page clears what it shows
    activity = Signal()  # a store call started: the idle timer counts from now

    def __init__(self, folder: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.folder = Path(folder)
        self._store: Store | None = None
        self._tasks = BackgroundTasks(self)

    # -- who is signed in ------------------------------------------------------------

    @property
    def store(self) -> Store | None:
        return self._store

    @property
    def user(self) -> User | None:
        return self._store.user if self._store is not None else None

    @property
    def is_unlocked(self) -> bool:
        return self._store is not None and self._store.is_open

    def can(self, permission: Permission) -> bool:
        """Whether the signed-in user's role allows this (the core enforces it anyway)."""
        user = self.user
        return user is not None and allowed(user.role, permission)

    # -- running core work ------------------------------------------------------------

    def call(self, fn: Callable[[Store], Any], on_success: Callable[[Any], None],
             on_failure: Callable[[Exception], None] | None = None) -> None:
        """Run ``fn(store)`` on the store thread; ``on_success(result)`` or ``on_failure(exc)``
        on the UI thread. Without ``on_failure`` a problem is shown to the user
        (``ui.problems.show_problem``: known errors say what to do, others give a reference)."""
        store = self._store
        if store is None:
            raise NotUnlocked("the desk is locked")
        self.activity.emit()

        def work():
            if not store.is_open:
                raise NotUnlocked("the desk was locked before this ran")
            return fn(store)

        def failed(exc: Exception) -> None:
            if isinstance(exc, NotUnlocked):
                return  # locked meanwhile: nothing to show, the page was cleared
            (on_failure or show_problem)(exc)

        self._tasks.run(work, lambda result: self._deliver(store, on_success, result), failed)

    def _deliver(self, store: Store, on_success: Callable[[Any], None], result: Any) -> None:
        # A result computed before a lock must not reappear on a cleared page.
        if self._store is store and store.is_open:
            on_success(result)

    def run(self, fn: Callable[[], Any], on_success: Callable[[Any], None],
            on_failure: Callable[[Exception], None] | None = None) -> None:
        """Run ``fn()`` (no store: unlocking, creating a store) on the store thread."""
        self._tasks.run(fn, on_success, on_failure or show_problem)

    def wait(self) -> None:
        """Finish queued work (closing the app; tests)."""
        self._tasks.wait()

    # -- unlocking and locking ----------------------------------------------------------

    def unlock(self, username: str, password: str, on_success: Callable[[User], None],
               on_failure: Callable[[Exception], None]) -> None:
        """Derive the key and open the store off the UI thread."""
        folder = self.folder

        def opened(store: Store) -> None:
            self.adopt(store)
            on_success(store.user)

        self._tasks.run(lambda: Store.unlock(folder, username, password), opened, on_failure)

    def adopt(self, store: Store) -> None:
        """Take an unlocked store (after unlock, recovery or first-run setup)."""
        if self._store is not None and self._store is not store:
            self._store.lock()
        self._store = store
        self.unlocked.emit(store.user)
        # Half-typed forms kept across a lock live 7 days at most, even if never reopened.
        self.call(drafts.expire_form_drafts, lambda _count: None)

    def lock(self) -> None:
        """Drop the key and close the connection (after queued work), then tell every page."""
        store, self._store = self._store, None
        if store is None:
            return
        # Work already queued finds the store gone and stops (see call); the lock itself
        # runs on the store thread so it never races a query in flight.
        self._tasks.run(store.lock, lambda _: None, lambda _exc: None)
        self._tasks.wait()
        self.locked.emit()
