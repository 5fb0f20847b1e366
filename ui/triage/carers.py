"""The child's parents or carers on the New contact details form: one box per person, with
the fields a contact file's `carers` entries have (spoa.call.CARER_FIELDS), added and
removed with buttons, and checked as they are typed by spoa.call.check_carer_field (the
check the contact file reader makes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa import call

_PROBLEM = "color: #b00020;"


class CarerBox(QGroupBox):
    """One parent or carer: name, relationship to the child, phone, and a Remove button."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.index = 0
        self.fields: dict[str, QLineEdit] = {}
        self.messages: dict[str, QLabel] = {}
        self.rows: dict[str, QLabel] = {}
        self.form = QFormLayout(self)
        for name in call.CARER_FIELDS:
            edit = QLineEdit()
            message = QLabel("")
            message.setTextFormat(Qt.TextFormat.PlainText)
            message.setWordWrap(True)
            message.hide()
            message.setStyleSheet(_PROBLEM)
            column = QWidget()
            stack = QVBoxLayout(column)
            stack.setContentsMargins(0, 0, 0, 0)
            stack.addWidget(edit)
            stack.addWidget(message)
            label = QLabel("")
            label.setBuddy(edit)
            self.form.addRow(label, column)
            self.fields[name], self.messages[name], self.rows[name] = edit, message, label
        self.remove_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self.form.addRow("", buttons)

    def number(self, index: int) -> None:
        """Name the box and its fields for its place in the list (1 for the first)."""
        self.index = index
        who = f"Parent or carer {index + 1}"
        self.setTitle(who)
        for name, (label, required) in call.CARER_FIELDS.items():
            self.rows[name].setText(label + (" *" if required else ""))
            needed = " (required)" if required else ""
            self.fields[name].setAccessibleName(f"{who}: {label.lower()}{needed}")
            self.messages[name].setAccessibleName(f"{who}: {label.lower()}: check")
        self.remove_button.setAccessibleName(f"Remove parent or carer {index + 1}")

    def values(self) -> dict[str, str]:
        return {name: edit.text() for name, edit in self.fields.items()}

    def show_check(self, name: str) -> str:
        """Check one field as the contact file reader would; show and return its problem."""
        problem = call.check_carer_field(name, self.fields[name].text(), index=self.index).problem
        self.messages[name].setText(problem)
        self.messages[name].setVisible(bool(problem))
        return problem


class CarersSection(QGroupBox):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Parents or carers", parent)
        self.boxes: list[CarerBox] = []
        self.before: QWidget | None = None  # the field Tab comes from, to keep the order on screen
        self._filling = False
        layout = QVBoxLayout(self)
        self.none_yet = QLabel("No parent or carer added yet.")
        layout.addWidget(self.none_yet)
        self.list = QVBoxLayout()
        layout.addLayout(self.list)
        self.add_button = QPushButton("Add a parent or carer")
        self.add_button.setAccessibleName("Add a parent or carer")
        self.add_button.clicked.connect(lambda _checked=False: self.add_carer())
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    # -- adding and removing -----------------------------------------------------------------

    def add_carer(self, values: Mapping[str, str] | None = None) -> CarerBox:
        box = CarerBox(self)
        self.boxes.append(box)
        self.list.addWidget(box)
        box.show()  # at once, not when the layout gets round to it: Tab skips hidden fields
        for name, edit in box.fields.items():
            edit.setText(str((values or {}).get(name) or ""))
            edit.textChanged.connect(lambda _t, b=box, n=name: self._edited(b, n))
        box.remove_button.clicked.connect(lambda _c=False, b=box: self.remove_carer(b))
        self._renumber()
        if not self._filling:
            box.fields["name"].setFocus()
            self.changed.emit()
        return box

    def remove_carer(self, box: CarerBox) -> None:
        at = self.boxes.index(box)
        self._discard(box)
        self._renumber()
        for other in self.boxes:  # the numbers in messages follow the boxes
            for name in other.fields:
                if other.messages[name].isVisible():
                    other.show_check(name)
        following = self.boxes[at] if at < len(self.boxes) else None
        (following.fields["name"] if following else self.add_button).setFocus()
        self.changed.emit()

    def _discard(self, box: CarerBox) -> None:
        # Out of the window at once (deleteLater waits for the event loop): a locked desk
        # must hold no trace of what was typed.
        self.boxes.remove(box)
        self.list.removeWidget(box)
        for edit in box.fields.values():
            edit.blockSignals(True)
            edit.clear()
        box.hide()
        box.setParent(None)
        box.deleteLater()

    def _renumber(self) -> None:
        for index, box in enumerate(self.boxes):
            box.number(index)
        self.none_yet.setVisible(not self.boxes)
        # New boxes are made after the rest of the form, so Tab would reach them last.
        chain = [w for box in self.boxes for w in (*box.fields.values(), box.remove_button)]
        chain.append(self.add_button)
        previous = self.before
        for widget in chain:
            if previous is not None:
                QWidget.setTabOrder(previous, widget)
            previous = widget

    # -- what was typed -----------------------------------------------------------------------

    def carers(self) -> list[dict[str, str]]:
        return [box.values() for box in self.boxes]

    def set_carers(self, carers: Sequence[Mapping[str, str]]) -> None:
        self._filling = True
        try:
            for box in list(self.boxes):
                self._discard(box)
            for values in carers:
                self.add_carer(values)
            self._renumber()
        finally:
            self._filling = False

    def has_typing(self) -> bool:
        return any(text.strip() for carer in self.carers() for text in carer.values())

    def _edited(self, box: CarerBox, name: str) -> None:
        if self._filling:
            return
        box.show_check(name)
        self.changed.emit()

    def check_all(self) -> list[tuple[QLineEdit, str]]:
        """Show every problem of the people typed (boxes left empty are not kept, so not
        judged); returns the wrong fields, each with its name in words."""
        wrong = []
        for box in self.boxes:
            if not any(text.strip() for text in box.values().values()):
                continue
            for name, edit in box.fields.items():
                if box.show_check(name):
                    label = call.CARER_FIELDS[name][0].lower()
                    wrong.append((edit, f"parent or carer {box.index + 1}'s {label}"))
        return wrong

    def set_read_only(self, read_only: bool) -> None:
        self.add_button.setVisible(not read_only)
        for box in self.boxes:
            box.remove_button.setVisible(not read_only)
            for edit in box.fields.values():
                edit.setEnabled(not read_only)
