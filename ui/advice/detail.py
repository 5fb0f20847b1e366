"""One advice request: what was asked and its history, the specialist's advice (recorded by
a supervisor: the advice letter prints who recorded it as approving it), the advice letter
with its preview and export, and conversion into a referral."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa import advice
from spoa.advice import AdviceLetter, AdviceView
from spoa.letters import archive
from spoa.roles import Permission
from ui.advice.conversion import ConversionPanel
from ui.advice.models import requester_label, requester_text, when
from ui.letter_preview import LetterPreview
from ui.problems import show_problem
from ui.session import DeskSession


class PdfFiles:
    """Where an exported letter goes; tests replace this classmethod."""

    @classmethod
    def choose_export(cls, parent: QWidget | None, suggested: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(parent, "Export the advice letter", suggested,
                                              "PDF files (*.pdf)")
        return Path(path) if path else None


def describe(view: AdviceView) -> str:
    """The request as plain text (never markup: everything here was typed by someone)."""
    request, child = view.request, view.child
    lines = [f"Advice request {request.id}: {request.state}",
             f"From: {requester_label(request.requester_type)}, {requester_text(request)}",
             f"Received: {when(view.contact.received_at)}; reply by {when(request.respond_by)} "
             f"({request.how_soon_label})",
             f"Child: {child.full_name}" + (f", born {child.date_of_birth.isoformat()}"
                                            if child.date_of_birth else ", date of birth not known"),
             "Conversion into a referral: "
             + ("authorised" if request.conversion_authorised else "NOT authorised"),
             "", "Question:", request.question]
    if view.contact.referrer_contact:
        lines[2:2] = [f"Reply to: {view.contact.referrer_contact}"]
    for title, text in (("Context", request.context), ("What has been tried", request.tried)):
        if text:
            lines += ["", f"{title}:", text]
    if request.response:
        lines += ["", f"Advice ({request.responded_by}, {when(request.responded_at)}):", request.response]
    if request.referral_id:
        lines += ["", f"Converted into referral {request.referral_id} by {request.converted_by}, "
                      f"{when(request.converted_at)}."]
    for letter in view.letters:
        lines += ["", f"Letter {letter.id} made {when(letter.created_at)} by {letter.created_by} "
                      f"(sha256 {letter.sha256})"]
    if view.history:
        lines += ["", "History:"]
        for entry in view.history:
            lines.append(f"  {when(entry.changed_at)} {entry.changed_by}: {entry.field} "
                         f"{entry.old_value or '—'} → {entry.new_value or '—'} ({entry.reason})")
    return "\n".join(lines)


class AdviceDetail(QWidget):
    """``changed(request_id)`` after anything was recorded; ``converted(referral_id)``."""

    changed = Signal(str)
    converted = Signal(str)

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.view: AdviceView | None = None
        self.letter: AdviceLetter | None = None
        self.setAccessibleName("Advice request")
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setAccessibleName("The request and its history")

        # The specialist's advice.
        self.advice_text = QPlainTextEdit()
        self.advice_text.setTabChangesFocus(True)
        self.advice_text.setFixedHeight(100)
        self.advice_text.setAccessibleName("The advice given")
        self.change_reason = QLineEdit()
        self.change_reason.setPlaceholderText("Why the advice already recorded is changed")
        self.change_reason.setAccessibleName("Why the advice is changed")
        self.record_button = QPushButton("Record &advice")
        self.record_button.setAccessibleName("Record advice")
        self.record_button.clicked.connect(self._record)
        advice_box = QGroupBox("The specialist's advice")
        advice_form = QFormLayout(advice_box)
        advice_form.addRow("Advice:", self.advice_text)
        advice_form.addRow("Reason for a change:", self.change_reason)
        advice_form.addRow(self.record_button)

        # The advice letter.
        self.letter_button = QPushButton("&Make advice letter")
        self.letter_button.setAccessibleName("Make advice letter")
        self.letter_button.clicked.connect(self._make_letter)
        self.export_button = QPushButton("&Export PDF…")
        self.export_button.setAccessibleName("Export the advice letter as PDF")
        self.export_button.clicked.connect(self._export)
        self.letter_info = QLabel()
        self.letter_info.setWordWrap(True)
        self.letter_info.setTextFormat(Qt.TextFormat.PlainText)
        self.letter_info.setAccessibleName("Advice letter")
        self.preview = LetterPreview(session, "advice letter")
        self.preview.setMinimumHeight(300)
        letter_box = QGroupBox("The advice letter")
        letter_layout = QVBoxLayout(letter_box)
        letter_buttons = QHBoxLayout()
        letter_buttons.addWidget(self.letter_info, 1)
        letter_buttons.addWidget(self.letter_button)
        letter_buttons.addWidget(self.export_button)
        letter_layout.addLayout(letter_buttons)
        letter_layout.addWidget(self.preview)

        self.conversion = ConversionPanel(session)
        self.conversion.changed.connect(self.changed)
        self.conversion.converted.connect(self.converted)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary, 1)
        layout.addWidget(advice_box)
        layout.addWidget(letter_box)
        layout.addWidget(self.conversion)
        self.show_view(None)

    # -- showing ---------------------------------------------------------------------------------

    def show_view(self, view: AdviceView | None) -> None:
        same = view is not None and self.view is not None and view.request.id == self.view.request.id
        self.view = view
        if not same:
            self.letter = None
            self.preview.clear()
        request = view.request if view else None
        self.summary.setPlainText(describe(view) if view else "")
        self.advice_text.setPlainText(request.response or "" if request else "")
        self.change_reason.clear()
        self.conversion.show_request(request)
        self._enable()

    def _enable(self) -> None:
        request = self.view.request if self.view else None
        if request is None:
            why_not_record = "Select an advice request."
        elif not self.session.can(Permission.APPROVE_REFERRALS):
            why_not_record = (f"Your role cannot {Permission.APPROVE_REFERRALS.value}: the advice is "
                              "recorded by a supervisor, because its letter leaves the hub in their name.")
        elif request.letter_id:
            why_not_record = (f"The advice letter {request.letter_id} has been made; the advice stands as "
                              "issued.")
        elif request.referral_id:
            why_not_record = f"Converted into referral {request.referral_id}."
        else:
            why_not_record = ""
        for widget in (self.advice_text, self.record_button):
            widget.setToolTip(why_not_record)
        self.advice_text.setReadOnly(bool(why_not_record))
        self.record_button.setEnabled(not why_not_record)
        self.change_reason.setEnabled(not why_not_record and bool(request and request.response))

        why_not_letter = ("Select an advice request." if request is None
                          else f"Your role cannot {Permission.DRAFT_REFERRALS.value}."
                          if not self.session.can(Permission.DRAFT_REFERRALS)
                          else "Record the advice first." if not request.response else "")
        self.letter_button.setText("Show advice &letter" if request and request.letter_id
                                   else "&Make advice letter")
        self.letter_button.setEnabled(not why_not_letter)
        self.letter_button.setToolTip(why_not_letter)
        why_not_export = ("Make the advice letter first." if self.letter is None
                          else f"Your role cannot {Permission.EXPORT_LETTERS.value}."
                          if not self.session.can(Permission.EXPORT_LETTERS) else "")
        self.export_button.setEnabled(not why_not_export)
        self.export_button.setToolTip(why_not_export)
        if self.letter is None:
            self.letter_info.setText("Not made yet." if request and not request.letter_id else
                                     "Made: press 'Show advice letter' to see it." if request else "")

    # -- actions ---------------------------------------------------------------------------------

    def _record(self) -> None:
        request_id, text = self.view.request.id, self.advice_text.toPlainText()
        reason = self.change_reason.text()
        self.session.call(lambda store: advice.respond(store, request_id, text, reason=reason),
                          lambda done: self.changed.emit(done.id))

    def _make_letter(self) -> None:
        request_id = self.view.request.id
        self.preview.show_message("Making the advice letter…")
        self.session.call(lambda store: advice.advice_letter(store, request_id), self._letter_made,
                          self._letter_failed)

    def _letter_made(self, letter: AdviceLetter) -> None:
        if self.view is None or letter.letter.advice_request_id != self.view.request.id:
            return
        self.letter = letter
        self.letter_info.setText(f"Letter {letter.letter.id}, sha256 {letter.letter.sha256}")
        self.preview.show_pdf(letter.pdf)
        self.changed.emit(self.view.request.id)

    def _letter_failed(self, exc: Exception) -> None:
        self.preview.show_message("The advice letter was not made.")
        show_problem(exc, "The advice letter was not made")

    def _export(self) -> None:
        if self.letter is None:
            return
        letter_id = self.letter.letter.id
        path = PdfFiles.choose_export(self, f"{letter_id}.pdf")
        if path is None:
            return
        self.session.call(lambda store: archive.export_letter(store, letter_id, path), self._exported)

    def _exported(self, done: archive.LetterFile) -> None:
        self.letter_info.setText(f"Letter {done.letter.id}, sha256 {done.letter.sha256}; "
                                 f"exported to {done.path}")

    def clear(self) -> None:
        self.view = None
        self.letter = None
        self.preview.clear()
        self.summary.clear()
        self.advice_text.clear()
        self.change_reason.clear()
        self.conversion.show_request(None)
        self._enable()
