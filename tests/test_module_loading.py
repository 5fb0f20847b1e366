"""Loading modules: good ones load; hostile or mistaken ones are refused, precisely."""

from pathlib import Path

import pytest

from spoa.rules.errors import ModuleError
from spoa.rules.loading import load_module
from tests.conftest import MINIMAL_MODULE


def problems_of(folder: Path) -> list:
    with pytest.raises(ModuleError) as caught:
        load_module(folder)
    return caught.value.problems


def test_minimal_module_loads_with_everything_compiled(mini_module):
    assert mini_module.id == "mini"
    # the desk's danger-now rule first, then the module's own in order
    assert [r.id for r in mini_module.outcomes] == ["danger_now_emergency", "emergency", "high_impact",
                                                     "advice"]
    assert mini_module.outcomes[-1].is_default
    # skip logic order: a question comes after the ones its show_if reads
    order = mini_module.visibility_order
    assert order.index("self_harm") < order.index("treated") < order.index("how_treated")
    assert len(mini_module.content_hash) == 64


def test_content_hash_ignores_layout_and_comments(write_module):
    a = load_module(write_module(MINIMAL_MODULE, name="a"))
    relaid = "# a comment\n" + MINIMAL_MODULE.replace("title: Minimal test module",
                                                      "title:    'Minimal test module'   # same")
    b = load_module(write_module(relaid, name="b"))
    changed = load_module(write_module(MINIMAL_MODULE.replace("respond_within: 672",
                                                              "respond_within: 671"), name="c"))
    assert a.content_hash == b.content_hash
    assert a.content_hash != changed.content_hash


# Each hostile or mistaken change, the words its error must contain, and the text on the
# line it must point at.
MISTAKES = [
    ("when: treated\n", "when: __import__('os')\n", "names starting with '_'", "__import__"),
    ("when: treated\n", "when: __import__('os').system('touch /tmp/spoa-pwned')\n",
     "attribute access", "__import__"),
    ("when: treated\n", "when: open('/tmp/spoa-pwned', 'w')\n", "no function 'open'", "open("),
    ("when: treated\n", "when: treated.__class__\n", "attribute access", "__class__"),
    ("when: treated\n", "when: count.__globals__\n", "attribute access", "__globals__"),
    ("show_if: self_harm\n", "show_if: how_treated == 'gp'\n", "circle", None),
    ("id: eating_concern", "id: treated_self_harm", "duplicate id 'treated_self_harm'",
     "id: treated_self_harm"),
    ("when: impact >= 3", "when: impakt >= 3", "did you mean 'impact'", "impakt"),
    ("when: impact >= 3", "when: weeks > 600", "can never be true", "weeks > 600"),
    ("when: \"'eating' in areas\"", "when: \"'food' in areas\"", "not an option", "'food'"),
    ("  - id: advice\n    default: yes\n", "  - id: advice\n    when: no\n",
     "no default outcome", None),
    ("respond_within: 672", "respond_within: 900", "routine: seen within 4 weeks", "respond_within: 900"),
    ("show_if: self_harm\n", "shwo_if: self_harm\n", "did you mean 'show_if'", "shwo_if"),
    ("{value: gp, label: GP}", "{value: gp, label: No}", "put the text in quotes", "label: No"),
    ("version: 1.0.0", "version: one", "not a semantic version", "version: one"),
    ("severity: moderate", "severity: severe", "choose one of: low, moderate, high, immediate",
     "severity: severe"),
    ("    action: Arrange an emergency assessment today.\n", "", "action to take now", None),
    ("type: scale", "type: slider", "choose one of", "type: slider"),
    ("route: advice", "route: hospital", "choose one of: camhs", "route: hospital"),
    ("format: 1", "format: 7", "format 7 is not known", "format: 7"),
]


@pytest.mark.parametrize(("old", "new", "message", "on_line"), MISTAKES)
def test_mistakes_are_refused_with_file_line_and_field(write_module, old, new, message, on_line):
    assert old in MINIMAL_MODULE
    text = MINIMAL_MODULE.replace(old, new, 1)
    problems = problems_of(write_module(text))
    matching = [p for p in problems if message in p.message]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.module == "mini"
    assert problem.file.endswith("module.yaml")
    assert str(problem).startswith(problem.file)
    if on_line is not None:
        assert on_line in new.splitlines()[0]
        assert problem.line == MINIMAL_MODULE[: MINIMAL_MODULE.index(old)].count("\n") + 1
        assert problem.field


def test_hostile_conditions_have_no_side_effect(write_module):
    target = Path("/tmp/spoa-pwned")
    target.unlink(missing_ok=True)
    for old, new, *_ in MISTAKES[:3]:
        with pytest.raises(ModuleError):
            load_module(write_module(MINIMAL_MODULE.replace(old, new, 1)))
    assert not target.exists()


def test_show_if_cycle_names_the_circle(write_module):
    text = MINIMAL_MODULE.replace("show_if: self_harm\n", "show_if: how_treated == 'gp'\n", 1)
    (problem,) = [p for p in problems_of(write_module(text)) if "circle" in p.message]
    assert "treated → how_treated → treated" in problem.message


def test_yaml_alias_bomb_is_refused_before_expansion(write_module):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    (problem,) = problems_of(write_module(bomb))
    assert "anchors and aliases" in problem.message


def test_python_tags_are_refused(write_module):
    (problem,) = problems_of(write_module("id: !!python/object/apply:os.system ['true']\n"))
    assert "tag" in problem.message
    assert problem.line == 1


def test_huge_file_is_refused_unread(write_module):
    folder = write_module("id: big\n")
    with open(folder / "module.yaml", "a", encoding="utf-8") as handle:
        handle.write("# " + "x" * (10 * 1024 * 1024) + "\n")
    (problem,) = problems_of(folder)
    assert "the limit is 1024 KB" in problem.message


def test_several_problems_are_all_reported(write_module):
    text = MINIMAL_MODULE.replace("when: impact >= 3", "when: impakt >= 3").replace(
        "severity: moderate", "severity: severe")
    problems = problems_of(write_module(text))
    assert len(problems) >= 2


def test_yaml_syntax_error_names_the_line(write_module):
    (problem,) = problems_of(write_module("id: x\nsections: [\n"))
    assert "not valid YAML" in problem.message
    assert problem.line is not None


def test_missing_module_file(tmp_path):
    (problem,) = problems_of(tmp_path)
    assert "no module.yaml" in problem.message
