"""Key derivation and wrapping: Argon2id for passwords, HKDF to bind to the machine,
AES-256-GCM to wrap the database's data key.

Nothing here touches files or the keyring; :mod:`spoa.store.keyslots` does that.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import hmac
import json
import secrets
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
SALT_BYTES = 16
NONCE_BYTES = 12
KDF_VERSION = 1

# Recovery codes: 25 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
# about 123 bits, written as five groups of five.
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_GROUPS = 5
RECOVERY_GROUP_SIZE = 5


class WrongSecret(Exception):
    """The password, recovery code or device secret does not open this slot."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored with each slot so they can be raised over time."""

    time_cost: int
    memory_kib: int
    parallelism: int
    version: int = KDF_VERSION

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> KdfParams:
        return cls(int(data["time_cost"]), int(data["memory_kib"]), int(data["parallelism"]),
                   int(data.get("version", KDF_VERSION)))

    def meets(self, floor: KdfParams) -> bool:
        return (self.time_cost >= floor.time_cost and self.memory_kib >= floor.memory_kib
                and self.parallelism >= floor.parallelism)


# The floor: never weaker than t=3, 64 MiB, 4 lanes.
MINIMUM_KDF = KdfParams(time_cost=3, memory_kib=64 * 1024, parallelism=4)


def new_data_key() -> bytearray:
    """A fresh random data key, in a buffer its holder wipes when done with it (``wipe``)."""
    key = bytearray(KEY_BYTES)
    # Byte by byte into a buffer of its final size: token_bytes(32) would leave a whole
    # copy of the key behind in an immutable bytes object, which Python frees uncleared.
    for i in range(KEY_BYTES):
        key[i] = secrets.randbits(8)
    return key


def wipe(secret: bytearray | None) -> None:
    """Overwrite key material held in a bytearray, in place."""
    if secret:
        memoryview(secret)[:] = bytes(len(secret))  # same size: never reallocated, no copy left


# Where CPython keeps a bytes object's contents: after its header, in ob_sval, whose first
# byte bytes.__basicsize__ already counts. Checked once on a probe before it is relied on.
_BYTES_DATA = bytes.__basicsize__ - 1


def _references(value: object) -> int:
    return sys.getrefcount(value)


def _probe(value: bytes) -> int:
    return _references(value)  # called as owned_key calls it, so both see the same count


def _count_when_alone() -> int | None:
    """What owned_key counts for a temporary passed straight in, measured on this interpreter
    (versions differ in what getrefcount sees); None, and nothing is ever wiped, when that
    cannot be told apart from a value the caller still holds, or the layout is not CPython's."""
    if sys.implementation.name != "cpython":
        return None
    held = bytes(range(1, 41))
    if ctypes.string_at(id(held) + _BYTES_DATA, len(held)) != held:
        return None
    alone = _probe(bytes(range(1, 41)))
    return alone if alone < _probe(held) else None


_ALONE = _count_when_alone()


def owned_key(key: bytes) -> bytearray:
    """``key`` copied into a bytearray that its holder wipes when done with it.

    The crypto library and the database driver hand keys over as immutable ``bytes``. Pass
    such a temporary straight in (``owned_key(open_slot(...))``): once copied, it is zeroed
    in place, but only when nothing else can ever see it: exactly ``bytes`` (no subclass),
    longer than one byte (CPython shares the empty and one-byte objects), and no reference
    to it but this call's (no cache, no variable of the caller; bytes take no weak
    references). Otherwise it is left as it is, and stays in memory until reused
    (tests/test_key_memory.py would find it)."""
    owned = bytearray(key)
    if (_ALONE is not None and type(key) is bytes and len(key) > 1
            and _references(key) <= _ALONE):
        ctypes.memset(id(key) + _BYTES_DATA, 0, len(key))
    return owned


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def normalise_secret(text: str) -> bytes:
    """Passwords are compared as NFC text so the same password typed on another
    keyboard layout (composed or decomposed accents) still works."""
    return unicodedata.normalize("NFC", text).encode("utf-8")


def password_key(secret: str, salt: bytes, params: KdfParams) -> bytes:
    """Argon2id of a password or recovery code: slow by design."""
    return hash_secret_raw(
        normalise_secret(secret), salt, params.time_cost, params.memory_kib, params.parallelism,
        KEY_BYTES, Type.ID,
    )


def bind(password_derived: bytes, device_secret: bytes | None, slot_id: str) -> bytes:
    """The key-encryption key: the password-derived key combined with this machine's
    device secret (when the installation uses the keyring) through HKDF."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=device_secret or b"no-device-binding",
        info=b"spoa keyslot v1 " + slot_id.encode("ascii"),
    ).derive(password_derived)


def subkey(data_key: bytes, purpose: str) -> bytes:
    """A key for one purpose (the audit chain, key ids) derived from the data key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=b"spoa " + purpose.encode("ascii")).derive(data_key)


def wipeable_subkey(data_key: bytes, purpose: str) -> bytearray:
    """``subkey`` derived straight into a bytearray, for a key that must not outlive its use."""
    key = bytearray(KEY_BYTES)
    HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
         info=b"spoa " + purpose.encode("ascii")).derive_into(data_key, key)
    return key


def key_id(data_key: bytes) -> str:
    """A short, non-secret name for a data key, so slots of two keys can coexist during rekey."""
    return hmac.new(subkey(data_key, "key-id"), b"key-id", hashlib.sha256).hexdigest()[:16]


def aad_for(slot_id: str, username: str, kdf_version: int) -> bytes:
    return json.dumps({"slot": slot_id, "user": username, "kdf": kdf_version},
                      sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(key: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise WrongSecret() from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def new_recovery_code() -> str:
    chars = "".join(secrets.choice(RECOVERY_ALPHABET)
                    for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_SIZE))
    return "-".join(chars[i:i + RECOVERY_GROUP_SIZE]
                    for i in range(0, len(chars), RECOVERY_GROUP_SIZE))


def normalise_recovery_code(text: str) -> str:
    """Accept the code as written down: any case, with or without spaces and dashes."""
    cleaned = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
    return "-".join(cleaned[i:i + RECOVERY_GROUP_SIZE]
                    for i in range(0, len(cleaned), RECOVERY_GROUP_SIZE))


def calibrate(target_seconds: float = 0.6, floor: KdfParams = MINIMUM_KDF,
              longest: int = 40) -> KdfParams:
    """Raise the time cost from the floor until one derivation takes about target_seconds
    on this machine, so unlock is slow for an attacker but bearable for a person."""
    params = floor
    salt = new_salt()
    while True:
        started = time.perf_counter()
        password_key("calibration", salt, params)
        took = time.perf_counter() - started
        if took >= target_seconds * 0.8 or params.time_cost >= longest:
            return params
        factor = max(1.2, target_seconds / max(took, 1e-3))
        params = KdfParams(min(longest, max(params.time_cost + 1, int(params.time_cost * factor))),
                           params.memory_kib, params.parallelism)
