"""Every visual choice of a letter in one place: page geometry, colours, paragraph and
table styles.

Paragraph styles derive from ReportLab's sample sheet with every font swapped for the
bundled faces (spoa.letters.fonts), bullets included, so nothing is drawn in a base-14
font. The template and story (spoa.letters.template, spoa.letters.story) only pick styles by
name from here.
"""

from __future__ import annotations

from functools import cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import TableStyle

from spoa.letters.fonts import BOLD, REGULAR, register_fonts
from spoa.model import Severity, Urgency

# -- page geometry -----------------------------------------------------------------------------

PAGE_SIZE = A4
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE
MARGIN_LEFT = 20 * mm
MARGIN_RIGHT = 20 * mm
MARGIN_TOP = 14 * mm
FOOTER_HEIGHT = 17 * mm  # from the page edge to the top of the footer rule
MARGIN_BOTTOM = FOOTER_HEIGHT + 5 * mm
CONTENT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
LOGO_HEIGHT = 19 * mm
LETTERHEAD_GAP = 6 * mm  # between the letterhead rule and the first line of the letter
SLIM_HEADER_HEIGHT = 11 * mm
ADDRESS_COLUMN = 98 * mm
URGENCY_BAR_WIDTH = 2.2 * mm  # the recipient block: fits a DL window envelope

# -- colours (NHS identity palette, used for structure only: meaning is always in words) ------

NHS_BLUE = colors.HexColor("#005EB8")
NHS_DARK_BLUE = colors.HexColor("#003087")
TEXT = colors.HexColor("#212B32")
SECONDARY_TEXT = colors.HexColor("#4C6272")
RULE = colors.HexColor("#AEB7BD")
BORDER = colors.HexColor("#D8DDE0")
PALE_GREY = colors.HexColor("#F0F4F5")
PALE_BLUE = colors.HexColor("#E8F1FA")
RED = colors.HexColor("#D5281B")
PALE_RED = colors.HexColor("#FBE3E1")
ORANGE = colors.HexColor("#C25E00")
PALE_ORANGE = colors.HexColor("#FDEEDC")
PALE_YELLOW = colors.HexColor("#FFF6D9")
WHITE = colors.white

URGENCY_COLOURS = {
    Urgency.EMERGENCY: (RED, PALE_RED),
    Urgency.VERY_URGENT: (RED, PALE_RED),
    Urgency.URGENT: (ORANGE, PALE_ORANGE),
    Urgency.ROUTINE: (NHS_BLUE, PALE_BLUE),
}

SEVERITY_FILL = {
    Severity.IMMEDIATE: PALE_RED,
    Severity.HIGH: PALE_ORANGE,
    Severity.MODERATE: PALE_YELLOW,
    Severity.LOW: WHITE,
}

# -- paragraph styles --------------------------------------------------------------------------

_BOLD_SAMPLE_STYLES = {"Title", "Heading1", "Heading2", "Heading3", "Heading4", "Heading5",
                       "Heading6", "Definition"}


@cache
def letter_styles() -> StyleSheet1:
    """The sample sheet on the bundled fonts, plus the letter's own named styles."""
    register_fonts()
    sheet = getSampleStyleSheet()
    for name, style in sheet.byName.items():
        style.fontName = BOLD if name in _BOLD_SAMPLE_STYLES else REGULAR
        style.bulletFontName = REGULAR
    base = sheet["Normal"]
    base.textColor = TEXT

    def add(name: str, parent: ParagraphStyle = base, **attributes: object) -> None:
        attributes.setdefault("bulletFontName", REGULAR)
        sheet.add(ParagraphStyle(name, parent=parent, **attributes))

    add("Body", fontSize=9.5, leading=13.2, spaceAfter=5)
    add("BodyTight", parent=sheet["Body"], spaceAfter=0)
    add("ListItem", parent=sheet["Body"], leftIndent=12, bulletIndent=2, spaceAfter=2)
    add("Small", fontSize=8, leading=10.5, textColor=SECONDARY_TEXT)
    add("LetterTitle", fontName=BOLD, fontSize=14, leading=18, textColor=NHS_DARK_BLUE,
        spaceBefore=2, spaceAfter=6)
    add("SectionHeading", fontName=BOLD, fontSize=10.5, leading=14, textColor=NHS_DARK_BLUE,
        spaceBefore=9, spaceAfter=3, keepWithNext=1)
    add("SubHeading", fontName=BOLD, fontSize=9.5, leading=13, textColor=TEXT, spaceBefore=4,
        spaceAfter=2, keepWithNext=1)
    add("Cell", fontSize=8.8, leading=11.5)
    add("CellLabel", parent=sheet["Cell"], fontName=BOLD)
    add("CellSmall", fontSize=7.8, leading=10, textColor=SECONDARY_TEXT)
    add("BoxHeading", fontName=BOLD, fontSize=10, leading=13, textColor=WHITE)
    add("UrgencyLabel", fontName=BOLD, fontSize=12.5, leading=16)
    add("Address", fontSize=9.5, leading=12.5)
    add("AddressCaption", fontName=BOLD, fontSize=7.5, leading=10, textColor=SECONDARY_TEXT,
        spaceAfter=2)
    add("Reference", fontSize=8.8, leading=12, alignment=TA_RIGHT)
    add("LetterheadName", fontName=BOLD, fontSize=11.5, leading=14.5, textColor=NHS_DARK_BLUE,
        alignment=TA_LEFT)
    add("LetterheadDetail", fontSize=8, leading=10.6, textColor=SECONDARY_TEXT)
    add("Signature", parent=sheet["Body"], spaceBefore=4, spaceAfter=0)
    return sheet


