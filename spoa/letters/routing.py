"""Routing: which services in the directory can take a confirmed outcome, best first.

A service is offered only when it is active, of the outcome's kind, takes the child's age
and accepts the outcome's urgency; nothing else is ever offered, and an unknown age matches
nothing. Among those, a service that names the child's school comes first, then one that
covers the child's postcode district, then one that covers the whole area (it lists neither
districts nor schools). When nothing matches, ``explain_no_match`` says why in words, so
the practitioner can choose a service by hand; a referral is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database

from spoa import nhs
from spoa.letters.directory import Service, load_services, school_key
from spoa.model import Route, Urgency
from spoa.store.records import InvalidField


class RoutingInputError(ValueError):
    """The route, urgency, age, postcode or school given cannot be used; says which."""


class MatchBasis(StrEnum):
    """Why a service covers the child, best first."""

    SCHOOL = "school"
    POSTCODE_DISTRICT = "postcode_district"
    AREA_WIDE = "area_wide"

    @property
    def rank(self) -> int:
        return list(MatchBasis).index(self)


@dataclass(frozen=True)
class ServiceMatch:
    service: Service
    basis: MatchBasis
    reasons: tuple[str, ...]  # every reason it matched, in words


@dataclass(frozen=True)
class _Request:
    route: Route
    urgency: Urgency
    age: int | None
    district: str | None
    school: str
    school_key: str


def _request(route: Route | str, urgency: Urgency | str, child_age: int | None,
             postcode: str | None, school: str | None) -> _Request:
    try:
        route = Route(route)
    except ValueError:
        raise RoutingInputError(f"route must be one of {', '.join(r.value for r in Route)}") from None
    try:
        urgency = Urgency(urgency)
    except ValueError:
        raise RoutingInputError(f"urgency must be one of {', '.join(u.value for u in Urgency)}") from None
    if child_age is not None and (isinstance(child_age, bool) or not isinstance(child_age, int)
                                  or not 0 <= child_age <= 150):
        raise RoutingInputError("the child's age must be a whole number of years")
    district = None
    if postcode and postcode.strip():
        try:
            district = nhs.postcode_district(postcode)
        except nhs.PostcodeError as exc:
            raise RoutingInputError(f"postcode: {exc}") from None
    try:
        key = school_key(school or "")
    except InvalidField as exc:
        raise RoutingInputError(f"school: {exc.problem}") from None
    return _Request(route, urgency, child_age, district, " ".join((school or "").split()), key)


def _coverage(service: Service, request: _Request) -> tuple[MatchBasis, list[str]] | None:
    """How the service covers the child, with the reasons; None if it does not."""
    reasons: list[str] = []
    basis = None
    if request.school_key:
        named = next((s for s in service.schools if school_key(s) == request.school_key), None)
        if named is not None:
            basis = MatchBasis.SCHOOL
            reasons.append(f"covers the child's school, {named}")
    if request.district and request.district in service.postcode_districts:
        basis = basis or MatchBasis.POSTCODE_DISTRICT
        reasons.append(f"covers postcode district {request.district}")
    if basis is None and service.area_wide:
        basis = MatchBasis.AREA_WIDE
        reasons.append("covers the whole area (it lists no districts or schools)")
    return (basis, reasons) if basis is not None else None


def match_services(db: Database, *, route: Route | str, urgency: Urgency | str, child_age: int | None,
                   postcode: str | None = None, school: str | None = None) -> list[ServiceMatch]:
    """The active services of the route's kind that take the child's age and the urgency and
    cover the child (school > postcode district > area-wide), best first; each with its
    reasons. Advice matches no service: it goes back to the requester. An empty list means no
    match: ``explain_no_match`` with the same arguments says why."""
    request = _request(route, urgency, child_age, postcode, school)
    if request.route is Route.ADVICE or request.age is None:
        return []
    matches = []
    for service in load_services(db, kind=request.route, active_only=True):
        covered = _coverage(service, request)
        if covered is None or not (service.takes_age(request.age)
                                   and service.takes_urgency(request.urgency)):
            continue
        basis, reasons = covered
        reasons.append(f"takes ages {service.ages} (the child is {request.age})")
        reasons.append(f"accepts {request.urgency.label.lower()} referrals")
        matches.append(ServiceMatch(service, basis, tuple(reasons)))
    matches.sort(key=lambda m: (m.basis.rank, m.service.name.casefold(), m.service.id))
    return matches


def explain_no_match(db: Database, *, route: Route | str, urgency: Urgency | str, child_age: int | None,
                     postcode: str | None = None, school: str | None = None) -> str:
    """Why no service matches, in words: a first line that sums it up, then one line per
    service that came close, then what to do."""
    request = _request(route, urgency, child_age, postcode, school)
    kind = _kind_words(request.route)
    urgency_words = request.urgency.label.lower()
    if request.route is Route.ADVICE:
        return ("Advice goes back to the professional who asked for it; no service is matched "
                "for an advice outcome.")
    if request.age is None:
        return (f"The child's age is not known, so no {kind} service can be matched: a service is "
                "offered only when it is known to take the child's age. Record the date of birth, "
                "or choose a service by hand and record why.")
    matches = match_services(db, route=request.route, urgency=request.urgency, child_age=request.age,
                             postcode=postcode, school=school)
    if matches:
        count = len(matches)
        return f"{_count(count, f'{kind} service')} {_verb(count, 'match')}; nothing to explain."
    every = load_services(db, kind=request.route)
    active = [s for s in every if s.active]
    where, thing = _where(request)
    covering = [s for s in active if _coverage(s, request) is not None]
    age = request.age
    details: list[str] = []
    if not every:
        summary = f"The directory has no {kind} service."
    elif not active:
        summary = f"Every {kind} service in the directory ({len(every)}) is marked inactive."
    elif not covering:
        summary = f"No {kind} service covers {where}, and no {kind} service covers the whole area."
        elsewhere = [s for s in active if s.takes_age(age) and s.takes_urgency(request.urgency)]
        if elsewhere:
            n = len(elsewhere)
            details.append(f"{_count(n, f'{kind} service')} {_verb(n, 'take')} age {age} and "
                           f"{urgency_words} referrals but {_verb(n, 'cover')} other places:")
            details.extend(f"{_named(s)}: covers {_covers(s)}" for s in elsewhere)
    else:
        taking_age = [s for s in covering if s.takes_age(age)]
        if not taking_age:
            summary = (f"No {kind} service covers {where} for age {age}; "
                       f"{_count(len(covering), 'service')} {_verb(len(covering), 'cover')} {thing} "
                       "but not the age.")
        else:
            summary = (f"No {kind} service that covers {where} and takes age {age} accepts "
                       f"{urgency_words} referrals; {_count(len(taking_age), 'service')} "
                       f"{_verb(len(taking_age), 'cover')} {thing} and {_verb(len(taking_age), 'take')} "
                       "the age but not that urgency.")
        for service in covering:
            if not service.takes_age(age):
                details.append(f"{_named(service)}: takes ages {service.ages}, not {age}")
            else:
                accepted = ", ".join(u.label.lower() for u in service.urgencies)
                details.append(f"{_named(service)}: does not accept {urgency_words} referrals "
                               f"(it accepts {accepted})")
    for service in every:
        if (not service.active and _coverage(service, request) is not None
                and service.takes_age(age) and service.takes_urgency(request.urgency)):
            details.append(f"{_named(service)} would match but is marked inactive")
    lines = [summary, *(f"- {line}" for line in details)]
    lines.append("Choose a service by hand and record why, or go back to the person who referred.")
    return "\n".join(lines)


def _kind_words(route: Route) -> str:
    return route.label if route is Route.CAMHS else route.label.lower()


def _where(request: _Request) -> tuple[str, str]:
    """The child's place as said in a sentence, and how to refer back to it."""
    school = f"the child's school ({request.school})" if request.school_key else ""
    district = f"postcode district {request.district}" if request.district else ""
    if school and district:
        return f"{school} or {district}", "the school or the district"
    if school:
        return school, "the school"
    if district:
        return district, "the district"
    return "the child's area (no postcode or school was given)", "the area"


def _covers(service: Service) -> str:
    parts = []
    if service.postcode_districts:
        parts.append("districts " + ", ".join(service.postcode_districts))
    if service.schools:
        parts.append("schools " + ", ".join(service.schools))
    return "; ".join(parts) or "the whole area"


def _named(service: Service) -> str:
    return f"{service.name} ({service.id})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _verb(n: int, verb: str) -> str:
    """'cover' for many, 'covers' for one."""
    if n != 1:
        return verb
    return verb + ("es" if verb.endswith(("ch", "sh", "s", "x")) else "s")
