"""Opening the store from the command line: where it is, who you are, your password.

Non-interactive use: ``SPOA_USER`` and ``SPOA_PASSWORD``, or ``--password-stdin``;
otherwise the password is asked for without echo. ``--data-dir`` or ``SPOA_DATA_DIR``
choose the folder; the default is the platform's user data folder.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from spoa.cli.common import BadInput
from spoa.paths import data_dir
from spoa.store.database import StoreError
from spoa.store.device import NOT_BOUND_NOTE, KeyringUnavailable
from spoa.store.keyslots import SlotFileProblem
from spoa.store.store import Store

USER_VARIABLE = "SPOA_USER"
PASSWORD_VARIABLE = "SPOA_PASSWORD"  # noqa: S105 (a variable name, not a password)


def add_store_arguments(parser) -> None:
    parser.add_argument("--data-dir", type=Path,
                        help="the store's folder (default: SPOA_DATA_DIR or the user data folder)")
    parser.add_argument("--user", help=f"your username (default: {USER_VARIABLE} or a prompt)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")


def store_folder(args) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir()


def ask(prompt: str) -> str:
    if not sys.stdin or not sys.stdin.isatty():
        raise BadInput(f"{prompt.rstrip(': ')} is needed and there is no terminal to ask on; "
                       "pass it as an option or in the environment.")
    return input(prompt).strip()


def ask_secret(args, prompt: str, variable: str = PASSWORD_VARIABLE) -> str:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise BadInput("--password-stdin was given but standard input was empty.")
        return line.rstrip("\r\n")
    value = os.environ.get(variable)
    if value:
        return value
    if not sys.stdin or not sys.stdin.isatty():
        raise BadInput(f"No password: set {variable}, use --password-stdin, or run in a terminal.")
    return getpass.getpass(prompt)


def username(args) -> str:
    return getattr(args, "user", None) or os.environ.get(USER_VARIABLE) or ask("Username: ")


def open_store(args, *, allow_temporary_password: bool = False) -> Store:
    """Unlock the store for one command; every failure becomes a message, not a traceback."""
    folder = store_folder(args)
    if not Store.exists(folder):
        raise BadInput(f"There is no store in {folder}. Create one with 'spoa init', or give "
                       "--data-dir for the folder that holds it.")
    name = username(args)
    password = ask_secret(args, f"Password for {name}: ")
    try:
        store = Store.unlock(folder, name, password)
    except (StoreError, SlotFileProblem, KeyringUnavailable) as exc:
        raise BadInput(str(exc)) from None
    if not store.slots.uses_keyring:
        print(f"note: {NOT_BOUND_NOTE[0].lower()}{NOT_BOUND_NOTE[1:]}", file=sys.stderr)
    if store.user.must_change_password and not allow_temporary_password:
        store.lock()
        raise BadInput("Your password is a temporary one. Choose your own first: "
                       "'spoa user passwd'.")
    return store
