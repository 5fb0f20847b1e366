"""What a stored field may hold: the limits, the errors a bad value raises, and the cleaning
every value passes on its way into a record.

Text is NFC-normalised and trimmed on the way in. NUL characters, lone surrogates and text over the
field's limit are refused with an InvalidField naming the field, never repeating the value.
"""

from __future__ import annotations

import contextlib
import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

NAME_LIMIT = 200  # names of people, schools, practices, organisations
LINE_LIMIT = 1_000  # an address, a phone number, a referrer's contact details
FREE_TEXT_LIMIT = 100_000  # notes, reasons, free-text answers
JSON_LIMIT = 1_000_000  # a whole answers or consent document, once encoded
JSON_DEPTH = 20
EARLIEST_BIRTH_YEAR = 1900


class RecordError(ValueError):
    """A record could not be read or written as asked; the message is for people."""


class InvalidField(RecordError):
    """A value that cannot be stored. Names the field; never contains the value."""

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}")


class RecordNotFound(RecordError):
    pass


class DecisionRefused(RecordError):
    """A triage outcome cannot be confirmed, overridden or changed in this state."""


# -- cleaning what comes in ---------------------------------------------------------------

def clean_text(value: object, field_name: str, *, limit: int, required: bool = False,
               single_line: bool = True) -> str:
    """Text as stored: NFC and trimmed; single-line fields without control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField(field_name, "must be text")
    if "\x00" in value:
        raise InvalidField(field_name, "contains a NUL character (\\0), which cannot be stored; remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field_name, "contains a broken character (a lone surrogate); "
                                       "retype or paste the text again") from None
    text = unicodedata.normalize("NFC", value).strip()
    if single_line and any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidField(field_name, "must be one line, without tabs, line breaks or other "
                                       "control characters")
    if len(text) > limit:
        raise InvalidField(field_name, f"is {len(text):,} characters long; the limit is {limit:,}")
    if required and not text:
        raise InvalidField(field_name, "is required")
    return text


def clean_date(value: object, field_name: str, *, not_after: date | None = None) -> str | None:
    """A calendar date as ISO text; accepts a date, YYYY-MM-DD or DD/MM/YYYY."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        value = clean_text(value, field_name, limit=40)
        value = _parse_date_text(value, field_name)
    if not isinstance(value, date):
        raise InvalidField(field_name, "must be a date written as YYYY-MM-DD or DD/MM/YYYY")
    if value.year < EARLIEST_BIRTH_YEAR:
        raise InvalidField(field_name, f"is before {EARLIEST_BIRTH_YEAR}; check the year")
    if not_after is not None and value > not_after:
        raise InvalidField(field_name, "is in the future; check the date")
    return value.isoformat()


def _parse_date_text(text: str, field_name: str) -> date:
    with contextlib.suppress(ValueError):
        return date.fromisoformat(text)
    parts = text.replace(".", "/").replace("-", "/").split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        with contextlib.suppress(ValueError):
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
    raise InvalidField(field_name, "must be a real date written as YYYY-MM-DD or DD/MM/YYYY")


def clean_instant(value: object, field_name: str, *, required: bool = False) -> str | None:
    """A moment as UTC ISO text. A time without a zone is refused rather than guessed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidField(field_name, "is required")
        return None
    if isinstance(value, str):
        text = clean_text(value, field_name, limit=64)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidField(field_name, "must be a date and time such as 2026-11-20T09:30:00Z") from None
    if not isinstance(value, datetime):
        raise InvalidField(field_name, "must be a date and time such as 2026-11-20T09:30:00Z")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidField(field_name, "needs a time zone (end it with Z for UK winter time / UTC, "
                                       "or +01:00 for British Summer Time)")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def clean_json(value: object, field_name: str) -> object:
    """A JSON-able copy: strings cleaned as free text, dates as ISO, tuples as lists."""
    cleaned = _clean_json(value, field_name, 0)
    size = len(json.dumps(cleaned, ensure_ascii=False))
    if size > JSON_LIMIT:
        raise InvalidField(field_name, f"is {size:,} characters once stored; the limit is {JSON_LIMIT:,}")
    return cleaned


def _clean_json(value: object, where: str, depth: int) -> object:
    if depth > JSON_DEPTH:
        raise InvalidField(where, f"is nested more than {JSON_DEPTH} levels deep")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidField(where, "must be a finite number")
        return value
    if isinstance(value, str):
        return clean_text(value, where, limit=FREE_TEXT_LIMIT, single_line=False)
    if isinstance(value, datetime):
        return clean_instant(value, where)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidField(where, "has a key that is not text")
            name = clean_text(key, f"{where} (a key)", limit=NAME_LIMIT, required=True)
            result[name] = _clean_json(item, f"{where}.{name}", depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [_clean_json(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise InvalidField(where, f"cannot be stored (a {type(value).__name__})")


def clean_reason(value: object, field_name: str = "reason") -> str:
    return clean_text(value, field_name, limit=FREE_TEXT_LIMIT, required=True, single_line=False)


def text_of_number(value: object) -> object:
    """A whole number typed where text is stored (a phone number) as its text; anything else as is."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def clean_choice(value: object, field_name: str, choices: Sequence[str]) -> str:
    """One of a fixed set of words (a contact's kind or status)."""
    text = clean_text(value, field_name, limit=NAME_LIMIT, required=True)
    if text not in choices:
        raise InvalidField(field_name, "must be one of: " + ", ".join(choices))
    return text


def stored_instant(text: str | None) -> datetime | None:
    """A moment as stored (ISO text, or nothing) read back."""
    return datetime.fromisoformat(text) if text else None
