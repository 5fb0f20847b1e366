"""``spoa referral …``, ``spoa letter …`` and ``spoa outbox …``: decisions, approval,
letters and sending from the command line, through the same core operations as the desk.

- ``referral confirm|override`` decide a triage session (spoa.desk); ``referral services``
  shows which services would take it; ``referral create`` drafts a referral to one of them;
  ``submit``, ``approve``, ``return``, ``review``, ``close``, ``show``, ``list [--overdue]``.
- ``letter make REFERRAL --out FILE`` writes the referral's letter exactly as issued
  (supervisors); ``letter verify FILE`` says whether the hub issued a file (exit 0) or not
  (exit 1), and for which referral.
- ``outbox send REFERRAL --folder DIR | --email ADDRESS [--before-review --reason …]``,
  ``outbox list``, ``outbox retry [ITEM]``, ``outbox smtp …`` (supervisors; the password goes
  to the OS keyring), ``outbox export-day DAY --out DIR`` (supervisors).

A role that may not do something gets exit code 2 and the reason.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from spoa import desk
from spoa.cli.access import add_store_arguments, ask_secret, open_store
from spoa.cli.common import EXIT_FAILED, EXIT_OK, BadInput, desk_errors, iso_date
from spoa.letters import archive, batch_export, outbox, referrals
from spoa.letters.content import Section
from spoa.letters.outbox import (
    FolderTransport,
    OutboxItem,
    OutboxState,
    SmtpSettings,
    SmtpTransport,
)
from spoa.letters.referrals import Referral, ReferralState
from spoa.model import Route, Urgency
from spoa.roles import Permission
from spoa.store import records

SMTP_PASSWORD_VARIABLE = "SPOA_SMTP_PASSWORD"  # noqa: S105 (a variable name, not a password)


def add_commands(commands) -> None:
    _referral_commands(commands)
    _letter_commands(commands)
    _outbox_commands(commands)


def _command(group, name: str, run, help_text: str):
    parser = group.add_parser(name, help=help_text)
    add_store_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def _referral_commands(commands) -> None:
    group = commands.add_parser("referral", help="decide, refer, approve, return and follow referrals")
    sub = group.add_subparsers(title="referral commands")
    confirm = _command(sub, "confirm", cmd_confirm, "accept the recommended outcome of a triage session")
    confirm.add_argument("session_id")
    override = _command(sub, "override", cmd_override, "set the route and urgency yourself, with a reason")
    override.add_argument("session_id")
    override.add_argument("--route", required=True, choices=[r.value for r in Route])
    override.add_argument("--urgency", required=True, choices=[u.value for u in Urgency])
    override.add_argument("--reason", required=True)
    services = _command(sub, "services", cmd_services, "the services that would take a decided session")
    services.add_argument("session_id")
    create = _command(sub, "create", cmd_create, "draft a referral of a decided session to a service")
    create.add_argument("session_id")
    create.add_argument("--service", required=True, help="the service's id ('spoa referral services')")
    create.add_argument("--reason", default="", help="why the child is referred, in your words")
    create.add_argument("--omit", nargs="*", default=[], choices=[s.value for s in Section],
                        help="optional letter sections to leave out (minimum necessary)")
    submit = _command(sub, "submit", cmd_submit, "ask a supervisor to approve a draft")
    submit.add_argument("referral_id")
    approve = _command(sub, "approve", cmd_approve, "approve a referral (supervisors)")
    approve.add_argument("referral_id")
    approve.add_argument("--note", default="")
    give_back = _command(sub, "return", cmd_return, "return a referral with the reason (supervisors)")
    give_back.add_argument("referral_id")
    give_back.add_argument("--reason", required=True)
    review = _command(sub, "review", cmd_review, "review a referral sent before review (supervisors)")
    review.add_argument("referral_id")
    review.add_argument("--note", default="")
    close = _command(sub, "close", cmd_close, "close a sent referral, or withdraw one with a reason")
    close.add_argument("referral_id")
    close.add_argument("--reason", default="")
    show = _command(sub, "show", cmd_show, "one referral with its steps, deadlines and letters")
    show.add_argument("referral_id")
    listing = _command(sub, "list", cmd_list, "referrals, soonest deadline first")
    listing.add_argument("--state", choices=[s.value for s in ReferralState])
    listing.add_argument("--overdue", action="store_true", help="only those past their deadline")
    listing.add_argument("--review-pending", action="store_true",
                         help="only those sent before supervisor review and not yet reviewed")
    listing.add_argument("--at", type=_instant, help="count overdue at this moment (default: now)")


def _letter_commands(commands) -> None:
    group = commands.add_parser("letter", help="make and verify letters")
    sub = group.add_subparsers(title="letter commands")
    make = _command(sub, "make", cmd_letter_make,
                    "write a letter, exactly as issued, to a file (supervisors): a referral's letter or "
                    "its outcome letter to the referrer, an advice response, or a not-accepted letter")
    make.add_argument("referral_id", nargs="?", help="the referral (its letter, or with --kind outcome)")
    make.add_argument("--out", required=True, type=Path)
    make.add_argument("--kind", choices=("referral", "outcome"),
                      help="with a referral: the letter to the service (default) or the outcome letter "
                           "to the referrer")
    make.add_argument("--advice", metavar="REQUEST_ID",
                      help="the advice response to an advice request ('spoa advice list')")
    make.add_argument("--not-accepted", metavar="CONTACT_ID",
                      help="the not-accepted letter to the referrer of a contact whose triage outcome is "
                           "decided (a triage session id also works)")
    make.add_argument("--reason", action="append", default=[],
                      help="with --not-accepted: why it is not accepted (repeat for more than one)")
    make.add_argument("--signpost", action="append", default=[],
                      help="with --not-accepted: where else the family can get help (repeat)")
    make.add_argument("--omit", action="append", default=[], choices=[s.value for s in Section],
                      help="with --advice or --not-accepted: an optional section to leave out (repeat)")
    verify = _command(sub, "verify", cmd_letter_verify,
                      "is this file a letter the hub issued? (exit 0 yes, 1 no)")
    verify.add_argument("file", type=Path)


def _outbox_commands(commands) -> None:
    group = commands.add_parser("outbox", help="send letters and follow them: list, send, retry")
    sub = group.add_subparsers(title="outbox commands")
    listing = _command(sub, "list", cmd_outbox_list, "outbox items: queued, sent or failed with the reason")
    listing.add_argument("--state", choices=[s.value for s in OutboxState])
    send = _command(sub, "send", cmd_outbox_send, "send a referral's letter (issued once, then queued)")
    send.add_argument("referral_id")
    where = send.add_mutually_exclusive_group(required=True)
    where.add_argument("--folder", type=Path, help="save into this folder (e.g. a secure shared drive)")
    where.add_argument("--email", help="send to this secure email address (see 'spoa outbox smtp')")
    send.add_argument("--before-review", action="store_true",
                      help="emergency or very urgent: send now, before a supervisor approves")
    send.add_argument("--reason", help="why it was sent before review")
    queue = _command(sub, "queue", cmd_outbox_queue,
                     "put an issued letter (advice, outcome, not accepted, or a sent referral's letter) in "
                     "the outbox and send it")
    queue.add_argument("letter_id", help="the letter's id (printed by 'spoa letter make')")
    destination = queue.add_mutually_exclusive_group(required=True)
    destination.add_argument("--folder", type=Path, help="save into this folder (e.g. a secure shared drive)")
    destination.add_argument("--email", help="send to this secure email address (see 'spoa outbox smtp')")
    retry = _command(sub, "retry", cmd_outbox_retry,
                     "try queued items again; given a failed item, queue it again first")
    retry.add_argument("item_id", nargs="?")
    export = _command(sub, "export-day", cmd_export_day,
                      "every referral approved on a day to PDFs in a folder (supervisors)")
    export.add_argument("day", type=iso_date)
    export.add_argument("--out", required=True, type=Path)

    folder = _command(sub, "folder", cmd_outbox_folder,
                      "set this desk's outbox folder, where letters are saved (supervisors)")
    folder.add_argument("path", help="a folder that exists and takes files (e.g. a secure shared drive)")

    smtp = sub.add_parser("smtp", help="set up sending by secure email (TLS; password in the keyring)")
    smtp.add_argument("--host", required=True)
    smtp.add_argument("--port", type=int, default=587)
    smtp.add_argument("--from", dest="from_address", required=True, help="the hub's sending address")
    smtp.add_argument("--smtp-user", default="",
                      help=f"SMTP username (none: no login); its password from {SMTP_PASSWORD_VARIABLE} "
                           "or a prompt, kept in the keyring")
    smtp.add_argument("--security", choices=("starttls", "tls"), default="starttls")
    smtp.add_argument("--cafile", default="", help="an extra certificate authority to trust")
    add_store_arguments(smtp)  # a supervisor signs in: it decides who relays the letters
    smtp.set_defaults(run=cmd_outbox_smtp)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--at {text!r}: write a date and time such as 2026-11-20T09:30:00Z") from None
    if moment.tzinfo is None:
        raise BadInput("--at needs a time zone (end it with Z for UTC)")
    return moment


# -- printing ---------------------------------------------------------------------------------

def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "-"


def _state(referral: Referral) -> str:
    text = referral.state.label
    if referral.review_pending:
        text += " (sent before review; review pending)"
    return text


def _line(referral: Referral) -> str:
    clock, due = referral.due()
    due_text = f"{clock} {_when(due)}" if due else clock
    decision = f"{referral.route.label}, {referral.urgency.label.lower()}"
    return f"{referral.id}  {_state(referral):<20} {decision:<28} to {referral.service_id or '-'}  {due_text}"


def _print_referral(referral: Referral) -> None:
    print(f"Referral {referral.id}: {_state(referral)}")
    print(f"  session      {referral.session_id} (contact {referral.contact_id})")
    print(f"  to           {referral.service_id}")
    print(f"  decision     {referral.route.label}, "
          f"{referral.urgency.in_words(referral.respond_within_hours)}")
    print(f"  contact by   {_when(referral.contact_by)}")
    print(f"  seen by      {_when(referral.seen_by)}")
    if referral.reason:
        print("  reason       " + referral.reason.replace("\n", "\n" + " " * 15))
    if referral.omitted:
        print("  left out     " + ", ".join(sorted(s.value for s in referral.omitted)))
    if referral.return_reason and referral.state is ReferralState.RETURNED:
        print(f"  returned     {referral.return_reason}")
    for step in referral.steps:
        why = f": {step.reason}" if step.reason else ""
        print(f"  {_when(step.at)}  {step.state:<18} {step.username}{why}")


def _print_item(item: OutboxItem) -> None:
    problem = f"  ({item.last_error})" if item.last_error else ""
    sent = f" at {_when(item.sent_at)}" if item.sent_at else ""
    print(f"{item.id}  {item.state.value}{sent}  letter {item.letter_id} by {item.transport} to "
          f"{item.destination}, {item.attempts} attempt(s), Message-ID {item.message_id}{problem}")


# -- referral ------------------------------------------------------------------------------------

def cmd_confirm(args) -> int:
    with open_store(args) as store, desk_errors():
        decided = desk.confirm_outcome(store, args.session_id)
    print(f"Session {decided.id}: confirmed {decided.final_route.label}, "
          f"{decided.final_urgency.label.lower()}.")
    return EXIT_OK


def cmd_override(args) -> int:
    with open_store(args) as store, desk_errors():
        decided = desk.override_outcome(store, args.session_id, args.route, args.urgency, args.reason)
    print(f"Session {decided.id}: overridden to {decided.final_route.label}, "
          f"{decided.final_urgency.label.lower()} (reason kept with the session).")
    return EXIT_OK


def cmd_services(args) -> int:
    with open_store(args) as store, desk_errors():
        choices = referrals.service_choices(store, args.session_id)
    print(choices.message)
    for match in choices.matches:
        service = match.service
        print(f"  {service.id}  {service.name}{' (' + service.team + ')' if service.team else ''}: "
              + "; ".join(match.reasons))
    return EXIT_OK if choices.matches else EXIT_FAILED


def cmd_create(args) -> int:
    with open_store(args) as store, desk_errors():
        referral = referrals.create_referral(store, args.session_id, args.service, reason=args.reason,
                                             omit=args.omit)
    print(f"Referral {referral.id} drafted to {referral.service_id}. Submit it for approval: "
          f"'spoa referral submit {referral.id}'.")
    if referral.urgency in referrals.EARLY_SEND_URGENCIES:
        print(f"  It is {referral.urgency.label.lower()}: it may be sent now, before approval "
              f"('spoa outbox send {referral.id} --before-review ...').")
    return EXIT_OK


def _transition(args, operation, done: str, *extra) -> int:
    with open_store(args) as store, desk_errors():
        referral = operation(store, args.referral_id, *extra)
    state = _state(referral)
    print(f"Referral {referral.id} {done}" + ("." if state == done else f": now {state}."))
    return EXIT_OK


def cmd_submit(args) -> int:
    return _transition(args, referrals.submit, "submitted")


def cmd_approve(args) -> int:
    return _transition(args, referrals.approve, "approved", args.note)


def cmd_return(args) -> int:
    return _transition(args, referrals.return_referral, "returned", args.reason)


def cmd_review(args) -> int:
    return _transition(args, referrals.record_review, "reviewed", args.note)


def cmd_close(args) -> int:
    return _transition(args, referrals.close, "closed", args.reason)


def cmd_show(args) -> int:
    with open_store(args) as store, desk_errors():
        referral = referrals.view_referral(store, args.referral_id)
        letters = archive.letters_of_referral(store.db, args.referral_id)
    _print_referral(referral)
    for letter in letters:
        print(f"  letter {letter.id} ({letter.kind.value}) issued {_when(letter.created_at)} by "
              f"{letter.created_by}, sha256 {letter.sha256}")
    return EXIT_OK


def cmd_list(args) -> int:
    with open_store(args) as store, desk_errors():
        if args.overdue:
            late = referrals.overdue(store, args.at)
            if args.state:
                late = [o for o in late if o.referral.state.value == args.state]
            if args.review_pending:
                late = [o for o in late if o.referral.review_pending]
            found = [o.referral for o in late]
        else:
            found = referrals.list_referrals(store, state=args.state, review_pending=args.review_pending)
    if not found:
        print("no overdue referrals" if args.overdue else "no referrals")
        return EXIT_OK
    now = args.at or datetime.now(UTC)
    for referral in found:
        due = referral.due()[1]
        late = f"  OVERDUE by {_hours(now - due)}" if due is not None and due < now else ""
        print(_line(referral) + late)
    return EXIT_OK


def _hours(delta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


# -- letter ---------------------------------------------------------------------------------------

def cmd_letter_make(args) -> int:
    chosen = [value for value in (args.referral_id, args.advice, args.not_accepted) if value]
    if len(chosen) != 1:
        raise BadInput("say which letter: a referral id (with --kind referral or outcome), --advice "
                       "REQUEST_ID, or --not-accepted CONTACT_ID --reason …")
    if args.kind and not args.referral_id:
        raise BadInput("--kind goes with a referral id")
    if (args.reason or args.signpost) and not args.not_accepted:
        raise BadInput("--reason and --signpost go with --not-accepted")
    if args.omit and args.referral_id:
        raise BadInput("--omit: the sections a referral's letters leave out are chosen when it is drafted "
                       "('spoa referral create --omit')")
    if not args.out.parent.is_dir():
        raise BadInput(f"{args.out.parent}: no such folder")
    if args.advice:
        return _make_advice_letter(args)
    if args.not_accepted:
        return _make_not_accepted_letter(args)
    with open_store(args) as store, desk_errors():
        if args.kind == "outcome":
            letter = archive.make_outcome_letter(store, args.referral_id)
            exported = archive.export_letter(store, letter.id, args.out)
        else:
            exported = archive.export_referral_letter(store, args.referral_id, args.out)
    for note in exported.letter.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"Letter {exported.letter.id} of referral {args.referral_id} written to {exported.path} "
          f"(sha256 {exported.letter.sha256}).")
    return EXIT_OK


def _make_advice_letter(args) -> int:
    with open_store(args) as store, desk_errors():
        letter = archive.make_advice_letter(store, args.advice, omit=_sections(args.omit))
        exported = archive.export_letter(store, letter.id, args.out)
    _made(letter, f"advice request {args.advice}", exported.path)
    return EXIT_OK


def _make_not_accepted_letter(args) -> int:
    if not args.reason:
        raise BadInput("--not-accepted needs at least one --reason: say why it is not accepted")
    with open_store(args) as store, desk_errors():
        # The role first: which sessions a contact has is itself a record.
        referrals.check_allowed(store, Permission.APPROVE_REFERRALS, "create", "letter")
        session_id = _decided_session_of(store, args.not_accepted)
        letter = archive.make_not_accepted_letter(store, session_id, reasons=args.reason,
                                                  signposting=args.signpost, omit=_sections(args.omit))
        exported = archive.export_letter(store, letter.id, args.out)
    _made(letter, f"contact {letter.contact_id} (session {session_id})", exported.path)
    return EXIT_OK


def _sections(values: list[str]) -> list[Section]:
    return [Section(v) for v in values]


def _decided_session_of(store, given: str) -> str:
    """A triage session id as given, or the latest decided session of a contact."""
    if given.startswith("ts-"):
        return records.get_triage_session(store.db, given).id
    contact = records.get_contact(store.db, given)
    decided = [s for s in records.triage_sessions_of(store.db, contact.id) if s.decision]
    if not decided:
        raise BadInput(f"Contact {contact.id} has no confirmed or overridden triage outcome yet; decide it "
                       "first ('spoa referral confirm|override SESSION').")
    return decided[-1].id


def _made(letter, of: str, path: Path) -> None:
    for note in letter.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"Letter {letter.id} ({letter.kind.value.replace('_', ' ')}) of {of} written to {path} "
          f"(sha256 {letter.sha256}). Send it with 'spoa outbox queue {letter.id} --folder DIR | "
          "--email ADDRESS'.")


def cmd_letter_verify(args) -> int:
    if not args.file.is_file():
        raise BadInput(f"{args.file}: no such file")
    with open_store(args) as store, desk_errors():
        found = archive.verify(store, args.file)
    print(found.message())
    return EXIT_OK if found.issued else EXIT_FAILED


# -- outbox ---------------------------------------------------------------------------------------

def cmd_outbox_list(args) -> int:
    with open_store(args) as store, desk_errors():
        items = outbox.list_items(store, state=args.state)
    if not items:
        print("the outbox is empty")
    for item in items:
        _print_item(item)
    return EXIT_OK


def _transport(args, store) -> FolderTransport | SmtpTransport:
    """The destination chosen on the command line: --folder, or --email with this desk's SMTP."""
    if args.folder is not None:
        return FolderTransport(args.folder)
    settings = SmtpSettings.load(store.folder)
    if settings is None:
        raise BadInput("Sending by email is not set up on this desk: run 'spoa outbox smtp "
                       "--host … --from …' first, or use --folder.")
    return SmtpTransport(settings, args.email)


