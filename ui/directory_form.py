"""The directory editor's parts: the form for one service (checked field by field by the
core's own validators) and the review of a CSV file's bad rows before an import."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa.letters.directory import (
    COLUMNS,
    LIST_SEPARATOR,
    SERVICE_KINDS,
    DirectoryFile,
    RowProblem,
    Service,
    service_from_values,
    service_values,
)
from spoa.model import Urgency
from ui.directory_models import RowProblemModel

LABELS = {
    "id": "Id", "kind": "Kind", "name": "Name", "team": "Team", "address": "Address",
    "secure_email": "Secure email", "phone": "Phone", "age_min": "Youngest age", "age_max": "Oldest age",
    "postcode_districts": "Postcode districts", "schools": "Schools", "urgencies": "Urgencies taken",
    "opening_notes": "Opening notes", "active": "Active",
}
_ERROR_STYLE = "color: #b00020;"


class ServiceForm(QWidget):
    """One service's fields as text, each with the core's message beneath it when wrong."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Service details")
        self.editing_id: str | None = None  # None: a new service
        self._checking = False  # after a first save attempt, messages follow each change
        self._editable, self._why_not = True, ""
        self.fields: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        layout = QFormLayout(self)
        self.heading = QLabel("New service")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setAccessibleName("Service form heading")
        layout.addRow(self.heading)
        for name in COLUMNS:
            widget = self._make_field(name)
            widget.setAccessibleName(LABELS[name])
            self.fields[name] = widget
            error = QLabel()
            error.setStyleSheet(_ERROR_STYLE)
            error.setTextFormat(Qt.TextFormat.PlainText)
            error.setWordWrap(True)
            error.setAccessibleName(f"{LABELS[name]} problem")
            error.hide()
            self.errors[name] = error
            column = QVBoxLayout()
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(widget)
            column.addWidget(error)
            label = QLabel(LABELS[name] + ("" if name == "active" else ":"))
            label.setBuddy(widget)
            layout.addRow(label, column)

    def _make_field(self, name: str) -> QWidget:
        if name == "kind":
            combo = QComboBox()
            for kind in SERVICE_KINDS:
                combo.addItem(kind.label, kind.value)
            combo.currentIndexChanged.connect(self._edited)
            return combo
        if name == "urgencies":
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            self.urgency_boxes: dict[Urgency, QCheckBox] = {}
            for urgency in Urgency:
                check = QCheckBox(urgency.label)
                check.setAccessibleName(f"Takes {urgency.label.lower()} referrals")
                check.toggled.connect(self._edited)
                self.urgency_boxes[urgency] = check
                row.addWidget(check)
            return box
        if name == "active":
            check = QCheckBox("Takes new referrals")
            check.setChecked(True)
            check.toggled.connect(self._edited)
            return check
        if name in ("address", "opening_notes"):
            text = QPlainTextEdit()
            text.setTabChangesFocus(True)
            text.setFixedHeight(64)
            text.textChanged.connect(self._edited)
            return text
        line = QLineEdit()
        line.textChanged.connect(self._edited)
        if name == "postcode_districts":
            line.setPlaceholderText(f"e.g. ZZ1{LIST_SEPARATOR} ZZ2 (empty: the whole area)")
        if name == "schools":
            line.setPlaceholderText(f"school names separated by '{LIST_SEPARATOR}'")
        return line

    # -- values ------------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """The form as the text of each column (as a CSV row would give it)."""
        values: dict[str, str] = {}
        for name, widget in self.fields.items():
            if name == "kind":
                values[name] = widget.currentData() or ""
            elif name == "urgencies":
                values[name] = f"{LIST_SEPARATOR} ".join(u.value for u, b in self.urgency_boxes.items()
                                                         if b.isChecked())
            elif name == "active":
                values[name] = "yes" if widget.isChecked() else "no"
            elif isinstance(widget, QPlainTextEdit):
                values[name] = widget.toPlainText()
            else:
                values[name] = widget.text()
        if self.editing_id is not None:
            values["id"] = self.editing_id
        return values

    def load(self, service: Service | None) -> None:
        """Show a service to edit, or an empty form for a new one."""
        self.editing_id = service.id if service else None
        self._checking = False
        self.heading.setText(f"Edit {service.name}" if service else "New service")
        values = service_values(service) if service else dict.fromkeys(COLUMNS, "")
        for name, widget in self.fields.items():
            widget.blockSignals(True)
            if name == "kind":
                widget.setCurrentIndex(max(0, widget.findData(values[name])))
            elif name == "urgencies":
                chosen = {p.strip() for p in values[name].split(LIST_SEPARATOR)}
                for urgency, check in self.urgency_boxes.items():
                    check.blockSignals(True)
                    check.setChecked(urgency.value in chosen)
                    check.blockSignals(False)
            elif name == "active":
                widget.setChecked(service.active if service else True)
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(values[name])
            else:
                widget.setText(values[name])
            widget.blockSignals(False)
        self.set_editable(self._editable, self._why_not)
        self.show_problems([])

    def set_editable(self, editable: bool, why_not: str = "") -> None:
        self._editable, self._why_not = editable, why_not
        for name, widget in self.fields.items():
            if isinstance(widget, (QLineEdit, QPlainTextEdit)):
                widget.setReadOnly(not editable or (name == "id" and self.editing_id is not None))
            else:
                widget.setEnabled(editable)
            widget.setToolTip("" if editable else why_not)

    # -- checking ----------------------------------------------------------------------------

    def check(self) -> Service | None:
        """Check every field with the core's validators; show each problem under its field."""
        self._checking = True
        service, problems = service_from_values(self.values())
        self.show_problems(problems)
        return service

    def show_problems(self, problems: list[RowProblem] | tuple[RowProblem, ...]) -> None:
        by_field: dict[str, list[str]] = {}
        for problem in problems:
            by_field.setdefault(problem.column or "name", []).append(problem.reason)
        for name, label in self.errors.items():
            text = "; ".join(by_field.get(name, []))
            label.setText(text)
            label.setVisible(bool(text))

    def problem_texts(self) -> dict[str, str]:
        return {name: label.text() for name, label in self.errors.items() if label.text()}

    def _edited(self, *_args) -> None:
        if self._checking:
            self.check()
        self.changed.emit()


