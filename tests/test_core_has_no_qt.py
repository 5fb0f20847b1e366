"""The headless core must never pull in Qt: the CLI and tests run it without a display."""

import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import importlib, pkgutil, sys
import spoa
names = ["spoa"] + [m.name for m in pkgutil.walk_packages(spoa.__path__, "spoa.")]
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "ui"))
print(len(names), "modules;", "Qt loaded:", qt)
sys.exit(1 if qt else 0)
"""


def test_every_core_module_imports_without_qt():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    count = int(result.stdout.split()[0])
    assert count >= 10, "the probe should have found the core's modules"