def cmd_outbox_send(args) -> int:
    with open_store(args) as store, desk_errors():
        transport = _transport(args, store)
        item = outbox.send_referral(store, args.referral_id, transport, before_review=args.before_review,
                                    reason=args.reason)
    _print_item(item)
    if item.state is OutboxState.QUEUED:
        print("The letter is queued and will go with 'spoa outbox retry'.", file=sys.stderr)
    return EXIT_OK if item.state is not OutboxState.FAILED else EXIT_FAILED


def cmd_outbox_queue(args) -> int:
    with open_store(args) as store, desk_errors():
        transport = _transport(args, store)
        archive.get_letter(store.db, args.letter_id)  # says so if there is no such letter
        earlier = store.db.execute(
            "SELECT id, state FROM outbox WHERE letter_id = ? AND transport = ? AND destination = ? "
            "AND state != 'failed'", [args.letter_id, transport.kind, transport.destination]).fetchone()
        if earlier is not None:
            raise BadInput(f"Letter {args.letter_id} is already in the outbox for {transport.destination} as "
                           f"item {earlier[0]} ({earlier[1]}); a letter is never sent twice. "
                           f"'spoa outbox retry {earlier[0]}' tries a queued one again.")
        item = outbox.queue_letter(store, args.letter_id, transport)
    _print_item(item)
    if item.state is OutboxState.QUEUED:
        print("The letter is queued and will go with 'spoa outbox retry'.", file=sys.stderr)
    return EXIT_OK if item.state is not OutboxState.FAILED else EXIT_FAILED


