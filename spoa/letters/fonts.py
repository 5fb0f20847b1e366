"""The letter fonts: bundled DejaVu Sans, registered once with ReportLab.

Letters carry names in many scripts (Irish, Polish, Romanian, Vietnamese, Greek,
Cyrillic...), which the PDF base-14 fonts cannot show. Every style, the canvas's initial
font and the italic/bold-italic faces all map to the two bundled files, so no text ever
falls back to Helvetica and no listed letter turns into a box.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from spoa.paths import resources_dir

REGULAR = "SpoaSans"
BOLD = "SpoaSans-Bold"

_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_lock = threading.Lock()


class LetterFontError(RuntimeError):
    """A bundled letter font is missing or unreadable."""


def fonts_dir() -> Path:
    return resources_dir() / "fonts"


def register_fonts() -> None:
    """Register the regular and bold faces and their family (idempotent, thread-safe)."""
    with _lock:
        if REGULAR in pdfmetrics.getRegisteredFontNames():
            return
        for name, filename in _FILES.items():
            path = fonts_dir() / filename
            try:
                pdfmetrics.registerFont(TTFont(name, str(path)))
            except (OSError, TTFError) as exc:
                raise LetterFontError(
                    f"The letter font {path} could not be read ({exc}). Letters need the fonts "
                    "bundled in resources/fonts/; reinstall the desk or restore that folder."
                ) from exc
        # <i> and <b><i> in paragraph markup map onto the two faces we ship: there is no
        # italic file, and a missing mapping would silently switch to a base-14 font.
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR,
                                      boldItalic=BOLD)


def missing_glyphs(text: str, font_name: str = REGULAR) -> list[str]:
    """The characters of `text` that the font has no glyph for (whitespace aside)."""
    register_fonts()
    char_to_glyph = pdfmetrics.getFont(font_name).face.charToGlyph
    return [ch for ch in dict.fromkeys(text) if not ch.isspace() and ord(ch) not in char_to_glyph]
