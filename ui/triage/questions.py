"""A rule module's questions as widgets, one per question, operable from the keyboard.

Tab moves from question to question (options inside a question take no Tab stop), Enter
goes to the next question shown, and in a choice question the number keys 1–9 pick the
options (0 is "None of these" in a multiple-choice question; the arrow keys and Space reach
options past the ninth). Yes/no questions also take Y and N. Delete clears a choice.
A widget reports what the user chose; what is kept, and what is shown, is the session's
(hidden questions lose their answers there, and the widgets follow).
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QButtonGroup,
    QCheckBox,
    QFrame,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from spoa.call import parse_answer
from spoa.rules.errors import AnswerError
from spoa.rules.module import RuleModule, Section
from spoa.rules.questions import Question, QuestionType
from spoa.rules.session import TriageSession

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_FRAME_STYLE = ("QFrame#question { border: 2px solid transparent; border-radius: 4px; }"
                "QFrame#question[current=\"true\"] { border-color: #1d5fbf; }")


def _plain(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class QuestionWidget(QFrame):
    """One question: its text (numbered, * when required), help, the input and any problem."""

    # The question's id; the answer as given is ``given`` (None clears it). The value is not
    # carried by the signal: PySide6 miscounts references to True/False sent as 'object'.
    answered = Signal(str)
    next_requested = Signal(str)  # this question's id: go to the next question

    def __init__(self, question: Question, number: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.question = question
        self.setObjectName("question")
        self.setStyleSheet(_FRAME_STYLE)
        self._loading = False
        self.given: object = None
        self._current = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        mark = " *" if question.required else ""
        self.title = _plain(QLabel(f"{number}. {question.text.strip()}{mark}"))
        self.title.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.title)
        self.help = _plain(QLabel(self.help_text()))
        self.help.setStyleSheet("color: #444;")
        layout.addWidget(self.help)  # before setVisible: a widget without a parent shows as a window
        self.help.setVisible(bool(self.help.text()))
        self.build(layout)
        self.problem = _plain(QLabel(""))
        self.problem.setStyleSheet("color: #b00020;")
        self.problem.setAccessibleName(f"Problem with: {question.text.strip()}")
        layout.addWidget(self.problem)
        self.problem.setVisible(False)
        name = question.text.strip() + (" (required)" if question.required else "")
        self.setAccessibleName(name)
        self.setAccessibleDescription(self.help.text())
        self.focus_target().setAccessibleName(name)

    # -- for subclasses ----------------------------------------------------------------------

    def help_text(self) -> str:
        return self.question.help.strip()

    def build(self, layout: QVBoxLayout) -> None:
        raise NotImplementedError

    def focus_target(self) -> QWidget:
        return self

    def show_value(self, value: object) -> None:
        """Show a stored answer (None: unanswered) without reporting it as a new answer."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------

    def set_value(self, value: object) -> None:
        self._loading = True
        try:
            self.show_value(value)
        finally:
            self._loading = False

    def give(self, value: object) -> None:
        if not self._loading:
            self.given = value
            self.answered.emit(self.question.id)

    def set_problem(self, text: str) -> None:
        if text != self.problem.text():
            self.problem.setText(text)
            self.problem.setVisible(bool(text))

    def set_current(self, current: bool) -> None:
        # A string property: PySide6 miscounts references to Python bools kept in properties.
        if self._current != current:
            self._current = current
            self.setProperty("current", "true" if current else "false")
            self.style().unpolish(self)
            self.style().polish(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _ENTER:
            self.next_requested.emit(self.question.id)
            return
        super().keyPressEvent(event)


class ChoiceQuestion(QuestionWidget):
    """Yes/no, single and multiple choice: the question itself takes focus and keys."""

    def build(self, layout: QVBoxLayout) -> None:
        q = self.question
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        if q.type is QuestionType.YES_NO:
            self.choices: list[tuple[object, str]] = [(True, "Yes"), (False, "No")]
        else:
            self.choices = [(o.value, o.label) for o in q.options]
        self.multi = q.type is QuestionType.MULTI
        self.buttons: list[QAbstractButton] = []
        self.group = QButtonGroup(self)
        self.group.setExclusive(not self.multi)
        for index, (_value, label) in enumerate(self.choices, start=1):
            key = f"{index}  " if index <= 9 else "     "
            button = QCheckBox(key + label) if self.multi else QRadioButton(key + label)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName(label)
            self.group.addButton(button)
            self.buttons.append(button)
            layout.addWidget(button)
        self.none_button = None
        if self.multi:
            self.none_button = QCheckBox("0  None of these")
            self.none_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.none_button.setAccessibleName("None of these")
            layout.addWidget(self.none_button)
            self.none_button.toggled.connect(self._none_toggled)
        self.cursor = 0
        self.group.buttonClicked.connect(self._clicked)

    def help_text(self) -> str:
        keys = "Keys: 1 Yes, 2 No." if self.question.type is QuestionType.YES_NO else (
            "Keys: the option's number (0: none of these); arrows and Space reach the others."
            if self.question.type is QuestionType.MULTI else "Keys: the option's number; Delete clears.")
        return " ".join(p for p in (self.question.help.strip(), keys) if p)

    def value(self) -> object:
        chosen = [v for (v, _), b in zip(self.choices, self.buttons, strict=True) if b.isChecked()]
        if self.multi:
            if chosen:
                return tuple(chosen)
            return () if self.none_button.isChecked() else None
        return chosen[0] if chosen else None

    def show_value(self, value: object) -> None:
        if self.multi:
            picked = set(value or ())
            for (v, _), button in zip(self.choices, self.buttons, strict=True):
                button.setChecked(v in picked)
            self.none_button.setChecked(value is not None and not picked)
            return
        self.group.setExclusive(False)
        for (v, _), button in zip(self.choices, self.buttons, strict=True):
            button.setChecked(value is not None and v == value)
        self.group.setExclusive(True)

    def pick(self, index: int) -> None:
        """Choose (or, in multiple choice, tick or untick) option ``index`` (from 0)."""
        if not 0 <= index < len(self.buttons):
            return
        self.cursor = index
        button = self.buttons[index]
        if self.multi:
            button.setChecked(not button.isChecked())
            if button.isChecked():
                self.none_button.setChecked(False)
        else:
            button.setChecked(True)
        self._show_cursor()
        self.give(self.value())

    def _clicked(self, button: QAbstractButton) -> None:
        self.cursor = self.buttons.index(button)
        if self.multi and button.isChecked():
            self.none_button.setChecked(False)
        self.give(self.value())

    def _none_toggled(self, checked: bool) -> None:
        if self._loading:
            return
        if checked:
            for button in self.buttons:
                button.setChecked(False)
        self.give(self.value())

    def _show_cursor(self) -> None:
        for index, button in enumerate(self.buttons):
            button.setStyleSheet("text-decoration: underline;" if index == self.cursor and self.hasFocus()
                                 else "")

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self._show_cursor()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self._show_cursor()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, text = event.key(), event.text().lower()
        if text.isdigit() and len(text) == 1:
            digit = int(text)
            if digit == 0 and self.multi:
                self.none_button.setChecked(not self.none_button.isChecked())
            elif digit:
                self.pick(digit - 1)
            return
        if self.question.type is QuestionType.YES_NO and text in ("y", "n"):
            self.pick(0 if text == "y" else 1)
            return
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            step = 1 if key == Qt.Key.Key_Down else -1
            self.cursor = max(0, min(len(self.buttons) - 1, self.cursor + step))
            self._show_cursor()
            return
        if key == Qt.Key.Key_Space:
            self.pick(self.cursor)
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.show_value(None)
            self.give(None)
            return
        super().keyPressEvent(event)


class TypedQuestion(QuestionWidget):
    """Number, scale, date and text: typed answers, checked as they are typed; a problem is
    shown once the user leaves the field (or at once if one is already shown)."""

    def build(self, layout: QVBoxLayout) -> None:
        q = self.question
        if q.type is QuestionType.TEXT:
            self.edit = _TextAnswer()
            self.edit.setTabChangesFocus(True)
            self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * 3 + 12)
            self.edit.textChanged.connect(lambda: self._typed(self.edit.toPlainText()))
            self.edit.enter_pressed.connect(lambda: self.next_requested.emit(self.question.id))
            self.edit.left.connect(self._left)
        else:
            self.edit = QLineEdit()
            self.edit.textChanged.connect(self._typed)
            self.edit.editingFinished.connect(self._left)
            self.edit.returnPressed.connect(lambda: self.next_requested.emit(self.question.id))
            self.edit.setPlaceholderText({QuestionType.DATE: "DD/MM/YYYY or YYYY-MM-DD"}.get(q.type, ""))
            self.edit.setMaximumWidth(260)
        layout.addWidget(self.edit)
        self._pending_problem = ""

    def help_text(self) -> str:
        q = self.question
        parts = [q.help.strip()]
        if q.type in (QuestionType.NUMBER, QuestionType.SCALE) and q.minimum is not None:
            top = f"{q.maximum:g}" if q.maximum is not None else "any"
            parts.append(f"A number from {q.minimum:g} to {top}{(' ' + q.unit) if q.unit else ''}.")
        if q.scale_labels:
            parts.append("; ".join(f"{point}: {word}" for point, word in q.scale_labels) + ".")
        if q.type is QuestionType.TEXT:
            parts.append("Shift+Enter starts a new line.")
        return " ".join(p for p in parts if p)

    def focus_target(self) -> QWidget:
        return self.edit

    def text(self) -> str:
        return self.edit.toPlainText() if isinstance(self.edit, QPlainTextEdit) else self.edit.text()

    def show_value(self, value: object) -> None:
        if value is None:
            shown = ""
        elif isinstance(value, date):
            shown = value.isoformat()
        elif isinstance(value, float | int):
            shown = f"{value:g}"
        else:
            shown = str(value)
        if shown != self.text():
            if isinstance(self.edit, QPlainTextEdit):
                self.edit.setPlainText(shown)
            else:
                self.edit.setText(shown)
        self._pending_problem = ""
        self.set_problem("")

    def _typed(self, text: str) -> None:
        if self._loading:
            return
        try:
            value = parse_answer(self.question, text)
        except AnswerError as exc:
            self._pending_problem = exc.message[0].upper() + exc.message[1:] + "."
            if self.problem.text():
                self.set_problem(self._pending_problem)
            self.give(None)
            return
        self._pending_problem = ""
        self.set_problem("")
        self.give(value)

    def _left(self) -> None:
        self.set_problem(self._pending_problem)


