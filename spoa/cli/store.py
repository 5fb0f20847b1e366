"""``spoa init``, ``spoa user …``, ``spoa audit verify``, ``spoa rekey``, ``spoa recover``."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from pathlib import Path

from spoa.cli.access import (
    add_store_arguments,
    ask,
    ask_secret,
    open_store,
    store_folder,
    username,
)
from spoa.cli.common import EXIT_FAILED, EXIT_OK, BadInput
from spoa.letters import outbox
from spoa.roles import NotAllowed, Role
from spoa.settings import SettingsProblem
from spoa.store.anchors import when_text
from spoa.store.backup_archive import SUGGESTED_SUFFIX
from spoa.store.database import StoreError, driver_cipher_version
from spoa.store.device import KeyringUnavailable, check_backend
from spoa.store.keys import calibrate
from spoa.store.keyslots import SlotFileProblem
from spoa.store.store import NoKeyringToBind, Store

NEW_PASSWORD_VARIABLE = "SPOA_NEW_PASSWORD"  # noqa: S105 (a variable name)
RECOVERY_VARIABLE = "SPOA_RECOVERY_CODE"


def add_commands(commands) -> None:
    init = commands.add_parser("init", help="create the encrypted store and its first administrator")
    add_store_arguments(init)
    init.add_argument("--display-name", help="the administrator's name as shown to others")
    init.add_argument("--outbox-folder", metavar="PATH",
                      help="where letters are saved (e.g. a secure shared drive); without it, letters "
                           "cannot leave until a supervisor sets where they go")
    init.add_argument("--no-keyring", action="store_true",
                      help="do not bind the store to this computer's keyring (recorded and shown)")
    init.set_defaults(run=cmd_init)

    user = commands.add_parser("user", help="people who can open the store")
    user_commands = user.add_subparsers(title="user commands")
    add = user_commands.add_parser("add", help="add a user with a temporary password (admin)")
    add.add_argument("new_username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--display-name", required=True)
    add_store_arguments(add)
    add.set_defaults(run=cmd_user_add)
    listing = user_commands.add_parser("list", help="every user, role and status (admin)")
    add_store_arguments(listing)
    listing.set_defaults(run=cmd_user_list)
    passwd = user_commands.add_parser("passwd", help="change your own password")
    add_store_arguments(passwd)
    passwd.set_defaults(run=cmd_user_passwd)
    reset = user_commands.add_parser("reset", help="give a user a new temporary password (admin)")
    reset.add_argument("target")
    add_store_arguments(reset)
    reset.set_defaults(run=cmd_user_reset)
    deactivate = user_commands.add_parser("deactivate", help="remove a user's access (admin)")
    deactivate.add_argument("target")
    add_store_arguments(deactivate)
    deactivate.set_defaults(run=cmd_user_deactivate)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(title="audit commands")
    verify = audit_commands.add_parser(
        "verify", help="check the hash chain and its anchors outside the database (admin); "
                       "exit 1 if either disagrees")
    verify.add_argument("--backup", type=Path, action="append", default=[], metavar="PATH",
                        help="also compare with the anchor in this backup file, or in every "
                             f"{SUGGESTED_SUFFIX} file in this folder (repeatable)")
    add_store_arguments(verify)
    verify.set_defaults(run=cmd_audit_verify)

    rekey = commands.add_parser(
        "rekey", help="re-encrypt the store under a new data key and give it a new recovery code (admin)")
    add_store_arguments(rekey)
    rekey.add_argument("--keep-recovery-code", action="store_true",
                       help="keep the recovery code as it is (only if everyone who ever knew it "
                            "may still open the store)")
    rekey.set_defaults(run=cmd_rekey)

    recover = commands.add_parser(
        "recover", help="open the store with the recovery code and give an administrator a new password")
    recover.add_argument("--data-dir", type=Path)
    recover.add_argument("--admin", help="the administrator who gets a new temporary password")
    recover.add_argument("--no-keyring", action="store_true",
                         help="if this computer has no usable keyring, stop binding the store to one "
                              "(recorded in the audit and shown to every user)")
    recover.set_defaults(run=cmd_recover)


def _temporary_password() -> str:
    words = [secrets.token_hex(3) for _ in range(3)]
    return "-".join(words)


def _new_password(args, who: str) -> str:
    value = os.environ.get(NEW_PASSWORD_VARIABLE)
    if value:
        return value
    if not sys.stdin or not sys.stdin.isatty():
        raise BadInput(f"No new password: set {NEW_PASSWORD_VARIABLE} or run in a terminal.")
    first = getpass.getpass(f"New password for {who}: ")
    if getpass.getpass("Type it again: ") != first:
        raise BadInput("The two passwords differ; nothing was changed.")
    return first


def _fail(exc: Exception) -> BadInput:
    return BadInput(str(exc))


def cmd_init(args) -> int:
    folder = store_folder(args)
    if Store.exists(folder):
        raise BadInput(f"{folder} already holds a store. Nothing was changed.")
    if not driver_cipher_version():
        raise BadInput("The database driver is not SQLCipher; refusing to create unencrypted records.")
    if not args.no_keyring:
        try:
            backend = check_backend()
        except KeyringUnavailable as exc:
            raise BadInput(f"{exc} To set it up without one, run 'spoa init --no-keyring'. "
                           "Nothing was created.") from None
        print(f"Keyring: {backend}")
    else:
        print("Keyring: not used (--no-keyring). Anyone with the files and a password can open "
              "the store on any computer; this is shown to every user.")
    if args.outbox_folder:
        try:
            outbox.check_outbox_folder(args.outbox_folder)  # before anything is created
        except SettingsProblem as exc:
            raise BadInput(f"{exc} Nothing was created.") from None
    admin = username(args)
    display = args.display_name or admin
    password = ask_secret(args, f"Choose a password for {admin}: ")
    print("Tuning password protection for this computer (a second or two)…", flush=True)
    params = calibrate()
    try:
        store, code = Store.init(folder, admin_username=admin, admin_display_name=display,
                                 admin_password=password, use_keyring=not args.no_keyring, kdf=params)
    except (StoreError, KeyringUnavailable) as exc:
        raise _fail(exc) from None
    unsaved = None
    if args.outbox_folder:
        try:
            outbox.configure_at_setup(store, folder=args.outbox_folder)
        except (SettingsProblem, StoreError, NotAllowed) as exc:
            unsaved = str(exc)
    store.lock()
    print(f"Created the encrypted store in {folder}.")
    if args.outbox_folder and unsaved is None:
        print(f"Letters are saved to {args.outbox_folder}.")
    elif unsaved is not None:
        print(f"Where letters go was not saved: {unsaved}", file=sys.stderr)
    if not outbox.letters_can_leave(folder):
        print("Letters cannot leave yet: a supervisor sets where they go ('spoa outbox folder PATH' "
              "or 'spoa outbox smtp …', or on the desk's Outbox page).", file=sys.stderr)
    _show_recovery_code(code, "RECOVERY CODE")
    return EXIT_OK


def cmd_user_add(args) -> int:
    with open_store(args) as store:
        temporary = _temporary_password()
        try:
            user = store.add_user(args.new_username, args.display_name, Role(args.role), temporary)
        except StoreError as exc:
            raise _fail(exc) from None
    print(f"Added {user.username} ({user.role.value}). Temporary password: {temporary}")
    print("Give it to them in person; they must choose their own at first login ('spoa user passwd').")
    return EXIT_OK


def cmd_user_list(args) -> int:
    with open_store(args) as store:
        from spoa.roles import Permission

        store.require(Permission.MANAGE_USERS)
        users = store.users()
    for user in users:
        status = "active" if user.active else "deactivated"
        if user.active and user.must_change_password:
            status += ", temporary password"
        print(f"{user.username:<20} {user.role.value:<13} {status:<32} {user.display_name}")
    return EXIT_OK


def cmd_user_passwd(args) -> int:
    folder = store_folder(args)
    if not Store.exists(folder):
        raise BadInput(f"There is no store in {folder}.")
    name = username(args)
    current = ask_secret(args, f"Current password for {name}: ")
    try:
        store = Store.unlock(folder, name, current)
    except (StoreError, SlotFileProblem, KeyringUnavailable) as exc:
        raise _fail(exc) from None
    with store:
        new = _new_password(args, store.user.username)
        try:
            store.change_password(current, new)
        except StoreError as exc:
            raise _fail(exc) from None
    print("Password changed.")
    return EXIT_OK


def cmd_user_reset(args) -> int:
    with open_store(args) as store:
        temporary = _temporary_password()
        try:
            store.reset_password(args.target, temporary)
        except StoreError as exc:
            raise _fail(exc) from None
    print(f"New temporary password for {args.target}: {temporary}")
    return EXIT_OK


def cmd_user_deactivate(args) -> int:
    with open_store(args) as store:
        try:
            store.deactivate_user(args.target)
        except StoreError as exc:
            raise _fail(exc) from None
    print(f"Deactivated {args.target}; their password no longer opens the store.")
    return EXIT_OK


def cmd_audit_verify(args) -> int:
    backups = _backup_files(args.backup)
    with open_store(args) as store:
        report = store.verify_audit(backups)
    if not report.chain_intact:
        print(f"BROKEN at entry {report.first_bad}: {report.problem}")
    for check in report.disagreeing:
        print(f"BROKEN: {check.problem}.")
    if report.intact:
        print(f"intact: {report.count} entries")
    for check in report.anchors:
        if check.agrees and check.anchor is not None:
            print(f"  agrees with {check.place} (entry {check.anchor.count}, "
                  f"{when_text(check.anchor.at)})" + (f"; {check.note}" if check.note else ""))
        elif check.agrees:
            print(f"  not compared with {check.place}: {check.note}")
    if not report.intact:
        print("Keep the store and its backups as they are and tell your information governance lead.")
        return EXIT_FAILED
    return EXIT_OK


def _backup_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.name.endswith(SUGGESTED_SUFFIX))
        elif path.is_file():
            found.append(path)
        else:
            raise BadInput(f"There is no backup file or folder at {path}.")
    return found


def cmd_rekey(args) -> int:
    with open_store(args) as store:
        not_yet = store.rekey()
        print("The store is now encrypted under a new data key. The passwords of active users "
              "still work; a copy of the old key, with the key file of that time, opens nothing "
              "any more, and deactivated users' passwords open nothing.")
        if not_yet:
            print(f"Not yet for {', '.join(not_yet)}: their sign-in was set up by an older version "
                  "of the desk and is renewed the next time they sign in. Until then, someone "
                  "holding the old key and an old copy of the key file could still follow it. "
                  "Ask them to sign in (or reset their passwords), then run 'spoa rekey' again.")
        if args.keep_recovery_code:
            print("The recovery code is unchanged.")
        else:
            store.replace_recovery_code(_show_recovery_code)
            print("The old recovery code no longer opens the store.")
    return EXIT_OK


def _show_recovery_code(code: str, heading: str = "NEW RECOVERY CODE") -> None:
    print()
    print(f"{heading} (shown once; write it down and keep it somewhere safe and separate):")
    print()
    print(f"    {code}")
    print()
    print("It opens the store if every password is lost or this computer's keyring is reset.",
          flush=True)


def cmd_recover(args) -> int:
    folder = store_folder(args)
    code = os.environ.get(RECOVERY_VARIABLE) or ask("Recovery code: ")
    try:
        store = Store.recover(folder, code, without_keyring=args.no_keyring)
    except NoKeyringToBind as exc:
        raise BadInput(f"{exc} To open it without a keyring from now on, run "
                       "'spoa recover --no-keyring'.") from None
    except (StoreError, SlotFileProblem, KeyringUnavailable) as exc:
        raise _fail(exc) from None
    with store:
        admins = [u for u in store.users() if u.role is Role.ADMIN and u.active]
        target = args.admin or (admins[0].username if len(admins) == 1 else ask("Administrator: "))
        temporary = _temporary_password()
        try:
            store.reset_password(target, temporary)
        except StoreError as exc:
            raise _fail(exc) from None
    print(f"Recovered. New temporary password for {target}: {temporary}")
    return EXIT_OK
