"""The desk's settings on this machine (no patient data): how soon an idle desk locks, where
letters are saved when sent to a folder, and how the desk reads (text size, high contrast:
set from the View menu and used from the first window on, unlock included). Kept as JSON
beside the store, written whole or not at all, readable by its owner only. SMTP settings
have their own file (``spoa.letters.outbox.SmtpSettings``) and the SMTP password lives in
the OS keyring."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from spoa.store.keyslots import write_atomically

SETTINGS_FILE = "desk-settings.json"
DEFAULT_IDLE_LOCK_MINUTES = 10
MAX_IDLE_LOCK_MINUTES = 15  # the hub's information governance ceiling
TEXT_SIZES = (100, 150, 200)  # per cent of the system's font size


class SettingsProblem(ValueError):
    """A setting cannot be used; the message names it and says what is allowed."""


@dataclass(frozen=True)
class DeskSettings:
    idle_lock_minutes: int = DEFAULT_IDLE_LOCK_MINUTES
    outbox_folder: str = ""  # where 'save to folder' puts letters (e.g. a secure shared drive)
    text_size_percent: int = 100
    high_contrast: bool = False

    def __post_init__(self) -> None:
        minutes = self.idle_lock_minutes
        whole = isinstance(minutes, int) and not isinstance(minutes, bool)
        if not whole or not 1 <= minutes <= MAX_IDLE_LOCK_MINUTES:
            raise SettingsProblem(f"The idle lock must be a whole number of minutes from 1 to "
                                  f"{MAX_IDLE_LOCK_MINUTES}.")
        if not isinstance(self.outbox_folder, str):
            raise SettingsProblem("The outbox folder must be a folder path.")
        if isinstance(self.text_size_percent, bool) or self.text_size_percent not in TEXT_SIZES:
            raise SettingsProblem(f"The text size must be one of {', '.join(map(str, TEXT_SIZES))} per cent.")
        if not isinstance(self.high_contrast, bool):
            raise SettingsProblem("High contrast must be true or false.")

    def changed(self, **changes) -> DeskSettings:
        return replace(self, **changes)

    def save(self, folder: Path) -> Path:
        path = Path(folder) / SETTINGS_FILE
        Path(folder).mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(asdict(self), indent=2).encode("utf-8"))
        return path

    @classmethod
    def load(cls, folder: Path) -> DeskSettings:
        """The saved settings, or the defaults if none were saved. A damaged file is an
        error naming the file (the desk never silently forgets a stricter idle lock)."""
        path = Path(folder) / SETTINGS_FILE
        if not path.is_file():
            return cls()
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SettingsProblem(f"{path} cannot be read. Delete it to return to the default "
                                  "settings, then set them again.") from None
        if not isinstance(values, dict):
            raise SettingsProblem(f"{path} is not a settings file. Delete it and set the settings again.")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsProblem(f"{path}: unknown settings {', '.join(unknown)}.")
        try:
            return cls(**values)
        except SettingsProblem as exc:
            raise SettingsProblem(f"{path}: {exc}") from None
