"""Rekey revokes: after it, nothing a holder of the old data key and the old key file can
compute opens the store (issue 12, item 1).

The reproduction: a user who kept her data key (from an unlocked desk) and a copy of
``keyslots.json``, who knows her own password and works on the same computer (so has the
device secret), is deactivated; the administrator rekeys. Format 1 let her follow the
rekey: each slot escrowed its password-derived key under the data key. Here she runs
every derivation the store itself uses, on everything she has, and opens nothing.

Real SQLCipher, Argon2id at the product's floor, the in-memory keyring of conftest.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoa.roles import Role
from spoa.store import keyslots
from spoa.store.database import WrongKey, close, connect
from spoa.store.device import read_device_secret
from spoa.store.keys import (
    MINIMUM_KDF,
    WrongSecret,
    aad_for,
    bind,
    key_id,
    new_data_key,
    new_salt,
    normalise_recovery_code,
    normalise_secret,
    password_key,
    seal,
    subkey,
)
from spoa.store.keyslots import RECOVERY, SLOT_FILE, USER, LegacySlot, Slot, SlotFile
from spoa.store.store import Store, UnlockFailed
from tests.conftest import ADMIN_PASSWORD, PRACTITIONER_PASSWORD, SUPERVISOR_PASSWORD

# -- what a holder of old material can compute -------------------------------------------------

SEALED_PAIRS = [("nonce", "wrapped"), ("escrow_nonce", "escrow"), ("nonce", "sealed"),
                ("public_nonce", "public_sealed")]
AAD_SUFFIXES = [b"", b" escrow", b" public"]


def _blobs(slot_file: dict):
    for slot in slot_file["slots"]:
        aad = aad_for(slot["id"], slot["username"] or RECOVERY, slot["kdf"].get("version", 1))
        for nonce_field, field in SEALED_PAIRS:
            if field in slot and nonce_field in slot:
                yield slot, base64.b64decode(slot[nonce_field]), base64.b64decode(slot[field]), aad


def _try_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    for suffix in AAD_SUFFIXES:
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, aad + suffix)
        except (InvalidTag, ValueError):
            continue
    return None


def _keys_from(material: set[bytes], device: bytes | None, slot_ids: list[str]) -> set[bytes]:
    """Every key the store's own derivations make from what is known."""
    derived = set(material)
    for value in material:
        if len(value) != 32:
            continue
        derived |= {subkey(value, purpose) for purpose in ("audit", "key-id", "backup")}
        for slot_id, bound in itertools.product(slot_ids, (device, None)):
            derived.add(bind(value, bound, slot_id))
    return derived


def _follow(old_file: dict, known: set[bytes], device: bytes | None) -> set[bytes]:
    """Everything the old file gives up under the known keys, to a fixed point."""
    ids = [slot["id"] for slot in old_file["slots"]]
    while True:
        keys = _keys_from(known, device, ids)
        found = {plain for key in keys for _, nonce, blob, aad in _blobs(old_file)
                 if (plain := _try_open(key, nonce, blob, aad)) is not None}
        if found <= known:
            return known | keys
        known |= found


def _opens_new_file(new_file: dict, candidates: set[bytes], device: bytes | None) -> bytes | None:
    """A new data key, if any candidate opens any slot of the new file by any route the
    store uses (format 1's key-encryption key, format 2's X25519 recipient)."""
    ids = [slot["id"] for slot in new_file["slots"]]
    keys = _keys_from(candidates, device, ids)
    for key, (_, nonce, blob, aad) in itertools.product(keys, _blobs(new_file)):
        if (plain := _try_open(key, nonce, blob, aad)) is not None and len(plain) == 32:
            return plain
    for slot, value in itertools.product(new_file["slots"], candidates):
        if "ephemeral" not in slot or len(value) != 32:
            continue
        private = keyslots._private_key(value)
        recipient = keyslots._raw(private.public_key())
        ephemeral = base64.b64decode(slot["ephemeral"])
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        aad = aad_for(slot["id"], slot["username"] or RECOVERY, slot["kdf"]["version"])
        for bound in (device, None):
            key = keyslots._sealing_key(shared, ephemeral, recipient, bound, slot["id"])
            if (plain := _try_open(key, base64.b64decode(slot["nonce"]),
                                   base64.b64decode(slot["sealed"]), aad)) is not None:
                return plain
    return None


