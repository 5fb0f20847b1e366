"""The per-installation device secret, kept in the operating system's keyring.

A keyring that stores secrets in a plain file is not a keyring for our purposes, and
"no keyring" is never guessed: either a real backend works, or the message says what to
install, or the installation was set up with ``--no-keyring`` on purpose.
"""

from __future__ import annotations

import contextlib
import secrets

import keyring
import keyring.errors

from spoa.store.keys import KEY_BYTES, b64, unb64

SERVICE = "spoa-desk"

# Backends that do not keep a secret safely across a restart: ``fail`` and ``null`` keep
# nothing, keyrings.alt keeps secrets in a plain file. A store bound to any of them would
# lock everyone out at the next start, or bind the records to a file lying beside them.
_NOT_KEYRINGS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

NO_KEYRING_HELP = (
    "No usable keyring was found on this computer, so the records cannot be tied to this "
    "machine. On Windows and macOS the system keyring is built in; on Linux install and "
    "unlock a Secret Service keyring (GNOME Keyring or KWallet) and start the desk from "
    "your desktop session. If this computer has no keyring and your information governance "
    "lead accepts the risk, set the store up without one."
)


# Said to every user of a store set up without a keyring, at every sign-in (CLI and desk).
NOT_BOUND_NOTE = ("This store is not bound to this computer's keyring, so its files and a password "
                  "open it anywhere.")


class KeyringUnavailable(Exception):
    def __init__(self, detail: str = ""):
        self.detail = detail
        super().__init__(NO_KEYRING_HELP + (f" ({detail})" if detail else ""))


def _backends(backend) -> list:
    inner = getattr(backend, "backends", None)
    return list(inner) if inner else [backend]


def _name(backend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _refusal(backend) -> str | None:
    """Why ``backend`` cannot hold the device secret, or None if it can."""
    module = type(backend).__module__
    if module.startswith("keyrings.alt"):
        return "keeps secrets in a plain file"
    if module.startswith(_NOT_KEYRINGS):
        return "keeps nothing"
    # A backend that says it forgets at exit (an in-memory one) would lock the store at
    # the next start: refused, whatever its priority.
    if getattr(backend, "persistent", True) is False:
        return "forgets everything when the program ends"
    return None


def check_backend() -> str:
    """The name of a keyring backend that keeps secrets across restarts, or
    KeyringUnavailable saying what was found and why it cannot be used."""
    found = _backends(keyring.get_keyring())
    usable = [b for b in found if _refusal(b) is None]
    if not usable:
        refused = "; ".join(f"{_name(b)} {_refusal(b)}" for b in found)
        raise KeyringUnavailable(f"found only {refused}, which cannot be used")
    return _name(usable[0])


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
