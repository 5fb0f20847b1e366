"""New contact: the triage call, the screen practitioners live in.

First who is calling and about which child (checked as typed; the module suggested by the
child's age and the caller). "Start the call" looks for the child on record, then stores
the contact with its triage session (spoa.desk.add_contact). Then the module's questions,
with the live side panel, the immediate-risk banner and progress by section. Every answer
change is saved about a second later (spoa.desk.save_triage) and before the desk locks, so
a crash loses at most the field being typed. Then confirm or override, and refer.
``restore({"session_id"})`` or ``{"contact_id"}`` picks a saved call up again. Details
typed before the call starts are kept for the same user when the desk locks or the window
closes (spoa.drafts) and put back when the page is next shown to them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from spoa import call, desk, drafts
from spoa.roles import Permission
from spoa.rules.catalog import discover
from spoa.rules.module import RuleModule
from spoa.store.records import ContactDraft
from ui.form_drafts import LostDraftNotice
from ui.pages.base import Page
from ui.problems import show_problem
from ui.session import DeskSession
from ui.triage import while_alive
from ui.triage.decision import DecisionBar, OverrideDialog
from ui.triage.details import CallDetailsForm
from ui.triage.duplicates import DuplicateDialog
from ui.triage.live import LiveCall
from ui.triage.refer import ReferralPanel

AUTOSAVE_MS = 1000
DETAILS, CALL = 0, 1


def _installed_modules() -> dict[str, RuleModule]:
    return discover().modules


class TriageCallPage(Page):
    key = "triage"
    title = "New contact"
    permission = Permission.RUN_TRIAGE

    def __init__(self, session: DeskSession, parent: QWidget | None = None):
        super().__init__(session, parent)
        self._lost_draft = LostDraftNotice()
        self.modules: dict[str, RuleModule] = {}
        self._modules_loading = False
        self._after_modules: list = []
        self.contact_id: str | None = None
        self.session_id: str | None = None
        self.module: RuleModule | None = None
        self._resuming = False  # a saved call is being opened: the details form is not free
        self._adding = False  # the contact is being stored: what was typed is becoming a call

        layout = QVBoxLayout(self)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)

        details_page = QWidget()
        details_layout = QVBoxLayout(details_page)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.details = CallDetailsForm()
        scroll.setWidget(self.details)
        details_layout.addWidget(scroll, 1)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start the call")
        self.start_button.setAccessibleName("Start the call")
        self.start_button.setAutoDefault(True)
        self.start_button.clicked.connect(self.start_call)
        row.addStretch(1)
        row.addWidget(self.start_button)
        details_layout.addLayout(row)
        self.stack.addWidget(details_page)

        call_page = QWidget()
        call_layout = QVBoxLayout(call_page)
        call_layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.who = QLabel("")
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.who.setAccessibleName("Who the call is about")
        top.addWidget(self.who, 1)
        self.new_call_button = QPushButton("New call")
        self.new_call_button.setAccessibleName("Start a new call (this one stays saved)")
        self.new_call_button.clicked.connect(self.new_call)
        top.addWidget(self.new_call_button)
        call_layout.addLayout(top)
        self.live = LiveCall()
        call_layout.addWidget(self.live, 1)
        self.decision = DecisionBar()
        self.live.right_column.addWidget(self.decision)
        self.referral = ReferralPanel(session)
        self.live.right_column.addWidget(self.referral)
        self.live.right_column.addStretch(1)
        self.stack.addWidget(call_page)

        self.save_status = QLabel("")
        self.save_status.setTextFormat(Qt.TextFormat.PlainText)
        self.save_status.setAccessibleName("Saving")
        layout.addWidget(self.save_status)

        self.autosave = QTimer(self)
        self.autosave.setSingleShot(True)
        self.autosave.setInterval(AUTOSAVE_MS)
        self.autosave.timeout.connect(self.save_now)
        self.live.answers_changed.connect(self._answers_changed)
        self.decision.confirm_requested.connect(self.confirm)
        self.decision.override_requested.connect(self.override)
        # Beside the banner: the emergency path is the fastest path.
        self.live.decide_now_button.clicked.connect(self.confirm)
        self.live.send_now_button.clicked.connect(self.referral.send_now)
        self.referral.changed.connect(self._sync_act_now)
        self.live.updated.connect(self._sync_act_now)

    # -- modules -----------------------------------------------------------------------------

    def _with_modules(self, then) -> None:
        if self.modules:
            then()
            return
        self._after_modules.append(then)
        if not self._modules_loading:
            self._modules_loading = True
            self.session.run(_installed_modules, while_alive(self, self._modules_loaded),
                             while_alive(self, self._modules_failed))

    def _modules_loaded(self, modules: dict[str, RuleModule]) -> None:
        self._modules_loading = False
        self.modules = modules
        self.details.set_modules(list(modules.values()))
        pending, self._after_modules = self._after_modules, []
        for then in pending:
            then()

    def _modules_failed(self, exc: Exception) -> None:
        self._modules_loading = False
        self._after_modules.clear()
        show_problem(exc, "The rule modules could not be loaded")

    def _call(self, fn, on_success, on_failure=None) -> None:
        """session.call, with results dropped if this page is gone by the time they come."""
        self.session.call(fn, while_alive(self, on_success),
                          while_alive(self, on_failure) if on_failure else None)

    # -- the page contract ---------------------------------------------------------------------

    def refresh(self) -> None:
        # After restore() (called straight after refresh when a saved call is picked up) had
        # its chance to say so: a draft is only taken into an empty details form.
        self._with_modules(lambda: QTimer.singleShot(0, self, self._take_draft))

    def state(self) -> dict:
        state = {}
        if self.contact_id:
            state["contact_id"] = self.contact_id
        if self.session_id:
            state["session_id"] = self.session_id
        return state

    def restore(self, state: dict) -> None:
        session_id, contact_id = state.get("session_id"), state.get("contact_id")
        if not session_id and not contact_id:
            return
        # The session when known (a contact may hold several), else the contact's latest.
        self._resuming = True
        self._with_modules(lambda: self._resume(session_id, None if session_id else contact_id))

    def before_lock(self) -> None:
        if self.autosave.isActive():
            self.autosave.stop()
            self.save_now()
        if self._details_free() and self.details.has_typing():
            self._save_draft(self.details.typed_values())

    # -- what was typed before the call started, kept across a lock -----------------------------

    def _details_free(self) -> bool:
        """The details form is being typed into: no call started or being opened."""
        return (self.session.is_unlocked and self.session.can(Permission.EDIT_CONTACTS)
                and self.contact_id is None and not self._resuming and not self._adding
                and self.stack.currentIndex() == DETAILS)

    def _save_draft(self, typed: dict[str, str]) -> None:
        # Queued before the lock on the same store thread, so it is written before the key goes.
        # A failure (text that cannot be stored) is told to the same person after they unlock.
        who = self.session.user.username if self.session.user else ""
        self.session.call(lambda store: drafts.save_form_draft(store, drafts.CALL_DETAILS, typed),
                          lambda _saved: None, lambda exc: self._lost_draft.remember(who, exc))

    def _take_draft(self) -> None:
        lost = self._lost_draft.take(self.session.user.username if self.session.user else "")
        if lost:
            self.save_status.setText(lost)
        if self._details_free() and not self.details.has_typing():
            self._call(lambda store: drafts.take_form_draft(store, drafts.CALL_DETAILS), self._draft_taken,
                       lambda _exc: None)

    def _draft_taken(self, typed: dict[str, str] | None) -> None:
        if not typed:
            return
        if not self._details_free() or self.details.has_typing():  # moved on: keep it for later
            self._save_draft(typed)
            return
        self.details.fill(typed)
        self.save_status.setText("Restored what you were typing before the desk locked.")

    def clear(self) -> None:
        self.autosave.stop()
        self._resuming = self._adding = False
        self.contact_id = self.session_id = None
        self.module = None
        self.details.clear()
        self.live.clear()
        self.decision.reset()
        self.referral.clear()
        self.who.setText("")
        self.save_status.setText("")
        self.start_button.setEnabled(True)
        self.stack.setCurrentIndex(DETAILS)

    def new_call(self) -> None:
        """Put this call away (it is saved) and start on the next."""
        self.save_now()
        self.clear()
        self.refresh()
        self.details.fields["referrer_type"].setFocus()

    # -- starting the call ------------------------------------------------------------------------

    def start_call(self) -> None:
        wrong = self.details.check_all()
        if wrong:
            labels = ", ".join(label for _widget, label in wrong)
            self.save_status.setText(f"Check before starting: {labels}.")
            wrong[0][0].setFocus()
            return
        module = self.details.chosen_module()
        if module is None:
            self.save_status.setText("Choose the triage module for this call.")
            return
        draft = call.build_draft(self.details.values(), self.details.consent(),
                                 carers=self.details.carers.carers())
        self.start_button.setEnabled(False)
        self.save_status.setText("Looking for this child on record…")
        self._call(lambda store: call.find_possible_duplicates(store, draft.child),
                          lambda found: self._duplicates_checked(draft, module, found), self._start_failed)

    def _duplicates_checked(self, draft: ContactDraft, module: RuleModule, found) -> None:
        if found:
            choice = DuplicateDialog.ask(self.window(), found)
            if choice is None:
                self.start_button.setEnabled(True)
                self.save_status.setText("Not started: check the child's details with the caller.")
                return
            if choice.child_id is not None:
                draft = call.build_draft(self.details.values(), self.details.consent(),
                                         child_id=choice.child_id)
        modules = dict(self.modules)

        def add(store):
            added = desk.add_contact(store, draft, module=module, answers={})
            return call.resume_call(store, modules, session_id=added.triage.session_id)

        self.save_status.setText("Starting the call…")
        self._adding = True
        self._call(add, self._show_call, self._start_failed)

    def _start_failed(self, exc: Exception) -> None:
        self._adding = False
        self.start_button.setEnabled(True)
        self.save_status.setText("The call was not started.")
        show_problem(exc, "The call could not be started")

    def _resume(self, session_id: str | None, contact_id: str | None) -> None:
        modules = dict(self.modules)
        self.save_status.setText("Opening the saved call…")
        self._call(lambda store: call.resume_call(store, modules, session_id=session_id,
                                                         contact_id=contact_id), self._show_call,
                   self._resume_failed)

    def _resume_failed(self, exc: Exception) -> None:
        self._resuming = False
        self.save_status.setText("")
        show_problem(exc, "The saved call could not be opened")

    def _show_call(self, resumed: call.ResumedCall) -> None:
        self.autosave.stop()
        self._resuming = self._adding = False
        self.contact_id = resumed.contact.id
        self.session_id = resumed.record.id
        self.module = resumed.session.module
        self.details.show_contact(resumed.contact, resumed.child)
        self.details.set_read_only(True)
        child = resumed.child
        age = resumed.session.context.child_age
        self.who.setText(f"{child.full_name}{f', {age}' if age is not None else ''} — call from "
                         f"{call.CALLER_PHRASES[resumed.contact.referrer_type]} — "
                         f"{self.module.title} {self.module.version}")
        self.decision.reset()
        self.referral.clear()
        self.stack.setCurrentIndex(CALL)
        self.live.start(resumed.session)
        self.save_status.setText(f"Call {self.session_id} saved as a draft; answers are saved as you go.")
        if resumed.record.decision is not None:
            self._decided(resumed.record)
        else:
            self._allow_decision(resumed.session.outcome)

    # -- answers and autosave ---------------------------------------------------------------------

    def _allow_decision(self, outcome) -> None:
        self.decision.set_complete(outcome.complete, outcome.urgency)
        self._sync_act_now()

    def _sync_act_now(self) -> None:
        """The buttons beside the banner follow the decision bar and the referral panel."""
        decided = self.decision.decided is not None
        self.live.decide_now_button.setVisible(not decided)
        self.live.decide_now_button.setEnabled(not decided and self.decision.confirm_button.isEnabled())
        send_now = self.referral.send_now_button
        self.live.send_now_button.setVisible(decided and send_now.isVisibleTo(self.referral))
        self.live.send_now_button.setEnabled(send_now.isEnabled())

    def _answers_changed(self) -> None:
        self._allow_decision(self.live.session.outcome)
        self.save_status.setText("Changes not saved yet…")
        self.autosave.start()

    def _save_fn(self):
        contact_id, session_id, module = self.contact_id, self.session_id, self.module
        answers = dict(self.live.session.answers)
        return lambda store: desk.save_triage(store, contact_id, module, answers, session_id=session_id)

    def save_now(self) -> None:
        """Save the answers as they are now (autosave, before a lock, before deciding)."""
        self.autosave.stop()
        if self.session_id is None or self.live.session is None:
            return
        decided = self.decision.decided
        if decided is not None and decided.complete:
            return  # decided on a complete call: nothing can change
        self._call(self._save_fn(), self._saved)

    def _saved(self, saved: desk.TriageSaved) -> None:
        if self.autosave.isActive() or saved.session_id != self.session_id:
            return  # more changes are waiting to be saved, or the page has moved on
        left = len(saved.missing_required)
        self.save_status.setText(f"Draft saved. {left} required question{'s' if left != 1 else ''} left."
                                 if left else "Draft saved. Every required question is answered.")

    # -- deciding -------------------------------------------------------------------------------

    def confirm(self) -> None:
        if self.session_id is None:
            return
        self.autosave.stop()
        save, session_id = self._save_fn(), self.session_id

        def confirm(store):
            save(store)
            return desk.confirm_outcome(store, session_id)

        self.decision.set_busy(True)
        self._call(confirm, self._decided, self._decision_failed)

    def override(self) -> None:
        if self.session_id is None or self.live.session is None:
            return
        chosen = OverrideDialog.ask(self.window(), self.live.session.outcome)
        if chosen is None:
            return
        self.autosave.stop()
        save, session_id = self._save_fn(), self.session_id

        def override(store):
            save(store)
            return desk.override_outcome(store, session_id, chosen.route.value, chosen.urgency.value,
                                         chosen.reason)

        self.decision.set_busy(True)
        self._call(override, self._decided, self._decision_failed)

    def _decision_failed(self, exc: Exception) -> None:
        self.decision.set_busy(False)
        if self.live.session is not None:
            self._allow_decision(self.live.session.outcome)
        show_problem(exc, "The outcome could not be decided")

    def _decided(self, record) -> None:
        self.decision.show_decided(record)
        session = self.live.session
        if record.complete or session is None:
            self.live.set_read_only(True)
            self.save_status.setText("The call is decided and saved.")
        else:  # decided at once: the questions not yet asked can still be answered
            self.live.questions.keep_editable({q.id for q in session.visible_questions
                                               if q.id not in session.answers})
            self.save_status.setText("The call is decided and saved. The questions not yet asked can "
                                     "still be answered; nothing answered before can change.")
        self.referral.start(record)
        self._sync_act_now()
