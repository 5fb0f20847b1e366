"""Triage sessions: skip logic, checks, scores, flags and the outcome that explains itself."""

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoa.model import ReferrerType, Route, SessionContext, Urgency
from spoa.rules.errors import AnswerError, AnswersRejected
from spoa.rules.loading import load_module
from spoa.rules.module import RuleModule
from spoa.rules.questions import QuestionType
from spoa.rules.session import TriageSession
from tests.conftest import NO_DANGER, REPO


def test_skip_logic_shows_follow_ups_only_when_relevant(mini_module):
    session = TriageSession(mini_module, answers=NO_DANGER)
    assert not session.is_visible("treated")
    session.answer("self_harm", "yes")
    assert session.is_visible("treated")
    assert [q.id for q in session.missing_required] == ["treated"]


def test_answers_to_questions_that_become_hidden_are_dropped(mini_module):
    session = TriageSession(mini_module)
    session.answer("self_harm", True)
    session.answer("treated", True)
    session.answer("how_treated", "hospital")
    assert session.outcome.rule_id == "emergency"
    session.answer("self_harm", False)
    # both the follow-up and its own follow-up went, and the outcome no longer rests on them
    assert session.answers == {"self_harm": False}
    assert session.outcome.rule_id == "advice"
    assert not session.flags


def test_answering_a_hidden_question_is_refused_and_changes_nothing(mini_module):
    session = TriageSession(mini_module, answers={"self_harm": False})
    with pytest.raises(AnswerError, match="not asked"):
        session.answer("treated", True)
    assert session.answers == {"self_harm": False}


@pytest.mark.parametrize(("question", "value", "message"), [
    ("self_harm", "maybe", "answer yes or no"),
    ("how_treated", "school", "choose one of: gp, hospital"),
    ("areas", ["school", "food"], "each choice must be one of"),
    ("weeks", 600, "between 0 and 520 weeks"),
    ("weeks", "ten", "takes a number"),
    ("distress", 4.5, "whole number"),
    ("last_seen", "last week", "YYYY-MM-DD"),
    ("notes", "x" * 2001, "the limit is 2000"),
    ("nope", 1, "no question with this id"),
])
def test_wrong_answers_name_the_question_and_the_fix(mini_module, question, value, message):
    session = TriageSession(mini_module, answers={"self_harm": True, "treated": True})
    with pytest.raises(AnswerError) as caught:
        session.answer(question, value)
    assert caught.value.question_id == question
    assert message in caught.value.message


def test_free_text_is_never_echoed_in_errors(mini_module):
    secret = "Jane Doe lives at 1 Secret Street " * 100
    with pytest.raises(AnswerError) as caught:
        TriageSession(mini_module).answer("notes", secret)
    assert "Secret" not in str(caught.value)


def test_bulk_answers_are_all_or_nothing(mini_module):
    session = TriageSession(mini_module, answers={"self_harm": False})
    with pytest.raises(AnswersRejected) as caught:
        session.answer_many({"areas": ["eating"], "weeks": -3, "distress": 11})
    assert {e.question_id for e in caught.value.errors} == {"weeks", "distress"}
    assert session.answers == {"self_harm": False}


def test_bulk_answers_report_what_was_dropped(mini_module):
    session = TriageSession(mini_module)
    dropped = session.answer_many({"self_harm": False, "treated": True})
    assert dropped == ["treated"]
    assert "treated" not in session.answers


def test_value_checks_block_completion_with_their_message(mini_module):
    session = TriageSession(mini_module, answers={**NO_DANGER, "self_harm": False, "weeks": 300})
    assert not session.is_complete
    assert [m.message for m in session.validation_messages] == [
        "More than five years; check the number of weeks."]
    assert not session.outcome.complete
    session.answer("weeks", 30)
    assert session.is_complete
    assert session.outcome.complete


def test_scores_sum_weights_and_band(mini_module):
    session = TriageSession(mini_module, answers={"self_harm": True, "treated": False,
                                                  "areas": ["school", "eating"]})
    (impact,) = session.scores
    assert impact.value == 6
    assert impact.band == "high"
    empty = TriageSession(mini_module)
    assert empty.scores[0].value is None
    assert empty.scores[0].display == "not enough answers"


def test_outcome_explains_itself(mini_module):
    session = TriageSession(mini_module, answers={
        "self_harm": True, "treated": True, "areas": ["eating"]})
    outcome = session.outcome
    assert (outcome.route, outcome.urgency) == (Route.CAMHS, Urgency.EMERGENCY)
    assert outcome.mhsds_priority == 1
    assert (outcome.respond_within_hours, outcome.contact_within_hours) == (1, 1)
    assert [f.id for f in outcome.flags] == ["treated_self_harm", "eating_concern"]
    assert outcome.immediate_actions[0].action == "Arrange an emergency assessment today."
    text = "\n".join(outcome.rationale())
    assert "Self-harm needing treatment (immediate)" in text
    assert "Did it need medical treatment?: Yes" in text
    assert "Areas affected: Eating" in text
    assert "Outcome rule 'emergency' chose CAMHS" in text
    assert outcome.module.id == "mini"
    assert len(outcome.module.content_hash) == 64