def _her_derived_keys(slot_file: dict, username: str, password: str) -> set[bytes]:
    keys = set()
    for slot in slot_file["slots"]:
        if slot["username"] == username:
            params = keyslots.KdfParams.from_dict(slot["kdf"])
            keys.add(password_key(password, base64.b64decode(slot["salt"]), params))
    return keys


@pytest.fixture
def staff(new_store, store_folder):
    """Admin, a practitioner (pat) and a supervisor (sam) who chose their passwords."""
    admin, code = new_store
    admin.add_user("pat", "Pat Practitioner", Role.PRACTITIONER, "temporary pass 1")
    admin.add_user("sam", "Sam Supervisor", Role.SUPERVISOR, "temporary pass 2")
    admin.lock()
    for name, temporary, chosen in (("pat", "temporary pass 1", PRACTITIONER_PASSWORD),
                                    ("sam", "temporary pass 2", SUPERVISOR_PASSWORD)):
        with Store.unlock(store_folder, name, temporary) as first:
            first.change_password(temporary, chosen)
    return code


def _deactivate_and_rekey(store_folder: Path) -> bytes:
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        admin.deactivate_user("sam")
        admin.rekey()
        return bytes(admin._data_key)


def test_a_deactivated_user_with_the_old_key_and_key_file_opens_nothing_after_rekey(staff, store_folder):
    with Store.unlock(store_folder, "sam", SUPERVISOR_PASSWORD) as sam:
        kept_key = bytes(sam._data_key)
        installation = sam.slots.installation_id
    kept_file = json.loads((store_folder / SLOT_FILE).read_text())
    device = read_device_secret(installation)  # same computer, same keyring

    new_key = _deactivate_and_rekey(store_folder)
    new_file = json.loads((store_folder / SLOT_FILE).read_text())

    # The old key no longer opens the database, and her password opens no slot.
    with pytest.raises(WrongKey):
        connect(store_folder / "spoa.db", kept_key)
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "sam", SUPERVISOR_PASSWORD)
    # Everything the old file gives up under her key, her password and the device secret...
    known = _follow(kept_file, {kept_key, device, *_her_derived_keys(kept_file, "sam",
                                                                     SUPERVISOR_PASSWORD)}, device)
    assert new_key not in known
    # ...opens nothing in the new file by any route the store itself uses.
    assert _opens_new_file(new_file, known, device) is None
    # The others still get in with their own passwords.
    with Store.unlock(store_folder, "pat", PRACTITIONER_PASSWORD) as pat:
        assert pat._data_key == new_key


def test_the_same_attack_succeeds_against_a_format_1_key_file(staff, store_folder):
    """The reproduction's control: with format 1's escrow the attack above follows the
    rekey, so the attack is able to find a key when there is one to find."""
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        data_key = bytes(admin._data_key)
        device = admin._device_secret
        pat_slot = admin.slots.user_slots("pat")[0]
    derived = password_key(PRACTITIONER_PASSWORD, pat_slot.salt, pat_slot.kdf)
    old = _legacy_slot(data_key, USER, "pat", derived, pat_slot.salt, device)
    old_file = {"slots": [old.as_dict()]}
    new_key = new_data_key()
    # What format 1's rekey did: the escrowed key re-wrapped for the new data key.
    moved = _legacy_slot(new_key, USER, "pat", derived, pat_slot.salt, device)
    assert _opens_new_file({"slots": [moved.as_dict()]}, _follow(old_file, {data_key}, device),
                           device) == new_key


def test_a_slot_left_for_a_deactivated_user_gets_nothing_of_the_new_key(staff, store_folder):
    """Deactivation marks the user first and drops the slot second; a crash between the
    two leaves a slot, which rekey must not seal the new key to."""
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        with admin.db.conn:
            admin.db.execute("UPDATE users SET active = 0 WHERE username = 'sam'")
        assert admin.slots.user_slots("sam")  # the crash: her slot is still there
        admin.rekey()
    assert not SlotFile.load(store_folder).user_slots("sam")
    with pytest.raises(UnlockFailed):
        Store.unlock(store_folder, "sam", SUPERVISOR_PASSWORD)


