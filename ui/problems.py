"""Showing a problem to the person at the desk: what went wrong and what to do.

Errors the core raises for people (bad input, a refused action, a role that may not,
a store that cannot open) carry a message written for the user and are shown as they
are. Anything else is unexpected: the user sees a short message with a reference, and
the log gets the type and where (never the message, which may hold patient data).
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import sqlcipher3
from PySide6.QtWidgets import QApplication, QMessageBox

from spoa.paths import data_dir
from ui.errors import UnexpectedErrorDialog, report_unexpected


@functools.cache
def for_people() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is written for the person at the desk (they name fields and
    say what to do; they never repeat the values typed). Imported on first use: the letters
    modules pull in ReportLab, which the unlock window should not wait for."""
    from spoa.letters.directory import DirectoryError
    from spoa.letters.fonts import LetterFontError
    from spoa.letters.outbox import DeliveryProblem, DeliveryRefused
    from spoa.letters.routing import RoutingInputError
    from spoa.letters.wording import LetterResourceError
    from spoa.nhs import NhsNumberError, PostcodeError
    from spoa.roles import NotAllowed
    from spoa.rules.errors import AnswerError, AnswersRejected, ModuleError
    from spoa.settings import SettingsProblem
    from spoa.store.database import StoreError
    from spoa.store.device import KeyringUnavailable
    from spoa.store.records import RecordError

    return (
        RecordError, NotAllowed, StoreError, LetterResourceError, LetterFontError, DirectoryError,
        RoutingInputError, DeliveryRefused, DeliveryProblem, KeyringUnavailable, NhsNumberError,
        PostcodeError, AnswerError, AnswersRejected, ModuleError, SettingsProblem,
    )


def user_message(exc: BaseException, store_folder: Path | None = None) -> str | None:
    """The message to show for a known problem, or None for an unexpected one."""
    if isinstance(exc, for_people()):
        return str(exc)
    if isinstance(exc, (sqlcipher3.Error, sqlite3.Error)):
        from spoa.store.database import DATABASE_FILE, explain

        where = (store_folder or data_dir()) / DATABASE_FILE
        return str(explain(exc, where))
    if isinstance(exc, OSError):
        return (f"The file or folder could not be used ({exc.strerror or 'operating system error'}). "
                "Check that it exists, that you may write there and that the disk is not full.")
    return None


class ProblemDialog:
    @classmethod
    def show(cls, title: str, message: str) -> None:
        """Tests replace this classmethod; the app shows a modal warning."""
        QMessageBox.warning(QApplication.activeWindow(), title, message)


def show_problem(exc: BaseException, title: str = "That could not be done") -> None:
    message = user_message(exc)
    if message is None:
        # Logged once: by the worker that caught it (ui.tasks), or here.
        reference = getattr(exc, "spoa_reference", None)
        if reference is None:
            reference = report_unexpected(type(exc), exc, exc.__traceback__)
        UnexpectedErrorDialog.show(reference)
    else:
        ProblemDialog.show(title, message)
