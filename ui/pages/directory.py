"""The Directory page: the services referrals go to, filtered by kind and text; for
administrators an editor for one service, deactivation, CSV import (every bad row shown
first, nothing imported from a file with errors unless the bad rows are skipped, as
``spoa directory import --skip-bad``) and CSV export. Everyone who may read the directory
sees it; others see it read-only, the buttons disabled with the reason."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spoa.letters import directory
from spoa.letters.directory import DirectoryFile, ImportResult, Service, ServiceRejected
from spoa.roles import Permission
from spoa.store.keyslots import write_atomically
from ui.directory_form import ImportReview, ServiceForm
from ui.directory_models import ServiceFilter, ServiceTableModel
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession


class CsvFiles:
    """Where a CSV file comes from or goes; tests replace these classmethods."""

    @classmethod
    def choose_import(cls, parent: QWidget | None) -> Path | None:
        path, _ = QFileDialog.getOpenFileName(parent, "Import services from CSV", "", "CSV files (*.csv)")
        return Path(path) if path else None

    @classmethod
    def choose_export(cls, parent: QWidget | None) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(parent, "Export the directory as CSV", "directory.csv",
                                              "CSV files (*.csv)")
        return Path(path) if path else None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


class DirectoryPage(Page):
    key = "directory"
    title = "Directory"
    permission = None  # anyone who may see records or manage the directory reads it (require_view)

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._wanted_id: str | None = None
        self.model = ServiceTableModel(self)
        self.proxy = ServiceFilter(self)
        self.proxy.setSourceModel(self.model)

        self.kind_filter = QComboBox()
        self.kind_filter.setAccessibleName("Kind of service shown")
        self.kind_filter.addItem("All kinds", None)
        for kind in directory.SERVICE_KINDS:
            self.kind_filter.addItem(kind.label, kind.value)
        self.kind_filter.currentIndexChanged.connect(
            lambda _i: self.proxy.set_kind(self.kind_filter.currentData()))
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by name, team, area…")
        self.text_filter.setAccessibleName("Filter services")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(self.proxy.set_text)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Services")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the core's order: kind, then name
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.selectionModel().currentRowChanged.connect(self._selected)

        self.form = ServiceForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        holder = QWidget()  # the form at its natural height, the space below it empty
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(self.form)
        holder_layout.addStretch(1)
        scroll.setWidget(holder)
        scroll.setAccessibleName("Service details")

        self.new_button = self._button("&New service", self._new)
        self.save_button = self._button("&Save service", self._save)
        self.active_button = self._button("&Deactivate", self._toggle_active)
        self.active_button.setAccessibleName("Deactivate or reactivate the service")
        self.import_button = self._button("&Import CSV…", self._choose_import)
        self.export_button = self._button("E&xport CSV…", self._export)
        self.manage_buttons = (self.new_button, self.save_button, self.active_button, self.import_button,
                               self.export_button)

        self.review = ImportReview()
        self.review.hide()
        self.review.import_requested.connect(self._import)
        self.review.cancelled.connect(self._cancel_import)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # names come from the directory file
        self.status.setAccessibleName("Directory status")

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Kind:"))
        filters.addWidget(self.kind_filter)
        filters.addWidget(self.text_filter, 1)
        filters.addWidget(self.import_button)
        filters.addWidget(self.export_button)
        form_buttons = QHBoxLayout()
        for button in (self.new_button, self.active_button, self.save_button):
            form_buttons.addWidget(button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(scroll)
        right_layout.addLayout(form_buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([700, 500])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.review)
        layout.addWidget(self.status)
        self._apply_role()

    def _button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.clicked.connect(slot)
        return button

    # -- who may change it ---------------------------------------------------------------------

    @property
    def can_manage(self) -> bool:
        return self.session.can(Permission.MANAGE_DIRECTORY)

    def _apply_role(self) -> None:
        why_not = "" if self.can_manage else f"Your role cannot {Permission.MANAGE_DIRECTORY.value}."
        for button in self.manage_buttons:
            button.setEnabled(self.can_manage)
            button.setToolTip(why_not)
        self.form.set_editable(self.can_manage, why_not)
        self._update_active_button()

    def _update_active_button(self) -> None:
        service = self._current()
        self.active_button.setText("&Reactivate" if service is not None and not service.active
                                   else "&Deactivate")
        self.active_button.setEnabled(self.can_manage and service is not None)

    # -- the list ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._apply_role()
        if not self.session.is_unlocked:
            return
        self.session.call(lambda store: directory.list_services(store), self._listed)

    def _listed(self, services: list[Service]) -> None:
        chosen = self._wanted_id or (self.form.editing_id if self.form.editing_id else None)
        self.model.set_services(services)
        self._wanted_id = None
        if chosen:
            self.select(chosen)
        self._update_active_button()

    def select(self, service_id: str) -> bool:
        row = self.model.row_of(service_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():  # filtered out: show it anyway
            self.kind_filter.setCurrentIndex(0)
            self.text_filter.clear()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectRow(index.row())
        self.table.setCurrentIndex(index)
        self.form.load(self.model.service_at(row))
        return True

    def _current(self) -> Service | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.service_at(self.proxy.mapToSource(index).row())

    def _selected(self, current, _previous) -> None:
        if current.isValid():
            self.form.load(self.model.service_at(self.proxy.mapToSource(current).row()))
        self._update_active_button()

    # -- editing one service -------------------------------------------------------------------

    def _new(self) -> None:
        self.table.clearSelection()
        self.table.setCurrentIndex(self.proxy.index(-1, -1))
        self.form.load(None)
        self.form.fields["id"].setFocus()
        self._update_active_button()

    def _save(self) -> None:
        service = self.form.check()
        if service is None:
            self.status.setText("The service was not saved: correct the fields marked.")
            return
        new = self.form.editing_id is None

        def failed(exc: Exception) -> None:
            if isinstance(exc, ServiceRejected):
                self.form.show_problems(exc.problems)
            show_problem(exc, "The service was not saved")

        self.session.call(lambda store: directory.save_service(store, service, new=new),
                          self._saved, failed)

    def _saved(self, service: Service) -> None:
        self.status.setText(f"Saved {service.name} ({service.id}).")
        self._wanted_id = service.id
        self.form.editing_id = service.id
        self.refresh()

    def _toggle_active(self) -> None:
        service = self._current()
        if service is None:
            return
        self.session.call(lambda store: directory.set_active(store, service.id, not service.active),
                          self._activity_changed)

    def _activity_changed(self, service: Service) -> None:
        state = "active: it takes new referrals" if service.active else \
            "inactive: it takes no new referrals"
        self.status.setText(f"{service.name} is now {state}.")
        self._wanted_id = service.id
        self.refresh()

    # -- import and export ---------------------------------------------------------------------

    def _choose_import(self) -> None:
        path = CsvFiles.choose_import(self)
        if path is None:
            return
        self.status.setText(f"Checking {path.name}…")
        self.session.run(lambda: directory.read_directory_file(path), self._file_read,
                         lambda exc: (self.status.clear(), show_problem(exc, "The file cannot be imported")))

    def _file_read(self, checked: DirectoryFile) -> None:
        self.status.clear()
        self.review.review(checked)
        self.review.import_button.setFocus()

    def _import(self) -> None:
        checked = self.review.checked
        if checked is None:
            return
        skip_bad = bool(checked.problems)  # the user chose to skip them by pressing this button
        self.session.call(lambda store: directory.import_services(store, checked, skip_bad=skip_bad),
                          lambda result: self._imported(checked, result))

    def _imported(self, checked: DirectoryFile, result: ImportResult) -> None:
        self.review.dismiss()
        text = (f"Imported {_plural(result.imported, 'service')} from {checked.source}: "
                f"{len(result.added)} added, {len(result.updated)} updated, "
                f"{len(result.unchanged)} unchanged.")
        if result.skipped:
            text += f" Skipped {_plural(len(checked.bad_lines), 'bad row')}."
        self.status.setText(text)
        self.refresh()

    def _cancel_import(self) -> None:
        source = self.review.checked.source if self.review.checked else "the file"
        self.review.dismiss()
        self.status.setText(f"Nothing was imported from {source}.")

    def _export(self) -> None:
        path = CsvFiles.choose_export(self)
        if path is None:
            return

        def write(export: directory.DirectoryExport) -> None:
            # With a byte order mark, as spreadsheets expect of UTF-8 CSV (as the CLI writes it).
            self.session.run(lambda: write_atomically(path, export.text.encode("utf-8-sig")),
                             lambda _: self.status.setText(
                                 f"Exported {_plural(export.count, 'service')} to {path}."),
                             lambda exc: show_problem(exc, "The directory was not exported"))

        self.session.call(directory.export_services, write)

    # -- page life -----------------------------------------------------------------------------

    def clear(self) -> None:
        self.model.set_services([])
        self.form.load(None)
        self.review.dismiss()
        self.status.clear()
        self._wanted_id = None

    def state(self) -> dict:
        service = self._current()
        return {"service_id": service.id} if service else {}

    def restore(self, state: dict) -> None:
        self._wanted_id = state.get("service_id")
        if self._wanted_id and self.select(self._wanted_id):
            self._wanted_id = None
