"""What a hub may change about its letters without touching Python: the wording
(resources/letters/wording.yaml) and the letterhead (resources/letterhead/hub.yaml).

Wording is plain text with ``{placeholder}`` fields. Each text has a fixed set of
placeholders it may use; a file that names any other, misses a text, adds an unknown one or
is not valid YAML is refused with the file, the line and what to do. Filling a text never
interprets markup: the letter templates (spoa.letters.story, .template) escape the whole filled text (the
wording and the typed values in it) before it becomes paragraph markup.

A wording file other than the bundled one only needs the texts it changes; the rest come
from the bundled file.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from spoa.letters.content import HubDetails, LetterKind
from spoa.model import Route, Severity, Urgency
from spoa.paths import data_dir, resources_dir
from spoa.store.keyslots import write_atomically

WORDING_FORMAT = "1"
LETTERHEAD_FORMAT = "1"


class LetterResourceError(ValueError):
    """A wording or letterhead file cannot be used; the message says where and why."""


# -- which texts exist and which placeholders each may use -----------------------------------

#: Placeholders every letter text (salutation, opening, closing, sentences) may use.
LETTER_FIELDS = frozenset({
    "child_name", "child_given_name", "recipient_name", "hub_name", "hub_phone", "route",
    "route_phrase", "urgency", "respond_by", "respond_within", "referrer_name", "referrer_kind",
    "reason", "issued_on", "document_id",
})

_NONE: frozenset[str] = frozenset()


def _schema() -> dict[str, frozenset[str]]:
    schema: dict[str, frozenset[str]] = {"format": _NONE}
    for kind in LetterKind:
        schema[f"kinds.{kind.value}.title"] = _NONE
        schema[f"kinds.{kind.value}.reason_heading"] = _NONE
        for part in ("salutation", "opening", "closing"):
            schema[f"kinds.{kind.value}.{part}"] = LETTER_FIELDS
    for heading in ("child", "urgency", "risk_flags", "safeguarding", "referrer",
                    "advice_question", "advice_given", "not_accepted_reasons", "signposting",
                    "answers", "rationale", "override", "consent"):
        schema[f"headings.{heading}"] = _NONE
    for label in ("recipient_caption", "date", "our_reference", "name", "date_of_birth",
                  "nhs_number", "address", "school", "gp_practice", "carers", "referrer_kind",
                  "referrer_name", "organisation", "contact", "urgency", "respond_by",
                  "mhsds_priority", "severity", "flag", "action", "recommended", "chosen",
                  "override_reason", "telephone", "email"):
        schema[f"labels.{label}"] = _NONE
    phrases = {
        "unknown": _NONE,
        "nhs_number_unchecked": frozenset({"typed"}),
        "respond_by": frozenset({"respond_by", "respond_within"}),
        "respond_within_only": frozenset({"respond_within"}),
        "mhsds_priority": frozenset({"code", "meaning"}),
        "no_flags": _NONE,
        "no_action": _NONE,
        "flag_because": frozenset({"evidence"}),
        "safeguarding_intro": LETTER_FIELDS,
        "override": frozenset({"recommended", "chosen"}),
        "consent_not_recorded": _NONE,
        "answers_intro": LETTER_FIELDS,
        "rationale_intro": LETTER_FIELDS,
        "decided_before_complete": LETTER_FIELDS,
        "module": frozenset({"module_id", "module_version", "module_hash"}),
        "approved": frozenset({"approver", "approved_on"}),
        "approved_undated": frozenset({"approver"}),
        "sent_before_review": LETTER_FIELDS,
        "not_yet_approved": _NONE,
        "sign_off": _NONE,
        "signatory": LETTER_FIELDS,
        "hours": frozenset({"count"}),
        "hour": _NONE,
        "days": frozenset({"count"}),
    }
    for phrase, fields in phrases.items():
        schema[f"phrases.{phrase}"] = fields
    for severity in Severity:
        schema[f"severity.{severity.value}"] = _NONE
    for urgency in Urgency:
        schema[f"mhsds.{urgency.mhsds_priority}"] = _NONE
    for route in Route:
        schema[f"routes.{route.value}"] = _NONE
    schema["header.later_pages"] = frozenset({"child_name", "nhs_number", "date_of_birth"})
    schema["footer.confidential"] = _NONE
    schema["footer.notice"] = _NONE
    schema["footer.page"] = frozenset({"page", "pages"})
    schema["footer.document"] = frozenset({"document_id"})
    schema["footer.hash"] = frozenset({"sha256"})
    schema["metadata.subject"] = frozenset({"title", "document_id", "sha256"})
    return schema


SCHEMA: Mapping[str, frozenset[str]] = _schema()


# -- a YAML file as flat dotted keys, with the line of each ------------------------------------

@dataclass(frozen=True)
class _FlatYaml:
    values: dict[str, str]
    lines: dict[str, int]


def _read_flat_yaml(path: Path, what: str) -> _FlatYaml:
    """Nested mappings of plain text, flattened to ``a.b.c`` keys; scalars stay strings
    exactly as written (so `no` or `1` are text, not a boolean or a number)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LetterResourceError(f"The {what} file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LetterResourceError(f"The {what} file {path} could not be read: {exc}.") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise LetterResourceError(
            f"{path}{where}: this is not valid YAML ({problem}). Check the indentation and "
            "put text containing ':' or '#' in quotes."
        ) from exc
    flat = _FlatYaml({}, {})
    if root is None:
        return flat
    if not isinstance(root, MappingNode):
        raise LetterResourceError(f"{path}, line {root.start_mark.line + 1}: the {what} file "
                                  "must be a mapping of names to texts.")
    _flatten(root, "", path, flat)
    return flat


