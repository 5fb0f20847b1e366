"""``spoa backup``, ``spoa restore`` and ``spoa retention list|purge|policy``.

Backup, purge and policy need an administrator. Restore opens the *backup* with an
administrator's password (on the computer the backup came from) or, with
``--recovery-code``, with the recovery code (``SPOA_RECOVERY_CODE``, the first line of
standard input with ``--password-stdin``, or a prompt) on any computer.
"""

from __future__ import annotations

from pathlib import Path

from spoa.cli.access import add_store_arguments, ask_secret, open_store, store_folder, username
from spoa.cli.common import EXIT_OK, BadInput, iso_date
from spoa.roles import NotAllowed, Permission
from spoa.store import retention
from spoa.store.backup import backup
from spoa.store.backup_archive import SUGGESTED_SUFFIX
from spoa.store.database import StoreError
from spoa.store.device import KeyringUnavailable
from spoa.store.keyslots import SlotFileProblem
from spoa.store.restore import restore

RECOVERY_VARIABLE = "SPOA_RECOVERY_CODE"
_PROBLEMS = (StoreError, SlotFileProblem, KeyringUnavailable, NotAllowed)


def add_commands(commands) -> None:
    made = commands.add_parser("backup", help="write an encrypted backup of the store (admin)")
    made.add_argument("file", type=Path, help=f"the backup file to write (e.g. desk{SUGGESTED_SUFFIX})")
    made.add_argument("--overwrite", action="store_true", help="replace an existing file of that name")
    add_store_arguments(made)
    made.set_defaults(run=cmd_backup)

    back = commands.add_parser(
        "restore", help="replace the store with a verified backup (the old files are kept)")
    back.add_argument("file", type=Path, help="the backup file")
    back.add_argument("--recovery-code", action="store_true",
                      help=f"open the backup with the recovery code ({RECOVERY_VARIABLE} or a prompt); "
                           "needed on a new computer")
    add_store_arguments(back)
    back.set_defaults(run=cmd_restore)

    kept = commands.add_parser("retention", help="records due for review, and purging them")
    kept_commands = kept.add_subparsers(title="retention commands")
    listing = kept_commands.add_parser("list", help="children due for review: ids and dates")
    listing.add_argument("--names", action="store_true",
                         help="show names too (roles that may view records; audited)")
    listing.add_argument("--on", type=iso_date, help="as on this day, YYYY-MM-DD (default today)")
    add_store_arguments(listing)
    listing.set_defaults(run=cmd_retention_list)
    purge = kept_commands.add_parser("purge", help="delete children past review, for good (admin)")
    purge.add_argument("child_ids", nargs="+", metavar="ID")
    purge.add_argument("--reason", required=True,
                       help="why (e.g. the review it follows); must not identify the child")
    add_store_arguments(purge)
    purge.set_defaults(run=cmd_retention_purge)
    rules = kept_commands.add_parser("policy", help="show or lengthen the review ages (admin)")
    rules.add_argument("--review-age", type=int, help="years (at least 25)")
    rules.add_argument("--review-age-if-17", type=int,
                       help="years for a child 17 or older at closure (at least 26)")
    add_store_arguments(rules)
    rules.set_defaults(run=cmd_retention_policy)


def cmd_backup(args) -> int:
    with open_store(args) as store:
        try:
            report = backup(store, args.file, overwrite=args.overwrite)
        except _PROBLEMS as exc:
            raise BadInput(str(exc)) from None
    rows = sum(t.rows for t in report.tables.values())
    print(f"Backup written: {report.path} ({report.size:,} bytes, {len(report.tables)} tables, "
          f"{rows:,} rows, database sha256 {report.database_sha256[:16]}…).")
    print("Keep it with the recovery code's safe place in mind: either opens nothing alone.")
    return EXIT_OK


def cmd_restore(args) -> int:
    folder = store_folder(args)
    try:
        if args.recovery_code:
            code = ask_secret(args, "Recovery code: ", RECOVERY_VARIABLE)
            report = restore(args.file, folder, recovery_code=code)
        else:
            name = username(args)
            password = ask_secret(args, f"Password for {name}: ")
            report = restore(args.file, folder, username=name, password=password)
    except _PROBLEMS as exc:
        raise BadInput(str(exc)) from None
    print(f"Restored the backup of {report.created_at} into {report.folder}; every table matched "
          "its manifest.")
    for path in report.kept:
        print(f"  kept the previous file as {path.name}")
    if not report.previous_checkpointed:
        print("  the previous database could not be opened first; its files were kept as they were.")
    return EXIT_OK


def cmd_retention_list(args) -> int:
    with open_store(args) as store:
        try:
            items = retention.due(store, args.on, with_names=args.names)
            undated = retention.undated(store)
        except _PROBLEMS as exc:
            raise BadInput(str(exc)) from None
    if not items:
        print("No child's records are due for review.")
    for item in items:
        name = f"  {item.name}" if item.name else ""
        print(f"{item.child_id}  due {item.due_on.isoformat()}  ({item.rule}){name}")
    if undated:
        print(f"{len(undated)} children have no usable date of birth and need a review by hand:")
        for item in undated:
            print(f"  {item.child_id}")
    return EXIT_OK


def cmd_retention_purge(args) -> int:
    with open_store(args) as store:
        done = []
        for child_id in args.child_ids:
            try:
                report = retention.purge(store, child_id, args.reason)
            except _PROBLEMS as exc:
                untouched = [i for i in args.child_ids if i not in done and i != child_id]
                summary = f" Purged before this: {', '.join(done)}." if done else ""
                rest = f" Not attempted: {', '.join(untouched)}." if untouched else ""
                raise BadInput(f"{exc}{summary}{rest}") from None
            done.append(child_id)
            rows = sum(report.removed.values())
            print(f"Purged child {child_id}: {rows} rows removed.")
            if not report.wiped:
                print("  Another desk has the store open: the space is overwritten when it closes.")
    return EXIT_OK


def cmd_retention_policy(args) -> int:
    with open_store(args) as store:
        try:
            if args.review_age is not None or args.review_age_if_17 is not None:
                current = retention.policy(store.db)
                rules = retention.set_policy(
                    store, args.review_age or current.review_age,
                    args.review_age_if_17 or current.review_age_if_17_at_closure)
            else:
                store.require(Permission.PURGE_RECORDS)
                rules = retention.policy(store.db)
        except _PROBLEMS as exc:
            raise BadInput(str(exc)) from None
    print(f"Review at the {rules.review_age}th birthday; at the {rules.review_age_if_17_at_closure}th "
          "if 17 or older when the last contact closed.")
    return EXIT_OK