def test_the_key_file_does_not_let_a_password_be_tested_without_the_device_secret(staff, store_folder):
    """Someone with a copy of the folder but not the keyring cannot check guesses: the
    slot's public key (which follows from the password) is not in the file in the clear,
    and the sealed key needs the device secret too."""
    raw = (store_folder / SLOT_FILE).read_bytes()
    slots = SlotFile.load(store_folder)
    slot = slots.user_slots("pat")[0]
    public = keyslots._raw(keyslots._private_key(
        password_key(PRACTITIONER_PASSWORD, slot.salt, slot.kdf)).public_key())
    assert public not in raw
    assert base64.b64encode(public) not in raw
    with pytest.raises(WrongSecret):
        keyslots.open_slot(slot, PRACTITIONER_PASSWORD, b"\x00" * 32)
    assert len(keyslots.open_slot(slot, PRACTITIONER_PASSWORD,
                                  read_device_secret(slots.installation_id))) == 32


def test_rekey_from_the_command_line_gives_a_new_recovery_code_and_the_old_one_stops(
        staff, store_folder, monkeypatch, capsys):
    from spoa.cli import main

    old_code = staff
    monkeypatch.setenv("SPOA_USER", "admin")
    monkeypatch.setenv("SPOA_PASSWORD", ADMIN_PASSWORD)
    assert main(["rekey", "--data-dir", str(store_folder)]) == 0
    out = capsys.readouterr().out
    assert "NEW RECOVERY CODE" in out
    assert "old recovery code no longer opens" in out
    new_code = out.split("NEW RECOVERY CODE", 1)[1].splitlines()[2].strip()
    assert normalise_recovery_code(new_code) == new_code
    assert new_code != old_code
    with pytest.raises(UnlockFailed):
        Store.recover(store_folder, old_code)
    with Store.recover(store_folder, new_code) as recovered:
        assert recovered.verify_audit().intact
    assert len(SlotFile.load(store_folder).recovery_slots()) == 1


def test_rekey_can_keep_the_recovery_code(staff, store_folder, monkeypatch, capsys):
    from spoa.cli import main

    monkeypatch.setenv("SPOA_USER", "admin")
    monkeypatch.setenv("SPOA_PASSWORD", ADMIN_PASSWORD)
    assert main(["rekey", "--keep-recovery-code", "--data-dir", str(store_folder)]) == 0
    assert "recovery code is unchanged" in capsys.readouterr().out
    with Store.recover(store_folder, staff):
        pass


def test_a_crash_while_replacing_the_recovery_code_leaves_a_code_someone_holds(staff, store_folder):
    shown: list[str] = []

    class Crash(Exception):
        pass

    def show_then_crash(code: str) -> None:
        shown.append(code)
        raise Crash

    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin, pytest.raises(Crash):
        admin.replace_recovery_code(show_then_crash)
    for code in (staff, shown[0]):  # shown, so held; the old one not yet retired
        with Store.recover(store_folder, code):
            pass


# -- format 1 key files are upgraded ------------------------------------------------------------

def _legacy_slot(data_key: bytes, kind: str, username: str, derived: bytes, salt: bytes,
                 device: bytes | None) -> LegacySlot:
    """A slot exactly as format 1 made it (the test's own copy of that construction)."""
    slot_id = uuid.uuid4().hex
    kek = bind(derived, device if kind == USER else None, slot_id)
    aad = aad_for(slot_id, username or RECOVERY, MINIMUM_KDF.version)
    nonce, wrapped = seal(kek, data_key, aad)
    escrow_nonce, escrow = seal(data_key, derived, aad + b" escrow")
    return LegacySlot(slot_id, kind, username, key_id(data_key), MINIMUM_KDF, salt, nonce, wrapped,
                      escrow_nonce, escrow, "2026-01-05T09:00:00+00:00")


