"""Every hook the desk offers to plugins, in one place.

A plugin is any object or module with functions marked ``@hookimpl`` whose names match
the specifications below. Built-in parts register through the same hooks as
third-party ones (see :mod:`spoa.plugins`). Installed packages declare plugins with an
entry point in the group ``spoa.rule_modules``::

    [project.entry-points."spoa.rule_modules"]
    our_trust = "our_trust_rules.plugin"
"""

from __future__ import annotations

import pluggy

PROJECT = "spoa"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def spoa_rule_module_dirs():
    """Folders that hold triage rule modules.

    Return a list of paths. Each path is either one module folder (it contains
    ``module.yaml``) or a folder whose sub-folders are modules. Paths that do not
    exist are reported, not fatal. Called once each time the module list is built.
    """
