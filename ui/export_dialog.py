"""Exporting a day's approved letters: choosing the day and the folder, then the export
itself off the UI thread with a progress dialog whose Cancel works.

Cancel sets a ``threading.Event`` that ``spoa.letters.batch_export.export_day`` checks between
letters: the letter being written is finished (files are written whole or not at all) and
no further one is started. The summary says how many were written and where.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa.letters import batch_export
from spoa.letters.batch_export import BatchExport
from ui.problems import show_problem
from ui.session import DeskSession

SHOWN_WAIT_SECONDS = 1.0


class FolderField(QWidget):
    """A folder path typed or chosen with the system's folder dialog."""

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = QLineEdit()
        self.path.setAccessibleName(name)
        self.choose = QPushButton("Choose…")
        self.choose.setAccessibleName(f"Choose the {name.lower()}")
        self.choose.clicked.connect(self._choose)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(self.choose)
        self.setFocusProxy(self.path)

    def _choose(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.path.accessibleName(), self.path.text())
        if chosen:
            self.path.setText(chosen)


class ExportDayDialog(QDialog):
    """Which day's approved letters, and into which folder."""

    def __init__(self, parent: QWidget | None = None, folder: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Export the day's approved letters")
        self.setAccessibleName("Export the day's approved letters")
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setMaximumDate(QDate.currentDate())
        self.day.setDisplayFormat("d MMMM yyyy")
        self.day.setAccessibleName("Day the referrals were approved")
        self.folder = FolderField("Folder to write the letters to")
        self.folder.path.setText(folder)
        form = QFormLayout()
        form.addRow("&Approved on:", self.day)
        form.addRow("&Folder:", self.folder)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Export")
        self.ok.setAccessibleName("Export")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.folder.path.textChanged.connect(self._check)
        self._check()

    def _check(self) -> None:
        self.ok.setEnabled(bool(self.folder.path.text().strip()))

    def value(self) -> tuple[date, Path]:
        return self.day.date().toPython(), Path(self.folder.path.text().strip()).expanduser()

    @classmethod
    def ask(cls, parent: QWidget | None, folder: str = "") -> tuple[date, Path] | None:
        """(day, folder), or None if the supervisor cancelled. Tests replace this."""
        dialog = cls(parent, folder)
        return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else None


class Notice:
    @classmethod
    def show(cls, title: str, message: str) -> None:
        """Tests replace this classmethod; the app shows an information box."""
        QMessageBox.information(QApplication.activeWindow(), title, message)


def summary(report: BatchExport) -> str:
    return report.summary()


class DayExport(QObject):
    """One run of ``batch_export.export_day`` on the store thread, shown by a progress dialog.

    After each letter the store thread waits (briefly) until the UI has shown the progress,
    so a Cancel pressed on seeing "N of M" stops at N: the bar never lags behind the files."""

    progressed = Signal(int, int)  # on the UI thread: letters written, letters in all
    finished = Signal(object)  # the BatchExport
    failed = Signal(object)  # the exception (already shown to the user)
    _reported = Signal(int, int, object)  # from the store thread: done, total, "shown" event

    def __init__(self, session: DeskSession, day: date, folder: Path, parent: QWidget):
        super().__init__(parent)
        self.session = session
        self.day = day
        self.folder = Path(folder)
        self.cancel_event = threading.Event()
        self.running = False
        self.dialog = QProgressDialog(f"Exporting the letters of referrals approved on {day:%d %B %Y}…",
                                      "Cancel", 0, 0, parent)
        cancel = QPushButton("Cancel")
        cancel.setAccessibleName("Cancel the export")
        self.dialog.setCancelButton(cancel)
        self.dialog.setWindowTitle("Exporting letters")
        self.dialog.setAccessibleName("Export progress")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumDuration(0)
        self.dialog.canceled.connect(self.cancel)
        self._reported.connect(self._progress)  # queued: emitted on the store thread

    def start(self) -> None:
        day, folder, event = self.day, self.folder, self.cancel_event

        def report(done: int, total: int) -> None:
            shown = threading.Event()
            try:
                self._reported.emit(done, total, shown)
            except RuntimeError:  # the page went away: the export goes on unseen
                return
            shown.wait(SHOWN_WAIT_SECONDS)  # never stalls the export for long (a busy UI, a lock)

        self.running = True
        self.dialog.show()
        self.session.call(
            lambda store: batch_export.export_day(store, day, folder, progress=report, cancel=event),
            self._done, self._failed)

    def cancel(self) -> None:
        """Stop after the letter being written (it is finished whole)."""
        self.cancel_event.set()
        self.dialog.setLabelText("Cancelling after the letter being written…")

    def _progress(self, done: int, total: int, shown: threading.Event) -> None:
        try:
            if self.dialog.maximum() != total:
                self.dialog.setMaximum(max(total, 1))
            self.dialog.setValue(done)
            if not self.cancel_event.is_set():
                self.dialog.setLabelText(f"Written {done} of {total} letters…")
            self.progressed.emit(done, total)
        finally:
            shown.set()

    def _done(self, report: BatchExport) -> None:
        self.running = False
        self.dialog.close()
        self.finished.emit(report)

    def _failed(self, exc: Exception) -> None:
        self.running = False
        self.dialog.close()
        show_problem(exc, "The letters could not be exported")
        self.failed.emit(exc)
