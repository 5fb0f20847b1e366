"""The synthetic world that store, letter, CLI and desktop tests work in: a test service
directory, the shipped camhs_general module's answers for a routine and an emergency
call, and builders for a decided triage session and an approved referral. All people,
places and NHS numbers are synthetic (999 test range)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from spoa import desk
from spoa.letters import directory, referrals
from spoa.model import ReferrerType
from spoa.roles import Role
from spoa.rules.catalog import discover
from spoa.store.keys import MINIMUM_KDF
from spoa.store.records import ChildDraft, ContactDraft
from spoa.store.store import Store
from spoa.synthetic import (  # noqa: F401 (the tests import them from here)
    EMERGENCY_ANSWERS,
    ROUTINE_ANSWERS,
    VERY_URGENT_ANSWERS,
)
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD, SUPERVISOR_PASSWORD

RECEIVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOSTILE = 'A & B <x@y> <img src="/etc/passwd"> <a href="http://x">link</a> <font size=99> <b>'

DIRECTORY_CSV = """\
id,kind,name,team,address,secure_email,phone,age_min,age_max,postcode_districts,schools,urgencies,active
camhs-crisis,camhs,Test CAMHS Crisis,Crisis Team,1 Rd,crisis@c.ex,,0,17,,,emergency; very_urgent; urgent,yes
camhs-core,camhs,Test CAMHS,Getting Help,2 Core Road,core@camhs.example,,5,17,,,urgent; routine,yes
camhs-under-fives,camhs,Test Under Fives,,3 Small Road,u5@camhs.example,,0,4,,,urgent; routine,yes
camhs-retired,camhs,Retired CAMHS,,4 Old Rd,old@camhs.ex,,0,17,,,emergency; very_urgent; urgent; routine,no
school-nursing,school_nursing,Test School Nursing,5-19,5 Nurse Rd,sn@nhs.ex,,5,19,,,urgent; routine,yes
open-door,voluntary_sector,Open Door,Counselling,6 Door Road,od@vol.example,,11,25,,,routine,yes
"""



# -- the world these tests work in ---------------------------------------------------------------

@functools.cache
def camhs_general():
    return discover().get("camhs_general")


@pytest.fixture(scope="module")
def desk_world(tmp_path_factory):
    """One store for the module (unlocking is slow by design): an admin who imported the
    test directory, a practitioner and a supervisor, each logged in once."""
    folder = tmp_path_factory.mktemp("referrals") / "store"
    admin, _ = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                          admin_password=ADMIN_PASSWORD, use_keyring=False, kdf=MINIMUM_KDF)
    csv_file = folder.parent / "directory.csv"
    csv_file.write_text(DIRECTORY_CSV, encoding="utf-8")
    directory.import_file(admin, csv_file)
    opened = {"admin": admin}
    for name, display, role, password in (
            ("pat", "Pat Practitioner", Role.PRACTITIONER, PRACTITIONER_PASSWORD),
                                          ("sam", "Sam Supervisor", Role.SUPERVISOR, SUPERVISOR_PASSWORD)):
        admin.add_user(name, display, role, "temporary pass 1")
        store = Store.unlock(folder, name, "temporary pass 1")
        store.change_password("temporary pass 1", password)
        opened[name] = store
    yield opened
    for store in opened.values():
        store.lock()


def contact_draft(*, given="Zoë", family="Referralchild", dob="2012-03-04", received=RECEIVED,
                  consent=None) -> ContactDraft:
    return ContactDraft(
        referrer_type=ReferrerType.GP, referrer_name="Dr Test", referrer_organisation="Test Surgery",
        referrer_contact="01632 960001", received_at=received,
        consent=consent if consent is not None else {"status": "given", "given_by": "parent"},
        child=ChildDraft(given, family, date_of_birth=dob, nhs_number="999 876 5439",
                         postcode="ZZ1 1AA", school="Testtown Academy", gp_practice="Test Surgery",
                         carers=[{"name": "Alex Carer", "relationship": "mother", "phone": "07700 900123"}]))


def decided_session(pat, *, answers=None, override=None, **draft) -> str:
    """A contact with a triage session on camhs_general, confirmed (or overridden)."""
    module = camhs_general()
    added = desk.add_contact(pat, contact_draft(**draft), module=module, answers=answers or ROUTINE_ANSWERS)
    session_id = added.triage.session_id
    if override:
        desk.override_outcome(pat, session_id, *override)
    else:
        desk.confirm_outcome(pat, session_id)
    return session_id


def approved_referral(world, **kwargs) -> str:
    pat, sam = world["pat"], world["sam"]
    session_id = decided_session(pat, override=("camhs", "routine", "Clinical view: CAMHS is better placed"),
                                 **kwargs)
    referral = referrals.create_referral(pat, session_id, "camhs-core", reason="Low mood " + HOSTILE)
    referrals.submit(pat, referral.id)
    referrals.approve(sam, referral.id)
    return referral.id


PASSWORDS = {"admin": ADMIN_PASSWORD, "pat": PRACTITIONER_PASSWORD, "sam": SUPERVISOR_PASSWORD}


@pytest.fixture
def desk_as(qtbot, desk_world):
    """desk_as(username) -> a ui.session.DeskSession signed in to the module's world as
    admin, pat (practitioner) or sam (supervisor), with its own connection; locked after."""
    from ui.session import DeskSession

    folder = desk_world["admin"].folder
    sessions = []

    def make(username: str) -> DeskSession:
        session = DeskSession(folder)
        session.adopt(Store.unlock(folder, username, PASSWORDS[username]))
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.lock()


@pytest.fixture
def staffed_desk_as(qtbot, staffed_store, store_folder):
    """staffed_desk_as(username) -> a DeskSession signed in as admin, pat or sam on a fresh
    store of this test's own (conftest's staffed_store), for tests that add, reset or
    deactivate users, fail logins or change settings without touching the module's shared
    desk_world. Slower than desk_as (a store per test)."""
    from ui.session import DeskSession

    sessions = []

    def make(username: str) -> DeskSession:
        session = DeskSession(store_folder)
        session.adopt(staffed_store(username))
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.lock()


@pytest.fixture
def problems(monkeypatch):
    """The messages the desk showed with ui.problems.ProblemDialog (replaced: no modal box)."""
    from ui.problems import ProblemDialog

    shown: list[str] = []
    monkeypatch.setattr(ProblemDialog, "show", classmethod(lambda cls, title, message: shown.append(message)))
    return shown
