"""PDF letters, read back with pypdf as a recipient's software would read them.

All content is synthetic; NHS numbers are from the 999 test range.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import replace
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from spoa.letters.content import (
    AnswerLine,
    Carer,
    ChildIdentifiers,
    FlagLine,
    HubDetails,
    LetterContent,
    LetterKind,
    Override,
    Recipient,
    ReferrerDetails,
    Section,
)
from spoa.letters.fonts import BOLD, REGULAR, missing_glyphs
from spoa.letters.pdf import build_letter, load_hub_details, load_letterhead
from spoa.letters.wording import LetterResourceError, load_wording
from spoa.model import ModuleRef, Route, Severity, Urgency
from spoa.nhs import format_nhs_number, nhs_check_digit
from tests.conftest import REPO


def nhs_number_in_test_range(first_nine: str) -> str:
    check = nhs_check_digit(first_nine)
    assert check is not None
    assert first_nine.startswith("999")
    return first_nine + str(check)


NHS_NUMBER = nhs_number_in_test_range("999876543")
ISSUED = date(2025, 3, 3)
RESPOND_BY = datetime(2025, 3, 10, 14, 30)

FLAGS = (
    FlagLine("Recent self-harm", Severity.HIGH, "Contact the family within 24 hours.",
             ("Self-harm in the last month: yes",)),
    FlagLine("Disclosure of harm at home", Severity.IMMEDIATE,
             "Refer to children's social care today.", ("Feels unsafe at home: yes",),
             safeguarding=True),
    FlagLine("Missing school", Severity.MODERATE, None, ("Days missed this term: 23",)),
)
ANSWERS = (
    AnswerLine("Mood", "Low mood most days?", "Yes, for three months"),
    AnswerLine("Self-harm", "Self-harm in the last month?", "Yes, cutting"),
    AnswerLine("Mood", "Sleep affected?", "Wakes at 4am"),
)
RATIONALE = (
    "Flag raised — Recent self-harm (high), because Self-harm in the last month: yes.",
    "Act now: Contact the family within 24 hours.",
    "Outcome rule 'self_harm' chose CAMHS, urgent: seen within 24 hours. Self-harm.",
)


def letter(kind: LetterKind = LetterKind.REFERRAL_CAMHS, **changes: object) -> LetterContent:
    content = LetterContent(
        kind=kind,
        document_id="SPA-2025-000042",
        issued_on=ISSUED,
        recipient=Recipient(name="Northbrook CAMHS", team="Getting More Help team",
                            address="Riverside Clinic\n4 Quay Street\nNorthbrook",
                            email="camhs@northbrook-health.example", phone="01632 960 444"),
        child=ChildIdentifiers(given_name="Robin", family_name="Example",
                               date_of_birth=date(2011, 6, 14), nhs_number=NHS_NUMBER,
                               address="7 Orchard Row\nNorthbrook", postcode="NB3 1AB",
                               school="Northbrook Academy", gp_practice="Orchard Surgery",
                               carers=(Carer("Alex Example", "parent", "07700 900123"),)),
        referrer=ReferrerDetails(kind="GP", name="Dr Ada Patel", organisation="Mill Lane Surgery",
                                 contact="01632 960 555"),
        reason="Low mood for three months and recent self-harm.",
        route=Route.CAMHS,
        urgency=Urgency.URGENT,
        respond_within_hours=168,
        respond_by=RESPOND_BY,
        module=ModuleRef("low_mood", "1.2.0", "c0ffee" * 10 + "abcd"),
        flags=FLAGS,
        answers=ANSWERS,
        rationale=RATIONALE,
        override=Override(Route.SCHOOL_NURSING, Urgency.ROUTINE,
                          "Escalation reported by the GP after the call."),
        consent="Verbal consent from the young person and parent to share with CAMHS.",
        approved_by="Sam Supervisor",
        approved_on=date(2025, 3, 3),
        advice_question="Should I refer to CAMHS or to the school nurse?",
        advice_given="Refer to CAMHS now; the school nurse can offer weekly check-ins meanwhile.",
        not_accepted_reasons=("The difficulties described are mild and recent.",),
        signposting=("Northbrook Young People's Wellbeing Service: 01632 960 777",),
    )
    return replace(content, **changes)


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


class ReadBack:
    def __init__(self, pdf: bytes) -> None:
        assert pdf.startswith(b"%PDF-")
        self.bytes = pdf
        self.reader = PdfReader(io.BytesIO(pdf))
        self.pages = [normalise(page.extract_text()) for page in self.reader.pages]
        self.text = " ".join(self.pages)
        self.metadata = self.reader.metadata


def read(content: LetterContent, **kwargs: object) -> ReadBack:
    return ReadBack(build_letter(content, **kwargs))


# -- every kind carries the whole decision -----------------------------------------------------

@pytest.mark.parametrize("kind", list(LetterKind))
def test_each_kind_carries_every_required_element(kind):
    content = letter(kind)
    pdf = read(content)
    text = pdf.text
    expected = [
        "Northbrook CAMHS", "Getting More Help team",  # recipient
        "Robin Example", "14 June 2011", format_nhs_number(NHS_NUMBER),  # child
        "GP", "Dr Ada Patel", "Mill Lane Surgery",  # referrer
        content.reason,
        "Urgent", "Monday 10 March 2025 at 14:30", "within 7 days", "MHSDS priority: 2 (Urgent/serious)",
        "Immediate", "High", "Moderate",  # severities, in words
        "Safeguarding",
        "Mood", "Self-harm",  # answer sections
        "Verbal consent from the young person and parent to share with CAMHS.",
        "Escalation reported by the GP after the call.",
        "Approved by Sam Supervisor on 3 March 2025.",
        "3 March 2025", "SPA-2025-000042",
    ]
    for flag in FLAGS:
        expected += [flag.label, *(f"Because: {line}" for line in flag.because)]
        if flag.action:
            expected.append(flag.action)
    for answer in ANSWERS:
        expected += [answer.question, answer.answer]
    expected += list(RATIONALE)
    if kind is LetterKind.ADVICE_RESPONSE:
        expected += [content.advice_question, content.advice_given]
    if kind is LetterKind.NOT_ACCEPTED:
        expected += [*content.not_accepted_reasons, *content.signposting]
    if kind is LetterKind.OUTCOME_TO_REFERRER:
        expected.append("We have referred Robin to the Child and Adolescent Mental Health Service "
                        "(CAMHS) because: Low mood for three months and recent self-harm.")
    missing = [item for item in expected if normalise(item) not in text]
    assert not missing, f"{kind}: missing {missing}"

    pages = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        assert f"Page {number} of {pages}" in page
        assert "confidential" in page.lower()
        assert "Document SPA-2025-000042" in page
        assert content.content_hash()[:16] in page

    sha = content.content_hash()
    title = load_wording().kind(kind, "title")
    assert pdf.metadata.title == title
    assert pdf.metadata.author == load_hub_details().name
    assert title in pdf.metadata.subject
    assert sha in pdf.metadata.subject  # the full hash is extractable
    assert f"sha256={sha}" in pdf.metadata["/Keywords"]


def test_the_footer_prints_the_whole_content_hash():
    content = letter()
    assert f"Content sha256 {content.content_hash()}" in read(content).pages[0]


def test_the_severity_of_each_flag_is_in_words_next_to_it():
    text = read(letter()).text
    assert "Immediate Disclosure of harm at home" in text
    assert "High Recent self-harm" in text
    assert "Moderate Missing school" in text
    assert "No immediate action was set." in text  # the flag without an action says so


def test_a_letter_sent_before_review_says_so_instead_of_an_approver():
    content = letter(sent_before_review=True, approved_by="", approved_on=None,
                     urgency=Urgency.EMERGENCY, respond_within_hours=4)
    text = read(content).text
    assert "sent before supervisor review" in text
    assert "Approved by" not in text
    assert "Emergency" in text
    assert "MHSDS priority: 1 (Emergency)" in text


def test_an_unapproved_letter_is_marked_as_a_draft():
    text = read(letter(approved_by="", approved_on=None)).text
    assert "Not yet approved by a supervisor" in text


def test_no_safeguarding_section_without_a_safeguarding_flag():
    text = read(letter(flags=FLAGS[:1])).text
    assert "Safeguarding" not in text
    assert "Recent self-harm" in text


def test_a_letter_without_flags_says_none_were_raised():
    text = read(letter(flags=())).text
    assert "No risk flags were raised during triage." in text
    assert "Safeguarding" not in text


def test_without_a_respond_by_time_the_letter_gives_the_window():
    text = read(letter(respond_by=None, respond_within_hours=4, urgency=Urgency.EMERGENCY)).text
    assert "within 4 hours of the date of this letter" in text


def test_an_invalid_nhs_number_is_shown_as_typed_and_marked():
    text = read(letter(child=replace(letter().child, nhs_number="1234567890"))).text
    assert "1234567890 (not a valid NHS number: please check it)" in text


def test_omitted_sections_vanish_and_the_decision_stays():
    content = letter(omitted=frozenset(Section))
    text = read(content).text
    for gone in ("7 Orchard Row", "NB3 1AB", "Northbrook Academy", "Orchard Surgery",
                 "Alex Example", "07700 900123", "01632 960 555", "What we were told",
                 "Low mood most days?", "Yes, for three months", "Sleep affected?"):
        assert gone not in text, gone
    for kept in ("Robin Example", format_nhs_number(NHS_NUMBER), "Dr Ada Patel",
                 "Disclosure of harm at home", "Safeguarding", RATIONALE[2],
                 "Escalation reported by the GP after the call.", "Verbal consent"):
        assert normalise(kept) in text, kept


def test_each_optional_section_can_be_left_out_alone():
    full = read(letter()).text
    for present in ("Alex Example", "7 Orchard Row", "Northbrook Academy"):
        assert present in full
    assert "Alex Example" not in read(letter(omitted=frozenset({Section.CARERS}))).text
    alone = read(letter(omitted=frozenset({Section.CHILD_ADDRESS}))).text
    assert "7 Orchard Row" not in alone
    assert "Northbrook Academy" in alone


# -- typed text is printed as typed and never becomes markup -----------------------------------

HOSTILE = [
    "A & B <x@y>",
    '<img src="/etc/passwd">',
    '<a href="http://x">click</a>',
    "<font size=99>big</font>",
    "<b>unclosed",
    "&amp; &lt;b&gt; &#60; &nbsp;",
    "</para><para>",
    "<br/>",
    "{child_name} {0} {{",
]


def hostile_letter(kind: LetterKind, value: str) -> LetterContent:
    base = letter(kind)
    return replace(
        base,
        document_id=value,
        recipient=Recipient(name=value, team=value, address=value, email=value, phone=value),
        child=ChildIdentifiers(given_name=value, family_name=value, nhs_number=value,
                               date_of_birth=date(2012, 1, 2), address=value, postcode=value,
                               school=value, gp_practice=value, carers=(Carer(value, value, value),)),
        referrer=ReferrerDetails(kind=value, name=value, organisation=value, contact=value),
        reason=value,
        flags=(FlagLine(value, Severity.IMMEDIATE, value, (value,), safeguarding=True),),
        answers=(AnswerLine(value, value, value),),
        rationale=(value,),
        override=Override(Route.CAMHS, Urgency.ROUTINE, value),
        consent=value,
        approved_by=value,
        advice_question=value,
        advice_given=value,
        not_accepted_reasons=(value,),
        signposting=(value,),
        module=ModuleRef(value, value, value),
    )


def image_count(reader: PdfReader) -> list[int]:
    counts = []
    for page in reader.pages:
        xobjects = page.get("/Resources", {}).get("/XObject", {})
        counts.append(sum(1 for ref in xobjects.values()
                          if ref.get_object().get("/Subtype") == "/Image"))
    return counts


def assert_inert(pdf: ReadBack) -> None:
    for page in pdf.reader.pages:
        annotations = page.get("/Annots")
        assert not annotations, "a page has annotations (links)"
    assert b"/URI" not in pdf.bytes
    assert b"/Link" not in pdf.bytes
    counts = image_count(pdf.reader)
    assert counts == [1] + [0] * (len(counts) - 1)  # the logo, on page 1 only
    assert len(re.findall(rb"/Subtype\s*/Image", pdf.bytes)) == 1  # and no other in the file


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("kind", [LetterKind.REFERRAL_CAMHS, LetterKind.OUTCOME_TO_REFERRER,
                                  LetterKind.NOT_ACCEPTED, LetterKind.ADVICE_RESPONSE])
def test_markup_typed_into_any_field_is_printed_literally(kind, value):
    pdf = read(hostile_letter(kind, value))
    shown = normalise(value)
    # Every field holds the value: it must appear many times, exactly as typed.
    assert pdf.text.count(shown) >= 15, (value, pdf.text[:2000])
    for leftover in ("&amp;lt;", "&lt;", "<br/>"):
        if leftover not in value:
            assert leftover not in pdf.text
    assert_inert(pdf)


def test_the_outcome_sentence_fills_its_placeholders_with_escaped_values():
    content = replace(letter(LetterKind.OUTCOME_TO_REFERRER), reason='<a href="http://x">why</a>',
                      child=replace(letter().child, given_name="A & B <x@y>"))
    pdf = read(content)
    assert ('We have referred A & B <x@y> to the Child and Adolescent Mental Health Service '
            '(CAMHS) because: <a href="http://x">why</a>.') in pdf.text
    assert_inert(pdf)


def test_hostile_hub_details_are_printed_literally():
    hub = HubDetails(name="<b>Hub</b> & <i>Co</i>", address='<img src="x">\nLine 2',
                     phone="<font size=99>0</font>", email="<a href='mailto:x'>x</a>")
    pdf = read(letter(), hub=hub)
    assert "<b>Hub</b> & <i>Co</i>" in pdf.text
    assert '<img src="x">, Line 2' in pdf.text
    assert pdf.metadata.author == "<b>Hub</b> & <i>Co</i>"
    assert_inert(pdf)


def test_only_the_bundled_fonts_are_used():
    pdf = read(hostile_letter(LetterKind.REFERRAL_CAMHS, "<i>italic</i> <b><i>both</i></b>"))
    for page in pdf.reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            assert font["/Subtype"] == "/TrueType"
            assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans(-Bold)?", font["/BaseFont"]), font["/BaseFont"]


# -- names in many scripts ---------------------------------------------------------------------

NAMES = [
    ("Zoë", "Brontë-Núñez"),  # Latin with accents
    ("Seán", "Ó Súilleabháin"),  # Irish
    ("Łukasz", "Żółć"),  # Polish
    ("Ștefan", "Țară"),  # Romanian (comma below)
    ("Nguyễn", "Thị Hương"),  # Vietnamese
    ("Αλέξανδρος", "Παπαδόπουλος"),  # Greek
    ("Дмитрий", "Иванов"),  # Cyrillic
]


@pytest.mark.parametrize(("given", "family"), NAMES)
def test_names_in_each_script_render_as_typed(given, family):
    full = f"{given} {family}"
    assert missing_glyphs(full, REGULAR) == []
    assert missing_glyphs(full, BOLD) == []
    for kind in (LetterKind.REFERRAL_CAMHS, LetterKind.OUTCOME_TO_REFERRER):
        content = letter(kind, child=replace(letter().child, given_name=given, family_name=family),
                         recipient=replace(letter().recipient, name=full))  # bold in the address
        pdf = read(content)
        assert pdf.text.count(normalise(full)) >= 3
        assert normalise(full) in pdf.pages[0]


def test_decomposed_accents_are_printed_composed():
    decomposed = unicodedata.normalize("NFD", "Seán Ó Súilleabháin")
    assert decomposed != "Seán Ó Súilleabháin"
    content = letter(child=replace(letter().child, given_name=decomposed.split(" ", 1)[0],
                                   family_name=decomposed.split(" ", 1)[1]))
    assert "Seán Ó Súilleabháin" in read(content).text


# -- anything typed builds ---------------------------------------------------------------------

free_text = st.text(max_size=60)
short_lists = st.lists(free_text, max_size=3).map(tuple)


@st.composite
def any_letter(draw) -> LetterContent:
    t = lambda: draw(free_text)  # noqa: E731
    return LetterContent(
        kind=draw(st.sampled_from(LetterKind)),
        document_id=t(),
        issued_on=draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))),
        recipient=Recipient(name=t(), team=t(), address=t(), email=t(), phone=t()),
        child=ChildIdentifiers(given_name=t(), family_name=t(),
                               date_of_birth=draw(st.none() | st.dates()), nhs_number=t(),
                               address=t(), postcode=t(), school=t(), gp_practice=t(),
                               carers=tuple(Carer(t(), t(), t())
                                            for _ in range(draw(st.integers(0, 2))))),
        referrer=ReferrerDetails(kind=t(), name=t(), organisation=t(), contact=t()),
        reason=t(),
        route=draw(st.sampled_from(Route)),
        urgency=draw(st.sampled_from(Urgency)),
        respond_within_hours=draw(st.integers(0, 10_000)),
        respond_by=draw(st.none() | st.datetimes()),
        module=ModuleRef(t(), t(), t()),
        flags=tuple(FlagLine(t(), draw(st.sampled_from(Severity)), draw(st.none() | free_text),
                             draw(short_lists), draw(st.booleans()))
                    for _ in range(draw(st.integers(0, 3)))),
        answers=tuple(AnswerLine(t(), t(), t()) for _ in range(draw(st.integers(0, 4)))),
        rationale=draw(short_lists),
        override=draw(st.none() | st.builds(Override, st.sampled_from(Route),
                                             st.sampled_from(Urgency), free_text)),
        consent=t(),
        approved_by=t(),
        approved_on=draw(st.none() | st.dates()),
        sent_before_review=draw(st.booleans()),
        advice_question=t(),
        advice_given=t(),
        not_accepted_reasons=draw(short_lists),
        signposting=draw(short_lists),
        omitted=draw(st.frozensets(st.sampled_from(Section))),
    )


@settings(max_examples=40, deadline=None)
@given(any_letter())
def test_any_unicode_in_any_field_builds_a_letter(content):
    pdf = build_letter(content)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    assert content.content_hash() in reader.metadata.subject


def test_very_long_typed_text_breaks_across_pages():
    essay = " ".join(["The young person described the week in detail."] * 400)
    content = letter(reason=essay, consent=essay,
                     answers=(AnswerLine("Mood", "Anything else?", essay),),
                     flags=(FlagLine("Long", Severity.HIGH, essay, (essay,), safeguarding=True),))
    pdf = read(content)
    assert len(pdf.pages) >= 5
    assert pdf.text.count("The young person described the week in detail.") >= 400 * 4


def test_a_long_letter_paginates_with_page_x_of_y():
    answers = tuple(AnswerLine(f"Section {i % 5}", f"Question {i}: how often in the last fortnight?",
                               f"Answer {i}") for i in range(50))
    flags = tuple(FlagLine(f"Flag {i}", list(Severity)[i % 4], f"Action {i}", (f"Because {i}",),
                           safeguarding=i % 3 == 0) for i in range(12))
    content = letter(answers=answers, flags=flags)
    pdf = read(content)
    total = len(pdf.pages)
    assert total >= 3
    assert f"Page 2 of {total}" in pdf.pages[1]
    for number, page in enumerate(pdf.pages, start=1):
        assert f"Page {number} of {total}" in page
        assert "CONFIDENTIAL" in page
        assert content.content_hash()[:16] in page
        if number > 1:  # the slim header names the child on every later page
            assert f"Robin Example · NHS number {format_nhs_number(NHS_NUMBER)}" in page
    for i in range(50):
        assert f"Question {i}: how often in the last fortnight? Answer {i}" in pdf.text
    for i in range(12):
        assert f"Flag {i}" in pdf.text
        assert f"Action {i}" in pdf.text
    assert image_count(pdf.reader) == [1] + [0] * (total - 1)


# -- deterministic bytes -----------------------------------------------------------------------

def test_the_same_content_rebuilds_byte_identically():
    first = build_letter(letter())
    build_letter(hostile_letter(LetterKind.NOT_ACCEPTED, "Дмитрий & Ștefan <b>"))  # other glyphs between
    second = build_letter(letter())
    assert first == second
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata["/CreationDate"].startswith("D:20250303")


REBUILD = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from tests.test_letters_pdf import letter
from spoa.letters.pdf import build_letter
print(hashlib.sha256(build_letter(letter())).hexdigest())
"""


