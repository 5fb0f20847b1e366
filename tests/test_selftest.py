"""The self-test the packaged app runs (``spoa self-test`` / ``spoa-desk --self-test``): it
passes on a working installation, reports a broken part while the other checks still run,
and leaves the keyring, the environment and the disk as it found them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from spoa import selftest
from spoa.cli import main as spoa
from spoa.letters.content import LetterKind
from spoa.paths import builtin_rules_dir
from tests.conftest import REPO
from tests.memory_keyring import ForgetfulKeyring, MemoryKeyring

LETTER_CHECKS = ["letters: referral to CAMHS", "letters: referral to school nursing",
                 "letters: referral to the voluntary sector", "letters: advice response",
                 "letters: outcome to referrer", "letters: not accepted"]


@pytest.fixture
def own_keyring():
    """A keyring backend of the test's own, put back afterwards."""
    previous = keyring.get_keyring()
    mine = MemoryKeyring()
    keyring.set_keyring(mine)
    yield mine
    keyring.set_keyring(previous)


def test_the_whole_self_test_passes_and_leaves_nothing_behind(own_keyring, private_data_dir, monkeypatch):
    monkeypatch.delenv("SPOA_NO_PLUGINS")
    lines: list[str] = []
    seen_during_run: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        seen_during_run.append(os.environ.get("SPOA_DATA_DIR", ""))

    result = selftest.run(report=report)

    assert [c.line() for c in result.checks if not c.passed] == []
    assert result.ok
    assert lines[-1] == f"{len(result.checks)} passed, 0 failed"
    assert lines[:-1] == [c.line() for c in result.checks]
    assert all(line.startswith("PASS  ") for line in lines[:-1])
    names = [c.name for c in result.checks]
    assert names[:2] == ["keyring: the one this desk would use",
                         "store: encrypted on disk, reopened with the password"]
    assert names[-1] == "audit: hash chain"
    assert set(LETTER_CHECKS) <= set(names)
    assert len(LETTER_CHECKS) == len(LetterKind)
    modules = sorted(p.name for p in builtin_rules_dir().iterdir() if (p / "module.yaml").is_file())
    for module_id in modules:
        (line,) = [line for line in lines if line.startswith(f"PASS  rules: {module_id} — ")]
        assert line.endswith(" vignettes")
    assert "tests.memory_keyring.MemoryKeyring keeps a secret and gives it back" in lines[0]
    assert "SQLCipher" in lines[1]
    assert "Zoë" not in "\n".join(lines)  # no synthetic record's data in the report either

    # Nothing left behind: the keyring, the variables, the temporary folder, the real data folder.
    assert keyring.get_keyring() is own_keyring
    assert own_keyring.secrets == {}
    assert os.environ["SPOA_DATA_DIR"] == str(private_data_dir)
    assert "SPOA_NO_PLUGINS" not in os.environ
    assert seen_during_run[-1] == str(private_data_dir)  # the closing line comes after the clean-up
    temporary_data = {Path(d) for d in seen_during_run[:-1]}
    assert len(temporary_data) == 1
    (used,) = temporary_data
    assert used != private_data_dir
    assert not used.parent.exists()
    assert list(private_data_dir.iterdir()) == []
    assert result.seconds < 60


def frozen_root_without_wording(tmp_path: Path) -> Path:
    """An install folder as a faulty build might leave it: the rule modules, fonts, letterhead
    and example directory bundled, but no letter wording."""
    root = tmp_path / "frozen"
    shutil.copytree(REPO / "triage_rules", root / "triage_rules")
    for part in ("fonts", "letterhead", "directory"):
        shutil.copytree(REPO / "resources" / part, root / "resources" / part)
    return root


def test_a_missing_resource_fails_its_checks_and_the_rest_still_run(tmp_path, monkeypatch, capsys,
                                                                    own_keyring):
    # PyInstaller's sys._MEIPASS is where a frozen app finds triage_rules/ and resources/.
    monkeypatch.setattr(sys, "_MEIPASS", str(frozen_root_without_wording(tmp_path)), raising=False)
    before = dict(os.environ)

    assert spoa(["self-test"]) == 1

    out = capsys.readouterr().out
    lines = out.splitlines()
    failed = [line for line in lines if line.startswith("FAIL  ")]
    assert [line.split(" — ")[0] for line in failed] == [
        "FAIL  resources: letter wording", *(f"FAIL  {name}" for name in LETTER_CHECKS)]
    assert all("wording.yaml does not exist" in line for line in failed)
    passed = [line for line in lines if line.startswith("PASS  ")]
    for still_runs in ("PASS  store: ", "PASS  resources: letter fonts", "PASS  rules: camhs_general",
                       "PASS  letters: hub set up", "PASS  audit: hash chain"):
        assert any(line.startswith(still_runs) for line in passed), still_runs
    assert lines[-1] == f"{len(passed)} passed, {len(failed)} failed"
    assert len(lines) == len(passed) + len(failed) + 1
    assert "Traceback" not in out
    assert dict(os.environ) == before
    assert keyring.get_keyring() is own_keyring


class _KeyringThatDropsSecrets(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        pass


@pytest.mark.parametrize(("backend", "passes", "says"), [
    (fail.Keyring(), True, "none usable on this computer (found only keyring.backends.fail.Keyring keeps "
                           "nothing, which cannot be used); the desk will offer to set up without one"),
    (ForgetfulKeyring(), True, "forgets everything when the program ends"),
    (_KeyringThatDropsSecrets(), False, "did not give back the secret it was given"),
], ids=["no keyring", "in-memory", "loses secrets"])
def test_the_keyring_check_is_about_the_keyring_the_desk_would_really_use(backend, passes, says):
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        result = selftest.run(report=lambda line: None)
    finally:
        keyring.set_keyring(previous)
    (check,) = [c for c in result.checks if c.name == "keyring: the one this desk would use"]
    assert check.passed is passes
    assert says in check.detail
    # The temporary store is never bound to a keyring, so the rest passes whatever the keyring.
    assert all(c.passed for c in result.checks if c is not check)


def test_an_unexpected_error_is_reported_by_its_type_only():
    assert selftest.reason_of(ValueError("Zoë Ó Briain 999 876 5439")) == "unexpected ValueError"
    assert selftest.reason_of(selftest.CheckFailed("the PDF text lacks the page numbers")) == \
        "the PDF text lacks the page numbers"


def test_spoa_self_test_exits_0_from_source_with_no_display_and_no_qt(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["SPOA_DATA_DIR"] = str(tmp_path / "data")
    script = ("import sys\nfrom spoa.cli import main\ncode = main(['self-test'])\n"
              "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
              "print('qt modules:', qt)\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines[-1] == "qt modules: []"
    passed = sum(1 for line in lines if line.startswith("PASS  "))
    assert lines[-2] == f"{passed} passed, 0 failed"
    assert passed >= 16
    assert done.stderr == ""
    assert not (tmp_path / "data").exists()  # the user's data folder is never used
