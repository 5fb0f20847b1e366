"""A triage call as the desk runs it: the caller's and child's details checked as they
are typed, the rule module suggested for the child's age and the caller, children on
record who may be this child found before anything is saved, and a saved call picked up
again with the module it was started with.

The UI's triage page and any other front end call these; the storing itself is
spoa.desk's (add_contact, save_triage, resume_triage, confirm/override).
Messages name the field and say what to do; they never repeat what was typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from spoa import desk, nhs
from spoa.advice import ADVICE_MODULE_ID
from spoa.letters import referrals
from spoa.letters.formatting import long_date
from spoa.letters.referrals import Referral
from spoa.model import ReferrerType
from spoa.roles import Permission
from spoa.rules.module import RuleModule
from spoa.rules.questions import Question, QuestionType
from spoa.rules.session import TriageSession
from spoa.store import records, search
from spoa.store.records import (
    LINE_LIMIT,
    NAME_LIMIT,
    Child,
    ChildDraft,
    Contact,
    ContactDraft,
    InvalidField,
    RecordError,
    TriageRecord,
    clean_date,
    clean_text,
)
from spoa.store.search import PossibleDuplicate
from spoa.store.store import Store

__all__ = [
    "CALLER_PHRASES",
    "CARER_FIELDS",
    "CONSENT_BY",
    "CONSENT_STATUSES",
    "DETAIL_FIELDS",
    "REFERRER_LABELS",
    "FieldCheck",
    "ModuleFit",
    "ModuleSuggestion",
    "ResumedCall",
    "build_draft",
    "carers_as_text",
    "carers_from_text",
    "check_carer_field",
    "check_details",
    "check_field",
    "child_age",
    "consent_in_words",
    "find_possible_duplicates",
    "module_fit",
    "parse_answer",
    "referrals_of_session",
    "resume_call",
    "suggest_module",
]

REFERRER_LABELS = {
    ReferrerType.GP: "GP",
    ReferrerType.SCHOOL_NURSE: "School nurse",
    ReferrerType.PARENT: "Parent or carer",
    ReferrerType.SELF: "The young person themselves",
    ReferrerType.POLICE: "Police",
    ReferrerType.SOCIAL_CARE: "Social care",
    ReferrerType.OTHER_PROFESSIONAL: "Other professional",
}
CALLER_PHRASES = {
    ReferrerType.GP: "a GP", ReferrerType.SCHOOL_NURSE: "a school nurse",
    ReferrerType.PARENT: "a parent or carer", ReferrerType.SELF: "the young person themselves",
    ReferrerType.POLICE: "the police", ReferrerType.SOCIAL_CARE: "social care",
    ReferrerType.OTHER_PROFESSIONAL: "another professional",
}
CONSENT_STATUSES = {"given": "Given", "refused": "Refused", "not_asked": "Not asked yet"}
CONSENT_BY = {"": "—", "young_person": "The young person", "parent_or_carer": "A parent or carer",
              "both": "The young person and a parent or carer"}


def consent_in_words(consent: Mapping[str, object]) -> list[str]:
    """A contact's consent as a person reads it, one line per entry: 'Given', 'given by: a
    parent or carer', 'date: 20 November 2026'; entries the desk does not know keep their
    own words (a contact file may name any)."""
    lines = []
    for key, value in consent.items():
        if value in (None, "", [], {}):
            continue
        if key == "status":
            lines.append(CONSENT_STATUSES.get(str(value), str(value).replace("_", " ").capitalize()))
            continue
        if key == "given_by":
            text = CONSENT_BY.get(str(value), str(value).replace("_", " ")).lower()
        elif isinstance(value, date) or key == "date":
            try:
                text = long_date(value if isinstance(value, date) else date.fromisoformat(str(value)))
            except ValueError:
                text = str(value)
        elif isinstance(value, list):
            text = ", ".join(map(str, value))
        else:
            text = str(value)
        lines.append(f"{str(key).replace('_', ' ')}: {text}")
    return lines or ["not recorded"]

# Every field of the details form: (label, required).
DETAIL_FIELDS = {
    "referrer_type": ("Who is calling", True),
    "referrer_name": ("Caller's name", False),
    "referrer_organisation": ("Caller's organisation", False),
    "referrer_contact": ("Caller's phone or email", False),
    "given_name": ("Child's given name", True),
    "family_name": ("Child's family name", True),
    "date_of_birth": ("Date of birth", True),
    "nhs_number": ("NHS number", False),
    "address": ("Address", False),
    "postcode": ("Postcode", False),
    "school": ("School or nursery", False),
    "gp_practice": ("GP practice", False),
}
_TEXT_LIMITS = {"referrer_name": NAME_LIMIT, "referrer_organisation": NAME_LIMIT,
                "referrer_contact": LINE_LIMIT, "given_name": NAME_LIMIT, "family_name": NAME_LIMIT,
                "address": LINE_LIMIT, "school": NAME_LIMIT, "gp_practice": NAME_LIMIT}
# Each parent or carer of the child, with the fields a contact file's `carers` entries
# have (spoa.store.children checks both): (label, required).
CARER_FIELDS = {
    "name": ("Name", True),
    "relationship": ("Relationship to the child", False),
    "phone": ("Phone", False),
}


# -- details as they are typed ------------------------------------------------------------------

@dataclass(frozen=True)
class FieldCheck:
    """One field as typed: its stored form, what is wrong with it, and a note worth showing
    (the age worked out from a date of birth, the NHS test-range warning)."""

    value: object = None
    problem: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def check_field(name: str, text: str, *, today: date | None = None) -> FieldCheck:
    """Check one field of the details form (see DETAIL_FIELDS)."""
    label, required = DETAIL_FIELDS[name]
    text = text or ""
    if not text.strip():
        return FieldCheck(None, f"{label} is required." if required else "")
    try:
        if name == "referrer_type":
            return FieldCheck(ReferrerType(text.strip()))
        if name == "nhs_number":
            checked = nhs.parse_nhs_number(text)
            return FieldCheck(checked.digits, note=checked.warning or "Valid NHS number.")
        if name == "postcode":
            return FieldCheck(nhs.parse_postcode(text))
        if name == "date_of_birth":
            return _date_of_birth(text, today or datetime.now(UTC).date())
        single_line = name not in ("address", "referrer_contact")
        return FieldCheck(clean_text(text, name, limit=_TEXT_LIMITS[name], single_line=single_line))
    except ValueError as exc:  # ReferrerType, NhsNumberError, PostcodeError, InvalidField
        if isinstance(exc, InvalidField):
            return FieldCheck(None, f"{label} {exc.problem}.")
        if name == "referrer_type":
            return FieldCheck(None, f"{label}: choose one of the listed kinds of caller.")
        return FieldCheck(None, str(exc))


def check_carer_field(field_name: str, text: str, *, index: int = 0) -> FieldCheck:
    """Check one field of the ``index``-th parent or carer (0 for the first; see CARER_FIELDS),
    as the contact file reader checks a `carers` entry."""
    label, required = CARER_FIELDS[field_name]
    who = f"Parent or carer {index + 1}: {label.lower()}"
    text = text or ""
    if not text.strip():
        return FieldCheck(None, f"{who} is required." if required else "")
    try:
        return FieldCheck(records.clean_carer_field(field_name, text, index=index))
    except InvalidField as exc:
        return FieldCheck(None, f"{who} {exc.problem}.")


def _blank_carer(carer: Mapping[str, str]) -> bool:
    """A row added on the form and left empty: nothing to keep, nothing to check."""
    return not any(str(carer.get(name) or "").strip() for name in CARER_FIELDS)


def carers_as_text(carers: Sequence[Mapping[str, str]]) -> str:
    """The parents or carers as typed, as one piece of text a form draft keeps (spoa.drafts);
    empty rows left out, and "" when there are none."""
    kept = [{name: str(carer.get(name) or "") for name in CARER_FIELDS} for carer in carers
            if not _blank_carer(carer)]
    return json.dumps(kept, ensure_ascii=False) if kept else ""


def carers_from_text(text: str) -> list[dict[str, str]]:
    """Parents or carers kept by carers_as_text, read back; anything else gives none."""
    try:
        kept = json.loads(text) if text else []
    except ValueError:
        return []
    if not isinstance(kept, list):
        return []
    return [{name: str(item.get(name) or "") for name in CARER_FIELDS} for item in kept
            if isinstance(item, dict)]


def _date_of_birth(text: str, today: date) -> FieldCheck:
    born = date.fromisoformat(clean_date(text, "date_of_birth", not_after=today))
    age = records.age_on(born, today)
    if age > 25:
        return FieldCheck(None, f"Date of birth makes the child {age}; the hub sees children and young "
                                "people up to 25. Check the year.")
    years = "year" if age == 1 else "years"
    return FieldCheck(born, note=f"Age {age} {years} (born {born:%d %b %Y}).")


def child_age(date_of_birth: str, *, today: date | None = None) -> int | None:
    """The age in whole years from a date of birth as typed, or None if it is not a valid one."""
    today = today or datetime.now(UTC).date()
    born = check_field("date_of_birth", date_of_birth, today=today).value
    return records.age_on(born, today) if born else None


def check_details(values: Mapping[str, str], *, today: date | None = None) -> dict[str, FieldCheck]:
    """Every field of the form checked; missing keys count as empty."""
    return {name: check_field(name, values.get(name, ""), today=today) for name in DETAIL_FIELDS}


def build_draft(values: Mapping[str, str], consent: Mapping[str, str] | None = None, *,
                carers: Sequence[Mapping[str, str]] = (), child_id: str | None = None,
                received_at: datetime | None = None, today: date | None = None) -> ContactDraft:
    """The contact to store from the form (a new child with its parents or carers, or
    ``child_id`` on record, whose own are kept). Rows of ``carers`` left empty are skipped.
    Raises InvalidField for the first field that is wrong."""
    checks = check_details(values, today=today)
    wanted = ["referrer_type", "referrer_name", "referrer_organisation", "referrer_contact"]
    if child_id is None:
        wanted += [n for n in DETAIL_FIELDS if n not in wanted]
    for name in wanted:
        if checks[name].problem:
            raise InvalidField(name, checks[name].problem[0].lower() + checks[name].problem[1:])

    def value(name: str) -> str:
        return checks[name].value or ""

    child = None
    if child_id is None:
        people = tuple({name: records.clean_carer_field(name, carer.get(name), index=index)
                        for name in CARER_FIELDS}
                       for index, carer in enumerate(carers) if not _blank_carer(carer))
        child = ChildDraft(value("given_name"), value("family_name"),
                           date_of_birth=checks["date_of_birth"].value,
                           nhs_number=checks["nhs_number"].value, address=value("address"),
                           postcode=value("postcode"), school=value("school"),
                           gp_practice=value("gp_practice"), carers=people)
    return ContactDraft(referrer_type=checks["referrer_type"].value, child=child, child_id=child_id,
                        referrer_name=value("referrer_name"),
                        referrer_organisation=value("referrer_organisation"),
                        referrer_contact=value("referrer_contact"), received_at=received_at,
                        consent={k: v for k, v in (consent or {}).items() if v})


def find_possible_duplicates(store: Store, child: ChildDraft) -> list[PossibleDuplicate]:
    """Children on record who may be this child, before anything is stored (as
    desk.add_contact finds them), so the practitioner can pick the one on record."""
    store.authorise(Permission.VIEW_RECORDS, "search", "child")
    row = records.child_row(child)
    found = search.possible_duplicates(store.db, given_name=row["given_name"], family_name=row["family_name"],
                                       date_of_birth=row["date_of_birth"], nhs_number=row["nhs_number"])
    store.audit("search", "child")
    for duplicate in found:
        store.audit("view", "child", duplicate.child_id)
    return found


# -- which module -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModuleFit:
    module: RuleModule
    fits: bool
    why: str  # in words: why it fits, or why not


@dataclass(frozen=True)
class ModuleSuggestion:
    suggested: RuleModule | None
    why: str
    fits: tuple[ModuleFit, ...]  # every module considered, suggested first, unfit last


def module_fit(module: RuleModule, child_age: int | None, referrer: ReferrerType | str | None) -> ModuleFit:
    """Whether a module is meant for this child's age and this kind of caller."""
    referrer = ReferrerType(referrer) if referrer else None
    if child_age is not None and not module.age_min <= child_age <= module.age_max:
        ages = f"for ages {module.age_min} to {module.age_max}"
        return ModuleFit(module, False, f"{ages}; the child is {child_age}")
    if referrer is not None and module.referrers and referrer not in module.referrers:
        return ModuleFit(module, False, f"not for calls from {CALLER_PHRASES[referrer]}")
    age = f"age {child_age}" if child_age is not None else "any age (the age is not known yet)"
    caller = CALLER_PHRASES[referrer] if referrer else "any caller"
    return ModuleFit(module, True, f"covers {age} and calls from {caller}")


