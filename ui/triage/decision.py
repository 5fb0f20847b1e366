"""Deciding the call: confirm the recommended outcome, or override it with a route, an
urgency and a reason (required; the core refuses an override without one too)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa.model import DECIDE_BEFORE_COMPLETE, Outcome, Route, Urgency
from spoa.store.records import TriageRecord

REASON_NEEDED = "Say why you are overriding the recommendation: the reason goes in the record and the letter."


@dataclass(frozen=True)
class Override:
    route: Route
    urgency: Urgency
    reason: str


class OverrideDialog(QDialog):
    def __init__(self, outcome: Outcome | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Override the recommended outcome")
        self.setAccessibleName("Override the recommended outcome")
        layout = QVBoxLayout(self)
        if outcome is not None:
            said = QLabel(f"Recommended: {outcome.route.label}, {outcome.urgency.label.lower()}.")
            said.setTextFormat(Qt.TextFormat.PlainText)
            layout.addWidget(said)
        form = QFormLayout()
        self.route = QComboBox()
        self.route.setAccessibleName("Route")
        for route in Route:
            self.route.addItem(route.label, route.value)
        self.urgency = QComboBox()
        self.urgency.setAccessibleName("Urgency")
        for urgency in Urgency:
            self.urgency.addItem(urgency.label, urgency.value)
        if outcome is not None:
            self.route.setCurrentIndex(self.route.findData(outcome.route.value))
            self.urgency.setCurrentIndex(self.urgency.findData(outcome.urgency.value))
        self.reason = QPlainTextEdit()
        self.reason.setTabChangesFocus(True)
        self.reason.setAccessibleName("Reason for the override (required)")
        form.addRow("Route", self.route)
        form.addRow("Urgency", self.urgency)
        form.addRow("Reason *", self.reason)
        layout.addLayout(form)
        self.hint = QLabel(REASON_NEEDED)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #b00020;")
        self.hint.setAccessibleName("What is needed")
        layout.addWidget(self.hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Override")
        self.ok_button.setAccessibleName("Override")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._check)
        self._check()

    def _check(self) -> None:
        given = bool(self.reason.toPlainText().strip())
        self.ok_button.setEnabled(given)
        self.hint.setVisible(not given)

    def override(self) -> Override | None:
        reason = self.reason.toPlainText().strip()
        if not reason:
            return None
        return Override(Route(self.route.currentData()), Urgency(self.urgency.currentData()), reason)

    @classmethod
    def ask(cls, parent: QWidget | None, outcome: Outcome | None) -> Override | None:
        """Tests replace this classmethod; the app asks in a modal dialog."""
        dialog = cls(outcome, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.override()


class DecisionBar(QWidget):
    """Confirm or override; afterwards, what was decided."""

    confirm_requested = Signal()
    override_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.confirm_button = QPushButton("Confirm recommended outcome")
        self.confirm_button.setAccessibleName("Confirm recommended outcome")
        self.confirm_button.clicked.connect(self.confirm_requested)
        self.override_button = QPushButton("Override…")
        self.override_button.setAccessibleName("Override the recommended outcome")
        self.override_button.clicked.connect(self.override_requested)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.override_button)
        layout.addLayout(buttons)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Decision")
        layout.addWidget(self.status)
        self.reset()

    def reset(self) -> None:
        self.decided: TriageRecord | None = None
        self.status.setText("")
        self.confirm_button.show()
        self.override_button.show()
        self.set_complete(False)

    def set_complete(self, complete: bool, urgency: Urgency | None = None) -> None:
        """Confirm needs a complete call, except for an emergency or very urgent outcome,
        which is acted on at once: the questions not yet asked are answered afterwards."""
        if self.decided is not None:
            return
        at_once = not complete and urgency in DECIDE_BEFORE_COMPLETE
        self.confirm_button.setEnabled(complete or at_once)
        if at_once:
            self.confirm_button.setToolTip("")
            self.status.setText(f"This call is {urgency.label.lower()}: confirm now and act. The "
                                "questions not yet asked can be answered afterwards; the letter says which.")
            return
        self.confirm_button.setToolTip("" if complete else
                                       "The call is not complete: answer the required questions (or "
                                       "override with a reason).")
        self.status.setText("" if complete else
                            "To confirm, answer every required question; or override with a reason.")

    def set_busy(self, busy: bool) -> None:
        self.confirm_button.setEnabled(not busy and self.confirm_button.isEnabled())
        self.override_button.setEnabled(not busy)

    def show_decided(self, record: TriageRecord) -> None:
        self.decided = record
        self.confirm_button.hide()
        self.override_button.hide()
        how = "Confirmed" if record.decision == "confirmed" else "Overridden"
        hours = ((record.outcome or {}).get("respond_within_hours") if record.decision == "confirmed"
                 else None)  # an override promises its band's published time
        text = (f"{how}: {record.final_route.label}, {record.final_urgency.in_words(hours)} "
                f"(by {record.decided_by}).")
        if not record.complete:
            text += "\nDecided before every question was asked: answer the rest when you can."
        if record.override_reason:
            text += f"\nReason: {record.override_reason}"
        self.status.setText(text)
