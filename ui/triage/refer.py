"""After the decision: the service to refer to (the routing matches, best first; with no
match, the reason and the route's services to choose from), then the referral created and
submitted for a supervisor's approval. An emergency or very urgent referral may also be
sent now, before review, to the desk's outbox folder (spoa.letters.outbox.send_referral);
the supervisor reviews it afterwards. Approving is not done here: it is a supervisor's
step on the approval page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spoa import call
from spoa.letters import directory, outbox, referrals
from spoa.letters.outbox import FolderTransport, OutboxState
from spoa.letters.referrals import EARLY_SEND_URGENCIES, Referral, ReferralState
from spoa.settings import DeskSettings, SettingsProblem
from spoa.store.records import TriageRecord
from ui.problems import show_problem, user_message
from ui.session import DeskSession
from ui.triage import while_alive

NO_OUTBOX_FOLDER = ("No outbox folder is set on this desk, so there is nowhere to save the letter yet. "
                    "Choose the folder to save it in (for example the secure shared drive); a "
                    "supervisor sets it for good on the Outbox page, under Where letters go.")


class FolderChoice:
    @classmethod
    def ask(cls, parent: QWidget | None, message: str) -> Path | None:
        """Tests replace this classmethod. None: the user chose no folder."""
        QMessageBox.information(parent, "Choose where the letter goes", message)
        chosen = QFileDialog.getExistingDirectory(parent, "Folder for the letter")
        return Path(chosen) if chosen else None


def _label(name: str) -> QLabel:
    label = QLabel("")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    return label


class ReferralPanel(QGroupBox):
    changed = Signal()  # what can be done now changed (the call page mirrors send-now by its banner)

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__("Referral", parent)
        self.session = session
        self.setAccessibleName("Referral")
        layout = QVBoxLayout(self)
        self.message = _label("Services that take this referral")
        layout.addWidget(self.message)
        self.services = QListWidget()
        self.services.setAccessibleName("Service to refer to")
        self.services.currentItemChanged.connect(lambda *_: self._buttons())
        layout.addWidget(self.services)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why the child is referred (in the letter)")
        self.reason.setAccessibleName("Why the child is referred")
        layout.addWidget(self.reason)
        buttons = QHBoxLayout()
        self.submit_button = QPushButton("Create referral and submit for approval")
        self.submit_button.setAccessibleName("Create referral and submit for approval")
        self.submit_button.clicked.connect(self.submit)
        self.send_now_button = QPushButton("Send now, before supervisor review")
        self.send_now_button.setAccessibleName("Send now, before supervisor review")
        self.send_now_button.setToolTip("Emergency and very urgent referrals only: the letter leaves now "
                                        "and says a supervisor has not reviewed it yet.")
        self.send_now_button.clicked.connect(self.send_now)
        buttons.addWidget(self.submit_button)
        buttons.addWidget(self.send_now_button)
        layout.addLayout(buttons)
        self.status = _label("Referral status")
        layout.addWidget(self.status)
        self.clear()

    def _call(self, fn, on_success, on_failure) -> None:
        self.session.call(fn, while_alive(self, on_success), while_alive(self, on_failure))

    # -- state ---------------------------------------------------------------------------------

    def clear(self) -> None:
        self.record: TriageRecord | None = None
        self.referral: Referral | None = None
        self.services.clear()
        self.services.setEnabled(True)
        self.reason.clear()
        self.reason.setReadOnly(False)
        self.message.setText("")
        self.status.setText("")
        self.hide()

    def start(self, record: TriageRecord) -> None:
        """The call was decided: find the services that could take it."""
        self.clear()
        self.record = record
        self.show()
        self.message.setText("Finding the services that take this referral…")
        self._buttons()
        session_id = record.id

        def choices(store):
            existing = call.referrals_of_session(store, session_id)
            found = referrals.service_choices(store, session_id)
            others = ([] if found.matches
                      else directory.list_services(store, kind=found.route, active_only=True))
            return found, others, existing

        self._call(choices, self._show_choices, self._refused)

    def _show_choices(self, result) -> None:
        found, others, existing = result
        under_way = [r for r in existing if r.state is not ReferralState.CLOSED]
        if under_way:  # opened again: carry on with the referral already made
            self.referral = under_way[-1]
            self.status.setText(f"Referral {self.referral.id} is {self.referral.state.label}."
                                + (f" Returned: {self.referral.return_reason}"
                                   if self.referral.state is ReferralState.RETURNED else ""))
        self.services.clear()
        if found.matches:
            self.message.setText(found.message)
            for match in found.matches:
                service = match.service
                item = QListWidgetItem(f"{service.name}{' — ' + service.team if service.team else ''}: "
                                       + "; ".join(match.reasons))
                item.setData(Qt.ItemDataRole.UserRole, service.id)
                self.services.addItem(item)
        else:
            self.message.setText(found.message + " Choose a service yourself if one can take it.")
            for service in others:
                item = QListWidgetItem(f"{service.name} (ages {service.ages})")
                item.setData(Qt.ItemDataRole.UserRole, service.id)
                self.services.addItem(item)
        if self.services.count():
            self.services.setCurrentRow(0)
        if self.referral is not None:
            self._show_existing(self.referral)
        self._buttons()

    def _show_existing(self, referral: Referral) -> None:
        """Opened again: the referral as it was made, its service and its reason; both can
        change only while it is a draft or returned (after that the supervisor has it)."""
        self.reason.setText(referral.reason)
        rows = [i for i in range(self.services.count())
                if self.services.item(i).data(Qt.ItemDataRole.UserRole) == referral.service_id]
        if rows:
            self.services.setCurrentRow(rows[0])
        editable = referral.state in (ReferralState.DRAFT, ReferralState.RETURNED)
        self.reason.setReadOnly(not editable)
        self.services.setEnabled(editable)

    def _refused(self, exc: Exception) -> None:
        message = user_message(exc)
        if message is None:
            show_problem(exc)
            return
        self.message.setText(message)
        self.services.clear()
        self._buttons()

    def _buttons(self) -> None:
        record, referral = self.record, self.referral
        has_service = self.services.currentItem() is not None or referral is not None
        waiting = referral is None or referral.state in (ReferralState.DRAFT, ReferralState.RETURNED)
        self.submit_button.setEnabled(has_service and waiting)
        early = record is not None and record.final_urgency in EARLY_SEND_URGENCIES
        self.send_now_button.setVisible(early)
        unsent = referral is None or referral.state in (ReferralState.DRAFT, ReferralState.AWAITING_APPROVAL)
        self.send_now_button.setEnabled(early and has_service and unsent)
        self.changed.emit()

    def chosen_service(self) -> str | None:
        item = self.services.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    # -- actions ------------------------------------------------------------------------------------

    def _referral_fn(self):
        """fn(store) -> the referral to work on: the one made already, or a new draft."""
        session_id, service_id, reason = self.record.id, self.chosen_service(), self.reason.text()
        current = self.referral

        def referral(store) -> Referral:
            if current is None:
                return referrals.create_referral(store, session_id, service_id, reason=reason)
            if current.state in (ReferralState.DRAFT, ReferralState.RETURNED):
                # What was changed in the reason or the service goes with it (an unchanged
                # save records nothing: referrals.update_referral).
                return referrals.update_referral(store, current.id, service_id=service_id or None,
                                                 reason=reason)
            return current

        return referral

    def submit(self) -> None:
        if self.record is None:
            return
        make = self._referral_fn()
        self._busy()
        self._call(lambda store: referrals.submit(store, make(store).id), self._submitted, self._failed)

    def _submitted(self, referral: Referral) -> None:
        self.referral = referral
        self.status.setText(f"Referral {referral.id} is awaiting approval: a supervisor approves it or "
                            "returns it with a reason. It is on the approval page now.")
        self._buttons()

    def send_now(self) -> None:
        if self.record is None:
            return
        try:
            folder = DeskSettings.load(self.session.folder).outbox_folder
        except SettingsProblem as exc:  # a damaged settings file: says which and what to do
            show_problem(exc)
            return
        if not folder:
            self.status.setText(NO_OUTBOX_FOLDER)
            chosen = FolderChoice.ask(self.window(), NO_OUTBOX_FOLDER)
            if chosen is None:
                self.status.setText("Not sent: no folder was chosen. " + NO_OUTBOX_FOLDER)
                return
            folder = str(chosen)
        make = self._referral_fn()
        transport = FolderTransport(folder)

        def send(store):
            referral = make(store)
            item = outbox.send_referral(store, referral.id, transport, before_review=True)
            return referrals.view_referral(store, referral.id), item

        self._busy()
        self._call(send, self._sent, self._failed)

    def _sent(self, result) -> None:
        referral, item = result
        self.referral = referral
        if item.state is OutboxState.SENT:
            text = (f"Referral {referral.id} was sent before supervisor review: the letter is saved in "
                    f"{item.destination}. A supervisor reviews it next.")
        else:
            text = (f"Referral {referral.id} is marked sent before review, but the letter is still in the "
                    f"outbox ({item.state.value}): {item.last_error} It is tried again from the outbox page.")
        self.status.setText(text)
        self._buttons()

    def _busy(self) -> None:
        self.submit_button.setEnabled(False)
        self.send_now_button.setEnabled(False)

    def _failed(self, exc: Exception) -> None:
        self._buttons()
        show_problem(exc)
