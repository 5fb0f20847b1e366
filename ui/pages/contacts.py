"""Contacts: every contact on record, newest first, loaded a page at a time as the list is
scrolled; a quick filter over what is loaded; a search box backed by the store's
full-text search (accent-insensitive: 'Zoe' finds 'Zoë').

Searching runs on the store thread: typing waits for a pause (SEARCH_DELAY_MS) before
it asks, and an answer to an older search is dropped (ui.contact_models). Opening a
row (double-click, Enter, or Open) goes to the triage page for that contact.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa.roles import Permission
from spoa.store.search import fold
from ui.contact_models import FILTER_ROLE, LISTING, SEARCH_LIMIT, ContactListModel
from ui.pages.base import Page
from ui.problems import show_problem
from ui.row_table import RowTable
from ui.session import DeskSession

SEARCH_DELAY_MS = 300
# Typical widths (no row is measured: 100,000 of them would be): one sample per column.
COLUMN_SAMPLES = ("Oluwaseyi Featherstonehaugh", "28 Sep 2012", "999 999 9999", "28 Sep 2026 23:59",
                  "Other professional", "referred", "Very urgent", "Voluntary sector")
ROW_HEIGHT_LINES = 1.6


class ContactsPage(Page):
    key = "contacts"
    title = "Contacts"
    permission = Permission.VIEW_RECORDS

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._wanted: str | None = None  # a contact id to select once it is loaded

        self.model = ContactListModel(session, self)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._failed)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(FILTER_ROLE)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.search_box = QLineEdit(self)
        self.search_box.setAccessibleName("Search all contacts")
        self.search_box.setPlaceholderText("Name, NHS number, date of birth, school or referrer")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._typed)
        self.search_box.returnPressed.connect(self._search_now)
        self.filter_box = QLineEdit(self)
        self.filter_box.setAccessibleName("Filter the contacts shown")
        self.filter_box.setPlaceholderText("Narrow down the rows already shown")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self._filter)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self._search_now)

        self.table = RowTable(self)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Contacts")
        self.table.setAccessibleDescription("Newest first. Scroll down to load more. Press Enter to open.")
        self.table.opened.connect(self.open_row)
        self.table.setWordWrap(False)
        # Fixed row heights and column widths: nothing is measured across 100,000 rows.
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(int(self.fontMetrics().height() * ROW_HEIGHT_LINES))
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        columns.setStretchLastSection(True)
        metrics = self.fontMetrics()
        for column, sample in enumerate(COLUMN_SAMPLES):
            columns.resizeSection(column, metrics.horizontalAdvance(sample + "MM"))

        self.status = QLabel("", self)
        self.status.setAccessibleName("What the list shows")
        self.open_button = QPushButton("&Open", self)
        self.open_button.setAccessibleName("Open the selected contact")
        self.open_button.clicked.connect(self._open_current)
        self.reload_button = QPushButton("&Refresh", self)
        self.reload_button.setAccessibleName("Reload the contact list")
        self.reload_button.clicked.connect(self.refresh)

        boxes = QFormLayout()
        search_label = QLabel("&Search:", self)
        search_label.setBuddy(self.search_box)
        filter_label = QLabel("&Filter shown:", self)
        filter_label.setBuddy(self.filter_box)
        boxes.addRow(search_label, self.search_box)
        boxes.addRow(filter_label, self.filter_box)
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(self.open_button)
        footer.addWidget(self.reload_button)
        layout = QVBoxLayout(self)
        layout.addLayout(boxes)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)

    # -- loading and searching ------------------------------------------------------------------------

    def refresh(self) -> None:
        if not self.session.is_unlocked or not self.session.can(Permission.VIEW_RECORDS):
            return
        self._debounce.stop()
        text = self.search_box.text().strip()
        if text:
            self.model.search(text)
        else:
            self.model.load_listing()
        self.status.setText("Loading…")

    def _typed(self, _text: str) -> None:
        self._debounce.start()  # restarted on every key: the search waits for a pause

    def _search_now(self) -> None:
        self._debounce.stop()
        if not self.session.is_unlocked:
            return
        text = self.search_box.text().strip()
        if not text:
            if self.model.mode != LISTING:
                self.refresh()
            return
        if text != self.model.search_text or self.model.mode != "search":
            self.model.search(text)
            self.status.setText("Searching…")

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(fold(text.strip()))
        self._update_status()

    def _loaded(self) -> None:
        self._update_status()
        if self._wanted and self._select(self._wanted):
            self._wanted = None

    def _failed(self, exc: Exception) -> None:
        self.status.setText("The contacts could not be loaded.")
        show_problem(exc, "The contacts could not be loaded")

    def _update_status(self) -> None:
        model, shown = self.model, self.proxy.rowCount()
        loaded = model.rowCount()
        if model.mode == LISTING:
            if model.total is None:
                text = ""
            else:
                text = f"Showing {loaded:,} of {model.total:,} contacts, newest first"
                if model.canFetchMore():
                    text += " (scroll down for more)"
        else:
            text = f"{loaded:,} contact{'s' if loaded != 1 else ''} found"
            if model.search_limited:
                text += f" (the best {SEARCH_LIMIT}; add to the search to narrow it)"
        if self.filter_box.text().strip():
            text += f"; {shown:,} match the filter"
        self.status.setText(text)

    # -- opening ------------------------------------------------------------------------------------

    def open_row(self, row: int) -> None:
        if 0 <= row < self.proxy.rowCount():
            source = self.proxy.mapToSource(self.proxy.index(row, 0))
            self.navigate.emit("triage", {"contact_id": self.model.contact_id(source.row())})

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_row(index.row())

    def current_contact_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.contact_id(self.proxy.mapToSource(index).row())

    def _select(self, contact_id: str) -> bool:
        row = self.model.row_of_contact(contact_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    # -- the page contract ------------------------------------------------------------------------------

    def clear(self) -> None:
        self._debounce.stop()
        self._wanted = None
        for box in (self.search_box, self.filter_box):
            box.blockSignals(True)
            box.clear()
            box.blockSignals(False)
        self.proxy.setFilterFixedString("")
        self.model.clear()
        self.status.setText("")

    def state(self) -> dict:
        contact_id = self.current_contact_id()
        return {"selected": contact_id} if contact_id else {}

    def restore(self, state: dict) -> None:
        wanted = state.get("selected")
        if wanted and not self._select(wanted):
            self._wanted = wanted
