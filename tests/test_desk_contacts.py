"""The desk operations on contacts, as each role performs them: role checks in the core,
audit entries with ids only, triage evaluated and kept, outcomes confirmed or overridden."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from spoa import desk
from spoa.model import ReferrerType, Route, Urgency
from spoa.roles import NotAllowed, Permission, Role, allowed
from spoa.rules.errors import AnswersRejected
from spoa.rules.loading import load_module
from spoa.store import records
from spoa.store.database import StoreError
from spoa.store.keys import MINIMUM_KDF
from spoa.store.records import ChildDraft, ContactDraft, DecisionRefused, InvalidField
from spoa.store.store import Store
from tests.conftest import (
    ADMIN_PASSWORD,
    MINIMAL_MODULE,
    NO_DANGER,
    PRACTITIONER_PASSWORD,
    SUPERVISOR_PASSWORD,
)

STORED_NO_DANGER = {**NO_DANGER, "now_with_child": False}

RECEIVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def draft(given="Zoë", family="Deskchild", nhs="999 876 5439", dob="2012-03-04", **contact) -> ContactDraft:
    fields = {"referrer_type": ReferrerType.GP, "referrer_name": "Dr Test", "received_at": RECEIVED,
              "consent": {"status": "given"}, **contact}
    return ContactDraft(child=ChildDraft(given, family, date_of_birth=dob, nhs_number=nhs,
                                         school="Testtown Academy"), **fields)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """One store for the module with an admin, a practitioner and a supervisor, each
    logged in once (unlocking is slow by design). Tests count what they add."""
    folder = tmp_path_factory.mktemp("desk") / "store"
    admin, _ = Store.init(folder, admin_username="admin", admin_display_name="Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    opened = {"admin": admin}
    for name, role, password in (("pat", Role.PRACTITIONER, PRACTITIONER_PASSWORD),
                                 ("sam", Role.SUPERVISOR, SUPERVISOR_PASSWORD)):
        admin.add_user(name, name.title(), role, "temporary pass 1")
        store = Store.unlock(folder, name, "temporary pass 1")
        store.change_password("temporary pass 1", password)
        opened[name] = store
    yield opened
    for store in opened.values():
        store.lock()


@pytest.fixture
def module(write_module):
    return load_module(write_module(MINIMAL_MODULE))


def audit_rows(store, after_seq=0):
    return store.db.execute("SELECT seq, username, role, action, record_type, record_id, outcome "
                            "FROM audit WHERE seq > ? ORDER BY seq", [after_seq]).fetchall()


def last_seq(store):
    return store.db.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]


# -- roles -----------------------------------------------------------------------------------------

@dataclass
class Operation:
    name: str
    permission: Permission
    run: Any  # (store, fresh) -> result; fresh holds records made for this attempt


def _fresh(pat, module):
    added = desk.add_contact(pat, draft(family="Rolechild"), module=module,
                             answers={**NO_DANGER, "self_harm": "yes", "treated": "no"})
    return {"contact": added.contact_id, "child": added.child_id, "session": added.triage.session_id}


OPERATIONS = [
    Operation("add contact", Permission.EDIT_CONTACTS, lambda s, f, m: desk.add_contact(s, draft())),
    Operation("view contact", Permission.VIEW_RECORDS, lambda s, f, m: desk.view_contact(s, f["contact"])),
    Operation("list contacts", Permission.VIEW_RECORDS, lambda s, f, m: desk.list_contacts(s)),
    Operation("search contacts", Permission.VIEW_RECORDS, lambda s, f, m: desk.search_contacts(s, "zoe")),
    Operation("update child", Permission.EDIT_CONTACTS,
              lambda s, f, m: desk.update_child(s, f["child"], {"school": "Other"}, "moved school")),
    Operation("update contact", Permission.EDIT_CONTACTS,
              lambda s, f, m: desk.update_contact(s, f["contact"], {"referrer_name": "Dr B"}, "typo")),
    Operation("start triage", Permission.RUN_TRIAGE,
              lambda s, f, m: desk.save_triage(s, f["contact"], m, {**NO_DANGER, "self_harm": "no"})),
    Operation("save triage", Permission.RUN_TRIAGE,
              lambda s, f, m: desk.save_triage(s, f["contact"], m, {**NO_DANGER, "self_harm": "no"},
                                               session_id=f["session"])),
    Operation("resume triage", Permission.RUN_TRIAGE,
              lambda s, f, m: desk.resume_triage(s, f["session"], m)),
    Operation("confirm outcome", Permission.RUN_TRIAGE,
              lambda s, f, m: desk.confirm_outcome(s, f["session"])),
    Operation("override outcome", Permission.RUN_TRIAGE,
              lambda s, f, m: desk.override_outcome(s, f["session"], "camhs", "urgent", "clinical view")),
]


def snapshot(store, fresh):
    db = store.db
    return (records.get_child(db, fresh["child"]), records.get_contact(db, fresh["contact"]),
            records.triage_sessions_of(db, fresh["contact"]))


def test_every_role_and_desk_operation(staffed_store, module):
    """Practitioners and supervisors do every contact operation; admins none of them,
    each refusal audited as denied and changing nothing. 0 unauthorised successes."""
    opened = {name: staffed_store(name) for name in ("pat", "sam", "admin")}
    try:
        pat = opened["pat"]
        unauthorised_successes = refused_when_allowed = refused = 0
        for operation in OPERATIONS:
            for name, store in opened.items():
                fresh = _fresh(pat, module)
                before = snapshot(pat, fresh)
                seq = last_seq(pat)
                expected = allowed(store.user.role, operation.permission)
                try:
                    operation.run(store, fresh, module)
                except NotAllowed:
                    refused += 1
                    refused_when_allowed += expected
                    entries = audit_rows(pat, seq)
                    assert [(e[1], e[6]) for e in entries] == [(name, "denied")], operation.name
                    assert snapshot(pat, fresh) == before, operation.name
                else:
                    unauthorised_successes += not expected
                    assert all(e[6] == "ok" for e in audit_rows(pat, seq)), operation.name
        assert unauthorised_successes == 0
        assert refused_when_allowed == 0
        assert refused == len(OPERATIONS)  # the admin, every time
        assert allowed(Role.ADMIN, Permission.VIEW_RECORDS) is False  # the matrix the test relies on
        with pytest.raises(NotAllowed, match="admin cannot view records"):
            desk.view_contact(opened["admin"], _fresh(pat, module)["contact"])
    finally:
        for store in opened.values():
            store.lock()


# -- contacts --------------------------------------------------------------------------------------

def test_add_contact_points_out_possible_duplicates(stores):
    pat = stores["pat"]
    first = desk.add_contact(pat, draft(family="Twicecalled", nhs="999 111 2227"))
    assert first.possible_duplicates == ()
    assert first.triage is None
    seq = last_seq(pat)
    second = desk.add_contact(pat, draft(given="ZOE", family="Twicecalled", nhs=None))
    assert [(d.child_id, d.reasons) for d in second.possible_duplicates] == [
        (first.child_id, ("same name and date of birth",))]
    assert second.child_id != first.child_id
    assert [(a[3], a[4], a[5]) for a in audit_rows(pat, seq)] == [
        ("create", "child", second.child_id), ("create", "contact", second.contact_id),
        ("view", "child", first.child_id)]
    # A contact for a child on record: no new child, no duplicates to point out.
    again = desk.add_contact(pat, ContactDraft(referrer_type="parent", child_id=first.child_id))
    assert again.child_id == first.child_id
    assert again.possible_duplicates == ()


def test_a_contact_needs_exactly_one_child(stores):
    pat = stores["pat"]
    with pytest.raises(InvalidField, match="child"):
        desk.add_contact(pat, ContactDraft(referrer_type="gp"))
    both = draft()
    both.child_id = "ch-anything"
    with pytest.raises(InvalidField, match="child"):
        desk.add_contact(pat, both)


def test_view_update_and_history(stores):
    pat, sam = stores["pat"], stores["sam"]
    added = desk.add_contact(pat, draft(family="Historychild"))
    assert desk.update_child(sam, added.child_id, {"family_name": "Historychild-Smith"}, "Name changed") == [
        "family_name"]
    assert desk.update_contact(pat, added.contact_id, {"status": "closed"}, "No further action") == ["status"]
    assert desk.update_contact(pat, added.contact_id, {"status": "closed"}, "again") == []
    view = desk.view_contact(sam, added.contact_id)
    assert view.child.family_name == "Historychild-Smith"
    assert view.contact.status == "closed"
    assert [(e.record_type, e.field, e.old_value, e.new_value, e.changed_by, e.reason)
            for e in view.history] == [
        ("child", "family_name", "Historychild", "Historychild-Smith", "sam", "Name changed"),
        ("contact", "status", "open", "closed", "pat", "No further action"),
        ("contact", "closed_at", None, view.contact.closed_at.isoformat(), "pat", "No further action")]
    hits = desk.search_contacts(pat, "historychild-smith")
    assert [h.contact_id for h in hits] == [added.contact_id]
    assert desk.list_contacts(pat, status="closed")[0].status == "closed"


def test_triage_from_answers_to_a_decision(stores, module):
    pat, sam = stores["pat"], stores["sam"]
    added = desk.add_contact(pat, draft(family="Triagechild"), module=module,
                             answers={**NO_DANGER, "self_harm": "yes"})
    saved = added.triage
    assert not saved.complete
    assert saved.missing_required == ("treated",)
    assert saved.outcome.route is Route.CAMHS  # provisional: self-harm weighs 3 -> high impact
    contact = records.get_contact(pat.db, added.contact_id)
    assert contact.seen_by == RECEIVED + timedelta(hours=saved.outcome.respond_within_hours)
    with pytest.raises(DecisionRefused, match="not complete"):
        desk.confirm_outcome(pat, saved.session_id)

    done = desk.save_triage(pat, added.contact_id, module,
                            {**NO_DANGER, "self_harm": "yes", "treated": "yes", "how_treated": "hospital"},
                            session_id=saved.session_id)
    assert done.complete
    assert done.session_id == saved.session_id
    assert (done.outcome.rule_id, done.outcome.urgency) == ("emergency", Urgency.EMERGENCY)
    assert done.outcome.immediate_actions
    contact = records.get_contact(pat.db, added.contact_id)
    assert contact.contact_by == RECEIVED + timedelta(hours=1)
    assert contact.seen_by == RECEIVED + timedelta(hours=1)  # emergency: act now, within 1 hour
    stored = records.get_triage_session(pat.db, saved.session_id)
    assert stored.answers == {**STORED_NO_DANGER, "self_harm": True, "treated": True,
                              "how_treated": "hospital"}
    assert stored.outcome == done.outcome.as_dict()
    resumed = desk.resume_triage(pat, saved.session_id, module)
    assert resumed.answers == {**STORED_NO_DANGER, "self_harm": True, "treated": True,
                               "how_treated": "hospital"}

    decided = desk.confirm_outcome(sam, saved.session_id)
    assert (decided.decision, decided.final_urgency, decided.decided_by) == (
        "confirmed", Urgency.EMERGENCY, "sam")
    assert records.get_contact(pat.db, added.contact_id).status == "triaged"
    with pytest.raises(DecisionRefused):
        desk.override_outcome(pat, saved.session_id, "camhs", "urgent", "second thoughts")
    with pytest.raises(DecisionRefused):
        desk.save_triage(pat, added.contact_id, module, {**NO_DANGER, "self_harm": "no"},
                         session_id=saved.session_id)


def test_an_override_needs_a_reason_and_never_delays_first_contact(stores, module):
    pat = stores["pat"]
    added = desk.add_contact(pat, draft(family="Overridechild"), module=module,
                             answers={**NO_DANGER, "self_harm": "yes", "treated": "yes"})
    session_id = added.triage.session_id
    with pytest.raises(InvalidField, match="override_reason: is required"):
        desk.override_outcome(pat, session_id, "camhs", "routine", "  ")
    decided = desk.override_outcome(pat, session_id, "camhs", "urgent", "Assessed in A&E last night")
    assert (decided.decision, decided.final_route, decided.final_urgency) == (
        "overridden", Route.CAMHS, Urgency.URGENT)
    assert decided.override_reason == "Assessed in A&E last night"
    contact = records.get_contact(pat.db, added.contact_id)
    assert contact.seen_by == RECEIVED + timedelta(hours=Urgency.URGENT.longest_response_hours)
    assert contact.contact_by == RECEIVED + timedelta(hours=1)  # from the emergency: not later
    assert contact.status == "triaged"


def test_a_session_continues_only_with_its_own_module(stores, module, write_module):
    pat = stores["pat"]
    added = desk.add_contact(pat, draft(family="Modulechild"), module=module,
                             answers={**NO_DANGER, "self_harm": "no"})
    changed = load_module(write_module(MINIMAL_MODULE.replace("version: 1.0.0", "version: 1.0.1"),
                                       name="changed"))
    with pytest.raises(desk.ModuleMismatch, match=r"mini 1\.0\.0"):
        desk.save_triage(pat, added.contact_id, changed, {**NO_DANGER, "self_harm": "no"},
                         session_id=added.triage.session_id)
    with pytest.raises(desk.ModuleMismatch):
        desk.resume_triage(pat, added.triage.session_id, changed)


def test_nothing_is_stored_when_any_part_fails(stores, module):
    pat = stores["pat"]
    db = pat.db

    def counts():
        return [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("children", "contacts", "triage_sessions", "audit", "contact_search")]

    before = counts()
    with pytest.raises(AnswersRejected):
        desk.add_contact(pat, draft(family="Failchild"), module=module,
                         answers={**NO_DANGER, "self_harm": "perhaps"})
    with pytest.raises(InvalidField, match="nhs_number"):
        desk.add_contact(pat, draft(family="Failchild", nhs="123"))
    # A fault after the child and the contact were written (a full disk, say).
    db.execute("CREATE TEMP TRIGGER fail_session BEFORE INSERT ON triage_sessions "
               "BEGIN SELECT RAISE(ABORT, 'simulated fault'); END")
    try:
        with pytest.raises(Exception, match="simulated fault"):
            desk.add_contact(pat, draft(family="Failchild"), module=module,
                             answers={**NO_DANGER, "self_harm": "no"})
    finally:
        db.execute("DROP TRIGGER temp.fail_session")
    assert counts() == before
    assert desk.search_contacts(pat, "failchild") == []


def test_a_locked_store_does_nothing(stores, tmp_path):
    folder = tmp_path / "locked"
    store, _ = Store.init(folder, admin_username="admin", admin_display_name="Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    store.lock()
    with pytest.raises(StoreError, match="locked"):
        desk.list_contacts(store)


# -- the audit trail carries ids, never patient text ----------------------------------------------

def test_audit_entries_hold_no_patient_text(stores, module):
    pat, sam = stores["pat"], stores["sam"]
    seq = last_seq(pat)
    secret = "Xyzzysecret"
    added = desk.add_contact(pat, draft(given=f"{secret}given", family=f"{secret}family", nhs="999 000 0018",
                                        dob="2010-10-10", referrer_name=f"{secret}referrer",
                                        consent={"notes": f"{secret}consent"}),
                             module=module, answers={**NO_DANGER, "self_harm": "yes", "treated": "no",
                                                     "notes": f"{secret}answer"})
    desk.add_contact(pat, draft(given=f"{secret}given", family=f"{secret}family", nhs="999 000 0018"))
    desk.view_contact(sam, added.contact_id)
    desk.search_contacts(sam, f"{secret}given 999 000 0018")
    desk.list_contacts(sam)
    desk.update_child(pat, added.child_id, {"school": f"{secret}school"}, f"{secret}reason")
    desk.override_outcome(sam, added.triage.session_id, "school_nursing", "routine", f"{secret}override")
    with pytest.raises(NotAllowed):
        desk.search_contacts(stores["admin"], f"{secret}admin")
    entries = audit_rows(pat, seq)
    assert len(entries) >= 10
    text = repr(entries)
    for forbidden in (secret, secret.lower(), "9990000018", "999 000 0018", "2010-10-10", "Dr Test",
                      "Testtown"):
        assert forbidden not in text
    assert {e[3] for e in entries} == {"create", "view", "search", "update"}
    assert ("search", "contact", "") in {(e[3], e[4], e[5]) for e in entries}
