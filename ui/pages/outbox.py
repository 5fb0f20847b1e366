"""The outbox: every letter on its way out, queued, sent or failed with the reason; send
what is queued now, put a failed letter back in the queue, and where letters go (the
outbox folder and the secure email settings).

The core does the work (spoa.letters.outbox: list_items, deliver_pending, requeue) on the
store thread; an item is never delivered twice, whatever is pressed.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from spoa.letters import outbox, sending
from spoa.letters.outbox import OutboxItem, OutboxState
from spoa.roles import Permission
from ui.outbox_settings import OutboxSettings
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession
from ui.table_model import RowsModel, local_time

COLUMNS = ("Letter", "State", "Transport", "Destination", "Queued", "Queued by", "Sent", "Attempts", "Reason")
TRANSPORTS = {"folder": "folder", "smtp": "email"}
_FAILED = QColor("#b00020")
_QUEUED = QColor("#8a5a00")



class OutboxTableModel(RowsModel):
    """Outbox items, oldest first, as spoa.letters.outbox.list_items gives them."""
    columns = COLUMNS

    def __init__(self, parent=None):
        super().__init__(parent)
        self._titles: dict[str, str] = {}  # letter id -> what it is and for whom (set_items)

    def set_items(self, items: list[OutboxItem], titles: dict[str, str] | None = None) -> None:
        self._titles = titles or {}
        self.replace_rows(items)

    def clear(self) -> None:
        self.set_items([])

    def item_at(self, row: int) -> OutboxItem:
        return self._rows[row]

    def row_of(self, item_id: str) -> int | None:
        return next((row for row, item in enumerate(self._rows) if item.id == item_id), None)

    def item(self, item_id: str) -> OutboxItem | None:
        row = self.row_of(item_id)
        return None if row is None else self._rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        item = self.row_for(index)
        if item is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return (self._titles.get(item.letter_id, "Letter"), item.state.value,
                    TRANSPORTS.get(item.transport, item.transport), item.destination,
                    local_time(item.queued_at), item.queued_by, local_time(item.sent_at),
                    str(item.attempts), item.last_error)[column]
        if role == Qt.ItemDataRole.ForegroundRole and column in (1, 8):
            if item.state is OutboxState.FAILED:
                return QBrush(_FAILED)
            if item.state is OutboxState.QUEUED and item.last_error:
                return QBrush(_QUEUED)
        if role == Qt.ItemDataRole.ToolTipRole and column == 8 and item.last_error:
            return item.last_error
        return None


class OutboxPage(Page):
    key = "outbox"
    title = "Outbox"
    permission = Permission.DRAFT_REFERRALS

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._wanted: str | None = None
        self._sending = False

        self.model = OutboxTableModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Letters in the outbox")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_actions())

        self.send_button = QPushButton("&Send queued now")
        self.send_button.setAccessibleName("Send every queued letter now")
        self.send_button.clicked.connect(self.send_queued)
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setAccessibleName("Put the selected failed letter back in the queue")
        self.retry_button.clicked.connect(self.retry_selected)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setAccessibleName("Load the outbox again")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel("")
        self.status.setAccessibleName("Outbox status")
        self.status.setWordWrap(True)
        actions = QHBoxLayout()
        actions.addWidget(self.send_button)
        actions.addWidget(self.retry_button)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)

        letters = QWidget()
        letters_layout = QVBoxLayout(letters)
        letters_layout.addWidget(self.table, 1)
        letters_layout.addLayout(actions)
        letters_layout.addWidget(self.status)
        self.settings = OutboxSettings(session)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Outbox")
        self.tabs.addTab(letters, "&Letters")
        self.tabs.addTab(self.settings, "Where letters &go")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        self._update_actions()

    # -- the page contract ------------------------------------------------------------------------

    def refresh(self) -> None:
        if not self.session.is_unlocked:
            return
        self.settings.load()
        self._reload(self._wanted or self.selected_id())

    def clear(self) -> None:
        self.model.clear()
        self.status.clear()
        self.settings.clear()
        self._update_actions()

    def state(self) -> dict:
        selected = self.selected_id() or self._wanted
        return {"item_id": selected} if selected else {}

    def restore(self, state: dict) -> None:
        self._wanted = state.get("item_id")
        self.refresh()

    # -- the list ------------------------------------------------------------------------------------

    def _reload(self, wanted: str | None = None, message: str | None = None) -> None:
        def loaded(result: tuple[list[OutboxItem], dict[str, str]]) -> None:
            items, titles = result
            self.model.set_items(items, titles)
            counts = {state: sum(1 for i in items if i.state is state) for state in OutboxState}
            self.status.setText(message or (
                f"{counts[OutboxState.QUEUED]} queued, {counts[OutboxState.SENT]} sent, "
                f"{counts[OutboxState.FAILED]} failed." if items else "The outbox is empty."))
            if wanted is not None and self.model.row_of(wanted) is not None:
                index = self.model.index(self.model.row_of(wanted), 0)
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)
            self._wanted = None
            self._update_actions()

        def load(store):
            items = outbox.list_items(store)
            return items, sending.letter_titles(store, sorted({i.letter_id for i in items}))

        self.session.call(load, loaded)

    def selected(self) -> OutboxItem | None:
        selection = self.table.selectionModel()
        index = selection.currentIndex()
        if not index.isValid() or not selection.isRowSelected(index.row(), QModelIndex()):
            return None
        return self.model.item_at(index.row())

    def selected_id(self) -> str | None:
        item = self.selected()
        return item.id if item else None

    def _update_actions(self) -> None:
        may = self.session.can(Permission.DRAFT_REFERRALS)
        item = self.selected()
        self.send_button.setEnabled(may and not self._sending)
        self.retry_button.setEnabled(may and item is not None and item.state is OutboxState.FAILED)
        self.retry_button.setToolTip("Only a failed letter can be put back in the queue; a sent one is "
                                     "never sent again." if may else self.why_not())

    # -- actions ------------------------------------------------------------------------------------

    def send_queued(self) -> None:
        self._sending = True
        self._update_actions()
        self.status.setText("Sending the queued letters…")
        wanted = self.selected_id()

        def sent(report: sending.SendReport) -> None:
            self._sending = False
            items = report.items
            done = sum(1 for i in items if i.state is OutboxState.SENT)
            waiting = sum(1 for i in items if i.state is OutboxState.QUEUED)
            failed = sum(1 for i in items if i.state is OutboxState.FAILED)
            if not items:
                message = "Nothing was waiting to be sent."
            else:
                message = f"{done} sent, {waiting} still queued, {failed} failed."
                if waiting or failed:
                    message += " The Reason column says why."
            if report.waiting:
                message += (f" {report.waiting} approved referral{'s' if report.waiting != 1 else ''} "
                            f"could not be sent: {report.problem}")
            self._reload(wanted, message)

        def failed(exc: Exception) -> None:
            self._sending = False
            show_problem(exc, "The queued letters could not be sent")
            self._reload(wanted)

        self.session.call(sending.send_everything, sent, failed)

    def retry_selected(self) -> None:
        item = self.selected()
        if item is None:
            return
        item_id = item.id

        def requeued(_item: OutboxItem) -> None:
            self._reload(item_id, f"Letter {item.letter_id} is queued again; 'Send queued now' sends it.")

        def failed(exc: Exception) -> None:
            show_problem(exc, "The letter could not be queued again")
            self._reload(item_id)

        self.session.call(lambda store: outbox.requeue(store, item_id), requeued, failed)
