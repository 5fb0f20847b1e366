"""The key-slot file: the data key, wrapped once per user and once by the recovery code.

The file sits beside the database. It holds no secret in the clear: each slot is the
data key sealed with AES-256-GCM under a key-encryption key derived from a password
(Argon2id) and, for user slots, this machine's device secret (HKDF). Each slot also
keeps the password-derived key sealed under the data key, so that whoever holds the
data key (an unlocked desk) can re-wrap every slot for a new data key (rekey) or a new
device secret (after a lost keyring) without anyone's password.

Writes are atomic (temporary file, fsync, rename, fsync of the folder): after a crash
the file is either the old one or the new one, never a mixture.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from spoa.store.keys import (
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
FORMAT = 1
USER = "user"
RECOVERY = "recovery"


class SlotFileProblem(Exception):
    """The slot file is missing, damaged or from an unknown version; nothing was changed."""


@dataclass(frozen=True)
class Slot:
    id: str
    kind: str  # USER or RECOVERY
    username: str  # "" for the recovery slot
    key_id: str  # which data key this slot opens
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

    @classmethod
    def from_dict(cls, data: dict) -> Slot:
        if data.get("kdf", {}).get("name") != "argon2id" or data.get("kind") not in (USER, RECOVERY):
            raise ValueError("unknown slot kind or key derivation")
        kdf = KdfParams.from_dict(data["kdf"])
        # Settings below the floor (or absurdly high) mean a damaged or doctored file.
        if not kdf.meets(MINIMUM_KDF) or kdf.time_cost > 1000 or kdf.memory_kib > 4 * 1024 * 1024 \
                or kdf.parallelism > 255:
            raise ValueError("key derivation settings out of range")
        return cls(
            id=str(data["id"]), kind=data["kind"], username=str(data["username"]),
            key_id=str(data["key_id"]), kdf=kdf,
            salt=unb64(data["salt"]), nonce=unb64(data["nonce"]), wrapped=unb64(data["wrapped"]),
            escrow_nonce=unb64(data["escrow_nonce"]), escrow=unb64(data["escrow"]),
            created_at=str(data["created_at"]),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def make_slot(data_key: bytes, kind: str, username: str, secret: str, params: KdfParams,
              device_secret: bytes | None) -> Slot:
    """A new slot opening ``data_key`` with ``secret`` (slow: runs Argon2id)."""
    if not params.meets(MINIMUM_KDF):
        raise ValueError("key derivation parameters below the minimum")
    salt = new_salt()
    return _seal_slot(data_key, kind, username, password_key(secret, salt, params), salt, params,
                      device_secret)


def _seal_slot(data_key: bytes, kind: str, username: str, derived: bytes, salt: bytes,
               params: KdfParams, device_secret: bytes | None, slot_id: str | None = None) -> Slot:
    slot_id = slot_id or uuid.uuid4().hex
    bound = device_secret if kind == USER else None  # the recovery code must work on a new machine
    kek = bind(derived, bound, slot_id)
    aad = aad_for(slot_id, username or RECOVERY, params.version)
    nonce, wrapped = seal(kek, data_key, aad)
    escrow_nonce, escrow = seal(data_key, derived, aad + b" escrow")
    return Slot(slot_id, kind, username, key_id(data_key), params, salt, nonce, wrapped,
                escrow_nonce, escrow, _now())


def open_slot(slot: Slot, secret: str, device_secret: bytes | None) -> bytes:
    """The data key, or WrongSecret."""
    derived = password_key(secret, slot.salt, slot.kdf)
    bound = device_secret if slot.kind == USER else None
    return open_sealed(bind(derived, bound, slot.id), slot.nonce, slot.wrapped, slot.aad)


def rewrap(slot: Slot, old_key: bytes, new_key: bytes, device_secret: bytes | None) -> Slot:
    """The same slot (same password) opening ``new_key``, made from the escrow: no password needed."""
    derived = open_sealed(old_key, slot.escrow_nonce, slot.escrow, slot.aad + b" escrow")
    fresh = _seal_slot(new_key, slot.kind, slot.username, derived, slot.salt, slot.kdf,
                       device_secret)
    return replace(fresh, created_at=slot.created_at)


@dataclass
class SlotFile:
    path: Path
    installation_id: str
    uses_keyring: bool
    slots: list[Slot] = field(default_factory=list)

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
            if data.get("format") != FORMAT:
                raise SlotFileProblem(
                    f"The key file {path} is format {data.get('format')!r}; this version of the "
                    f"desk reads format {FORMAT}. Install the matching version of the desk.")
            return cls(path, str(data["installation_id"]), bool(data["uses_keyring"]),
                       [Slot.from_dict(item) for item in data["slots"]])
        except SlotFileProblem:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise SlotFileProblem(
                f"The key file {path} is damaged and cannot be read. Nothing was changed. Restore "
                "it from the backup made with the database.") from None

    def as_dict(self) -> dict:
        return {"format": FORMAT, "installation_id": self.installation_id,
                "uses_keyring": self.uses_keyring, "slots": [s.as_dict() for s in self.slots]}

    def save(self) -> None:
        write_atomically(self.path, json.dumps(self.as_dict(), indent=2).encode("utf-8"))

    def user_slots(self, username: str) -> list[Slot]:
        return [s for s in self.slots if s.kind == USER and s.username == username]

    def recovery_slots(self) -> list[Slot]:
        return [s for s in self.slots if s.kind == RECOVERY]

    def usernames(self) -> set[str]:
        return {s.username for s in self.slots if s.kind == USER}


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


__all__ = ["RECOVERY", "USER", "Slot", "SlotFile", "SlotFileProblem", "WrongSecret", "make_slot",
           "open_slot", "rewrap", "write_atomically"]
