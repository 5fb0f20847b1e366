"""Values as a letter prints them: dates and times in words (independent of the machine's
locale), durations from the wording file, NHS numbers, short hashes, typed text as a sentence."""

from __future__ import annotations

from datetime import date, datetime

from spoa.letters.wording import Wording
from spoa.nhs import NhsNumberError, format_nhs_number

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def long_date(day: date) -> str:
    """'3 March 2025' (independent of the machine's locale)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def date_and_time(moment: datetime) -> str:
    """'Monday 3 March 2025 at 14:00', with the time zone's name when it has one."""
    text = f"{_WEEKDAYS[moment.weekday()]} {long_date(moment)} at {moment:%H:%M}"
    zone = moment.tzname() if moment.tzinfo is not None else None
    return f"{text} {zone}" if zone else text


def duration(hours: int, wording: Wording) -> str:
    """A number of hours in the wording file's words: '1 hour', whole days from 48 hours, else hours."""
    if hours == 1:
        return wording.text("phrases.hour")
    if hours >= 48 and hours % 24 == 0:
        return wording.text("phrases.days", count=hours // 24)
    return wording.text("phrases.hours", count=hours)


def nhs_number_display(typed: str, wording: Wording) -> str:
    """An NHS number in 3-3-4 groups; one that fails its check is shown as typed, marked unchecked."""
    if not typed.strip():
        return wording.text("phrases.unknown")
    try:
        return format_nhs_number(typed)
    except NhsNumberError:
        return wording.text("phrases.nhs_number_unchecked", typed=typed.strip())


def short_hash(value: str) -> str:
    """A hash as printed inside text: 16 characters are plenty to tell versions apart."""
    value = value.strip()
    return value if len(value) <= 16 else value[:16] + "…"


def as_sentence(text: str) -> str:
    """Typed text to go inside a sentence of the wording: trimmed, with a full stop."""
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?…" else text + "."