def test_a_letter_rebuilt_in_another_process_is_byte_identical():
    expected = hashlib.sha256(build_letter(letter())).hexdigest()
    for seed in ("1", "2"):  # set and dict order must not leak into the file
        result = subprocess.run([sys.executable, "-c", REBUILD, str(REPO)], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected


def test_different_content_gives_a_different_letter_and_hash():
    one, other = letter(), letter(consent="Consent withdrawn.")
    assert one.content_hash() != other.content_hash()
    assert build_letter(one) != build_letter(other)


# -- wording and letterhead are files the hub edits --------------------------------------------

def test_a_hub_wording_file_changes_only_what_it_names(tmp_path):
    custom = tmp_path / "wording.yaml"
    custom.write_text(
        "kinds:\n  referral_camhs:\n    salutation: 'Dear <team> & {recipient_name},'\n",
        encoding="utf-8")
    wording = load_wording(custom)
    text = read(letter(), wording=wording).text
    assert "Dear <team> & Northbrook CAMHS," in text  # wording markup is printed too
    assert "Referral to CAMHS" in text  # everything else from the bundled file


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("headings:\n  child: Child\n  risk_flag: Risks\n", "line 3: 'headings.risk_flag' is not a text"),
    ("footer:\n  page: Page {page} of {total}\n", "line 2: 'footer.page' uses the placeholder {total}"),
    ("phrases:\n  no_flags: '{child_name'\n", "line 2: 'phrases.no_flags' has a stray brace"),
    ("headings:\n  child: [a, b]\n", "line 2: 'headings.child' must be a text"),
    ("headings: {child: [\n", "not valid YAML"),
])
def test_a_broken_wording_file_names_file_line_and_fault(tmp_path, yaml_text, message):
    bad = tmp_path / "wording.yaml"
    bad.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(LetterResourceError, match=re.escape(message)) as caught:
        load_wording(bad)
    assert str(bad) in str(caught.value)


