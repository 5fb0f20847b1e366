"""The list of advice requests: those still waiting for the specialist's advice first,
then by reply deadline (the order spoa.advice.list_requests gives)."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from spoa.advice import AdviceRequest
from spoa.model import ReferrerType
from ui.table_model import RowsModel

COLUMNS = ("Requester", "Type", "Child", "How soon", "Recorded", "State", "Reply by")
REQUESTER_LABELS = {ReferrerType.GP: "GP", ReferrerType.SCHOOL_NURSE: "School nurse",
                    ReferrerType.OTHER_PROFESSIONAL: "Other professional"}
_OVERDUE = QColor("#b00020")
_DISPLAY = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
_NO_PARENT = QModelIndex()


def requester_label(kind: ReferrerType) -> str:
    return REQUESTER_LABELS.get(kind, kind.value.replace("_", " ").capitalize())


def when(moment: datetime | None) -> str:
    """A moment in the desk's local time, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "—"


def requester_text(request: AdviceRequest) -> str:
    who = request.requester_name or requester_label(request.requester_type)
    return who + (f" ({request.requester_organisation})" if request.requester_organisation else "")


class AdviceTableModel(RowsModel):
    columns = COLUMNS

    def __init__(self, parent=None):
        super().__init__(parent)
        self._now = datetime.now(UTC)

    def set_requests(self, requests: list[AdviceRequest]) -> None:
        self.beginResetModel()
        # Awaiting the specialist's advice first; within each, the core's deadline order.
        self._rows = sorted(requests, key=lambda r: not r.awaiting_response)
        self._now = datetime.now(UTC)
        self.endResetModel()

    def request_at(self, row: int) -> AdviceRequest:
        return self._rows[row]

    def row_of(self, request_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == request_id), -1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        request = self.row_for(index)
        if request is None:
            return None
        column = index.column()
        if role in _DISPLAY:
            return self._text(request, column)
        if role == Qt.ItemDataRole.UserRole:
            return request.id
        overdue = request.respond_by is not None and request.respond_by < self._now
        if role == Qt.ItemDataRole.ForegroundRole and column == 6 and overdue:
            return QBrush(_OVERDUE)
        if role == Qt.ItemDataRole.FontRole and column == 5 and request.awaiting_response:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and column == 6 and overdue:
            return "The reply is overdue."
        return None

    @staticmethod
    def _text(request: AdviceRequest, column: int) -> str | None:
        if column == 0:
            return requester_text(request)
        if column == 1:
            return requester_label(request.requester_type)
        if column == 2:
            return request.child_name or "—"
        if column == 3:
            return request.how_soon_label
        if column == 4:
            return when(request.created_at)
        if column == 5:
            return request.state
        if column == 6:
            return when(request.respond_by)
        return None
