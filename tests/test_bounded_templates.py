"""Bounded templates (issue 8, part 4): refused at check time, bounded at run time.

A template that checks clean cannot make a title huge or a run hang; an artifact made
by hand, whose templates the compiler never saw, is bounded by the runtime: the run
completes, opens the CTA with a bounded title and reports the rule and the account.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from csdsl.ast import Str
from csdsl.semantic.templates import check_template
from csdsl.source import Span
from csdsl_runtime import Runtime, load_data, open_store, read_dataset
from csdsl_runtime.artifact import meaning_hash
from csdsl_runtime.templates import (
    DESCRIPTION_LIMIT,
    LITERAL_LIMIT,
    MARKER,
    RENDER_SECONDS,
    STRIKES,
    TITLE_LIMIT,
    VALUE_LIMIT,
    BoundedEnvironment,
    Renderer,
    TemplateLimitError,
    cut,
    unbounded,
)
from tests.rtkit import ASOF, Data, compile_spec_text

FIELDS = frozenset({"name", "arr", "renewal_date"})

ISSUE_PAYLOADS = [
    '{{ "a" * 10**9 }}',
    "{{ account.name * 100000000 }}",
    "{{ account.name|center(1000000000) }}",
]


def _codes(template: str) -> list[str]:
    text = Str(template, json.dumps(template), Span("t.cs", 1, 1, 1, 1 + len(template) + 2))
    return [d.code for d in check_template(text, FIELDS)]


def _context(name: str = "Acme", account_id: str = "a1") -> dict[str, Any]:
    return {"account": {"name": name, "id": account_id, "arr": 10.0, "renewal_date": None},
            "rule": {"name": "r", "title": "R"}, "asof": "2026-11-20"}


def _render_raw(template: str, name: str = "Acme") -> str:
    """Rendered in the runtime's environment without the static checks: the second line."""
    env = BoundedEnvironment()
    env.deadline = time.monotonic() + RENDER_SECONDS
    try:
        return env.from_string(template).render(_context(name))
    finally:
        env.reset()


# ------------------------------------------------------------ check time


@pytest.mark.parametrize("template", ISSUE_PAYLOADS)
def test_the_issue_payloads_are_refused_at_check_time(template: str) -> None:
    assert "CS0502" in _codes(template)


@pytest.mark.parametrize("template", [
    "{{ account.name ** 2 }}", "{{ 2 * account.arr }}", "{{ 'ab' * 3 }}",
    "{{ account.name|center(account.arr) }}", "{{ account.name|center(1001) }}",
    "{{ account.name|center(width=5000) }}", "{{ account.name|indent(100000) }}",
    "{{ account.name|indent(account.name) }}", "{{ account.name|wordwrap(10**6) }}",
    "{{ account.name|wordwrap(5, true, account.name) }}",
    "{{ account.name|truncate(1000000) }}", "{{ account.name|list|batch(99999)|list }}",
    "{{ account.name|list|slice(account.arr)|list }}", "{{ account.name|tojson(indent=9999) }}",
    "{{ account.name|join(account.name) }}", "{{ account.name|replace('', account.name) }}",
    "{{ account.name|map('center', 99999)|list }}", "{{ account.name|map(account.name)|list }}",
    "{{ account.name|center(*account.name) }}", "{{ '%99999s' % account.name }}",
    "{{ '%*s' % (5, account.name) }}", "{{ '%.5000f' % account.arr }}",
    "{{ account.name % 3 }}", "{{ account.name|format(1) }}", "{{ '%9999d'|format(1) }}",
    "{{ '{:>5000}'.format(account.name) }}", "{{ '{:{w}}'.format(account.name, w=9) }}",
    "{{ account.name.format(1) }}", "{{ account.name.center(10**9) }}",
    "{{ account.name.ljust(account.arr) }}", "{{ account.name.zfill(5000) }}",
    "{{ account.name.expandtabs(9999) }}", "{{ account.name.join(account.name) }}",
    "{{ account.name.replace('', account.name) }}", "{{ account.name.translate({}) }}",
    "{{ account.arr.to_bytes(10, 'big') }}", "{% set f = account.name.center %}{{ f(9) }}",
    "{{ account.name['center'](9) }}", "{% filter center(10**9) %}x{% endfilter %}",
    "{% set x %}{{ account.name }}{% endset %}{{ x|center(99999) }}",
])
def test_unbounded_templates_are_cs0502(template: str) -> None:
    assert "CS0502" in _codes(template), template


