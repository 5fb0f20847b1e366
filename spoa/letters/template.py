"""The one document template of every letter (:class:`LetterDocTemplate`): a first page with
the hub's letterhead and logo, later pages with a slim header naming the child, and on every
page a footer with the confidentiality marking, 'Page X of Y', the document id and the content
sha256. :class:`NumberedCanvas` holds the pages until the total is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

from spoa.letters import styles
from spoa.letters.content import HubDetails, LetterContent
from spoa.letters.formatting import long_date, nhs_number_display
from spoa.letters.typed_text import fit_to_width, markup, plain_line, wrap_line
from spoa.letters.wording import LetterResourceError, Wording

CREATOR = "SPOA triage desk"


class NumberedCanvas(Canvas):
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
            nhs_number=nhs_number_display(child.nhs_number, self.wording),
            date_of_birth=(long_date(child.date_of_birth) if child.date_of_birth
                           else self.wording.text("phrases.unknown")),
        )
        baseline = styles.PAGE_HEIGHT - styles.MARGIN_TOP - 4 * mm
        # The child's identifiers come first: they keep a loose page with its letter.
        identifiers = fit_to_width(plain_line(identifiers), styles.HEADER_FONT,
                           styles.CONTENT_WIDTH * 0.75)
        hub_width = styles.CONTENT_WIDTH - stringWidth(identifiers, *styles.HEADER_FONT) - 6 * mm
        canvas.saveState()
        canvas.setFillColor(styles.NHS_DARK_BLUE)
        canvas.setFont(*styles.HEADER_BOLD_FONT)
        canvas.drawString(styles.MARGIN_LEFT, baseline,
                          fit_to_width(plain_line(self.hub.name), styles.HEADER_BOLD_FONT, hub_width))
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
        for line in wrap_line(notice, styles.FOOTER_FONT, notice_width, max_lines=2):
            canvas.drawString(notice_x, y, line)
            y -= styles.FOOTER_FONT[1] * 1.3

        canvas.setFont(*styles.FOOTER_SMALL_FONT)
        hash_text = plain_line(words.text("footer.hash", sha256=self.content_hash))
        hash_width = stringWidth(hash_text, *styles.FOOTER_SMALL_FONT)
        canvas.drawRightString(right, self._FOOTER_LAST_BASELINE, hash_text)
        document = plain_line(words.text("footer.document", document_id=self.letter.document_id))
        canvas.drawString(left, self._FOOTER_LAST_BASELINE,
                          fit_to_width(document, styles.FOOTER_SMALL_FONT,
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
