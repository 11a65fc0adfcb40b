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

__all__ = ["condition", "days", "number", "owner", "percent", "string"]

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "in": 4, "exists": 4, "neg": 7}
_ARITH_PREC = {"+": 5, "-": 5, "*": 6, "/": 6}
_ATOM = 9


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
    return _text(node, False)


def _is_percent(node: A.Expr) -> bool:
    return isinstance(node, A.Change) or (isinstance(node, A.Neg) and _is_percent(node.arg))


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


def _prec(node: A.Expr) -> int:
    if isinstance(node, A.Arith):
        return _ARITH_PREC[node.fn]
    if isinstance(node, A.Lit) and node.type == "number" and float(node.value) < 0:
        return 7  # `-3` reads as a unary minus
    if isinstance(node, A.Compare) and _sugar(node) is not None:
        return 4
    return _PREC.get(node.op, _ATOM)


def _sub(node: A.Expr, least: int, as_percent: bool = False) -> str:
    text = _text(node, as_percent)
    return text if _prec(node) >= least else f"({text})"


def _sugar(node: A.Compare) -> str | None:
    """`drops`, `rises` and `no ... for` where the comparison is what they lower to."""
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


def _text(node: A.Expr, as_percent: bool) -> str:
    if isinstance(node, A.Lit):
        return _literal(node, as_percent)
    if isinstance(node, A.FieldRef | A.EventFieldRef):
        return node.name
    if isinstance(node, A.Latest):
        return node.metric
    if isinstance(node, A.Window):
        return f"{node.fn}({node.metric}, {days(node.days)})"
    if isinstance(node, A.Change):
        return f"change({node.metric}, {days(node.days)})"
    if isinstance(node, A.Count):
        return f"count({node.event}, {days(node.days)})"
    if isinstance(node, A.Exists):
        text = f"event {node.event} within {days(node.days)}"
        if node.where is None:
            return text
        where = node.where
        inner = _text(where, False)
        # `where` takes one comparison; anything else needs its parentheses
        simple = isinstance(where, A.Compare | A.InList)
        return f"{text} where {inner if simple else f'({inner})'}"
    if isinstance(node, A.DaysUntil):
        return f"days_until({node.field})"
    if isinstance(node, A.DaysSince):
        return f"days_since({node.event or node.field or ''})"
    if isinstance(node, A.Compare):
        sugar = _sugar(node)
        if sugar is not None:
            return sugar
        pct = _is_percent(node.left) or _is_percent(node.right)
        return f"{_sub(node.left, 5, pct)} {node.cmp} {_sub(node.right, 5, pct)}"
    if isinstance(node, A.Arith):
        own = _ARITH_PREC[node.fn]
        return f"{_sub(node.left, own)} {node.fn} {_sub(node.right, own + 1)}"
    if isinstance(node, A.Neg):
        return f"-{_sub(node.arg, 7)}"
    if isinstance(node, A.InList):
        pct = _is_percent(node.arg)
        listed = ", ".join(_literal(v, pct) for v in node.values)
        return f"{_sub(node.arg, 5)} {'not in' if node.negate else 'in'} ({listed})"
    if isinstance(node, A.And):
        return " and ".join(_sub(a, 3) for a in node.args)
    if isinstance(node, A.Or):
        return " or ".join(_sub(a, 2) for a in node.args)
    if isinstance(node, A.Not):
        return f"not {_sub(node.arg, 3)}"
    raise ValueError(f"unknown IR node `{node.op}`")  # pragma: no cover


def json_text(value: object) -> str:
    """A value the renderer has no words for, as compact JSON (fields added later)."""
    import msgspec

    return json.dumps(msgspec.to_builtins(value), sort_keys=True, ensure_ascii=False,
                      separators=(", ", ": "))
