"""The desk's own settings file: values checked when set and when read back, written whole,
owner-only, and a damaged or unknown setting named instead of silently dropped."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spoa.settings import MAX_IDLE_LOCK_MINUTES, SETTINGS_FILE, TEXT_SIZES, DeskSettings, SettingsProblem


def test_defaults_when_nothing_was_saved(tmp_path):
    settings = DeskSettings.load(tmp_path)
    assert settings == DeskSettings(idle_lock_minutes=10, outbox_folder="", text_size_percent=100,
                                    high_contrast=False)


def test_saved_settings_come_back_and_the_file_is_private(tmp_path):
    chosen = DeskSettings().changed(idle_lock_minutes=15, outbox_folder="/mnt/secure drive",
                                    text_size_percent=200, high_contrast=True)
    path = chosen.save(tmp_path)
    assert DeskSettings.load(tmp_path) == chosen
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600


@given(st.integers(min_value=-100, max_value=100))
def test_the_idle_lock_is_one_to_fifteen_whole_minutes(minutes):
    if 1 <= minutes <= MAX_IDLE_LOCK_MINUTES:
        assert DeskSettings(idle_lock_minutes=minutes).idle_lock_minutes == minutes
    else:
        with pytest.raises(SettingsProblem, match="1 to 15"):
            DeskSettings(idle_lock_minutes=minutes)


@pytest.mark.parametrize("bad", [10.5, "10", True, None])
def test_an_idle_lock_that_is_not_a_whole_number_is_refused(bad):
    with pytest.raises(SettingsProblem, match="whole number of minutes"):
        DeskSettings(idle_lock_minutes=bad)


@given(st.integers(min_value=0, max_value=400) | st.booleans())
def test_text_size_is_one_of_the_offered_sizes(size):
    if size in TEXT_SIZES and not isinstance(size, bool):
        assert DeskSettings(text_size_percent=size).text_size_percent == size
    else:
        with pytest.raises(SettingsProblem, match="100, 150, 200"):
            DeskSettings(text_size_percent=size)


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "cannot be read"),
    ("[1, 2]", "not a settings file"),
    (json.dumps({"idle_lock_minutes": 60}), "1 to 15"),
    (json.dumps({"idle_lock_minutes": 5, "colour": "blue"}), "unknown settings colour"),
    (json.dumps({"high_contrast": "yes"}), "true or false"),
])
def test_a_damaged_file_is_named_never_silently_replaced_by_defaults(tmp_path, content, says):
    (tmp_path / SETTINGS_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(SettingsProblem, match=says) as caught:
        DeskSettings.load(tmp_path)
    assert SETTINGS_FILE in str(caught.value)
