"""The list of rule modules available on this desk, from every source, broken ones included."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from spoa.plugins import make_plugin_manager
from spoa.rules.cases import CaseResult, coverage_gaps, load_vignettes, run_vignette
from spoa.rules.errors import ModuleError, ModuleProblem
from spoa.rules.loading import MODULE_FILE, display_path, load_module
from spoa.rules.module import RuleModule


@dataclass
class ModuleListing:
    """One module folder as the desk sees it: loaded, or broken with its problems."""

    source: str
    folder: Path
    module: RuleModule | None = None
    problems: list[ModuleProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.module is not None and not self.problems

    @property
    def id(self) -> str:
        return self.module.id if self.module else self.folder.name

    @property
    def status(self) -> str:
        if not self.ok:
            return "broken"
        return "approved" if self.module.sign_off.approved else "draft: needs local sign-off"

    @property
    def error(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass
class Catalog:
    listings: list[ModuleListing]

    @property
    def modules(self) -> dict[str, RuleModule]:
        return {item.module.id: item.module for item in self.listings if item.ok}

    def get(self, module_id: str) -> RuleModule | None:
        return self.modules.get(module_id)

    def listing(self, module_id: str) -> ModuleListing | None:
        return next((item for item in self.listings if item.id == module_id), None)


def module_folders(path: Path) -> list[Path]:
    """A module folder itself, or the module folders directly inside ``path``."""
    if (path / MODULE_FILE).is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / MODULE_FILE).is_file())


def load_listing(folder: Path, source: str) -> ModuleListing:
    listing = ModuleListing(source, folder)
    try:
        listing.module = load_module(folder)
        load_vignettes(listing.module)  # unreadable vignettes mean an unverified module
    except ModuleError as exc:
        listing.problems = exc.problems
    except Exception as exc:  # never let one module stop the others loading
        listing.problems = [ModuleProblem(
            folder.name, display_path(folder / MODULE_FILE), None, "",
            f"could not be read ({type(exc).__name__}); report this with the file attached")]
    return listing


def discover(manager: pluggy.PluginManager | None = None) -> Catalog:
    """Load every module from the built-in folder, the user's folder and plugins.

    The first module found with an id wins; a later one with the same id is listed as
    broken, naming both folders.
    """
    failures = []
    if manager is None:
        manager, failures = make_plugin_manager()
    listings: list[ModuleListing] = []
    for failure in failures:
        listings.append(ModuleListing(
            failure.name, Path(failure.name),
            problems=[ModuleProblem(failure.name, failure.name, None, "", failure.message)]))
    seen: dict[str, ModuleListing] = {}
    # get_hookimpls() is in registration order: built-in, user, then installed plugins.
    for impl in manager.hook.spoa_rule_module_dirs.get_hookimpls():
        source = impl.plugin_name
        try:
            folders = [Path(p) for p in (impl.function() or [])]
        except Exception as exc:
            listings.append(ModuleListing(source, Path(source), problems=[ModuleProblem(
                source, source, None, "", f"the plugin failed to list its folders ({type(exc).__name__})")]))
            continue
        for base in folders:
            found = module_folders(base)
            if not found:
                listings.append(ModuleListing(source, base, problems=[ModuleProblem(
                    base.name, display_path(base), None, "",
                    f"no module folders (with {MODULE_FILE}) here")]))
            for folder in found:
                listing = load_listing(folder, source)
                if listing.ok and listing.id in seen:
                    first = seen[listing.id]
                    listing.problems = [ModuleProblem(
                        listing.id, display_path(folder / MODULE_FILE), None, "id",
                        f"duplicate module id '{listing.id}': already loaded from "
                        f"{display_path(first.folder)} ({first.source}); rename one of them")]
                elif listing.ok:
                    seen[listing.id] = listing
                listings.append(listing)
    return Catalog(listings)


def run_module_vignettes(module: RuleModule) -> tuple[list[CaseResult], list[str]]:
    """Every vignette's result, and the outcome rules and flags none of them reaches."""
    vignettes = load_vignettes(module)
    return [run_vignette(module, v) for v in vignettes], coverage_gaps(module, vignettes)


@dataclass
class ModuleSurvey:
    """A module listing with its vignettes run: what the module browser shows."""

    listing: ModuleListing
    results: list[CaseResult] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)

    @property
    def vignette_summary(self) -> str:
        if not self.listing.ok:
            return "not run"
        if not self.results:
            return "no vignettes"
        text = f"{self.passed} passed, {self.failed} failed"
        if self.gaps:
            text += f"; {len(self.gaps)} not covered"
        return text

    @property
    def all_passed(self) -> bool:
        return self.listing.ok and bool(self.results) and not self.failed and not self.gaps


def survey(catalog: Catalog) -> list[ModuleSurvey]:
    surveys = []
    for listing in catalog.listings:
        item = ModuleSurvey(listing)
        if listing.ok:
            item.results, item.gaps = run_module_vignettes(listing.module)
        surveys.append(item)
    return surveys
