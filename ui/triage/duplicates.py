"""Children on record who may be the child of this call, pointed out before the contact is
stored: carry on with a new child, use the one on record, or go back and check."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa.nhs import NhsNumberError, format_nhs_number
from spoa.store.search import PossibleDuplicate


@dataclass(frozen=True)
class DuplicateChoice:
    child_id: str | None  # None: store a new child


def describe(duplicate: PossibleDuplicate) -> str:
    try:
        nhs = format_nhs_number(duplicate.nhs_number) if duplicate.nhs_number else "not recorded"
    except NhsNumberError:
        nhs = "not valid"
    return (f"{duplicate.given_name} {duplicate.family_name}, born {duplicate.date_of_birth or 'unknown'}, "
            f"NHS number {nhs} — {'; '.join(duplicate.reasons)}")


class DuplicateDialog(QDialog):
    def __init__(self, duplicates: list[PossibleDuplicate], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("This child may already be on record")
        self.setAccessibleName("Possible duplicate children")
        self.choice: DuplicateChoice | None = None
        layout = QVBoxLayout(self)
        intro = QLabel("These children on record may be the same child. Check with the caller, then use "
                       "the one on record, or carry on with a new record.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget()
        self.list.setAccessibleName("Children on record who may be this child")
        for duplicate in duplicates:
            item = QListWidgetItem(describe(duplicate))
            item.setData(Qt.ItemDataRole.UserRole, duplicate.child_id)
            self.list.addItem(item)
        # Nothing is chosen for the practitioner: Enter must never attach the call to a child
        # they did not pick. The default is Cancel (nothing stored; check with the caller).
        self.list.setCurrentRow(-1)
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for text, handler in (("Use the selected child", self._use), ("New child record", self._new),
                              ("Cancel", self.reject)):
            button = QPushButton(text)
            button.setAccessibleName(text)
            button.setAutoDefault(False)
            button.clicked.connect(handler)
            buttons.addWidget(button)
            self.buttons[text] = button
        layout.addLayout(buttons)
        self.use_button = self.buttons["Use the selected child"]
        self.use_button.setEnabled(False)
        self.list.currentItemChanged.connect(
            lambda current, _old: self.use_button.setEnabled(current is not None))
        self.buttons["Cancel"].setDefault(True)

    def _use(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.choice = DuplicateChoice(item.data(Qt.ItemDataRole.UserRole))
            self.accept()

    def _new(self) -> None:
        self.choice = DuplicateChoice(None)
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None, duplicates: list[PossibleDuplicate]) -> DuplicateChoice | None:
        """Tests replace this classmethod. None: cancel (nothing is stored)."""
        dialog = cls(duplicates, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.choice
