"""Typed text on paper: cleaned of what means nothing when printed, escaped into paragraph
markup so that nothing typed can open a tag, or fitted and wrapped to a width for text drawn
straight on the canvas.

Every piece of text in a letter that did not come from the templates passes through
:func:`markup` or :func:`plain_line`, so markup typed into a field is printed as typed.
"""

from __future__ import annotations

import re
import unicodedata
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import stringWidth

# Characters that mean nothing on paper: C0/C1 controls (tab and newlines aside), lone
# surrogates and the two non-characters. Dropped, so a stray one never breaks a letter.
_UNPRINTABLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def clean_text(text: str) -> str:
    """Typed text as it should be printed: composed (NFC, so accented letters use the
    font's precomposed glyphs), one kind of line break, no control characters."""
    text = _LINE_BREAKS.sub("\n", str(text))
    text = _UNPRINTABLE.sub("", text)
    return unicodedata.normalize("NFC", text)


def markup(text: str) -> str:
    """Paragraph markup that shows `text` exactly as typed: &, < and > escaped, each line
    break a <br/>. Nothing typed can open a tag, a link, an image or a font change."""
    return escape(clean_text(text)).replace("\n", "<br/>")


def plain_line(text: str) -> str:
    """Typed text for one line drawn straight on the canvas (never parsed as markup)."""
    return " ".join(clean_text(text).split())


def fit_to_width(text: str, font: tuple[str, float], width: float) -> str:
    """`text` cut with an ellipsis so that it fits in `width` points."""
    name, size = font
    if stringWidth(text, name, size) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if stringWidth(text[:middle] + "…", name, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def wrap_line(text: str, font: tuple[str, float], width: float, max_lines: int) -> list[str]:
    """Greedy word wrap for a canvas string; the last line is cut with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and stringWidth(candidate, *font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[:max_lines - 1], " ".join(lines[max_lines - 1:])]
    lines[-1] = fit_to_width(lines[-1], font, width)
    return lines
