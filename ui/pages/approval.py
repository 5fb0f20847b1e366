"""Awaiting approval (supervisors): the queue, the letter as it will be sent, approve or
return with a reason, record the review of a referral sent before review, and export a
day's approved letters.

Every action is the core's (spoa.letters.referrals, spoa.letters.queue,
spoa.letters.batch_export.export_day) run on the store thread; the core checks the role again,
so a practitioner who somehow reaches an action is told why not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa.letters import queue, referrals, sending
from spoa.letters.outbox import OutboxState
from spoa.letters.queue import QueueEntry
from spoa.roles import Permission
from ui.approval_dialogs import ApproveDialog, ReturnDialog, ReviewDialog
from ui.export_dialog import DayExport, ExportDayDialog, Notice, summary
from ui.letter_preview import LetterPreview
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession
from ui.table_model import RowsModel, local_time

PREVIEW_DELAY_MS = 150
COLUMNS = ("Child", "Service", "Urgency", "Deadline", "Submitted by", "When", "Waiting for")
_OVERDUE = QColor("#b00020")



def approve_and_send(store, referral_id: str, note: str) -> str:
    """Approve, then send the letter where this desk sends letters; what happened, in words."""
    item, problem = sending.approve_and_send(store, referral_id, note)
    if item is None:
        return f"Referral {referral_id} approved. {problem}"
    if item.state is OutboxState.SENT:
        return f"Referral {referral_id} approved and its letter sent to {item.destination}."
    return (f"Referral {referral_id} approved; its letter is in the outbox but did not go yet "
            f"({item.last_error}). The Outbox page tries it again.")


class ApprovalQueueModel(RowsModel):
    """The supervisor's queue (spoa.letters.queue.approval_queue), in the core's order."""
    columns = COLUMNS

    def set_entries(self, entries: list[QueueEntry]) -> None:
        self.replace_rows(entries)

    def clear(self) -> None:
        self.set_entries([])

    def entry_at(self, row: int) -> QueueEntry:
        return self._rows[row]

    def row_of(self, referral_id: str) -> int | None:
        return next((row for row, entry in enumerate(self._rows) if entry.id == referral_id), None)

    def ids(self) -> list[str]:
        return [entry.id for entry in self._rows]

    def _overdue(self, entry: QueueEntry) -> bool:
        due = entry.deadline
        return due is not None and due < datetime.now(UTC)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        entry = self.row_for(index)
        if entry is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            referral = entry.referral
            return (
                entry.child_name, entry.service_name, referral.urgency.label,
                f"{entry.deadline_clock} {local_time(entry.deadline)}"
                + (" (overdue)" if self._overdue(entry) else ""),
                entry.submitted_by, local_time(entry.submitted_at),
                "approval" if entry.waiting_for == queue.APPROVAL else "review after an early send",
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 3 and self._overdue(entry):
            return QBrush(_OVERDUE)
        if role == Qt.ItemDataRole.ToolTipRole and column == 3 and self._overdue(entry):
            return "Past its deadline"
        return None


def describe(entry: QueueEntry) -> str:
    """What the supervisor decides on, as plain text (shown with setPlainText: no markup)."""
    referral = entry.referral
    lines = [
        f"Referral {referral.id}: {entry.child_name} to {entry.service_name}",
        f"Urgency: {referral.urgency.label} ({entry.deadline_clock} {local_time(entry.deadline)})",
    ]
    if entry.waiting_for == queue.REVIEW:
        sent = local_time(entry.submitted_at)
        lines.append(f"Sent before supervisor review by {entry.submitted_by} on {sent}: "
                     "it waits for your review. The letter below is the one that went.")
    else:
        lines.append(f"Submitted by {entry.submitted_by} on {local_time(entry.submitted_at)}")
    lines += ["", f"Why referred: {referral.reason or '(no reason given)'}", ""]
    decided = f"{referral.route.label}, {referral.urgency.label.lower()}"
    if entry.decision == "overridden":
        recommended = (f"{entry.recommended_route.label}, {entry.recommended_urgency.label.lower()}"
                       if entry.recommended_route and entry.recommended_urgency else "no recommendation")
        lines.append(f"Outcome: overridden. The module recommended {recommended}; the practitioner "
                     f"decided {decided}.")
        lines.append(f"Override reason: {entry.override_reason}")
    else:
        lines.append(f"Outcome: {decided}, as the module recommended (confirmed).")
    lines += ["", "Rationale:"] + [f"  • {line}" for line in entry.rationale]
    if referral.return_reason:
        lines += ["", f"Returned before: {referral.return_reason}"]
    return "\n".join(lines)


class ApprovalPage(Page):
    key = "approval"
    title = "Awaiting approval"
    permission = Permission.APPROVE_REFERRALS

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._wanted: str | None = None  # a referral to select once the queue is loaded
        self._export: DayExport | None = None
        # Moving through the list with the arrow keys should not build a letter per row passed.
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._make_preview)

        self.model = ApprovalQueueModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Referrals awaiting approval or review")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.selectionModel().currentRowChanged.connect(self._selected)
        # A click makes a row current before it is selected: follow the selection as well.
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())

        self.approve_button = self._button("&Approve…", "Approve the selected referral",
                                           self.approve_selected)
        self.return_button = self._button("Re&turn…", "Return the selected referral with a reason",
                                          self.return_selected)
        self.review_button = self._button("Record &review…", "Record your review of a referral sent "
                                          "before review", self.review_selected)
        self.export_button = self._button("&Export the day's approved letters…",
                                          "Export the letters of the referrals approved on a day",
                                          self.export_day)
        self.refresh_button = self._button("Re&fresh", "Load the queue again", self.refresh)
        self.status = QLabel("")
        self.status.setAccessibleName("Approval status")
        self.status.setWordWrap(True)

        actions = QHBoxLayout()
        for button in (self.approve_button, self.return_button, self.review_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(actions)
        left_layout.addWidget(self.export_button)
        left_layout.addWidget(self.status)

        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("The decision the referral carries")
        self.details.setTabChangesFocus(True)
        self.preview = LetterPreview(session, "referral letter")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.details)
        right.addWidget(self.preview)
        right.setStretchFactor(1, 3)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._update_actions()

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.clicked.connect(lambda: slot())
        return button

    # -- the page contract ------------------------------------------------------------------------

    def refresh(self) -> None:
        if not self.session.is_unlocked:
            return
        wanted = self._wanted or self.selected_id()
        self.session.call(queue.approval_queue, lambda entries: self._loaded(entries, wanted))

    def clear(self) -> None:
        if self._export is not None:
            # The lock waited for the export (cancelled in before_lock); its result was dropped.
            self._export.cancel_event.set()
            self._export.dialog.close()
            self._export = None
        self._preview_timer.stop()
        self.model.clear()
        self.details.clear()
        self.preview.clear()
        self.status.clear()
        self._update_actions()

    def state(self) -> dict:
        selected = self.selected_id() or self._wanted
        return {"referral_id": selected} if selected else {}

    def restore(self, state: dict) -> None:
        self._wanted = state.get("referral_id")
        if self._wanted and self.model.row_of(self._wanted) is not None:
            self._select(self._wanted)
        else:
            self.refresh()

    def before_lock(self) -> None:
        if self._export is not None and self._export.running:
            self._export.cancel()  # the letters written so far stay whole

    # -- the queue ----------------------------------------------------------------------------------

    def _loaded(self, entries: list[QueueEntry], wanted: str | None) -> None:
        wanted = self._wanted or wanted  # a restore() since this refresh started wins
        self.model.set_entries(entries)
        self.status.setText(f"{len(entries)} referral{'s' if len(entries) != 1 else ''} waiting."
                            if entries else "Nothing is waiting for approval or review.")
        if wanted and self.model.row_of(wanted) is not None:
            self._select(wanted)
        else:
            self._show(None)
        self._wanted = None

    def _select(self, referral_id: str) -> None:
        row = self.model.row_of(referral_id)
        if row is None:
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        self._show(self.model.entry_at(row))

    def selected(self) -> QueueEntry | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        return self.model.entry_at(index.row())

    def selected_id(self) -> str | None:
        entry = self.selected()
        return entry.id if entry else None

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show(self.model.entry_at(current.row()) if current.isValid() else None)

    def _show(self, entry: QueueEntry | None) -> None:
        self._update_actions()
        if entry is None:
            self._preview_timer.stop()
            self.details.clear()
            self.preview.clear()
            return
        self.details.setPlainText(describe(entry))
        self.preview.show_message("Making the letter as it will be sent…")
        self._preview_timer.start()

    def _make_preview(self) -> None:
        referral_id = self.selected_id()
        if referral_id is None or not self.session.is_unlocked:
            return

        def made(data: bytes) -> None:
            if self.selected_id() == referral_id:
                self.preview.show_pdf(data)

        def not_made(exc: Exception) -> None:
            if self.selected_id() == referral_id:
                self.preview.show_message("The letter could not be made; see the message.")
            show_problem(exc, "The letter could not be previewed")

        self.session.call(lambda store: queue.preview_referral_letter(store, referral_id), made, not_made)

    def _update_actions(self) -> None:
        entry = self.selected()
        may_approve = self.session.can(Permission.APPROVE_REFERRALS)
        user = self.session.user
        # Four eyes, as the core decides it: whoever drafted, edited, submitted or sent a
        # referral does not approve or review it (the core refuses it too).
        own = referrals.own_steps(entry.referral, user.username) if entry is not None and user else []
        why = self.why_not() if not may_approve else (
            f"You {' and '.join(own)} this referral, so another supervisor must check it." if own else "")
        for button, fits, checks in (
                (self.approve_button, entry is not None and entry.waiting_for == queue.APPROVAL, True),
                (self.return_button, entry is not None and entry.waiting_for == queue.APPROVAL, False),
                (self.review_button, entry is not None and entry.waiting_for == queue.REVIEW, True)):
            barred = checks and bool(own)  # returning for changes is not a check: allowed
            button.setEnabled(may_approve and fits and not barred)
            button.setToolTip(why if not may_approve or barred else "")
        may_export = self.session.can(Permission.EXPORT_LETTERS)
        self.export_button.setEnabled(may_export and not (self._export and self._export.running))
        self.export_button.setToolTip(
            "" if may_export else f"Your role cannot {Permission.EXPORT_LETTERS.value}.")

    # -- actions ------------------------------------------------------------------------------------

    def approve_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        note = ApproveDialog.ask(self, entry.id)
        if note is None:
            return
        self._act(lambda store: approve_and_send(store, entry.id, note), None)

    def return_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        reason = ReturnDialog.ask(self, entry.id)
        if reason is None:
            return
        self._act(lambda store: referrals.return_referral(store, entry.id, reason),
                  f"Referral {entry.id} returned to the practitioner with your reason.", keep=entry.id)

    def review_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        note = ReviewDialog.ask(self, entry.id)
        if note is None:
            return
        self._act(lambda store: referrals.record_review(store, entry.id, note),
                  f"Your review of referral {entry.id} is recorded.")

    def _act(self, fn, done: str | None, keep: str | None = None) -> None:
        def succeeded(result) -> None:
            self.status.setText(done if done is not None else result)
            self._reload()

        def failed(exc: Exception) -> None:
            show_problem(exc)
            self._reload(keep)  # someone else may have acted meanwhile: show what is true now

        self.session.call(fn, succeeded, failed)

    def _reload(self, wanted: str | None = None) -> None:
        message = self.status.text()

        def loaded(entries: list[QueueEntry]) -> None:
            self._loaded(entries, wanted)
            self.status.setText(message)  # what was just done, not the count

        self.session.call(queue.approval_queue, loaded)

    # -- batch export -------------------------------------------------------------------------------

    def export_day(self) -> None:
        chosen = ExportDayDialog.ask(self)
        if chosen is None:
            return
        day, folder = chosen
        self._export = DayExport(self.session, day, folder, self)
        self._export.finished.connect(self._exported)
        self._export.failed.connect(lambda _exc: self._update_actions())
        self._export.start()
        self._update_actions()

    def _exported(self, report) -> None:
        message = summary(report)
        self.status.setText(message)
        self._update_actions()
        Notice.show("Export cancelled" if report.cancelled else "Export finished", message)
