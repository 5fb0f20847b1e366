"""Failed sign-ins per username, the delay they earn, and the failures not yet audited.

Kept outside the database (which cannot be opened when the password is wrong); not secret,
it only slows down guessing. Each attempt is counted before its secret is checked, one
process at a time, so that simultaneous attempts cannot all slip past the delay.

Every failure (a wrong password, for a user or a made-up username; a wrong recovery code;
at unlock or at restore) is also kept in a list of its own until the next sign-in of
*anyone* writes it into the audit trail: not only the next sign-in of that user, and
whatever happens meanwhile (a password reset by an administrator clears the delay, not
the list).

No typed username is kept in the clear (it might be a name, or a password typed into the
wrong box): each is kept as a keyed hash (HMAC-SHA256 under a random salt of the file's
own), which the next sign-in compares with the store's usernames; one that matches none
is audited as an unknown username. (The salt is beside the hashes, so a guess can be
checked against them: this keeps typed text out of sight, it does not make it secret.)

The file: ``{"salt": hex, "users": {tag: {"failures", "last", "pending"}}, "unaudited":
[[tag, when], ...], "dropped": n}``. The flat ``{name: {...}}`` of earlier versions, with
names in the clear, is read too."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock
from filelock import Timeout as FileLockTimeout

from spoa.store.database import StoreError
from spoa.store.keyslots import write_atomically

ATTEMPTS_FILE = "unlock-attempts.json"
FREE_ATTEMPTS = 5
FIRST_DELAY_SECONDS = 30
LONGEST_DELAY_SECONDS = 15 * 60


class LockedOut(StoreError):
    def __init__(self, wait_seconds: int):
        self.wait_seconds = wait_seconds
        super().__init__(
            f"Too many failed attempts. Wait {wait_seconds} seconds before trying again, or ask "
            "an administrator to reset the password.")


class UnlockAttempts:
    """Failed unlocks per username, kept outside the database (which cannot be opened
    when the password is wrong). Not secret: it only slows down guessing.

    An attempt is counted before its secret is checked (``begin``), under a file lock, so
    that simultaneous attempts cannot all slip past the delay; it is settled as a failure
    (``failed``), forgiven when the problem was not the secret (``cancel``), or cleared with
    every earlier failure (``succeeded``). An attempt whose process died is forgotten after
    PENDING_SECONDS. The file keeps at most MAX_NAMES usernames (the most recent)."""

    PENDING_SECONDS = 120
    MAX_NAMES = 100
    MAX_UNAUDITED = 500  # beyond that, only their number is kept (``dropped``)

    def __init__(self, folder: Path):
        self.path = folder / ATTEMPTS_FILE
        lock = _lock_path(folder)
        self._lock = FileLock(str(lock), timeout=30) if lock is not None else contextlib.nullcontext()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        if not isinstance(data.get("salt"), str):  # an earlier version's file: names in the clear
            named = data.get("users") if isinstance(data.get("users"), dict) else data
            salt = secrets.token_hex(16)
            users = {_tag(salt, name): entry for name, entry in named.items() if isinstance(entry, dict)}
            unaudited = [[tag, when] for tag, entry in users.items()
                         for when in entry.pop("times", []) if isinstance(when, str)]
            unaudited += [[_tag(salt, str(item[0])), item[1]] for item in data.get("unaudited", [])
                          if isinstance(item, list) and len(item) == 2]
            data = {"salt": salt, "users": users, "unaudited": unaudited, "dropped": 0}
        if not isinstance(data.get("users"), dict):
            data["users"] = {}
        if not isinstance(data.get("unaudited"), list):
            data["unaudited"] = []
        if not isinstance(data.get("dropped"), int):
            data["dropped"] = 0
        return data

    def _write(self, data: dict) -> None:
        users = data["users"]
        if len(users) > self.MAX_NAMES:  # 300 made-up usernames must not grow it for ever
            newest = sorted(users, key=lambda name: _latest(users[name]), reverse=True)[:self.MAX_NAMES]
            data["users"] = {name: users[name] for name in newest}
        if len(data["unaudited"]) > self.MAX_UNAUDITED:
            data["dropped"] += len(data["unaudited"]) - self.MAX_UNAUDITED
            data["unaudited"] = data["unaudited"][-self.MAX_UNAUDITED:]
        # Best effort: a folder that cannot be written is reported by the database itself.
        with contextlib.suppress(OSError):
            if data["users"] or data["unaudited"] or data["dropped"]:
                write_atomically(self.path, json.dumps(data).encode("utf-8"))
            else:  # nothing to remember: no file (an attempt cancelled leaves the folder as it was)
                self.path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        try:
            with self._lock:
                data = self._read()
                yield data
                self._write(data)
        except FileLockTimeout:
            raise StoreError("Another sign-in on this store is taking too long; try again in a "
                             "moment.") from None

    def _entry(self, data: dict, username: str, now: float) -> dict:
        entry = data["users"].setdefault(_tag(data["salt"], username),
                                         {"failures": 0, "last": 0, "pending": []})
        entry["pending"] = [t for t in entry.get("pending", []) if now - t < self.PENDING_SECONDS]
        return entry

    @staticmethod
    def _wait(entry: dict | None, now: float) -> int:
        if not entry:
            return 0
        counted = entry.get("failures", 0) + len(entry.get("pending", []))
        if counted < FREE_ATTEMPTS:
            return 0
        delay = min(LONGEST_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (counted - FREE_ATTEMPTS))
        return max(0, int(_latest(entry) + delay - now + 0.999))

    def wait_seconds(self, username: str, now: float | None = None) -> int:
        now = now if now is not None else time.time()
        data = self._read()
        entry = data["users"].get(_tag(data["salt"], username))
        if entry:
            entry = {**entry, "pending": [t for t in entry.get("pending", [])
                                          if now - t < self.PENDING_SECONDS]}
        return self._wait(entry, now)

    def begin(self, username: str) -> None:
        """Count an attempt before its secret is checked; LockedOut if it must wait."""
        now = time.time()
        with self._locked() as data:
            entry = self._entry(data, username, now)
            wait = self._wait(entry, now)
            if not wait:
                entry["pending"].append(now)
        if wait:
            raise LockedOut(wait)

    def failures(self, username: str) -> int:
        """The failures counted for ``username`` since their last sign-in or reset."""
        data = self._read()
        return int(data["users"].get(_tag(data["salt"], username), {}).get("failures", 0))

    def failed(self, username: str) -> int:
        """The attempt's secret was wrong: the number of failures now. It waits for the
        audit trail (``audit_unaudited``)."""
        now = time.time()
        with self._locked() as data:
            entry = self._entry(data, username, now)
            if entry["pending"]:
                entry["pending"].pop(0)
            entry["failures"] += 1
            entry["last"] = now
            data["unaudited"].append([_tag(data["salt"], username), _now()])
            return entry["failures"]

    def cancel(self, username: str) -> None:
        """The attempt failed for another reason (no keyring, a damaged file): not counted."""
        with self._locked() as data:
            tag = _tag(data["salt"], username)
            entry = data["users"].get(tag)
            if entry and entry.get("pending"):
                entry["pending"].pop(0)
                if not entry["pending"] and not entry.get("failures"):
                    del data["users"][tag]

    def succeeded(self, username: str) -> None:
        """Forget the user's failures (their delay); the audit still gets each one."""
        with self._locked() as data:
            data["users"].pop(_tag(data["salt"], username), None)

    def audit_unaudited(self, names: Iterable[str],
                        write: Callable[[list[tuple[str, str]], int], None]) -> None:
        """Hand every failure not yet in an audit trail to ``write`` as ``(username,
        when)``, the username one of ``names`` or "" when it is none of them, with the
        number dropped beyond the cap; forget them once it returns. If it raises, they
        stay for the next sign-in; under the file lock, so that two desks signing in at
        once do not both write them."""
        with self._locked() as data:
            known = {_tag(data["salt"], name): name for name in names}
            found = [(known.get(str(tag), ""), str(when)) for tag, when in data["unaudited"]]
            if found or data["dropped"]:
                write(found, int(data["dropped"]))
            data["unaudited"], data["dropped"] = [], 0


