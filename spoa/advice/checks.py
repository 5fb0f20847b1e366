"""Checking an advice request before anything is stored: its fields, the requester, and the
professional_advice module answers with the request's own fields copied in; and the role check
every advice operation makes.
"""

from __future__ import annotations

from collections.abc import Mapping

from spoa.advice.request import (
    ADVICE_MODULE_ID,
    HOW_SOON,
    RECORD_TYPE,
    REQUESTER_TYPES,
    AdviceDraft,
    AdviceRefused,
)
from spoa.letters.referrals import check_allowed
from spoa.model import ReferrerType
from spoa.roles import Permission
from spoa.rules.module import RuleModule
from spoa.rules.session import TriageSession
from spoa.store.records import (
    FREE_TEXT_LIMIT,
    InvalidField,
    clean_text,
)
from spoa.store.store import Store

# Which module questions the request's own fields answer.
_FIELD_QUESTIONS = {"question": "specialist_question", "context": "background",
                    "how_soon": "advice_needed_by", "conversion_authorised": "conversion_authorised"}
_YES, _NO = ("yes", "y", "true"), ("no", "n", "false")


def check_role(store: Store, permission: Permission, action: str, record_id: str = "", *,
               doing: str | None = None) -> None:
    check_allowed(store, permission, action, RECORD_TYPE, record_id, doing=doing)


def free_text(value: object, field_name: str, *, required: bool = False) -> str:
    return clean_text(value, field_name, limit=FREE_TEXT_LIMIT, required=required, single_line=False)


def _how_soon(value: object) -> str:
    text = clean_text(value, "how_soon", limit=40, required=True)
    if text not in HOW_SOON:
        raise InvalidField("how_soon", "must be one of: " + ", ".join(HOW_SOON))
    return text


def _yes_no(value: object, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES + _NO:
        return value.strip().lower() in _YES
    raise InvalidField(field_name, "must be yes or no")


def request_fields(draft: AdviceDraft, answers: Mapping | None) -> dict:
    """The checked columns of a request; missing fields come from the module answers."""
    given = answers or {}
    question = draft.question if _said(draft.question) else given.get("specialist_question", "")
    context = draft.context if _said(draft.context) else given.get("background", "")
    how_soon = draft.how_soon if draft.how_soon is not None else given.get("advice_needed_by", "routine")
    authorised = (draft.conversion_authorised if draft.conversion_authorised is not None
                  else given.get("conversion_authorised", False))
    return {
        "question": free_text(question, "question", required=True),
        "context": free_text(context, "context"),
        "tried": free_text(draft.tried, "tried"),
        "how_soon": _how_soon(how_soon),
        "conversion_authorised": _yes_no(authorised, "conversion_authorised"),
    }


def _said(value: object) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip()))


def check_request(draft: AdviceDraft, *, answers: Mapping[str, object] | None = None,
                  module: RuleModule | None = None) -> dict | None:
    """Check a request before anything is stored (for forms and files): raises InvalidField
    naming the field, or the rule engine's AnswersRejected; returns the module answers with
    the request's own fields copied in (None without answers)."""
    if answers is not None and not isinstance(answers, Mapping):
        raise InvalidField("answers", "must map question ids to answers")
    fields = request_fields(draft, answers)
    if answers is None:
        return None
    chosen = advice_module(module)
    merged = merged_answers(chosen, answers, fields)
    TriageSession(chosen).answer_many(merged)
    return merged


def merged_answers(module: RuleModule, answers: Mapping, fields: dict, *,
                    request_wins: bool = False) -> dict:
    """The module answers with the request's own fields copied in; an answer given that
    says something else is refused (the request and its session must not disagree), or
    with ``request_wins`` replaced (answers kept from an earlier session, when the request
    has changed since, e.g. conversion authorised later)."""
    merged = {str(k): v for k, v in answers.items()}
    for name, question_id in _FIELD_QUESTIONS.items():
        if question_id not in module.questions:
            continue
        value = fields[name]
        if name == "context" and not value:
            continue
        if question_id in merged and not request_wins:
            typed = merged[question_id]
            same = (_yes_no(typed, f"answers.{question_id}") == value if isinstance(value, bool)
                    else isinstance(typed, str) and clean_text(typed, f"answers.{question_id}",
                                                               limit=FREE_TEXT_LIMIT,
                                                               single_line=False) == value)
            if not same:
                raise InvalidField(f"answers.{question_id}",
                                   f"says something else than the request's {name}; leave it out "
                                   "(the request's own field is copied in)")
        else:
            merged[question_id] = ("yes" if value else "no") if isinstance(value, bool) else value
    return merged


def advice_module(module: RuleModule | None) -> RuleModule:
    if module is not None:
        return module
    from spoa.rules.catalog import discover

    found = discover().get(ADVICE_MODULE_ID)
    if found is None:
        raise AdviceRefused(f"The rule module '{ADVICE_MODULE_ID}' is not installed (or is broken) on this "
                            "desk, so the request's triage answers cannot be evaluated. "
                            "'spoa rules list' shows the modules.")
    return found


def check_requester(referrer_type: ReferrerType | str) -> None:
    """An advice request comes from a GP, a school nurse or another professional."""
    try:
        kind = ReferrerType(referrer_type)
    except ValueError:
        kind = None
    if kind not in REQUESTER_TYPES:
        raise InvalidField("referrer_type", "an advice request comes from a professional: one of "
                                            + ", ".join(r.value for r in REQUESTER_TYPES))
