"""The Directory page driven through its widgets on a real store: listing and filtering,
CSV import with every bad row shown and nothing imported until the bad rows are skipped,
editing a service (checked by the core's validators, audited), export, and read-only roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from spoa.letters import directory
from spoa.letters.directory import COLUMNS, RowProblem, Service, read_directory_file
from spoa.model import Route, Urgency
from ui.directory_models import RowProblemModel, ServiceFilter, ServiceTableModel
from ui.pages import directory as directory_page
from ui.pages.directory import DirectoryPage

HEADER = ",".join(COLUMNS)
GOOD_ROW = "{id},voluntary_sector,{name},Team,1 Road,a@b.example,,11,18,ZZ1,,routine,,yes"


def settle(qtbot, session, condition, timeout=10000):
    """Let queued store work finish and its results arrive until ``condition()`` holds."""
    def done():
        session.wait()
        return bool(condition())
    qtbot.waitUntil(done, timeout=timeout)


def cells(model, column):
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


@pytest.fixture
def open_page(qtbot, desk_as):
    def make(username):
        session = desk_as(username)
        page = DirectoryPage(session)
        qtbot.addWidget(page)
        page.show()
        page.refresh()
        settle(qtbot, session, lambda: page.model.rowCount() > 0)
        return page
    return make


def ids_in_store(desk_world):
    return {s.id for s in directory.load_services(desk_world["admin"].db)}


def test_models_pass_the_qt_model_tester(qtmodeltester, tmp_path):
    services = [Service(id="a", kind=Route.CAMHS, name="A", urgencies=(Urgency.ROUTINE,), active=False),
                Service(id="b", kind=Route.SCHOOL_NURSING, name="B", schools=("X School",),
                        postcode_districts=("ZZ1",))]
    model = ServiceTableModel()
    model.set_services(services)
    qtmodeltester.check(model)
    proxy = ServiceFilter()
    proxy.setSourceModel(model)
    proxy.set_kind(Route.SCHOOL_NURSING)
    qtmodeltester.check(proxy)
    assert proxy.rowCount() == 1
    problems = RowProblemModel()
    problems.set_problems([RowProblem(3, "is required", "name"), RowProblem(5, "3 values; expected 14")])
    qtmodeltester.check(problems)
    assert cells(problems, 1) == ["name", "(the row)"]


def test_the_list_shows_the_directory_with_kind_and_text_filters(open_page):
    page = open_page("admin")
    assert page.model.rowCount() == 6
    names = cells(page.proxy, 1)
    assert "Test CAMHS" in names
    assert "Open Door" in names
    retired = page.model.row_of("camhs-retired")
    assert page.model.data(page.model.index(retired, 6)) == "no"
    page.kind_filter.setCurrentIndex(page.kind_filter.findData("camhs"))
    assert set(cells(page.proxy, 0)) == {"CAMHS"}
    assert page.proxy.rowCount() == 4
    page.kind_filter.setCurrentIndex(0)
    page.text_filter.setText("counselling")
    assert cells(page.proxy, 1) == ["Open Door"]


def test_import_with_two_bad_rows_shows_both_and_imports_only_when_skipping(open_page, qtbot, tmp_path,
                                                                            monkeypatch, desk_world):
    csv_file = tmp_path / "services.csv"
    csv_file.write_text("\n".join([
        HEADER,
        GOOD_ROW.format(id="ui-good-one", name="Good One"),
        GOOD_ROW.format(id="ui-bad-kind", name="Bad Kind").replace("voluntary_sector", "hospital"),
        GOOD_ROW.format(id="ui-good-two", name="Good Two"),
        GOOD_ROW.format(id="ui-bad-age", name="Bad Age").replace(",11,18,", ",19,12,"),
    ]) + "\n", encoding="utf-8")
    monkeypatch.setattr(directory_page.CsvFiles, "choose_import", classmethod(lambda cls, parent: csv_file))
    page = open_page("admin")
    before = ids_in_store(desk_world)

    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: page.review.isVisible())
    review = page.review
    assert cells(review.model, 0) == ["3", "5"]
    assert cells(review.model, 1) == ["kind", "age_min"]
    assert "must be one of camhs, school_nursing, voluntary_sector" in cells(review.model, 2)[0]
    assert "the lowest age (19) is above the highest (12)" in cells(review.model, 2)[1]
    assert "2 bad rows" in review.summary.text()
    assert "Nothing has been imported" in review.summary.text()
    assert review.import_button.text().replace("&", "") == "Import the 2 good rows (skip 2 bad)"
    assert ids_in_store(desk_world) == before  # nothing yet

    # Cancel: still nothing imported.
    qtbot.mouseClick(review.cancel_button, Qt.MouseButton.LeftButton)
    assert not review.isVisible()
    assert "Nothing was imported" in page.status.text()
    assert ids_in_store(desk_world) == before

    # Again, and this time skip the bad rows.
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: review.isVisible())
    qtbot.mouseClick(review.import_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: page.model.row_of("ui-good-two") >= 0)
    assert ids_in_store(desk_world) == before | {"ui-good-one", "ui-good-two"}
    assert "Imported 2 services" in page.status.text()
    assert "Skipped 2 bad rows" in page.status.text()
    assert not review.isVisible()


def test_editing_a_service_is_checked_saved_and_audited(open_page, qtbot, desk_world, problems):
    page = open_page("admin")
    assert page.select("open-door")
    form = page.form
    assert form.fields["id"].isReadOnly()
    assert form.fields["name"].text() == "Open Door"

    # A bad value: the core's message under the field, nothing saved.
    form.fields["name"].setText("")
    form.fields["age_max"].setText("forty")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert form.problem_texts() == {"name": "is required",
                                    "age_max": "must be a whole number of years from 0 to 25"}
    form.fields["age_max"].setText("25")  # messages follow the corrections
    assert "age_max" not in form.problem_texts()

    form.fields["name"].setText("Open Door Youth")
    form.urgency_boxes[Urgency.URGENT].setChecked(True)
    audited_before = desk_world["admin"].db.execute("SELECT max(seq) FROM audit").fetchone()[0]
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: "Saved Open Door Youth" in page.status.text())
    saved = next(s for s in directory.load_services(desk_world["admin"].db) if s.id == "open-door")
    assert (saved.name, saved.urgencies) == ("Open Door Youth", (Urgency.URGENT, Urgency.ROUTINE))
    audit = desk_world["admin"].db.execute(
        "SELECT username, action, record_type, record_id FROM audit "
        "WHERE seq > ? AND record_type = 'service'",
        [audited_before]).fetchall()
    assert audit == [("admin", "update", "service", "open-door")]
    assert problems == []

    # Deactivate it from the list, then a new service whose id is taken is refused by the core.
    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: "is now inactive" in page.status.text())
    assert page.active_button.text().replace("&", "") == "Reactivate"
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    assert form.fields["name"].text() == ""
    assert not form.fields["id"].isReadOnly()
    for name, value in {"id": "open-door", "name": "Copy", "secure_email": "c@d.example",
                        "age_min": "5", "age_max": "9"}.items():
        form.fields[name].setText(value)
    form.urgency_boxes[Urgency.ROUTINE].setChecked(True)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: problems)
    assert "already a service with the id 'open-door'" in problems[0]


def test_export_writes_a_csv_that_reads_back(open_page, qtbot, tmp_path, monkeypatch):
    out = tmp_path / "exported.csv"
    monkeypatch.setattr(directory_page.CsvFiles, "choose_export", classmethod(lambda cls, parent: out))
    page = open_page("admin")
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.session, lambda: "Exported" in page.status.text())
    checked = read_directory_file(out)
    assert checked.problems == ()
    assert len(checked.services) == page.model.rowCount()
    assert not [p for p in Path(tmp_path).iterdir() if p.name.endswith(".tmp")]


def test_a_practitioner_sees_the_directory_read_only(open_page, qtbot):
    page = open_page("pat")
    assert page.model.rowCount() >= 6
    for button in page.manage_buttons:
        assert not button.isEnabled()
        assert button.toolTip() == "Your role cannot manage the service directory."
    page.select("camhs-core")
    assert page.form.fields["name"].text() == "Test CAMHS"
    assert page.form.fields["name"].isReadOnly()
    assert not page.form.fields["kind"].isEnabled()


def test_clear_empties_the_page_and_restore_selects_again(open_page, qtbot):
    page = open_page("admin")
    page.select("camhs-core")
    state = page.state()
    assert state == {"service_id": "camhs-core"}
    page.clear()
    assert page.model.rowCount() == 0
    assert page.form.fields["name"].text() == ""
    assert page.status.text() == ""
    page.restore(state)
    page.refresh()
    settle(qtbot, page.session, lambda: page.model.rowCount() > 0)
    assert page.state() == state
    assert page.form.fields["name"].text() == "Test CAMHS"
