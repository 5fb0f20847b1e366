"""Form drafts in the core: what a person typed when the desk locked is kept for them alone,
given back once, refused for roles that may not create contacts, limited to known forms and
fields, and never kept beyond 7 days."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoa import drafts
from spoa.drafts import ADVICE_REQUEST, CALL_DETAILS, FORM_FIELDS
from spoa.roles import NotAllowed
from spoa.store.fields import FREE_TEXT_LIMIT, InvalidField
from spoa.store.store import Store
from tests.conftest import PRACTITIONER_PASSWORD

TYPED = {"given_name": "Zoë", "family_name": "Draftchild", "question": "Is this anxiety?\nSince May.",
         "referrer_type": "gp", "conversion_authorised": "yes"}


@pytest.fixture
def world(desk_world):
    """The module's store with nobody holding a draft."""
    for name in ("pat", "sam", "admin"):
        store = desk_world[name]
        store.db.execute("DELETE FROM form_drafts WHERE username = ?", [name])
        store.db.conn.commit()
    return desk_world


def audit_of(store, action: str | None = None) -> list[tuple]:
    """The store's audit entries about form drafts, oldest first: (action, type, id, outcome)."""
    rows = store.db.execute("SELECT action, record_type, record_id, outcome FROM audit "
                            "WHERE record_type = ? ORDER BY seq", [drafts.RECORD_TYPE]).fetchall()
    return [tuple(row) for row in rows if action is None or row[0] == action]


def test_a_draft_is_given_back_once_to_the_person_who_typed_it(world):
    pat = world["pat"]
    assert drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED) is True
    assert drafts.has_form_draft(pat, ADVICE_REQUEST)
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) == TYPED
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) is None
    assert not drafts.has_form_draft(pat, ADVICE_REQUEST)


def test_saving_again_replaces_the_draft_and_kinds_are_kept_apart(world):
    pat = world["pat"]
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED)
    drafts.save_form_draft(pat, ADVICE_REQUEST, {"given_name": "Yusuf"})
    drafts.save_form_draft(pat, CALL_DETAILS, {"family_name": "Callchild", "module_id": "camhs_general"})
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) == {"given_name": "Yusuf"}
    assert drafts.take_form_draft(pat, CALL_DETAILS) == {"family_name": "Callchild",
                                                         "module_id": "camhs_general"}


def test_text_is_cleaned_and_empty_fields_are_not_kept(world):
    pat = world["pat"]
    decomposed = unicodedata.normalize("NFD", "Zoë")
    drafts.save_form_draft(pat, ADVICE_REQUEST, {"given_name": f"  {decomposed}\t", "school": "   ",
                                                 "context": ""})
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) == {"given_name": "Zoë"}
    # A form with nothing typed keeps nothing, and drops what was kept before.
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED)
    assert drafts.save_form_draft(pat, ADVICE_REQUEST, {"given_name": " "}) is False
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) is None


def test_a_draft_is_never_given_to_another_user(world):
    pat, sam = world["pat"], world["sam"]
    drafts.save_form_draft(pat, CALL_DETAILS, {"given_name": "Robin"})
    assert drafts.take_form_draft(sam, CALL_DETAILS) is None
    assert not drafts.has_form_draft(sam, CALL_DETAILS)
    assert drafts.discard_form_draft(sam, CALL_DETAILS) is False
    drafts.save_form_draft(sam, CALL_DETAILS, {"given_name": "Samsown"})
    assert drafts.take_form_draft(pat, CALL_DETAILS) == {"given_name": "Robin"}
    assert drafts.take_form_draft(sam, CALL_DETAILS) == {"given_name": "Samsown"}


def test_discard_drops_only_the_users_own_draft(world):
    pat, sam = world["pat"], world["sam"]
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED)
    drafts.save_form_draft(sam, ADVICE_REQUEST, {"question": "Sam's"})
    assert drafts.discard_form_draft(pat, ADVICE_REQUEST) is True
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) is None
    assert drafts.take_form_draft(sam, ADVICE_REQUEST) == {"question": "Sam's"}


def test_a_role_that_may_not_create_contacts_cannot_save_and_the_refusal_is_audited(world):
    admin = world["admin"]
    before = len(audit_of(admin, "create"))
    with pytest.raises(NotAllowed, match="cannot create and edit contacts"):
        drafts.save_form_draft(admin, ADVICE_REQUEST, TYPED)
    refused = audit_of(admin, "create")[before:]
    assert refused == [("create", "form_draft", ADVICE_REQUEST, "denied")]
    assert admin.db.execute("SELECT count(*) FROM form_drafts WHERE username = 'admin'").fetchone()[0] == 0


def test_unknown_forms_and_fields_are_refused_by_name(world):
    pat = world["pat"]
    with pytest.raises(InvalidField) as refused:
        drafts.save_form_draft(pat, "letter", TYPED)
    assert refused.value.field == "form"
    assert "advice_request" in str(refused.value)
    with pytest.raises(InvalidField):
        drafts.take_form_draft(pat, "letter")
    with pytest.raises(InvalidField) as refused:
        drafts.save_form_draft(pat, ADVICE_REQUEST, {**TYPED, "password": "x"})
    assert refused.value.field == "password"
    # The call's own fields are not the advice request's.
    with pytest.raises(InvalidField) as refused:
        drafts.save_form_draft(pat, ADVICE_REQUEST, {"consent_notes": "x"})
    assert refused.value.field == "consent_notes"
    with pytest.raises(InvalidField):
        drafts.save_form_draft(pat, CALL_DETAILS, {"given_name": 12})
    assert drafts.take_form_draft(pat, ADVICE_REQUEST) is None  # nothing half-kept


