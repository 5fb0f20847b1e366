"""A triage session: answers in, visible questions, flags, scores and one outcome out.

Pure: it knows nothing of the store, the UI or letters. Every change of an answer
re-evaluates skip logic, value checks, scores, flags and the outcome at once, and
answers to questions that became hidden are dropped, so what is kept is exactly what
the practitioner saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from spoa.model import (
    Evidence,
    ModuleRef,
    Outcome,
    RaisedFlag,
    ScoreResult,
    SessionContext,
)
from spoa.rules.condition_types import TODAY_KEY
from spoa.rules.errors import AnswerError, AnswersRejected
from spoa.rules.module import RuleModule
from spoa.rules.questions import Question, QuestionType


@dataclass(frozen=True)
class ValidationMessage:
    question_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.question_id}: {self.message}"


@dataclass(frozen=True)
class SectionProgress:
    section_id: str
    title: str
    answered: int
    shown: int
    missing_required: int


class TriageSession:
    def __init__(
        self,
        module: RuleModule,
        context: SessionContext | None = None,
        answers: Mapping[str, object] | None = None,
    ):
        self.module = module
        self.context = context or SessionContext()
        self._answers: dict[str, object] = {}
        self._visible: dict[str, bool] = {}
        self._env: dict[str, object] = {}
        self._evaluate()
        if answers:
            self.answer_many(answers)

    # -- giving answers ------------------------------------------------------------

    def answer(self, question_id: str, value: object) -> None:
        """Record one answer (None clears it). Raises AnswerError and changes nothing if wrong."""
        question = self._question(question_id)
        stored = question.coerce(value)
        if stored is None:
            self._answers.pop(question_id, None)
        else:
            if not self._visible.get(question_id, False):
                raise AnswerError(question_id, "this question is not asked with the answers so far")
            self._answers[question_id] = stored
        self._evaluate()

    def clear(self, question_id: str) -> None:
        self.answer(question_id, None)

    def answer_many(self, answers: Mapping[str, object]) -> list[str]:
        """Record several answers together: all of them, or (on any error) none.

        Returns the ids of answers that were dropped because, with all the answers
        given, their question is not asked.
        """
        errors: list[AnswerError] = []
        coerced: dict[str, object] = {}
        for question_id, raw in answers.items():
            try:
                coerced[question_id] = self._question(str(question_id)).coerce(raw)
            except AnswerError as exc:
                errors.append(exc)
        if errors:
            raise AnswersRejected(errors)
        for question_id, value in coerced.items():
            if value is None:
                self._answers.pop(question_id, None)
            else:
                self._answers[question_id] = value
        self._evaluate()
        return [q for q, v in coerced.items() if v is not None and q not in self._answers]

    def _question(self, question_id: str) -> Question:
        question = self.module.questions.get(question_id)
        if question is None:
            raise AnswerError(question_id, f"module '{self.module.id}' has no question with this id")
        return question

    # -- what the practitioner sees ------------------------------------------------------

    @property
    def answers(self) -> dict[str, object]:
        """The answers kept: only those to questions that are shown."""
        return dict(self._answers)

    def is_visible(self, question_id: str) -> bool:
        return self._visible.get(question_id, False)

    @property
    def visible_questions(self) -> list[Question]:
        return [
            q for section in self.module.sections for q in section.questions if self._visible[q.id]
        ]

    @property
    def missing_required(self) -> list[Question]:
        return [q for q in self.visible_questions if q.required and q.id not in self._answers]

    @property
    def validation_messages(self) -> list[ValidationMessage]:
        return list(self._messages)

    @property
    def is_complete(self) -> bool:
        return not self.missing_required and not self._messages

    @property
    def flags(self) -> tuple[RaisedFlag, ...]:
        return self._flags

    @property
    def scores(self) -> tuple[ScoreResult, ...]:
        return self._scores

    @property
    def outcome(self) -> Outcome:
        """The recommended outcome now; ``outcome.complete`` says if it is final."""
        return self._outcome

    def section_progress(self) -> list[SectionProgress]:
        progress = []
        for section in self.module.sections:
            shown = [q for q in section.questions if self._visible[q.id]]
            if not shown:
                continue
            progress.append(SectionProgress(
                section.id, section.title,
                answered=sum(1 for q in shown if q.id in self._answers),
                shown=len(shown),
                missing_required=sum(1 for q in shown if q.required and q.id not in self._answers),
            ))
        return progress

    def display_answer(self, question_id: str) -> str:
        return self._question(question_id).display(self._answers.get(question_id))

    # -- evaluation ------------------------------------------------------------------

    def _evaluate(self) -> None:
        module = self.module
        env: dict[str, object] = {
            TODAY_KEY: self.context.today,
            "child_age": self.context.child_age,
            "referrer": self.context.referrer.value if self.context.referrer else None,
        }
        sections = {s.id: s for s in module.sections}
        visible: dict[str, bool] = {}
        for question_id in module.visibility_order:
            question = module.questions[question_id]
            section = sections[question.section_id]
            shown = (section.show_if is None or bool(section.show_if.evaluate(env))) and (
                question.show_if is None or bool(question.show_if.evaluate(env))
            )
            visible[question_id] = shown
            if shown:
                env[question_id] = question.counted(self._answers.get(question_id))
            else:
                env[question_id] = None
                self._answers.pop(question_id, None)
        self._visible = visible

        messages = []
        for question_id, value in self._answers.items():
            question = module.questions[question_id]
            if not question.checks:
                continue
            scoped = {**env, "value": question.counted(value)}
            messages.extend(
                ValidationMessage(question_id, check.message)
                for check in question.checks
                if not check.rule.evaluate(scoped) and _can_judge(check.rule.names, scoped)
            )
        self._messages = messages

        scores_by_id = {s.id: s for s in module.scores}
        for score_id in module.score_order:
            env[score_id] = self._score_value(scores_by_id[score_id], env)
        self._scores = tuple(
            ScoreResult(s.id, s.label, env[s.id], s.band(env[s.id])) for s in module.scores
        )

        flags_by_id = {f.id: f for f in module.flags}
        for flag_id in module.flag_order:
            env[flag_id] = bool(flags_by_id[flag_id].when.evaluate(env))
        raised = [
            RaisedFlag(f.id, f.label, f.severity, f.action, self._evidence(f.when.explain(env), env))
            for f in module.flags
            if env[f.id]
        ]
        raised.sort(key=lambda f: -f.severity.rank)
        self._flags = tuple(raised)
        self._env = env

        chosen = next(r for r in module.outcomes if r.when is None or r.when.evaluate(env))
        self._outcome = Outcome(
            rule_id=chosen.id,
            route=chosen.route,
            urgency=chosen.urgency,
            respond_within_hours=chosen.respond_within,
            contact_within_hours=chosen.contact_within,
            thrive=chosen.thrive,
            because=chosen.because,
            module=ModuleRef(module.id, module.version, module.content_hash),
            complete=self.is_complete,
            flags=self._flags,
            scores=self._scores,
            rested_on=self._evidence(chosen.when.explain(env) if chosen.when else (), env),
            not_yet_asked=tuple(q.text for q in self.missing_required),
        )

    def _score_value(self, score, env) -> float | None:
        if score.formula is not None:
            return score.formula.evaluate(env)
        total = 0.0
        counted = False
        for question_id in score.parts:
            value = env.get(question_id)
            if value is None:
                continue
            counted = True
            question = self.module.questions[question_id]
            if question.type is QuestionType.YES_NO:
                total += question.weight if value else 0
            elif question.type is QuestionType.SINGLE:
                total += question.option(value).weight or 0
            elif question.type is QuestionType.MULTI:
                total += sum(question.option(v).weight or 0 for v in value)
            else:
                total += value
        return total if counted else None

    def _evidence(self, names: tuple[str, ...], env: Mapping[str, object]) -> tuple[Evidence, ...]:
        """What a condition read, as a person would say it; unanswered questions are left out."""
        module = self.module
        evidence = []
        for name in names:
            value = env.get(name)
            if name in module.questions:
                question = module.questions[name]
                given = self._answers.get(name)
                if given is None:
                    continue
                shown = question.display(given)
                if question.counted(given) != given:
                    shown += f" (counted as {question.display(question.counted(given)).lower()} until known)"
            elif isinstance(value, bool):
                shown = "raised" if value else "not raised"
            elif value is None:
                continue
            elif isinstance(value, int | float):
                shown = f"{value:g}"
            else:
                shown = str(value).replace("_", " ")
            evidence.append(Evidence(name, module.label_of(name), shown))
        return tuple(evidence)


def _can_judge(names: tuple[str, ...], env: Mapping[str, object]) -> bool:
    """A value check that reads something still unknown (another answer, the child's age)
    cannot say the answer is wrong yet, so it does not block the call."""
    return all(env.get(name) is not None for name in names)
