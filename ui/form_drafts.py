"""Telling a person, after they unlock, that what they were typing when the desk locked
could not be kept (spoa.drafts refused it: a field too long, a character that cannot be
stored). The draft is saved on the store thread just before the key is dropped, so its
failure arrives when nobody is signed in; the page keeps the message (it names the field,
never what was typed) for that same person."""

from __future__ import annotations

from ui.problems import user_message


class LostDraftNotice:
    def __init__(self) -> None:
        self._pending: tuple[str, str] | None = None

    def remember(self, username: str, exc: BaseException) -> None:
        self._pending = (username, user_message(exc) or "it could not be stored")

    def take(self, username: str) -> str | None:
        """The message for ``username`` (once), or None."""
        if self._pending is None or self._pending[0] != username:
            return None
        problem = self._pending[1]
        self._pending = None
        return (f"What you were typing when the desk locked could not be kept: {problem} "
                "Please type it again.")
