"""A new advice request as the requester put it: who asks, about which child, the question,
context, what has been tried, how soon, and whether it may become a referral. Each field is
checked by the core's own checks (spoa.advice, spoa.store.records), and the message is shown
under the field it names; nothing is stored until every check passes."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa import advice
from spoa.advice import AdviceDraft
from spoa.model import ReferrerType
from spoa.store import records
from spoa.store.records import ChildDraft, ContactDraft, InvalidField
from ui.advice.models import requester_label

_ERROR_STYLE = "color: #b00020;"
REQUESTER_FIELDS = (("referrer_type", "Requester type"), ("referrer_name", "Requester name"),
                    ("referrer_organisation", "Organisation"), ("referrer_contact", "Where the reply goes"))
REQUEST_FIELDS = (("question", "Question"), ("context", "Context"), ("tried", "What has been tried"),
                  ("how_soon", "How soon"), ("conversion_authorised", "Conversion"))
CHILD_FIELDS = (("given_name", "Given name"), ("family_name", "Family name"),
                ("date_of_birth", "Date of birth"), ("nhs_number", "NHS number"), ("postcode", "Postcode"),
                ("school", "School"), ("gp_practice", "GP practice"))
_MULTILINE = ("referrer_contact", "question", "context", "tried")
_CHOSEN = ("referrer_type", "how_soon", "conversion_authorised")  # not typed: chosen from a list
_VALID_CONTACT = ContactDraft(referrer_type="gp", kind="advice")
_VALID_CHILD = ChildDraft("Valid", "Valid")
_VALID_REQUEST = AdviceDraft(question="Valid")


class AdviceRequestForm(QWidget):
    """``submitted(draft, contact)`` once every field passes the core's checks."""

    submitted = Signal(object, object)  # AdviceDraft, ContactDraft
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("New advice request")
        self._checking = False  # after a first attempt, messages follow each change
        self.fields: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        heading = QLabel("<b>New advice request</b>")
        heading.setAccessibleName("New advice request heading")
        layout.addWidget(heading)
        layout.addWidget(self._group("The professional asking", REQUESTER_FIELDS))
        layout.addWidget(self._group("The child (name required; the rest if known)", CHILD_FIELDS))
        layout.addWidget(self._group("The request", REQUEST_FIELDS))
        self.save_button = QPushButton("&Record the request")
        self.save_button.setAccessibleName("Record the advice request")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.submit)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setAccessibleName("Cancel the new advice request")
        self.cancel_button.clicked.connect(self.cancelled)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet(_ERROR_STYLE)
        self.status.setAccessibleName("New advice request status")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def _group(self, title: str, fields) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for name, label_text in fields:
            widget = self._make_field(name)
            widget.setAccessibleName(label_text)
            error = QLabel()
            error.setStyleSheet(_ERROR_STYLE)
            error.setTextFormat(Qt.TextFormat.PlainText)
            error.setWordWrap(True)
            error.setAccessibleName(f"{label_text} problem")
            error.hide()
            self.fields[name], self.errors[name] = widget, error
            column = QVBoxLayout()
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(widget)
            column.addWidget(error)
            label = QLabel(label_text + ":")
            label.setBuddy(widget)
            form.addRow(label, column)
        return box

    def _make_field(self, name: str) -> QWidget:
        if name == "referrer_type":
            combo = QComboBox()
            # Every kind of referrer is offered; the core says which may ask for advice.
            for kind in ReferrerType:
                combo.addItem(requester_label(kind), kind.value)
            combo.currentIndexChanged.connect(self._edited)
            return combo
        if name == "how_soon":
            combo = QComboBox()
            for value, label in advice.HOW_SOON.items():
                combo.addItem(label, value)
            combo.setCurrentIndex(combo.findData("routine"))
            combo.currentIndexChanged.connect(self._edited)
            return combo
        if name == "conversion_authorised":
            check = QCheckBox("The requester authorised converting this into a referral if one is needed")
            check.toggled.connect(self._edited)
            return check
        if name in _MULTILINE:
            text = QPlainTextEdit()
            text.setTabChangesFocus(True)
            text.setFixedHeight(90 if name == "question" else 60)
            text.textChanged.connect(self._edited)
            return text
        line = QLineEdit()
        if name == "date_of_birth":
            line.setPlaceholderText("YYYY-MM-DD or DD/MM/YYYY")
        line.textChanged.connect(self._edited)
        return line

    # -- values ------------------------------------------------------------------------------

    def text(self, name: str) -> str:
        widget = self.fields[name]
        return widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()

    def drafts(self) -> tuple[AdviceDraft, ContactDraft]:
        child = ChildDraft(**{name: self.text(name) for name, _ in CHILD_FIELDS})
        contact = ContactDraft(
            referrer_type=self.fields["referrer_type"].currentData(), child=child,
            referrer_name=self.text("referrer_name"),
            referrer_organisation=self.text("referrer_organisation"),
            referrer_contact=self.text("referrer_contact"), kind="advice")
        draft = AdviceDraft(question=self.text("question"), context=self.text("context"),
                            tried=self.text("tried"), how_soon=self.fields["how_soon"].currentData(),
                            conversion_authorised=self.fields["conversion_authorised"].isChecked())
        return draft, contact

    # -- what was typed, kept across a lock (spoa.drafts) ---------------------------------------

    def typed_values(self) -> dict[str, str]:
        """Every field as text, by the names spoa.drafts keeps for an advice request."""
        values = {name: self.text(name) for name in self.fields if name not in _CHOSEN}
        values["referrer_type"] = self.fields["referrer_type"].currentData() or ""
        values["how_soon"] = self.fields["how_soon"].currentData() or ""
        values["conversion_authorised"] = "yes" if self.fields["conversion_authorised"].isChecked() else ""
        return values

    def has_typing(self) -> bool:
        """Whether anything differs from an empty form (worth keeping when the desk locks)."""
        if any(self.text(name).strip() for name in self.fields if name not in _CHOSEN):
            return True
        return (self.fields["referrer_type"].currentIndex() != 0
                or self.fields["how_soon"].currentData() != "routine"
                or self.fields["conversion_authorised"].isChecked())

    def fill(self, values: dict[str, str]) -> None:
        """Put kept values back (after an unlock); fields not named stay as they are."""
        for name, value in values.items():
            widget = self.fields.get(name)
            if widget is None:
                continue
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                index = widget.findData(value)
                if index >= 0:
                    widget.setCurrentIndex(index)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(value == "yes")
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(value)
            else:
                widget.setText(value)
            widget.blockSignals(False)

    # -- checking ----------------------------------------------------------------------------

    def check(self) -> tuple[AdviceDraft, ContactDraft] | None:
        """Run the core's checks; show each message under its field; the drafts if all pass."""
        self._checking = True
        draft, contact = self.drafts()
        problems: dict[str, str] = {}
        # Each field is put alone into an otherwise valid draft, so every field's message
        # shows at once (the core's checks stop at the first problem).
        checks = [("referrer_type", lambda: advice.check_requester(contact.referrer_type))]
        checks += [(name, lambda name=name: records.contact_row(
            replace(_VALID_CONTACT, **{name: getattr(contact, name)})))
            for name, _ in REQUESTER_FIELDS[1:]]
        checks += [(name, lambda name=name: records.child_row(
            replace(_VALID_CHILD, **{name: getattr(contact.child, name)}))) for name, _ in CHILD_FIELDS]
        checks += [(name, lambda name=name: advice.check_request(
            replace(_VALID_REQUEST, **{name: getattr(draft, name)}))) for name, _ in REQUEST_FIELDS]
        for name, check in checks:
            try:
                check()
            except InvalidField as exc:
                problems[name] = exc.problem
        for name, label in self.errors.items():
            label.setText(problems.get(name, ""))
            label.setVisible(name in problems)
        self.status.setText("Not recorded yet: correct the fields marked." if problems else "")
        return None if problems else (draft, contact)

    def problem_texts(self) -> dict[str, str]:
        return {name: label.text() for name, label in self.errors.items() if label.text()}

    def submit(self) -> None:
        checked = self.check()
        if checked is not None:
            self.submitted.emit(*checked)

    def _edited(self, *_args) -> None:
        if self._checking:
            self.check()

    def reset(self) -> None:
        """Empty every field (after recording, on cancel and when the desk locks)."""
        self._checking = False
        for name, widget in self.fields.items():
            widget.blockSignals(True)
            if isinstance(widget, (QLineEdit, QPlainTextEdit)):
                widget.clear()
            elif isinstance(widget, QCheckBox):
                widget.setChecked(False)
            elif name == "how_soon":
                widget.setCurrentIndex(widget.findData("routine"))
            else:
                widget.setCurrentIndex(0)
            widget.blockSignals(False)
        for label in self.errors.values():
            label.clear()
            label.hide()
        self.status.clear()
