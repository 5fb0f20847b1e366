"""The condition language: what it means, and everything it refuses."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spoa.rules.condition_types import TODAY_KEY, ExpressionError, Kind, Symbol, ValueType
from spoa.rules.expressions import compile_expression

SYMBOLS = {
    "self_harm": Symbol("self_harm", "question", ValueType(Kind.BOOL, owner="self_harm")),
    "thoughts": Symbol("thoughts", "question", ValueType(
        Kind.CHOICE, options=("none", "fleeting", "plan"), owner="thoughts")),
    "areas": Symbol("areas", "question", ValueType(
        Kind.MULTI, options=("school", "sleep", "eating"), owner="areas")),
    "weeks": Symbol("weeks", "question", ValueType(Kind.NUMBER, minimum=0, maximum=52, owner="weeks")),
    "notes": Symbol("notes", "question", ValueType(Kind.TEXT, owner="notes")),
    "born": Symbol("born", "question", ValueType(Kind.DATE, owner="born")),
    "impact": Symbol("impact", "score", ValueType(Kind.NUMBER, owner="impact")),
    "risky": Symbol("risky", "flag", ValueType(Kind.BOOL, owner="risky")),
}


def run(source, **env):
    env.setdefault(TODAY_KEY, date(2026, 11, 22))
    return compile_expression(source, SYMBOLS, Kind.BOOL).evaluate(env)


@pytest.mark.parametrize(("source", "env", "expected"), [
    ("self_harm", {"self_harm": True}, True),
    ("self_harm", {"self_harm": False}, False),
    ("not self_harm", {}, True),
    ("self_harm and risky", {"self_harm": True, "risky": True}, True),
    ("self_harm or risky", {"self_harm": False, "risky": False}, False),
    ("thoughts == 'plan'", {"thoughts": "plan"}, True),
    ("thoughts != 'plan'", {"thoughts": "none"}, True),
    ("thoughts in ['fleeting', 'plan']", {"thoughts": "fleeting"}, True),
    ("thoughts not in ['fleeting', 'plan']", {"thoughts": "none"}, True),
    ("'eating' in areas", {"areas": ("school", "eating")}, True),
    ("'eating' not in areas", {"areas": ("school",)}, True),
    ("any_of(areas, 'sleep', 'eating')", {"areas": ("sleep",)}, True),
    ("all_of(areas, 'sleep', 'eating')", {"areas": ("sleep",)}, False),
    ("count(areas) >= 2", {"areas": ("sleep", "school")}, True),
    ("count(self_harm, risky, thoughts == 'plan') == 2",
     {"self_harm": True, "risky": False, "thoughts": "plan"}, True),
    ("2 < weeks <= 12", {"weeks": 12}, True),
    ("2 < weeks <= 12", {"weeks": 2}, False),
    ("12 >= weeks", {"weeks": 3}, True),
    ("impact + 2 * weeks > 10", {"impact": 4, "weeks": 4}, True),
    ("impact / 0 > 1", {"impact": 4}, False),
    ("answered(notes)", {"notes": "text"}, True),
    ("answered(notes)", {}, False),
    ("age_years(born) >= 13", {"born": date(2013, 11, 22)}, True),
    ("age_years(born) >= 13", {"born": date(2013, 11, 23)}, False),
    ("days_since(born) > 30", {"born": date(2026, 10, 1)}, True),
    ("born < '2020-01-01'", {"born": date(2019, 5, 1)}, True),
    ("born <= today()", {"born": date(2019, 5, 1)}, True),
    ("max(weeks, impact) == 9", {"weeks": 9, "impact": 2}, True),
    ("min(weeks, impact) == 2", {"weeks": 9}, False),
    ("yes", {}, True),
    ("self_harm == no", {"self_harm": False}, True),
])
def test_meaning(source, env, expected):
    assert run(source, **env) is expected


@pytest.mark.parametrize("source", [
    "thoughts == 'plan'", "thoughts != 'plan'", "weeks > 1", "weeks != 3", "'eating' in areas",
    "'eating' not in areas", "thoughts in ['plan']", "thoughts not in ['plan']", "self_harm",
    "age_years(born) > 1", "impact + 1 > 0", "self_harm == no", "self_harm != yes",
    "self_harm == yes", "self_harm != no",
])
def test_unanswered_makes_every_comparison_false(source):
    assert run(source) is False


@pytest.mark.parametrize(("source", "message"), [
    ("__import__('os')", "names starting with '_'"),
    ("__import__('os').system('true')", "attribute access"),
    ("open('/etc/passwd')", "there is no function 'open'"),
    ("eval('1')", "there is no function 'eval'"),
    ("self_harm.__class__", "attribute access"),
    ("thoughts.__globals__", "attribute access"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("areas[0] == 'x'", "indexing"),
    ("(lambda: 1)()", "lambda"),
    ("getattr(self_harm, '__class__')", "there is no function 'getattr'"),
    ("[x for x in areas]", "comprehensions"),
    ("weeks ** 99999 > 1", "only + - * /"),
    ("import os", "cannot read the condition"),
    ("weeks >", "cannot read the condition"),
    ("self_harme", "did you mean 'self_harm'"),
    ("thoughts == 'plans'", "can never be 'plans'"),
    ("'food' in areas", "not an option of areas"),
    ("weeks > 60", "can never be true"),
    ("weeks == -1", "can never be true"),
    ("weeks < 0", "can never be true"),
    ("notes == 'x'", "free text"),
    ("weeks == 'ten'", "cannot compare"),
    ("weeks and self_harm", "need yes/no values"),
    ("weeks", "must be a yes/no condition"),
    ("areas == 'school'", "several answers"),
    ("born > 'yesterday'", "not a date"),
    ("self_harm is True", "use == or !="),
    ("{'a': 1}", "dictionaries"),
    ("x if self_harm else y", "not part of the condition language"),
    ("count(weeks)", "counts the options"),
    ("any_of(thoughts, 'plan')", "multiple-choice question"),
    ("answered('notes')", "needs a question id"),
    ("", "empty"),
    ("(" * 500 + "self_harm" + ")" * 500, "nested parentheses"),
    ("not " * 450 + "self_harm", "nested too deeply"),
    ("-" * 1900 + "weeks > 1", "nested too deeply"),
    ("self_harm or " * 400 + "self_harm", "longer than"),
])
def test_refused_at_load_time(source, message):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, SYMBOLS, Kind.BOOL)
    assert message in str(caught.value)


def test_names_read_are_reported_in_order():
    compiled = compile_expression("risky or thoughts == 'plan' or risky", SYMBOLS, Kind.BOOL)
    assert compiled.names == ("risky", "thoughts")


def test_syntax_errors_give_a_column():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("self_harm and and risky", SYMBOLS, Kind.BOOL)
    assert caught.value.column is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_either_compiles_or_is_refused_cleanly(source):
    """Arbitrary text never crashes the compiler with anything but ExpressionError."""
    try:
        compiled = compile_expression(source, SYMBOLS)
    except ExpressionError:
        return
    compiled.evaluate({TODAY_KEY: date(2026, 1, 1)})


answers = st.fixed_dictionaries({}, optional={
    "self_harm": st.booleans(),
    "thoughts": st.sampled_from(["none", "fleeting", "plan"]),
    "areas": st.lists(st.sampled_from(["school", "sleep", "eating"]), unique=True).map(tuple),
    "weeks": st.integers(0, 52),
    "impact": st.integers(-5, 20),
    "risky": st.booleans(),
})


@settings(max_examples=200, deadline=None)
@given(answers)
def test_conditions_agree_with_plain_python(env):
    """The compiled language means what the same words mean in Python (with None as false)."""
    env = dict(env)
    self_harm, risky = env.get("self_harm") is True, env.get("risky") is True
    thoughts, areas, weeks = env.get("thoughts"), env.get("areas"), env.get("weeks")
    assert run("self_harm and not risky", **env) == (self_harm and not risky)
    assert run("thoughts == 'plan' or 'sleep' in areas", **env) == (
        thoughts == "plan" or (areas is not None and "sleep" in areas))
    assert run("2 <= weeks < 10", **env) == (weeks is not None and 2 <= weeks < 10)
    assert run("count(areas) >= 2", **env) == (len(areas or ()) >= 2)


@pytest.mark.parametrize(("source", "env", "reasons"), [
    ("self_harm or risky", {"self_harm": False, "risky": True}, ("risky",)),
    ("self_harm or risky", {"self_harm": False, "risky": False}, ("self_harm", "risky")),
    ("self_harm and weeks > 3", {"self_harm": True, "weeks": 5}, ("self_harm", "weeks")),
    ("self_harm and weeks > 3", {"self_harm": True, "weeks": 1}, ("weeks",)),
    ("not (risky or thoughts == 'plan')", {"risky": False, "thoughts": "none"},
     ("risky", "thoughts")),
    ("(risky and self_harm) or count(areas) >= 1", {"risky": True, "self_harm": False,
                                                    "areas": ("sleep",)}, ("areas",)),
])
def test_explanations_name_the_reasons_not_everything_read(source, env, reasons):
    compiled = compile_expression(source, SYMBOLS, Kind.BOOL)
    assert compiled.explain({TODAY_KEY: date(2026, 1, 1), **env}) == reasons
