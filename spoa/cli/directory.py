"""``spoa directory import|export|list|match``: the service directory from the command line.

``import`` checks the whole file before asking for a password: each bad row is printed as
``FILE:LINE: column: reason``, and a file with bad rows changes nothing (exit 1) unless
``--skip-bad`` is given. ``match`` shows which services would take a referral, and why;
when none would, it says why not (exit 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

from spoa.cli.access import add_store_arguments, open_store
from spoa.cli.common import EXIT_FAILED, EXIT_OK, BadInput
from spoa.letters import directory, routing
from spoa.letters.directory import DirectoryFile, DirectoryFileError, Service
from spoa.model import Route, Urgency


def add_commands(commands) -> None:
    parser = commands.add_parser("directory", help="the services referrals go to: import, export, "
                                                   "list, match")
    directory_commands = parser.add_subparsers(title="directory commands")

    load = directory_commands.add_parser(
        "import", help="add or replace services from a CSV file (admin); see "
                       "resources/directory/README.md for the columns")
    load.add_argument("file", type=Path)
    load.add_argument("--skip-bad", action="store_true",
                      help="import the good rows even if some rows are bad (the bad are listed)")
    add_store_arguments(load)
    load.set_defaults(run=cmd_import)

    export = directory_commands.add_parser("export", help="the whole directory as CSV (admin)")
    export.add_argument("--out", type=Path, help="write to this file (default: standard output)")
    add_store_arguments(export)
    export.set_defaults(run=cmd_export)

    listing = directory_commands.add_parser("list", help="every service, by kind and name")
    listing.add_argument("--kind", choices=[k.value for k in directory.SERVICE_KINDS])
    listing.add_argument("--active", action="store_true", help="only services marked active")
    add_store_arguments(listing)
    listing.set_defaults(run=cmd_list)

    match = directory_commands.add_parser(
        "match", help="the services that would take a referral, best first, and why")
    match.add_argument("--route", required=True, choices=[r.value for r in Route])
    match.add_argument("--urgency", required=True, choices=[u.value for u in Urgency])
    match.add_argument("--age", required=True, type=int, help="the child's age in whole years")
    match.add_argument("--postcode", help="the child's postcode (its district is what counts)")
    match.add_argument("--school", help="the child's school, by name")
    add_store_arguments(match)
    match.set_defaults(run=cmd_match)


def cmd_import(args) -> int:
    try:
        checked = directory.read_directory_file(args.file)
    except DirectoryFileError as exc:
        raise BadInput(str(exc)) from None
    _print_problems(checked)
    if checked.problems and not args.skip_bad:
        count = len(checked.bad_lines)
        print(f"{args.file}: {count} bad row{'s' if count != 1 else ''}; nothing was imported. Correct "
              "the rows named, or give --skip-bad to import the good rows only.", file=sys.stderr)
        return EXIT_FAILED
    with open_store(args) as store:
        result = directory.import_services(store, checked, skip_bad=args.skip_bad)
    print(f"Imported {result.imported} service{'s' if result.imported != 1 else ''} from {args.file}: "
          f"{len(result.added)} added, {len(result.updated)} updated, {len(result.unchanged)} unchanged.")
    if result.skipped:
        print(f"Skipped {len(checked.bad_lines)} bad row{'s' if len(checked.bad_lines) != 1 else ''} "
              "(listed above).")
    return EXIT_OK if result.imported else EXIT_FAILED


def _print_problems(checked: DirectoryFile) -> None:
    for problem in checked.problems:
        print(f"{checked.source}:{problem.line}: {problem}", file=sys.stderr)


def cmd_export(args) -> int:
    with open_store(args) as store:
        export = directory.export_services(store)
    if args.out is None:
        sys.stdout.write(export.text)
        return EXIT_OK
    try:
        # With a byte order mark, as spreadsheets expect of UTF-8 CSV; the import accepts it.
        args.out.write_bytes(export.text.encode("utf-8-sig"))
    except OSError as exc:
        raise BadInput(f"{args.out}: cannot be written ({exc.strerror or exc}); nothing was "
                       "exported.") from None
    count = export.count
    print(f"Exported {count} service{'s' if count != 1 else ''} to {args.out}.")
    return EXIT_OK


def cmd_list(args) -> int:
    with open_store(args) as store:
        services = directory.list_services(store, kind=args.kind, active_only=args.active)
    if not services:
        print("The directory lists no services" + (" of that kind." if args.kind else
                                                   "; an administrator adds them with "
                                                   "'spoa directory import FILE.csv'."))
        return EXIT_OK
    for service in services:
        state = "" if service.active else "  [inactive]"
        print(f"{service.id}  {service.kind.value}  ages {service.ages}  {service.name}{state}")
        print(f"    covers {_covers(service)}; accepts "
              f"{', '.join(u.value for u in service.urgencies)}")
    return EXIT_OK


def cmd_match(args) -> int:
    request = {"route": args.route, "urgency": args.urgency, "child_age": args.age,
               "postcode": args.postcode, "school": args.school}
    with open_store(args) as store:
        directory.require_view(store)
        try:
            matches = routing.match_services(store.db, **request)
            explanation = "" if matches else routing.explain_no_match(store.db, **request)
        except routing.RoutingInputError as exc:
            raise BadInput(str(exc)) from None
    if not matches:
        print(explanation)
        return EXIT_OK if args.route == Route.ADVICE.value else EXIT_FAILED
    for number, match in enumerate(matches, start=1):
        service = match.service
        team = f", {service.team}" if service.team else ""
        print(f"{number}. {service.name}{team} ({service.id})")
        print(f"   why: {'; '.join(match.reasons)}")
        contact = [f"secure email {service.secure_email}" if service.secure_email else "",
                   f"phone {service.phone}" if service.phone else ""]
        print(f"   contact: {', '.join(c for c in contact if c)}")
        if service.opening_notes:
            print(f"   opening: {' / '.join(service.opening_notes.splitlines())}")
    return EXIT_OK


def _covers(service: Service) -> str:
    parts = []
    if service.schools:
        parts.append("schools " + ", ".join(service.schools))
    if service.postcode_districts:
        parts.append("districts " + " ".join(service.postcode_districts))
    return " and ".join(parts) or "the whole area"
