"""Children, contacts and triage sessions in the real encrypted store: round trips,
history on every change, refusals that name the field and never the value, and writes
that are whole or absent."""

import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from spoa.model import ModuleRef, ReferrerType, Route, SessionContext, Urgency
from spoa.rules.session import TriageSession
from spoa.store import records
from spoa.store.keys import MINIMUM_KDF
from spoa.store.records import (
    Carer,
    ChildDraft,
    ContactDraft,
    DecisionRefused,
    InvalidField,
    RecordNotFound,
)
from spoa.store.store import Store
from tests.conftest import ADMIN_PASSWORD, NO_DANGER

NHS = "999 876 5439"  # synthetic, test range


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One store for the module (unlocking is slow by design); tests count what they add."""
    store, _ = Store.init(tmp_path_factory.mktemp("records") / "store", admin_username="admin",
                          admin_display_name="Admin", admin_password=ADMIN_PASSWORD,
                          use_keyring=False, kdf=MINIMUM_KDF)
    yield store.db
    store.lock()


def make_child(db, **changes):
    fields = {"given_name": "Zoë", "family_name": "Example", "date_of_birth": "2012-03-04",
              "nhs_number": NHS, "postcode": "sw1a1aa", "school": "Testtown Academy", **changes}
    return records.create_child(db, ChildDraft(**fields), by="pat")


def make_contact(db, child_id, **changes):
    fields = {"referrer_type": ReferrerType.SCHOOL_NURSE, "referrer_name": "Jo Nurse",
              "received_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC), **changes}
    return records.create_contact(db, ContactDraft(**fields), child_id=child_id, by="pat")


def count(db, table):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- round trips -----------------------------------------------------------------------------

def test_child_round_trip_normalises_what_it_stores(db):
    decomposed = unicodedata.normalize("NFD", "Zoë")
    child_id = records.create_child(db, ChildDraft(
        given_name=f"  {decomposed} ", family_name="O'Brien-Ñúñez", date_of_birth="04/03/2012",
        nhs_number="999-876-5439", address="1 Synthetic Street\nTesttown", postcode=" sw1a  1aa",
        school="Testtown Academy", gp_practice="Example Practice",
        carers=[{"name": "Alex", "relationship": "mother", "phone": "07700 900123"},
                Carer("Sam", "father")]), by="pat")
    child = records.get_child(db, child_id)
    assert child.given_name == "Zoë"
    assert child.given_name == unicodedata.normalize("NFC", "Zoë")
    assert child.family_name == "O'Brien-Ñúñez"
    assert child.date_of_birth == date(2012, 3, 4)
    assert child.nhs_number == "9998765439"
    assert child.postcode == "SW1A 1AA"
    assert child.address == "1 Synthetic Street\nTesttown"
    assert child.carers == (Carer("Alex", "mother", "07700 900123"), Carer("Sam", "father", ""))
    assert child.created_by == "pat"
    assert child.created_at.tzinfo is not None
    assert child.age_on(date(2026, 3, 3)) == 13
    assert child.age_on(date(2026, 3, 4)) == 14
    raw = db.execute("SELECT date_of_birth, nhs_number FROM children WHERE id = ?", [child_id]).fetchone()
    assert raw == ("2012-03-04", "9998765439")


def test_contact_round_trip(db):
    child_id = make_child(db)
    received = datetime(2026, 11, 20, 10, 30, tzinfo=datetime.now(UTC).astimezone().tzinfo)
    contact_id = records.create_contact(db, ContactDraft(
        referrer_type="gp", referrer_name="Dr Test", referrer_organisation="Example Surgery",
        referrer_contact="01632 960001", source_of_referral="telephone",
        received_at="2026-11-20T10:30:00+01:00", consent={"status": "given", "date": date(2026, 11, 20),
                                                          "parties": ["parent", "young person"]},
        contact_by=received + timedelta(hours=4)), child_id=child_id, by="pat")
    contact = records.get_contact(db, contact_id)
    assert contact.child_id == child_id
    assert contact.referrer_type is ReferrerType.GP
    assert contact.received_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # stored in UTC
    assert contact.consent == {"status": "given", "date": "2026-11-20", "parties": ["parent", "young person"]}
    assert contact.status == "open"
    assert contact.kind == "triage"
    assert contact.contact_by.tzinfo == UTC
    assert contact.seen_by is None
    assert records.contacts_of_child(db, child_id) == [contact]


def test_triage_session_round_trip(db, mini_module):
    contact_id = make_contact(db, make_child(db))
    session = TriageSession(mini_module, SessionContext(child_age=14),
                            {**NO_DANGER, "self_harm": "yes", "treated": "no", "areas": ["eating", "school"],
                             "last_seen": "2026-11-01", "notes": "Zoë said “it’s fine”"})
    session_id = records.create_triage_session(
        db, contact_id=contact_id, module=session.outcome.module, answers=session.answers,
        outcome=session.outcome.as_dict(), complete=session.is_complete, by="pat")
    stored = records.get_triage_session(db, session_id)
    assert stored.module == ModuleRef(mini_module.id, mini_module.version, mini_module.content_hash)
    assert stored.answers == {**NO_DANGER, "now_with_child": False, "self_harm": True, "treated": False,
                              "areas": ["school", "eating"], "last_seen": "2026-11-01",
                              "notes": "Zoë said “it’s fine”"}
    assert stored.outcome == session.outcome.as_dict()
    assert stored.recommended_route is Route.CAMHS
    assert stored.recommended_urgency is Urgency.ROUTINE
    assert stored.complete
    assert stored.decision is None
    assert records.triage_sessions_of(db, contact_id) == [stored]
    # The stored answers replay to the same outcome.
    replay = TriageSession(mini_module, SessionContext(child_age=14), stored.answers)
    assert replay.outcome.as_dict() == stored.outcome


def test_unknown_ids_are_reported(db):
    contacts = count(db, "contacts")
    with pytest.raises(RecordNotFound, match="no child"):
        records.get_child(db, "ch-nothing")
    with pytest.raises(RecordNotFound, match="no contact"):
        records.get_contact(db, "co-nothing")
    with pytest.raises(RecordNotFound, match="no triage session"):
        records.get_triage_session(db, "ts-nothing")
    with pytest.raises(RecordNotFound):
        make_contact(db, "ch-nothing")
    assert count(db, "contacts") == contacts


# -- history ---------------------------------------------------------------------------------

def test_every_change_leaves_history(db):
    child_id = make_child(db)
    changed = records.update_child(db, child_id, {"given_name": "Zoe", "school": "Other School",
                                                  "family_name": "Example"}, by="sam",
                                   reason="Spelling checked with the parent")
    assert changed == ["given_name", "school"]  # family_name did not change: no row
    child = records.get_child(db, child_id)
    assert (child.given_name, child.school) == ("Zoe", "Other School")
    entries = records.history(db, "child", child_id)
    assert [(e.field, e.old_value, e.new_value) for e in entries] == [
        ("given_name", "Zoë", "Zoe"), ("school", "Testtown Academy", "Other School")]
    assert all(e.changed_by == "sam" and e.reason == "Spelling checked with the parent" for e in entries)
    assert all(e.changed_at.tzinfo is not None for e in entries)
    assert child.updated_at >= child.created_at

    records.update_child(db, child_id, {"carers": [{"name": "Alex"}]}, by="sam", reason="new carer")
    carers = records.history(db, "child", child_id)[-1]
    assert (carers.field, carers.old_value) == ("carers", "[]")
    assert '"Alex"' in carers.new_value

    contact_id = make_contact(db, child_id)
    records.update_contact(db, contact_id, {"status": "closed", "referrer_type": ReferrerType.PARENT},
                           by="pat", reason="Family declined")
    entries = records.history(db, "contact", contact_id)
    assert [(e.field, e.old_value, e.new_value) for e in entries][:2] == [
        ("referrer_type", "school_nurse", "parent"), ("status", "open", "closed")]
    # Closing stamps closed_at, from which retention counts; reopening clears it.
    assert (entries[2].field, entries[2].old_value) == ("closed_at", None)
    closed_at = db.execute("SELECT closed_at FROM contacts WHERE id = ?", [contact_id]).fetchone()[0]
    assert closed_at == entries[2].new_value
    records.update_contact(db, contact_id, {"status": "open"}, by="pat", reason="Family called back")
    assert db.execute("SELECT closed_at FROM contacts WHERE id = ?", [contact_id]).fetchone()[0] is None
    assert [(e.field, e.old_value, e.new_value) for e in records.history(db, "contact", contact_id)][-2:] == [
        ("status", "closed", "open"), ("closed_at", closed_at, None)]


def test_updates_need_a_reason_and_known_fields_and_are_all_or_nothing(db):
    child_id = make_child(db)
    history_rows = count(db, "record_history")
    with pytest.raises(InvalidField, match="reason: is required"):
        records.update_child(db, child_id, {"school": "New"}, by="pat", reason="  ")
    with pytest.raises(InvalidField, match="created_by: is not a field"):
        records.update_child(db, child_id, {"created_by": "mallory"}, by="pat", reason="x")
    with pytest.raises(InvalidField, match="nhs_number"):
        records.update_child(db, child_id, {"school": "New", "nhs_number": "999 876 5438"},
                             by="pat", reason="x")
    assert records.get_child(db, child_id).school == "Testtown Academy"
    contact_id = make_contact(db, child_id)
    with pytest.raises(InvalidField, match="child_id: there is no child"):
        records.update_contact(db, contact_id, {"child_id": "ch-nothing"}, by="pat", reason="x")
    with pytest.raises(RecordNotFound):
        records.update_child(db, "ch-nothing", {"school": "New"}, by="pat", reason="x")
    assert count(db, "record_history") == history_rows


def test_a_failure_inside_the_write_leaves_nothing_behind(db):
    child_id = make_child(db)
    history_rows = count(db, "record_history")
    # Simulate a fault (disk full, a crash) after the history rows and before the update.
    db.execute("CREATE TEMP TRIGGER fail_update BEFORE UPDATE ON children "
               "BEGIN SELECT RAISE(ABORT, 'simulated fault'); END")
    with pytest.raises(Exception, match="simulated fault"):
        records.update_child(db, child_id, {"school": "New", "given_name": "Zoe"}, by="pat", reason="x")
    db.execute("DROP TRIGGER temp.fail_update")
    assert count(db, "record_history") == history_rows
    assert records.get_child(db, child_id).school == "Testtown Academy"
    assert not db.conn.in_transaction


def test_triage_answers_confirm_and_override(db, mini_module):
    contact_id = make_contact(db, make_child(db))
    partial = TriageSession(mini_module, answers={"self_harm": "yes"})  # 'treated' still missing
    session_id = records.create_triage_session(
        db, contact_id=contact_id, module=partial.outcome.module, answers=partial.answers,
        outcome=partial.outcome.as_dict(), complete=partial.is_complete, by="pat")
    with pytest.raises(DecisionRefused, match="not complete"):
        records.confirm_outcome(db, session_id, by="pat")

    full = TriageSession(mini_module, answers={"self_harm": "yes", "treated": "yes", "notes": "ok"})
    changed = records.save_triage_answers(db, session_id, answers=full.answers,
                                          outcome=full.outcome.as_dict(), complete=True, by="pat")
    assert changed == ["answers.notes", "answers.treated", "outcome", "complete"]
    rows = {e.field: e for e in records.history(db, "triage_session", session_id)}
    assert (rows["answers.treated"].old_value, rows["answers.treated"].new_value) == (None, "true")
    assert rows["outcome"].new_value == "emergency: camhs, emergency"

    with pytest.raises(InvalidField, match="override_reason: is required"):
        records.override_outcome(db, session_id, route="camhs", urgency="urgent", reason="", by="pat")
    with pytest.raises(DecisionRefused, match="same as the recommendation"):
        records.override_outcome(db, session_id, route="camhs", urgency="emergency", reason="x", by="pat")
    with pytest.raises(InvalidField, match="route: must be one of"):
        records.override_outcome(db, session_id, route="nowhere", urgency="urgent", reason="x", by="pat")
    decided = records.override_outcome(db, session_id, route=Route.CAMHS, urgency=Urgency.VERY_URGENT,
                                       reason="Seen in A&E yesterday; already assessed", by="sam")
    assert (decided.decision, decided.final_route, decided.final_urgency) == (
        "overridden", Route.CAMHS, Urgency.VERY_URGENT)
    assert decided.override_reason == "Seen in A&E yesterday; already assessed"
    assert decided.decided_by == "sam"
    assert decided.decided_at is not None
    history = [(e.field, e.new_value) for e in records.history(db, "triage_session", session_id)][-4:]
    assert history == [("decision", "overridden"), ("final_route", "camhs"),
                       ("final_urgency", "very_urgent"),
                       ("override_reason", "Seen in A&E yesterday; already assessed")]
    with pytest.raises(DecisionRefused, match="already overridden by sam"):
        records.confirm_outcome(db, session_id, by="pat")
    with pytest.raises(DecisionRefused, match="can no longer change"):
        records.save_triage_answers(db, session_id, answers={}, outcome=None, complete=False, by="pat")

    other = records.create_triage_session(
        db, contact_id=contact_id, module=full.outcome.module, answers=full.answers,
        outcome=full.outcome.as_dict(), complete=True, by="pat")
    confirmed = records.confirm_outcome(db, other, by="pat")
    assert (confirmed.decision, confirmed.final_urgency) == ("confirmed", Urgency.EMERGENCY)


def test_list_and_summaries(db, mini_module):
    child_id = make_child(db)
    later = make_contact(db, child_id, contact_by="2026-11-25T09:00:00Z")
    sooner = make_contact(db, child_id, contact_by="2026-11-21T09:00:00Z")
    none = make_contact(db, child_id, status="closed")
    ours = {later, sooner, none}

    def listed(**status):
        return [s.contact_id for s in records.list_contacts(db, limit=100_000, **status)
                if s.contact_id in ours]

    assert listed() == [sooner, later, none]
    assert listed(status="closed") == [none]
    session = TriageSession(mini_module, answers={"self_harm": "no"})
    records.create_triage_session(db, contact_id=later, module=session.outcome.module,
                                  answers=session.answers, outcome=session.outcome.as_dict(),
                                  complete=True, by="pat")
    summaries = records.contact_summaries(db, [later, "co-missing", sooner])
    assert [s.contact_id for s in summaries] == [later, sooner]
    assert (summaries[0].route, summaries[0].urgency) == (Route.ADVICE, Urgency.ROUTINE)
    assert summaries[1].route is None
    assert summaries[0].child_name == "Zoë Example"
    assert summaries[0].nhs_number == "9998765439"


# -- refusals ------------------------------------------------------------------------------------

SECRET = "Q7Xsecret"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"given_name": SECRET + "\x00"}, "given_name", "NUL"),
    ({"family_name": SECRET + "\ud800"}, "family_name", "lone surrogate"),
    ({"given_name": SECRET + "x" * 200}, "given_name", "limit is 200"),
    ({"given_name": "   "}, "given_name", "is required"),
    ({"given_name": SECRET + "\nline"}, "given_name", "one line"),
    ({"school": 12}, "school", "must be text"),
    ({"nhs_number": "999 876 5438"}, "nhs_number", "check digit"),
    ({"nhs_number": SECRET}, "nhs_number", "digits"),
    ({"postcode": SECRET}, "postcode", "UK postcode"),
    ({"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
    ({"date_of_birth": "31/02/2012"}, "date_of_birth", "real date"),
    ({"address": SECRET * 200}, "address", "limit is 1,000"),
    ({"carers": [{"name": SECRET, "age": 40}]}, "carers[0].age", "not a carer field"),
    ({"carers": [{"relationship": "mother"}]}, "carers[0].name", "required"),
    ({"carers": SECRET}, "carers", "a list"),
])
def test_child_refusals_name_the_field_never_the_value(db, changes, field, message):
    children = count(db, "children")
    with pytest.raises(InvalidField) as caught:
        make_child(db, **changes)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)
    assert count(db, "children") == children


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"referrer_type": "neighbour"}, "referrer_type", "must be one of"),
    ({"received_at": "2026-11-20T09:30:00"}, "received_at", "time zone"),
    ({"received_at": SECRET}, "received_at", "date and time"),
    ({"status": "lost"}, "status", "must be one of"),
    ({"consent": {"notes": SECRET + "\x00"}}, "consent.notes", "NUL"),
    ({"consent": {"notes": {"deep": float("nan")}}}, "consent.notes.deep", "finite"),
    ({"consent": SECRET}, "consent", "named entries"),
    ({"referrer_contact": SECRET + "\udc80"}, "referrer_contact", "lone surrogate"),
])
def test_contact_refusals_name_the_field_never_the_value(db, changes, field, message):
    child_id = make_child(db)
    contacts = count(db, "contacts")
    with pytest.raises(InvalidField) as caught:
        make_contact(db, child_id, **changes)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)
    assert count(db, "contacts") == contacts


# -- any text at all: stored and read back equal after NFC, or refused with a message -------------

def awkward_text():
    pieces = st.one_of(
        st.text(st.characters(codec=None, exclude_categories=[]), max_size=12),
        st.characters(categories=["Cs"]),  # lone surrogates
        st.sampled_from(["\x00", "\u200f", "\u202e", "\u200b", "\ufeff", "e\u0301", "\u0301",
                         "A\u030a", "ß", "İ", "\U0001f600", "\r\n", "\t", "שלום", "مرحبا", "Zoë"]),
    )
    short = st.lists(pieces, max_size=6).map("".join)
    long = st.builds(lambda unit, n: unit * n, st.sampled_from(["a", "é", "e\u0301", "\u200f", "Zoë "]),
                     st.sampled_from([50, 201, 1_001, 25_000, 100_001]))
    return st.one_of(short, long)


AWKWARD = settings(max_examples=50, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])


def stored_or_refused(action, read, field_prefix, value):
    marked = SECRET + value
    try:
        record_id = action(marked)
    except InvalidField as exc:
        refusal = exc
    else:
        assert read(record_id) == nfc(marked)
        event("stored")
        return
    event("refused")
    assert refusal.field.startswith(field_prefix)
    assert refusal.problem
    assert SECRET not in str(refusal)


@AWKWARD
@given(value=awkward_text(), field=st.sampled_from(["given_name", "family_name", "school", "address"]))
def test_any_child_text_is_stored_exactly_or_refused(db, value, field):
    def create(text):
        fields = {"given_name": "Test", "family_name": "Child", field: text}
        return records.create_child(db, ChildDraft(**fields), by="pat")

    stored_or_refused(create, lambda i: getattr(records.get_child(db, i), field), field, value)


@AWKWARD
@given(value=awkward_text(),
       field=st.sampled_from(["referrer_name", "referrer_contact", "source_of_referral", "consent"]))
def test_any_contact_text_is_stored_exactly_or_refused(db, value, field):
    child_id = make_child(db)

    def create(text):
        changes = {field: {"notes": text}} if field == "consent" else {field: text}
        return make_contact(db, child_id, **changes)

    def read(contact_id):
        contact = records.get_contact(db, contact_id)
        return contact.consent["notes"] if field == "consent" else getattr(contact, field)

    stored_or_refused(create, read, field, value)


@AWKWARD
@given(value=awkward_text())
def test_any_answer_or_override_reason_is_stored_exactly_or_refused(db, mini_module, value):
    contact_id = make_contact(db, make_child(db))
    ref = ModuleRef(mini_module.id, mini_module.version, mini_module.content_hash)

    def create(text):
        return records.create_triage_session(db, contact_id=contact_id, module=ref,
                                             answers={"notes": text}, outcome=None, complete=False,
                                             by="pat")

    stored_or_refused(create, lambda i: records.get_triage_session(db, i).answers["notes"], "answers",
                      value)
    session = TriageSession(mini_module, answers={"self_harm": "no"})
    session_id = records.create_triage_session(db, contact_id=contact_id, module=ref,
                                               answers=session.answers,
                                               outcome=session.outcome.as_dict(), complete=True,
                                               by="pat")

    def override(text):
        records.override_outcome(db, session_id, route="camhs", urgency="urgent", reason=text, by="pat")
        return session_id

    stored_or_refused(override, lambda i: records.get_triage_session(db, i).override_reason,
                      "override_reason", value)
