"""The Today list as a table: spoa.worklist.WorkItem rows in the core's order, with clocks
worded against a 'now' the page moves on every minute (no store call for that).

An overdue row is told apart three ways, so colour is never the only sign: its clock
reads "overdue by ...", the child column carries a warning icon and the word "Overdue"
for screen readers, and the row is tinted and bold.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from spoa import worklist
from spoa.worklist import WorkItem
from ui.table_model import RowsModel

COLUMNS = ("Child", "Urgency", "What", "State", "Contact by", "Seen by")
CHILD, URGENCY, WHAT, STATE, CONTACT_BY, SEEN_BY = range(len(COLUMNS))
CLOCK_COLUMNS = (CONTACT_BY, SEEN_BY)
OVERDUE_MARK = "⚠ Overdue"
_OVERDUE_BACKGROUND = QColor("#fde7e9")
_OVERDUE_TEXT = QColor("#8b0015")
_KINDS = {worklist.CONTACT: "Triage call", worklist.REFERRAL: "Referral", worklist.ADVICE: "Advice request"}


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%a %d %b %Y %H:%M") if moment else "no deadline"


class TodayModel(RowsModel):
    columns = COLUMNS

    def __init__(self, parent=None):
        super().__init__(parent)
        self._now = datetime.now(UTC)
        self._bold = QFont()
        self._bold.setBold(True)
        self._warning = None

    # -- contents -------------------------------------------------------------------------------

    def set_items(self, items: list[WorkItem], now: datetime | None = None) -> None:
        self.beginResetModel()
        self._rows = list(items)
        self._now = now or datetime.now(UTC)
        self.endResetModel()

    def clear(self) -> None:
        self.set_items([])

    def item_at(self, row: int) -> WorkItem:
        return self._rows[row]

    def row_of(self, item_id: str) -> int | None:
        return next((row for row, item in enumerate(self._rows) if item.id == item_id), None)

    @property
    def now(self) -> datetime:
        return self._now

    def set_now(self, now: datetime) -> None:
        """Move the clocks on: only the clock columns and the overdue marks change."""
        self._now = now
        if self._rows:
            last = len(self._rows) - 1
            self.dataChanged.emit(self.index(0, 0), self.index(last, len(COLUMNS) - 1))

    def overdue_count(self) -> int:
        return sum(1 for item in self._rows if item.overdue(self._now))

    # -- the table --------------------------------------------------------------------------------

    def text(self, item: WorkItem, column: int) -> str:
        if column == CHILD:
            return item.child_name
        if column == URGENCY:
            return item.urgency.label if item.urgency else "Not triaged yet"
        if column == WHAT:
            return _KINDS.get(item.kind, item.kind)
        if column == STATE:
            return item.state
        if column == CONTACT_BY and item.clock == worklist.SEEN_BY:
            return "letter sent"  # first contact is the service's now; being seen is what counts
        due = item.contact_by if column == CONTACT_BY else item.seen_by
        return worklist.clock_text(due, self._now)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        item = self.row_for(index)
        if item is None:
            return None
        column = index.column()
        overdue = item.overdue(self._now)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(item, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = self.text(item, column)
            return f"Overdue: {text}" if overdue and column == CHILD else text
        if role == Qt.ItemDataRole.ToolTipRole:
            if column in CLOCK_COLUMNS:
                due = item.contact_by if column == CONTACT_BY else item.seen_by
                label = "Contact by" if column == CONTACT_BY else (
                    "Reply by" if item.kind == worklist.ADVICE else "Seen by")
                return f"{label}: {when(due)}"
            if overdue and column == CHILD:
                return f"{OVERDUE_MARK}: {item.clock} {when(item.due)}"
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == CHILD and overdue:
            return self._warning_icon()
        if not overdue:
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(_OVERDUE_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(_OVERDUE_TEXT)
        if role == Qt.ItemDataRole.FontRole:
            return self._bold
        return None

    def _warning_icon(self):
        if self._warning is None:
            self._warning = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._warning