@pytest.mark.parametrize("template", [
    "Renewal of {{ account.name | upper }} on {{ account.renewal_date }}",
    "{{ 3 * 4 }} {{ 2.5 * -2 }}", "{{ account.arr + 1 }} {{ account.arr / 2 }}",
    "{{ account.name|center(40) }}", "{{ account.name|center(width=1000) }}",
    "{{ account.name|indent(4) }}", "{{ account.name|indent('  ') }}",
    "{{ account.name|wordwrap(79) }}", "{{ account.name|truncate(50, true, '...') }}",
    "{{ account.name|list|batch(3)|list }}", "{{ account.name|list|join(', ') }}",
    "{{ account.name|replace('Inc', 'Incorporated') }}", "{{ account.name|map('upper')|join }}",
    "{{ '%.1f' % account.arr }}", "{{ '%-20s|' % account.name }}",
    "{{ '%s (%d)'|format(account.name, account.arr) }}", "{{ 100 % 7 }}",
    "{{ '{:>10}'.format(account.name) }}", "{{ ', '.join([account.name, account.id]) }}",
    "{{ account.name.upper() }} {{ account.name.strip().split(' ')|first }}",
    "{{ account.name.ljust(30) }}", "{{ account.name.replace('a', 'b') }}",
    "{% for part in account.name.split(' ') %}{{ part|capitalize }} {% endfor %}",
    "{% set short = account.name|truncate(20) %}{{ short }}",
])
def test_bounded_templates_check_clean(template: str) -> None:
    assert _codes(template) == [], template


def test_limits_are_the_documented_ones() -> None:
    assert (TITLE_LIMIT, DESCRIPTION_LIMIT, LITERAL_LIMIT) == (500, 10_000, 1_000)
    language = (Path(__file__).resolve().parent.parent / "specs" / "language.md").read_text(
        encoding="utf-8")
    for figure in ("**500** characters", "**10,000** characters", "up\nto **1,000**",
                   "**0.25 s**", "**1,000,000** characters"):
        assert figure in language, figure
    assert f"{RENDER_SECONDS:g}" == "0.25" and STRIKES == 3 and VALUE_LIMIT == 1_000_000


def test_a_call_of_an_unknown_name_is_cs0501_only() -> None:
    assert _codes("{{ range(10**9)|join }}") == ["CS0501", "CS0502"]  # `range`; `**`
    assert _codes("{{ lipsum(100000) }}") == ["CS0501"]


# ------------------------------------------------------------ sandbox escapes still fail

ESCAPES = [
    "{{ account.__class__ }}",
    "{{ account.name.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ account.name|attr('__class__') }}",
    "{{ (account.name|attr('__class__')|attr('__mro__'))[1] }}",
    "{{ account.name|attr('_' ~ '_class__') }}",
    "{{ account.name['__class__'] }}",
    "{{ account.name['__cla' ~ 'ss__'] }}",
    "{{ self.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ range.__globals__['__builtins__']['open']('MARK', 'w') }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('touch MARK') }}",
    "{{ '{0.__class__.__mro__}'.format(account.name) }}",
    "{{ '{0.__init__.__globals__}'.format(rule) }}",
    "{{ '%s'|format(account.__class__) }}",
    "{% set x = account.name.__class__ %}{{ x }}",
    "{{ account.name|map(attribute='__class__')|list }}",
    "{{ [account.name]|selectattr('__class__')|list }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ ().__class__.__bases__[0].__subclasses__()[59].__init__.__globals__.__builtins__"
    "['eval'](\"__import__('os').popen('touch MARK')\") }}",
]


def test_there_are_26_escape_payloads() -> None:
    assert len(ESCAPES) == 26 and len(set(ESCAPES)) == 26


@pytest.mark.parametrize("template", ESCAPES)
def test_escapes_are_refused_at_check_time(template: str) -> None:
    assert {"CS0501", "CS0502"} & set(_codes(template)), template


