"""The words a supervisor adds to a decision: an optional note when approving or reviewing,
a required reason when returning. Each dialog's ``ask`` classmethod is what pages call and
what tests replace."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)


class NoteDialog(QDialog):
    """A short text for a referral; OK stays disabled while a required text is empty."""

    title = "Add a note"
    prompt = "A note for the record (optional):"
    accept_label = "OK"
    required = False

    def __init__(self, referral_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.title)
        self.setAccessibleName(self.title)
        label = QLabel(self.prompt.format(referral_id=referral_id))
        label.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName(self.prompt.format(referral_id=referral_id).rstrip(":"))
        self.text.setTabChangesFocus(True)  # Tab reaches the buttons, as in any form
        label.setBuddy(self.text)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(self.accept_label)
        self.ok.setAccessibleName(self.accept_label)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.hint = QLabel("")
        self.hint.setAccessibleName("What is missing")
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.text)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.text.textChanged.connect(self._check)
        self._check()

    def _check(self) -> None:
        missing = self.required and not self.text.toPlainText().strip()
        self.ok.setEnabled(not missing)
        self.hint.setText("Say why: the practitioner reads this reason." if missing else "")

    def value(self) -> str:
        return self.text.toPlainText().strip()

    @classmethod
    def ask(cls, parent: QWidget | None, referral_id: str) -> str | None:
        """The text typed, or None if the supervisor cancelled."""
        dialog = cls(referral_id, parent)
        return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else None


class ApproveDialog(NoteDialog):
    title = "Approve the referral"
    prompt = "Approve referral {referral_id}. A note for the record (optional):"
    accept_label = "Approve"


class ReturnDialog(NoteDialog):
    title = "Return the referral"
    prompt = "Return referral {referral_id} to the practitioner. Why is it returned?"
    accept_label = "Return"
    required = True


class ReviewDialog(NoteDialog):
    title = "Record the review"
    prompt = "Referral {referral_id} was sent before review. A note on your review (optional):"
    accept_label = "Record review"
