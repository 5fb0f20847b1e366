"""The Advice requests page: GPs, school nurses and other professionals ask the hub's
specialists a question about a child. The list shows open requests, those still waiting for
advice first; a new request is typed into a form checked by the core; a request's detail
shows what was asked and its history, the advice (recorded by a supervisor), the advice
letter, and conversion into a referral where the requester authorised it. A request half-typed
when the desk locks is kept for the same user (spoa.drafts) and put back after they unlock."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa import advice, drafts
from spoa.advice import AdviceDraft, AdviceRecorded, AdviceRequest, AdviceView
from spoa.roles import Permission
from spoa.store.records import ContactDraft
from ui.advice.detail import AdviceDetail
from ui.advice.form import AdviceRequestForm
from ui.advice.models import AdviceTableModel
from ui.form_drafts import LostDraftNotice
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession


def _scrolled(widget: QWidget, name: str) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setAccessibleName(name)
    return area


class AdvicePage(Page):
    key = "advice"
    title = "Advice requests"
    permission = Permission.VIEW_RECORDS

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._wanted_id: str | None = None  # a request to show once the list is loaded
        self._lost_draft = LostDraftNotice()
        self.model = AdviceTableModel(self)
        self.awaiting_only = QCheckBox("A&waiting response only")
        self.awaiting_only.setAccessibleName("Show only requests awaiting a response")
        self.awaiting_only.toggled.connect(lambda _on: self.refresh())
        self.new_button = QPushButton("&New advice request")
        self.new_button.setAccessibleName("New advice request")
        self.new_button.clicked.connect(self.new_request)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setAccessibleName("Load the advice requests again")
        self.refresh_button.clicked.connect(self.refresh)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Advice requests")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.selectionModel().currentRowChanged.connect(self._selected)
        self.counts = QLabel()
        self.counts.setAccessibleName("How many advice requests are open")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName("Advice requests status")

        self.form = AdviceRequestForm()
        self.form.submitted.connect(self._record)
        self.form.cancelled.connect(self._cancel_new)
        self.detail = AdviceDetail(session)
        self.detail.changed.connect(self._changed)
        self.detail.converted.connect(self._converted)
        self.placeholder = QLabel("Select a request, or press 'New advice request'.")
        self.placeholder.setAccessibleName("No advice request selected")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(_scrolled(self.form, "New advice request"))
        self.stack.addWidget(_scrolled(self.detail, "Advice request"))

        bar = QHBoxLayout()
        bar.addWidget(self.awaiting_only)
        bar.addStretch(1)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.new_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.counts)
        left_layout.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._apply_role()

    def _apply_role(self) -> None:
        may = self.session.can(Permission.EDIT_CONTACTS)
        self.new_button.setEnabled(may)
        self.new_button.setToolTip("" if may else f"Your role cannot {Permission.EDIT_CONTACTS.value}.")

    # -- the list ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._apply_role()
        if not self.session.is_unlocked or not self.session.can(Permission.VIEW_RECORDS):
            return
        self._take_draft()
        awaiting = self.awaiting_only.isChecked()
        if self._wanted_id is None and self.detail.view is not None:
            self._wanted_id = self.detail.view.request.id
        self.session.call(lambda store: advice.list_requests(store, awaiting=awaiting), self._listed)

    def _listed(self, requests: list[AdviceRequest]) -> None:
        wanted, self._wanted_id = self._wanted_id, None
        self.model.set_requests(requests)
        count = len(requests)
        waiting = sum(1 for r in requests if r.awaiting_response)
        self.counts.setText(f"{count} open request{'s' if count != 1 else ''}, {waiting} awaiting a response."
                            if not self.awaiting_only.isChecked() else
                            f"{waiting} request{'s' if waiting != 1 else ''} awaiting a response.")
        if wanted:
            self.show_request(wanted)

    def show_request(self, request_id: str) -> None:
        """Select the request in the list (if it is there) and show its detail."""
        row = self.model.row_of(request_id)
        if row >= 0:
            self.table.selectionModel().blockSignals(True)
            self.table.selectRow(row)
            self.table.setCurrentIndex(self.model.index(row, 0))
            self.table.selectionModel().blockSignals(False)
        self._load(request_id)

    def _selected(self, current, _previous) -> None:
        if current.isValid():
            self._load(self.model.request_at(current.row()).id)

    def _load(self, request_id: str) -> None:
        self.session.call(lambda store: advice.view_request(store, request_id), self._loaded)

    def _loaded(self, view: AdviceView) -> None:
        self.detail.show_view(view)
        self.stack.setCurrentIndex(2)

    # -- a new request ---------------------------------------------------------------------------

    def new_request(self) -> None:
        self.table.clearSelection()
        self.detail.clear()
        self.stack.setCurrentIndex(1)
        self.form.fields["referrer_type"].setFocus()

    def _cancel_new(self) -> None:
        self.form.reset()
        self.stack.setCurrentIndex(0)

    def _record(self, draft: AdviceDraft, contact: ContactDraft) -> None:
        self.form.save_button.setEnabled(False)

        def failed(exc: Exception) -> None:
            self.form.save_button.setEnabled(True)
            show_problem(exc, "The advice request was not recorded")

        self.session.call(lambda store: advice.record_request(store, draft, contact=contact),
                          self._recorded, failed)

    def _recorded(self, recorded: AdviceRecorded) -> None:
        self.form.save_button.setEnabled(True)
        self.form.reset()
        request = recorded.request
        note = ""
        if recorded.added is not None and recorded.added.possible_duplicates:
            count = len(recorded.added.possible_duplicates)
            note = (f" {count} child record{'s' if count != 1 else ''} on record may be the same child: "
                    "check before going on.")
        self.status.setText(f"Advice request {request.id} recorded; reply by "
                            f"{request.respond_by.astimezone():%Y-%m-%d %H:%M}." if request.respond_by
                            else f"Advice request {request.id} recorded.")
        self.status.setText(self.status.text() + note)
        self._wanted_id = request.id
        self.refresh()

    # -- after changes ---------------------------------------------------------------------------

    def _changed(self, request_id: str) -> None:
        self._wanted_id = request_id
        self.refresh()

    def _converted(self, referral_id: str) -> None:
        self.status.setText(f"Converted into referral {referral_id} (a draft: submit it for approval).")
        self.navigate.emit("today", {"referral_id": referral_id})

    # -- what was typed when the desk locked ------------------------------------------------------

    def _take_draft(self) -> None:
        """Refill the new request form with what this user typed before the desk locked."""
        lost = self._lost_draft.take(self.session.user.username if self.session.user else "")
        if lost:
            self.status.setText(lost)
        if not self.session.can(Permission.EDIT_CONTACTS) or self.form.has_typing():
            return
        self.session.call(lambda store: drafts.take_form_draft(store, drafts.ADVICE_REQUEST),
                          self._draft_taken, lambda _exc: None)

    def _draft_taken(self, typed: dict[str, str] | None) -> None:
        if not typed:
            return
        if self.form.has_typing():  # typed again meanwhile: keep the draft for later
            self._save_draft(typed)
            return
        self.form.fill(typed)
        if self.stack.currentIndex() != 2:
            self.table.clearSelection()
            self.stack.setCurrentIndex(1)
        self.status.setText("Restored what you were typing before the desk locked.")

    def _save_draft(self, typed: dict[str, str]) -> None:
        # Queued before the lock on the same store thread, so it is written before the key goes.
        # A failure (text that cannot be stored) is told to the same person after they unlock.
        who = self.session.user.username if self.session.user else ""
        self.session.call(lambda store: drafts.save_form_draft(store, drafts.ADVICE_REQUEST, typed),
                          lambda _saved: None, lambda exc: self._lost_draft.remember(who, exc))

    def before_lock(self) -> None:
        if self.session.is_unlocked and self.session.can(Permission.EDIT_CONTACTS) and self.form.has_typing():
            self._save_draft(self.form.typed_values())

    # -- page life -------------------------------------------------------------------------------

    def clear(self) -> None:
        self.model.set_requests([])
        self.form.reset()
        self.detail.clear()
        self.counts.clear()
        self.status.clear()
        self.stack.setCurrentIndex(0)
        self._wanted_id = None

    def state(self) -> dict:
        return {"request_id": self.detail.view.request.id} if self.detail.view else {}

    def restore(self, state: dict) -> None:
        request_id = state.get("request_id")
        if not request_id:
            return
        if self.model.rowCount():
            self.show_request(request_id)  # shown even when it has left the open list
        else:
            self._wanted_id = request_id
            self.refresh()
