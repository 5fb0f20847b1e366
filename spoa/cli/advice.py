"""``spoa advice …``: professional advice requests from the command line (spoa.advice).

- ``advice add --file F``: a request from a YAML file (the requester, the child, the
  question, context, what has been tried, how soon, whether conversion into a referral is
  authorised; optionally the professional_advice module's answers). examples/advice.yaml
  shows every field. The whole file is checked before a password is asked for.
- ``advice list [--awaiting]``: open requests, soonest reply first; or only those still
  waiting for the specialist's advice.
- ``advice show ID``; ``advice respond ID --text-file F | --text T [--reason R]``
  (supervisors); ``advice authorise ID --reason R [--withdraw]`` (the requester's word);
  ``advice convert ID --service S [--reason R] [--urgency U]`` (only where authorised).

The advice letter is made with ``spoa letter make --advice ID --out FILE`` and queued with
``spoa outbox queue LETTER_ID``. A role that may not do something gets exit code 2.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spoa import advice, desk, worklist
from spoa.advice import AdviceDraft, AdviceRequest
from spoa.cli.access import add_store_arguments, open_store
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
from spoa.model import Urgency
from spoa.rules.catalog import discover
from spoa.rules.errors import AnswersRejected
from spoa.rules.module import RuleModule
from spoa.store import records
from spoa.store.records import ContactDraft, InvalidField, RecordError

FILE_KEYS = ("requester", "child", "child_id", "contact_id", "source_of_referral", "received_at", "consent",
             "question", "context", "tried", "how_soon", "conversion_authorised", "module", "answers")
REQUESTER_KEYS = ("type", "name", "organisation", "contact")
LARGEST_TEXT_FILE = 1024 * 1024
# Where each checked field sits in the file.
_FIELD_PATHS = {
    "referrer_type": ("requester", "type"),
    "referrer_name": ("requester", "name"),
    "referrer_organisation": ("requester", "organisation"),
    "referrer_contact": ("requester", "contact"),
}


def add_commands(commands) -> None:
    group = commands.add_parser("advice", help="professional advice requests: add, list, show, respond, "
                                               "convert")
    sub = group.add_subparsers(title="advice commands")
    add = _command(sub, "add", cmd_add, "record a professional's request for advice from a YAML file")
    add.add_argument("--file", required=True, type=Path, help="the request file (see examples/advice.yaml)")
    listing = _command(sub, "list", cmd_list, "open advice requests, soonest reply first")
    listing.add_argument("--awaiting", action="store_true", help="only those still waiting for advice")
    show = _command(sub, "show", cmd_show, "one request: the question, the advice, letters, history")
    show.add_argument("request_id")
    respond = _command(sub, "respond", cmd_respond, "record the specialist's advice (supervisors)")
    respond.add_argument("request_id")
    text = respond.add_mutually_exclusive_group(required=True)
    text.add_argument("--text-file", type=Path,
                      help="a UTF-8 text file with the advice ('-': standard input)")
    text.add_argument("--text", help="the advice itself")
    respond.add_argument("--reason", default="", help="why advice already recorded is changed")
    authorise = _command(sub, "authorise", cmd_authorise,
                         "record that the requester authorised conversion into a referral")
    authorise.add_argument("request_id")
    authorise.add_argument("--reason", required=True, help="how the requester said so")
    authorise.add_argument("--withdraw", action="store_true", help="the requester withdrew the authorisation")
    convert = _command(sub, "convert", cmd_convert,
                       "turn an authorised request into a draft referral to a service")
    convert.add_argument("request_id")
    convert.add_argument("--service", required=True, help="the service's id ('spoa directory list')")
    convert.add_argument("--reason", default="",
                         help="why the child is referred (required when the triage outcome is overridden)")
    convert.add_argument("--urgency", choices=[u.value for u in Urgency],
                         help="default: the urgency the triage outcome recommends")


def _command(group, name: str, run, help_text: str):
    parser = group.add_parser(name, help=help_text)
    add_store_arguments(parser)
    parser.set_defaults(run=run)
    return parser


# -- the request file ------------------------------------------------------------------------------

@dataclass
class AdviceFile:
    path: Path
    draft: AdviceDraft
    contact: ContactDraft | None
    contact_id: str | None
    module: RuleModule | None
    answers: dict | None


def read_advice_file(path: Path) -> AdviceFile:
    """Read and check a request file; every problem names the file, line and field (one
    BadInput naming them all)."""
    located, bad = read_input_file(path)
    data = located.data

    if not isinstance(data, dict):
        raise BadInput(f"{path}: a request file is a set of named fields (requester, child, question, ...)")
    problems = FileProblems(path)
    with problems.part():
        check_known_keys(data, FILE_KEYS, (), bad)
    answers = data.get("answers")
    module = draft = None
    contact = contact_id = None
    with problems.part():
        if answers is not None and not isinstance(answers, dict):
            raise bad(("answers",), "must map question ids to answers")
        if answers is not None:
            answers = {str(k): v for k, v in answers.items()}
        module = _module(data, answers, bad)
    with problems.part():
        draft = AdviceDraft(question=_text(data, "question", bad), context=_text(data, "context", bad),
                            tried=_text(data, "tried", bad), how_soon=data.get("how_soon"),
                            conversion_authorised=data.get("conversion_authorised"))
    with problems.part():
        contact, contact_id = _contact(data, bad)
    if draft is not None and not problems.messages:
        with problems.part():
            try:
                answers = advice.check_request(draft, answers=answers, module=module)
            except InvalidField as exc:
                raise bad(field_path(exc.field), exc.problem) from None
            except AnswersRejected as exc:
                raise BadInput.several([str(bad(("answers", e.question_id), e.message))
                                        for e in exc.errors]) from None
            except RecordError as exc:
                raise bad(("module",), str(exc)) from None
    problems.raise_any()
    return AdviceFile(path, draft, contact, contact_id, module, answers)


def _text(data: dict, key: str, bad) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad((key,), "must be text")
    return value


def _module(data: dict, answers: dict | None, bad) -> RuleModule | None:
    module_id = data.get("module")
    if module_id is None:
        if answers is None:
            return None
        module_id = advice.ADVICE_MODULE_ID
    elif answers is None:
        raise bad(("module",), "a module needs its answers under 'answers' (or leave 'module' out)")
    listing = discover().listing(str(module_id))
    if listing is None:
        raise bad(("module",), f"there is no module '{module_id}'; 'spoa rules list' shows them")
    if not listing.ok:
        raise bad(("module",), f"the module '{module_id}' is broken and cannot be used:\n{listing.error}")
    return listing.module


def _contact(data: dict, bad) -> tuple[ContactDraft | None, str | None]:
    if "contact_id" in data:
        for key in ("child", "child_id", "requester", "received_at", "consent", "source_of_referral"):
            if key in data:
                raise bad((key,), "the request is added to contact 'contact_id', which already says this; "
                                  "leave it out")
        return None, str(data["contact_id"])
    requester = data.get("requester")
    if not isinstance(requester, dict):
        raise bad(("requester",), "is required: the professional asking (type, name, organisation, contact)")
    check_known_keys(requester, REQUESTER_KEYS, ("requester",), bad)
    if "type" not in requester:
        raise bad(("requester",),
                  "needs a type: one of " + ", ".join(r.value for r in advice.REQUESTER_TYPES))
    child = read_child(data, bad)
    consent = data.get("consent") or {}
    if not isinstance(consent, dict):
        raise bad(("consent",), "must be a set of named entries (status, given_by, notes, ...)")
    draft = ContactDraft(
        referrer_type=str(requester["type"]), child=child, child_id=data.get("child_id"),
        referrer_name=requester.get("name") or "",
        referrer_organisation=requester.get("organisation") or "",
        referrer_contact=requester.get("contact") or "",
        source_of_referral=data.get("source_of_referral") or "",
        received_at=data.get("received_at"), consent=consent, kind="advice")
    try:
        if child is not None:
            try:
                records.child_row(child)
            except InvalidField as exc:
                raise bad(("child", *field_path(exc.field)), exc.problem) from None
        row = records.contact_row(draft)
        desk.check_received_at(datetime.fromisoformat(row["received_at"]))
        advice.check_requester(draft.referrer_type)
    except InvalidField as exc:
        raise bad(_FIELD_PATHS.get(exc.field, field_path(exc.field)), exc.problem) from None
    return draft, None


def read_text_file(path: Path) -> str:
    """The advice typed in a file (or '-' for standard input), as UTF-8 text."""
    if str(path) == "-":
        return sys.stdin.read()
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    if path.stat().st_size > LARGEST_TEXT_FILE:
        raise BadInput(f"{path}: the file is larger than {LARGEST_TEXT_FILE // 1024} KB; advice is a few "
                       "paragraphs")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text; save it as UTF-8 and try again") from None


# -- printing ---------------------------------------------------------------------------------------

def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "-"


def _requester(request: AdviceRequest) -> str:
    who = request.requester_name or request.requester_type.value
    return who + (f" ({request.requester_organisation})" if request.requester_organisation else "")


def _line(request: AdviceRequest) -> str:
    return (f"{request.id}  {request.state:<18} reply by {_when(request.respond_by):<20} "
            f"{request.how_soon_label:<14} from {_requester(request)} about {request.child_name}"
            f"{'  [conversion authorised]' if request.conversion_authorised else ''}")


def _indented(text: str) -> str:
    return text.replace("\n", "\n" + " " * 15)


# -- commands ---------------------------------------------------------------------------------------

def cmd_add(args) -> int:
    request_file = read_advice_file(args.file)
    with open_store(args) as store, desk_errors():
        recorded = advice.record_request(store, request_file.draft, contact=request_file.contact,
                                         contact_id=request_file.contact_id, answers=request_file.answers,
                                         module=request_file.module)
    request = recorded.request
    print(f"Advice request {request.id} stored (contact {request.contact_id}, child {request.child_id}); "
          f"reply by {_when(request.respond_by)}.")
    if recorded.triage is not None:
        outcome = recorded.triage.outcome
        state = "recommended" if recorded.triage.complete else "PROVISIONAL (answers missing)"
        print(f"Triage session {recorded.triage.session_id}: {outcome.route.label}, "
              f"{outcome.urgency.label.lower()} [{state}]")
        for flag in outcome.immediate_actions:
            print(f"  ACT NOW: {flag.action}")
    if recorded.added is not None:
        for duplicate in recorded.added.possible_duplicates:
            print(f"Possible duplicate: child {duplicate.child_id} ({'; '.join(duplicate.reasons)}). Check "
                  "whether this is the same child.")
    return EXIT_OK


def cmd_list(args) -> int:
    with open_store(args) as store, desk_errors():
        found = advice.list_requests(store, awaiting=args.awaiting)
    if not found:
        print("no advice requests awaiting a response" if args.awaiting else "no open advice requests")
    now = datetime.now(UTC)
    for request in found:
        due = request.respond_by
        late = f"  OVERDUE by {worklist.span_text(now - due)}" if request.open and due and due < now else ""
        print(_line(request) + late)
    return EXIT_OK


def cmd_show(args) -> int:
    with open_store(args) as store, desk_errors():
        view = advice.view_request(store, args.request_id)
    request = view.request
    print(f"Advice request {request.id}: {request.state}")
    print(f"  contact      {request.contact_id} (received {_when(view.contact.received_at)})")
    born = view.child.date_of_birth or "unknown"
    print(f"  child        {view.child.full_name} ({view.child.id}, born {born})")
    print(f"  from         {request.requester_type.value}: {_requester(request)}")
    print(f"  how soon     {request.how_soon_label}; reply by {_when(request.respond_by)}")
    print(f"  conversion   {'authorised' if request.conversion_authorised else 'NOT authorised'}")
    print("  question     " + _indented(request.question))
    if request.context:
        print("  context      " + _indented(request.context))
    if request.tried:
        print("  tried        " + _indented(request.tried))
    if request.response:
        print(f"  advice       ({request.responded_by}, {_when(request.responded_at)})")
        print("               " + _indented(request.response))
    if request.referral_id:
        print(f"  referral     {request.referral_id} "
              f"(by {request.converted_by}, {_when(request.converted_at)})")
    for session in view.sessions:
        decided = f", {session.decision}" if session.decision else ""
        route = (f"{session.outcome['route']}, {session.outcome['urgency']}" if session.outcome else "none")
        print(f"  session      {session.id}: {session.module.id} {session.module.version}, "
              f"recommended {route}{'' if session.complete else ' (provisional)'}{decided}")
    for letter in view.letters:
        print(f"  letter       {letter.id} ({letter.kind.value}) issued {_when(letter.created_at)} by "
              f"{letter.created_by}, sha256 {letter.sha256}")
    for entry in view.history:
        print(f"  {entry.changed_at:%Y-%m-%d %H:%M} {entry.changed_by}: {entry.field}: "
              f"{entry.old_value!s} -> {entry.new_value!s} ({entry.reason})")
    return EXIT_OK


def cmd_respond(args) -> int:
    text = read_text_file(args.text_file) if args.text_file is not None else args.text
    with open_store(args) as store, desk_errors():
        request = advice.respond(store, args.request_id, text, reason=args.reason)
    print(f"Advice recorded on request {request.id} by {request.responded_by}. Make the letter: "
          f"'spoa letter make --advice {request.id} --out FILE'.")
    return EXIT_OK


def cmd_authorise(args) -> int:
    with open_store(args) as store, desk_errors():
        request = advice.authorise_conversion(store, args.request_id, args.reason,
                                              authorised=not args.withdraw)
    print(f"Advice request {request.id}: conversion into a referral "
          f"{'authorised' if request.conversion_authorised else 'NOT authorised'} by the requester.")
    return EXIT_OK


def cmd_convert(args) -> int:
    with open_store(args) as store, desk_errors():
        done = advice.convert(store, args.request_id, args.service, reason=args.reason, urgency=args.urgency)
    referral = done.referral
    how = {"confirmed": "its triage outcome confirmed", "overridden": "its triage outcome overridden",
           "already decided": "its triage outcome as decided"}[done.decision]
    print(f"Advice request {done.request.id} converted into referral {referral.id} to {referral.service_id} "
          f"({referral.route.label}, {referral.urgency.label.lower()}; session {done.session_id}, {how}).")
    print(f"The referral is a draft: submit it for approval ('spoa referral submit {referral.id}').")
    return EXIT_OK
