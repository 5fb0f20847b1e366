"""The story of a letter: its flowables in reading order, section by section (address block,
identifiers, urgency, risk flags, safeguarding, what the letter says for its kind, referrer,
answers, rationale, override, consent, sign-off), from the content, the wording file and the
styles module. Every typed string goes through :func:`~spoa.letters.typed_text.markup`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table

from spoa.letters import styles
from spoa.letters.content import AnswerLine, FlagLine, HubDetails, LetterContent, LetterKind, Section
from spoa.letters.formatting import (
    as_sentence,
    date_and_time,
    duration,
    long_date,
    nhs_number_display,
    short_hash,
)
from spoa.letters.typed_text import markup
from spoa.letters.wording import Wording
from spoa.model import Severity


class LetterStory:
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
            "reason": as_sentence(content.reason),
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
            (words.text("labels.nhs_number"), nhs_number_display(child.nhs_number, words)),
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
        if self.content.not_yet_asked:
            story.append(self.para(self.phrase("decided_before_complete"), "BodyTight"))
            story += self.bullets(self.content.not_yet_asked)
        story.append(self.para(self.words.text("phrases.module", module_id=module.id,
                                               module_version=module.version,
                                               module_hash=short_hash(module.content_hash)),
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
