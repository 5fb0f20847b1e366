"""Discovery: built-in, user folder and plugins; broken modules listed, never fatal."""

import shutil

import pytest

from spoa.hookspecs import hookimpl
from spoa.plugins import BUILTIN, USER, make_plugin_manager
from spoa.rules.catalog import discover, survey
from tests.conftest import MINIMAL_MODULE, REPO


@pytest.fixture
def manager():
    pm, failures = make_plugin_manager(load_entry_points=False)
    assert failures == []
    return pm


def test_builtin_modules_are_found(manager):
    catalog = discover(manager)
    builtin = [item for item in catalog.listings if item.source == BUILTIN]
    assert {item.id for item in builtin} >= {"camhs_general", "professional_advice", "urgency_screen"}
    assert all(item.ok for item in builtin), [item.error for item in builtin]


def test_user_folder_modules_load_and_a_broken_one_does_not_stop_them(manager, private_data_dir):
    rules = private_data_dir / "rules"
    (rules / "mini").mkdir(parents=True)
    (rules / "mini" / "module.yaml").write_text(MINIMAL_MODULE)
    (rules / "broken").mkdir()
    (rules / "broken" / "module.yaml").write_text(MINIMAL_MODULE.replace("id: mini", "id: broken")
                                                  .replace("when: treated\n", "when: treatd\n"))
    catalog = discover(manager)
    by_id = {item.id: item for item in catalog.listings}
    assert by_id["mini"].ok
    assert by_id["mini"].source == USER
    assert not by_id["broken"].ok
    assert "did you mean 'treated'" in by_id["broken"].error
    assert "broken" not in catalog.modules
    assert "mini" in catalog.modules
    assert by_id["camhs_general"].ok


def test_a_plugin_adds_modules_and_duplicates_are_refused(manager, tmp_path):
    shutil.copytree(REPO / "triage_rules" / "urgency_screen", tmp_path / "copy")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "module.yaml").write_text(MINIMAL_MODULE)

    class TrustRules:
        @hookimpl
        def spoa_rule_module_dirs(self):
            return [tmp_path / "copy", tmp_path / "extra"]

    plugin = TrustRules()
    manager.register(plugin, name="plugin:trust")
    try:
        catalog = discover(manager)
    finally:
        manager.unregister(plugin)
    extra = catalog.listing("mini")
    assert extra.ok
    assert extra.source == "plugin:trust"
    duplicates = [i for i in catalog.listings if i.id == "urgency_screen"]
    assert [d.ok for d in duplicates] == [True, False]
    assert "duplicate module id" in duplicates[1].error
    assert catalog.get("urgency_screen").path == REPO / "triage_rules" / "urgency_screen"


def test_a_failing_plugin_is_reported_not_fatal(manager):
    class Broken:
        @hookimpl
        def spoa_rule_module_dirs(self):
            raise RuntimeError("boom")

    plugin = Broken()
    manager.register(plugin, name="plugin:broken")
    try:
        catalog = discover(manager)
    finally:
        manager.unregister(plugin)
    (failed,) = [i for i in catalog.listings if i.source == "plugin:broken"]
    assert "failed to list its folders" in failed.error
    assert catalog.get("camhs_general") is not None


def test_survey_runs_vignettes(manager):
    rows = {row.listing.id: row for row in survey(discover(manager))}
    general = rows["camhs_general"]
    assert general.all_passed
    assert general.passed >= 12
    assert general.vignette_summary == f"{general.passed} passed, 0 failed"


def test_every_hook_is_documented():
    import inspect

    from spoa import hookspecs

    hooks = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("spoa_")]
    assert hooks
    for hook in hooks:
        assert len((hook.__doc__ or "").strip()) > 40, hook.__name__