class _TextAnswer(QPlainTextEdit):
    """Free text: Enter goes to the next question, Shift+Enter starts a new line."""

    enter_pressed = Signal()
    left = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _ENTER and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.left.emit()


def question_widget(question: Question, number: int) -> QuestionWidget:
    if question.type in (QuestionType.YES_NO, QuestionType.SINGLE, QuestionType.MULTI):
        return ChoiceQuestion(question, number)
    return TypedQuestion(question, number)


class QuestionList(QScrollArea):
    """Every question of a module, by section; only those the session shows are visible."""

    answered = Signal(str)  # a question's id: its widget's ``given`` is the new answer
    current_changed = Signal(str)  # the id of the question the user is on

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Questions")
        self.widgets: dict[str, QuestionWidget] = {}
        self.headers: dict[str, QLabel] = {}
        self.order: list[QuestionWidget] = []
        self.current: QuestionWidget | None = None
        self._shown: dict[str, bool] = {}
        self._problems: dict[str, str] = {}
        self.setWidget(QWidget())
        # Which question the user is on follows the keyboard focus (Tab, Enter, a click).
        QApplication.instance().focusChanged.connect(self._focus_moved)

    def _focus_moved(self, _old: QWidget | None, now: QWidget | None) -> None:
        while now is not None and not isinstance(now, QuestionWidget):
            now = now.parentWidget()
        if now is not None and self.widgets.get(now.question.id) is now:
            self._entered(now.question.id)

    def load(self, module: RuleModule) -> None:
        """Build the widgets for ``module`` (replacing any before)."""
        self.clear()
        body = QWidget()
        layout = QVBoxLayout(body)
        number = 0
        for section in module.sections:
            header = _plain(QLabel(self._section_title(section)))
            header.setStyleSheet("font-size: 120%; font-weight: bold; margin-top: 8px;")
            header.setAccessibleName(f"Section: {section.title}")
            self.headers[section.id] = header
            layout.addWidget(header)
            for question in section.questions:
                number += 1
                widget = question_widget(question, number)
                widget.answered.connect(self.answered)
                widget.next_requested.connect(self.go_next)
                self.widgets[question.id] = widget
                self.order.append(widget)
                layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)

    @staticmethod
    def _section_title(section: Section) -> str:
        return section.title + (f"\n{section.help.strip()}" if section.help else "")

    def clear(self) -> None:
        self.widgets.clear()
        self.headers.clear()
        self.order.clear()
        self._shown.clear()
        self._problems.clear()
        self.current = None
        self.setWidget(QWidget())  # the old one is deleted

    def apply(self, session: TriageSession, *, values: bool = False) -> None:
        """Show what the session shows. Answers the session dropped are cleared from their
        widgets; ``values`` puts every kept answer into its widget (after resuming)."""
        answers = session.answers
        for question_id, widget in self.widgets.items():
            shown = session.is_visible(question_id)
            if self._shown.get(question_id) != shown:
                self._shown[question_id] = shown
                widget.setVisible(shown)
                if not shown:
                    widget.set_value(None)
            if values and shown:
                widget.set_value(answers.get(question_id))
        for section in session.module.sections:
            header = self.headers[section.id]
            any_shown = any(self._shown[q.id] for q in section.questions)
            if header.isVisibleTo(self.widget()) != any_shown:
                header.setVisible(any_shown)
        problems: dict[str, str] = {}
        for message in session.validation_messages:
            problems[message.question_id] = " ".join(
                p for p in (problems.get(message.question_id, ""), message.message.strip()) if p)
        for question_id in set(self._problems) | set(problems):
            if self._problems.get(question_id) != problems.get(question_id):
                self.widgets[question_id].set_problem(problems.get(question_id, ""))
        self._problems = problems

    def set_read_only(self, read_only: bool) -> None:
        for widget in self.order:
            widget.setEnabled(not read_only)

    def keep_editable(self, question_ids: set[str]) -> None:
        """After a decision made before the call was complete: only the questions not yet
        answered can still be answered; what was answered before stays as it was."""
        for widget in self.order:
            widget.setEnabled(widget.question.id in question_ids)

    def first(self) -> QuestionWidget | None:
        return next((w for w in self.order if self._shown.get(w.question.id)), None)

    def focus_question(self, widget: QuestionWidget | None) -> None:
        if widget is None:
            return
        widget.focus_target().setFocus(Qt.FocusReason.OtherFocusReason)
        self._entered(widget.question.id)

    def go_next(self, question_id: str) -> None:
        """Enter: on to the next question shown (skip logic may just have changed which)."""
        # Let the answer just given change what is shown before choosing where to go.
        QTimer.singleShot(0, self, lambda: self._next_after(question_id))

    def _next_after(self, question_id: str) -> None:
        widget = self.widgets.get(question_id)
        if widget is None:
            return
        start = self.order.index(widget) + 1
        following = next((w for w in self.order[start:] if self._shown.get(w.question.id)), None)
        if following is not None:
            self.focus_question(following)

    def _entered(self, question_id: str) -> None:
        widget = self.widgets.get(question_id)
        if widget is None:
            return
        if self.current is not widget:
            if self.current is not None and self.current in self.order:
                self.current.set_current(False)
            self.current = widget
            widget.set_current(True)
            self.current_changed.emit(widget.question.id)
        self.ensureWidgetVisible(widget, 0, 40)
