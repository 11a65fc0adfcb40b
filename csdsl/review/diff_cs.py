"""The compiled artifact's records back in `.cs` source form, for `csdsl diff`.

A review reads a condition as the admin wrote it, so the lowering's sugar is put back:
`change(m, D) <= -P` reads `m drops P over D`, `count(e, D) == 0` reads `no e for D`.
Numbers are exact (`repr`), not rounded as `csdsl_runtime.explain.describe` rounds
computed values: two thresholds that differ must never print the same. Every text here
parses back as `.cs` (tests/test_diff.py compiles them).
"""

from __future__ import annotations

import json
from decimal import Decimal

from csdsl_runtime import artifact as A
from csdsl_runtime.explain import Words

__all__ = ["condition", "days", "number", "owner", "percent", "string"]

def string(text: str) -> str:
    """A `.cs` string literal: `"..."` with `\\"`, `\\\\` and `\\n` escapes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def number(x: float) -> str:
    """A number exactly: `3`, `12.5`, `0.30000000000000004`."""
    if isinstance(x, bool):  # pragma: no cover - the verifier refuses it
        return str(x).lower()
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(float(x))


def percent(x: float) -> str:
    """A fraction as an exact percentage: 0.3 is `30%`, 0.125 is `12.5%`."""
    d = Decimal(repr(float(x))).scaleb(2).normalize()
    text = format(d, "f")
    return text + "%"


def days(n: int) -> str:
    """A duration literal: whole weeks are still written in days, as the artifact keeps."""
    return f"{n}d"


def owner(value: A.Owner | None) -> str | None:
    """`AE or CSM`, `"jane@example.com"`, `pool Support`; None: the default owner."""
    if value is None:
        return None
    parts = []
    for choice in value.chain:
        if choice.kind == "user":
            parts.append(string(choice.name))
        elif choice.kind == "pool":
            parts.append(f"pool {choice.name}")
        else:
            parts.append(choice.name)
    return " or ".join(parts)


def condition(node: A.Expr) -> str:
    """The condition as `.cs` source, with the sugar the lowering removed put back."""
    return _SOURCE.text(node)


def _literal(node: A.Lit, as_percent: bool) -> str:
    if node.type == "number":
        value = float(node.value)
        if as_percent:
            return ("-" + percent(-value)) if value < 0 else percent(value)
        return number(value)
    if node.type == "text":
        return string(str(node.value))
    if node.type == "bool":
        return "true" if node.value is True else "false"
    return str(node.value)  # a date: YYYY-MM-DD


class _Source(Words):
    """The runtime's words for the IR (`csdsl_runtime.explain.Words`) as `.cs` source:
    exact literals, durations as written (`2w`), and `drops`, `rises` and `no ... for`
    where a comparison is what they lower to."""

    def literal(self, node: A.Lit, percent: bool) -> str:
        return _literal(node, percent)

    def days(self, n: int) -> str:
        return days(n)

    def sugar(self, node: A.Compare) -> str | None:
        left, right = node.left, node.right
        if isinstance(left, A.Change) and isinstance(right, A.Lit) and right.type == "number":
            value = float(right.value)
            if node.cmp == "<=" and value < 0:
                return f"{left.metric} drops {percent(-value)} over {days(left.days)}"
            if node.cmp == ">=" and value >= 0:
                return f"{left.metric} rises {percent(value)} over {days(left.days)}"
        if node.cmp == "==" and isinstance(right, A.Lit) and right.type == "number" \
                and float(right.value) == 0:
            if isinstance(left, A.Count):
                return f"no {left.event} for {days(left.days)}"
            if isinstance(left, A.Window) and left.fn == "sum":
                return f"no {left.metric} for {days(left.days)}"
        return None

    def where(self, node: A.Expr) -> str:
        # `where` takes one comparison; anything else needs its parentheses
        inner = self.text(node)
        return inner if isinstance(node, A.Compare | A.InList) else f"({inner})"


_SOURCE = _Source()


def json_text(value: object) -> str:
    """A value the renderer has no words for, as compact JSON (fields added later)."""
    import msgspec

    return json.dumps(msgspec.to_builtins(value), sort_keys=True, ensure_ascii=False,
                      separators=(", ", ": "))
