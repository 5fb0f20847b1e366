"""Today: the open contacts, referrals and advice requests, most urgent first, then by
deadline (spoa.worklist.today), with contact-by and seen-by clocks.

The clocks are re-worded every minute from the rows already loaded: the store is asked
again only on refresh. Double-click or Enter opens the work where it is done: a triage
call, the approval queue, an advice request.

Above the list, everyone is told while the desk has nowhere to send letters (no outbox
folder and no secure email: spoa.letters.outbox.letters_can_leave), so that it is not
first found out at an emergency's 'Send now'.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa import worklist
from spoa.letters import outbox
from spoa.letters.referrals import ReferralState
from spoa.roles import Permission
from spoa.worklist import WorkItem
from ui.pages.base import Page
from ui.problems import show_problem, user_message
from ui.row_table import RowTable
from ui.session import DeskSession
from ui.today_model import CHILD, TodayModel

CLOCK_TICK_MS = 60_000
NOWHERE_FOR_LETTERS = ("⚠ Letters cannot be sent yet: no outbox folder or secure email is set. A "
                       "supervisor sets it on the Outbox page, under Where letters go.")
COLUMN_SAMPLES = ("Oluwaseyi Featherstonehaugh", "Not triaged yet", "Advice request",
                  "sent, review pending", "overdue by 12 days 23 h", "overdue by 12 days 23 h")


def destination(item: WorkItem) -> tuple[str, dict]:
    """The page (and its state, ids only) where the work on ``item`` is done."""
    if item.kind == worklist.ADVICE:
        return "advice", {"request_id": item.id}
    if item.kind == worklist.REFERRAL:
        if item.referral_state is ReferralState.AWAITING_APPROVAL or item.review_pending:
            return "approval", {"referral_id": item.id}
        if item.referral_state is ReferralState.APPROVED:
            return "outbox", {"referral_id": item.id}
        return "triage", {"contact_id": item.contact_id, "referral_id": item.id}
    if item.session_id is not None and not item.decided:
        return "triage", {"session_id": item.session_id}
    return "triage", {"contact_id": item.contact_id}


class TodayPage(Page):
    key = "today"
    title = "Today"
    permission = Permission.VIEW_RECORDS

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._wanted: str | None = None  # an id to select once the list has loaded

        self.model = TodayModel(self)
        self.table = RowTable(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Today's open work")
        self.table.setAccessibleDescription(
            "Most urgent first, then by deadline. Press Enter to open the selected row.")
        self.table.opened.connect(self.open_row)
        header = self.table.horizontalHeader()
        metrics = self.fontMetrics()
        for column, sample in enumerate(COLUMN_SAMPLES):
            header.resizeSection(column, metrics.horizontalAdvance(sample + "MM"))
        header.setSectionResizeMode(CHILD, QHeaderView.ResizeMode.Stretch)

        self.summary = QLabel("", self)
        self.summary.setAccessibleName("Summary of today's work")
        self.reload_button = QPushButton("&Refresh", self)
        self.reload_button.setAccessibleName("Refresh today's list")
        self.reload_button.clicked.connect(self.refresh)
        self.open_button = QPushButton("&Open", self)
        self.open_button.setAccessibleName("Open the selected work")
        self.open_button.clicked.connect(self._open_current)

        self.letters_warning = QLabel("", self)
        self.letters_warning.setAccessibleName("Where letters go")
        self.letters_warning.setWordWrap(True)
        self.letters_warning.setStyleSheet("color: #b00020; font-weight: bold;")
        self.letters_warning.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.reload_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.letters_warning)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

        self.clock = QTimer(self)
        self.clock.setInterval(CLOCK_TICK_MS)
        self.clock.timeout.connect(self.tick)

    # -- loading ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        if not self.session.is_unlocked or not self.session.can(Permission.VIEW_RECORDS):
            return
        if self.model.rowCount() == 0:
            self.summary.setText("Loading…")
        folder = self.session.folder
        self.session.run(lambda: outbox.letters_can_leave(folder), self._letters_checked,
                         self._letters_unreadable)
        self.session.call(worklist.today, self._loaded, self._failed)

    def _letters_checked(self, can_leave: bool) -> None:
        self.letters_warning.setText("" if can_leave else NOWHERE_FOR_LETTERS)
        self.letters_warning.setVisible(not can_leave)

    def _letters_unreadable(self, exc: Exception) -> None:
        # A damaged settings file: its message names the file and what to do.
        said = user_message(exc) or "the settings could not be read."
        self.letters_warning.setText(f"⚠ Where letters go cannot be read: {said}")
        self.letters_warning.show()

    def _loaded(self, items: list[WorkItem]) -> None:
        current = self.current_item()
        keep = self._wanted or (current.id if current else None)
        self.model.set_items(items, datetime.now(UTC))
        self._update_summary()
        if keep is not None and self._select(keep):
            self._wanted = None
        self.clock.start()

    def _failed(self, exc: Exception) -> None:
        self.summary.setText("Today's list could not be loaded.")
        show_problem(exc, "Today's list could not be loaded")

    def tick(self, now: datetime | None = None) -> None:
        """Re-word the clocks (every minute): no store call, the rows stay as loaded."""
        self.model.set_now(now or datetime.now(UTC))
        self._update_summary()

    def _update_summary(self) -> None:
        rows, late = self.model.rowCount(), self.model.overdue_count()
        if rows == 0:
            self.summary.setText("Nothing open today.")
            return
        text = f"{rows} open item" + ("s" if rows != 1 else "")
        if late:
            text += f", ⚠ {late} overdue"
        self.summary.setText(text)

    # -- opening -----------------------------------------------------------------------------------

    def current_item(self) -> WorkItem | None:
        index = self.table.currentIndex()
        return self.model.item_at(index.row()) if index.isValid() else None

    def open_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.navigate.emit(*destination(self.model.item_at(row)))

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_row(index.row())

    def _select(self, item_id: str) -> bool:
        row = self.model.row_of(item_id)
        if row is None:
            return False
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    # -- the page contract ---------------------------------------------------------------------------

    def clear(self) -> None:
        self.clock.stop()
        self._wanted = None
        self.model.clear()
        self.summary.setText("")
        self.letters_warning.clear()
        self.letters_warning.hide()

    def state(self) -> dict:
        item = self.current_item()
        return {"selected": item.id} if item else {}

    def restore(self, state: dict) -> None:
        wanted = state.get("selected") or state.get("referral_id")  # (advice: converted into)
        if wanted and not self._select(wanted):
            self._wanted = wanted  # selected when the list arrives
