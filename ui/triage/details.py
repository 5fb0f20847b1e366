"""Who is calling and about which child: checked as the user types or leaves a field (by
spoa.call, which never repeats what was typed in a message), with the child's age worked
out from the date of birth, the child's parents or carers (the same fields as a contact
file's), consent, and the rule module suggested for this child and caller (the user may
choose another)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from spoa import call
from spoa.model import ReferrerType
from spoa.rules.module import RuleModule
from spoa.store.records import Child, Contact
from ui.triage.carers import CarersSection

_PROBLEM = "color: #b00020;"
_NOTE = "color: #1f5d2c;"
# Fields checked on every keystroke; the rest (whose half-typed form is wrong) on leaving.
_CHECK_WHILE_TYPING = {"given_name", "family_name", "referrer_name", "referrer_organisation",
                       "referrer_contact", "address", "school", "gp_practice"}


class LinesEdit(QPlainTextEdit):
    """Text of several lines (an address), read and set like a QLineEdit; Tab moves on."""

    def __init__(self, lines: int = 4, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 12)

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:  # QLineEdit's name, so the form treats both alike
        self.setPlainText(text)


_TEXT_FIELDS = (QLineEdit, LinesEdit)


def _message_label(name: str) -> QLabel:
    label = QLabel("")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.hide()
    return label


class CallDetailsForm(QWidget):
    changed = Signal()  # any field changed (the page enables "Start the call")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fields: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self.touched: set[str] = set()
        self.modules: list[RuleModule] = []
        self._chosen_by_user = False
        self._filling = False
        layout = QVBoxLayout(self)

        caller = QGroupBox("Who is calling")
        caller_form = QFormLayout(caller)
        referrer = QComboBox()
        referrer.addItem("Choose…", "")
        for kind in ReferrerType:
            referrer.addItem(call.REFERRER_LABELS[kind], kind.value)
        self._add(caller_form, "referrer_type", referrer)
        for name in ("referrer_name", "referrer_organisation", "referrer_contact"):
            self._add(caller_form, name, QLineEdit())
        self.asking_for_advice = QCheckBox("The caller is a professional asking what to do "
                                           "(an &advice request)")
        self.asking_for_advice.setAccessibleName("The caller is a professional asking for advice")
        self.asking_for_advice.setVisible(False)
        self.asking_for_advice.toggled.connect(lambda _on: self.suggest())
        caller_form.addRow("", self.asking_for_advice)
        referrer.currentIndexChanged.connect(self._referrer_changed)
        layout.addWidget(caller)

        child = QGroupBox("The child or young person")
        child_form = QFormLayout(child)
        for name in ("given_name", "family_name", "date_of_birth", "nhs_number", "address", "postcode",
                     "school", "gp_practice"):
            edit = LinesEdit() if name == "address" else QLineEdit()
            if name == "date_of_birth":
                edit.setPlaceholderText("DD/MM/YYYY")
            if name == "nhs_number":
                edit.setPlaceholderText("10 digits")
            self._add(child_form, name, edit)
        self.carers = CarersSection()
        self.carers.before = self.fields["gp_practice"]
        self.carers.changed.connect(self.changed)
        child_form.addRow(self.carers)
        layout.addWidget(child)

        consent = QGroupBox("Consent")
        consent_form = QFormLayout(consent)
        self.consent_status = QComboBox()
        for value, label in call.CONSENT_STATUSES.items():
            self.consent_status.addItem(label, value)
        self.consent_status.setCurrentIndex(list(call.CONSENT_STATUSES).index("not_asked"))
        self.consent_status.setAccessibleName("Consent to a referral")
        consent_form.addRow("Consent to a referral", self.consent_status)
        self.consent_by = QComboBox()
        for value, label in call.CONSENT_BY.items():
            self.consent_by.addItem(label, value)
        self.consent_by.setAccessibleName("Consent given by")
        consent_form.addRow("Given by", self.consent_by)
        self.consent_notes = QLineEdit()
        self.consent_notes.setAccessibleName("Notes on consent")
        consent_form.addRow("Notes", self.consent_notes)
        layout.addWidget(consent)

        module_box = QGroupBox("Triage module")
        module_layout = QVBoxLayout(module_box)
        self.module = QComboBox()
        self.module.setAccessibleName("Triage module")
        self.module.activated.connect(self._module_chosen)
        module_layout.addWidget(self.module)
        self.suggestion = _message_label("Suggested module")
        module_layout.addWidget(self.suggestion)
        layout.addWidget(module_box)
        layout.addStretch(1)
        QApplication.instance().focusChanged.connect(self._focus_moved)

    def _add(self, form: QFormLayout, name: str, widget: QWidget) -> None:
        label, required = call.DETAIL_FIELDS[name]
        shown = label + (" *" if required else "")
        widget.setAccessibleName(label + (" (required)" if required else ""))
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(widget)
        message = _message_label(f"{label}: check")
        column.addWidget(message)
        form.addRow(shown, box)
        self.fields[name] = widget
        self.messages[name] = message
        if isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda _i, n=name: self._edited(n, leaving=True))
        else:  # a QPlainTextEdit's textChanged carries no text
            widget.textChanged.connect(lambda *_t, n=name: self._edited(n, leaving=False))

    # -- values -----------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        out = {}
        for name, widget in self.fields.items():
            out[name] = widget.currentData() if isinstance(widget, QComboBox) else widget.text()
        return out

    def consent(self) -> dict[str, str]:
        return {"status": self.consent_status.currentData(), "given_by": self.consent_by.currentData(),
                "notes": self.consent_notes.text().strip()}

    def chosen_module(self) -> RuleModule | None:
        module_id = self.module.currentData()
        return next((m for m in self.modules if m.id == module_id), None)

    # -- what was typed, kept across a lock (spoa.drafts) ---------------------------------------

    def typed_values(self) -> dict[str, str]:
        """Every field as text, by the names spoa.drafts keeps for a call's details."""
        values = {name: value or "" for name, value in self.values().items()}
        consent = self.consent()
        values.update(consent_status=consent["status"] or "", consent_by=consent["given_by"] or "",
                      consent_notes=self.consent_notes.text())
        values["carers"] = call.carers_as_text(self.carers.carers())
        if self._chosen_by_user:
            values["module_id"] = self.module.currentData() or ""
        return values

    def has_typing(self) -> bool:
        """Whether anything differs from an empty form (worth keeping when the desk locks)."""
        if any(isinstance(w, _TEXT_FIELDS) and w.text().strip() for w in self.fields.values()):
            return True
        if self.carers.has_typing():
            return True
        return bool(self.fields["referrer_type"].currentData() or self.consent_notes.text().strip()
                    or self.consent_status.currentData() != "not_asked" or self.consent_by.currentIndex() != 0
                    or self._chosen_by_user)

    def fill(self, values: dict[str, str]) -> None:
        """Put kept values back (after an unlock), check what was filled and suggest the module."""
        self._filling = True
        try:
            for name, value in values.items():
                widget = self.fields.get(name) or {"consent_status": self.consent_status,
                                                   "consent_by": self.consent_by,
                                                   "consent_notes": self.consent_notes}.get(name)
                if isinstance(widget, QComboBox):
                    index = widget.findData(value)
                    if index >= 0:
                        widget.setCurrentIndex(index)
                elif isinstance(widget, _TEXT_FIELDS):
                    widget.setText(value)
            if values.get("carers"):
                self.carers.set_carers(call.carers_from_text(values["carers"]))
        finally:
            self._filling = False
        for name in self.fields:
            if values.get(name):
                self.touched.add(name)
                self.show_check(name)
        self.suggest()
        module = self.module.findData(values.get("module_id", ""))
        if values.get("module_id") and module >= 0:
            self.module.setCurrentIndex(module)
            self._chosen_by_user = True
        self.changed.emit()

    # -- checking ------------------------------------------------------------------------------

    def _focus_moved(self, old: QWidget | None, _now: QWidget | None) -> None:
        """Leaving a field checks it (half-typed dates and numbers are not judged before)."""
        name = next((n for n, w in self.fields.items() if w is old), None)
        if name is not None and not self._filling:
            self._edited(name, leaving=True)

    def _edited(self, name: str, *, leaving: bool) -> None:
        if self._filling:
            return
        if leaving or name in _CHECK_WHILE_TYPING or self.messages[name].isVisibleTo(self):
            self.touched.add(name)
            self.show_check(name)
        if name in ("date_of_birth", "referrer_type"):
            self.suggest()
        self.changed.emit()

    def show_check(self, name: str, *, today: date | None = None) -> call.FieldCheck:
        checked = call.check_field(name, self.values()[name], today=today)
        label = self.messages[name]
        text = checked.problem or checked.note
        label.setText(text)
        label.setStyleSheet(_PROBLEM if checked.problem else _NOTE)
        label.setVisible(bool(text) and name in self.touched)
        return checked

    def check_all(self) -> list[tuple[QWidget, str]]:
        """Check every field and each parent or carer and show every problem; returns the
        fields that are wrong with what to put right, in the order on screen."""
        wrong = []
        for name in self.fields:
            self.touched.add(name)
            if self.show_check(name).problem:
                wrong.append((self.fields[name], call.DETAIL_FIELDS[name][0]))
        wrong.extend(self.carers.check_all())
        return wrong

    def problem_text(self, name: str) -> str:
        label = self.messages[name]
        return label.text() if label.isVisibleTo(self) and label.styleSheet() == _PROBLEM else ""

    # -- modules ---------------------------------------------------------------------------------

    def set_modules(self, modules: list[RuleModule]) -> None:
        self.modules = sorted(modules, key=lambda m: m.title.lower())
        self.module.clear()
        for module in self.modules:
            draft = "" if module.sign_off.approved else " — draft, not signed off"
            self.module.addItem(f"{module.title} ({module.version}){draft}", module.id)
        self._chosen_by_user = False
        self.suggest()

    def suggest(self) -> None:
        if not self.modules:
            return
        values = self.values()
        suggestion = call.suggest_module(self.modules, child_age=call.child_age(values["date_of_birth"]),
                                         referrer=values["referrer_type"] or None,
                                         asking_for_advice=self.asking_for_advice.isChecked())
        self.suggestion.setText(suggestion.why)
        self.suggestion.setVisible(True)
        if suggestion.suggested is not None and not self._chosen_by_user:
            self.module.setCurrentIndex(self.module.findData(suggestion.suggested.id))

    def _referrer_changed(self, _index: int) -> None:
        kind = self.fields["referrer_type"].currentData()
        professional = bool(kind) and ReferrerType(kind) in call.PROFESSIONAL_CALLERS
        self.asking_for_advice.setVisible(professional)
        if not professional:
            self.asking_for_advice.setChecked(False)

    def _module_chosen(self, _index: int) -> None:
        self._chosen_by_user = True
        self.changed.emit()

    # -- showing a stored contact ------------------------------------------------------------------

    def show_contact(self, contact: Contact, child: Child) -> None:
        """Fill the form from a stored call (read only: changes go through the contact's page)."""
        self._filling = True
        try:
            values = {
                "referrer_name": contact.referrer_name,
                "referrer_organisation": contact.referrer_organisation,
                "referrer_contact": contact.referrer_contact, "given_name": child.given_name,
                "family_name": child.family_name,
                "date_of_birth": child.date_of_birth.strftime("%d/%m/%Y") if child.date_of_birth else "",
                "nhs_number": child.nhs_number or "", "address": child.address, "postcode": child.postcode,
                "school": child.school, "gp_practice": child.gp_practice,
            }
            for name, text in values.items():
                self.fields[name].setText(text)
            self.carers.set_carers([{"name": c.name, "relationship": c.relationship, "phone": c.phone}
                                    for c in child.carers])
            referrer = self.fields["referrer_type"]
            referrer.setCurrentIndex(referrer.findData(contact.referrer_type.value))
            consent = contact.consent or {}
            status = self.consent_status.findData(consent.get("status", ""))
            self.consent_status.setCurrentIndex(max(0, status))
            self.consent_by.setCurrentIndex(max(0, self.consent_by.findData(consent.get("given_by", ""))))
            self.consent_notes.setText(str(consent.get("notes", "")))
        finally:
            self._filling = False

    def set_read_only(self, read_only: bool) -> None:
        for widget in (*self.fields.values(), self.consent_status, self.consent_by, self.consent_notes,
                       self.module):
            widget.setEnabled(not read_only)
        self.carers.set_read_only(read_only)

    def clear(self) -> None:
        self._filling = True
        try:
            for widget in self.fields.values():
                if isinstance(widget, QComboBox):
                    widget.setCurrentIndex(0)
                else:
                    widget.clear()
            for label in self.messages.values():
                label.clear()
                label.hide()
            self.consent_status.setCurrentIndex(list(call.CONSENT_STATUSES).index("not_asked"))
            self.consent_by.setCurrentIndex(0)
            self.consent_notes.clear()
            self.carers.set_carers([])
            self.asking_for_advice.setChecked(False)
            self.touched.clear()
            self._chosen_by_user = False
        finally:
            self._filling = False
        self.set_read_only(False)
        self.suggest()
