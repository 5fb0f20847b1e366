"""The contact list as a table that loads itself a page at a time.

``ContactListModel`` shows either every contact, newest first, fetched on demand
(``canFetchMore``/``fetchMore``: the view asks when it is scrolled to the end, and the
page comes from ``spoa.worklist.contact_page`` on the store thread), or the result of a
full-text search (``spoa.desk.search_contacts``, accent-insensitive). Rows are kept as
compact tuples of the text shown, so 100,000 loaded contacts stay small in memory.

Every load carries a generation number; a result that arrives after a newer request
(another search, a refresh, a lock) is dropped, so a stale answer never overwrites a
newer one.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal

from spoa import desk, worklist
from spoa.store.records import ContactSummary
from spoa.store.search import fold
from ui.session import DeskSession
from ui.table_model import RowsModel, local_time

COLUMNS = ("Child", "Born", "NHS number", "Received", "Referrer", "Status", "Urgency", "Route")
FIRST_PAGE = 100  # one screen and a bit: the first rows show fast
PAGE = 500
SEARCH_LIMIT = 200
FILTER_ROLE = Qt.ItemDataRole.UserRole + 1  # folded text of the whole row, for the quick filter
CONTACT_ID_ROLE = Qt.ItemDataRole.UserRole + 2
_ID = len(COLUMNS)  # where a row keeps its contact id
_FILTER = _ID + 1  # ... and its folded text

LISTING, SEARCH = "listing", "search"
_REFERRERS = {"gp": "GP", "school_nurse": "School nurse", "parent": "Parent or carer", "self": "Self",
              "police": "Police", "social_care": "Social care", "other_professional": "Other professional"}



def _nhs(number: str | None) -> str:
    return f"{number[:3]} {number[3:6]} {number[6:]}" if number else ""


def row_of(summary: ContactSummary) -> tuple[str, ...]:
    """The text shown for one contact, its id, and the folded text the quick filter reads."""
    shown = (
        summary.child_name,
        summary.date_of_birth.strftime("%d %b %Y") if summary.date_of_birth else "",
        _nhs(summary.nhs_number),
        local_time(summary.received_at, empty=""),
        _REFERRERS.get(summary.referrer_type.value, summary.referrer_type.value),
        summary.status,
        summary.urgency.label if summary.urgency else "",
        summary.route.label if summary.route else "",
    )
    return (*shown, summary.contact_id, fold(" ".join(shown)))


class ContactListModel(RowsModel):
    columns = COLUMNS
    loaded = Signal()  # rows arrived (a page, a search result) or the model was emptied
    failed = Signal(object)  # the exception of a load that could not be done

    def __init__(self, session: DeskSession, parent=None):
        super().__init__(parent)
        self.session = session
        self._mode = LISTING
        self._next: tuple[str, str] | None = None  # where the next page starts
        self._more = False  # the listing has pages still to fetch
        self._pending = False  # a page is on its way
        self._generation = 0
        self.total: int | None = None  # contacts on record, from the first page
        self.search_text = ""
        self.search_limited = False  # the search found as many as it shows: there may be more

    # -- what is shown ----------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def busy(self) -> bool:
        return self._pending

    def contact_id(self, row: int) -> str:
        return self._rows[row][_ID]

    def row_of_contact(self, contact_id: str) -> int | None:
        return next((row for row, values in enumerate(self._rows) if values[_ID] == contact_id), None)

    def clear(self) -> None:
        """Forget every contact (the desk locked): in-flight answers are dropped too."""
        self._generation += 1
        self._mode, self._next, self._more, self._pending = LISTING, None, False, False
        self.total, self.search_text, self.search_limited = None, "", False
        self.replace_rows([])
        self.loaded.emit()

    # -- the listing, a page at a time --------------------------------------------------------------

    def load_listing(self) -> None:
        """Start again from the newest contact."""
        self._generation += 1
        generation = self._generation
        self._mode, self._next, self._more, self._pending = LISTING, None, False, True
        self.search_text, self.search_limited = "", False
        self.session.call(lambda store: worklist.contact_page(store, limit=FIRST_PAGE),
                          lambda page: self._page_arrived(generation, page, first=True),
                          lambda exc: self._load_failed(generation, exc))

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._mode == LISTING and self._more and not self._pending

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or not self.session.is_unlocked:
            return
        self._pending = True
        generation, after = self._generation, self._next
        self.session.call(lambda store: worklist.contact_page(store, after=after, limit=PAGE),
                          lambda page: self._page_arrived(generation, page, first=False),
                          lambda exc: self._load_failed(generation, exc))

    def _page_arrived(self, generation: int, page: worklist.ContactPage, *, first: bool) -> None:
        if generation != self._generation:
            return  # a newer request (search, refresh, lock) came since
        self._pending = False
        self._next, self._more = page.next_after, page.next_after is not None
        rows = [row_of(summary) for summary in page.contacts]
        if first:
            self.total = page.total
            self.replace_rows(rows)
        elif rows:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self.loaded.emit()

    def _load_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._pending = False
        self._more = False  # do not ask again and again; a refresh starts over
        self.failed.emit(exc)

    # -- searching ----------------------------------------------------------------------------------

    def search(self, text: str) -> None:
        """Show the contacts the store's search finds for ``text`` (best first)."""
        self._generation += 1
        generation = self._generation
        self._mode, self._more, self._pending = SEARCH, False, True
        self.search_text = text
        self.session.call(lambda store: desk.search_contacts(store, text, limit=SEARCH_LIMIT),
                          lambda found: self._found(generation, found),
                          lambda exc: self._load_failed(generation, exc))

    def _found(self, generation: int, found: list[ContactSummary]) -> None:
        if generation != self._generation:
            return  # typed on since: a newer search is on its way
        self._pending = False
        self.search_limited = len(found) >= SEARCH_LIMIT
        self.replace_rows([row_of(summary) for summary in found])
        self.loaded.emit()

    # -- the table ------------------------------------------------------------------------------------

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        values = self.row_for(index)
        if values is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return values[index.column()]
        if role == FILTER_ROLE:
            return values[_FILTER]
        if role == CONTACT_ID_ROLE:
            return values[_ID]
        return None