class ImportReview(QWidget):
    """A checked CSV file before it is imported: every bad row with its line and reason,
    then 'import the good rows (skip the bad)' or cancel."""

    import_requested = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("CSV import review")
        self.checked: DirectoryFile | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Import summary")
        self.model = RowProblemModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Bad rows of the file")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.import_button = QPushButton()
        self.import_button.setAccessibleName("Import the good rows")
        self.import_button.clicked.connect(self.import_requested)
        self.cancel_button = QPushButton("&Cancel import")
        self.cancel_button.setAccessibleName("Cancel import")
        self.cancel_button.clicked.connect(self.cancelled)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def review(self, checked: DirectoryFile) -> None:
        self.checked = checked
        good, bad = len(checked.services), len(checked.bad_lines)
        self.model.set_problems(checked.problems)
        self.table.setVisible(bool(checked.problems))
        if bad:
            self.summary.setText(f"{checked.source}: {bad} bad row{'s' if bad != 1 else ''} (listed below) "
                                 "and " f"{good} good row{'s' if good != 1 else ''}. Nothing has been "
                                 "imported. Correct the file and import it again, or import only the "
                                 "good rows.")
            self.import_button.setText(f"&Import the {good} good row{'s' if good != 1 else ''} "
                                       f"(skip {bad} bad)")
        else:
            self.summary.setText(f"{checked.source}: {good} service{'s' if good != 1 else ''}, all correct. "
                                 "Nothing has been imported yet.")
            self.import_button.setText(f"&Import the {good} service{'s' if good != 1 else ''}")
        self.import_button.setEnabled(good > 0)
        self.import_button.setToolTip("" if good else "The file has no good rows to import.")
        self.show()

    def dismiss(self) -> None:
        self.checked = None
        self.model.set_problems([])
        self.summary.clear()
        self.hide()
