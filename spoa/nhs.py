"""NHS number and UK postcode validation (pure Python, standard library only).

NHS numbers are ten digits; the tenth is a Modulus 11 check digit, as set out in
the NHS Data Dictionary ("NHS Number") and the NHS Digital guidance on validating
NHS numbers:

1. Multiply each of the first nine digits by a weight: 10 for the first digit,
   9 for the second, ... 2 for the ninth, and add the results.
2. The check digit is 11 minus (that sum mod 11). A result of 11 means a check
   digit of 0; a result of 10 means no valid NHS number starts with those nine digits.

Numbers beginning 999 are reserved for testing and training. They pass validation
when the checksum holds, but are flagged with a warning because they must never
appear in live records.

Postcodes are checked for shape only (they are not looked up in any address
file): an outward code A9, A99, AA9, AA99, A9A or AA9A, then an inward code 9AA
whose letters are never C, I, K, M, O or V. The non-geographic Girobank postcode
GIR 0AA is also accepted.

Error messages say what was wrong and what to do, but never repeat the input,
so no patient identifier ends up in messages or logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "NhsNumberCheck",
    "NhsNumberError",
    "PostcodeError",
    "format_nhs_number",
    "is_valid_nhs_number",
    "is_valid_postcode",
    "nhs_check_digit",
    "parse_nhs_number",
    "parse_postcode",
    "postcode_district",
]

_DIGITS = frozenset("0123456789")
_SEPARATORS = frozenset(" -")
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
TEST_RANGE_PREFIX = "999"
TEST_RANGE_WARNING = (
    "This is a test-range NHS number (it starts 999). Test numbers must not appear in live records."
)


class NhsNumberError(ValueError):
    """The text is not a valid NHS number. The message never contains the number."""


@dataclass(frozen=True)
class NhsNumberCheck:
    """A valid NHS number as 10 plain digits, with a warning for the test range."""

    digits: str
    warning: str | None


def nhs_check_digit(first_nine: str) -> int | None:
    """Return the Modulus 11 check digit for nine digits, or None if it would be 10."""
    if len(first_nine) != 9 or not set(first_nine) <= _DIGITS:
        raise NhsNumberError("A check digit can only be worked out from exactly 9 digits.")
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def parse_nhs_number(text: str) -> NhsNumberCheck:
    """Validate an NHS number, tolerating spaces and dashes; return its 10 digits."""
    stripped = text.strip()
    if not set(stripped) <= _DIGITS | _SEPARATORS:
        raise NhsNumberError(
            "An NHS number can only contain digits, spaces and dashes. "
            "Check the number and type it again."
        )
    digits = "".join(ch for ch in stripped if ch in _DIGITS)
    if not digits:
        raise NhsNumberError("No NHS number was entered. Type the 10-digit NHS number.")
    if len(digits) != 10:
        raise NhsNumberError(
            f"An NHS number has 10 digits; this one has {len(digits)}. "
            "Check the number and type it again."
        )
    expected = nhs_check_digit(digits[:9])
    if expected is None:
        raise NhsNumberError(
            "This is not a valid NHS number: no NHS number can start with these nine "
            "digits. Check each digit against the original record."
        )
    if int(digits[9]) != expected:
        raise NhsNumberError(
            "This is not a valid NHS number: the last digit does not match the others "
            "(the check digit is wrong). A digit may have been mistyped or two digits "
            "swapped; check it against the original record."
        )
    warning = TEST_RANGE_WARNING if digits.startswith(TEST_RANGE_PREFIX) else None
    return NhsNumberCheck(digits=digits, warning=warning)


def is_valid_nhs_number(text: str) -> bool:
    """True if the text is a valid NHS number (test-range numbers included)."""
    try:
        parse_nhs_number(text)
    except NhsNumberError:
        return False
    return True


def format_nhs_number(digits: str) -> str:
    """Format a valid NHS number for display as '943 476 5919'.

    Raises NhsNumberError if the number is not valid, so an invalid number is
    never displayed as though it were a real one.
    """
    d = parse_nhs_number(digits).digits
    return f"{d[:3]} {d[3:6]} {d[6:]}"


class PostcodeError(ValueError):
    """The text is not a UK postcode. The message never contains the text."""


_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"  # letters C, I, K, M, O and V are never used
_OUTWARD = r"[A-Z]{1,2}[0-9][0-9A-Z]?"  # A9, A99, AA9, AA99, A9A, AA9A
_POSTCODE_RE = re.compile(rf"(?P<outward>{_OUTWARD})(?P<inward>{_INWARD})")
NORMALISED_POSTCODE_RE = re.compile(rf"{_OUTWARD} {_INWARD}|GIR 0AA")
_LOOSE_POSTCODE_RE = re.compile(rf"{_OUTWARD}[0-9][A-Z]{{2}}")
_UNUSED_LETTERS_HELP = (
    "The last two letters of a UK postcode are never C, I, K, M, O or V (as in SW1A 1AA or "
    "M1 1AE). Check the postcode and type it again."
)
_POSTCODE_HELP = (
    "A UK postcode looks like SW1A 1AA or M1 1AE: one or two letters, a number "
    "(sometimes followed by a letter or digit), a space, then a digit and two letters. "
    "Check the postcode and type it again."
)


def parse_postcode(text: str) -> str:
    """Validate a UK postcode (any case, any spacing); return it as 'SW1A 1AA'."""
    compact = "".join(text.split())
    if not compact.isascii():  # before upper(): e.g. dotless 'ı'.upper() == 'I'
        raise PostcodeError(_POSTCODE_HELP)
    compact = compact.upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE_RE.fullmatch(compact)
    if match is None:
        if _LOOSE_POSTCODE_RE.fullmatch(compact):  # the right shape, a letter never used
            raise PostcodeError(_UNUSED_LETTERS_HELP)
        raise PostcodeError(_POSTCODE_HELP)
    return f"{match['outward']} {match['inward']}"


def is_valid_postcode(text: str) -> bool:
    """True if the text has the shape of a UK postcode."""
    try:
        parse_postcode(text)
    except PostcodeError:
        return False
    return True


def postcode_district(postcode: str) -> str:
    """Return the outward code (postcode district) of a postcode, e.g. 'SW1A'."""
    return parse_postcode(postcode).split(" ")[0]
