"""Checks of the Jinja templates in user-visible strings, at compile time.

A template may read `account.<declared field>` (and `account.id`), `rule.name`,
`rule.title` and `asof`, plus names it assigns itself (`{% set %}`, `{% for %}`).
Anything else, including attribute escapes such as `account.__class__`, is an error
here, before a host ever renders it in its sandbox (CS0501).

A template must also stay small (CS0502): no `*` except between two number literals,
no `**`, `%` and `format` only with a literal format, sizes (widths, counts, lengths)
only as number literals up to 1,000, and only methods that keep text small. The rules
live in the runtime (`csdsl_runtime.templates.unbounded`), which refuses the same
templates in a hand-made artifact.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from csdsl.ast import Str
from csdsl.diagnostics import Diagnostic, did_you_mean, error
from csdsl.source import Span
from csdsl_runtime.vocabulary import ACCOUNT_ID_ATTRIBUTE, RULE_TEMPLATE_ATTRIBUTES, TEMPLATE_ROOTS

if TYPE_CHECKING:
    from jinja2 import nodes

_MARKERS = ("{{", "{%", "{#")
_QUOTED = re.compile(r"'([^']*)'")  # Jinja quotes names in its messages; we use backticks


@lru_cache(maxsize=1)
def _environment():  # type: ignore[no-untyped-def]
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment()


def check_template(text: Str, account_fields: frozenset[str]) -> list[Diagnostic]:
    """Diagnostics for one template string; plain strings cost nothing, and a template
    seen before costs a cache lookup."""
    value = text.value
    if "{" not in value or not any(m in value for m in _MARKERS):
        return []
    return [
        _at(text, code, message, help_text, suggestion, needle)
        for code, message, help_text, suggestion, needle in _problems(value, account_fields)
    ]


def _at(text: Str, code: str, message: str, help_text: str, suggestion: str | None,
        needle: str | None) -> Diagnostic:
    span = text.span
    if needle and span.line == span.end_line:
        index = _find_in_blocks(text.raw, needle)
        if index >= 0:
            start = span.start + index
            span = Span(span.file, span.line, span.column + index, span.line,
                        span.column + index + len(needle), start, start + len(needle))
    return error(code, span, message, help_text, suggestion=suggestion)


_BLOCK = re.compile(r"\{\{.*?(?:\}\}|$)|\{%.*?(?:%\}|$)", re.DOTALL)


def _find_in_blocks(raw: str, needle: str) -> int:
    """Where `needle` occurs as a word inside a `{{ }}` or `{% %}` block, or -1."""
    word = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(needle) + r"(?![A-Za-z0-9_])")
    for block in _BLOCK.finditer(raw):
        found = word.search(raw, block.start(), block.end())
        if found:
            return found.start()
    return raw.find(needle)


def _jinja_reason(message: str) -> tuple[str, str]:
    """Jinja's message in our style: its first sentence, lower case, names in backticks."""
    text = _QUOTED.sub(r"`\1`", " ".join(message.split()))
    sentences = [p.strip().rstrip(".") for p in re.split(r"(?<=\.)\s+", text) if p.strip()]
    first = sentences[0] if sentences else "invalid syntax"
    rest = "; ".join(_lower_first(x) for x in sentences[1:])
    return _lower_first(first), rest


def _lower_first(sentence: str) -> str:
    return sentence if sentence.startswith("Jinja") else sentence[:1].lower() + sentence[1:]


Problem = tuple[str, str, str, str | None, str | None]
"""(code, message, help, did-you-mean, the word in the template to point at)."""

# `{{ account.name }}`, `{{ rule.title }}`, `{{ asof }}`: nearly every real template.
_SIMPLE_READ = re.compile(r"\{\{[ \t]*(account|rule|asof)(?:\.([A-Za-z_][A-Za-z0-9_]*))?[ \t]*\}\}")


def _simple_reads(source: str) -> list[tuple[str, str | None]] | None:
    """The reads of a template made only of text and simple reads; else None (use Jinja).

    Text left once the reads are cut out must hold no `{` at all, so anything Jinja
    could read differently (`{{{`, `{{-`, blocks, comments) goes to Jinja's parser.
    """
    reads = [(m.group(1), m.group(2)) for m in _SIMPLE_READ.finditer(source)]
    if "{" in _SIMPLE_READ.sub("", source):
        return None
    return reads


def _read_problem(root: str, attribute: str | None, fields: frozenset[str]) -> Problem | None:
    """The problem with reading `root.attribute` (root one of TEMPLATE_ROOTS), if any."""
    if root == "asof":
        if attribute is not None:
            return ("CS0501", f"`asof.{attribute}` is not available",
                    "`asof` is the evaluation day as YYYY-MM-DD text", None, attribute)
        return None
    known = (*sorted(fields), ACCOUNT_ID_ATTRIBUTE) if root == "account" \
        else RULE_TEMPLATE_ATTRIBUTES
    if attribute is None:
        return ("CS0501", f"use `{root}.<attribute>`, not `{root}` alone",
                f"`{root}` has: " + ", ".join(known), None, root)
    if attribute.startswith("_"):
        return ("CS0501", f"`{root}.{attribute}` is not allowed in a template",
                "templates may read declared fields only; names starting with `_` "
                "are never available", None, attribute)
    if attribute not in known:
        what = (f"account field `{attribute}`" if root == "account"
                else f"attribute `rule.{attribute}`")
        return ("CS0501", f"unknown {what} in the template", f"`{root}` has: " + ", ".join(known),
                did_you_mean(attribute, known), attribute)
    return None