def _flatten(node: MappingNode, prefix: str, path: Path, into: _FlatYaml) -> None:
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode):
            raise LetterResourceError(f"{path}, line {line}: a name must be plain text.")
        key = prefix + key_node.value
        if key in into.lines or any(k.startswith(key + ".") for k in into.lines):
            raise LetterResourceError(f"{path}, line {line}: '{key}' is given twice; keep one.")
        if isinstance(value_node, MappingNode):
            _flatten(value_node, key + ".", path, into)
        elif isinstance(value_node, ScalarNode):
            into.values[key] = "" if _is_null(value_node) else value_node.value
            into.lines[key] = line
        else:
            raise LetterResourceError(
                f"{path}, line {line}: '{key}' must be a text, not a list. Write it as one "
                "paragraph (use a '|' block for several lines)."
            )


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.style is None and node.value in ("", "~", "null")


# -- wording -----------------------------------------------------------------------------------

_FORMATTER = string.Formatter()
_Template = tuple[tuple[str, str | None], ...]  # (literal text, placeholder or None)


def _parse_template(key: str, text: str, allowed: frozenset[str], where: str) -> _Template:
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise LetterResourceError(
            f"{where}: '{key}' has a stray brace ({exc}). Placeholders look like {{child_name}}; "
            "write {{ or }} for a literal brace."
        ) from None
    parts: list[tuple[str, str | None]] = []
    for literal, field_name, spec, conversion in parsed:
        if field_name is not None and (spec or conversion or field_name not in allowed):
            shown = "{" + field_name + (f"!{conversion}" if conversion else "") + \
                (f":{spec}" if spec else "") + "}"
            choices = ", ".join("{" + name + "}" for name in sorted(allowed)) or "none"
            raise LetterResourceError(
                f"{where}: '{key}' uses the placeholder {shown}, which this text cannot use. "
                f"Placeholders allowed here: {choices}."
            )
        parts.append((literal, field_name))
    return tuple(parts)


@dataclass(frozen=True)
class Wording:
    """The texts of the letters, checked against :data:`SCHEMA`."""

    templates: Mapping[str, _Template]
    source: str

    def text(self, key: str, /, **values: object) -> str:
        """The text for `key` with its placeholders filled: plain text, never markup."""
        try:
            template = self.templates[key]
        except KeyError:
            raise KeyError(f"no letter wording named '{key}'") from None
        out: list[str] = []
        for literal, name in template:
            out.append(literal)
            if name is not None:
                if name not in values:
                    raise KeyError(f"letter wording '{key}' needs a value for {{{name}}}")
                out.append(str(values[name]))
        return "".join(out)

    def kind(self, kind: LetterKind, part: str, /, **values: object) -> str:
        return self.text(f"kinds.{kind.value}.{part}", **values)


def default_wording_path() -> Path:
    return resources_dir() / "letters" / "wording.yaml"


def load_wording(path: str | os.PathLike[str] | None = None) -> Wording:
    """The bundled wording, with the texts of `path` (if given) in place of its own."""
    bundled = _stat_key(default_wording_path())
    override = _stat_key(Path(path)) if path is not None else None
    return _load_wording_cached(bundled, override)


def _stat_key(path: Path) -> tuple[str, int, int]:
    """A cache key that changes when the file does (edited while the desk runs)."""
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path.resolve()), info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=8)
def _load_wording_cached(bundled: tuple[str, int, int],
                         override: tuple[str, int, int] | None) -> Wording:
    templates = _wording_templates(Path(bundled[0]), complete=True)
    source = bundled[0]
    if override is not None:
        templates.update(_wording_templates(Path(override[0]), complete=False))
        source = override[0]
    return Wording(templates=templates, source=source)


def _wording_templates(path: Path, *, complete: bool) -> dict[str, _Template]:
    flat = _read_flat_yaml(path, "letter wording")
    version = flat.values.get("format")
    if version is not None and version != WORDING_FORMAT:
        raise LetterResourceError(
            f"{path}, line {flat.lines['format']}: wording format {version} is not one this "
            f"desk reads (it reads format {WORDING_FORMAT})."
        )
    templates: dict[str, _Template] = {}
    for key, value in flat.values.items():
        where = f"{path}, line {flat.lines[key]}"
        if key not in SCHEMA:
            raise LetterResourceError(
                f"{where}: '{key}' is not a text the letters use. Check the spelling and the "
                "indentation against the bundled resources/letters/wording.yaml."
            )
        templates[key] = _parse_template(key, value, SCHEMA[key], where)
    if complete:
        missing = sorted(set(SCHEMA) - set(templates) - {"format"})
        if missing:
            raise LetterResourceError(
                f"{path}: these texts are missing: {', '.join(missing)}. Add them (see "
                "resources/letters/README.md)."
            )
    templates.pop("format", None)
    return templates


