"""Advice before referral: a GP, school nurse or other professional asks the hub's
specialists a question about a child; a specialist answers; the request becomes a
referral only where the requester authorised that (as in NHS e-RS Advice & Guidance).

The requester is the referrer of an advice contact (``contacts.kind = 'advice'``). A
request keeps the question, the context, what has been tried, how soon the advice is
needed and whether conversion into a referral is authorised; optionally the answers to
the ``professional_advice`` triage module, kept as a triage session through
:func:`spoa.desk.save_triage` (the request's own fields are copied into those answers,
so the two never disagree).

Who may do what:

- practitioners (and supervisors) record requests and convert authorised ones into a
  draft referral, which a supervisor approves like any other;
- the specialist's advice is recorded by a **supervisor**. The advice is a clinical
  answer that leaves the hub as a letter, and the advice letter prints whoever recorded
  it as the one who approved it; the hub's rule is that nothing leaves without a
  supervisor, so only a role that may approve may give it.

Every operation checks the role and writes the audit entry (action, record type, id;
never the text) in the same transaction as its work, as spoa.desk does; a refusal by role
is audited as denied. Text is stored NFC-normalised and trimmed; NUL characters, lone
surrogates and text over the limit are refused with an InvalidField naming the field.

The parts: what a request is (spoa.advice.request), checking one (checks), reading
(reading), recording requests, advice and authorisations (recording) and conversion into a
referral (conversion). The names in ``__all__`` are re-exported for callers.
"""

from spoa.advice.checks import check_request, check_requester
from spoa.advice.conversion import conversion_choices, convert
from spoa.advice.reading import get_request, letters_of_request, list_requests, view_request
from spoa.advice.recording import advice_letter, authorise_conversion, record_request, respond
from spoa.advice.request import (
    ADVICE_MODULE_ID,
    HOW_SOON,
    RECORD_TYPE,
    REQUESTER_TYPES,
    AdviceDraft,
    AdviceLetter,
    AdviceRecorded,
    AdviceRefused,
    AdviceRequest,
    AdviceState,
    AdviceView,
    Conversion,
    ConversionChoices,
)

__all__ = [
    "ADVICE_MODULE_ID", "HOW_SOON", "RECORD_TYPE", "REQUESTER_TYPES", "AdviceDraft", "AdviceLetter",
    "AdviceRecorded", "AdviceRefused", "AdviceRequest", "AdviceState", "AdviceView", "Conversion",
    "ConversionChoices", "advice_letter", "authorise_conversion", "check_request", "check_requester",
    "conversion_choices", "convert", "get_request", "letters_of_request", "list_requests", "record_request",
    "respond", "view_request",
]
