"""Table models of the directory editor: the services, the filter over them, and the bad
rows of a CSV file about to be imported."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from spoa.letters.directory import Service
from ui.table_model import RowsModel

SERVICE_COLUMNS = ("Kind", "Name", "Team", "Ages", "Covers", "Urgencies", "Active")
PROBLEM_COLUMNS = ("Line", "Column", "What is wrong")
_INACTIVE = QColor("#6b6b6b")
_DISPLAY = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
_NO_PARENT = QModelIndex()


def covers(service: Service) -> str:
    parts = []
    if service.postcode_districts:
        parts.append("districts " + " ".join(service.postcode_districts))
    if service.schools:
        parts.append("schools " + "; ".join(service.schools))
    return " and ".join(parts) or "the whole area"


class ServiceTableModel(RowsModel):
    """The services as listed by spoa.letters.directory.list_services."""
    columns = SERVICE_COLUMNS

    def set_services(self, services: list[Service]) -> None:
        self.replace_rows(services)

    def service_at(self, row: int) -> Service:
        return self._rows[row]

    def row_of(self, service_id: str) -> int:
        return next((i for i, s in enumerate(self._rows) if s.id == service_id), -1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        service = self.row_for(index)
        if service is None:
            return None
        if role in _DISPLAY:
            return self._text(service, index.column())
        if role == Qt.ItemDataRole.UserRole:
            return service.id
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return service.id
        if role == Qt.ItemDataRole.ForegroundRole and not service.active:
            return QBrush(_INACTIVE)
        return None

    @staticmethod
    def _text(service: Service, column: int) -> str | None:
        if column == 0:
            return service.kind.label
        if column == 1:
            return service.name
        if column == 2:
            return service.team
        if column == 3:
            return service.ages
        if column == 4:
            return covers(service)
        if column == 5:
            return ", ".join(u.label.lower() for u in service.urgencies)
        if column == 6:
            return "yes" if service.active else "no"
        return None


class ServiceFilter(QSortFilterProxyModel):
    """Services of one kind (or all), whose row or id contains the typed text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._kind = None
        self._text = ""
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_kind(self, kind: str | None) -> None:
        """A kind's value (Route.value), or None for every kind."""
        self.beginFilterChange()
        self._kind = str(kind) if kind else None
        self.endFilterChange()

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().casefold()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        model = self.sourceModel()
        if not isinstance(model, ServiceTableModel) or source_row >= model.rowCount():
            return False
        service = model.service_at(source_row)
        if self._kind is not None and service.kind.value != self._kind:
            return False
        if not self._text:
            return True
        cells = [model._text(service, c) or "" for c in range(len(SERVICE_COLUMNS))]
        return any(self._text in cell.casefold() for cell in [*cells, service.id])


class RowProblemModel(RowsModel):
    """Every problem of a checked directory file: its line, column and reason."""
    columns = PROBLEM_COLUMNS

    def set_problems(self, problems) -> None:
        self.replace_rows(problems)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        problem = self.row_for(index)
        if problem is None:
            return None
        if role in _DISPLAY:
            return (str(problem.line), problem.column or "(the row)", problem.reason)[index.column()] \
                if 0 <= index.column() < len(PROBLEM_COLUMNS) else None
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return problem.reason
        return None
