"""Finding contacts and children: FTS5 over folded text, and possible duplicate children.

Text is folded before it is indexed and before it is searched (NFD, combining marks and
invisible format characters dropped, casefolded), and the table's unicode61 tokenizer
removes diacritics again, so 'Zoe' finds 'Zoë' and a name typed in decomposed form finds
the composed one. Each contact has one row holding its child's name, NHS number (plain
and grouped 3-3-4), date of birth, school and the referrer's name and organisation.

A query is never passed to FTS5 as syntax: each word becomes a quoted prefix term, so
quotes, ``*``, ``NEAR(`` or ``OR`` are just text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

MAX_QUERY_TERMS = 12
MAX_QUERY_CHARS = 500

# An NHS number typed with spaces or dashes (3-3-4); joined so it matches the plain form.
_NHS_IN_QUERY = re.compile(r"(?<!\d)(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})(?!\d)")
# A UK date, d/m/yyyy (also with - or .), rewritten as ISO like the index holds.
_UK_DATE_IN_QUERY = re.compile(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?!\d)")


# Letters that carry an accent-like mark but do not decompose, written as people type
# them without it (Søren, Łukasz, Ælfric, Đorđe).
_PLAIN_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae",
                                "œ": "oe", "þ": "th", "ð": "d", "ŧ": "t"})


def fold(text: str) -> str:
    """Text as the index and the duplicate check compare it: no accents, no case."""
    # Casefold first: it can itself produce combining marks ('İ' -> 'i' + dot above).
    decomposed = unicodedata.normalize("NFD", _printable(text).casefold())
    kept = "".join(ch for ch in decomposed
                   if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", kept.translate(_PLAIN_LETTERS))


def folded_name(given_name: str, family_name: str) -> str:
    return " ".join(fold(f"{given_name} {family_name}").split())


def _printable(text: str) -> str:
    """Drop what SQLite cannot take (lone surrogates, NUL); stored text never has them."""
    if "\x00" not in text and text.isascii():
        return text
    return "".join(ch for ch in text if ch != "\x00" and not "\ud800" <= ch <= "\udfff")


# -- the index ---------------------------------------------------------------------------

def _search_rowid(contact_id: str) -> int:
    """The FTS row for a contact, derived from its id so it can be found without a scan
    (a contact's own rowid may change on VACUUM; its id never does)."""
    return int.from_bytes(hashlib.sha256(contact_id.encode("utf-8")).digest()[:8], "big") >> 1


def search_rowid_taken(db: Database, contact_id: str) -> bool:
    """True if a new contact with this id would collide in the index (vanishingly rare)."""
    return db.execute("SELECT 1 FROM contact_search WHERE rowid = ?",
                      [_search_rowid(contact_id)]).fetchone() is not None


def document(*, given_name: str, family_name: str, nhs_number: str | None,
             date_of_birth: str | None, school: str, referrer_name: str,
             referrer_organisation: str) -> str:
    """The folded text indexed for one contact."""
    parts = [given_name, family_name]
    if nhs_number:
        parts += [nhs_number, f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}"]
    if date_of_birth:
        parts.append(date_of_birth)
    parts += [school, referrer_name, referrer_organisation]
    return fold(" | ".join(p for p in parts if p))


def reindex_contact(db: Database, contact_id: str) -> None:
    """Bring one contact's index row up to date (inside the caller's transaction)."""
    row = db.execute(
        "SELECT ch.given_name, ch.family_name, ch.nhs_number, ch.date_of_birth, ch.school, "
        "co.referrer_name, co.referrer_organisation "
        "FROM contacts co JOIN children ch ON ch.id = co.child_id WHERE co.id = ?",
        [contact_id]).fetchone()
    rowid = _search_rowid(contact_id)
    db.execute("DELETE FROM contact_search WHERE rowid = ?", [rowid])
    if row is None:
        return
    text = document(given_name=row[0], family_name=row[1], nhs_number=row[2], date_of_birth=row[3],
                    school=row[4], referrer_name=row[5], referrer_organisation=row[6])
    db.execute("INSERT INTO contact_search (rowid, contact_id, folded) VALUES (?, ?, ?)",
               [rowid, contact_id, text])


def reindex_child(db: Database, child_id: str) -> None:
    for (contact_id,) in db.execute("SELECT id FROM contacts WHERE child_id = ?", [child_id]).fetchall():
        reindex_contact(db, contact_id)


# -- searching ---------------------------------------------------------------------------

def match_expression(text: str) -> str | None:
    """The FTS5 MATCH expression for what a person typed, or None if nothing is searchable.

    Every word is quoted (so no FTS syntax gets through) and matched as a prefix; all
    words must match.
    """
    text = _printable(unicodedata.normalize("NFC", _printable(text)))[:MAX_QUERY_CHARS]
    text = _NHS_IN_QUERY.sub(lambda m: "".join(m.groups()), text)
    text = _UK_DATE_IN_QUERY.sub(_iso_date, text)
    terms = []
    for word in fold(text).split():
        if not any(ch.isalnum() for ch in word):
            continue
        terms.append('"' + word.replace('"', '""') + '"*')
        if len(terms) == MAX_QUERY_TERMS:
            break
    return " ".join(terms) or None


def _iso_date(match: re.Match) -> str:
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return match.group(0)


def find_contacts(db: Database, text: str, *, limit: int = 50) -> list[str]:
    """Contact ids matching the text, best first."""
    expression = match_expression(text)
    if expression is None:
        return []
    rows = db.execute(
        "SELECT contact_id FROM contact_search WHERE contact_search MATCH ? ORDER BY rank LIMIT ?",
        [expression, max(1, int(limit))]).fetchall()
    return [r[0] for r in rows]


# -- possible duplicates -------------------------------------------------------------------

SAME_NHS_NUMBER = "same NHS number"
SAME_NAME_AND_BIRTH_DATE = "same name and date of birth"


@dataclass(frozen=True)
class PossibleDuplicate:
    """A child already on record who may be the same child; the reasons say why."""

    child_id: str
    given_name: str
    family_name: str
    date_of_birth: str | None
    nhs_number: str | None
    reasons: tuple[str, ...]


def possible_duplicates(db: Database, *, given_name: str, family_name: str,
                        date_of_birth: str | None, nhs_number: str | None,
                        exclude_child_id: str | None = None) -> list[PossibleDuplicate]:
    """Children with the same NHS number, or the same folded name and date of birth."""
    reasons: dict[str, list[str]] = {}
    rows: dict[str, tuple] = {}
    columns = "id, given_name, family_name, date_of_birth, nhs_number"
    if nhs_number:
        for row in db.execute(f"SELECT {columns} FROM children WHERE nhs_number = ?",  # noqa: S608
                              [nhs_number]).fetchall():
            rows[row[0]] = row
            reasons.setdefault(row[0], []).append(SAME_NHS_NUMBER)
    if date_of_birth:
        wanted = folded_name(given_name, family_name)
        for row in db.execute(f"SELECT {columns} FROM children WHERE date_of_birth = ?",  # noqa: S608
                              [date_of_birth]).fetchall():
            if folded_name(row[1], row[2]) == wanted:
                rows[row[0]] = row
                reasons.setdefault(row[0], []).append(SAME_NAME_AND_BIRTH_DATE)
    return [
        PossibleDuplicate(child_id, rows[child_id][1], rows[child_id][2], rows[child_id][3],
                          rows[child_id][4], tuple(why))
        for child_id, why in sorted(reasons.items())
        if child_id != exclude_child_id
    ]
