"""Where the desk keeps things on this machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "spoa-desk"
APP_AUTHOR = "SPOA"
DATA_DIR_VARIABLE = "SPOA_DATA_DIR"


def data_dir() -> Path:
    """The user's data folder; SPOA_DATA_DIR overrides it (tests, portable installs)."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def user_rules_dir() -> Path:
    return data_dir() / "rules"


def install_root() -> Path:
    """The folder holding triage_rules/ and resources/, also when frozen by PyInstaller."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def builtin_rules_dir() -> Path:
    return install_root() / "triage_rules"


def resources_dir() -> Path:
    return install_root() / "resources"
