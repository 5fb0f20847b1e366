"""Children, contacts and triage sessions: written whole, read back as dataclasses, changed
only with history (old -> new, who, when, why).

This module is a facade: it holds no code of its own and re-exports (see ``__all__``) what
callers across the app import from ``spoa.store.records``. Each concept lives in its own module:

- :mod:`spoa.store.fields`: the limits, the record errors, and cleaning what comes in;
- :mod:`spoa.store.changes`: write transactions, ids, timestamps and field history;
- :mod:`spoa.store.children`: children on record;
- :mod:`spoa.store.contacts`: contacts and their deadlines;
- :mod:`spoa.store.contact_lists`: contact summaries for work lists and search, and paging;
- :mod:`spoa.store.triage_records`: stored triage sessions and the outcome decision.

They are plain functions over a store's database. They know nothing of roles or the audit trail
(spoa.desk checks and records those, inside the same transaction) and nothing of rules:
an outcome arrives as the dict ``Outcome.as_dict()`` makes.
"""

from __future__ import annotations

from spoa.store.changes import HistoryEntry, history, transaction
from spoa.store.children import (
    CARER_FIELDS,
    Carer,
    Child,
    ChildDraft,
    age_on,
    child_row,
    clean_carer_field,
    create_child,
    get_child,
    update_child,
)
from spoa.store.contact_lists import (
    ContactSummary,
    PageKey,
    contact_keys_newest_first,
    contact_summaries,
    count_contacts,
    list_contacts,
)
from spoa.store.contacts import (
    CONTACT_KINDS,
    CONTACT_STATUSES,
    Contact,
    ContactDraft,
    contact_row,
    contacts_of_child,
    create_contact,
    deadlines,
    get_contact,
    update_contact,
)
from spoa.store.fields import (
    EARLIEST_BIRTH_YEAR,
    FREE_TEXT_LIMIT,
    JSON_DEPTH,
    JSON_LIMIT,
    LINE_LIMIT,
    NAME_LIMIT,
    DecisionRefused,
    InvalidField,
    RecordError,
    RecordNotFound,
    clean_date,
    clean_instant,
    clean_json,
    clean_reason,
    clean_text,
)
from spoa.store.triage_records import (
    CONFIRMED,
    OVERRIDDEN,
    TriageRecord,
    confirm_outcome,
    create_triage_session,
    get_triage_session,
    override_outcome,
    save_triage_answers,
    triage_sessions_of,
)

__all__ = [
    "CARER_FIELDS",
    "CONFIRMED",
    "CONTACT_KINDS",
    "CONTACT_STATUSES",
    "EARLIEST_BIRTH_YEAR",
    "FREE_TEXT_LIMIT",
    "JSON_DEPTH",
    "JSON_LIMIT",
    "LINE_LIMIT",
    "NAME_LIMIT",
    "OVERRIDDEN",
    "Carer",
    "Child",
    "ChildDraft",
    "Contact",
    "ContactDraft",
    "ContactSummary",
    "DecisionRefused",
    "HistoryEntry",
    "InvalidField",
    "PageKey",
    "RecordError",
    "RecordNotFound",
    "TriageRecord",
    "age_on",
    "child_row",
    "clean_carer_field",
    "clean_date",
    "clean_instant",
    "clean_json",
    "clean_reason",
    "clean_text",
    "confirm_outcome",
    "contact_keys_newest_first",
    "contact_row",
    "contact_summaries",
    "contacts_of_child",
    "count_contacts",
    "create_child",
    "create_contact",
    "create_triage_session",
    "deadlines",
    "get_child",
    "get_contact",
    "get_triage_session",
    "history",
    "list_contacts",
    "override_outcome",
    "save_triage_answers",
    "transaction",
    "triage_sessions_of",
    "update_child",
    "update_contact",
]
