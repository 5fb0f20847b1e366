"""Conversion of an advice request into a referral, only where the requester authorised it:
record the requester's authorisation (with how they gave it), choose the route, urgency and
a service from those that take the child, and convert (spoa.advice.convert)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from spoa import advice
from spoa.advice import AdviceRequest, Conversion, ConversionChoices
from spoa.letters.directory import SERVICE_KINDS
from spoa.model import Urgency
from spoa.roles import Permission
from ui.session import DeskSession


class ConversionPanel(QGroupBox):
    """``changed(request_id)`` after the authorisation is recorded; ``converted(referral_id)``."""

    changed = Signal(str)
    converted = Signal(str)

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__("Conversion into a referral", parent)
        self.session = session
        self.request: AdviceRequest | None = None
        self.setAccessibleName("Conversion into a referral")
        self.authorised = QLabel()
        self.authorised.setWordWrap(True)
        self.authorised.setTextFormat(Qt.TextFormat.PlainText)
        self.authorised.setAccessibleName("Whether conversion is authorised")
        self.authorise_reason = QLineEdit()
        self.authorise_reason.setPlaceholderText("How the requester said so (e.g. phone call today)")
        self.authorise_reason.setAccessibleName("How the requester authorised conversion")
        self.authorise_button = QPushButton("Record the requester's &authorisation")
        self.authorise_button.setAccessibleName("Record that the requester authorised conversion")
        self.authorise_button.clicked.connect(self._authorise)

        self.route = QComboBox()
        self.route.setAccessibleName("Refer to which kind of service")
        for kind in SERVICE_KINDS:
            self.route.addItem(kind.label, kind.value)
        self.urgency = QComboBox()
        self.urgency.setAccessibleName("Urgency of the referral")
        for urgency in Urgency:
            self.urgency.addItem(urgency.label, urgency.value)
        self.urgency.setCurrentIndex(self.urgency.findData(Urgency.ROUTINE.value))
        self.find_button = QPushButton("&Find services")
        self.find_button.setAccessibleName("Find the services that take this child")
        self.find_button.clicked.connect(self._find)
        self.route.currentIndexChanged.connect(self._forget_matches)
        self.urgency.currentIndexChanged.connect(self._forget_matches)
        self.service = QComboBox()
        self.service.setAccessibleName("Service to refer to")
        self.matches_note = QLabel()
        self.matches_note.setWordWrap(True)
        self.matches_note.setTextFormat(Qt.TextFormat.PlainText)
        self.matches_note.setAccessibleName("Services found")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why the child is referred (needed when the triage outcome differs)")
        self.reason.setAccessibleName("Reason for the referral")
        self.convert_button = QPushButton("&Convert into a referral")
        self.convert_button.setAccessibleName("Convert into a referral")
        self.convert_button.clicked.connect(self._convert)

        authorise_row = QHBoxLayout()
        authorise_row.addWidget(self.authorise_reason, 1)
        authorise_row.addWidget(self.authorise_button)
        choose_row = QHBoxLayout()
        choose_row.addWidget(self.route)
        choose_row.addWidget(self.urgency)
        choose_row.addWidget(self.find_button)
        form = QFormLayout(self)
        form.addRow(self.authorised)
        form.addRow("Authorisation:", authorise_row)
        form.addRow("Route and urgency:", choose_row)
        form.addRow("Service:", self.service)
        form.addRow(self.matches_note)
        form.addRow("Reason:", self.reason)
        form.addRow(self.convert_button)
        self.show_request(None)

    # -- what may be done ------------------------------------------------------------------------

    def _why_not_convert(self) -> str:
        request = self.request
        if request is None:
            return "Select an advice request."
        if request.referral_id:
            return f"Already converted into referral {request.referral_id}."
        if not request.conversion_authorised:
            return ("The requester did not authorise conversion into a referral, so the request stays a "
                    "request for advice. Record their authorisation first if they give it.")
        for permission in (Permission.DRAFT_REFERRALS, Permission.RUN_TRIAGE):
            if not self.session.can(permission):
                return f"Your role cannot {permission.value}."
        return ""

    def _why_not_authorise(self) -> str:
        request = self.request
        if request is None:
            return "Select an advice request."
        if request.referral_id:
            return f"Already converted into referral {request.referral_id}."
        if request.conversion_authorised:
            return "The requester has authorised conversion."
        if not self.session.can(Permission.EDIT_CONTACTS):
            return f"Your role cannot {Permission.EDIT_CONTACTS.value}."
        return ""

    def show_request(self, request: AdviceRequest | None) -> None:
        self.request = request
        if request is None:
            self.authorised.clear()
        elif request.referral_id:
            self.authorised.setText(f"Converted into referral {request.referral_id} by "
                                    f"{request.converted_by}.")
        else:
            self.authorised.setText("The requester authorised conversion into a referral."
                                    if request.conversion_authorised else
                                    "The requester has NOT authorised conversion into a referral.")
        self.authorise_reason.clear()
        self.reason.clear()
        self._forget_matches()
        why_not = self._why_not_convert()
        for widget in (self.route, self.urgency, self.find_button, self.service, self.reason,
                       self.convert_button):
            widget.setEnabled(not why_not)
            widget.setToolTip(why_not)
        why_not_authorise = self._why_not_authorise()
        for widget in (self.authorise_reason, self.authorise_button):
            widget.setEnabled(not why_not_authorise)
            widget.setToolTip(why_not_authorise)

    # -- actions ---------------------------------------------------------------------------------

    def _authorise(self) -> None:
        request_id, reason = self.request.id, self.authorise_reason.text()
        self.session.call(lambda store: advice.authorise_conversion(store, request_id, reason),
                          lambda done: self.changed.emit(done.id))

    def _forget_matches(self, *_args) -> None:
        self.service.clear()
        self.matches_note.clear()

    def _find(self) -> None:
        request_id, route, urgency = self.request.id, self.route.currentData(), self.urgency.currentData()
        self.session.call(lambda store: advice.conversion_choices(store, request_id, route, urgency),
                          self._found)

    def _found(self, choices: ConversionChoices) -> None:
        if self.request is None or choices.request_id != self.request.id:
            return
        self.service.clear()
        for match in choices.matches:
            self.service.addItem(f"{match.service.name} ({match.service.id})", match.service.id)
            self.service.setItemData(self.service.count() - 1, "; ".join(match.reasons),
                                     Qt.ItemDataRole.ToolTipRole)
        self.matches_note.setText(choices.message)

    def _convert(self) -> None:
        service_id = self.service.currentData()
        if not service_id:
            self.matches_note.setText("Choose a service first: press 'Find services' and pick one.")
            return
        request_id, reason, urgency = self.request.id, self.reason.text(), self.urgency.currentData()
        self.session.call(lambda store: advice.convert(store, request_id, service_id, reason=reason,
                                                       urgency=urgency),
                          self._done)

    def _done(self, conversion: Conversion) -> None:
        self.changed.emit(conversion.request.id)
        self.converted.emit(conversion.referral.id)
