"""The first window: the rule-module browser, driven through real widgets offscreen."""

import pytest
from PySide6.QtCore import Qt

from spoa.plugins import make_plugin_manager
from spoa.rules.catalog import discover, survey
from tests.conftest import MINIMAL_MODULE
from ui.module_browser import COLUMNS, ModuleTableModel
from ui.pages.modules import ModulesPage
from ui.session import DeskSession


def load_rows():
    manager, _ = make_plugin_manager(load_entry_points=False)
    return survey(discover(manager))


@pytest.fixture
def broken_user_module(private_data_dir):
    folder = private_data_dir / "rules" / "broken"
    folder.mkdir(parents=True)
    (folder / "module.yaml").write_text(MINIMAL_MODULE.replace("id: mini", "id: broken")
                                        .replace("when: treated\n", "when: treated.__class__\n"))
    return folder


class Window:
    """The Rule modules page as the main window shows it (read-only: no store needed)."""

    def __init__(self, qtbot, tmp_path, load):
        self.page = ModulesPage(DeskSession(tmp_path), load=load)
        qtbot.addWidget(self.page)
        self.browser = self.page.browser

    def show(self):
        self.page.show()


def cell(model, row, column):
    return model.data(model.index(row, column), Qt.ItemDataRole.DisplayRole)


def test_model_passes_qt_model_tester(qtmodeltester):
    model = ModuleTableModel()
    model.set_rows(load_rows())
    qtmodeltester.check(model)


def test_window_lists_modules_with_status_and_vignettes(qtbot, tmp_path, broken_user_module):
    window = Window(qtbot, tmp_path, load_rows)
    window.show()
    browser = window.browser
    with qtbot.waitSignal(browser.model.modelReset, timeout=20000):
        browser.reload()
    qtbot.waitUntil(lambda: browser.reload_button.isEnabled(), timeout=20000)
    model = browser.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == list(COLUMNS)
    rows = {cell(model, r, 0): [cell(model, r, c) for c in range(len(COLUMNS))]
            for r in range(model.rowCount())}
    general = rows["camhs_general"]
    assert general[3] == "built-in"
    assert general[4] == "draft: needs local sign-off"
    assert general[5].endswith("passed, 0 failed")
    assert rows["broken"][4] == "broken"
    assert rows["broken"][5] == "not run"
    assert "awaiting local clinical sign-off" in browser.summary.text()
    assert "1 broken" in browser.summary.text()

    # selecting the broken module shows its error with file and line
    broken_row = [cell(model, r, 0) for r in range(model.rowCount())].index("broken")
    browser.table.selectRow(broken_row)
    text = browser.details.toPlainText()
    assert "broken and cannot be used" in text
    assert "module.yaml:" in text
    assert "attribute access" in text

    general_row = [cell(model, r, 0) for r in range(model.rowCount())].index("camhs_general")
    browser.table.selectRow(general_row)
    details = browser.details.toPlainText()
    assert "Content hash:" in details
    assert "PASS camhs_general/" in details


def test_every_control_has_an_accessible_name(qtbot, tmp_path):
    window = Window(qtbot, tmp_path, load_rows)
    browser = window.browser
    for widget in (window.page, browser, browser.table, browser.details, browser.reload_button,
                   browser.summary):
        assert widget.accessibleName()


def test_a_failure_while_loading_is_shown_plainly(qtbot, tmp_path):
    def explode():
        raise RuntimeError("internal detail that must not be shown")

    window = Window(qtbot, tmp_path, explode)
    window.browser.reload()
    qtbot.waitUntil(lambda: window.browser.reload_button.isEnabled(), timeout=10000)
    assert "could not be listed" in window.browser.summary.text()
    assert "internal detail" not in window.browser.summary.text()


def test_the_page_surveys_modules_once_when_first_shown(qtbot, tmp_path):
    calls = []

    def counting_load():
        calls.append(1)
        return load_rows()

    window = Window(qtbot, tmp_path, counting_load)
    assert window.page.key == "modules"
    assert window.page.permission is None
    window.page.refresh()
    qtbot.waitUntil(lambda: window.browser.model.rowCount() > 0, timeout=20000)
    window.page.refresh()  # shown again: no second survey of every vignette
    window.browser.tasks.wait()
    assert len(calls) == 1