# Callers whose question may be a professional's advice request (CLINICAL.md, principle 10).
PROFESSIONAL_CALLERS = (ReferrerType.GP, ReferrerType.SCHOOL_NURSE, ReferrerType.OTHER_PROFESSIONAL)


def suggest_module(modules: Iterable[RuleModule], *, child_age: int | None,
                   referrer: ReferrerType | str | None, kind: str = "triage",
                   asking_for_advice: bool = False) -> ModuleSuggestion:
    """The module to start a call with: one whose age range and callers include this child
    and caller. Among those, the most specific wins (narrowest age range, then fewest kinds
    of caller), then one signed off locally over a draft, then the fullest (most questions),
    then the id.

    A professional (a GP, a school nurse, another professional) asking what to do is an
    advice request, answered by a clinician (CLINICAL.md, principle 10): with
    ``asking_for_advice`` the advice-request module is suggested when it fits. Otherwise a
    triage call never suggests it, though the practitioner may still choose it."""
    modules = list(modules)
    professional = referrer is not None and ReferrerType(referrer) in PROFESSIONAL_CALLERS
    if asking_for_advice and professional:
        advice = next((m for m in modules if m.id == ADVICE_MODULE_ID), None)
        fit = module_fit(advice, child_age, referrer) if advice is not None else None
        if fit is not None and fit.fits:
            others = [module_fit(m, child_age, referrer) for m in modules if m is not advice]
            return ModuleSuggestion(advice, f"Suggested: {advice.title}: a professional asking what to do "
                                            "is an advice request, answered by a clinician.",
                                    (fit, *others))
    considered = [m for m in modules if kind != "triage" or m.id != ADVICE_MODULE_ID]
    fits = [module_fit(m, child_age, referrer) for m in considered]

    def rank(fit: ModuleFit):
        m = fit.module
        return (not fit.fits, m.age_max - m.age_min, len(m.referrers) or len(ReferrerType),
                not m.sign_off.approved, -len(m.questions), m.id)

    fits.sort(key=rank)
    extra = [module_fit(m, child_age, referrer) for m in modules if m not in considered]
    if not fits or not fits[0].fits:
        return ModuleSuggestion(None, "No module is meant for this child's age and this caller; choose one "
                                      "yourself, or ask for a module that fits.", tuple(fits + extra))
    best = fits[0]
    return ModuleSuggestion(best.module, f"Suggested: {best.module.title}, which {best.why}.",
                            tuple(fits + extra))


