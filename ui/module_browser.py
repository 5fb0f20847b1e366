"""The rule-module browser: every module, where it came from, whether it loads, and
whether its vignettes pass."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa.rules.catalog import ModuleSurvey, discover, survey
from ui.table_model import RowsModel
from ui.tasks import BackgroundTasks

COLUMNS = ("Module", "Version", "Title", "Source", "Status", "Vignettes")
_BROKEN = QColor("#b00020")
_ATTENTION = QColor("#8a5a00")


class ModuleTableModel(RowsModel):
    columns = COLUMNS

    def set_rows(self, rows: list[ModuleSurvey]) -> None:
        self.replace_rows(rows)

    def row_at(self, row: int) -> ModuleSurvey:
        return self._rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        item = self.row_for(index)
        if item is None:
            return None
        listing = item.listing
        module = listing.module
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == 0:
                return listing.id
            if column == 1:
                return module.version if module else "—"
            if column == 2:
                return module.title if module else listing.problems[0].message if listing.problems else ""
            if column == 3:
                return listing.source
            if column == 4:
                return listing.status
            if column == 5:
                return item.vignette_summary
        if role == Qt.ItemDataRole.ForegroundRole:
            if not listing.ok or (column == 5 and not item.all_passed):
                return QBrush(_BROKEN)
            if column == 4 and not module.sign_off.approved:
                return QBrush(_ATTENTION)
        if role == Qt.ItemDataRole.ToolTipRole and not listing.ok:
            return listing.error
        return None


class ModuleBrowser(QWidget):
    """Table of modules above, the selected module's details and problems below."""

    def __init__(self, parent=None, load=None):
        super().__init__(parent)
        self._load = load or (lambda: survey(discover()))
        self.tasks = BackgroundTasks(self)
        self.setObjectName("moduleBrowser")
        self.setAccessibleName("Rule module browser")

        self.summary = QLabel("Loading rule modules…")
        self.summary.setAccessibleName("Module summary")
        self.summary.setWordWrap(True)
        self.reload_button = QPushButton("&Reload modules")
        self.reload_button.setAccessibleName("Reload modules")
        self.reload_button.clicked.connect(self.reload)

        self.model = ModuleTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Rule modules")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)

        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Module details")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.reload_button, 0, Qt.AlignmentFlag.AlignRight)

    def reload(self) -> None:
        self.reload_button.setEnabled(False)
        self.summary.setText("Loading rule modules…")
        self.tasks.run(self._load, self._loaded, self._failed)

    def _loaded(self, rows: list[ModuleSurvey]) -> None:
        self.model.set_rows(rows)
        self.reload_button.setEnabled(True)
        broken = sum(1 for r in rows if not r.listing.ok)
        failing = sum(1 for r in rows if r.listing.ok and not r.all_passed)
        drafts = sum(1 for r in rows if r.listing.ok and not r.listing.module.sign_off.approved)
        parts = [f"{len(rows)} modules", f"{broken} broken", f"{failing} with failing vignettes"]
        text = ", ".join(parts) + "."
        if drafts:
            text += (f" {drafts} are example content awaiting local clinical sign-off: "
                     "do not use them for live decisions until your clinical lead approves them.")
        self.summary.setText(text)
        self.table.resizeColumnsToContents()
        if rows:
            self.table.selectRow(0)

    def _failed(self, exc: Exception) -> None:
        self.reload_button.setEnabled(True)
        self.summary.setText("The rule modules could not be listed. Try 'Reload'; if it happens "
                             "again, run 'spoa rules check' and report what it prints.")

    def _show_details(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.clear()
            return
        self.details.setPlainText(describe(self.model.row_at(current.row())))


def describe(item: ModuleSurvey) -> str:
    listing = item.listing
    lines = [f"Folder: {listing.folder}", f"Source: {listing.source}"]
    if not listing.ok:
        lines += ["", "This module is broken and cannot be used:", *map(str, listing.problems)]
        return "\n".join(lines)
    m = listing.module
    lines += [
        f"{m.title} — version {m.version}",
        m.description,
        f"Follows: {m.scale} ({m.scale_version})",
        f"Ages {m.age_min}–{m.age_max}; author: {m.author}",
        f"Clinical sign-off: {m.sign_off.status.value}"
        + (f" by {m.sign_off.by} on {m.sign_off.on}" if m.sign_off.approved else ""),
    ]
    if m.sign_off.note:
        lines.append(f"  {m.sign_off.note}")
    question_count = len(m.questions)
    lines += [
        f"{len(m.sections)} sections, {question_count} questions, {len(m.scores)} scores, "
        f"{len(m.flags)} risk flags, {len(m.outcomes)} outcome rules",
        f"Content hash: {m.content_hash}",
        "",
        f"Vignettes: {item.vignette_summary}",
    ]
    lines += [result.describe() for result in item.results]
    lines += [f"NOT COVERED: {gap}" for gap in item.gaps]
    return "\n".join(lines)
