"""The Advice requests page driven through its widgets on a real store: a request typed into
the form appears in the list; bad input shows the core's message and stores nothing; a
supervisor records the advice and makes the advice letter; a request becomes a referral
only where the requester authorised it; locking clears the page."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from spoa import advice
from spoa.advice import AdviceDraft, AdviceState
from spoa.letters import referrals
from spoa.model import ReferrerType
from spoa.store.records import ChildDraft, ContactDraft
from ui.advice import detail as detail_module
from ui.advice.models import COLUMNS, AdviceTableModel
from ui.pages.advice import AdvicePage

QUESTION = "Poor sleep and low mood since the summer: sleep diary first, or refer now?"


def settle(qtbot, session, condition, timeout=15000):
    """Let queued store work finish and its results arrive until ``condition()`` holds."""
    def done():
        session.wait()
        return bool(condition())
    qtbot.waitUntil(done, timeout=timeout)


def cells(model, column):
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def click(qtbot, button):
    assert button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture
def open_page(qtbot, desk_as):
    def make(username):
        session = desk_as(username)
        page = AdvicePage(session)
        qtbot.addWidget(page)
        page.resize(1400, 900)
        page.show()
        page.refresh()
        settle(qtbot, session, lambda: page.counts.text())
        return page
    return make


def recorded_request(desk_world, *, family="Advicechild", authorised=False, how_soon="within_week") -> str:
    contact = ContactDraft(referrer_type=ReferrerType.SCHOOL_NURSE, referrer_name="Nurse Test",
                           referrer_organisation="Testtown Academy",
                           child=ChildDraft("Ada", family, date_of_birth="2012-03-04", postcode="ZZ1 1AA"))
    draft = AdviceDraft(question=QUESTION, how_soon=how_soon, conversion_authorised=authorised)
    return advice.record_request(desk_world["pat"], draft, contact=contact).request.id


def request_count(desk_world) -> int:
    return desk_world["admin"].db.execute("SELECT count(*) FROM advice_requests").fetchone()[0]


def fill(form, **values):
    for name, value in values.items():
        widget = form.fields[name]
        if name in ("referrer_type", "how_soon"):
            widget.setCurrentIndex(widget.findData(value))
        elif name == "conversion_authorised":
            widget.setChecked(value)
        elif hasattr(widget, "setPlainText"):
            widget.setPlainText(value)
        else:
            widget.setText(value)


def test_model_passes_the_qt_model_tester(qtmodeltester, desk_world):
    recorded_request(desk_world, family="Modelchild")
    requests = advice.list_requests(desk_world["pat"])
    model = AdviceTableModel()
    model.set_requests(requests)
    qtmodeltester.check(model)
    assert model.columnCount() == len(COLUMNS)
    assert "Modelchild" in " ".join(cells(model, 2))
    states = cells(model, 5)
    assert states == sorted(states, key=lambda s: s != AdviceState.AWAITING_RESPONSE)


def test_a_request_typed_into_the_form_is_recorded_and_listed(open_page, qtbot, desk_world, problems):
    page = open_page("pat")
    click(qtbot, page.new_button)
    assert page.stack.currentIndex() == 1
    fill(page.form, referrer_type="gp", referrer_name="Dr Formtest", referrer_organisation="Test Surgery",
         referrer_contact="Test Surgery\n1 Surgery Lane", given_name="Zoë", family_name="Formchild",
         date_of_birth="04/03/2012", nhs_number="999 876 5439", question=QUESTION,
         context="No previous contact.", tried="Sleep hygiene advice.", how_soon="today",
         conversion_authorised=True)
    click(qtbot, page.form.save_button)
    settle(qtbot, page.session, lambda: page.detail.view is not None
           and page.detail.view.child.family_name == "Formchild")
    row = page.model.row_of(page.detail.view.request.id)
    assert row >= 0
    assert [page.model.data(page.model.index(row, c)) for c in (0, 1, 2, 3, 5)] == [
        "Dr Formtest (Test Surgery)", "GP", "Zoë Formchild", "today", AdviceState.AWAITING_RESPONSE]
    assert page.table.currentIndex().row() == row
    summary = page.detail.summary.toPlainText()
    assert QUESTION in summary
    assert "Conversion into a referral: authorised" in summary
    assert "recorded; reply by" in page.status.text()
    assert page.form.text("question") == ""  # the form is empty for the next one
    assert problems == []


def test_bad_input_shows_the_core_message_and_stores_nothing(open_page, qtbot, desk_world, problems):
    page = open_page("pat")
    before = request_count(desk_world)
    click(qtbot, page.new_button)
    fill(page.form, referrer_type="parent", referrer_name="A Parent", given_name="Bo")
    click(qtbot, page.form.save_button)
    assert page.form.problem_texts() == {
        "referrer_type": "an advice request comes from a professional: one of gp, school_nurse, "
                         "other_professional",
        "family_name": "is required",
        "question": "is required"}
    assert "correct the fields marked" in page.form.status.text()

    # Messages follow the corrections as they are made.
    fill(page.form, referrer_type="school_nurse", family_name="Badinput")
    assert set(page.form.problem_texts()) == {"question"}
    fill(page.form, date_of_birth="31/02/2012", question="What now?")
    assert page.form.problem_texts() == {"date_of_birth": "must be a real date written as YYYY-MM-DD or "
                                                          "DD/MM/YYYY"}
    page.session.wait()
    assert request_count(desk_world) == before
    assert problems == []


def test_a_supervisor_records_advice_and_makes_the_letter(open_page, qtbot, desk_world, tmp_path, monkeypatch,
                                                          problems):
    request_id = recorded_request(desk_world, family="Letterchild")
    practitioner = open_page("pat")
    practitioner.restore({"request_id": request_id})
    settle(qtbot, practitioner.session, lambda: practitioner.detail.view is not None)
    detail = practitioner.detail
    assert not detail.record_button.isEnabled()
    assert "recorded by a supervisor" in detail.record_button.toolTip()
    assert not detail.letter_button.isEnabled()
    assert detail.letter_button.toolTip() == "Record the advice first."

    page = open_page("sam")
    page.restore({"request_id": request_id})
    settle(qtbot, page.session, lambda: page.detail.view is not None)
    detail = page.detail
    assert page.state() == {"request_id": request_id}
    detail.advice_text.setPlainText("Start a sleep diary for two weeks; school pastoral support weekly.")
    click(qtbot, detail.record_button)
    settle(qtbot, page.session, lambda: detail.view.request.response is not None)
    assert detail.view.request.state == AdviceState.ANSWERED
    assert "Advice (sam" in detail.summary.toPlainText()
    assert cells(page.model, 5)[page.model.row_of(request_id)] == AdviceState.ANSWERED

    click(qtbot, detail.letter_button)
    settle(qtbot, page.session, lambda: detail.letter is not None and detail.view.request.letter_id)
    letter = detail.letter.letter
    assert letter.advice_request_id == request_id
    assert detail.letter.pdf.startswith(b"%PDF")
    assert letter.id in detail.letter_info.text()
    assert letter.sha256 in detail.letter_info.text()
    qtbot.waitUntil(lambda: detail.preview.page_count >= 1, timeout=20000)
    assert not detail.record_button.isEnabled()  # the advice stands as issued
    assert detail.letter_button.text().replace("&", "") == "Show advice letter"

    out = tmp_path / "advice.pdf"
    monkeypatch.setattr(detail_module.PdfFiles, "choose_export", classmethod(lambda cls, parent, name: out))
    click(qtbot, detail.export_button)
    settle(qtbot, page.session, lambda: "exported to" in detail.letter_info.text())
    assert out.read_bytes() == detail.letter.pdf
    assert problems == []


def test_conversion_into_a_referral_only_where_authorised(open_page, qtbot, desk_world, problems):
    request_id = recorded_request(desk_world, family="Convertchild", authorised=False)
    page = open_page("pat")
    page.restore({"request_id": request_id})
    settle(qtbot, page.session, lambda: page.detail.view is not None)
    panel = page.detail.conversion
    assert not panel.convert_button.isEnabled()
    assert "did not authorise conversion" in panel.convert_button.toolTip()
    assert not panel.find_button.isEnabled()

    # The requester calls back and authorises it.
    panel.authorise_reason.setText("Phoned the hub on Monday")
    click(qtbot, panel.authorise_button)
    settle(qtbot, page.session, lambda: page.detail.view.request.conversion_authorised)
    assert "authorised conversion" in panel.authorised.text()
    assert panel.convert_button.isEnabled()
    assert "conversion_authorised" in page.detail.summary.toPlainText()  # in the history

    panel.route.setCurrentIndex(panel.route.findData("camhs"))
    panel.urgency.setCurrentIndex(panel.urgency.findData("routine"))
    click(qtbot, panel.find_button)
    settle(qtbot, page.session, lambda: panel.service.count() > 0)
    assert panel.service.currentData() == "camhs-core"
    panel.reason.setText("Low mood not lifting despite school support")
    with qtbot.waitSignal(page.navigate, timeout=15000) as navigated:
        click(qtbot, panel.convert_button)
        page.session.wait()
    key, state = navigated.args
    referral = referrals.get_referral(desk_world["admin"].db, state["referral_id"])
    assert key == "today"
    assert referral.service_id == "camhs-core"
    settle(qtbot, page.session, lambda: page.detail.view.request.referral_id == referral.id)
    assert not panel.convert_button.isEnabled()
    assert page.model.row_of(request_id) == -1  # no longer an open request
    assert problems == []


def test_clear_empties_everything_and_restore_selects_again(open_page, qtbot, desk_world):
    request_id = recorded_request(desk_world, family="Clearchild")
    page = open_page("pat")
    page.restore({"request_id": request_id})
    settle(qtbot, page.session, lambda: page.detail.view is not None)
    page.new_request()
    fill(page.form, referrer_name="Dr Halfway", question="Half typed")
    state = {"request_id": request_id}
    page.clear()
    assert page.model.rowCount() == 0
    assert page.detail.view is None
    assert page.detail.summary.toPlainText() == ""
    assert page.form.text("question") == ""
    assert page.form.text("referrer_name") == ""
    assert page.status.text() == ""
    assert page.state() == {}
    page.restore(state)
    settle(qtbot, page.session, lambda: page.detail.view is not None)
    assert page.state() == state
    assert page.table.currentIndex().row() == page.model.row_of(request_id)


def test_awaiting_only_filter_uses_the_core_list(open_page, qtbot, desk_world):
    waiting = recorded_request(desk_world, family="Waitingchild")
    answered = recorded_request(desk_world, family="Answeredchild")
    advice.respond(desk_world["sam"], answered, "Some advice.")
    page = open_page("pat")
    assert page.model.row_of(answered) >= 0
    page.awaiting_only.setChecked(True)
    settle(qtbot, page.session, lambda: page.model.row_of(answered) == -1)
    assert page.model.row_of(waiting) >= 0
    assert set(cells(page.model, 5)) == {AdviceState.AWAITING_RESPONSE}
