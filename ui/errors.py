"""Unexpected errors: a short message with a reference for the user, the detail in the log.

The log gets the exception's type and where it happened, but never its message, because
a message may carry patient data (a name typed into a field, say).
"""

from __future__ import annotations

import logging
import secrets
import sys
import traceback

from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("spoa.ui")


def report_unexpected(exc_type, exc, tb) -> str:
    reference = secrets.token_hex(4).upper()
    # File, line and function only: not even source lines, which can hold literals.
    stack = "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb))
    log.error("unexpected error %s: %s\n%s", reference, exc_type.__name__, stack)
    return reference


class UnexpectedErrorDialog:
    @classmethod
    def show(cls, reference: str) -> None:
        """Tests replace this classmethod; the app shows a modal message."""
        QMessageBox.critical(
            QApplication.activeWindow(),
            "Something went wrong",
            "The desk met an unexpected problem and stopped what it was doing. "
            "Nothing you saved has been lost.\n\n"
            f"If it happens again, tell your system administrator the reference {reference}.",
        )


def install_excepthook() -> None:
    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        reference = report_unexpected(exc_type, exc, tb)
        if QApplication.instance() is not None:
            UnexpectedErrorDialog.show(reference)

    sys.excepthook = hook
