"""PDF letters: a :class:`LetterContent` in, the bytes of the letter out.

One document template (:class:`LetterDocTemplate`) serves every kind of letter: a first
page with the hub's letterhead and logo, later pages with a slim header naming the child,
and on every page a footer with the confidentiality marking, 'Page X of Y', the document
id and the content sha256. The story (what the letter says, section by section) is built
by :class:`_LetterStory` from the content, the wording file and the styles module.

Every piece of text that did not come from this file passes through :func:`markup`
(escaped, newlines to line breaks) or is drawn as plain text on the canvas, so markup typed
into a field is printed as typed. Output is deterministic: the same content, hub, wording
and logo give the same bytes, dated from ``content.issued_on``.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)

from spoa.letters import styles
from spoa.letters.content import (
    AnswerLine,
    FlagLine,
    HubDetails,
    LetterContent,
    LetterKind,
    Section,
)
from spoa.letters.fonts import register_fonts
from spoa.letters.wording import (
    Letterhead,
    LetterResourceError,
    Wording,
    load_hub_details,
    load_letterhead,
    load_wording,
)
from spoa.model import Severity
from spoa.nhs import NhsNumberError, format_nhs_number

__all__ = [
    "LetterDocTemplate",
    "LetterResourceError",
    "Letterhead",
    "build_letter",
    "load_hub_details",
    "load_letterhead",
    "markup",
    "plain_line",
]

CREATOR = "SPOA triage desk"

# -- user text to paragraph markup -------------------------------------------------------------

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


def _fit(text: str, font: tuple[str, float], width: float) -> str:
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


# -- dates and durations in words ---------------------------------------------------------------

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
    if hours == 1:
        return wording.text("phrases.hour")
    if hours >= 48 and hours % 24 == 0:
        return wording.text("phrases.days", count=hours // 24)
    return wording.text("phrases.hours", count=hours)


# -- the document template ---------------------------------------------------------------------

class _NumberedCanvas(Canvas):
    """Holds each finished page until the end, so that every footer can say 'Page X of Y'
    after a single layout pass."""

    def __init__(self, *args: Any, page_label: Callable[[Canvas, int, int], None],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page_label = page_label
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for state in self._held_pages:
            self.__dict__.update(state)
            self._page_label(self, self._pageNumber, total)
            super().showPage()
        super().save()


class LetterDocTemplate(BaseDocTemplate):
    """The one page layout of every letter.

    Page template 'first' has the letterhead (hub name, address, contacts, logo); 'later'
    has a slim header naming the child. Both draw the footer in their onPage callback; the
    'Page X of Y' part is drawn by the canvas once the number of pages is known.
    """

    def __init__(self, target: Any, *, content: LetterContent, hub: HubDetails,
                 wording: Wording, logo: Path, content_hash: str) -> None:
        self.letter = content
        self.hub = hub
        self.wording = wording
        self.content_hash = content_hash
        title = plain_line(wording.kind(content.kind, "title"))
        super().__init__(
            target,
            pagesize=styles.PAGE_SIZE,
            leftMargin=styles.MARGIN_LEFT,
            rightMargin=styles.MARGIN_RIGHT,
            topMargin=styles.MARGIN_TOP,
            bottomMargin=styles.MARGIN_BOTTOM,
            title=title,
            author=plain_line(hub.name),
            subject=plain_line(wording.text("metadata.subject", title=title,
                                            document_id=content.document_id,
                                            sha256=content_hash)),
            keywords=f"document_id={plain_line(content.document_id)}; sha256={content_hash}",
            creator=CREATOR,
            invariant=1,  # no wall-clock time or random id in the file: rebuilds are identical
            initialFontName=styles.letter_styles()["Body"].fontName,
            lang="en-GB",
        )
        self._logo = _logo_image(logo)
        logo_w, logo_h = self._logo.reader.getSize()
        self._logo_size = (styles.LOGO_HEIGHT * logo_w / logo_h, styles.LOGO_HEIGHT)
        self._letterhead = self._letterhead_paragraphs()
        first_top = self._letterhead_rule_y() - styles.LETTERHEAD_GAP
        later_top = styles.PAGE_HEIGHT - styles.MARGIN_TOP - styles.SLIM_HEADER_HEIGHT
        frame = partial(Frame, styles.MARGIN_LEFT, styles.MARGIN_BOTTOM, styles.CONTENT_WIDTH,
                        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([
            PageTemplate("first", frames=[frame(first_top - styles.MARGIN_BOTTOM, id="first")],
                         onPage=self._draw_first_page, autoNextPageTemplate="later"),
            PageTemplate("later", frames=[frame(later_top - styles.MARGIN_BOTTOM, id="later")],
                         onPage=self._draw_later_page),
        ])

    def beforeDocument(self) -> None:
        issued = self.letter.issued_on
        stamp = f"D:{issued.year:04d}{issued.month:02d}{issued.day:02d}000000+00'00'"
        self.canv.setDateFormatter(lambda *_: stamp)

    # letterhead (first page) ---------------------------------------------------------------

    def _letterhead_paragraphs(self) -> list[tuple[Paragraph, float]]:
        sheet = styles.letter_styles()
        hub, words = self.hub, self.wording
        contacts = [f"{words.text('labels.telephone')} {hub.phone}" if hub.phone else "",
                    f"{words.text('labels.email')} {hub.email}" if hub.email else "",
                    hub.website]
        lines = [
            Paragraph(markup(hub.name), sheet["LetterheadName"]),
            Paragraph(markup(", ".join(line.strip() for line in hub.address.splitlines()
                                       if line.strip())), sheet["LetterheadDetail"]),
            Paragraph(markup("  ·  ".join(c for c in contacts if c)), sheet["LetterheadDetail"]),
        ]
        width = styles.CONTENT_WIDTH - self._logo_size[0] - 8 * mm
        return [(line, line.wrap(width, styles.PAGE_HEIGHT)[1]) for line in lines]

    def _letterhead_rule_y(self) -> float:
        text_height = sum(height for _, height in self._letterhead)
        return styles.PAGE_HEIGHT - styles.MARGIN_TOP - max(text_height, self._logo_size[1]) \
            - 3 * mm

    def _draw_first_page(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        top = styles.PAGE_HEIGHT - styles.MARGIN_TOP
        logo_w, logo_h = self._logo_size
        canvas.saveState()
        _draw_logo(canvas, self._logo, styles.PAGE_WIDTH - styles.MARGIN_RIGHT - logo_w,
                   top - logo_h, logo_w, logo_h)
        text_height = sum(height for _, height in self._letterhead)
        y = top - max(0.0, (logo_h - text_height) / 2)  # centred on the logo when shorter
        for paragraph, height in self._letterhead:
            y -= height
            paragraph.drawOn(canvas, styles.MARGIN_LEFT, y)
        canvas.setStrokeColor(styles.NHS_BLUE)
        canvas.setLineWidth(1.2)
        rule_y = self._letterhead_rule_y()
        canvas.line(styles.MARGIN_LEFT, rule_y, styles.PAGE_WIDTH - styles.MARGIN_RIGHT, rule_y)
        canvas.restoreState()
        self._draw_footer(canvas)

    # slim header (later pages) -------------------------------------------------------------

    def _draw_later_page(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        child = self.letter.child
        identifiers = self.wording.text(
            "header.later_pages",
            child_name=child.full_name or self.wording.text("phrases.unknown"),
            nhs_number=_nhs_number_display(child.nhs_number, self.wording),
            date_of_birth=(long_date(child.date_of_birth) if child.date_of_birth
                           else self.wording.text("phrases.unknown")),
        )
        baseline = styles.PAGE_HEIGHT - styles.MARGIN_TOP - 4 * mm
        # The child's identifiers come first: they keep a loose page with its letter.
        identifiers = _fit(plain_line(identifiers), styles.HEADER_FONT,
                           styles.CONTENT_WIDTH * 0.75)
        hub_width = styles.CONTENT_WIDTH - stringWidth(identifiers, *styles.HEADER_FONT) - 6 * mm
        canvas.saveState()
        canvas.setFillColor(styles.NHS_DARK_BLUE)
        canvas.setFont(*styles.HEADER_BOLD_FONT)
        canvas.drawString(styles.MARGIN_LEFT, baseline,
                          _fit(plain_line(self.hub.name), styles.HEADER_BOLD_FONT, hub_width))
        canvas.setFillColor(styles.TEXT)
        canvas.setFont(*styles.HEADER_FONT)
        canvas.drawRightString(styles.PAGE_WIDTH - styles.MARGIN_RIGHT, baseline, identifiers)
        canvas.setStrokeColor(styles.RULE)
        canvas.setLineWidth(0.5)
        rule_y = baseline - 2.5 * mm
        canvas.line(styles.MARGIN_LEFT, rule_y, styles.PAGE_WIDTH - styles.MARGIN_RIGHT, rule_y)
        canvas.restoreState()
        self._draw_footer(canvas)

    # footer (every page) -------------------------------------------------------------------

    _FOOTER_RULE_Y = styles.FOOTER_HEIGHT
    _FOOTER_FIRST_BASELINE = styles.FOOTER_HEIGHT - 4 * mm
    _FOOTER_LAST_BASELINE = 6 * mm
    _PAGE_LABEL_WIDTH = 26 * mm

    def _draw_footer(self, canvas: Canvas) -> None:
        words = self.wording
        left, right = styles.MARGIN_LEFT, styles.PAGE_WIDTH - styles.MARGIN_RIGHT
        canvas.saveState()
        canvas.setStrokeColor(styles.RULE)
        canvas.setLineWidth(0.5)
        canvas.line(left, self._FOOTER_RULE_Y, right, self._FOOTER_RULE_Y)

        marking = plain_line(words.text("footer.confidential"))
        canvas.setFont(*styles.FOOTER_BOLD_FONT)
        canvas.setFillColor(styles.RED)
        canvas.drawString(left, self._FOOTER_FIRST_BASELINE, marking)
        notice_x = left + stringWidth(marking + "  ", *styles.FOOTER_BOLD_FONT)
        canvas.setFont(*styles.FOOTER_FONT)
        canvas.setFillColor(styles.SECONDARY_TEXT)
        notice_width = right - self._PAGE_LABEL_WIDTH - notice_x
        notice = plain_line(words.text("footer.notice"))
        y = self._FOOTER_FIRST_BASELINE
        for line in _wrap_line(notice, styles.FOOTER_FONT, notice_width, max_lines=2):
            canvas.drawString(notice_x, y, line)
            y -= styles.FOOTER_FONT[1] * 1.3

        canvas.setFont(*styles.FOOTER_SMALL_FONT)
        hash_text = plain_line(words.text("footer.hash", sha256=self.content_hash))
        hash_width = stringWidth(hash_text, *styles.FOOTER_SMALL_FONT)
        canvas.drawRightString(right, self._FOOTER_LAST_BASELINE, hash_text)
        document = plain_line(words.text("footer.document", document_id=self.letter.document_id))
        canvas.drawString(left, self._FOOTER_LAST_BASELINE,
                          _fit(document, styles.FOOTER_SMALL_FONT,
                               styles.CONTENT_WIDTH - hash_width - 6 * mm))
        canvas.restoreState()

    def draw_page_label(self, canvas: Canvas, page: int, pages: int) -> None:
        """'Page X of Y', drawn by the canvas once Y is known."""
        canvas.saveState()
        canvas.setFont(*styles.FOOTER_BOLD_FONT)
        canvas.setFillColor(styles.TEXT)
        canvas.drawRightString(styles.PAGE_WIDTH - styles.MARGIN_RIGHT, self._FOOTER_FIRST_BASELINE,
                               plain_line(self.wording.text("footer.page", page=page, pages=pages)))
        canvas.restoreState()


@dataclass(frozen=True)
class _Logo:
    reader: ImageReader


def _logo_image(path: Path) -> _Logo:
    """The logo, decoded once while the file is unchanged."""
    try:
        info = path.stat()
    except OSError:
        raise LetterResourceError(f"The letterhead logo {path} cannot be read.") from None
    return _decoded_logo(str(path.resolve()), info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4)
def _decoded_logo(path: str, mtime_ns: int, size: int) -> _Logo:
    return _Logo(ImageReader(path))


def _draw_logo(canvas: Canvas, logo: _Logo, x: float, y: float, width: float,
               height: float) -> None:
    canvas.drawImage(logo.reader, x, y, width, height)


def _wrap_line(text: str, font: tuple[str, float], width: float, max_lines: int) -> list[str]:
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
    lines[-1] = _fit(lines[-1], font, width)
    return lines


# -- the story: what the letter says, section by section --------------------------------------

def _nhs_number_display(typed: str, wording: Wording) -> str:
    if not typed.strip():
        return wording.text("phrases.unknown")
    try:
        return format_nhs_number(typed)
    except NhsNumberError:
        return wording.text("phrases.nhs_number_unchecked", typed=typed.strip())


def _short_hash(value: str) -> str:
    """A hash as printed inside text: 16 characters are plenty to tell versions apart."""
    value = value.strip()
    return value if len(value) <= 16 else value[:16] + "…"


def _as_sentence(text: str) -> str:
    """Typed text to go inside a sentence of the wording: trimmed, with a full stop."""
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?…" else text + "."


class _LetterStory:
    """The flowables of one letter, in reading order; every typed string goes through
    :meth:`para` or :meth:`labelled`, which escape it."""

    def __init__(self, content: LetterContent, hub: HubDetails, wording: Wording) -> None:
        self.content = content
        self.hub = hub
        self.words = wording
        self.sheet = styles.letter_styles()
        self.unknown = wording.text("phrases.unknown")
        child = content.child
        respond_within = duration(content.respond_within_hours, wording)
        respond_by = (date_and_time(content.respond_by) if content.respond_by is not None
                      else wording.text("phrases.respond_within_only",
                                        respond_within=respond_within))
        referrer = content.referrer
        self.respond_by_full = (
            wording.text("phrases.respond_by", respond_by=respond_by, respond_within=respond_within)
            if content.respond_by is not None else respond_by)
        self.values: dict[str, str] = {
            "child_name": child.full_name or self.unknown,
            "child_given_name": child.given_name.strip() or child.full_name or self.unknown,
            "recipient_name": content.recipient.name or content.recipient.team,
            "hub_name": hub.name,
            "hub_phone": hub.phone or hub.email or hub.name,
            "route": content.route.label,
            "route_phrase": wording.text(f"routes.{content.route.value}"),
            "urgency": content.urgency.label.lower(),
            "respond_by": respond_by,
            "respond_within": respond_within,
            "referrer_name": referrer.name or referrer.organisation or referrer.kind,
            "referrer_kind": referrer.kind,
            "reason": _as_sentence(content.reason),
            "issued_on": long_date(content.issued_on),
            "document_id": content.document_id,
        }

    # small builders ---------------------------------------------------------------------------

    def para(self, text: str, style: str = "Body", **kwargs: Any) -> Paragraph:
        return Paragraph(markup(text), self.sheet[style], **kwargs)

    def labelled(self, label: str, value: str, style: str = "Cell") -> Paragraph:
        return Paragraph(f"<b>{markup(label)}</b> {markup(value)}", self.sheet[style])

    def heading(self, key: str) -> Paragraph:
        return self.para(self.words.text(f"headings.{key}"), "SectionHeading")

    def said(self, key: str) -> str:
        """A letter text of this letter's kind with the letter's values filled in."""
        return self.words.kind(self.content.kind, key, **self.values)

    def phrase(self, key: str) -> str:
        return self.words.text(f"phrases.{key}", **self.values)

    def bullets(self, lines: Iterable[str]) -> list[Flowable]:
        return [self.para(line, "ListItem", bulletText="•") for line in lines]

    # the letter -------------------------------------------------------------------------------

    def flowables(self) -> list[Flowable]:
        content = self.content
        story: list[Flowable] = [
            self.address_block(),
            Spacer(1, 5 * mm),
            self.para(self.said("title"), "LetterTitle"),
            self.identifiers_box(),
            Spacer(1, 3 * mm),
            self.urgency_box(),
            Spacer(1, 3 * mm),
            self.flags_box(),
        ]
        if content.safeguarding:
            story += [Spacer(1, 3 * mm), self.safeguarding_box()]
        story += [Spacer(1, 4 * mm), self.para(self.said("salutation")),
                  self.para(self.said("opening"))]
        story += self.kind_specific()
        story += [self.para(self.said("reason_heading"), "SectionHeading"),
                  self.para(content.reason or self.unknown)]
        story += self.referrer_section()
        if content.includes(Section.ANSWERS) and content.answers:
            story += self.answers_section()
        story += self.rationale_section()
        if content.override is not None:
            story += self.override_section()
        story += [self.heading("consent"),
                  self.para(content.consent or self.phrase("consent_not_recorded"))]
        story += [Spacer(1, 2 * mm), self.para(self.said("closing")), self.sign_off()]
        return story

    def address_block(self) -> Table:
        recipient = self.content.recipient
        left: list[Flowable] = [self.para(self.words.text("labels.recipient_caption"),
                                          "AddressCaption")]
        lines = [recipient.name, recipient.team, recipient.address]
        left.append(Paragraph("<br/>".join(
            (f"<b>{markup(line)}</b>" if index == 0 else markup(line))
            for index, line in enumerate(lines) if line.strip()) or markup(self.unknown),
            self.sheet["Address"]))
        contacts = [line for line in (recipient.email, recipient.phone) if line.strip()]
        if contacts:
            left.append(Spacer(1, 1.5 * mm))
            left += [self.para(line, "Small") for line in contacts]
        right = [
            self.labelled(self.words.text("labels.date") + ":",
                          long_date(self.content.issued_on), "Reference"),
            self.labelled(self.words.text("labels.our_reference") + ":",
                          self.content.document_id, "Reference"),
        ]
        table = Table([[left, right]],
                      colWidths=[styles.ADDRESS_COLUMN,
                                 styles.CONTENT_WIDTH - styles.ADDRESS_COLUMN],
                      style=styles.address_table_style(), hAlign="LEFT",
                      splitInRow=styles.SPLIT_IN_ROW)
        return table

    def identifiers_box(self) -> Table:
        content, words, child = self.content, self.words, self.content.child
        label = partial(self.para, style="CellLabel")
        pairs: list[tuple[str, str]] = [
            (words.text("labels.name"), child.full_name or self.unknown),
            (words.text("labels.date_of_birth"),
             long_date(child.date_of_birth) if child.date_of_birth else self.unknown),
            (words.text("labels.nhs_number"), _nhs_number_display(child.nhs_number, words)),
        ]
        if content.includes(Section.SCHOOL_AND_GP):
            pairs.append((words.text("labels.gp_practice"), child.gp_practice or self.unknown))
        if content.includes(Section.CHILD_ADDRESS):
            address = "\n".join(part for part in (child.address.strip(), child.postcode.strip())
                                if part)
            pairs.append((words.text("labels.address"), address or self.unknown))
        if content.includes(Section.SCHOOL_AND_GP):
            pairs.append((words.text("labels.school"), child.school or self.unknown))
        rows: list[list[Any]] = [[self.para(words.text("headings.child"), "BoxHeading"), "", "", ""]]
        for index in range(0, len(pairs), 2):
            row: list[Any] = []
            for name, value in pairs[index:index + 2]:
                row += [label(name), self.para(value, "Cell")]
            rows.append(row + [""] * (4 - len(row)))
        spans = [("SPAN", (0, 0), (-1, 0))]
        if len(pairs) % 2:
            spans.append(("SPAN", (1, len(rows) - 1), (-1, len(rows) - 1)))
        if content.includes(Section.CARERS) and child.carers:
            carers = "\n".join(
                ", ".join(part for part in (
                    f"{carer.name} ({carer.relationship})" if carer.relationship else carer.name,
                    carer.phone) if part.strip())
                for carer in child.carers)
            rows.append([label(words.text("labels.carers")), self.para(carers, "Cell"), "", ""])
            spans.append(("SPAN", (1, len(rows) - 1), (-1, len(rows) - 1)))
        label_width, value_width = 27 * mm, styles.CONTENT_WIDTH / 2 - 27 * mm
        table = Table(rows, colWidths=[label_width, value_width, label_width, value_width],
                      repeatRows=1, splitInRow=styles.SPLIT_IN_ROW)
        table_style = styles.identifiers_table_style(len(rows))
        table_style.add("BACKGROUND", (0, 0), (-1, 0), styles.NHS_BLUE)
        for command in spans:
            table_style.add(*command)
        table.setStyle(table_style)
        return table

    def urgency_box(self) -> Table:
        content, words = self.content, self.words
        strong, _ = styles.URGENCY_COLOURS[content.urgency]
        urgency_style = self.sheet["UrgencyLabel"].clone("UrgencyNow", textColor=strong)
        mhsds = words.text("phrases.mhsds_priority", code=content.mhsds_priority,
                           meaning=words.text(f"mhsds.{content.mhsds_priority}"))
        left = [self.para(words.text("labels.urgency"), "CellSmall"),
                Paragraph(markup(content.urgency.label), urgency_style)]
        right = [
            self.labelled(words.text("labels.respond_by") + ":", self.respond_by_full),
            self.labelled(words.text("labels.mhsds_priority") + ":", mhsds),
        ]
        bar, label = styles.URGENCY_BAR_WIDTH, 40 * mm
        return Table([["", left, right]],
                     colWidths=[bar, label, styles.CONTENT_WIDTH - bar - label],
                     style=styles.urgency_box_style(content.urgency),
                     splitInRow=styles.SPLIT_IN_ROW)

    def flags_box(self) -> Table:
        words = self.words
        flags = sorted(self.content.flags, key=lambda flag: -flag.severity.rank)
        heading = words.text("headings.risk_flags") + (f" ({len(flags)})" if flags else "")
        if not flags:
            return Table([[self.para(heading, "BoxHeading")], [self.para(self.phrase("no_flags"),
                                                                          "Cell")]],
                         colWidths=[styles.CONTENT_WIDTH],
                         style=styles.notice_box_style(styles.SECONDARY_TEXT, styles.PALE_GREY))
        rows: list[list[Any]] = [
            [self.para(heading, "BoxHeading"), "", ""],
            [self.para(words.text(f"labels.{name}"), "CellLabel")
             for name in ("severity", "flag", "action")],
        ]
        rows += [self.flag_row(flag) for flag in flags]
        severity_width = 26 * mm
        rest = styles.CONTENT_WIDTH - severity_width
        alarming = any(flag.severity.rank >= Severity.HIGH.rank for flag in flags)
        return Table(rows, colWidths=[severity_width, rest * 0.55, rest * 0.45], repeatRows=2,
                     style=styles.flags_table_style([flag.severity for flag in flags], alarming),
                     splitInRow=styles.SPLIT_IN_ROW)

    def flag_row(self, flag: FlagLine) -> list[Any]:
        risk: list[Flowable] = [self.para(flag.label, "CellLabel")]
        risk += [self.para(self.words.text("phrases.flag_because", evidence=line), "CellSmall")
                 for line in flag.because]
        action = flag.action if flag.action else self.phrase("no_action")
        return [self.para(self.words.text(f"severity.{flag.severity.value}"), "CellLabel"), risk,
                self.para(action, "Cell")]

    def safeguarding_box(self) -> Table:
        rows: list[list[Any]] = [[self.para(self.words.text("headings.safeguarding"),
                                            "BoxHeading")],
                                 [self.para(self.phrase("safeguarding_intro"), "Cell")]]
        for flag in self.content.flags:
            if flag.safeguarding:
                line = flag.label + (f" — {flag.action}" if flag.action else "")
                rows.append([self.para(line, "Cell", bulletText="•")])
        table = Table(rows, colWidths=[styles.CONTENT_WIDTH], repeatRows=1,
                      style=styles.notice_box_style(), splitInRow=styles.SPLIT_IN_ROW)
        return table

    def kind_specific(self) -> list[Flowable]:
        content = self.content
        if content.kind is LetterKind.ADVICE_RESPONSE:
            return [self.heading("advice_question"),
                    self.para(content.advice_question or self.unknown),
                    self.heading("advice_given"),
                    self.para(content.advice_given or self.unknown)]
        if content.kind is LetterKind.NOT_ACCEPTED:
            return [self.heading("not_accepted_reasons"),
                    *(self.bullets(content.not_accepted_reasons) or [self.para(self.unknown)]),
                    self.heading("signposting"),
                    *(self.bullets(content.signposting) or [self.para(self.unknown)])]
        return []

    def referrer_section(self) -> list[Flowable]:
        referrer, words = self.content.referrer, self.words
        pairs = [(words.text("labels.referrer_kind"), referrer.kind),
                 (words.text("labels.referrer_name"), referrer.name),
                 (words.text("labels.organisation"), referrer.organisation)]
        if self.content.includes(Section.REFERRER_CONTACT):
            pairs.append((words.text("labels.contact"), referrer.contact))
        rows = [[self.para(name, "CellLabel"), self.para(value, "Cell")]
                for name, value in pairs if value.strip()]
        if not rows:
            return [self.heading("referrer"), self.para(self.unknown)]
        return [self.heading("referrer"),
                Table(rows, colWidths=[32 * mm, styles.CONTENT_WIDTH - 32 * mm],
                      style=styles.answers_table_style(), hAlign="LEFT",
                      splitInRow=styles.SPLIT_IN_ROW)]

    def answers_section(self) -> list[Flowable]:
        grouped: dict[str, list[AnswerLine]] = {}
        for line in self.content.answers:
            grouped.setdefault(line.section, []).append(line)
        story: list[Flowable] = [self.heading("answers"), self.para(self.phrase("answers_intro"),
                                                                     "Small")]
        question_width = styles.CONTENT_WIDTH * 0.52
        for section, lines in grouped.items():
            story.append(self.para(section or self.unknown, "SubHeading"))
            rows = [[self.para(line.question, "Cell"), self.para(line.answer, "CellLabel")]
                    for line in lines]
            story.append(Table(rows, colWidths=[question_width,
                                                styles.CONTENT_WIDTH - question_width],
                               style=styles.answers_table_style(), hAlign="LEFT",
                               splitInRow=styles.SPLIT_IN_ROW))
        return story

    def rationale_section(self) -> list[Flowable]:
        module = self.content.module
        story: list[Flowable] = [self.heading("rationale")]
        if self.content.rationale:
            story.append(self.para(self.phrase("rationale_intro"), "BodyTight"))
            story += self.bullets(self.content.rationale)
        story.append(self.para(self.words.text("phrases.module", module_id=module.id,
                                               module_version=module.version,
                                               module_hash=_short_hash(module.content_hash)),
                               "Small"))
        return story

    def override_section(self) -> list[Flowable]:
        override = self.content.override
        assert override is not None
        recommended = f"{override.recommended_route.label}, {override.recommended_urgency.label.lower()}"
        chosen = f"{self.content.route.label}, {self.content.urgency.label.lower()}"
        return [self.heading("override"),
                self.para(self.words.text("phrases.override", recommended=recommended,
                                          chosen=chosen)),
                self.para(self.words.text("labels.override_reason") + ":", "SubHeading"),
                self.para(override.reason or self.unknown)]

    def approval(self) -> list[Flowable]:
        content = self.content
        lines: list[str] = []
        if content.sent_before_review:
            lines.append(self.phrase("sent_before_review"))
        if content.approved_by.strip():
            if content.approved_on is not None:
                lines.append(self.words.text("phrases.approved", approver=content.approved_by,
                                             approved_on=long_date(content.approved_on)))
            else:
                lines.append(self.words.text("phrases.approved_undated",
                                             approver=content.approved_by))
        if not lines:
            lines.append(self.phrase("not_yet_approved"))
        return [self.para(line, "BodyTight") for line in lines]

    def sign_off(self) -> KeepTogether:
        return KeepTogether([
            self.para(self.phrase("sign_off"), "Signature"),
            Spacer(1, 5 * mm),
            self.para(self.phrase("signatory"), "CellLabel"),
            Spacer(1, 1.5 * mm),
            *self.approval(),
        ])


# -- the one entry point -----------------------------------------------------------------------

def build_letter(content: LetterContent, hub: HubDetails | None = None,
                 wording: Wording | None = None, *,
                 logo: str | os.PathLike[str] | None = None) -> bytes:
    """The PDF of one letter.

    `hub` and `logo` default to resources/letterhead/hub.yaml, `wording` to
    resources/letters/wording.yaml. The same arguments always give the same bytes.
    """
    register_fonts()
    if hub is None or logo is None:
        letterhead = load_letterhead()
        hub = hub if hub is not None else letterhead.hub
        logo = logo if logo is not None else letterhead.logo
    words = wording if wording is not None else load_wording()
    content_hash = content.content_hash()
    story = _LetterStory(content, hub, words).flowables()
    output = io.BytesIO()
    document = LetterDocTemplate(output, content=content, hub=hub, wording=words, logo=Path(logo),
                                 content_hash=content_hash)
    document.build(story, canvasmaker=partial(_NumberedCanvas,
                                              page_label=document.draw_page_label))
    return output.getvalue()
