"""Clinical safety of the rule engine and the built-in content (CLINICAL.md): danger now comes
first on every call, urgency words mean the published times, not known is never safe, and the
built-in modules agree with each other and with the scale's definitions.

These are the tests the hazard log (docs/safety/hazard-log.yaml) names as its controls."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoa.model import URGENCY_BANDS, SessionContext, Urgency, hours_in_words
from spoa.rules import danger_now
from spoa.rules.cases import SCALE_CODES, load_vignettes
from spoa.rules.errors import ModuleError
from spoa.rules.loading import load_module
from spoa.rules.questions import NOT_KNOWN, QuestionType
from spoa.rules.session import TriageSession
from spoa.synthetic import NO_DANGER_NOW, ROUTINE_ANSWERS
from tests.conftest import MINIMAL_MODULE, REPO

RULES = REPO / "triage_rules"
BUILTIN = {p.name: load_module(p) for p in sorted(RULES.glob("*")) if (p / "module.yaml").is_file()}
SCREEN_QUESTIONS = ["now_harm", "now_acted", "now_seen", "now_means", "now_with_child", "now_where"]
DANGER_ANSWERS = [("now_harm", "yes"), ("now_harm", "not_known"), ("now_means", "yes"),
                  ("now_means", "not_known"), ("now_acted", "yes"), ("now_acted", "not_known")]
# What a routine call answers in each module, so that only the danger-now answer differs.
QUIET = {
    "camhs_general": ROUTINE_ANSWERS,
    "urgency_screen": {**NO_DANGER_NOW, "imminent_harm": "no", "suicidal_thoughts": "none",
                       "self_harm_recent": "no", "psychotic_symptoms": "none", "aggression": "none",
                       "substance_use": "none", "eating_physical": "none", "safeguarding_worry": "no",
                       "disclosure_today": "no", "looked_after_or_plan": "no", "sleep_tonight": "home",
                       "distress": 1, "capable_support": "yes", "functioning": "coping",
                       "deteriorating": "no", "right_service": "information"},
    "professional_advice": {**NO_DANGER_NOW, "requester_role": "gp", "specialist_question": "What next?",
                            "concern_category": "sleep", "concern_level": "mild", "tried_already": ["none"],
                            "advice_needed_by": "routine", "risk_noticed": "no",
                            "conversion_authorised": "no"},
}


def context(age: int = 14) -> SessionContext:
    return SessionContext(child_age=age)


# -- danger now, first, in every call ------------------------------------------------------------

@pytest.mark.parametrize("module", BUILTIN.values(), ids=BUILTIN)
def test_every_module_starts_with_the_danger_now_screen(module):
    first = module.sections[0]
    assert first.id == danger_now.SECTION_ID
    assert [q.id for q in first.questions][:len(SCREEN_QUESTIONS)] == SCREEN_QUESTIONS
    assert first.show_if is None
    assert all(module.questions[q].show_if is None
                                         for q in ("now_harm", "now_acted", "now_means", "now_with_child"))
    assert module.outcomes[0].id == "danger_now_emergency"
    assert [f.id for f in module.flags[:3]] == ["now_harm_happening", "now_acted_not_seen",
                                                "now_means_in_hand"]
    session = TriageSession(module, context())
    assert session.visible_questions[0].id == "now_harm"  # the first thing asked


@pytest.mark.parametrize("module", BUILTIN.values(), ids=BUILTIN)
@pytest.mark.parametrize(("question", "answer"), DANGER_ANSWERS)
def test_a_yes_or_not_known_now_is_an_emergency_whatever_the_module_says(module, question, answer):
    quiet = TriageSession(module, context(), QUIET[module.id]).outcome
    assert quiet.urgency is Urgency.ROUTINE
    assert quiet.complete
    answers = {**QUIET[module.id], question: answer, "now_where": "At home"}
    if question == "now_acted":
        answers["now_seen"] = "no"
    outcome = TriageSession(module, context(), answers).outcome
    assert (outcome.rule_id, outcome.urgency, outcome.respond_within_hours) == (
        "danger_now_emergency", Urgency.EMERGENCY, 1)
    assert outcome.immediate_actions, "the banner has an action to take now"
    assert "999" in " ".join(f.action for f in outcome.immediate_actions)


@pytest.mark.parametrize("seen", ["no", "not_known", None])
def test_an_act_counts_as_not_medically_seen_until_someone_says_it_was(seen):
    module = BUILTIN["camhs_general"]
    answers = {**ROUTINE_ANSWERS, "now_acted": "yes", "now_where": "At home"}
    if seen is not None:
        answers["now_seen"] = seen
    outcome = TriageSession(module, context(), answers).outcome
    assert outcome.urgency is Urgency.EMERGENCY
    seen_since = TriageSession(module, context(), {**answers, "now_seen": "yes"}).outcome
    assert seen_since.urgency is not Urgency.EMERGENCY  # medically seen: the module decides (code C)
    assert "now_acted_seen" in {f.id for f in seen_since.flags}


def test_the_screen_is_asked_even_where_a_module_hides_everything_else(write_module):
    hidden = MINIMAL_MODULE.replace("  - id: main\n    title: Main\n",
                                    "  - id: main\n    title: Main\n    show_if: referrer == 'police'\n")
    module = load_module(write_module(hidden, name="hidden"))
    session = TriageSession(module, context())
    shown = [q.id for q in session.visible_questions]
    assert shown == ["now_harm", "now_acted", "now_means", "now_with_child"]


@pytest.mark.parametrize(("change", "said"), [
    ("  - id: main\n    title: Main\n", "  - id: danger_now\n    title: Mine\n    show_if: child_age > 1\n"
     "    questions:\n      - id: extra\n        type: yes_no\n        text: Anything else now\n"
     "  - id: main\n    title: Main\n"),
    ("      - id: self_harm\n", "      - id: now_harm\n"),
    ("  - id: eating_concern\n", "  - id: now_means_in_hand\n"),
    ("  - id: high_impact\n", "  - id: danger_now_emergency\n"),
], ids=["show_if on the screen", "a screen question's id", "a screen flag's id", "the screen rule's id"])
def test_a_module_can_neither_hide_nor_take_over_the_screen(write_module, change, said):
    assert change in MINIMAL_MODULE
    with pytest.raises(ModuleError) as refused:
        load_module(write_module(MINIMAL_MODULE.replace(change, said, 1), name="takeover"))
    text = str(refused.value)
    assert "danger-now screen" in text


def test_a_module_may_add_questions_to_the_screen_after_its_own(write_module):
    added = MINIMAL_MODULE.replace("sections:\n", "sections:\n  - id: danger_now\n    title: Ignored\n"
                                   "    questions:\n      - id: runaway_now\n        type: yes_no\n"
                                   "        required: true\n        text: Has the child run away today\n", 1)
    module = load_module(write_module(added, name="added"))
    assert [q.id for q in module.sections[0].questions] == [*SCREEN_QUESTIONS, "runaway_now"]
    assert module.sections[0].title == "Danger now"


def test_the_screen_is_part_of_every_modules_content_hash(write_module, monkeypatch):
    before = load_module(write_module(MINIMAL_MODULE, name="a")).content_hash
    screen = danger_now.screen()
    monkeypatch.setattr(danger_now, "screen", lambda: type(screen)(**{**screen.__dict__,
                                                                       "data": {**screen.data, "x": 1}}))
    assert load_module(write_module(MINIMAL_MODULE, name="b")).content_hash != before


# -- urgency words mean the published times --------------------------------------------------------

def test_the_bands_are_the_published_times():
    assert [(b.urgency, b.respond_within_hours, b.mhsds_priority) for b in URGENCY_BANDS] == [
        (Urgency.EMERGENCY, 1, 1), (Urgency.VERY_URGENT, 4, 4), (Urgency.URGENT, 24, 2),
        (Urgency.ROUTINE, 672, 3)]
    assert Urgency.VERY_URGENT.in_words() == "very urgent: seen within 4 hours"
    assert Urgency.URGENT.in_words(72) == "urgent: seen within 3 days"
    assert Urgency.ROUTINE.in_words() == "routine: seen within 4 weeks"
    assert Urgency.EMERGENCY.in_words() == "emergency: act now, respond within 1 hour"
    assert [hours_in_words(h) for h in (1, 6, 24, 47, 48, 120, 336)] == [
        "1 hour", "6 hours", "24 hours", "47 hours", "2 days", "5 days", "2 weeks"]


@pytest.mark.parametrize(("old", "new", "said"), [
    ("urgency: emergency\n    respond_within: 1", "urgency: emergency\n    respond_within: 2",
     "act now, respond within 1 hour"),
    ("urgency: routine\n    respond_within: 672", "urgency: very_urgent\n    respond_within: 5",
     "very urgent: seen within 4 hours"),
    ("urgency: routine\n    respond_within: 672", "urgency: urgent\n    respond_within: 25",
     "seventy_two_hour_code"),
    ("urgency: routine\n    respond_within: 672", "urgency: routine\n    respond_within: 673",
     "routine: seen within 4 weeks"),
    ("urgency: routine\n    respond_within: 672",
     "urgency: urgent\n    respond_within: 24\n    contact_within: 30", "contact_within"),
    ("urgency: routine\n    respond_within: 672",
     "urgency: routine\n    mhsds_priority: 2\n    respond_within: 672", "contradicts 'routine'"),
], ids=["emergency 2 h", "very urgent 5 h", "urgent 25 h", "routine 673 h", "contact beyond", "MHSDS"])
def test_a_module_that_breaks_a_band_does_not_load(write_module, old, new, said):
    assert old in MINIMAL_MODULE
    with pytest.raises(ModuleError, match=said) as refused:
        load_module(write_module(MINIMAL_MODULE.replace(old, new, 1), name="breach"))
    assert "module.yaml:" in str(refused.value)  # file and line


def test_only_a_scale_with_a_72_hour_code_may_promise_72_hours(write_module):
    seventy_two = MINIMAL_MODULE.replace("urgency: routine\n    respond_within: 672",
                                         "urgency: urgent\n    respond_within: 72", 1)
    with pytest.raises(ModuleError, match="seventy_two_hour_code"):
        load_module(write_module(seventy_two, name="no_code"))
    named = seventy_two.replace('scale: {name: Test bands, version: "1"}',
                                'scale: {name: Test bands, version: "1", seventy_two_hour_code: D}')
    assert load_module(write_module(named, name="code")).outcomes[2].respond_within == 72
    with pytest.raises(ModuleError, match="73 hours is too long"):
        load_module(write_module(named.replace("respond_within: 72", "respond_within: 73"), name="over"))


@pytest.mark.parametrize("module", BUILTIN.values(), ids=BUILTIN)
def test_no_builtin_rule_promises_more_than_its_band(module):
    for rule in module.outcomes:
        ceiling = 72 if rule.urgency is Urgency.URGENT else rule.urgency.longest_response_hours
        assert rule.respond_within <= ceiling, rule.id
        assert rule.contact_within is None or rule.contact_within <= rule.respond_within, rule.id


# -- not known is never safe ------------------------------------------------------------------

def test_not_known_counts_as_the_riskier_answer_and_says_so():
    module = BUILTIN["camhs_general"]
    answers = {**ROUTINE_ANSWERS, "suicidal_thoughts": "persistent", "suicide_plan": "yes",
               "suicide_intent": "no", "means_access": "not_known", "means_removable": "not_known",
               "safe_adult_available": "yes"}
    session = TriageSession(module, context(), answers)
    assert session.answers["means_access"] == NOT_KNOWN  # the record keeps what was said
    outcome = session.outcome
    assert outcome.urgency is Urgency.VERY_URGENT
    (flag,) = [f for f in outcome.flags if f.id == "suicidal_plan_with_means"]
    assert any(e.value == "Not known (counted as yes until known)" for e in flag.rested_on)


def test_a_flag_that_not_known_would_lower_does_not_load(write_module):
    """'treated' counting as no when not known would hide the immediate flag it raises."""
    treated = "        required: true\n        show_if: self_harm\n"
    assert treated in MINIMAL_MODULE
    wrong = MINIMAL_MODULE.replace(treated, treated + "        if_not_known: no\n", 1)
    with pytest.raises(ModuleError, match="not known must count as the riskier answer"):
        load_module(write_module(wrong, name="wrong"))
    right = wrong.replace("if_not_known: no", "if_not_known: yes")
    assert load_module(write_module(right, name="right")).questions["treated"].offers_not_known


def _choice_answers(question):
    return [value for value, _label in question.choices()]


def _not_knowable(module):
    return [q for q in module.questions.values()
            if q.offers_not_known and q.type in (QuestionType.YES_NO, QuestionType.SINGLE)]


@pytest.mark.parametrize("module_id", ["camhs_general", "urgency_screen", "professional_advice"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_not_known_never_gives_a_less_urgent_outcome_than_a_real_answer(module_id, data):
    """Whatever else was said, answering "not known" to a risk question gives an outcome at
    least as urgent as the most urgent of its real answers would."""
    module = BUILTIN[module_id]
    answers = dict(QUIET[module_id])
    for question in _not_knowable(module):
        if data.draw(st.booleans(), label=f"answer {question.id}"):
            answers[question.id] = data.draw(st.sampled_from(_choice_answers(question)), label=question.id)
    question = data.draw(st.sampled_from(_not_knowable(module)), label="the question left unknown")

    def urgency_with(value):
        session = TriageSession(module, context(), {**answers, question.id: value})
        return session.outcome.urgency.rank if session.is_visible(question.id) else None

    unknown = urgency_with(NOT_KNOWN)
    real = [u for u in (urgency_with(v) for v in _choice_answers(question) if v != NOT_KNOWN)
            if u is not None]
    if unknown is not None and real:
        assert unknown <= min(real), f"{question.id}: not known is less urgent than a real answer"


# -- the vignettes: every code, both sides of each boundary, the modules agreeing --------------------

VIGNETTES = {module_id: load_vignettes(module) for module_id, module in BUILTIN.items()}
APPLICABLE = {"camhs_general": SCALE_CODES, "urgency_screen": SCALE_CODES,
              "professional_advice": ("A", "B", "D", "G")}


@pytest.mark.parametrize("module_id", APPLICABLE)
def test_each_applicable_scale_code_has_at_least_four_vignettes(module_id):
    counts = Counter(v.code for v in VIGNETTES[module_id] if v.code)
    assert {code: counts[code] for code in APPLICABLE[module_id] if counts[code] < 4} == {}


@pytest.mark.parametrize("module_id", ["camhs_general", "urgency_screen"])
def test_every_boundary_has_vignettes_on_both_sides(module_id):
    ids = {v.id for v in VIGNETTES[module_id]}
    for boundary in ("ab_", "bc_"):
        assert any(i.startswith(boundary) for i in ids), boundary
    codes = {v.code for v in VIGNETTES[module_id]}
    assert {"A", "B", "C", "D", "E"} <= codes
    assert any("not_known" in i for i in ids)


def _by_presentation(module_id):
    return {v.presentation: v for v in VIGNETTES[module_id] if v.presentation}


SHARED = sorted(set(_by_presentation("camhs_general")) & set(_by_presentation("urgency_screen")))


def test_most_presentations_are_written_for_both_modules():
    assert len(SHARED) >= 28


@pytest.mark.parametrize("presentation", SHARED)
def test_both_modules_give_the_same_band_for_the_same_presentation(presentation):
    bands = {}
    for module_id in ("camhs_general", "urgency_screen"):
        vignette = _by_presentation(module_id)[presentation]
        outcome = TriageSession(BUILTIN[module_id], vignette.context, vignette.answers).outcome
        bands[module_id] = outcome.urgency
    assert bands["camhs_general"] is bands["urgency_screen"], bands


# -- the emergency path is the fastest path -------------------------------------------------------

def test_an_emergency_is_decided_at_once_and_the_rest_answered_afterwards(desk_world):
    from spoa import desk
    from spoa.store import records
    from spoa.store.records import DecisionRefused
    from tests.world import camhs_general, contact_draft

    pat = desk_world["pat"]
    module = camhs_general()
    acted = {"now_harm": "no", "now_acted": "yes", "now_seen": "no", "now_means": "no",
             "now_with_child": "yes", "now_where": "At home"}
    added = desk.add_contact(pat, contact_draft(family="Fastchild"), module=module, answers=acted)
    assert not added.triage.complete
    decided = desk.confirm_outcome(pat, added.triage.session_id)
    assert (decided.decision, decided.final_urgency) == ("confirmed", Urgency.EMERGENCY)
    history = pat.db.execute("SELECT new_value FROM record_history WHERE record_id = ? AND field = ?",
                             [decided.id, "decided_before_complete"]).fetchall()
    assert history
    assert "not yet asked" in history[0][0]
    assert "What are the main difficulties the caller is worried about?" in decided.outcome["not_yet_asked"]

    # Afterwards: the questions not yet asked can be answered; the decision stands.
    desk.save_triage(pat, added.contact_id, module, {**acted, "cp_plan": "yes"}, session_id=decided.id)
    after = records.get_triage_session(pat.db, decided.id)
    assert after.answers["cp_plan"] is True
    assert after.final_urgency is Urgency.EMERGENCY
    assert after.outcome == decided.outcome  # the decision rests on what was known then
    with pytest.raises(DecisionRefused, match="only the questions not yet asked"):
        desk.save_triage(pat, added.contact_id, module, {**acted, "now_acted": "no"}, session_id=decided.id)

    # A routine call is not decided before it is complete.
    routine = desk.add_contact(pat, contact_draft(family="Slowchild"), module=module,
                               answers={**NO_DANGER_NOW, "presenting_needs": ["sleep"]})
    with pytest.raises(DecisionRefused, match="not complete"):
        desk.confirm_outcome(pat, routine.triage.session_id)


# -- a professional's question goes to the advice module ---------------------------------------

@pytest.mark.parametrize("referrer", ["gp", "school_nurse", "other_professional"])
def test_a_professionals_advice_question_is_offered_the_advice_module(referrer):
    from spoa import call

    modules = list(BUILTIN.values())
    asked = call.suggest_module(modules, child_age=12, referrer=referrer, asking_for_advice=True)
    assert asked.suggested.id == "professional_advice"
    assert "advice request" in asked.why
    triage = call.suggest_module(modules, child_age=12, referrer=referrer)
    assert triage.suggested.id != "professional_advice"


def test_a_parent_asking_for_advice_is_still_triaged():
    from spoa import call

    parent = call.suggest_module(list(BUILTIN.values()), child_age=12, referrer="parent",
                                 asking_for_advice=True)
    assert parent.suggested.id != "professional_advice"
