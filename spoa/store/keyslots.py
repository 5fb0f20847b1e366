"""The key-slot file: the data key, sealed once per user and once for the recovery code.

The file sits beside the database and holds no secret in the clear. Each slot is an
X25519 recipient, as in ``age``:

* the slot's private key is derived from the password (Argon2id, then HKDF), so only
  someone who knows the password has it; it is never stored anywhere;
* the data key is sealed to the slot's public key: a fresh ephemeral X25519 key, the
  shared secret through HKDF salted with this machine's device secret (user slots of a
  store bound to the keyring), then AES-256-GCM;
* the slot's public key is itself sealed under the data key, so that an unlocked desk
  can seal a *new* data key to every slot (rekey) or re-bind the slots to a new device
  secret, without anyone's password, while someone who has only the file (and not the
  device secret or the data key) cannot even test a guessed password against it.

A rekey seals a fresh data key to the public keys of the active users and the recovery
code. Nothing a holder of the old data key and the old file can obtain opens the new
key: the file never holds anything derived from a password sealed under the data key.
(Format 1 did: each slot escrowed its password-derived key under the data key, which let
an old-key holder follow every rekey. Format 1 files are read and upgraded; see
:func:`upgrade_legacy`.)

Writes are atomic (temporary file, fsync, rename, fsync of the folder): after a crash
the file is either the old one or the new one, never a mixture.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from spoa.store.keys import (
    KEY_BYTES,
    MINIMUM_KDF,
    KdfParams,
    WrongSecret,
    aad_for,
    b64,
    bind,
    key_id,
    new_salt,
    open_sealed,
    password_key,
    seal,
    unb64,
)

SLOT_FILE = "keyslots.json"
FORMAT = 2
READABLE_FORMATS = (1, 2)
USER = "user"
RECOVERY = "recovery"
X25519 = "x25519"  # the slot scheme of format 2
LEGACY = "escrow"  # format 1's scheme, read only to upgrade it


class SlotFileProblem(Exception):
    """The slot file is missing, damaged or from an unknown version; nothing was changed."""


@dataclass(frozen=True)
class Slot:
    """One way in: the data key sealed to the X25519 key of a password or recovery code.

    ``renew``: the slot was converted from format 1 without its password, so a holder of
    a format-1 key file and an old data key could still derive its private key; it is
    made afresh (new salt) at its owner's next unlock.
    """

    id: str
    kind: str  # USER or RECOVERY
    username: str  # "" for the recovery slot
    key_id: str  # which data key this slot opens
    kdf: KdfParams
    salt: bytes
    ephemeral: bytes  # the ephemeral X25519 public key the data key was sealed with
    nonce: bytes
    sealed: bytes  # the data key
    public_nonce: bytes
    public_sealed: bytes  # the slot's own public key, under the data key
    created_at: str
    renew: bool = False

    @property
    def aad(self) -> bytes:
        return aad_for(self.id, self.username or RECOVERY, self.kdf.version)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "username": self.username, "key_id": self.key_id,
            "scheme": X25519, "kdf": {"name": "argon2id", **self.kdf.as_dict()},
            "salt": b64(self.salt), "ephemeral": b64(self.ephemeral), "nonce": b64(self.nonce),
            "sealed": b64(self.sealed), "public_nonce": b64(self.public_nonce),
            "public_sealed": b64(self.public_sealed), "created_at": self.created_at,
            "renew": self.renew,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Slot | LegacySlot:
        kind, kdf = _checked_header(data)
        if data.get("scheme", LEGACY) == LEGACY:
            return LegacySlot(
                id=str(data["id"]), kind=kind, username=str(data["username"]),
                key_id=str(data["key_id"]), kdf=kdf, salt=unb64(data["salt"]),
                nonce=unb64(data["nonce"]), wrapped=unb64(data["wrapped"]),
                escrow_nonce=unb64(data["escrow_nonce"]), escrow=unb64(data["escrow"]),
                created_at=str(data["created_at"]))
        if data["scheme"] != X25519:
            raise ValueError("unknown slot scheme")
        ephemeral = unb64(data["ephemeral"])
        if len(ephemeral) != KEY_BYTES:
            raise ValueError("ephemeral key of the wrong length")
        return cls(
            id=str(data["id"]), kind=kind, username=str(data["username"]),
            key_id=str(data["key_id"]), kdf=kdf, salt=unb64(data["salt"]), ephemeral=ephemeral,
            nonce=unb64(data["nonce"]), sealed=unb64(data["sealed"]),
            public_nonce=unb64(data["public_nonce"]), public_sealed=unb64(data["public_sealed"]),
            created_at=str(data["created_at"]), renew=bool(data.get("renew", False)))


@dataclass(frozen=True)
class LegacySlot:
    """A format-1 slot: the data key wrapped under the password-derived key, which is
    escrowed under the data key. Read only to open the store once and upgrade it."""

    id: str
    kind: str
    username: str
    key_id: str
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    wrapped: bytes
    escrow_nonce: bytes
    escrow: bytes
    created_at: str

    @property
    def aad(self) -> bytes:
        return aad_for(self.id, self.username or RECOVERY, self.kdf.version)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "username": self.username, "key_id": self.key_id,
            "kdf": {"name": "argon2id", **self.kdf.as_dict()}, "salt": b64(self.salt),
            "nonce": b64(self.nonce), "wrapped": b64(self.wrapped),
            "escrow_nonce": b64(self.escrow_nonce), "escrow": b64(self.escrow),
            "created_at": self.created_at,
        }


def _checked_header(data: dict) -> tuple[str, KdfParams]:
    if data.get("kdf", {}).get("name") != "argon2id" or data.get("kind") not in (USER, RECOVERY):
        raise ValueError("unknown slot kind or key derivation")
    kdf = KdfParams.from_dict(data["kdf"])
    # Settings below the floor (or absurdly high) mean a damaged or doctored file.
    if not kdf.meets(MINIMUM_KDF) or kdf.time_cost > 1000 or kdf.memory_kib > 4 * 1024 * 1024 \
            or kdf.parallelism > 255:
        raise ValueError("key derivation settings out of range")
    return data["kind"], kdf


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- the X25519 recipient ----------------------------------------------------------------------

def _private_key(derived: bytes) -> X25519PrivateKey:
    """The slot's private key, from the password-derived key (itself unique per slot by
    its salt). Any 32 bytes are a valid X25519 private key."""
    seed = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=b"spoa keyslot v2 x25519").derive(derived)
    return X25519PrivateKey.from_private_bytes(seed)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _sealing_key(shared: bytes, ephemeral: bytes, recipient: bytes, device_secret: bytes | None,
                 slot_id: str) -> bytes:
    """The key that seals the data key: the X25519 shared secret, bound to both public
    keys and the slot, salted with the device secret (so the keyring is needed too)."""
    if shared == bytes(len(shared)):
        raise WrongSecret()  # a low-order point: never produced by a real slot
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES,
                salt=device_secret or b"no-device-binding",
                info=b"spoa keyslot v2 seal " + slot_id.encode("ascii") + ephemeral + recipient,
                ).derive(shared)


def _seal_to(recipient: bytes, data_key: bytes, kind: str, username: str, salt: bytes,
             params: KdfParams, device_secret: bytes | None, created_at: str | None = None,
             renew: bool = False) -> Slot:
    slot_id = uuid.uuid4().hex
    bound = device_secret if kind == USER else None  # the recovery code must work on a new machine
    ephemeral_key = X25519PrivateKey.generate()
    ephemeral = _raw(ephemeral_key.public_key())
    shared = ephemeral_key.exchange(X25519PublicKey.from_public_bytes(recipient))
    aad = aad_for(slot_id, username or RECOVERY, params.version)
    nonce, sealed = seal(_sealing_key(shared, ephemeral, recipient, bound, slot_id), data_key, aad)
    public_nonce, public_sealed = seal(data_key, recipient, aad + b" public")
    return Slot(slot_id, kind, username, key_id(data_key), params, salt, ephemeral, nonce, sealed,
                public_nonce, public_sealed, created_at or _now(), renew)


def make_slot(data_key: bytes, kind: str, username: str, secret: str, params: KdfParams,
              device_secret: bytes | None) -> Slot:
    """A new slot opening ``data_key`` with ``secret`` (slow: runs Argon2id)."""
    if not params.meets(MINIMUM_KDF):
        raise ValueError("key derivation parameters below the minimum")
    salt = new_salt()
    recipient = _raw(_private_key(password_key(secret, salt, params)).public_key())
    return _seal_to(recipient, data_key, kind, username, salt, params, device_secret)


def open_slot(slot: Slot | LegacySlot, secret: str, device_secret: bytes | None) -> bytes:
    """The data key, or WrongSecret."""
    derived = password_key(secret, slot.salt, slot.kdf)
    bound = device_secret if slot.kind == USER else None
    if isinstance(slot, LegacySlot):
        return open_sealed(bind(derived, bound, slot.id), slot.nonce, slot.wrapped, slot.aad)
    private = _private_key(derived)
    recipient = _raw(private.public_key())
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(slot.ephemeral))
    except ValueError:
        raise WrongSecret() from None
    key = _sealing_key(shared, slot.ephemeral, recipient, bound, slot.id)
    return open_sealed(key, slot.nonce, slot.sealed, slot.aad)


def reseal(slot: Slot, current_key: bytes, new_key: bytes, device_secret: bytes | None) -> Slot:
    """The same slot (same password, same public key) opening ``new_key``: made by a desk
    that holds ``current_key``, with no password. Used by rekey and to bind the slots to
    a new device secret (or to none)."""
    recipient = open_sealed(current_key, slot.public_nonce, slot.public_sealed, slot.aad + b" public")
    return _seal_to(recipient, new_key, slot.kind, slot.username, slot.salt, slot.kdf,
                    device_secret, created_at=slot.created_at, renew=slot.renew)


def upgrade_legacy(slot: LegacySlot, data_key: bytes, device_secret: bytes | None) -> Slot:
    """A format-1 slot as a format-2 slot opening the same key with the same password,
    made from its escrow (no password needed). Marked ``renew``: its private key follows
    from the escrowed key, which old key files hold, so it is made afresh at its owner's
    next unlock."""
    derived = open_sealed(data_key, slot.escrow_nonce, slot.escrow, slot.aad + b" escrow")
    recipient = _raw(_private_key(derived).public_key())
    return _seal_to(recipient, data_key, slot.kind, slot.username, slot.salt, slot.kdf,
                    device_secret, created_at=slot.created_at, renew=True)


@dataclass
class SlotFile:
    path: Path
    installation_id: str
    uses_keyring: bool
    slots: list[Slot | LegacySlot] = field(default_factory=list)
    audit_anchor: dict | None = None  # the audit trail's head when last anchored (anchors.py)

    @classmethod
    def new(cls, folder: Path, uses_keyring: bool) -> SlotFile:
        return cls(folder / SLOT_FILE, secrets.token_hex(16), uses_keyring)

    @classmethod
    def load(cls, folder: Path) -> SlotFile:
        path = folder / SLOT_FILE
        if not path.is_file():
            raise SlotFileProblem(
                f"The key file {path} is missing, so the records cannot be opened. Restore it "
                "from the backup made with the database; do not create a new store over the old one.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") not in READABLE_FORMATS:
                raise SlotFileProblem(
                    f"The key file {path} is format {data.get('format')!r}; this version of the "
                    f"desk reads format {FORMAT}. Install the matching version of the desk.")
            return cls(path, str(data["installation_id"]), bool(data["uses_keyring"]),
                       [Slot.from_dict(item) for item in data["slots"]],
                       data.get("audit_anchor") if isinstance(data.get("audit_anchor"), dict) else None)
        except SlotFileProblem:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise SlotFileProblem(
                f"The key file {path} is damaged and cannot be read. Nothing was changed. Restore "
                "it from the backup made with the database.") from None

    def as_dict(self) -> dict:
        data = {"format": FORMAT, "installation_id": self.installation_id,
                "uses_keyring": self.uses_keyring, "slots": [s.as_dict() for s in self.slots]}
        if self.audit_anchor is not None:
            data["audit_anchor"] = self.audit_anchor
        return data

    def save(self) -> None:
        write_atomically(self.path, json.dumps(self.as_dict(), indent=2).encode("utf-8"))

    def user_slots(self, username: str) -> list[Slot | LegacySlot]:
        return [s for s in self.slots if s.kind == USER and s.username == username]

    def recovery_slots(self) -> list[Slot | LegacySlot]:
        return [s for s in self.slots if s.kind == RECOVERY]

    def legacy_slots(self) -> list[LegacySlot]:
        return [s for s in self.slots if isinstance(s, LegacySlot)]

    def usernames(self) -> set[str]:
        return {s.username for s in self.slots if s.kind == USER}


def uses_no_keyring(folder: Path) -> bool:
    """Whether the store in ``folder`` was set up, or recovered, without a keyring (False
    when its key file cannot be read: the sign-in says why)."""
    try:
        return not SlotFile.load(folder).uses_keyring
    except SlotFileProblem:
        return False


def write_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` so that a crash leaves the old or the new file whole.

    The file is readable and writable by its owner only.
    """
    folder = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


__all__ = ["RECOVERY", "USER", "LegacySlot", "Slot", "SlotFile", "SlotFileProblem", "WrongSecret",
           "make_slot", "open_slot", "reseal", "upgrade_legacy", "write_atomically"]
