"""What every command module shares: exit codes, the user-fixable error, argument types."""

from __future__ import annotations

import argparse
from datetime import date

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Input the user can fix; the message says how. Exit code 2."""


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("write the date as YYYY-MM-DD") from None