@lru_cache(maxsize=4096)
def _problems(source: str, fields: frozenset[str]) -> tuple[Problem, ...]:
    simple = _simple_reads(source)
    if simple is not None:
        found = (_read_problem(root, attribute, fields) for root, attribute in simple)
        return tuple(p for p in found if p is not None)
    return _jinja_problems(source, fields)


def _jinja_problems(source: str, fields: frozenset[str]) -> tuple[Problem, ...]:
    try:
        return _parsed_problems(source, fields)
    except RecursionError:  # Jinja parses and walks templates recursively
        return (("CS0500", "the template nests too deeply to be checked",
                 "split long chains of operators or filters into `{% set %}` steps",
                 None, None),)


def _parsed_problems(source: str, fields: frozenset[str]) -> tuple[Problem, ...]:
    from jinja2 import TemplateSyntaxError, nodes

    env = _environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        reason, details = _jinja_reason(exc.message or "invalid syntax")
        return (("CS0500", f"the template does not parse: {reason}",
                 details or "templates use Jinja syntax, for example `{{ account.name }}`",
                 None, None),)
    problems: list[Problem] = []
    assigned = {
        n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")
    }
    parents: dict[int, nodes.Node] = {}
    for node in tree.find_all(nodes.Node):
        for child in node.iter_child_nodes():
            parents[id(child)] = node
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or name.name in assigned:
            continue
        if name.name not in TEMPLATE_ROOTS:
            allowed_roots = ", ".join(f"`{r}`" for r in TEMPLATE_ROOTS)
            problems.append(("CS0501", f"the template reads `{name.name}`, which is not defined",
                             f"templates may read {allowed_roots}",
                             did_you_mean(name.name, TEMPLATE_ROOTS), name.name))
            continue
        parent = parents.get(id(name))
        attribute = None
        if isinstance(parent, nodes.Getattr):
            attribute = parent.attr
        elif isinstance(parent, nodes.Getitem) and isinstance(parent.arg, nodes.Const):
            attribute = str(parent.arg.value)
        problem = _read_problem(name.name, attribute, fields)
        if problem is not None:
            problems.append(problem)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else _constant(node.arg)
        read_from_root = isinstance(node.node, nodes.Name) and node.node.name in TEMPLATE_ROOTS
        if isinstance(attr, str) and attr.startswith("_") and not read_from_root:
            problems.append(("CS0501", f"`{attr}` is not allowed in a template",
                             "templates may read declared fields only; names starting with `_` "
                             "are never available", None, attr))
    for method in tree.find_all(nodes.Call):  # "{0.__class__}".format(x) reads attributes
        target = method.node
        if isinstance(target, nodes.Getattr) and target.attr in ("format", "format_map") \
                and isinstance(target.node, nodes.Const) and isinstance(target.node.value, str):
            for attr in _format_attributes(target.node.value):
                problems.append(("CS0501", f"`{attr}` is not allowed in a template",
                                 "names starting with `_` are never available", None, attr))
    for call in tree.find_all((nodes.Filter, nodes.Test)):
        # attr(), map(attribute=...), selectattr(...) read attributes by name: only a
        # literal name, never one starting with `_`
        values = [*call.args, *(kw.value for kw in call.kwargs)]
        for value in values:
            if isinstance(value, nodes.Const) and str(value.value).startswith("_"):
                problems.append(("CS0501", f"`{value.value}` is not allowed in a template",
                                 "names starting with `_` are never available", None,
                                 str(value.value)))
        if call.name == "attr" and not (call.args and isinstance(call.args[0], nodes.Const)):
            problems.append(("CS0501", "`attr` needs a literal attribute name",
                             "write the name itself, as in `attr(\"name\")`", None, "attr"))
        if isinstance(call, nodes.Filter) and call.name not in env.filters:
            problems.append(("CS0501", f"unknown filter `{call.name}` in the template",
                             "filters are Jinja's built-in ones",
                             did_you_mean(call.name, env.filters), call.name))
    problems.extend(_size_problems(tree, assigned))
    return tuple(problems)


def _format_attributes(text: str) -> list[str]:
    """The attributes and keys starting with `_` that a `str.format` text reads."""
    import string

    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name]
    except ValueError:
        return []
    return [part for name in fields for part in re.split(r"[.\[\]]", name)
            if part.startswith("_")]


def _constant(node: nodes.Expr) -> object:
    """The value of a literal or of literal texts joined (`'__cla' ~ 'ss__'`), else None.

    Never Jinja's own folding, which would compute `'a' * 10**9` here."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return node.value
    parts = node.nodes if isinstance(node, nodes.Concat) else (
        [node.left, node.right] if isinstance(node, nodes.Add) else None)
    if parts is None:
        return None
    values = [_constant(p) for p in parts]
    if not all(isinstance(v, str) for v in values):
        return None
    return "".join(str(v) for v in values)


def _size_problems(tree: nodes.Template, assigned: set[str]) -> list[Problem]:
    """CS0502: what could make the template's output or its run time unbounded."""
    from csdsl_runtime.templates import unbounded

    return [("CS0502", u.message, u.help, None, u.needle) for u in unbounded(tree)
            if u.callee is None or u.callee in assigned]  # CS0501 reports the others
