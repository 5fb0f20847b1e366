"""Where the desk keeps things on this machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "spoa-desk"
APP_AUTHOR = "SPOA"
DATA_DIR_VARIABLE = "SPOA_DATA_DIR"


POINTER_FILE = "data-folder.txt"  # names the folder chosen at setup, when not the usual one


def home_data_dir() -> Path:
    """The usual data folder: SPOA_DATA_DIR if set (tests, portable installs), else the
    operating system's place for the user's application data."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def remembered_data_dir(home: Path | None = None) -> Path | None:
    """The folder chosen at setup (the desktop app's setup wizard) if one was, from the
    pointer file in ``home``: the desk and the command line both follow it."""
    home = home if home is not None else home_data_dir()
    try:
        remembered = (home / POINTER_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(remembered) if remembered else None


def data_dir() -> Path:
    """Where the desk's records and settings are: the folder chosen at setup, else the
    usual one (home_data_dir)."""
    home = home_data_dir()
    return remembered_data_dir(home) or home


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
