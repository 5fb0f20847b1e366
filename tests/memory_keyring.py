"""The in-memory keyring the tests use in place of the operating system's.

It lives under tests/ only, so the desk and the command line can never load it, and keyring
never picks it by itself even here: its priority says it is not viable, so only a test's
explicit ``keyring.set_keyring(...)`` puts it in place. Within one test it stands for a real
OS keyring (it keeps what it was given across the test's simulated restarts), which is why
the store accepts it; ``ForgetfulKeyring`` is the kind the store must refuse.
"""

from __future__ import annotations

import keyring.backend
import keyring.errors
from jaraco.classes.properties import classproperty


def _only_set_explicitly(cls) -> float:
    raise RuntimeError(f"{cls.__name__} is a test backend: only ever set explicitly")


# A priority that raises makes a backend not viable, so keyring never picks it by itself.
never_chosen = classproperty(_only_set_explicitly)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Secrets kept for the life of one test."""

    priority = never_chosen

    def __init__(self):
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def __str__(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}"

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.secrets:
            raise keyring.errors.PasswordDeleteError("no such secret")
        del self.secrets[(service, username)]


class ForgetfulKeyring(MemoryKeyring):
    """A keyring that says it forgets at exit, as an in-memory one would in production."""

    persistent = False