def test_bad_text_is_refused_naming_the_field_without_the_text(world):
    pat = world["pat"]
    for value in ("Zo\x00ë", "Zo\udc80ë", "x" * (FREE_TEXT_LIMIT + 1)):
        with pytest.raises(InvalidField) as refused:
            drafts.save_form_draft(pat, CALL_DETAILS, {"given_name": value})
        assert refused.value.field == "given_name"
        assert "Zo" not in str(refused.value)


def test_a_draft_older_than_seven_days_is_not_given_back(world):
    pat = world["pat"]
    saved = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED, now=saved)
    assert drafts.has_form_draft(pat, ADVICE_REQUEST, now=saved + timedelta(days=7))
    assert not drafts.has_form_draft(pat, ADVICE_REQUEST, now=saved + timedelta(days=7, seconds=1))
    assert drafts.take_form_draft(pat, ADVICE_REQUEST, now=saved + timedelta(days=7, seconds=1)) is None
    # It is gone, not hidden: a later clock would not bring it back either.
    assert pat.db.execute("SELECT count(*) FROM form_drafts WHERE username = 'pat'").fetchone()[0] == 0
    assert audit_of(pat, "purge")[-1] == ("purge", "form_draft", ADVICE_REQUEST, "ok")


def test_old_drafts_of_every_user_go_when_anyone_uses_drafts_or_on_expiry(world):
    pat, sam = world["pat"], world["sam"]
    saved = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED, now=saved)
    drafts.save_form_draft(sam, CALL_DETAILS, {"given_name": "Robin"}, now=saved)
    drafts.save_form_draft(sam, ADVICE_REQUEST, {"given_name": "Fresh"}, now=saved + timedelta(days=6))
    later = saved + timedelta(days=8)
    assert drafts.take_form_draft(sam, ADVICE_REQUEST, now=later) == {"given_name": "Fresh"}
    rows = pat.db.execute("SELECT username, kind FROM form_drafts").fetchall()
    assert rows == []  # pat's old draft went with sam's take
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED, now=saved)
    assert drafts.expire_form_drafts(world["admin"], now=later) == 1
    assert drafts.expire_form_drafts(world["admin"], now=later) == 0


def test_the_audit_records_each_step_without_what_was_typed(world):
    pat = world["pat"]
    start = pat.db.execute("SELECT max(seq) FROM audit").fetchone()[0]
    drafts.save_form_draft(pat, ADVICE_REQUEST, TYPED)
    drafts.take_form_draft(pat, ADVICE_REQUEST)
    drafts.save_form_draft(pat, CALL_DETAILS, {"given_name": "Robin"})
    drafts.discard_form_draft(pat, CALL_DETAILS)
    new = pat.db.execute("SELECT * FROM audit WHERE seq > ? ORDER BY seq", [start]).fetchall()
    assert [(row[4], row[5], row[6]) for row in new] == [
        ("create", "form_draft", ADVICE_REQUEST), ("view", "form_draft", ADVICE_REQUEST),
        ("create", "form_draft", CALL_DETAILS), ("update", "form_draft", CALL_DETAILS)]
    assert all(row[2] == "pat" for row in new)
    assert "Draftchild" not in json.dumps([list(map(str, row)) for row in new])
    assert world["admin"].verify_audit().intact


def test_drafts_are_kept_encrypted_in_the_store_and_survive_a_new_sign_in(world):
    pat = world["pat"]
    drafts.save_form_draft(pat, CALL_DETAILS, {"family_name": "Cipherchild"})
    raw = b"".join(p.read_bytes() for p in pat.folder.glob("spoa.db*"))
    assert b"Cipherchild" not in raw
    with Store.unlock(pat.folder, "pat", PRACTITIONER_PASSWORD) as again:
        assert drafts.take_form_draft(again, CALL_DETAILS) == {"family_name": "Cipherchild"}


def test_a_locked_store_refuses(world, staffed_store):
    store = staffed_store("pat")
    store.lock()
    with pytest.raises(Exception, match="locked"):
        drafts.take_form_draft(store, CALL_DETAILS)
    with pytest.raises(Exception, match="locked"):
        drafts.save_form_draft(store, CALL_DETAILS, {"given_name": "x"})


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


# Any characters, with NUL, a lone surrogate and a combining accent made likely.
fields_text = st.lists(st.one_of(st.characters(), st.sampled_from(["\x00", "\udc80", "\u0301", " ", "\n"])),
                       max_size=60).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(FORM_FIELDS)), data=st.data())
def test_any_text_is_kept_as_cleaned_or_refused_as_an_invalid_field(world, kind, data):
    pat = world["pat"]
    names = data.draw(st.lists(st.sampled_from(sorted(FORM_FIELDS[kind])), max_size=5, unique=True))
    typed = {name: data.draw(fields_text) for name in names}
    bad = [name for name, text in typed.items() if "\x00" in text or _has_lone_surrogate(text)]
    if bad:
        with pytest.raises(InvalidField) as refused:
            drafts.save_form_draft(pat, kind, typed)
        assert refused.value.field in bad
        return
    expected = drafts.clean_form_fields(kind, typed)
    drafts.save_form_draft(pat, kind, typed)
    back = drafts.take_form_draft(pat, kind)
    assert back == (expected or None)
    for name, value in (back or {}).items():
        assert value == unicodedata.normalize("NFC", typed[name]).strip()