def test_incomplete_outcome_is_marked_provisional(mini_module):
    outcome = TriageSession(mini_module).outcome
    assert outcome.rule_id == "advice"
    assert not outcome.complete
    assert outcome.rationale()[0].startswith("Provisional")


def test_section_progress(mini_module):
    session = TriageSession(mini_module, answers={**NO_DANGER, "self_harm": True})
    danger, main = session.section_progress()
    assert (danger.title, danger.answered, danger.shown) == ("Danger now", 4, 4)
    assert (main.answered, main.shown, main.missing_required) == (1, 7, 1)  # how_treated hidden


def test_context_values_reach_conditions(write_module):
    from tests.conftest import MINIMAL_MODULE

    text = MINIMAL_MODULE.replace("when: impact >= 3", "when: child_age >= 16 and referrer == 'gp'")
    module = load_module(write_module(text))
    answers = {"self_harm": False}
    older = TriageSession(module, SessionContext(child_age=16, referrer=ReferrerType.GP), answers)
    younger = TriageSession(module, SessionContext(child_age=15, referrer=ReferrerType.GP), answers)
    assert older.outcome.rule_id == "high_impact"
    assert younger.outcome.rule_id == "advice"


# -- properties over every module we ship, and the minimal one --------------------------------

def value_strategy(question):
    """Valid answers mostly, with some invalid ones mixed in."""
    t = question.type
    if t is QuestionType.YES_NO:
        valid = st.booleans()
    elif t is QuestionType.SINGLE:
        valid = st.sampled_from([o.value for o in question.options])
    elif t is QuestionType.MULTI:
        valid = st.lists(st.sampled_from([o.value for o in question.options]), unique=True)
    elif t in (QuestionType.NUMBER, QuestionType.SCALE):
        low = int(question.minimum if question.minimum is not None else -10)
        high = int(question.maximum if question.maximum is not None else 1000)
        valid = st.integers(low, high)
    elif t is QuestionType.DATE:
        valid = st.dates(date(2000, 1, 1), date(2026, 11, 1))
    else:
        valid = st.text(max_size=50)
    invalid = st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5000), st.booleans())
    return st.one_of(valid, valid, valid, invalid)


@st.composite
def answer_sequences(draw, module):
    questions = list(module.questions.values())
    steps = draw(st.integers(0, 60))
    sequence = []
    for _ in range(steps):
        question = draw(st.sampled_from(questions))
        sequence.append((question.id, draw(value_strategy(question))))
    return sequence


def _all_modules(tmp_path_factory) -> list[RuleModule]:
    from tests.conftest import MINIMAL_MODULE

    folder = tmp_path_factory.mktemp("mini") / "mini"
    folder.mkdir()
    (folder / "module.yaml").write_text(MINIMAL_MODULE)
    shipped = [load_module(p.parent) for p in sorted((REPO / "triage_rules").glob("*/module.yaml"))]
    return [load_module(folder), *shipped]


@pytest.fixture(scope="module")
def every_module(tmp_path_factory):
    return _all_modules(tmp_path_factory)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_answer_sequences_keep_the_session_consistent(every_module, data):
    module = data.draw(st.sampled_from(every_module))
    context = SessionContext(child_age=data.draw(st.none() | st.integers(module.age_min, module.age_max)),
                             on_date=date(2026, 11, 22))
    session = TriageSession(module, context)
    for question_id, value in data.draw(answer_sequences(module)):
        before = session.answers
        try:
            session.answer(question_id, value)
        except AnswerError:
            assert session.answers == before  # a refused answer changes nothing
        # hidden answers never survive
        assert all(session.is_visible(q) for q in session.answers)
        # there is always exactly one outcome, from the module's own rules
        outcome = session.outcome
        assert outcome.rule_id in {r.id for r in module.outcomes}
        assert outcome.complete == session.is_complete
        assert outcome.complete == (not session.missing_required and not session.validation_messages)
    # replaying the kept answers at once gives the same decision, whatever the order of entry
    replay = TriageSession(module, context, session.answers)
    assert replay.answers == session.answers
    assert replay.outcome == session.outcome


def test_shipped_modules_exist():
    """The property test above must not silently run on the minimal module alone."""
    assert len(list((REPO / "triage_rules").glob("*/module.yaml"))) >= 3, Path.cwd()


def test_a_check_that_reads_an_unknown_value_does_not_block(write_module):
    from tests.conftest import MINIMAL_MODULE

    text = MINIMAL_MODULE.replace("rule: value <= 260", "rule: value <= child_age * 52 + 52")
    module = load_module(write_module(text))
    unknown_age = TriageSession(module, answers={**NO_DANGER, "self_harm": False, "weeks": 300})
    assert unknown_age.is_complete
    known_age = TriageSession(module, SessionContext(child_age=4),
                              answers={**NO_DANGER, "self_harm": False, "weeks": 300})
    assert [m.question_id for m in known_age.validation_messages] == ["weeks"]
