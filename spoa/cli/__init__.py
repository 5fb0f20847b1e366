"""The ``spoa`` command line: the same core operations as the desktop app.

Exit codes: 0 done; 1 a check or test found problems; 2 the input was wrong (the
message says what and what to do). Each command family lives in its own module and
adds itself to the parser in ``_parser``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

import sqlcipher3

from spoa.cli import advice, contacts, directory, maintenance, referrals, rules, selftest, store
from spoa.cli.access import store_folder
from spoa.cli.common import EXIT_BAD_INPUT, BadInput
from spoa.roles import NotAllowed
from spoa.store.database import DATABASE_FILE, StoreError, explain


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # a frozen build's letter workers (spoa.letters.builders)
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return args.run(args)
    except (BadInput, NotAllowed, StoreError) as exc:
        print(f"spoa: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except sqlcipher3.Error as exc:
        # A page that fails its check while reading: never served, said in words.
        print(f"spoa: {explain(exc, store_folder(args) / DATABASE_FILE)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. '| head'): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spoa", description="SPOA triage desk, command line.")
    commands = parser.add_subparsers(title="commands")
    rules.add_commands(commands)
    store.add_commands(commands)
    contacts.add_commands(commands)
    maintenance.add_commands(commands)
    directory.add_commands(commands)
    referrals.add_commands(commands)
    advice.add_commands(commands)
    selftest.add_commands(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