def _lock_path(folder: Path) -> Path | None:
    """Where sign-ins to the store in ``folder`` take turns: an empty file in a folder of
    this OS user's own (never in the store's folder, which may be read-only, and whose files
    are the store's). None if that folder cannot be made or is not safely ours: the counter
    then works as before, without taking turns."""
    place = Path(tempfile.gettempdir()) / f"spoa-desk-locks-{getattr(os, 'getuid', lambda: 'user')()}"
    try:
        place.mkdir(mode=0o700, exist_ok=True)
        info = place.lstat()
        if stat.S_ISLNK(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            return None
    except OSError:
        return None
    name = hashlib.sha256(str(Path(folder).resolve()).encode("utf-8")).hexdigest()[:32]
    return place / f"{name}.lock"


def _latest(entry: dict) -> float:
    return max([entry.get("last", 0), *entry.get("pending", [])])


class Attempt:
    """One sign-in attempt being checked (see ``counted_attempt``)."""

    def __init__(self, counter: UnlockAttempts | None, username: str):
        self.counter, self.username, self.settled = counter, username, False

    def failed(self) -> int:
        """The secret was wrong: the number of failures now (0 where nothing is counted)."""
        self.settled = True
        return self.counter.failed(self.username) if self.counter is not None else 0


@contextlib.contextmanager
def counted_attempt(counter: UnlockAttempts | None, username: str) -> Iterator[Attempt]:
    """Count an attempt while its secret is checked: LockedOut if it must wait first; on
    leaving, an attempt not marked ``failed`` (right, or failing for another reason) is not
    counted. With no counter (a folder made by this restore), nothing is counted."""
    if counter is not None:
        counter.begin(username)
    attempt = Attempt(counter, username)
    try:
        yield attempt
    finally:
        if counter is not None and not attempt.settled:
            counter.cancel(username)


def _tag(salt: str, username: str) -> str:
    """A typed username as the file keeps it: never in the clear."""
    return hmac.new(bytes.fromhex(salt), username.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["ATTEMPTS_FILE", "FREE_ATTEMPTS", "Attempt", "LockedOut", "UnlockAttempts", "counted_attempt"]
