"""Shared fixtures. Every test runs with a private data folder and offscreen Qt."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["SPOA_NO_PLUGINS"] = "1"  # never load plugins that happen to be installed

pytest_plugins = ["tests.world", "tests.triage_page"]  # shared fixtures: the synthetic world, the call page

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("spoa-data")
    monkeypatch.setenv("SPOA_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def write_module(tmp_path):
    """Write a module folder from YAML text (and optional case files); return its path."""

    def write(text: str, name: str = "mod", cases: dict[str, str] | None = None) -> Path:
        folder = tmp_path / name
        (folder / "cases").mkdir(parents=True, exist_ok=True)
        (folder / "module.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        for filename, body in (cases or {}).items():
            (folder / "cases" / filename).write_text(textwrap.dedent(body), encoding="utf-8")
        return folder

    return write


# The desk's danger-now screen answered "nothing dangerous now" (it is asked first on every call).
NO_DANGER = {"now_harm": "no", "now_acted": "no", "now_means": "no", "now_with_child": "no"}

MINIMAL_MODULE = """\
format: 1
id: mini
version: 1.0.0
title: Minimal test module
description: Synthetic module for engine tests.
scale: {name: Test bands, version: "1"}
age_range: {min: 0, max: 18}
author: Test suite
sign_off: {status: draft, note: Test content}
sections:
  - id: main
    title: Main
    questions:
      - id: self_harm
        type: yes_no
        text: Recent self-harm?
        required: true
        weight: 3
      - id: treated
        type: yes_no
        text: Did it need medical treatment?
        required: true
        show_if: self_harm
      - id: how_treated
        type: single
        text: Where was it treated?
        show_if: treated
        options:
          - {value: gp, label: GP}
          - {value: hospital, label: Hospital}
      - id: areas
        type: multi
        text: Areas affected
        options:
          - {value: school, label: School, weight: 1}
          - {value: sleep, label: Sleep, weight: 1}
          - {value: eating, label: Eating, weight: 2}
      - id: weeks
        type: number
        text: For how many weeks?
        min: 0
        max: 520
        unit: weeks
        checks:
          - rule: value <= 260
            message: More than five years; check the number of weeks.
      - id: distress
        type: scale
        text: Distress now
        min: 0
        max: 10
      - id: notes
        type: text
        text: Anything else
      - id: last_seen
        type: date
        text: When last seen by a professional
scores:
  - id: impact
    label: Impact
    sum: [self_harm, areas]
    bands: [{from: 0, label: low}, {from: 3, label: high}]
flags:
  - id: treated_self_harm
    label: Self-harm needing treatment
    severity: immediate
    when: treated
    action: Arrange an emergency assessment today.
  - id: eating_concern
    label: Eating affected
    severity: moderate
    when: "'eating' in areas"
outcomes:
  - id: emergency
    when: treated_self_harm
    route: camhs
    urgency: emergency
    respond_within: 1
    contact_within: 1
    thrive: getting_risk_support
    because: Self-harm that needed treatment.
  - id: high_impact
    when: impact >= 3
    route: camhs
    urgency: routine
    respond_within: 672
    thrive: getting_help
    because: High impact on daily life.
  - id: advice
    default: yes
    route: advice
    urgency: routine
    respond_within: 120
    thrive: getting_advice
    because: No referral rule applied.
"""


@pytest.fixture
def mini_module(write_module):
    from spoa.rules.loading import load_module

    return load_module(write_module(MINIMAL_MODULE))


# -- the encrypted store ---------------------------------------------------------------------

@pytest.fixture(autouse=True)
def memory_keyring():
    """Every test gets an empty in-memory keyring; the machine's own is never touched."""
    import keyring

    from tests.memory_keyring import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


ADMIN_PASSWORD = "correct horse battery staple"  # synthetic
PRACTITIONER_PASSWORD = "practitioner pass 1"
SUPERVISOR_PASSWORD = "supervisor pass 12"


@pytest.fixture
def store_folder(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def new_store(store_folder):
    """An initialised store (admin open), its recovery code, at the minimum KDF settings
    (the floor the product enforces; init would otherwise calibrate upwards)."""
    from spoa.store.keys import MINIMUM_KDF
    from spoa.store.store import Store

    store, code = Store.init(store_folder, admin_username="admin", admin_display_name="Ada Admin",
                             admin_password=ADMIN_PASSWORD, kdf=MINIMUM_KDF)
    try:
        yield store, code
    finally:
        store.lock()


@pytest.fixture
def staffed_store(new_store, store_folder):
    """A store with an admin, a practitioner and a supervisor who have set their passwords.
    Returns a function that opens the store as one of them."""
    from spoa.roles import Role
    from spoa.store.store import Store

    admin, _ = new_store
    admin.add_user("pat", "Pat Practitioner", Role.PRACTITIONER, "temporary pass 1")
    admin.add_user("sam", "Sam Supervisor", Role.SUPERVISOR, "temporary pass 2")
    admin.lock()  # each test opens the store as whoever it needs
    for name, temporary, chosen in (("pat", "temporary pass 1", PRACTITIONER_PASSWORD),
                                    ("sam", "temporary pass 2", SUPERVISOR_PASSWORD)):
        with Store.unlock(store_folder, name, temporary) as first_login:
            first_login.change_password(temporary, chosen)
    passwords = {"admin": ADMIN_PASSWORD, "pat": PRACTITIONER_PASSWORD, "sam": SUPERVISOR_PASSWORD}

    def open_as(username: str) -> Store:
        return Store.unlock(store_folder, username, passwords[username])

    return open_as


PASSWORDS = {"admin": ADMIN_PASSWORD, "pat": PRACTITIONER_PASSWORD, "sam": SUPERVISOR_PASSWORD}


@pytest.fixture
def spoa(staffed_store, store_folder, monkeypatch, capsys):
    """spoa(user, *args) -> (exit code, stdout, stderr): the CLI run in this process as that
    user of the staffed store."""
    from spoa.cli import main

    def run(user: str, *args):
        monkeypatch.setenv("SPOA_USER", user)
        monkeypatch.setenv("SPOA_PASSWORD", PASSWORDS[user])
        code = main([str(a) for a in (*args, "--data-dir", store_folder)])
        out, err = capsys.readouterr()
        return code, out, err

    return run
