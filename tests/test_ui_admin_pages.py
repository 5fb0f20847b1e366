"""The administrator's pages on a real store: users (add, reset, deactivate, idle lock) and
the audit trail (entries and 'Verify'); and the core read of the audit trail they use."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from spoa.roles import Role
from spoa.settings import DeskSettings
from spoa.store import audit
from spoa.store.store import Store, UnlockFailed
from ui import problems
from ui.pages import users as users_module
from ui.pages.audit import AuditPage, AuditTableModel
from ui.pages.users import NewUser, UsersPage, UserTableModel
from ui.session import DeskSession
from ui.shell import MainWindow


@pytest.fixture
def shown(qtbot, monkeypatch):
    """Messages the pages would show in dialogs: (title, text)."""
    messages = []
    monkeypatch.setattr(users_module.Notice, "show",
                        classmethod(lambda cls, parent, title, text: messages.append((title, text))))
    monkeypatch.setattr(problems.ProblemDialog, "show",
                        classmethod(lambda cls, title, text: messages.append((title, text))))
    return messages


def confirm(monkeypatch, answer: bool) -> list[str]:
    questions = []

    def ask(cls, parent, title, question):
        questions.append(question)
        return answer

    monkeypatch.setattr(users_module.Confirm, "ask", classmethod(ask))
    return questions


def settle(qtbot, page) -> None:
    page.session.wait()
    qtbot.wait(20)
    page.session.wait()
    qtbot.wait(20)


def users_page(qtbot, session) -> UsersPage:
    page = UsersPage(session)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20000)
    return page


def rows(model) -> dict[str, list[str]]:
    out = {}
    for row in range(model.rowCount()):
        values = [model.data(model.index(row, c)) for c in range(model.columnCount())]
        out[values[0]] = values
    return out


# -- the core read -----------------------------------------------------------------------------

def test_audit_entries_are_read_newest_first_in_pages(new_store):
    store, _code = new_store
    for n in range(5):
        store.audit("view", "contact", f"c-{n}")
    newest = audit.entries(store.db, limit=3)
    assert [e.record_id for e in newest] == ["c-4", "c-3", "c-2"]
    assert newest[0].username == "admin"
    assert newest[0].action == "view"
    assert newest[0].outcome == "ok"
    older = audit.entries(store.db, limit=10, before_seq=newest[-1].seq)
    assert [e.record_id for e in older][:2] == ["c-1", "c-0"]
    assert older[-1].action == "store_created"
    assert audit.entries(store.db, limit=0) == []


# -- users -------------------------------------------------------------------------------------

def test_models_pass_qt_model_tester(qtmodeltester, new_store):
    store, _code = new_store
    users = UserTableModel()
    users.set_rows(store.users())
    qtmodeltester.check(users)
    entries = AuditTableModel()
    entries.set_rows(audit.entries(store.db))
    qtmodeltester.check(entries)


def test_admin_lists_users_with_role_and_status(qtbot, staffed_desk_as):
    page = users_page(qtbot, staffed_desk_as("admin"))
    listed = rows(page.model)
    assert listed["pat"] == ["pat", "Pat Practitioner", "Practitioner", "active"]
    assert listed["sam"][2:] == ["Supervisor", "active"]
    assert listed["admin"][2] == "Administrator"
    page.table.selectionModel().clear()
    assert not page.reset_button.isEnabled()
    assert page.reset_button.toolTip() == "Select an active user first."


def test_add_reset_and_deactivate_a_user(qtbot, staffed_desk_as, store_folder, monkeypatch, shown):
    page = users_page(qtbot, staffed_desk_as("admin"))
    monkeypatch.setattr(users_module.AddUserDialog, "ask", classmethod(
        lambda cls, parent: NewUser("casey", "Casey Newstarter", Role.SUPERVISOR, "temporary pass 9")))
    page.add_button.click()
    qtbot.waitUntil(lambda: "casey" in rows(page.model), timeout=20000)
    assert rows(page.model)["casey"][2:] == ["Supervisor", "active, temporary password"]
    assert shown[-1][0] == "User added"
    assert "temporary pass 9" in shown[-1][1]
    with Store.unlock(store_folder, "casey", "temporary pass 9") as first_login:
        assert first_login.user.must_change_password

    page.select("casey")
    assert page.reset_button.isEnabled()
    questions = confirm(monkeypatch, True)
    page.reset_button.click()
    qtbot.waitUntil(lambda: shown[-1][0] == "Password reset", timeout=20000)
    assert "casey" in questions[0]
    assert "stops working" in questions[0]
    temporary = shown[-1][1].split("\n\n")[1]
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "casey", "temporary pass 9")
    Store.unlock(store_folder, "casey", temporary).lock()

    settle(qtbot, page)
    page.select("casey")
    confirm(monkeypatch, False)  # changed their mind: nothing happens
    page.deactivate_button.click()
    settle(qtbot, page)
    assert rows(page.model)["casey"][3] == "active, temporary password"
    questions = confirm(monkeypatch, True)
    page.deactivate_button.click()
    qtbot.waitUntil(lambda: rows(page.model)["casey"][3] == "deactivated", timeout=20000)
    assert "no longer be able to open the desk" in questions[0]
    assert "no longer opens the desk" in page.message.text()
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "casey", temporary)


def test_a_refused_change_is_explained(qtbot, staffed_desk_as, monkeypatch, shown):
    page = users_page(qtbot, staffed_desk_as("admin"))
    page.select("admin")
    confirm(monkeypatch, True)
    page.deactivate_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert shown[-1][1] == "You cannot deactivate your own account."
    assert page.message.text() == "You cannot deactivate your own account."
    assert rows(page.model)["admin"][3] == "active"


def test_add_user_dialog_says_what_to_fix(qtbot):
    dialog = users_module.AddUserDialog()
    qtbot.addWidget(dialog)
    assert len(dialog.temporary.text()) >= 10  # a usable temporary password is suggested
    dialog.username.setText("casey newstarter")
    assert "letters, digits" in dialog.problem.text()
    assert not dialog.ok_button.isEnabled()
    dialog.username.setText("casey")
    assert "name as colleagues" in dialog.problem.text()
    dialog.display_name.setText("Casey Newstarter")
    dialog.temporary.setText("short")
    assert dialog.problem.text().startswith("Temporary password: A password needs at least 10")
    dialog.temporary.setText("temporary pass 9")
    dialog.role.setCurrentIndex(dialog.role.findData(Role.SUPERVISOR))
    assert dialog.ok_button.isEnabled()
    assert dialog.new_user() == NewUser("casey", "Casey Newstarter", Role.SUPERVISOR, "temporary pass 9")


def test_idle_lock_minutes_are_saved_and_applied_at_once(qtbot, staffed_desk_as, store_folder):
    window = MainWindow(staffed_desk_as("admin"), [UsersPage])
    qtbot.addWidget(window)
    qtbot.addWidget(window.unlock_window)
    window.show()
    page = window.page("users")
    qtbot.waitUntil(lambda: page.idle_minutes.value() == 10, timeout=20000)
    assert page.idle_minutes.maximum() == 15
    assert page.idle_minutes.minimum() == 1
    page.idle_minutes.setValue(4)
    with qtbot.waitSignal(page.settings_changed, timeout=20000):
        page.save_settings_button.click()
    assert DeskSettings.load(store_folder).idle_lock_minutes == 4
    assert window.idle.timeout_ms() == 4 * 60_000
    assert "locks after 4 minutes" in page.settings_message.text()


def test_clearing_the_users_page_empties_the_list(qtbot, staffed_desk_as):
    page = users_page(qtbot, staffed_desk_as("admin"))
    page.session.lock()
    page.clear()
    assert page.model.rowCount() == 0


# -- audit -------------------------------------------------------------------------------------

def test_audit_page_lists_entries_and_verifies_the_chain(qtbot, staffed_desk_as):
    session = staffed_desk_as("admin")
    page = AuditPage(session)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20000)
    model = page.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Time", "User", "Role", "Action", "Record type", "Record id", "Outcome"]
    newest = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert newest[1:] == ["admin", "admin", "login", "", "", "ok"]
    actions = [model.data(model.index(r, 3)) for r in range(model.rowCount())]
    assert actions[-1] == "store created"
    assert page.heading.text() == f"All {model.rowCount()} entries of the audit trail, newest first."
    assert "password changed" in actions
    page.verify_button.click()
    qtbot.waitUntil(lambda: "intact" in page.result.text(), timeout=20000)
    assert page.result.text().startswith(f"The audit trail is intact: all {model.rowCount()} entries")
    page.clear()
    assert model.rowCount() == 0
    assert page.result.text() == ""


def test_the_audit_heading_says_when_only_the_newest_entries_are_shown():
    from ui.pages.audit import SHOWN_ENTRIES, shown_heading

    assert shown_heading(1) == "All 1 entry of the audit trail, newest first."
    assert shown_heading(SHOWN_ENTRIES).startswith(f"The newest {SHOWN_ENTRIES} entries")


def test_a_tampered_audit_trail_is_reported_in_words(qtbot, new_store, store_folder):
    store, _code = new_store
    store.audit("view", "contact", "c-1")
    store.db.execute("DROP TRIGGER audit_no_update")
    store.db.execute("UPDATE audit SET record_id = 'c-2' WHERE record_id = 'c-1'")
    session = DeskSession(store_folder)
    session.adopt(store)
    page = AuditPage(session)
    qtbot.addWidget(page)
    page.verify()
    qtbot.waitUntil(lambda: "does not check out" in page.result.text(), timeout=20000)
    assert "its contents were altered" in page.result.text()
    assert "tell your information governance lead" in page.result.text()
    assert page.verify_button.isEnabled()
    session.lock()


def test_a_practitioner_cannot_read_the_audit_trail(qtbot, staffed_desk_as, shown):
    page = AuditPage(staffed_desk_as("pat"))
    qtbot.addWidget(page)
    page.refresh()
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert "A practitioner cannot read and verify the audit trail" in shown[-1][1]
    assert page.model.rowCount() == 0
