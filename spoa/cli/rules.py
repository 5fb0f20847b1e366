"""``spoa rules``, ``spoa triage`` and ``spoa nhs-number``."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from spoa import nhs
from spoa.cli.common import EXIT_FAILED, EXIT_OK, BadInput, iso_date
from spoa.model import ReferrerType, SessionContext, hours_in_words
from spoa.paths import user_rules_dir
from spoa.rules.cases import SCALE_CODES
from spoa.rules.catalog import discover, load_listing, module_folders, run_module_vignettes
from spoa.rules.errors import AnswersRejected
from spoa.rules.session import TriageSession
from spoa.rules.yamlsafe import YamlProblem, load_file


def add_commands(commands) -> None:
    """The rules, triage and nhs-number commands."""
    rules = commands.add_parser("rules", help="triage rule modules")
    rules_commands = rules.add_subparsers(title="rules commands")
    listing = rules_commands.add_parser("list", help="every module: id, version, title, source, status")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_rules_list)
    check = rules_commands.add_parser("check", help="check modules; exit 1 on any error")
    check.add_argument("paths", nargs="*", type=Path,
                       help="module folders or folders of modules (default: every known module)")
    check.set_defaults(run=cmd_rules_check)
    test = rules_commands.add_parser("test", help="run modules' vignettes; exit 1 on any failure")
    test.add_argument("modules", nargs="*", help="module ids (default: all)")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing vignettes too")
    test.set_defaults(run=cmd_rules_test)

    triage = commands.add_parser("triage", help="evaluate an answers file with a module")
    triage.add_argument("--module", required=True, help="module id (see 'spoa rules list')")
    triage.add_argument("--answers", required=True, type=Path,
                        help="YAML or JSON file mapping question id to answer")
    triage.add_argument("--child-age", type=int, help="the child's age in years")
    triage.add_argument("--referrer", choices=[r.value for r in ReferrerType], help="who referred")
    triage.add_argument("--date", type=iso_date, help="the day of the call, YYYY-MM-DD (default today)")
    triage.add_argument("--json", action="store_true", help="print JSON")
    triage.set_defaults(run=cmd_triage)

    nhs_number = commands.add_parser("nhs-number", help="check an NHS number (Modulus 11)")
    nhs_number.add_argument("number")
    nhs_number.set_defaults(run=cmd_nhs_number)


# -- rules ------------------------------------------------------------------------------

def cmd_rules_list(args) -> int:
    catalog = discover()
    if args.json:
        rows = [{
            "id": item.id,
            "version": item.module.version if item.module else None,
            "title": item.module.title if item.module else None,
            "source": item.source,
            "folder": str(item.folder),
            "status": item.status,
            "content_hash": item.module.content_hash if item.ok else None,
            "problems": [str(p) for p in item.problems],
        } for item in catalog.listings]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    for item in catalog.listings:
        if item.ok:
            m = item.module
            print(f"{m.id:<22} {m.version:<8} {m.title}  [{item.source}] ok ({item.status})")
        else:
            print(f"{item.id:<22} {'-':<8} [{item.source}] BROKEN")
            for problem in item.problems:
                print(f"    {problem}")
    print(f"(user modules folder: {user_rules_dir()})")
    return EXIT_OK


def cmd_rules_check(args) -> int:
    if args.paths:
        listings = []
        for path in args.paths:
            folders = module_folders(path)
            if not folders:
                raise BadInput(f"{path}: no module here (a module folder holds module.yaml)")
            listings.extend(load_listing(folder, "command line") for folder in folders)
    else:
        listings = discover().listings
    bad = 0
    for item in listings:
        if item.ok:
            print(f"ok      {item.id} {item.module.version}")
        else:
            bad += 1
            print(f"BROKEN  {item.id}")
            for problem in item.problems:
                print(f"  {problem}")
    print(f"{len(listings) - bad} ok, {bad} broken")
    return EXIT_FAILED if bad else EXIT_OK


def cmd_rules_test(args) -> int:
    catalog = discover()
    wanted = args.modules or [item.id for item in catalog.listings]
    passed = failed = 0
    summaries: list[str] = []
    for module_id in wanted:
        listing = catalog.listing(module_id)
        if listing is None:
            raise BadInput(f"no module '{module_id}'; 'spoa rules list' shows them")
        if not listing.ok:
            failed += 1
            print(f"FAIL {module_id}: the module is broken")
            for problem in listing.problems:
                print(f"     {problem}")
            continue
        results, gaps = run_module_vignettes(listing.module)
        for result in results:
            if result.passed:
                passed += 1
                if args.verbose:
                    print(result.describe())
            else:
                failed += 1
                print(result.describe())
        for gap in gaps:
            failed += 1
            print(f"FAIL {module_id}: {gap}")
        if not results:
            failed += 1
            print(f"FAIL {module_id}: the module has no vignettes")
        else:
            summaries.append(_by_scale_code(module_id, [r.vignette for r in results]))
    for summary in summaries:
        print(summary)
    print(f"{passed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _by_scale_code(module_id: str, vignettes) -> str:
    """'camhs_general: 101 vignettes; by scale code A 6, B 6, ... (57 with no code)'."""
    codes = Counter(v.code for v in vignettes if v.code)
    uncoded = sum(1 for v in vignettes if not v.code)
    by_code = ", ".join(f"{code} {codes[code]}" for code in SCALE_CODES if codes[code])
    return (f"{module_id}: {len(vignettes)} vignettes"
            + (f"; by scale code {by_code}" if by_code else "")
            + (f" ({uncoded} with no code)" if uncoded and by_code else ""))


# -- triage ------------------------------------------------------------------------------

def cmd_triage(args) -> int:
    catalog = discover()
    listing = catalog.listing(args.module)
    if listing is None:
        raise BadInput(f"no module '{args.module}'; 'spoa rules list' shows them")
    if not listing.ok:
        raise BadInput(f"module '{args.module}' is broken and cannot be used:\n{listing.error}")
    module = listing.module
    answers = _read_answers(args.answers)
    context = SessionContext(
        child_age=args.child_age,
        referrer=ReferrerType(args.referrer) if args.referrer else None,
        on_date=args.date,
    )
    session = TriageSession(module, context)
    try:
        dropped = session.answer_many(answers)
    except AnswersRejected as exc:
        lines = "\n".join(f"  {e.question_id}: {e.message}" for e in exc.errors)
        raise BadInput(f"{args.answers}: some answers cannot be used:\n{lines}") from None
    for question_id in dropped:
        print(f"note: the answer to '{question_id}' was not used: with these answers that "
              "question is not asked", file=sys.stderr)
    if session.missing_required or session.validation_messages:
        lines = [f"  {q.id}: required ({q.text})" for q in session.missing_required]
        lines += [f"  {m.question_id}: {m.message}" for m in session.validation_messages]
        raise BadInput(f"{args.answers}: the call is not complete:\n" + "\n".join(lines))
    outcome = session.outcome
    if args.json:
        print(json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    _print_outcome(outcome, module)
    return EXIT_OK


def _read_answers(path: Path) -> dict:
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        data = load_file(path).data
    except YamlProblem as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise BadInput(f"{where}: {exc.message}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping of question id to answer")
    return {str(k): v for k, v in data.items()}


def _print_outcome(outcome, module) -> None:
    print(f"Route:            {outcome.route.label}")
    print(f"Urgency:          {outcome.urgency.label} (MHSDS priority {outcome.mhsds_priority})")
    print(f"Respond within:   {hours_in_words(outcome.respond_within_hours)} "
          f"({outcome.urgency.in_words(outcome.respond_within_hours)})")
    if outcome.contact_within_hours:
        print(f"Contact within:   {hours_in_words(outcome.contact_within_hours)}")
    print(f"THRIVE grouping:  {outcome.thrive.label}")
    print("Flags:            " + (", ".join(
        f"{f.label} [{f.severity.value}]" for f in outcome.flags) or "none"))
    for flag in outcome.immediate_actions:
        print(f"  ACT NOW: {flag.action}")
    print("Scores:           " + (", ".join(
        f"{s.label} {s.display}" for s in outcome.scores) or "none"))
    print("Rationale:")
    for line in outcome.rationale():
        print(f"  - {line}")
    print(f"Module:           {module.id} {module.version} (sha256 {module.content_hash}) "
          f"[{module.sign_off.status.value}]")


# -- nhs number ---------------------------------------------------------------------------

def cmd_nhs_number(args) -> int:
    try:
        check = nhs.parse_nhs_number(args.number)
    except nhs.NhsNumberError as exc:
        print(f"invalid: {exc}")
        return EXIT_FAILED
    print(f"valid: {nhs.format_nhs_number(check.digits)}")
    if check.warning:
        print(f"warning: {check.warning}")
    return EXIT_OK
