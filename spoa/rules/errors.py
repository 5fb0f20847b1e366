"""Errors in rule modules and answers, worded for the clinical author or the practitioner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModuleProblem:
    """One thing wrong with a rule module: where it is and what to do about it."""

    module: str
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}: [{self.module}]{field} {self.message}"


class ModuleError(Exception):
    """A rule module could not be loaded; carries every problem found."""

    def __init__(self, problems: list[ModuleProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class AnswerError(ValueError):
    """An answer that the question cannot take. Names the question, never echoes free text."""

    def __init__(self, question_id: str, message: str):
        self.question_id = question_id
        self.message = message
        super().__init__(f"{question_id}: {message}")


class AnswersRejected(ValueError):
    """A set of answers given together, refused as a whole so nothing is half-applied."""

    def __init__(self, errors: list[AnswerError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
