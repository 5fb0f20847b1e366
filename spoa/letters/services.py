"""A service in the directory: what it holds (one column each), the kinds of service referrals
go to, and the errors the directory raises (a bad row is named by a RowProblem).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spoa.model import Route, Urgency

LIST_SEPARATOR = ";"

COLUMNS = ("id", "kind", "name", "team", "address", "secure_email", "phone", "age_min", "age_max",
           "postcode_districts", "schools", "urgencies", "opening_notes", "active")
REQUIRED_COLUMNS = ("id", "kind", "name", "age_min", "age_max", "urgencies")
SERVICE_KINDS = (Route.CAMHS, Route.SCHOOL_NURSING, Route.VOLUNTARY_SECTOR)
RECORD_TYPE = "service"


@dataclass(frozen=True)
class Service:
    """One service that takes referrals. Ages are whole years, both ends included."""

    id: str
    kind: Route
    name: str
    team: str = ""
    address: str = ""
    secure_email: str = ""
    phone: str = ""
    age_min: int = 0
    age_max: int = 25
    postcode_districts: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    urgencies: tuple[Urgency, ...] = ()
    opening_notes: str = ""
    active: bool = True

    @property
    def area_wide(self) -> bool:
        """Lists no districts and no schools: it covers the whole area."""
        return not self.postcode_districts and not self.schools

    @property
    def ages(self) -> str:
        return f"{self.age_min} to {self.age_max}"

    def takes_age(self, age: int) -> bool:
        return self.age_min <= age <= self.age_max

    def takes_urgency(self, urgency: Urgency) -> bool:
        return urgency in self.urgencies


class DirectoryError(ValueError):
    """The directory cannot be read or changed as asked; the message is for people."""


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row; ``column`` is empty when it is the row as a whole."""

    line: int
    reason: str
    column: str = ""

    def __str__(self) -> str:
        return f"{self.column}: {self.reason}" if self.column else self.reason


class ServiceRejected(DirectoryError):
    """A service given as values is not valid; ``problems`` names each field and what is wrong."""

    def __init__(self, problems: Sequence[RowProblem]):
        self.problems = tuple(problems)
        super().__init__("The service was not saved: " + "; ".join(str(p) for p in self.problems) + ".")
