"""The one plugin manager: built-in rule sources, the user's folder and installed plugins."""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass

import pluggy

from spoa import hookspecs
from spoa.paths import builtin_rules_dir, user_rules_dir

ENTRY_POINT_GROUP = "spoa.rule_modules"
NO_PLUGINS_VARIABLE = "SPOA_NO_PLUGINS"  # set to 1 to start without installed plugins
BUILTIN = "built-in"
USER = "user"


class BuiltinRules:
    """The example modules shipped in triage_rules/."""

    @hookspecs.hookimpl
    def spoa_rule_module_dirs(self):
        return [builtin_rules_dir()]


class UserRules:
    """Modules a hub adds in the 'rules' folder of its data directory."""

    @hookspecs.hookimpl
    def spoa_rule_module_dirs(self):
        folder = user_rules_dir()
        return [folder] if folder.is_dir() else []


@dataclass(frozen=True)
class PluginFailure:
    """An installed plugin that could not be loaded; shown, never fatal."""

    name: str
    message: str


def make_plugin_manager(
    load_entry_points: bool | None = None,
) -> tuple[pluggy.PluginManager, list[PluginFailure]]:
    """Build the plugin manager with the built-in sources registered.

    Installed plugins are loaded unless ``load_entry_points`` is False or the environment
    variable SPOA_NO_PLUGINS is set (the test suite sets it, so nothing that happens to be
    installed on the machine is ever loaded by a test).
    """
    if load_entry_points is None:
        load_entry_points = not os.environ.get(NO_PLUGINS_VARIABLE)
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(BuiltinRules(), name=BUILTIN)
    manager.register(UserRules(), name=USER)
    failures: list[PluginFailure] = []
    if load_entry_points:
        failures = _load_entry_points(manager)
    return manager, failures


def _load_entry_points(manager: pluggy.PluginManager) -> list[PluginFailure]:
    failures = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        name = f"plugin:{entry_point.name}"
        if manager.get_plugin(name) is not None:
            continue
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must never stop the desk or the others
            failures.append(PluginFailure(
                name, f"could not be loaded ({type(exc).__name__}: {exc}); "
                      f"reinstall or remove the package that provides '{entry_point.value}'"))
    return failures
