"""Checking a service given as text, column by column (as in a CSV row or an edit form): ids,
kinds, contact details, ages, postcode districts, schools, urgencies; and how school names are
compared.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from spoa.letters.services import LIST_SEPARATOR, SERVICE_KINDS, RowProblem, Service
from spoa.model import Route, Urgency
from spoa.store.records import LINE_LIMIT, NAME_LIMIT, InvalidField, clean_text

AGE_LIMITS = (0, 25)  # children's and young people's services, up to 25

_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_DISTRICT = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?")  # A9, A99, AA9, AA99, A9A, AA9A
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_EMAIL_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_PHONE_CHARACTERS = frozenset("0123456789 +()-")
_YES = frozenset({"yes", "y", "true", "1", "active"})
_NO = frozenset({"no", "n", "false", "0", "inactive"})


def column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().casefold())


def service_from_values(values: Mapping[str, str]) -> tuple[Service | None, list[RowProblem]]:
    """Check one service given as text (as in a CSV row); returns it, or every problem."""
    problems: list[RowProblem] = []
    checked: dict[str, object] = {}
    for name, check in _CHECKS.items():
        try:
            checked[name] = check(values.get(name, ""))
        except InvalidField as exc:
            problems.append(RowProblem(0, exc.problem, exc.field))
    if not problems:
        if checked["age_min"] > checked["age_max"]:
            problems.append(RowProblem(0, f"the lowest age ({checked['age_min']}) is above the highest "
                                          f"({checked['age_max']})", "age_min"))
        if not checked["secure_email"] and not checked["phone"]:
            problems.append(RowProblem(0, "give a secure email or a phone number, so a referral can "
                                          "reach the service", "secure_email"))
    if problems:
        return None, problems
    return Service(**checked), []


# -- checking each column ------------------------------------------------------------------

def _id(value: str) -> str:
    text = clean_text(value, "id", limit=64, required=True).casefold()
    if not _ID.fullmatch(text):
        raise InvalidField("id", "is 1 to 64 letters, digits, dots, dashes or underscores, starting "
                                 "with a letter or digit (for example riverside-camhs)")
    return text


def _kind(value: str) -> Route:
    text = column_name(clean_text(value, "kind", limit=40, required=True))
    if text == Route.ADVICE.value:
        raise InvalidField("kind", "advice is not a kind of service: advice goes back to the person "
                                   "who asked for it")
    try:
        kind = Route(text)
    except ValueError:
        kind = None
    if kind not in SERVICE_KINDS:
        raise InvalidField("kind", f"must be one of {', '.join(k.value for k in SERVICE_KINDS)}")
    return kind


def _name(value: str) -> str:
    return clean_text(value, "name", limit=NAME_LIMIT, required=True)


def _team(value: str) -> str:
    return clean_text(value, "team", limit=NAME_LIMIT)


def _multiline(field_name: str):
    def check(value: str) -> str:
        text = clean_text((value or "").replace("\r\n", "\n").replace("\r", "\n"), field_name,
                          limit=LINE_LIMIT, single_line=False)
        if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text):
            raise InvalidField(field_name, "must not contain tabs or control characters")
        return "\n".join(line.strip() for line in text.split("\n"))

    return check


def _email(value: str) -> str:
    text = clean_text(value, "secure_email", limit=254)
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    if (not at or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local) or len(labels) < 2
            or not all(_EMAIL_LABEL.fullmatch(label) for label in labels)
            or not labels[-1].isalpha()):
        raise InvalidField("secure_email", "must be one email address such as "
                                           "referrals@camhs.nhs.example")
    return f"{local}@{domain.lower()}"


def _phone(value: str) -> str:
    text = clean_text(value, "phone", limit=40)
    if not text:
        return ""
    help_text = ("must be a UK phone number such as 01632 960123 or +44 1632 960123 (if a spreadsheet "
                 "dropped its leading 0, format the column as text)")
    if not set(text) <= _PHONE_CHARACTERS:
        raise InvalidField("phone", help_text)
    digits = "".join(ch for ch in text.replace("(0)", "") if ch.isdigit())
    if text.startswith("+"):
        if not digits.startswith("44"):
            raise InvalidField("phone", help_text)
        digits = "0" + digits[2:]
    short_helpline = digits.startswith("116") and len(digits) == 6  # 116 123 and the like
    if not short_helpline and not (digits.startswith("0") and 9 <= len(digits) <= 11):
        raise InvalidField("phone", help_text)
    return text


def _age(field_name: str):
    def check(value: str) -> int:
        text = clean_text(value, field_name, limit=20, required=True)
        match = re.fullmatch(r"(\d{1,3})(?:\.0+)?", text)  # a spreadsheet may write 5 as 5.0
        low, high = AGE_LIMITS
        if match is None or not low <= int(match[1]) <= high:
            raise InvalidField(field_name, f"must be a whole number of years from {low} to {high}")
        return int(match[1])

    return check


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def _districts(value: str) -> tuple[str, ...]:
    text = clean_text(value, "postcode_districts", limit=LINE_LIMIT)
    districts: list[str] = []
    for part in _split(text):
        district = part.upper()
        if not district.isascii() or not _DISTRICT.fullmatch(district):
            raise InvalidField("postcode_districts",
                               f"{part!r} is not a postcode district: a district is the first part of "
                               "a postcode, such as M1, B33, CR2, DN55, W1A or EC1A, and districts "
                               f"are separated by '{LIST_SEPARATOR}'")
        if district not in districts:
            districts.append(district)
    return tuple(districts)


def _schools(value: str) -> tuple[str, ...]:
    text = clean_text(value, "schools", limit=LINE_LIMIT * 20)
    schools: list[str] = []
    for part in _split(text):
        school = clean_text(part, "schools", limit=NAME_LIMIT)
        if school_key(school) not in {school_key(s) for s in schools}:
            schools.append(school)
    return tuple(schools)


def _urgencies(value: str) -> tuple[Urgency, ...]:
    text = clean_text(value, "urgencies", limit=LINE_LIMIT)
    urgencies: list[Urgency] = []
    for part in _split(text):
        try:
            urgency = Urgency(column_name(part))
        except ValueError:
            raise InvalidField("urgencies", f"{part!r} is not an urgency; use "
                                            f"{', '.join(u.value for u in Urgency)}, separated by "
                                            f"'{LIST_SEPARATOR}'") from None
        if urgency not in urgencies:
            urgencies.append(urgency)
    if not urgencies:
        raise InvalidField("urgencies", "list the urgencies the service accepts "
                                        f"({', '.join(u.value for u in Urgency)}), separated by "
                                        f"'{LIST_SEPARATOR}'")
    return tuple(sorted(urgencies, key=lambda u: u.rank))


def _active(value: str) -> bool:
    text = clean_text(value, "active", limit=20).casefold()
    if not text or text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidField("active", "must be yes or no (empty means yes)")


_CHECKS = {
    "id": _id,
    "kind": _kind,
    "name": _name,
    "team": _team,
    "address": _multiline("address"),
    "secure_email": _email,
    "phone": _phone,
    "age_min": _age("age_min"),
    "age_max": _age("age_max"),
    "postcode_districts": _districts,
    "schools": _schools,
    "urgencies": _urgencies,
    "opening_notes": _multiline("opening_notes"),
    "active": _active,
}


def school_key(name: str) -> str:
    """A school's name as compared: case, accents' composition, punctuation and spacing aside."""
    text = clean_text(name or "", "school", limit=NAME_LIMIT * 2, single_line=False).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())
