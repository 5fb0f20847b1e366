"""A synthetic desk for pictures and trials: a store full of made-up children, calls,
referrals and advice requests in every state the screens show.

Used by ``make screenshots`` (ui/screenshots.py). Everything here is invented: names in
several scripts, NHS numbers from the 999 test range, Ofcom drama phone numbers, the
fictional Riverside and Hillford hub and its example service directory. It goes through
the desk's own core functions, as a practitioner, supervisors and an administrator would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spoa import advice, desk
from spoa.letters import directory, outbox, referrals
from spoa.letters.outbox import FolderTransport
from spoa.model import ReferrerType
from spoa.roles import Role
from spoa.rules.catalog import discover
from spoa.store.keys import MINIMUM_KDF
from spoa.store.records import ChildDraft, ContactDraft
from spoa.store.store import Store
from spoa.synthetic import EMERGENCY_ANSWERS, ROUTINE_ANSWERS, synthetic_nhs_number

PASSWORDS = {  # synthetic accounts of the demo desk only
    "admin": "demo desk keeper 1",
    "pat": "demo practitioner pass 1",
    "sam": "demo supervisor pass 1",
    "sue": "demo supervisor pass 2",
}
PEOPLE = {"pat": ("Pat Okafor", Role.PRACTITIONER), "sam": ("Sam Lindqvist", Role.SUPERVISOR),
          "sue": ("Sue Second", Role.SUPERVISOR)}

ROUTINE = {**ROUTINE_ANSWERS, "parent_consent": "yes",  # children under 11 need a parent's consent
           "consent_notes": "Young person and parent agree to a referral."}
EMERGENCY = {**EMERGENCY_ANSWERS, "parent_consent": "yes", "consent_notes": ROUTINE["consent_notes"]}
CHILDREN = [  # given, family, age, postcode, school
    ("Zoë", "Example", 14, "ZZ1 2AB", "Riverside Academy"),
    ("Siobhán", "Ó Briain", 15, "ZZ2 4QX", "Riverside Academy"),
    ("Łucja", "Wiśniewska", 12, "ZZ1 5LN", "Mill Lane Primary"),
    ("Ștefan", "Popescu", 16, "ZZ3 1GH", "Ashdown Community College"),
    ("Thảo", "Trần", 13, "ZZ6 2RT", "Hillford High School"),
    ("Dmitri", "Ivanova", 11, "ZZ7 3DF", "Hillford High School"),
    ("Aoife", "Synthetic", 9, "ZZ1 2AB", "Mill Lane Primary"),
    ("Noor", "Sample", 17, "ZZ4 6WX", "Ashdown Community College"),
    ("Kit", "Testcase", 10, "ZZ2 7HJ", "Mill Lane Primary"),
]


@dataclass
class DemoDesk:
    folder: Path
    outbox_folder: Path

    def open_as(self, username: str) -> Store:
        return Store.unlock(self.folder, username, PASSWORDS[username])


def _contact(index: int, received: datetime, referrer: ReferrerType = ReferrerType.GP) -> ContactDraft:
    given, family, age, postcode, school = CHILDREN[index % len(CHILDREN)]
    today = received.date()
    born = today.replace(year=today.year - age, day=min(today.day, 28))
    return ContactDraft(
        referrer_type=referrer, referrer_name="Dr Ada Patel", referrer_organisation="Mill Lane Surgery",
        referrer_contact="01632 960555", received_at=received,
        consent={"status": "given", "given_by": "parent"},
        child=ChildDraft(given, family, date_of_birth=born.isoformat(),
                         nhs_number=synthetic_nhs_number(index * 7),
                         postcode=postcode, school=school, gp_practice="Mill Lane Surgery",
                         carers=[{"name": "Alex Carer", "relationship": "parent", "phone": "07700 900123"}]))


def build(folder: Path, outbox_folder: Path, *, now: datetime | None = None) -> DemoDesk:
    """Create the demo store in ``folder`` (which must not hold one) and fill it."""
    now = now or datetime.now(UTC)
    admin, _code = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                              admin_password=PASSWORDS["admin"], use_keyring=False, kdf=MINIMUM_KDF)
    with admin:
        directory.import_file(admin, directory.example_directory_path())
        for name, (display, role) in PEOPLE.items():
            admin.add_user(name, display, role, "temporary pass 1")
    for name in PEOPLE:
        with Store.unlock(folder, name, "temporary pass 1") as first:
            first.change_password("temporary pass 1", PASSWORDS[name])
    demo = DemoDesk(Path(folder), Path(outbox_folder))
    demo.outbox_folder.mkdir(parents=True, exist_ok=True)
    module = discover().get("camhs_general")
    with demo.open_as("pat") as pat, demo.open_as("sam") as sam, demo.open_as("sue") as sue:
        def decided(index: int, answers: dict, hours_ago: float) -> str:
            added = desk.add_contact(pat, _contact(index, now - timedelta(hours=hours_ago)),
                                     module=module, answers=answers)
            desk.confirm_outcome(pat, added.triage.session_id)
            return added.triage.session_id

        def referral(session_id: str, reason: str):
            choices = referrals.service_choices(pat, session_id)
            return referrals.create_referral(pat, session_id, choices.matches[0].service.id, reason=reason)

        # A call in progress: the emergency answers half given, not yet decided.
        partial = {key: EMERGENCY[key] for key in ("presenting_needs", "suicidal_thoughts", "suicide_plan")}
        desk.add_contact(pat, _contact(0, now - timedelta(minutes=40)), module=module, answers=partial)
        # Awaiting approval: three, of different urgencies.
        for index, answers, hours, why in ((1, ROUTINE, 30, "Anxiety affecting school attendance."),
                                           (2, ROUTINE, 70, "Sleep and worry for ten weeks."),
                                           (3, ROUTINE, 5, "Low mood and withdrawal.")):
            submitted = referral(decided(index, answers, hours), why)
            referrals.submit(pat, submitted.id)
        # Returned to the practitioner with a reason.
        returned = referral(decided(4, ROUTINE, 50), "Worries at school.")
        referrals.submit(pat, returned.id)
        referrals.return_referral(sam, returned.id, "Please add what school has already tried.")
        # Approved and sent to the outbox folder.
        approved = referral(decided(5, ROUTINE, 26), "Needs assessment of attention.")
        referrals.submit(pat, approved.id)
        referrals.approve(sam, approved.id, "Agreed.")
        outbox.send_referral(sam, approved.id, FolderTransport(demo.outbox_folder))
        # An emergency sent at once, waiting for a supervisor's review.
        emergency = referral(decided(6, EMERGENCY, 2), "Plan and means to end their life tonight.")
        outbox.send_referral(pat, emergency.id, FolderTransport(demo.outbox_folder), before_review=True,
                             reason="Crisis team phoned; letter sent at once.")
        # Approved by the second supervisor, letter not yet sent.
        waiting = referral(decided(7, ROUTINE, 20), "Long-standing anxiety.")
        referrals.submit(pat, waiting.id)
        referrals.approve(sue, waiting.id)
        # Advice requests from a GP and a school nurse.
        for index, referrer, question, soon in (
                (8, ReferrerType.GP, "Sleep diary first, or refer now?", "routine"),
                (2, ReferrerType.SCHOOL_NURSE, "How best to support a pupil refusing lunch?", "today")):
            advice.record_request(
                pat, advice.AdviceDraft(question=question, context="Synthetic context for the demo desk.",
                                        tried="School pastoral support.", how_soon=soon,
                                        conversion_authorised=True),
                contact=_contact(index, now - timedelta(hours=3), referrer))
    return demo
