"""Reading the sections and questions of a module file: each question's type, options, scale
labels and checks, and the show_if conditions that decide what is asked."""

from __future__ import annotations

from spoa.rules.condition_types import Kind, Symbol, ValueType
from spoa.rules.field_reader import ID_PATTERN, FieldReader
from spoa.rules.module import Section
from spoa.rules.questions import NOT_KNOWN, Check, Option, Question, QuestionType

_SECTION_FIELDS = {"id", "title", "help", "show_if", "questions"}
_QUESTION_FIELDS = {
    "id", "type", "text", "help", "required", "options", "min", "max", "unit", "integer",
    "max_length", "weight", "labels", "show_if", "checks", "if_not_known",
}
_OPTION_FIELDS = {"value", "label", "weight"}


class QuestionReader(FieldReader):
    """The sections and questions of a module file, with their show_if conditions and checks."""

    def read_questions(self, top: dict, seen: dict) -> tuple[dict[str, Question], list]:
        questions: dict[str, Question] = {}
        sections_raw = []
        section_ids: dict[str, tuple] = {}
        raw_sections = self.list_of(top, "sections")
        if "sections" in top and not raw_sections and isinstance(top.get("sections"), list):
            self.problem(("sections",), "a module needs at least one section of questions")
        for s_index, raw_section in enumerate(raw_sections):
            spath = ("sections", s_index)
            section = self.mapping(raw_section, spath, _SECTION_FIELDS)
            if not section:
                continue
            sid = self.identifier(section, spath, section_ids, "section")
            title = self.text(section, spath, "title")
            help_text = self.text(section, spath, "help", required=False)
            qlist = []
            for q_index, raw_question in enumerate(self.list_of(section, "questions", spath)):
                qpath = (*spath, "questions", q_index)
                question = self.read_question(raw_question, qpath, sid, seen)
                if question is not None:
                    questions[question.id] = question
                    qlist.append((question, qpath))
            sections_raw.append((sid, title, help_text, section.get("show_if"), (*spath, "show_if"), qlist))
        return questions, sections_raw

    def read_question(self, raw: object, path: tuple, section_id: str, seen: dict) -> Question | None:
        block = self.mapping(raw, path, _QUESTION_FIELDS)
        if not block:
            return None
        qid = self.identifier(block, path, seen, "question")
        qtype = self.choice(block, path, "type", QuestionType)
        text = self.text(block, path, "text")
        required = block.get("required", False)
        if not isinstance(required, bool):
            self.problem((*path, "required"), "'required' must be yes or no")
            required = False
        kwargs: dict = {}
        if qtype in (QuestionType.SINGLE, QuestionType.MULTI):
            kwargs["options"] = self.read_options(block, path)
        elif "options" in block:
            self.problem((*path, "options"), f"a {qtype} question has no options")
        if qtype in (QuestionType.NUMBER, QuestionType.SCALE):
            low = self.number(block, path, "min", required=qtype is QuestionType.SCALE)
            high = self.number(block, path, "max", required=qtype is QuestionType.SCALE)
            if low is not None and high is not None and low >= high:
                self.problem((*path, "min"), "'min' must be less than 'max'")
            kwargs.update(minimum=low, maximum=high, unit=self.text(block, path, "unit", required=False))
            integer = block.get("integer", qtype is QuestionType.SCALE)
            kwargs["integer"] = bool(integer)
            if qtype is QuestionType.SCALE:
                kwargs["scale_labels"] = self.read_scale_labels(block, path, low, high)
        if qtype is QuestionType.TEXT and "max_length" in block:
            limit = self.number(block, path, "max_length")
            if limit is not None and (limit != int(limit) or not 1 <= limit <= 20000):
                self.problem((*path, "max_length"), "'max_length' must be a whole number from 1 to 20000")
            elif limit is not None:
                kwargs["max_length"] = int(limit)
        if "weight" in block:
            if qtype is not QuestionType.YES_NO:
                self.problem((*path, "weight"), "only yes/no questions carry a 'weight'; "
                             "give choice options their own weights")
            kwargs["weight"] = self.number(block, path, "weight")
        if "if_not_known" in block:
            kwargs["if_not_known"] = self.read_if_not_known(block, path, qtype, kwargs.get("options", ()))
        if qtype is None or not qid:
            return None
        return Question(id=qid, type=qtype, text=text, section_id=section_id,
                        help=self.text(block, path, "help", required=False),
                        required=required, **kwargs)

    def read_if_not_known(self, block: dict, path: tuple, qtype, options) -> object | None:
        """``if_not_known: yes`` (or an option's value): the question offers "not known", which
        counts as that answer. Only yes/no and single-choice questions can offer it."""
        value = block["if_not_known"]
        where = (*path, "if_not_known")
        if qtype is QuestionType.YES_NO:
            if not isinstance(value, bool):
                self.problem(where, "'if_not_known' says what not known counts as: yes or no")
                return None
            return value
        if qtype is QuestionType.SINGLE:
            values = [o.value for o in options]
            if NOT_KNOWN in values:
                self.problem(where, f"an option is already called '{NOT_KNOWN}'; remove it, since "
                             "'if_not_known' adds 'Not known' itself")
                return None
            if value not in values:
                self.problem(where, f"'{value}' is not one of the options ({', '.join(values)})")
                return None
            return value
        self.problem(where, "only yes/no and single-choice questions can offer 'not known'")
        return None

    def read_options(self, block: dict, path: tuple) -> tuple[Option, ...]:
        options = []
        values: set[str] = set()
        raw_options = self.list_of(block, "options", path)
        if "options" in block and len(raw_options) < 2 and isinstance(block["options"], list):
            self.problem((*path, "options"), "a choice question needs at least two options")
        for index, raw in enumerate(raw_options):
            opath = (*path, "options", index)
            item = self.mapping(raw, opath, _OPTION_FIELDS)
            if not item:
                continue
            value = self.text(item, opath, "value")
            if value and not ID_PATTERN.match(value):
                self.problem((*opath, "value"), f"'{value}' is not a valid option value: use lower-case "
                             "letters, digits and _")
            if value in values:
                self.problem((*opath, "value"), f"the option '{value}' appears twice")
            values.add(value)
            options.append(Option(value, self.text(item, opath, "label"),
                                  self.number(item, opath, "weight")))
        return tuple(options)

    def read_scale_labels(self, block, path, low, high) -> tuple[tuple[int, str], ...]:
        labels = block.get("labels")
        if labels is None:
            return ()
        if not isinstance(labels, dict):
            self.problem((*path, "labels"), "'labels' maps scale points to words, e.g. 0: Not at all")
            return ()
        result = []
        for point, word in labels.items():
            on_scale = low is not None and high is not None and low <= point <= high
            if not isinstance(point, int) or isinstance(point, bool) or not on_scale:
                self.problem((*path, "labels", point), f"{point!r} is not a point on this scale")
                continue
            result.append((point, str(word)))
        return tuple(sorted(result))

    def read_visibility(self, sections_raw, questions, symbols):
        sections = []
        checked: dict[str, Question] = {}
        for sid, title, help_text, show_raw, show_path, qlist in sections_raw:
            section_show = None
            if show_raw is not None:
                section_show = self.compile(show_raw, show_path, symbols, Kind.BOOL)
            built = []
            for question, qpath in qlist:
                block = self.doc_at(qpath)
                show_if = None
                if block.get("show_if") is not None:
                    show_if = self.compile(block["show_if"], (*qpath, "show_if"), symbols, Kind.BOOL)
                    if show_if and question.id in show_if.names:
                        self.problem((*qpath, "show_if"), "a question cannot depend on its own answer")
                checks = self.read_checks(block, qpath, question, symbols)
                question = _replace(question, show_if=show_if, checks=checks)
                checked[question.id] = question
                built.append(question)
            sections.append(Section(sid, title, help_text, tuple(built), section_show))
        return tuple(sections), checked

    def doc_at(self, path: tuple) -> dict:
        node = self.doc.data
        for key in path:
            node = node[key]
        return node

    def read_checks(self, block, path, question: Question, symbols) -> tuple[Check, ...]:
        checks = []
        scoped = dict(symbols)
        vt = question.value_type
        scoped["value"] = Symbol("value", "value", ValueType(
            vt.kind, vt.options, vt.minimum, vt.maximum, owner=question.id))
        for index, raw in enumerate(self.list_of(block, "checks", path, required=False)):
            cpath = (*path, "checks", index)
            item = self.mapping(raw, cpath, {"rule", "message"})
            if not item:
                continue
            message = self.text(item, cpath, "message")
            rule = self.compile(item.get("rule"), (*cpath, "rule"), scoped, Kind.BOOL)
            if rule is not None:
                checks.append(Check(rule, message))
        return tuple(checks)


def question_deps(question: Question, sections: tuple[Section, ...]) -> tuple[str, ...]:
    names = list(question.show_if.names) if question.show_if else []
    for section in sections:
        if section.id == question.section_id and section.show_if:
            names.extend(section.show_if.names)
    return tuple(names)


def _replace(question: Question, **changes) -> Question:
    from dataclasses import replace

    return replace(question, **changes)
