"""The audit trail: who did what to which record and when, newest first, and 'Verify',
which checks the hash chain and says in words whether anything was changed."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa.roles import Permission
from spoa.store import audit
from spoa.store.audit import AuditEntry, AuditReport
from spoa.store.store import Store
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession
from ui.table_model import RowsModel

COLUMNS = ("Time", "User", "Role", "Action", "Record type", "Record id", "Outcome")
SHOWN_ENTRIES = 1000


def load_entries(store: Store) -> list[AuditEntry]:
    store.require(Permission.VERIFY_AUDIT)
    return audit.entries(store.db, limit=SHOWN_ENTRIES)


def local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def verdict(report: AuditReport) -> str:
    if report.intact:
        places = [check.place for check in report.anchors if check.anchor is not None]
        agreed = (f" It agrees with the record of the trail kept in {_listed(places)}." if places
                  else "")
        return (f"The audit trail is intact: all {report.count} entries check out; none was "
                f"changed, removed or reordered.{agreed}")
    found = []
    if not report.chain_intact:
        found.append(f"{report.problem}. The entries before entry {report.first_bad} are intact")
    found += [check.problem or "" for check in report.disagreeing]
    return (f"The audit trail does not check out: {'; '.join(found)}. Keep this store and its "
            "backups as they are and tell your information governance lead.")


def shown_heading(shown: int) -> str:
    """What the list holds: every entry, or the newest when there are more than it shows."""
    if shown >= SHOWN_ENTRIES:
        return (f"The newest {SHOWN_ENTRIES} entries of the audit trail, newest first; "
                "Verify checks every entry.")
    return f"All {shown} entr{'y' if shown == 1 else 'ies'} of the audit trail, newest first."


def _listed(places: list[str]) -> str:
    return places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]


class AuditTableModel(RowsModel):
    columns = COLUMNS

    def set_rows(self, rows: list[AuditEntry]) -> None:
        self.replace_rows(rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return None
        entry = self._rows[index.row()]
        return (local_time(entry.at), entry.username, entry.role, entry.action.replace("_", " "),
                entry.record_type, entry.record_id, entry.outcome)[index.column()]


class AuditPage(Page):
    key = "audit"
    title = "Audit"
    permission = Permission.VERIFY_AUDIT

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self.heading = heading = QLabel("The audit trail, newest first.")
        heading.setAccessibleName("About the audit trail")
        heading.setWordWrap(True)
        self.model = AuditTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Audit entries")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verify_button = QPushButton("&Verify the audit trail")
        self.verify_button.setAccessibleName("Verify the audit trail")
        self.verify_button.clicked.connect(self.verify)
        self.reload_button = QPushButton("&Reload")
        self.reload_button.setAccessibleName("Reload audit entries")
        self.reload_button.clicked.connect(self.refresh)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Verification result")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.reload_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.result)
        layout.addLayout(buttons)

    def refresh(self) -> None:
        self.session.call(load_entries, self._loaded)

    def _loaded(self, rows: list[AuditEntry]) -> None:
        self.model.set_rows(rows)
        self.heading.setText(shown_heading(len(rows)))

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.result.setText("Checking every entry…")

        def failed(exc: Exception) -> None:
            self.verify_button.setEnabled(True)
            self.result.setText("")
            show_problem(exc, "The audit trail could not be checked")

        self.session.call(lambda store: store.verify_audit(), self._verified, failed)

    def _verified(self, report: AuditReport) -> None:
        self.verify_button.setEnabled(True)
        self.result.setStyleSheet("" if report.intact else "color: #b00020; font-weight: bold;")
        self.result.setText(verdict(report))

    def clear(self) -> None:
        self.model.set_rows([])
        self.result.clear()
        self.verify_button.setEnabled(True)