@pytest.mark.parametrize("template", ESCAPES)
def test_escapes_fail_in_the_runtime_sandbox(template: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        out = _render_raw(template)
    except Exception:  # SecurityError, UndefinedError, TypeError...: refused
        out = ""
    renderer = Renderer()  # with its static checks, for a run: never an exception
    for shown in (out, renderer.render(template, _context())):
        assert "<class" not in shown and "built-in" not in shown, shown
        assert "function" not in shown and "module" not in shown, shown
    assert not (tmp_path / "MARK").exists()


def test_data_that_looks_like_a_template_renders_as_data() -> None:
    assert Renderer().render("Hi {{ account.name }}", _context("{{ 7*7 }}")) == "Hi {{ 7*7 }}"


# ------------------------------------------------------------ run time: the second line


@pytest.mark.parametrize("template", [
    *ISSUE_PAYLOADS,
    "{{ account.name|indent(1000000000) }}", "{{ account.name.ljust(10**9) }}",
    "{{ '{0:{1}}'.format(1, 10**9) }}", "{{ '%999999999s' % 1 }}", "{{ '%*d' % (10**9, 1) }}",
    "{{ 2 ** (10 ** 6) }}", "{{ [1]|batch(1000000000, 'x')|list }}",
    "{{ [1]|slice(1000000000)|list|length }}", "{{ account.name|map('center', 10**9)|list }}",
    "{{ ('x'|attr('center'))(1000000000) }}",
    '{% set s = "ab" %}' + "{% set s = s ~ s %}" * 30 + "{{ s|length }}",
    '{% set s = "ab" %}' + "{% set s = s + s %}" * 30 + "{{ s|length }}",
    '{% set s = "ab" %}' + "{% set s = s|join(s) %}" * 30 + "{{ s|length }}",
    '{% set s = ["ab"] %}' + "{% set s = [s, s] %}" * 40 + "{{ s|string|length }}",
    '{% set s = ["ab"] %}' + "{% set s = [s, s] %}" * 40 + "{{ s }}",
    '{% set s = ["ab"] %}' + "{% set s = (s, s) %}" * 40 + "{{ s|upper }}",
    '{% set s = ["ab"] %}' + "{% set s = [s] + [s] %}" * 40 + "{{ s|tojson }}",
    '{% set s = ["ab"] %}' + "{% set s = [1]|batch(3, s)|list %}" * 40 + "{{ s }}",
    '{% set s = {"a": 1} %}' + '{% set s = {"a": s, "b": s} %}' * 40 + "{{ s|pprint }}",
    "{% set s = account.name|center(999) %}{{ s|replace('', s)|replace('', s) }}",
    "{% macro f() %}{% if varargs|length < 40 %}{{ f(varargs, varargs) }}{% else %}"
    "{{ varargs }}{% endif %}{% endmacro %}{{ f(1) }}",
    "{{ (1).to_bytes(10**9, 'big') }}",
])
def test_the_runtime_refuses_what_would_grow(template: str) -> None:
    started = time.monotonic()
    with pytest.raises(Exception) as caught:  # which one depends on the payload
        _render_raw(template)
    assert time.monotonic() - started < 2
    assert not isinstance(caught.value, MemoryError)


@pytest.mark.parametrize("template", [
    "{% for a in 'abcdefghij' * 100 %}{% for b in 'abcdefghij' * 100 %}"
    "{% for c in 'abcdefghij' * 100 %}{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% for a in account.name recursive %}{% for b in account.name %}{% for c in account.name"
    " %}{% endfor %}{% endfor %}{% endfor %}",
])
def test_the_runtime_stops_runaway_loops_in_time(template: str) -> None:
    started = time.monotonic()
    with pytest.raises(Exception, match="longer than"):
        _render_raw(template, name="x" * 2000)
    assert time.monotonic() - started < RENDER_SECONDS + 1


def test_values_are_limited_while_rendering() -> None:
    with pytest.raises(TemplateLimitError, match="longer than 1,000,000"):
        _render_raw("{{ account.name * 1000001 }}", name="x")
    assert len(_render_raw("{{ account.name * 1000 }}", name="x")) == 1000
    assert _render_raw("{{ 3 * 4 }}-{{ '%5s' % 'ab' }}-{{ '{:>4}'.format(7) }}") == "12-   ab-   7"
    assert _render_raw("{% for a, b in [(1, 2), (3, 4)] %}{{ a }}{{ b }}{% endfor %}") == "1234"


def test_the_static_checks_match_the_compiler() -> None:
    env = BoundedEnvironment()
    for template in ISSUE_PAYLOADS:
        assert unbounded(env.parse(template)), template
    assert not unbounded(env.parse("{{ account.name|center(40) }}"))


# ------------------------------------------------------------ the renderer for a run


def test_long_output_is_cut_with_a_marker_and_counted() -> None:
    renderer = Renderer()
    title = renderer.render("Call {{ account.name }}", _context("n" * 5000, "a7"), "CTA title")
    assert len(title) == TITLE_LIMIT and title.startswith("Call nnn") and title.endswith(MARKER)
    description = renderer.render("{{ account.name }}", _context("d" * 50_000), "description",
                                  DESCRIPTION_LIMIT)
    assert len(description) == DESCRIPTION_LIMIT and description.endswith(MARKER)
    plain = renderer.render("p" * 800, _context(), "task `x` title")
    assert len(plain) == TITLE_LIMIT
    assert (renderer.errors, renderer.truncated) == (0, 3)
    first = renderer.problems[0]
    assert (first.rule, first.account, first.where, first.outcome) == (
        "r", "a7", "CTA title", "truncated")
    assert first.line() == "r / a7: CTA title: longer than 500 characters (truncated)"


def test_a_runaway_template_is_stopped_after_three_accounts() -> None:
    renderer = Renderer()
    loop = ("{% for a in account.name %}{% for b in account.name %}{% for c in account.name %}"
            "{% endfor %}{% endfor %}{% endfor %}T")
    started = time.monotonic()
    titles = [renderer.render(loop, _context("x" * 1000, f"a{i}")) for i in range(10)]
    assert time.monotonic() - started < STRIKES * RENDER_SECONDS + 1.5
    assert titles == [loop] * 10 and renderer.errors == 10
    reasons = [p.reason for p in renderer.problems]
    assert reasons[0] == "the template took longer than 0.25 s"
    assert reasons[-1] == "not rendered again: it took longer than 0.25 s for 3 accounts"
    assert renderer.problems[-1].account == "a3"


def test_the_report_lists_at_most_ten_problems() -> None:
    renderer = Renderer()
    for i in range(30):
        renderer.render(f"{{{{ account.name * {i} }}}}", _context(account_id=f"a{i}"),
                        f"task `t{i}` title")
    assert renderer.errors == 30 and len(renderer.problems) == 10


# ------------------------------------------------------------ a hand-made artifact, run

RULES = """
playbook Outreach {
  task call "Call {{ account.name }}" { description "Notes for {{ account.name }}" }
}
rule renewal "Renewal" {
  when true
  then cta risk "Renewal for {{ account.name }}"
  playbook Outreach
  reason "Renewal soon"
}
rule plain {
  when true
  then cta activity "Check in with {{ account.name }}"
}
"""


def _forged(tmp_path: Path, title: str, task_title: str | None = None,
            description: str | None = None, reason: str | None = None) -> Any:
    """The compiled artifact with hand-made templates, re-hashed as a forger would."""
    artifact = compile_spec_text(tmp_path, RULES)
    data = json.loads(artifact.to_json())
    renewal = next(r for r in data["rules"] if r["name"] == "renewal")
    renewal["actions"][0]["title"] = title
    if reason is not None:
        renewal["reason"] = reason
    task = data["playbooks"][0]["tasks"][0]
    if task_title is not None:
        task["title"] = task_title
    if description is not None:
        task["description"] = description
    data["spec_hash"] = meaning_hash(data)
    return load_data(data)


def _run(tmp_path: Path, artifact: Any, names: dict[str, str]) -> tuple[Runtime, Any]:
    data = Data()
    for account_id, name in names.items():
        data.account(account_id, name=name, segment="SMB", arr="1000")
    dataset = read_dataset(data.write(tmp_path / "data"), artifact.schema_)
    runtime = Runtime(artifact, dataset, open_store(f"sqlite:///{tmp_path / 'csdsl.db'}"))
    started = time.monotonic()
    report = runtime.run(ASOF)
    assert time.monotonic() - started < 5
    return runtime, report


@pytest.mark.parametrize("payload", ISSUE_PAYLOADS)
def test_a_forged_artifact_with_the_issue_payloads_runs(tmp_path: Path, payload: str) -> None:
    artifact = _forged(tmp_path, payload, task_title=payload, description=payload)
    runtime, report = _run(tmp_path, artifact, {"a1": "Acme", "a2": "Beta"})
    ctas = {(c.rule, c.account_id): c for c in runtime.store.list_ctas()}
    assert len(ctas) == 4  # every CTA is opened, on both rules
    renewal = ctas[("renewal", "a1")]
    assert renewal.title == payload and len(renewal.title) <= TITLE_LIMIT
    (task,) = renewal.tasks
    assert task.title == payload and task.description == payload
    assert ctas[("plain", "a2")].title == "Check in with Beta"
    assert report.template_errors == 6  # title, task title, description, for 2 accounts
    first = report.template_problems[0]
    assert (first.rule, first.account, first.outcome) == ("renewal", "a1", "error")
    assert first.reason.startswith("refused: ")
    text = report.render()
    assert "template errors: 6" in text
    assert "  renewal / a1: CTA title: refused: " in text
    as_json = report.to_json()
    assert as_json["template_errors"] == 6
    assert as_json["template_problems"][0]["account"] == "a1"
    assert as_json["template_problems"][0]["rule"] == "renewal"


def test_a_forged_runaway_loop_does_not_hang_the_run(tmp_path: Path) -> None:
    loop = ("Renewal {% for a in account.name %}{% for b in account.name %}"
            "{% for c in account.name %}{% endfor %}{% endfor %}{% endfor %}")
    artifact = _forged(tmp_path, loop)
    names = {f"a{i}": "x" * 1000 for i in range(8)}
    runtime, report = _run(tmp_path, artifact, names)
    titles = [c.title for c in runtime.store.list_ctas() if c.rule == "renewal"]
    assert titles == [loop] * 8
    assert report.template_errors == 8 and report.ctas_opened == 16
    assert any("not rendered again" in p.reason for p in report.template_problems)


def test_oversized_texts_never_reach_the_store(tmp_path: Path) -> None:
    artifact = _forged(tmp_path, "Renewal for {{ account.name }}", task_title="t" * 2000,
                       description="Notes {{ account.name }} " * 1000, reason="r" * 20_000)
    runtime, report = _run(tmp_path, artifact, {"a1": "n" * 3000, "a2": "Beta"})
    ctas = {(c.rule, c.account_id): c for c in runtime.store.list_ctas()}
    long = ctas[("renewal", "a1")]
    assert len(long.title) == TITLE_LIMIT and long.title.endswith(MARKER)
    assert long.reason is not None and len(long.reason) == DESCRIPTION_LIMIT
    (task,) = long.tasks
    assert len(task.title) == TITLE_LIMIT
    assert task.description is not None and len(task.description) == DESCRIPTION_LIMIT
    assert ctas[("renewal", "a2")].title == "Renewal for Beta"
    assert len(ctas[("plain", "a1")].title) == TITLE_LIMIT
    assert report.template_errors == 0 and report.template_truncated >= 6
    lines = [p.line() for p in report.template_problems]
    assert "renewal / a1: CTA title: longer than 500 characters (truncated)" in lines
    assert "template problems: 0 failed (kept as written), " in report.render()


def test_a_template_too_deep_for_jinja_is_a_diagnostic_not_a_crash() -> None:
    deep = "{{ " + " + ".join(["'a'"] * 3000) + " }}"
    assert _codes(deep) == ["CS0500"]
    renderer = Renderer()
    assert renderer.render(deep, _context()) == cut(deep, TITLE_LIMIT)
    assert renderer.errors == 1


@pytest.mark.parametrize("value", ["\t" * 130_000, "a " * 200_000])
def test_heavy_filters_refuse_long_input_at_once(value: str) -> None:
    """One textwrap or urlize call has no deadline tick: 130,000 tabs wrapped at 1 took
    8 s. Past HEAVY_INPUT it is a failed render for that account, at once."""
    renderer = Renderer()
    started = time.perf_counter()
    for template in ("{{ account.name|wordwrap(1) }}", "{{ account.name|urlize }}"):
        out = renderer.render(template, {"account": {"name": value}, "rule": {}, "asof": ASOF})
        assert out == template
    assert time.perf_counter() - started < 1 and renderer.errors == 2
    assert "longer than 20,000 characters" in renderer.problems[0].reason


def test_a_template_that_renders_a_nul_character_fails() -> None:
    renderer = Renderer()
    assert renderer.render('{{ "a\\x00b" }}', {"account": {}, "rule": {}, "asof": ASOF}) == \
        '{{ "a\\x00b" }}'
    assert renderer.errors == 1 and renderer.problems[0].reason == "renders a NUL character"
