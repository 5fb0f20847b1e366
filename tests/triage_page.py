"""Driving the triage call page as a practitioner does, for tests/test_ui_triage*.py:
a synthetic child and caller, typing the details, starting the call, answering by keyboard.
Loaded as a pytest plugin (tests/conftest.py); test modules ask for the
``new_child_on_duplicates`` fixture with ``pytestmark``."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from spoa.rules.questions import QuestionType
from spoa.rules.session import TriageSession
from tests.world import camhs_general
from ui.pages.triage import TriageCallPage
from ui.triage.duplicates import DuplicateChoice, DuplicateDialog
from ui.triage.questions import ChoiceQuestion

WAIT = 20000

# Synthetic child and caller (NHS numbers in the 999 test range).
CHILD = {"given_name": "Robin", "family_name": "Pagetest", "date_of_birth": "04/03/2012",
         "nhs_number": "999 876 5439", "postcode": "ZZ1 1AA", "school": "Testtown Academy",
         "referrer_name": "Dr Test", "referrer_organisation": "Test Surgery"}


@pytest.fixture
def new_child_on_duplicates(monkeypatch):
    """The world holds many children with the same test details: carry on with a new one."""
    asked = []

    def ask(cls, parent, duplicates):
        asked.append(duplicates)
        return DuplicateChoice(None)

    monkeypatch.setattr(DuplicateDialog, "ask", classmethod(ask))
    return asked


def make_page(qtbot, desk_as, user="pat"):
    session = desk_as(user)
    page = TriageCallPage(session)
    qtbot.addWidget(page)
    page.resize(1300, 900)
    page.show()
    with qtbot.waitActive(page):
        page.activateWindow()
    page.refresh()
    qtbot.waitUntil(lambda: page.details.module.count() > 0, timeout=WAIT)
    return page


def type_details(qtbot, page, details=CHILD, referrer="gp"):
    form = page.details
    combo = form.fields["referrer_type"]
    combo.setFocus()
    combo.setCurrentIndex(combo.findData(referrer))
    for name, text in details.items():
        widget = form.fields[name]
        widget.setFocus()
        qtbot.keyClicks(widget, text)
    form.fields["given_name"].setFocus()  # leaving the last field checks it


ADDRESS = ("1 Synthetic Street", "Testtown")
PARENT = {"name": "Alex Carertest", "relationship": "mother", "phone": "07700 900123"}


def type_address(qtbot, form, lines=ADDRESS):
    address = form.fields["address"]
    address.setFocus()
    for number, line in enumerate(lines):
        if number:
            qtbot.keyClick(address, Qt.Key.Key_Return)  # a new line, as in the contact file
        qtbot.keyClicks(address, line)


def add_parent_by_keyboard(qtbot, form, person=PARENT):
    """Space on 'Add a parent or carer', then type each field, Tab between them."""
    section = form.carers
    section.add_button.setFocus()
    qtbot.keyClick(section.add_button, Qt.Key.Key_Space)
    box = section.boxes[-1]
    assert QApplication.focusWidget() is box.fields["name"]
    for number, name in enumerate(("name", "relationship", "phone")):
        if number:
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is box.fields[name]
        qtbot.keyClicks(box.fields[name], person[name])
    return box


def start(qtbot, page, **kwargs):
    type_details(qtbot, page, **kwargs)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.session_id is not None and page.live.session is not None, timeout=WAIT)


def focused_question(page):
    widget = QApplication.focusWidget()
    for question in page.live.questions.order:
        if widget is question or widget is question.focus_target():
            return question
    return None


def key_answer(qtbot, widget, value):
    """Give ``value`` to a question with the keyboard only."""
    question = widget.question
    if isinstance(widget, ChoiceQuestion):
        if question.type is QuestionType.YES_NO:
            qtbot.keyClick(widget, "1" if value in (True, "yes") else "2")
        elif question.type is QuestionType.SINGLE:
            index = [o.value for o in question.options].index(value)
            qtbot.keyClick(widget, str(index + 1))
        else:
            values = [o.value for o in question.options]
            for item in value:
                index = values.index(item)
                if index < 9:
                    qtbot.keyClick(widget, str(index + 1))
                else:  # past the ninth: arrow down to it, then Space
                    for _ in range(index - widget.cursor):
                        qtbot.keyClick(widget, Qt.Key.Key_Down)
                    qtbot.keyClick(widget, Qt.Key.Key_Space)
            if not value:
                qtbot.keyClick(widget, "0")
    else:
        qtbot.keyClicks(widget.focus_target(), str(value))


def answer_by_keyboard(qtbot, page, answers):
    """Walk the call from the first question with Enter, answering what ``answers`` holds."""
    seen = set()
    while True:
        widget = focused_question(page)
        if widget is None or widget.question.id in seen:
            break
        seen.add(widget.question.id)
        if widget.question.id in answers:
            key_answer(qtbot, widget, answers[widget.question.id])
        target = widget if isinstance(widget, ChoiceQuestion) else widget.focus_target()
        qtbot.keyClick(target, Qt.Key.Key_Return)
        last = page.live.questions.order[-1]
        qtbot.waitUntil(lambda w=widget, end=last: focused_question(page) is not w or w is end, timeout=2000)
        if widget is page.live.questions.order[-1]:
            break
    return seen


def stored_form(answers):
    session = TriageSession(camhs_general())
    session.answer_many(answers)
    return session.answers