def cmd_outbox_retry(args) -> int:
    with open_store(args) as store, desk_errors():
        if args.item_id:
            if outbox.get_item(store.db, args.item_id).state is OutboxState.FAILED:
                outbox.requeue(store, args.item_id)
            items = [outbox.deliver(store, args.item_id)]
        else:
            items = outbox.deliver_pending(store)
    if not items:
        print("nothing is queued")
    for item in items:
        _print_item(item)
    return EXIT_OK if all(i.state is OutboxState.SENT for i in items) else EXIT_FAILED


def cmd_export_day(args) -> int:
    def progress(done: int, total: int) -> None:
        if total:
            print(f"\r{done}/{total}", end="", file=sys.stderr, flush=True)

    with open_store(args) as store, desk_errors():
        report = batch_export.export_day(store, args.day, args.out, progress=progress)
    if report.total:
        print(file=sys.stderr)
    print(report.summary())
    return EXIT_OK


def cmd_outbox_folder(args) -> int:
    with open_store(args) as store, desk_errors():
        path = outbox.configure_outbox_folder(store, args.path)
    print(f"Letters from this desk are saved to {args.path} (set in {path}).")
    return EXIT_OK


def cmd_outbox_smtp(args) -> int:
    with desk_errors():
        settings = SmtpSettings(host=args.host, port=args.port, from_address=args.from_address,
                                username=args.smtp_user, security=args.security, cafile=args.cafile)
    password = None
    if settings.username:
        # Never from standard input: that carries the supervisor's own password (--password-stdin).
        password = ask_secret(argparse.Namespace(), f"SMTP password for {settings.username}: ",
                              SMTP_PASSWORD_VARIABLE)
    with open_store(args) as store, desk_errors():
        path = outbox.configure_smtp(store, settings, password)
    print(f"SMTP settings saved to {path}" + (" (the password is in the keyring)." if settings.username
                                             else "."))
    return EXIT_OK