def _as_format_1(store_folder: Path, passwords: dict[str, str]) -> None:
    """Rewrite the key file as format 1 would have written it, for the same passwords."""
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        data_key, device = bytes(admin._data_key), admin._device_secret
    current = SlotFile.load(store_folder)
    legacy = []
    for name, secret in passwords.items():
        salt = new_salt()
        kind = RECOVERY if name == "" else USER
        legacy.append(_legacy_slot(data_key, kind, name, password_key(secret, salt, MINIMUM_KDF),
                                   salt, device))
    data = {"format": 1, "installation_id": current.installation_id,
            "uses_keyring": current.uses_keyring, "slots": [s.as_dict() for s in legacy]}
    (store_folder / SLOT_FILE).write_text(json.dumps(data))


def test_a_format_1_key_file_is_upgraded_and_each_slot_renewed_at_its_owners_next_unlock(
        staff, store_folder):
    code = staff
    _as_format_1(store_folder, {"admin": ADMIN_PASSWORD, "pat": PRACTITIONER_PASSWORD,
                                "sam": SUPERVISOR_PASSWORD, "": normalise_recovery_code(code)})
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        not_yet = admin.rekey()
    assert not_yet == ["(recovery code)", "pat", "sam"]
    data = json.loads((store_folder / SLOT_FILE).read_text())
    assert data["format"] == 2
    assert all(s["scheme"] == "x25519" for s in data["slots"])
    assert "escrow" not in (store_folder / SLOT_FILE).read_text()
    renew = {s["username"]: s["renew"] for s in data["slots"]}
    assert renew == {"admin": False, "pat": True, "sam": True, "": True}
    # Each owner's next unlock renews their own slot (a fresh salt, nothing from format 1).
    old_salts = {s["username"]: s["salt"] for s in data["slots"]}
    with Store.unlock(store_folder, "pat", PRACTITIONER_PASSWORD):
        pass
    with Store.recover(store_folder, code):
        pass
    after = {s["username"]: s for s in json.loads((store_folder / SLOT_FILE).read_text())["slots"]}
    assert not after["pat"]["renew"]
    assert after["pat"]["salt"] != old_salts["pat"]
    assert not after[""]["renew"]
    assert after["sam"]["renew"]
    with Store.unlock(store_folder, "admin", ADMIN_PASSWORD) as admin:
        assert admin.rekey() == ["sam"]
        assert admin.verify_audit().intact
        actions = [row[0] for row in admin.db.execute("SELECT action FROM audit ORDER BY seq")]
    assert actions.count("key_file_upgraded") == 3


# -- the construction, as a property -------------------------------------------------------------

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=st.text(min_size=1, max_size=40), other=st.text(min_size=1, max_size=40),
       bound=st.booleans(), kind=st.sampled_from([USER, RECOVERY]))
def test_a_slot_opens_with_its_secret_only_and_follows_a_reseal(secret, other, bound, kind):
    data_key, next_key = new_data_key(), new_data_key()
    device = bytes(new_data_key()) if bound else None  # a device secret is bytes
    slot = keyslots.make_slot(data_key, kind, "pat" if kind == USER else "", secret, MINIMUM_KDF,
                              device)
    assert isinstance(slot, Slot)
    assert keyslots.open_slot(slot, secret, device) == data_key
    moved = keyslots.reseal(slot, data_key, next_key, device)
    assert keyslots.open_slot(moved, secret, device) == next_key
    assert moved.salt == slot.salt
    assert moved.ephemeral != slot.ephemeral
    with pytest.raises(WrongSecret):
        keyslots.reseal(slot, next_key, next_key, device)  # only the current key reseals
    if normalise_secret(other) != normalise_secret(secret):
        with pytest.raises(WrongSecret):
            keyslots.open_slot(moved, other, device)


def test_a_database_opened_with_the_new_key_needs_nothing_else(staff, store_folder):
    new_key = _deactivate_and_rekey(store_folder)
    db = connect(store_folder / "spoa.db", new_key)
    try:
        assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 3
    finally:
        close(db)
