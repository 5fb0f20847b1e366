"""Reading the parts of a module file that decide the outcome of a call: scores (sums of
weighted answers or formulas, with bands), risk flags, and the outcome rules in order, ending
with the default."""

from __future__ import annotations

from spoa.model import URGENT_72_HOUR_CEILING, Route, Severity, Thrive, Urgency, hours_in_words
from spoa.rules.condition_types import Kind
from spoa.rules.field_reader import FieldReader
from spoa.rules.module import Band, Flag, OutcomeRule, Score
from spoa.rules.questions import QuestionType

_SCORE_FIELDS = {"id", "label", "sum", "value", "bands"}
_FLAG_FIELDS = {"id", "label", "severity", "when", "action"}
_OUTCOME_FIELDS = {
    "id", "when", "default", "route", "urgency", "respond_within", "contact_within", "thrive",
    "because", "mhsds_priority",
}


class OutcomeReader(FieldReader):
    """The scores, flags and outcome rules of a module file."""

    seventy_two_hour_code: str | None = None  # set by the scale: see ModuleReader.read_scale

    def response_ceiling(self, urgency: Urgency) -> int:
        """The longest time an outcome of ``urgency`` may promise (spoa.model.URGENCY_BANDS)."""
        if urgency is Urgency.URGENT and self.seventy_two_hour_code:
            return URGENT_72_HOUR_CEILING
        return urgency.longest_response_hours

    def read_scores(self, raw_scores, questions, symbols, seen) -> list[Score]:
        scores = []
        for index, raw in enumerate(raw_scores):
            path = ("scores", index)
            block = self.mapping(raw, path, _SCORE_FIELDS)
            if not block:
                continue
            sid = self.identifier(block, path, seen, "score")
            label = self.text(block, path, "label")
            parts: tuple[str, ...] = ()
            formula = None
            if ("sum" in block) == ("value" in block):
                self.problem(path, "a score needs either 'sum' (a list of questions) or 'value' "
                             "(a formula), not both")
            elif "sum" in block:
                parts = self.read_sum(block, path, questions)
            else:
                formula = self.compile(block["value"], (*path, "value"), symbols, Kind.NUMBER)
            bands = self.read_bands(block, path)
            scores.append(Score(sid, label, parts, formula, bands))
        return scores

    def read_sum(self, block, path, questions) -> tuple[str, ...]:
        parts = []
        for index, qid in enumerate(self.list_of(block, "sum", path)):
            q = questions.get(qid) if isinstance(qid, str) else None
            ipath = (*path, "sum", index)
            if q is None:
                self.problem(ipath, f"unknown question '{qid}'")
            elif q.type in (QuestionType.SINGLE, QuestionType.MULTI) and all(
                    o.weight is None for o in q.options):
                self.problem(ipath, f"'{qid}' has no option with a weight, so it adds nothing")
            elif q.type is QuestionType.YES_NO and q.weight is None:
                self.problem(ipath, f"'{qid}' is yes/no without a 'weight', so it adds nothing")
            elif q.type in (QuestionType.TEXT, QuestionType.DATE):
                self.problem(ipath, f"'{qid}' is a {q.type} question and cannot be added up")
            else:
                parts.append(qid)
        return tuple(parts)

    def read_bands(self, block, path) -> tuple[Band, ...]:
        bands = []
        for index, raw in enumerate(self.list_of(block, "bands", path, required=False)):
            bpath = (*path, "bands", index)
            item = self.mapping(raw, bpath, {"from", "label"})
            start = self.number(item, bpath, "from", required=True)
            label = self.text(item, bpath, "label")
            if start is None:
                continue
            if bands and start <= bands[-1].start:
                self.problem((*bpath, "from"), "bands must go up: each 'from' above the one before")
            bands.append(Band(start, label))
        return tuple(bands)

    def read_flags(self, raw_flags, symbols, seen) -> list[Flag]:
        flags = []
        for index, raw in enumerate(raw_flags):
            path = ("flags", index)
            block = self.mapping(raw, path, _FLAG_FIELDS)
            if not block:
                continue
            fid = self.identifier(block, path, seen, "flag")
            label = self.text(block, path, "label")
            severity = self.choice(block, path, "severity", Severity)
            action = self.text(block, path, "action", required=False) or None
            if severity is Severity.IMMEDIATE and not action:
                self.problem((*path, "action"), "an immediate-risk flag must say the action to take now")
            when = None
            if "when" not in block:
                self.problem((*path, "when"), "'when' is required")
            else:
                when = self.compile(block["when"], (*path, "when"), symbols, Kind.BOOL)
                if when and fid in when.names:
                    self.problem((*path, "when"), "a flag cannot depend on itself")
            if when is not None and severity is not None and fid:
                flags.append(Flag(fid, label, severity, when, action))
        return flags

    def read_outcomes(self, top, symbols, needs_default: bool = True) -> list[OutcomeRule]:
        rules: list[OutcomeRule] = []
        ids: dict[str, tuple] = {}
        raw_rules = self.list_of(top, "outcomes")
        default_at = None
        for index, raw in enumerate(raw_rules):
            path = ("outcomes", index)
            block = self.mapping(raw, path, _OUTCOME_FIELDS)
            if not block:
                continue
            rid = self.identifier(block, path, ids, "outcome rule")
            is_default = block.get("default") is True
            if default_at is not None:
                self.problem(path, f"this rule can never be reached: the default rule "
                             f"'{raw_rules[default_at].get('id')}' comes before it")
            when = None
            if is_default:
                default_at = index
                if "when" in block:
                    self.problem((*path, "when"), "the default rule applies when no other does; "
                                 "remove its 'when'")
            elif "when" not in block:
                self.problem(path, "a rule needs 'when', or 'default: yes' if it is the last resort")
            else:
                when = self.compile(block["when"], (*path, "when"), symbols, Kind.BOOL)
            route = self.choice(block, path, "route", Route)
            urgency = self.choice(block, path, "urgency", Urgency)
            thrive = self.choice(block, path, "thrive", Thrive)
            because = self.text(block, path, "because")
            respond = self.hours(block, path, "respond_within", required=True)
            contact = self.hours(block, path, "contact_within", required=False)
            if urgency is not None and respond is not None and respond > self.response_ceiling(urgency):
                self.problem((*path, "respond_within"), self.too_long(urgency, respond))
            if urgency is not None and contact is not None and contact > self.response_ceiling(urgency):
                self.problem((*path, "contact_within"), self.too_long(urgency, contact))
            self.check_mhsds(block, path, urgency)
            if contact is not None and respond is not None and contact > respond:
                self.problem((*path, "contact_within"),
                             "'contact_within' cannot be later than 'respond_within'")
            complete = None not in (route, urgency, thrive, respond) and rid and (is_default or when)
            if complete:
                rules.append(OutcomeRule(rid, route, urgency, respond, thrive, because, when, contact))
        if raw_rules and default_at is None and needs_default:
            self.problem(("outcomes",), "the module has no default outcome: every call must end in one, "
                         "so add a last rule with 'default: yes'")
        return rules

    def too_long(self, urgency: Urgency, hours: int) -> str:
        ceiling = self.response_ceiling(urgency)
        said = (f"{urgency.band.word} (scale code {self.seventy_two_hour_code}) means within "
                f"{hours_in_words(ceiling)}" if ceiling != urgency.longest_response_hours
                else f"{urgency.in_words()}, by the published standards")
        hint = ("" if urgency is not Urgency.URGENT or self.seventy_two_hour_code else
                "; a scale with a 72-hour code names it in scale: seventy_two_hour_code")
        return f"{hours} hours is too long for '{urgency}': {said}{hint}"

    def check_mhsds(self, block, path, urgency: Urgency | None) -> None:
        """A rule may state its MHSDS clinical response priority; it must be its urgency's."""
        if "mhsds_priority" not in block or urgency is None:
            return
        stated = block["mhsds_priority"]
        if stated != urgency.mhsds_priority:
            self.problem((*path, "mhsds_priority"),
                         f"MHSDS priority {stated!r} contradicts '{urgency}', whose code is "
                         f"{urgency.mhsds_priority} (1 emergency, 4 very urgent, 2 urgent, 3 routine)")

    def hours(self, block, path, key, required: bool) -> int | None:
        value = self.number(block, path, key, required=required)
        if value is None:
            return None
        if value != int(value) or value <= 0:
            self.problem((*path, key), f"'{key}' is a whole number of hours above 0")
            return None
        return int(value)