def test_the_bundled_letterhead_is_fictional_and_has_a_png_logo():
    letterhead = load_letterhead()
    assert letterhead.hub.name
    assert "\n" in letterhead.hub.address
    assert letterhead.logo.read_bytes().startswith(b"\x89PNG")
    assert load_hub_details() == letterhead.hub


def test_a_hub_letterhead_file_sets_the_letterhead(tmp_path):
    (tmp_path / "crest.png").write_bytes(load_letterhead().logo.read_bytes())
    hub_file = tmp_path / "hub.yaml"
    hub_file.write_text("name: Westvale SPA\naddress: |\n  1 High Street\n  Westvale\n"
                        "phone: 01632 960 999\nlogo: crest.png\n", encoding="utf-8")
    letterhead = load_letterhead(hub_file)
    assert letterhead.hub == HubDetails(name="Westvale SPA", address="1 High Street\nWestvale",
                                        phone="01632 960 999")
    pdf = read(letter(), hub=letterhead.hub, logo=letterhead.logo)
    assert "Westvale SPA" in pdf.text
    assert "1 High Street, Westvale" in pdf.text
    assert pdf.metadata.author == "Westvale SPA"


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("address: x\n", "the hub's name is missing"),
    ("name: X\naddress: Y\nlogo: nowhere.png\n", "cannot be read"),
    ("name: X\naddress: Y\ncolour: red\n", "line 3: 'colour' is not a letterhead setting"),
])
def test_a_broken_letterhead_file_says_what_is_wrong(tmp_path, yaml_text, message):
    hub_file = tmp_path / "hub.yaml"
    hub_file.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(LetterResourceError, match=re.escape(message)):
        load_letterhead(hub_file)