# -- answers as typed ---------------------------------------------------------------------------

def parse_answer(question: Question, text: str) -> object:
    """An answer typed as text, in the form the session takes; dates also as DD/MM/YYYY.
    Raises AnswerError (via Question.coerce) saying what the question takes."""
    if question.type is QuestionType.DATE and text.strip() and "/" in text:
        try:
            return date.fromisoformat(clean_date(text, question.id))
        except InvalidField:
            pass
    return question.coerce(text)


# -- picking a call up again ---------------------------------------------------------------------

@dataclass(frozen=True)
class ResumedCall:
    contact: Contact
    child: Child
    record: TriageRecord
    session: TriageSession  # re-evaluated with the module it was started with


def referrals_of_session(store: Store, session_id: str) -> list[Referral]:
    """The referrals made from a triage session, oldest first (a call opened again shows
    the one under way instead of offering to make another)."""
    store.authorise(Permission.VIEW_RECORDS, "view", "referral")
    rows = store.db.execute("SELECT id FROM referrals WHERE session_id = ? ORDER BY created_at, id",
                            [session_id]).fetchall()
    found = [referrals.get_referral(store.db, row[0]) for row in rows]
    for referral in found:
        store.audit("view", "referral", referral.id)
    return found


def resume_call(store: Store, modules: Mapping[str, RuleModule], *, session_id: str | None = None,
                contact_id: str | None = None) -> ResumedCall:
    """A saved call (by session, or the contact's latest session) with its contact, child
    and answers, re-evaluated with the exact module it was started with."""
    if (session_id is None) == (contact_id is None):
        raise RecordError("Give either the triage session or the contact to resume.")
    if session_id is not None:
        store.authorise(Permission.RUN_TRIAGE, "view", "triage_session", session_id)
        contact_id = records.get_triage_session(store.db, session_id).contact_id
    view = desk.view_contact(store, contact_id)
    if not view.sessions:
        raise RecordError(f"Contact {contact_id} has no triage session to resume; start a new call.")
    record = next((s for s in view.sessions if s.id == session_id), view.sessions[-1])
    module = modules.get(record.module.id)
    if module is None:
        raise RecordError(f"The rule module '{record.module.id}' ({record.module.version}) this call was "
                          "started with is not installed or does not load on this desk, so the call cannot "
                          "be continued here. 'Rule modules' shows what is installed.")
    session = desk.resume_triage(store, record.id, module)
    return ResumedCall(view.contact, view.child, record, session)
