"""The packaged app (build.spec) without running PyInstaller: what the build leaves out is
never imported by the app, and the launchers the frozen programs start from work.

The frozen build itself is made and checked by .ci/run (`make build`, then
`dist/spoa-desk/spoa-desk --self-test`)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"
LISTS = ("QT_UNUSED", "TOOLS_UNUSED", "PYTHON_UNUSED", "PIL_UNUSED", "DEVELOPER_MODULES")


def spec_lists() -> dict[str, list[str]]:
    """The spec's lists of what the build leaves out (plain literals in build.spec)."""
    found = {}
    for node in ast.parse(SPEC.read_text(encoding="utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and target.id in LISTS:
            found[target.id] = ast.literal_eval(node.value)
    assert sorted(found) == sorted(LISTS), "build.spec lost one of its lists of what it leaves out"
    return found


def left_out() -> list[str]:
    lists = spec_lists()
    return ([f"PySide6.{name}" for name in lists["QT_UNUSED"]] + lists["TOOLS_UNUSED"]
            + lists["PYTHON_UNUSED"] + lists["PIL_UNUSED"] + lists["DEVELOPER_MODULES"])


def within(module: str, names: list[str]) -> str | None:
    return next((name for name in names if module == name or module.startswith(name + ".")), None)


def app_sources() -> list[Path]:
    developer = {ROOT / (name.replace(".", "/") + ".py") for name in spec_lists()["DEVELOPER_MODULES"]}
    return [path for folder in ("spoa", "ui") for path in sorted((ROOT / folder).rglob("*.py"))
            if path not in developer]


def test_no_import_in_the_app_names_a_module_the_build_leaves_out():
    # Also imports inside functions, which only run later (a page's first use, an export).
    names = left_out()
    found = []
    for path in app_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {module} (left out as {hit})"
                      for module in modules if (hit := within(module, names))]
    assert found == []


def test_importing_the_whole_app_loads_nothing_the_build_leaves_out():
    # Libraries' own imports count too: a fresh interpreter imports every module the build
    # collects (spoa.*, ui.* but the developer tools), as the frozen app may, and lists what
    # that loaded (not what the interpreter loaded at start, e.g. the venv's .pth files).
    script = (
        "import sys\n"
        "started = set(sys.modules)\n"
        "import importlib, json, pkgutil\n"
        "import spoa, ui\n"
        "skip = set(json.loads(sys.argv[1]))\n"
        "for package in (spoa, ui):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if info.name not in skip and not info.name.endswith('__main__'):\n"
        "            importlib.import_module(info.name)\n"
        "import pypdfium2, keyring\n"
        "keyring.get_keyring()\n"
        "print(json.dumps(sorted(set(sys.modules) - started)))\n"
    )
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(spec_lists()["DEVELOPER_MODULES"])],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "ui.shell" in loaded  # the walk did import the app
    assert "spoa.cli" in loaded
    names = left_out()
    assert [module for module in loaded if within(module, names)] == []


def test_the_command_line_launcher_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "spoa", "nhs-number", "999 876 5439"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "9998765439" in done.stdout.replace(" ", "")


def test_the_desk_launcher_runs_the_self_test_with_no_display(tmp_path):
    # The path the frozen spoa-desk takes: ui/__main__.py -> freeze_support -> ui.app.main.
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    environment["SPOA_DATA_DIR"] = str(tmp_path / "untouched")
    script = ("import runpy, sys\n"
              "sys.argv = ['spoa-desk', '--self-test']\n"
              "try:\n"
              "    runpy.run_module('ui', run_name='__main__')\n"
              "except SystemExit as stop:\n"
              "    print('exit', stop.code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "exit 0", done.stdout[-2000:] + done.stderr[-2000:]
    assert lines[-2].endswith(" passed, 0 failed")
    assert not (tmp_path / "untouched").exists()
