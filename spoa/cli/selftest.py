"""``spoa self-test``: prove this installation works (the packaged app's ``--self-test``)."""

from __future__ import annotations

from spoa import selftest


def add_commands(commands) -> None:
    """The self-test command."""
    command = commands.add_parser(
        "self-test", help="check this installation on synthetic data in a temporary store; exit 1 on any "
                          "failure",
        description="Makes a temporary encrypted store, runs every built-in module's vignettes, makes one "
                    "letter of each kind and reads it back, and verifies the audit chain. Synthetic data "
                    "only; your records, keyring and data folder are not touched.")
    command.set_defaults(run=cmd_self_test)


def cmd_self_test(args) -> int:
    return selftest.main()
