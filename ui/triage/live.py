"""The call in progress: the questions on the left, the live side panel on the right, the
immediate-risk banner and the progress by section on top. Each answer goes to the rule
engine (a pure TriageSession, ~0.3 ms on the UI thread) and everything shown follows it.
Storing is the page's business (through the session's store thread)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from spoa.rules.errors import AnswerError
from spoa.rules.session import TriageSession
from ui.triage.questions import QuestionList
from ui.triage.side_panel import RiskBanner, SidePanel


class LiveCall(QWidget):
    answers_changed = Signal()  # the session's answers changed (the page autosaves)
    updated = Signal()  # everything shown follows the latest answer (benchmarks wait on it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: TriageSession | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The banner and, beside it while it is up, the fastest way on: decide now, send now.
        banner_row = QHBoxLayout()
        self.banner = RiskBanner()
        banner_row.addWidget(self.banner, 1)
        self.act_now = QWidget()
        self.act_now.setAccessibleName("Act now")
        act_now = QVBoxLayout(self.act_now)
        act_now.setContentsMargins(0, 0, 0, 0)
        self.decide_now_button = QPushButton("&Decide now: confirm this outcome")
        self.decide_now_button.setAccessibleName("Decide now: confirm the emergency or very urgent outcome")
        self.send_now_button = QPushButton("Send the referral &now")
        self.send_now_button.setAccessibleName("Send the referral now, before supervisor review")
        act_now.addWidget(self.decide_now_button)
        act_now.addWidget(self.send_now_button)
        act_now.addStretch(1)
        banner_row.addWidget(self.act_now)
        self.act_now.hide()
        layout.addLayout(banner_row)
        self.progress = QLabel("")
        self.progress.setTextFormat(Qt.TextFormat.PlainText)
        self.progress.setAccessibleName("Progress by section")
        self.progress.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.progress)
        self.overall = QLabel("")
        self.overall.setTextFormat(Qt.TextFormat.PlainText)
        self.overall.setAccessibleName("Progress of the whole call")
        layout.addWidget(self.overall)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.questions = QuestionList()
        splitter.addWidget(self.questions)
        right = QWidget()
        self.right_column = QVBoxLayout(right)
        self.right_column.setContentsMargins(0, 0, 0, 0)
        self.panel = SidePanel()
        self.right_column.addWidget(self.panel)
        right_scroll = QScrollArea()
        right_scroll.setWidgetResizable(True)
        right_scroll.setWidget(right)
        right_scroll.setAccessibleName("Outcome, decision and referral")
        splitter.addWidget(right_scroll)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])  # the questions get the larger part, whatever the texts' lengths
        self.questions.setMinimumWidth(360)
        right_scroll.setMinimumWidth(300)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(splitter, 1)
        self._current = ""
        self.questions.answered.connect(self._given)
        self.questions.current_changed.connect(self._moved)

    def start(self, session: TriageSession) -> None:
        """Show ``session`` (new or resumed): build its questions and put its answers in."""
        self.session = session
        self.questions.load(session.module)
        self.questions.apply(session, values=True)
        self._current = ""
        self.refresh()
        # Once the new widgets are shown: the first question takes the keyboard.
        QTimer.singleShot(0, self, lambda: self.questions.focus_question(self.questions.first()))

    def clear(self) -> None:
        self.session = None
        self.questions.clear()
        self.panel.clear()
        self.banner.show_outcome(None)
        self.act_now.hide()
        self.progress.setText("")
        self.overall.setText("")
        self._current = ""

    def _given(self, question_id: str) -> None:
        widget = self.questions.widgets.get(question_id)
        if widget is not None:
            self.answer(question_id, widget.given, from_widget=True)

    def answer(self, question_id: str, value: object, *, from_widget: bool = False) -> None:
        """Give an answer, as its question's widget does; everything shown follows (the
        widget too, when the answer did not come from it)."""
        session = self.session
        if session is None:
            return
        widget = self.questions.widgets[question_id]
        try:
            session.answer(question_id, value)
        except AnswerError as exc:
            widget.set_problem(exc.message)
            return
        if not from_widget:
            widget.set_value(session.answers.get(question_id))
        self.questions.apply(session)
        self.refresh()
        self.answers_changed.emit()

    def refresh(self) -> None:
        session = self.session
        if session is None:
            return
        self.panel.show_session(session)
        self.banner.show_outcome(session.outcome)
        self.act_now.setVisible(self.banner.isVisibleTo(self))
        self._show_progress()
        self.updated.emit()

    def _moved(self, question_id: str) -> None:
        self._current = question_id
        self._show_progress()

    def _show_progress(self) -> None:
        session = self.session
        progress = session.section_progress()
        if not progress:
            return
        here_id = self._current
        section_id = session.module.questions[here_id].section_id if here_id else progress[0].section_id
        index = next((i for i, p in enumerate(progress) if p.section_id == section_id), 0)
        here = progress[index]
        text = (f"Section {index + 1} of {len(progress)} — {here.title}: {here.answered} of {here.shown} "
                f"answered, {here.missing_required} required left")
        if self.progress.text() != text:
            self.progress.setText(text)
        answered = sum(p.answered for p in progress)
        shown = sum(p.shown for p in progress)
        required = sum(p.missing_required for p in progress)
        overall = f"Whole call: {answered} of {shown} questions answered; {required} required left."
        if self.overall.text() != overall:
            self.overall.setText(overall)

    def set_read_only(self, read_only: bool) -> None:
        self.questions.set_read_only(read_only)
