"""The desk's tables: a read-only Qt table model over a list of domain objects, one row
each, with the column names given by the subclass. Subclasses say what each cell shows
(``data``) and name their setters in the domain (``set_requests``, ``set_items``...);
the row count, column count, headers and resetting live here once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

_NO_PARENT = QModelIndex()


def local_time(moment: datetime | None, empty: str = "—") -> str:
    """A moment in the desk's local time, to the minute ('22 Nov 2026 14:05')."""
    return moment.astimezone().strftime("%d %b %Y %H:%M") if moment else empty


class RowsModel(QAbstractTableModel):
    columns: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []

    def replace_rows(self, rows: Iterable) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int):
        return self._rows[row]

    def row_for(self, index: QModelIndex | QPersistentModelIndex):
        """The object shown at ``index``, or None for an index outside the table."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.columns):
            return self.columns[section]
        return None