# -- letterhead --------------------------------------------------------------------------------

_LETTERHEAD_KEYS = ("format", "name", "address", "phone", "email", "website", "logo")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Letterhead:
    hub: HubDetails
    logo: Path  # a PNG file


LETTERHEAD_FOLDER = "letterhead"
LETTERHEAD_FILE = "hub.yaml"
LOGO_FILE = "logo.png"


def default_letterhead_path() -> Path:
    """The hub's own letterhead (saved by the setup wizard in the data folder) when there
    is one, else the bundled example."""
    saved = data_dir() / LETTERHEAD_FOLDER / LETTERHEAD_FILE
    if saved.is_file():
        return saved
    return resources_dir() / LETTERHEAD_FOLDER / LETTERHEAD_FILE


def check_logo(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a PNG logo, or LetterResourceError saying what is wrong with the file."""
    logo = Path(path)
    try:
        content = logo.read_bytes()
    except OSError:
        raise LetterResourceError(f"The logo {logo} cannot be read. Choose a PNG file that exists.") from None
    if not content.startswith(_PNG_SIGNATURE):
        raise LetterResourceError(f"The logo {logo} is not a PNG image. Save it as PNG and choose it again.")
    return content


def save_letterhead(folder: str | os.PathLike[str], hub: HubDetails,
                    logo_path: str | os.PathLike[str] | None = None) -> Path:
    """Write the hub's letterhead to ``<folder>/letterhead/hub.yaml`` with its logo beside it,
    each file whole or not at all; return the hub.yaml path. Without a logo, one already
    saved there is kept, else the bundled placeholder logo is used."""
    values = {"name": hub.name.strip(), "address": hub.address.strip(), "phone": hub.phone.strip(),
              "email": hub.email.strip(), "website": hub.website.strip()}
    for required in ("name", "address"):
        if not values[required]:
            raise LetterResourceError(f"The hub's {required} is missing; letters need it in the letterhead.")
    target = Path(folder) / LETTERHEAD_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    logo = target / LOGO_FILE
    if logo_path is not None:
        write_atomically(logo, check_logo(logo_path))
    elif not logo.is_file():
        write_atomically(logo, check_logo(resources_dir() / LETTERHEAD_FOLDER / LOGO_FILE))
    # The logo is in place before hub.yaml names it, so a reader never sees one without the other.
    document = {"format": int(LETTERHEAD_FORMAT), **values, "logo": LOGO_FILE}
    text = ("# The hub's letterhead, saved by the desk's setup. Edit freely; see the bundled\n"
            "# resources/letterhead/hub.yaml for what each setting means.\n"
            + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False))
    path = target / LETTERHEAD_FILE
    write_atomically(path, text.encode("utf-8"))
    return path


def load_letterhead(path: str | os.PathLike[str] | None = None) -> Letterhead:
    """The hub's details and logo from hub.yaml (the bundled one unless `path` is given)."""
    chosen = Path(path) if path is not None else default_letterhead_path()
    return _load_letterhead_cached(_stat_key(chosen))


def load_hub_details(path: str | os.PathLike[str] | None = None) -> HubDetails:
    return load_letterhead(path).hub


@lru_cache(maxsize=8)
def _load_letterhead_cached(key: tuple[str, int, int]) -> Letterhead:
    path = Path(key[0])
    flat = _read_flat_yaml(path, "letterhead")
    for name, line in flat.lines.items():
        if name not in _LETTERHEAD_KEYS:
            raise LetterResourceError(
                f"{path}, line {line}: '{name}' is not a letterhead setting. The settings are: "
                f"{', '.join(_LETTERHEAD_KEYS[1:])}."
            )
    values = flat.values
    for required in ("name", "address"):
        if not values.get(required, "").strip():
            raise LetterResourceError(f"{path}: the hub's {required} is missing; add "
                                      f"'{required}:' with the text for the letterhead.")
    logo = path.parent / (values.get("logo", "").strip() or "logo.png")
    try:
        with logo.open("rb") as handle:
            signature = handle.read(len(_PNG_SIGNATURE))
    except OSError:
        raise LetterResourceError(f"{path}: the logo {logo} cannot be read. Put a PNG file "
                                  "there or name another in 'logo:'.") from None
    if signature != _PNG_SIGNATURE:
        raise LetterResourceError(f"{path}: the logo {logo} is not a PNG image. Save it as PNG.")
    hub = HubDetails(
        name=values["name"].strip(),
        address=values["address"].strip(),
        phone=values.get("phone", "").strip(),
        email=values.get("email", "").strip(),
        website=values.get("website", "").strip(),
    )
    return Letterhead(hub=hub, logo=logo)
