"""The quick path for simple templates finds exactly what Jinja's parser finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from csdsl.semantic.templates import _jinja_problems, _problems, _simple_reads

FIELDS = frozenset({"name", "arr", "renewal_date"})

_pieces = st.sampled_from([
    "Usage dropped for ", " at ", "{", "}", "}}", "{{", "{%", "%}", "{#", "#}", "-", " ",
    "{{ account.name }}", "{{account.arr}}", "{{ account.nmae }}", "{{ account }}",
    "{{ account.__class__ }}", "{{ rule.title }}", "{{ rule.owner }}", "{{ asof }}",
    "{{ asof.year }}", "{{ acount.name }}", "{{ account.name | upper }}", "{{- asof -}}",
    "{{ account['name'] }}", "{% if account.arr %}", "{% endif %}", "{{ true }}",
    "{{\taccount.name\t}}", "{{ account.name\n}}", "{{{ account.name }}",
])


@settings(deadline=None)
@given(st.lists(_pieces, max_size=6).map("".join))
def test_quick_path_agrees_with_jinja(template: str) -> None:
    assert _problems.__wrapped__(template, FIELDS) == _jinja_problems(template, FIELDS)


def test_quick_path_takes_the_common_cases_only() -> None:
    assert _simple_reads("Renewal of {{ account.name }} on {{ account.renewal_date }}") == [
        ("account", "name"), ("account", "renewal_date")]
    assert _simple_reads("plain text") == []
    for jinja_only in ("{{{ account.name }}", "{{- asof }}", "{% if x %}{% endif %}",
                       "{{ account.name | upper }}", "{# note #}", "{{ accounts.name }}"):
        assert _simple_reads(jinja_only) is None, jinja_only


def test_underscore_attributes_are_refused_anywhere_in_a_chain() -> None:
    for template in ("{{ account.name.__class__ }}", "{{ account.name['__len__'] }}",
                     "{{ (account.name).__class__.__mro__ }}", "{% set x = account.name %}"
                     "{{ x.__class__ }}", "{{ account.name|attr('__class__') }}",
                     "{{ account.name|attr('_' ~ '_class__') }}",
                     "{{ [account]|map(attribute='__class__')|list }}"):
        codes = [p[0] for p in _problems.__wrapped__(template, FIELDS)]
        assert "CS0501" in codes, template
    assert _problems.__wrapped__("{{ account.name.upper() }}", FIELDS) == ()
