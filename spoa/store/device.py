"""The per-installation device secret, kept in the operating system's keyring.

A keyring that stores secrets in a plain file is not a keyring for our purposes, and
"no keyring" is never guessed: either a real backend works, or the message says what to
install, or the installation was set up with ``--no-keyring`` on purpose.
"""

from __future__ import annotations

import contextlib
import secrets

import keyring
import keyring.backend
import keyring.errors

from spoa.store.keys import KEY_BYTES, b64, unb64

SERVICE = "spoa-desk"

_NOT_KEYRINGS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

NO_KEYRING_HELP = (
    "No usable keyring was found on this computer, so the records cannot be tied to this "
    "machine. On Windows and macOS the system keyring is built in; on Linux install and "
    "unlock a Secret Service keyring (GNOME Keyring or KWallet) and start the desk from "
    "your desktop session. If this computer has no keyring and your information governance "
    "lead accepts the risk, set the store up with 'spoa init --no-keyring'."
)


class KeyringUnavailable(Exception):
    def __init__(self, detail: str = ""):
        self.detail = detail
        super().__init__(NO_KEYRING_HELP + (f" ({detail})" if detail else ""))


def _backends(backend) -> list:
    inner = getattr(backend, "backends", None)
    return list(inner) if inner else [backend]


def check_backend() -> str:
    """The name of a usable keyring backend, or KeyringUnavailable saying what to do."""
    backend = keyring.get_keyring()
    usable = [b for b in _backends(backend)
              if not type(b).__module__.startswith(_NOT_KEYRINGS)
              and getattr(b, "priority", 0) > 0]
    if not usable:
        names = ", ".join(f"{type(b).__module__}.{type(b).__name__}" for b in _backends(backend))
        if any(type(b).__module__.startswith("keyrings.alt") for b in _backends(backend)):
            raise KeyringUnavailable(f"{names} keeps secrets in a plain file and is refused")
        raise KeyringUnavailable(f"found only: {names}")
    return f"{type(usable[0]).__module__}.{type(usable[0]).__name__}"


def create_device_secret(installation_id: str) -> bytes:
    check_backend()
    secret = secrets.token_bytes(KEY_BYTES)
    try:
        keyring.set_password(SERVICE, installation_id, b64(secret))
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the keyring refused to store a secret: {type(exc).__name__}") from None
    if read_device_secret(installation_id) != secret:
        raise KeyringUnavailable("the keyring did not keep the secret it was given")
    return secret


def read_device_secret(installation_id: str) -> bytes | None:
    """This installation's device secret, or None if the keyring no longer has it."""
    check_backend()
    try:
        stored = keyring.get_password(SERVICE, installation_id)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the keyring could not be read: {type(exc).__name__}") from None
    if stored is None:
        return None
    try:
        secret = unb64(stored)
    except ValueError:
        return None
    return secret if len(secret) == KEY_BYTES else None


def delete_device_secret(installation_id: str) -> None:
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        keyring.delete_password(SERVICE, installation_id)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps secrets in this process only.

    For tests, benchmarks and the packaged self-test (``keyring.set_keyring(MemoryKeyring())``).
    It is never chosen by keyring on its own: it is not registered as a backend.
    """

    priority = 1

    def __init__(self):
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.secrets:
            raise keyring.errors.PasswordDeleteError("no such secret")
        del self.secrets[(service, username)]
