"""Editing one service at a time (the directory editor's core): checked as a CSV row is,
audited as an import is, administrators only; and choosing the service an advice request
is converted to."""

from __future__ import annotations

from datetime import date

import pytest

from spoa import advice
from spoa.advice import AdviceDraft
from spoa.letters import directory
from spoa.letters.directory import DirectoryError, Service, ServiceRejected, service_values
from spoa.model import ReferrerType, Route, Urgency
from spoa.roles import NotAllowed
from spoa.store.records import ChildDraft, ContactDraft, InvalidField

NEW = Service(id="brook-counselling", kind=Route.VOLUNTARY_SECTOR, name="Brook Counselling",
              team="Young People", address="1 Brook Lane\nTesttown ZZ1 1AA",
              secure_email="help@brook.example",
              age_min=11, age_max=18, postcode_districts=("ZZ1",), urgencies=(Urgency.ROUTINE,))


def service_audit(store) -> list[tuple]:
    return store.db.execute("SELECT username, action, record_id, outcome FROM audit "
                            "WHERE record_type = 'service' ORDER BY seq").fetchall()


def test_save_adds_then_changes_a_service_and_audits_each_change(staffed_store):
    with staffed_store("admin") as store:
        assert directory.save_service(store, NEW, new=True) == NEW
        changed = directory.save_service(store, {**service_values(NEW), "age_max": "19", "team": "  Youth  "})
        assert (changed.age_max, changed.team) == (19, "Youth")
        directory.save_service(store, changed)  # the same again: nothing to audit
        assert directory.list_services(store) == [changed]
        assert service_audit(store) == [("admin", "create", "brook-counselling", "ok"),
                                        ("admin", "update", "brook-counselling", "ok")]
        assert store.verify_audit().intact


def test_a_new_id_must_be_free_and_a_change_must_name_a_service(staffed_store):
    with staffed_store("admin") as store:
        directory.save_service(store, NEW, new=True)
        with pytest.raises(DirectoryError, match="already a service with the id 'brook-counselling'"):
            directory.save_service(store, NEW, new=True)
        with pytest.raises(DirectoryError, match="no service with the id 'elsewhere' to change"):
            directory.save_service(store, {**service_values(NEW), "id": "elsewhere"})
        assert [s.id for s in directory.list_services(store)] == ["brook-counselling"]


def test_a_bad_service_names_every_field_and_saves_nothing(staffed_store):
    with staffed_store("admin") as store:
        values = {**service_values(NEW), "kind": "hospital", "age_min": "x", "secure_email": "no at sign"}
        with pytest.raises(ServiceRejected) as caught:
            directory.save_service(store, values, new=True)
        columns = [p.column for p in caught.value.problems]
        assert columns == ["kind", "secure_email", "age_min"]
        assert "kind: must be one of camhs, school_nursing, voluntary_sector" in str(caught.value)
        assert directory.list_services(store) == []
        assert service_audit(store) == []


def test_set_active_retires_and_restores_a_service(staffed_store):
    with staffed_store("admin") as store:
        directory.save_service(store, NEW, new=True)
        assert directory.set_active(store, "Brook-Counselling", False).active is False
        assert directory.list_services(store, active_only=True) == []
        assert directory.set_active(store, "brook-counselling", False).active is False  # no change
        assert directory.set_active(store, "brook-counselling", True).active is True
        assert [a for _, a, _, _ in service_audit(store)] == ["create", "update", "update"]
        with pytest.raises(DirectoryError, match="no service with the id 'nowhere'"):
            directory.set_active(store, "nowhere", True)


def test_only_an_administrator_edits_a_service_and_refusals_are_audited(staffed_store):
    with staffed_store("admin") as store:
        directory.save_service(store, NEW, new=True)
    for username in ("pat", "sam"):
        with staffed_store(username) as store:
            with pytest.raises(NotAllowed, match="cannot manage the service directory"):
                directory.save_service(store, {**service_values(NEW), "name": "Renamed"})
            with pytest.raises(NotAllowed):
                directory.set_active(store, "brook-counselling", False)
            assert directory.list_services(store) == [NEW]  # they may still read it
    with staffed_store("admin") as store:
        denied = [(who, action) for who, action, _, outcome in service_audit(store) if outcome == "denied"]
        assert denied == [("pat", "update"), ("pat", "update"), ("sam", "update"), ("sam", "update")]


# -- choosing the service for an advice request's conversion ---------------------------------

def test_conversion_choices_match_the_request_child_and_explain_none(staffed_store):
    with staffed_store("admin") as store:
        directory.save_service(store, NEW, new=True)
        directory.save_service(store, Service(id="camhs-core", kind=Route.CAMHS, name="Core CAMHS",
                                              secure_email="core@camhs.example", age_min=5, age_max=17,
                                              urgencies=(Urgency.URGENT, Urgency.ROUTINE)), new=True)
    with staffed_store("pat") as store:
        contact = ContactDraft(referrer_type=ReferrerType.GP, referrer_name="Dr Test",
                               child=ChildDraft("Ada", "Choicechild", date_of_birth="2012-03-04",
                                                postcode="ZZ1 2AB"))
        request = advice.record_request(store, AdviceDraft(question="Refer?", conversion_authorised=True),
                                        contact=contact).request
        today = date(2026, 11, 22)  # the child is 14
        voluntary = advice.conversion_choices(store, request.id, "voluntary_sector", "routine", today=today)
        assert [m.service.id for m in voluntary.matches] == ["brook-counselling"]
        assert voluntary.child_age == 14
        camhs = advice.conversion_choices(store, request.id, Route.CAMHS, Urgency.EMERGENCY, today=today)
        assert camhs.matches == ()
        assert "emergency" in camhs.message
        with pytest.raises(InvalidField, match="route: must be one of"):
            advice.conversion_choices(store, request.id, "hospital", "routine")
        assert advice.get_request(store.db, request.id).referral_id is None  # nothing changed
