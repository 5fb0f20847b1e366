"""``spoa contact add|list|show|search``: contacts from the command line.

``spoa contact add --file F`` reads a YAML contact file (the child, the referrer, consent,
the rule module and the answers; examples/contact.yaml shows every field), checks all of
it before asking for a password, then stores the contact with its evaluated triage
outcome in one transaction and prints the contact's id and any possible duplicate child.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spoa import call, desk, nhs, worklist
from spoa.cli.access import add_store_arguments
from spoa.cli.access import open_store as _open_store
from spoa.cli.common import (
    EXIT_OK,
    BadInput,
    FileProblems,
    check_known_keys,
    desk_errors,
    field_path,
    read_child,
    read_input_file,
)
from spoa.model import ReferrerType
from spoa.rules.catalog import discover
from spoa.rules.errors import AnswersRejected
from spoa.rules.module import RuleModule
from spoa.rules.session import TriageSession
from spoa.store import records
from spoa.store.records import ContactDraft, ContactSummary, InvalidField
from spoa.store.store import Store

FILE_KEYS = ("child", "child_id", "referrer", "source_of_referral", "received_at", "consent", "kind",
             "status", "module", "answers")
REFERRER_KEYS = ("type", "name", "organisation", "contact")
OPEN_STATUSES = ("open", "triaged")  # still waiting for the desk (as on Today)
# Where each contact field sits in the file.
_CONTACT_FIELD_PATHS = {
    "referrer_type": ("referrer", "type"),
    "referrer_name": ("referrer", "name"),
    "referrer_organisation": ("referrer", "organisation"),
    "referrer_contact": ("referrer", "contact"),
}


def open_store(args) -> Store:
    """Unlock the store for one command (``--data-dir``/SPOA_DATA_DIR, SPOA_USER,
    SPOA_PASSWORD or ``--password-stdin``, else a prompt). Every failure to unlock
    (UnlockFailed, LockedOut, DeviceSecretMissing, any StoreError, a damaged slot file, no
    keyring) becomes a BadInput with the store's own message; one implementation serves
    every store command (spoa.cli.access)."""
    return _open_store(args)


def add_commands(commands) -> None:
    contact = commands.add_parser("contact", help="contacts: add from a file, list, show, search")
    contact_commands = contact.add_subparsers(title="contact commands")

    add = contact_commands.add_parser(
        "add", help="store a contact from a YAML file with its evaluated triage outcome")
    add.add_argument("--file", required=True, type=Path,
                     help="the contact file (see examples/contact.yaml)")
    add_store_arguments(add)
    add.set_defaults(run=cmd_contact_add)

    listing = contact_commands.add_parser("list", help="contacts, soonest first-contact deadline first")
    listing.add_argument("--status", choices=records.CONTACT_STATUSES)
    listing.add_argument("--limit", type=int, default=100)
    add_store_arguments(listing)
    listing.set_defaults(run=cmd_contact_list)

    show = contact_commands.add_parser("show", help="one contact: child, referrer, triage, history")
    show.add_argument("contact_id")
    add_store_arguments(show)
    show.set_defaults(run=cmd_contact_show)

    find = contact_commands.add_parser(
        "search", help="by child name, NHS number, date of birth, school or referrer")
    find.add_argument("text", nargs="+")
    find.add_argument("--limit", type=int, default=50)
    add_store_arguments(find)
    find.set_defaults(run=cmd_contact_search)


# -- the contact file --------------------------------------------------------------------

@dataclass
class ContactFile:
    path: Path
    draft: ContactDraft
    module: RuleModule | None
    answers: dict
    warnings: list[str]


def read_contact_file(path: Path) -> ContactFile:
    """Read and check a contact file; every problem names the file, line and field
    (one BadInput naming them all)."""
    located, bad = read_input_file(path)
    data = located.data

    if not isinstance(data, dict):
        raise BadInput(f"{path}: a contact file is a set of named sections (child, referrer, ...)")
    problems = FileProblems(path)
    with problems.part():
        check_known_keys(data, FILE_KEYS, (), bad)
    child = child_ok = None
    with problems.part():
        child = read_child(data, bad)
        child_ok = True
    referrer = None
    with problems.part():
        referrer = _section(data, "referrer", bad)
        check_known_keys(referrer, REFERRER_KEYS, ("referrer",), bad)
        if "type" not in referrer:
            raise bad(("referrer",), "needs a type: one of " + ", ".join(r.value for r in ReferrerType))
    consent = data.get("consent") or {}
    with problems.part():
        if not isinstance(consent, dict):
            raise bad(("consent",), "must be a set of named entries (status, given_by, notes, ...)")
    warnings: list[str] = []
    with problems.part():
        if child is not None:
            try:
                row = records.child_row(child)
            except InvalidField as exc:
                raise bad(("child", *field_path(exc.field)), exc.problem) from None
            if row["nhs_number"]:
                warnings.extend(w for w in [nhs.parse_nhs_number(row["nhs_number"]).warning] if w)
    draft = None
    if child_ok and not problems.messages and isinstance(referrer, dict):
        draft = ContactDraft(
            referrer_type=referrer["type"], child=child, child_id=data.get("child_id"),
            referrer_name=referrer.get("name") or "",
            referrer_organisation=referrer.get("organisation") or "",
            referrer_contact=referrer.get("contact") or "",
            source_of_referral=data.get("source_of_referral") or "", received_at=data.get("received_at"),
            consent=consent, kind=data.get("kind") or "triage", status=data.get("status") or "open")
        with problems.part():
            try:
                row = records.contact_row(draft)
                desk.check_received_at(datetime.fromisoformat(row["received_at"]))
            except InvalidField as exc:
                raise bad(_CONTACT_FIELD_PATHS.get(exc.field, field_path(exc.field)), exc.problem) from None
    module, answers = None, {}
    with problems.part():
        module, answers = _module_and_answers(data, bad)
    problems.raise_any()
    return ContactFile(path, draft, module, answers, warnings)


def _module_and_answers(data: dict, bad) -> tuple[RuleModule | None, dict]:
    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        raise bad(("answers",), "must map question ids to answers")
    module_id = data.get("module")
    if module_id is None:
        if answers:
            raise bad(("answers",), "answers need a module: add 'module: <id>' ('spoa rules list')")
        return None, {}
    listing = discover().listing(str(module_id))
    if listing is None:
        raise bad(("module",), f"there is no module '{module_id}'; 'spoa rules list' shows them")
    if not listing.ok:
        raise bad(("module",), f"the module '{module_id}' is broken and cannot be used:\n{listing.error}")
    answers = {str(k): v for k, v in answers.items()}
    try:
        TriageSession(listing.module).answer_many(answers)
    except AnswersRejected as exc:
        problems = [str(bad(("answers", e.question_id), e.message)) for e in exc.errors]
        raise BadInput.several(problems) from None
    return listing.module, answers


def _section(data: dict, key: str, bad) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise bad((key,), "is required: a set of named fields")
    return value


# -- commands ----------------------------------------------------------------------------

def cmd_contact_add(args) -> int:
    contact_file = read_contact_file(args.file)
    for warning in contact_file.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with open_store(args) as store, desk_errors():
        added = desk.add_contact(store, contact_file.draft, module=contact_file.module,
                                 answers=contact_file.answers)
        contact = records.get_contact(store.db, added.contact_id)
    print(f"Contact {added.contact_id} stored (child {added.child_id}).")
    if added.triage is not None:
        _print_triage(added.triage, contact)
    for duplicate in added.possible_duplicates:
        print(f"Possible duplicate: child {duplicate.child_id}, {duplicate.given_name} "
              f"{duplicate.family_name}, born {duplicate.date_of_birth or 'unknown'}, NHS "
              f"{_nhs(duplicate.nhs_number)} ({'; '.join(duplicate.reasons)}). Check whether this is "
              "the same child.")
    return EXIT_OK


def _print_triage(saved: desk.TriageSaved, contact: records.Contact) -> None:
    outcome = saved.outcome
    state = "recommended" if saved.complete else "PROVISIONAL (the call is not complete)"
    print(f"Triage session {saved.session_id}: {outcome.route.label}, {outcome.urgency.label.lower()} "
          f"[{state}]")
    if contact.contact_by:
        print(f"  first contact by {_when(contact.contact_by)}; respond by {_when(contact.seen_by)}")
    for flag in outcome.immediate_actions:
        print(f"  ACT NOW: {flag.action}")
    for question_id in saved.missing_required:
        print(f"  missing answer: {question_id}")
    for problem in saved.problems:
        print(f"  check: {problem}")
    for question_id in saved.dropped:
        print(f"  note: the answer to '{question_id}' was not kept: with these answers it is not asked")
    if saved.complete:
        print(f"  Confirm it ('spoa referral confirm {saved.session_id}') or override it ('spoa referral "
              f"override {saved.session_id} --route R --urgency U --reason \"...\"'), or at the desk.")
    else:
        print("  Finish the call at the desk, then confirm or override the outcome.")


def cmd_contact_list(args) -> int:
    with open_store(args) as store, desk_errors():
        found = desk.list_contacts(store, status=args.status, limit=args.limit)
    _print_summaries(found, "no contacts")
    return EXIT_OK


def cmd_contact_search(args) -> int:
    with open_store(args) as store, desk_errors():
        found = desk.search_contacts(store, " ".join(args.text), limit=args.limit)
    _print_summaries(found, "no contact matches")
    return EXIT_OK


def _print_summaries(found: list[ContactSummary], nothing: str) -> None:
    if not found:
        print(nothing)
        return
    now = datetime.now(UTC)
    for s in found:
        route = f"{s.route.label}, {s.urgency.label.lower()}" if s.route and s.urgency else "not triaged"
        contact_by = _when(s.contact_by) if s.contact_by else "-"
        born = s.date_of_birth.isoformat() if s.date_of_birth else "unknown"
        print(f"{s.contact_id}  {s.received_at:%Y-%m-%d}  {s.status:<8} contact by {contact_by:<20} "
              f"{route:<28} {s.child_name} (born {born}, NHS {_nhs(s.nhs_number)}){_late(s, now)}")


def _late(summary: ContactSummary, now: datetime) -> str:
    """'  OVERDUE by 2 h' for a contact still waiting for its first contact after its deadline."""
    if summary.status in OPEN_STATUSES and summary.contact_by is not None and summary.contact_by < now:
        return f"  OVERDUE by {worklist.span_text(now - summary.contact_by)}"
    return ""


def cmd_contact_show(args) -> int:
    with open_store(args) as store, desk_errors():
        view = desk.view_contact(store, args.contact_id)
    contact, child = view.contact, view.child
    print(f"Contact {contact.id} ({contact.kind}), {contact.status}")
    print(f"  received     {_when(contact.received_at)}")
    print(f"  contact by   {_when(contact.contact_by)}")
    print(f"  respond by   {_when(contact.seen_by)}")
    print(f"  referrer     {contact.referrer_type.value}: {contact.referrer_name} "
          f"{('(' + contact.referrer_organisation + ')') if contact.referrer_organisation else ''}".rstrip())
    if contact.referrer_contact:
        print("               " + contact.referrer_contact.replace("\n", "\n" + " " * 15))
    if contact.source_of_referral:
        print(f"  source       {contact.source_of_referral}")
    consent = call.consent_in_words(contact.consent)
    print(f"  consent      {consent[0]}")
    for line in consent[1:]:
        print(f"               {line}")
    print(f"Child {child.id}: {child.full_name}")
    print(f"  born         {child.date_of_birth or 'unknown'}")
    print(f"  NHS number   {_nhs(child.nhs_number)}")
    for label, value in (("address", child.address), ("postcode", child.postcode),
                         ("school", child.school), ("GP practice", child.gp_practice)):
        if value:
            print(f"  {label:<12} " + value.replace("\n", "\n" + " " * 15))
    for carer in child.carers:
        print(f"  carer        {carer.name} ({carer.relationship or 'relationship not given'}) "
              f"{carer.phone}".rstrip())
    for session in view.sessions:
        print(f"Triage session {session.id}: module {session.module.id} {session.module.version} "
              f"(sha256 {session.module.content_hash[:12]}…)")
        if session.outcome:
            print(f"  recommended  {session.outcome['route']}, {session.outcome['urgency']}"
                  f"{'' if session.complete else ' (provisional: the call is not complete)'}")
            for line in session.outcome.get("rationale", []):
                print(f"    - {line}")
        if session.decision:
            print(f"  {session.decision:<12} {session.final_route.value}, {session.final_urgency.value} "
                  f"by {session.decided_by} at {_when(session.decided_at)}")
            if session.override_reason:
                print(f"  reason       {session.override_reason}")
        else:
            print("  not yet confirmed or overridden")
    if view.history:
        print("History")
        for entry in view.history:
            print(f"  {entry.changed_at:%Y-%m-%d %H:%M} {entry.changed_by}: {entry.record_type} "
                  f"{entry.field}: {entry.old_value!s} -> {entry.new_value!s} ({entry.reason})")
    return EXIT_OK


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def _nhs(digits: str | None) -> str:
    if not digits:
        return "not known"
    try:
        return nhs.format_nhs_number(digits)
    except nhs.NhsNumberError:
        return digits
