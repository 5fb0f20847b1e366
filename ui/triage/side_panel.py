"""The live picture beside the questions: risk flags (most severe first), scores, and the
recommended route and urgency with every reason behind it; and the banner across the top
when a flag calls for action now. Refreshed on every answer from the session, so it is
only ever what the rule engine says (no judgement is made here)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from spoa.model import Outcome, Severity, hours_in_words
from spoa.rules.session import TriageSession

SEVERITY_COLOURS = {
    Severity.IMMEDIATE: ("#ffffff", "#b00020"),
    Severity.HIGH: ("#ffffff", "#c0461b"),
    Severity.MODERATE: ("#000000", "#ffd27f"),
    Severity.LOW: ("#000000", "#dfe6ee"),
}


def _label(name: str, style: str = "") -> QLabel:
    label = QLabel("")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


def _set(label: QLabel, text: str) -> None:
    if label.text() != text:  # unchanged text costs no layout
        label.setText(text)
    if label.isHidden() == bool(text):
        label.setVisible(bool(text))


def recommendation_text(outcome: Outcome) -> str:
    """'CAMHS, very urgent: seen within 4 hours (first contact within 1 hour)': the band in the
    words of the published standards, as Today and the letters say it."""
    first = (f" (first contact within {hours_in_words(outcome.contact_within_hours)})"
             if outcome.contact_within_hours else "")
    state = "" if outcome.complete else "Provisional — "
    return f"{state}{outcome.route.label}, {outcome.urgency.in_words(outcome.respond_within_hours)}{first}"


class RiskBanner(QLabel):
    """Across the top of the call while a flag of immediate severity is raised."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAccessibleName("Immediate risk: act now")
        fg, bg = SEVERITY_COLOURS[Severity.IMMEDIATE]
        self.setStyleSheet(f"color: {fg}; background: {bg}; font-weight: bold; font-size: 115%; "
                           "padding: 8px;")
        self.hide()

    def show_outcome(self, outcome: Outcome | None) -> None:
        flags = outcome.immediate_actions if outcome is not None else ()
        text = "\n".join(f"IMMEDIATE RISK — {f.label}. Act now: {' '.join((f.action or '').split())}"
                         for f in flags)
        _set(self, text)


class SidePanel(QFrame):
    """Flags, scores, the recommendation and its reasons."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Risk and recommendation")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        heading = QLabel("Recommended outcome")
        heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(heading)
        self.recommendation = _label("Recommended route and urgency", "font-size: 120%; font-weight: bold;")
        layout.addWidget(self.recommendation)
        self.missing = _label("What is still needed", "color: #8a5a00;")
        layout.addWidget(self.missing)
        flags_heading = QLabel("Risk flags")
        flags_heading.setStyleSheet("font-weight: bold; margin-top: 6px;")
        layout.addWidget(flags_heading)
        self.no_flags = _label("No risk flags", "color: #444;")
        layout.addWidget(self.no_flags)
        self.flags_box = QVBoxLayout()
        layout.addLayout(self.flags_box)
        self.flag_labels: list[QLabel] = []
        scores_heading = QLabel("Scores")
        scores_heading.setStyleSheet("font-weight: bold; margin-top: 6px;")
        layout.addWidget(scores_heading)
        self.scores = _label("Scores")
        layout.addWidget(self.scores)
        why_heading = QLabel("Why")
        why_heading.setStyleSheet("font-weight: bold; margin-top: 6px;")
        layout.addWidget(why_heading)
        self.rationale = _label("Reasons for the recommendation")
        layout.addWidget(self.rationale)
        layout.addStretch(1)
        self.outcome: Outcome | None = None
        self.clear()

    def clear(self) -> None:
        self.outcome = None
        _set(self.recommendation, "No call in progress")
        for label in (self.missing, self.scores, self.rationale):
            _set(label, "")
        self._show_flags(())

    def show_session(self, session: TriageSession) -> None:
        outcome = session.outcome
        self.outcome = outcome
        _set(self.recommendation, recommendation_text(outcome))
        missing = session.missing_required
        checks = session.validation_messages
        needed = []
        if missing:
            needed.append(f"{len(missing)} required question{'s' if len(missing) != 1 else ''} "
                          "still to answer")
        if checks:
            needed.append(f"{len(checks)} answer{'s' if len(checks) != 1 else ''} to check")
        _set(self.missing, "; ".join(needed) + ("." if needed else ""))
        self._show_flags(outcome.flags)
        _set(self.scores, "\n".join(f"{s.label}: {s.display}" for s in outcome.scores))
        _set(self.rationale, "\n".join(f"• {line}" for line in outcome.rationale()))

    def _show_flags(self, flags) -> None:
        while len(self.flag_labels) < len(flags):
            label = _label("Risk flag")
            self.flags_box.addWidget(label)
            self.flag_labels.append(label)
        for index, label in enumerate(self.flag_labels):
            if index >= len(flags):
                _set(label, "")
                continue
            flag = flags[index]
            fg, bg = SEVERITY_COLOURS[flag.severity]
            style = f"color: {fg}; background: {bg}; padding: 4px; font-weight: bold;"
            if label.styleSheet() != style:
                label.setStyleSheet(style)
            text = f"{flag.severity.value.upper()}: {flag.label}"
            if flag.rested_on:
                text += " — " + "; ".join(str(e) for e in flag.rested_on)
            _set(label, text)
            label.setAccessibleName(f"Risk flag, {flag.severity.value}")
        _set(self.no_flags, "" if flags else "None raised so far.")

    def flag_texts(self) -> list[str]:
        return [label.text() for label in self.flag_labels if label.text()]
