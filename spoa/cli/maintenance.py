"""``spoa backup``, ``spoa restore`` and ``spoa retention list|purge|policy``.

Backup, purge and policy need an administrator. Restore over a live store needs an
active administrator of the *live* store (the backup's own accounts do not count), or,
with ``--recovery-code``, the live store's recovery code (``SPOA_RECOVERY_CODE``, the
first line of standard input with ``--password-stdin``, or a prompt). It shows what the
live store holds against the backup and asks before replacing anything (``--yes`` for
scripts). When that password or code does not open the backup (changed since), add
``--backup-recovery-code`` (``SPOA_BACKUP_RECOVERY_CODE``, the next line of standard
input, or a prompt). Into a folder with no store, only the backup's recovery code
restores (``--recovery-code``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spoa.cli.access import add_store_arguments, ask_secret, open_store, store_folder, username
from spoa.cli.common import EXIT_FAILED, EXIT_OK, BadInput, iso_date
from spoa.roles import NotAllowed, Permission
from spoa.store import retention
from spoa.store.backup import backup
from spoa.store.backup_archive import SUGGESTED_SUFFIX, RestoreComparison
from spoa.store.database import StoreError
from spoa.store.device import KeyringUnavailable
from spoa.store.keyslots import SlotFileProblem
from spoa.store.restore import RestoreCancelled, check_restorable, restore
from spoa.store.store import Store

RECOVERY_VARIABLE = "SPOA_RECOVERY_CODE"
BACKUP_RECOVERY_VARIABLE = "SPOA_BACKUP_RECOVERY_CODE"
RECORDS = {"contacts": "contacts", "children": "children", "referrals": "referrals",
           "advice_requests": "advice requests", "audit": "audit entries"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
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
                      help=f"use the recovery code ({RECOVERY_VARIABLE} or a prompt) instead of a password: "
                           "the live store's, or with no store in the folder (a new computer) the backup's")
    back.add_argument("--backup-recovery-code", action="store_true",
                      help=f"also give the backup's own recovery code ({BACKUP_RECOVERY_VARIABLE}, the "
                           "next line with --password-stdin, or a prompt), when your password or the "
                           "recovery code changed since the backup")
    back.add_argument("--yes", action="store_true",
                      help="replace the live store without asking (for scripts; check the backup first)")
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
    print("Keep it away from this computer and apart from the recovery code: the backup with the "
          "code opens the records on any computer.")
    return EXIT_OK


def cmd_restore(args) -> int:
    folder = store_folder(args)
    over_live = Store.exists(folder)
    try:
        check_restorable(folder, with_recovery_code=args.recovery_code or args.backup_recovery_code)
    except _PROBLEMS as exc:
        raise BadInput(str(exc)) from None
    if over_live and not args.yes and not _terminal():
        raise BadInput(f"Restoring replaces the store in {folder}, so the desk shows what would be lost "
                       "and asks first, and there is no terminal to ask on. Run it in a terminal, or add "
                       "--yes once you are sure this is the backup to restore. Nothing was changed.")
    name = password = code = backup_code = None
    if args.recovery_code:
        code = ask_secret(args, "Recovery code: ", RECOVERY_VARIABLE)
    elif over_live or not args.backup_recovery_code:
        name = username(args)
        password = ask_secret(args, f"Password for {name}: ")
    if args.backup_recovery_code:
        backup_code = ask_secret(args, "The backup's recovery code: ", BACKUP_RECOVERY_VARIABLE)

    def confirm(comparison: RestoreComparison) -> bool:
        print(_what_would_be_lost(comparison, folder))
        if args.yes:
            return True
        try:
            answer = input("Replace the live store with this backup? [y/N] ")
        except EOFError:
            return False
        return answer.strip().casefold() in ("y", "yes")

    try:
        report = restore(args.file, folder, username=name, password=password, recovery_code=code,
                         backup_recovery_code=backup_code, confirm=confirm)
    except RestoreCancelled as exc:
        print(str(exc))
        return EXIT_FAILED
    except _PROBLEMS as exc:
        raise BadInput(str(exc)) from None
    print(f"Restored the backup of {_when(report.created_at)} into {report.folder}; every table matched "
          "its manifest.")
    if report.over_live:
        print("  its accounts are the live store's (the backup's own were not used), and it has a new "
              "key that only they and the live recovery code open.")
    else:
        print("  its accounts are as they were when the backup was made: check them ('spoa user list').")
    for path in report.kept:
        print(f"  kept the previous file as {path.name}")
    if not report.previous_checkpointed:
        print("  the previous database could not be opened first; its files were kept as they were.")
    return EXIT_OK


def _terminal() -> bool:
    return bool(sys.stdin) and sys.stdin.isatty()


def _when(moment: datetime | str | None) -> str:
    """A moment as a clinician reads it, in UK time: '3 March 2025 at 14:05'."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment is None:
        return "none"
    try:
        local = moment.astimezone(ZoneInfo("Europe/London"))
    except ZoneInfoNotFoundError:  # no time zone data on this computer: its own local time
        local = moment.astimezone()
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} at {local:%H:%M}"


def _counted(rows: int | None, newest: datetime | None) -> str:
    if rows is None:
        return "cannot be read"
    return f"{rows:,}, newest {_when(newest)}" if rows else "none"


def _what_would_be_lost(comparison: RestoreComparison, folder: Path) -> str:
    lines = [f"Restoring replaces the store in {folder} with the backup made on "
             f"{_when(comparison.backup_made_at)}."]
    if not comparison.same_store:
        lines.append("This backup was made of a different store: all of its records replace these.")
    if not comparison.live_readable:
        lines.append("The live store's database cannot be read (damaged or missing).")
    rows: list[tuple[str, str, str]] = [("", "in the live store now", "in the backup")]
    rows += [(RECORDS.get(t.table, t.table), _counted(t.live_rows, t.live_newest),
              _counted(t.backup_rows, t.backup_newest)) for t in comparison.tables]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines += [f"  {a:<{widths[0]}}   {b:<{widths[1]}}   {c}".rstrip() for a, b, c in rows]
    newer = [RECORDS.get(t, t) for t in comparison.newer_in_live]
    if newer:
        listed = ", ".join(newer[:-1]) + f" and {newer[-1]}" if len(newer) > 1 else newer[0]
        lines.append(f"The live store has {listed} entered after the newest in the backup: after "
                     "restoring they are only in the previous files, kept beside the store.")
    return "\n".join(lines)


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