# Page furniture drawn straight on the canvas (header and footer), not as paragraphs.
HEADER_FONT = (REGULAR, 7.8)
HEADER_BOLD_FONT = (BOLD, 7.8)
FOOTER_FONT = (REGULAR, 7.5)
FOOTER_BOLD_FONT = (BOLD, 7.5)
FOOTER_SMALL_FONT = (REGULAR, 6.3)

# -- table styles ------------------------------------------------------------------------------

CELL_PADDING = [
    ("LEFTPADDING", (0, 0), (-1, -1), 5),
    ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ("TOPPADDING", (0, 0), (-1, -1), 3),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("FONTNAME", (0, 0), (-1, -1), REGULAR),
]

# A table row may break across pages once at least this much of it fits (points): long
# typed answers must never make a letter fail to build.
SPLIT_IN_ROW = 36


def address_table_style() -> TableStyle:
    return TableStyle([*CELL_PADDING, ("LEFTPADDING", (0, 0), (0, -1), 0),
                       ("RIGHTPADDING", (-1, 0), (-1, -1), 0)])


def identifiers_table_style(rows: int) -> TableStyle:
    return TableStyle([
        *CELL_PADDING,
        ("BOX", (0, 0), (-1, -1), 0.8, NHS_BLUE),
        ("BACKGROUND", (0, 0), (-1, -1), PALE_BLUE),
        ("LINEBELOW", (0, 0), (-1, rows - 2), 0.4, BORDER),
    ])


def urgency_box_style(urgency: Urgency) -> TableStyle:
    """Column 0 is a solid bar in the urgency's colour; the label and dates follow."""
    strong, pale = URGENCY_COLOURS[urgency]
    return TableStyle([
        *CELL_PADDING,
        ("BACKGROUND", (0, 0), (0, -1), strong),
        ("BACKGROUND", (1, 0), (-1, -1), pale),
        ("BOX", (0, 0), (-1, -1), 0.6, strong),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ("LEFTPADDING", (1, 0), (1, -1), 7),
    ])


def flags_table_style(severities: list[Severity], alarming: bool) -> TableStyle:
    """Row 0 is the box heading, row 1 the column headings, then one row per flag."""
    edge = RED if alarming else SECONDARY_TEXT
    commands = [
        *CELL_PADDING,
        ("SPAN", (0, 0), (-1, 0)),
        ("BACKGROUND", (0, 0), (-1, 0), edge),
        ("BACKGROUND", (0, 1), (-1, 1), PALE_GREY),
        ("BOX", (0, 0), (-1, -1), 1.2, edge),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, BORDER),
        ("TOPPADDING", (0, 0), (-1, 0), 4),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
    ]
    for row, severity in enumerate(severities, start=2):
        commands.append(("BACKGROUND", (0, row), (-1, row), SEVERITY_FILL[severity]))
    return TableStyle(commands)


def notice_box_style(edge: colors.Color = RED, fill: colors.Color = PALE_RED) -> TableStyle:
    """A boxed notice (safeguarding, no flags): row 0 heading on `edge`, then the body rows."""
    return TableStyle([
        *CELL_PADDING,
        ("BACKGROUND", (0, 0), (-1, 0), edge),
        ("BACKGROUND", (0, 1), (-1, -1), fill),
        ("BOX", (0, 0), (-1, -1), 1.2, edge),
        ("TOPPADDING", (0, 0), (-1, 0), 4),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
    ])


def answers_table_style() -> TableStyle:
    return TableStyle([
        *CELL_PADDING,
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, BORDER),
        ("LINEABOVE", (0, 0), (-1, 0), 0.4, BORDER),
        ("LEFTPADDING", (0, 0), (0, -1), 0),
    ])
