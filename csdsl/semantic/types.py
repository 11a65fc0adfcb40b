"""Type rules of conditions: every expression gets a type, or a diagnostic.

Types: number, text, date, bool, and enum (a text type with a closed set of values).
The checker never guesses: an unknown name or a wrong kind is an error with the place,
and a "did you mean" when a declared name is close.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from csdsl import ast
from csdsl.diagnostics import Diagnostic, did_you_mean, error
from csdsl.semantic.model import BOOL, DATE, NUMBER, TEXT, Field, Reference, Symbol, Type
from csdsl.semantic.symbols import Declarations
from csdsl.source import Span
from csdsl_runtime.vocabulary import FUNCTIONS

_LITERAL_TYPES: dict[ast.LiteralKind, Type] = {
    "number": NUMBER, "percent": NUMBER, "duration": NUMBER, "date": DATE,
    "string": TEXT, "bool": BOOL,
}


def _describe(expr: ast.Expr) -> str:
    if isinstance(expr, ast.NameRef):
        return f"`{expr.name.value}`"
    if isinstance(expr, ast.Literal):
        return f"`{expr.text}`"
    if isinstance(expr, ast.Call):
        return f"`{expr.func.value}(...)`"
    return "the expression"


class ConditionChecker:
    """Types conditions; collects diagnostics rather than stopping at the first.

    It records what it learns: the type of every expression (by its span) and the symbol
    every name resolves to, which lowering then reads instead of resolving again.
    """

    def __init__(self, symbols: Declarations, diagnostics: list[Diagnostic]) -> None:
        self.symbols = symbols
        self.diagnostics = diagnostics
        self.event_scope: Mapping[str, Field] | None = None
        self.event_name = ""
        self.types: dict[Span, Type] = {}
        self.references: list[Reference] = []
        self.resolved: dict[Span, Symbol] = {}

    def _err(self, code: str, node: ast.Expr | ast.Name, message: str, *help_lines: str,
             suggestion: str | None = None) -> None:
        self.diagnostics.append(
            error(code, node.span, message, *help_lines, suggestion=suggestion)
        )

    def _refer(self, name: ast.Name, qualified: str | None = None) -> None:
        """Record that `name` names a declared symbol (`qualified`: an event field)."""
        symbol = self.symbols.symbols.get(qualified or name.value)
        if symbol is not None:
            self.references.append(Reference(name.span, symbol))
            self.resolved[name.span] = symbol

    def check_condition(self, expr: ast.Expr) -> bool:
        """A `when`-like condition must be true or false. True when it checked clean."""
        before = len(self.diagnostics)
        t = self.type_of(expr)
        if t is not None and t.name != "bool":
            self._err("CS0305", expr, f"a condition must be true or false, found {_a(t)}",
                      "compare it, for example `usage > 10`")
        return len(self.diagnostics) == before

    def type_of(self, expr: ast.Expr) -> Type | None:
        found = _RULES[type(expr)](self, expr)
        if found is not None:
            self.types[expr.span] = found
        return found

    # -- leaves
    def _Literal(self, expr: ast.Literal) -> Type | None:
        return _LITERAL_TYPES[expr.kind]

    def _NameRef(self, expr: ast.NameRef) -> Type | None:
        name = expr.name.value
        if self.event_scope is not None and name in self.event_scope:
            self._refer(expr.name, f"{self.event_name}.{name}")
            return self.event_scope[name].value_type
        kind = self.symbols.data_kind(name)
        if kind is not None:
            self._refer(expr.name)
        if kind == "field":
            return self.symbols.fields[name].value_type
        if kind == "metric":
            return NUMBER
        if kind == "event":
            self._err("CS0302", expr, f"`{name}` is an event, not a value",
                      f"use `count({name}, 30d)`, `event {name} within 30d` or "
                      f"`days_since({name})`")
            return None
        self._unknown_name(expr.name)
        return None

    def _unknown_name(self, name: ast.Name) -> None:
        if name.value in self.symbols.broken:  # a metric or event whose syntax error is out
            return
        candidates = [*self.symbols.fields, *self.symbols.metrics]
        if self.event_scope is not None:
            candidates.extend(self.event_scope)
        where = "an account field or a metric"
        if self.event_scope is not None:
            where = "a field of the event, an account field or a metric"
        self.diagnostics.append(
            error("CS0210", name.span, f"unknown name `{name.value}`",
                  f"a name here must be {where}",
                  suggestion=did_you_mean(name.value, candidates))
        )

    # -- data references used by functions and sugar
    def _expect_metric(self, name: ast.Name, what: str) -> bool:
        kind = self.symbols.data_kind(name.value)
        if kind is not None:
            self._refer(name)
        if kind == "metric":
            return True
        if kind == "event":
            self.diagnostics.append(
                error("CS0302", name.span, f"`{name.value}` is an event; {what} needs a metric",
                      f"count events with `count({name.value}, 30d)`")
            )
        elif kind == "field":
            self.diagnostics.append(
                error("CS0304", name.span,
                      f"`{name.value}` is an account field; {what} needs a metric")
            )
        elif name.value not in self.symbols.broken:
            self.diagnostics.append(
                error("CS0202", name.span, f"unknown metric `{name.value}`",
                      suggestion=did_you_mean(name.value, self.symbols.metrics))
            )
        return False

    def _expect_event(self, name: ast.Name, what: str) -> bool:
        kind = self.symbols.data_kind(name.value)
        if kind is not None:
            self._refer(name)
        if kind == "event":
            return True
        if kind == "metric":
            self.diagnostics.append(
                error("CS0303", name.span, f"`{name.value}` is a metric; {what} needs an event",
                      f"read a metric with `sum({name.value}, 30d)` or `avg({name.value}, 30d)`")
            )
        elif kind == "field":
            self.diagnostics.append(
                error("CS0304", name.span,
                      f"`{name.value}` is an account field; {what} needs an event")
            )
        elif name.value not in self.symbols.broken:
            self.diagnostics.append(
                error("CS0203", name.span, f"unknown event `{name.value}`",
                      suggestion=did_you_mean(name.value, self.symbols.events))
            )
        return False

    def _check_window(self, window: ast.DurationLit) -> None:
        if window.days <= 0:
            self.diagnostics.append(
                error("CS0308", window.span, "a window must be at least one day long")
            )

    # -- functions
    def _Call(self, expr: ast.Call) -> Type | None:
        func = expr.func.value
        if func in ("not", "and", "or"):  # `where not (...)`: only a comparison fits there
            self.diagnostics.append(
                error("CS0209", expr.func.span, f"`{func}` is not a function",
                      "it cannot start an operand; after `where` comes one comparison or a "
                      f"condition in parentheses, as in `where ({func} ...)`")
            )
            return None
        function = FUNCTIONS.get(func)
        if function is None:
            self.diagnostics.append(
                error("CS0209", expr.func.span, f"unknown function `{func}`",
                      "functions: " + ", ".join(FUNCTIONS),
                      suggestion=did_you_mean(func, FUNCTIONS))
            )
            for arg in expr.args:
                if not isinstance(arg, ast.NameRef):
                    self.type_of(arg)
            return None
        arity = len(function.args)
        if len(expr.args) != arity:
            self._err("CS0307", expr, f"`{func}` takes {arity} argument{'s' * (arity > 1)}, "
                      f"got {len(expr.args)}", f"write `{function.shape}`")
            return None
        target = expr.args[0]
        if not isinstance(target, ast.NameRef):
            self._err("CS0304", target, f"the first argument of `{func}` must be a name")
            return None
        name = target.name
        self._argument_type(target)
        if "window" in function.args:
            window = expr.args[1]
            if not (isinstance(window, ast.Literal) and window.kind == "duration"):
                self._err("CS0304", window, f"the window of `{func}` must be a duration",
                          "write it as days or weeks, for example `30d` or `4w`")
            elif float(window.value) <= 0:
                self._err("CS0308", window, "a window must be at least one day long")
            else:
                self.types[window.span] = NUMBER
            if function.args[0] == "event":
                return NUMBER if self._expect_event(name, f"`{func}`") else None
            return NUMBER if self._expect_metric(name, f"`{func}`") else None
        kind = self.symbols.data_kind(name.value)
        if kind is not None:
            self._refer(name)
        with_events = function.args[0] == "date_field_or_event"
        if kind == "field":
            if self.symbols.fields[name.value].type != "date":
                self.diagnostics.append(
                    error("CS0304", name.span,
                          f"`{func}` needs a date field; `{name.value}` is a "
                          f"{self.symbols.fields[name.value].type} field")
                )
                return None
            return NUMBER
        if kind == "event" and with_events:
            return NUMBER
        if kind == "metric":
            self.diagnostics.append(
                error("CS0304", name.span, f"`{func}` needs a date field"
                      f"{' or an event' if with_events else ''}; "
                      f"`{name.value}` is a metric")
            )
            return None
        if kind == "event":
            self.diagnostics.append(
                error("CS0304", name.span, f"`{func}` needs a date field; "
                      f"`{name.value}` is an event",
                      f"`days_since({name.value})` counts days since its last occurrence")
            )
            return None
        if name.value in self.symbols.broken:
            return None
        dates = [n for n, f in self.symbols.fields.items() if f.type == "date"]
        if with_events:
            dates.extend(self.symbols.events)
        what = "date field or event" if with_events else "date field"
        self.diagnostics.append(
            error("CS0201", name.span, f"unknown {what} `{name.value}`",
                  suggestion=did_you_mean(name.value, dates))
        )
        return None

    def _argument_type(self, target: ast.NameRef) -> None:
        """A function's first argument is a name, not read as a value: its type is the
        metric's (number) or the field's; an event has none."""
        kind = self.symbols.data_kind(target.name.value)
        if kind == "metric":
            self.types[target.span] = NUMBER
        elif kind == "field":
            self.types[target.span] = self.symbols.fields[target.name.value].value_type

    # -- sugar forms
    def _Trend(self, expr: ast.Trend) -> Type | None:
        self._expect_metric(expr.metric, f"`{expr.direction}`")
        self._check_window(expr.window)
        if expr.amount.kind != "percent":
            self._err("CS0304", expr.amount,
                      f"the amount of `{expr.direction}` must be a percentage",
                      f"write `{expr.amount.text}%`")
        else:
            self.types[expr.amount.span] = NUMBER
        return BOOL

    def _NoActivity(self, expr: ast.NoActivity) -> Type | None:
        self._check_window(expr.window)
        kind = self.symbols.data_kind(expr.name.value)
        if kind is not None:
            self._refer(expr.name)
        if kind in ("event", "metric"):
            return BOOL
        if kind == "field":
            self.diagnostics.append(
                error("CS0304", expr.name.span,
                      f"`no ... for` needs an event or a metric; `{expr.name.value}` is an "
                      "account field")
            )
        else:
            self.diagnostics.append(
                error("CS0210", expr.name.span, f"unknown event or metric `{expr.name.value}`",
                      suggestion=did_you_mean(
                          expr.name.value, [*self.symbols.events, *self.symbols.metrics]))
            )
        return BOOL

    def _EventWithin(self, expr: ast.EventWithin) -> Type | None:
        self._check_window(expr.window)
        ok = self._expect_event(expr.event, "`event ... within`")
        if expr.where is not None:
            outer, outer_name = self.event_scope, self.event_name
            self.event_scope = self.symbols.events[expr.event.value].fields if ok else {}
            self.event_name = expr.event.value
            try:
                self.check_condition(expr.where)
            finally:
                self.event_scope, self.event_name = outer, outer_name
        return BOOL

    # -- operators
    def _Paren(self, expr: ast.Paren) -> Type | None:
        return self.type_of(expr.expr)

    def _BoolOp(self, expr: ast.BoolOp) -> Type | None:
        for arg in expr.args:
            t = self.type_of(arg)
            if t is not None and t.name != "bool":
                self._err("CS0305", arg, f"`{expr.op}` needs true or false on both sides, "
                          f"found {_a(t)}")
        return BOOL

    def _Not(self, expr: ast.Not) -> Type | None:
        t = self.type_of(expr.arg)
        if t is not None and t.name != "bool":
            self._err("CS0305", expr.arg, f"`not` needs true or false, found {_a(t)}")
        return BOOL

    def _Neg(self, expr: ast.Neg) -> Type | None:
        t = self.type_of(expr.arg)
        if t is not None and t.name != "number":
            self._err("CS0306", expr.arg, f"cannot negate {_describe(expr.arg)}, {_a(t)}",
                      "only numbers have a sign")
            return None
        return t

    def _Arith(self, expr: ast.Arith) -> Type | None:
        left, right = self.type_of(expr.left), self.type_of(expr.right)
        ok = True
        for side, t in ((expr.left, left), (expr.right, right)):
            if t is not None and t.name != "number":
                self._err("CS0306", side,
                          f"`{expr.op}` needs numbers; {_describe(side)} is {_a(t)}",
                          _arith_help(t))
                ok = False
        return NUMBER if ok and left is not None and right is not None else None

    def _Compare(self, expr: ast.Compare) -> Type | None:
        left, right = self.type_of(expr.left), self.type_of(expr.right)
        if left is None or right is None:
            return BOOL
        self._compatible(expr, expr.op, expr.left, left, expr.right, right)
        return BOOL

    def _compatible(self, node: ast.Expr, op: str, lexpr: ast.Expr, left: Type,
                    rexpr: ast.Expr, right: Type) -> None:
        textual = ("text", "enum")
        if left.name in textual and right.name in textual:
            for enum_side, other, enum_expr in ((left, rexpr, lexpr), (right, lexpr, rexpr)):
                if enum_side.name == "enum":
                    self._check_enum_value(enum_side, other, enum_expr)
            if op not in ("==", "!="):
                self._err("CS0300", node, f"`{op}` does not order text; use `==` or `!=`")
            return
        if left.name != right.name:
            help_text, meant = _quoted_help(lexpr, left, rexpr, right)
            self._err("CS0300", node,
                      f"cannot compare {_describe(lexpr)} ({left}) with "
                      f"{_describe(rexpr)} ({right})",
                      help_text or _compare_help(left, right), suggestion=meant)
            return
        if left.name == "bool" and op not in ("==", "!="):
            self._err("CS0300", node, f"`{op}` does not order true and false")

    def _check_enum_value(self, enum_type: Type, other: ast.Expr, enum_expr: ast.Expr) -> None:
        if (isinstance(other, ast.Literal) and other.kind == "string"
                and other.value not in enum_type.values):
            listed = ", ".join(f'"{v}"' for v in enum_type.values)
            suggestion = did_you_mean(str(other.value), enum_type.values)
            self.diagnostics.append(
                error("CS0301", other.span,
                      f"`{other.text}` is not a value of "
                      + (_describe(enum_expr) if isinstance(enum_expr, ast.NameRef)
                         else "the enum"),
                      f"the values are {listed}",
                      suggestion=f'"{suggestion}"' if suggestion else None)
            )

    def _InList(self, expr: ast.InList) -> Type | None:
        t = self.type_of(expr.arg)
        if t is None:
            return BOOL
        for value in expr.values:
            vt = _LITERAL_TYPES[value.kind]
            self.types[value.span] = vt
            self._compatible(value, "==", expr.arg, t, value, vt)
        return BOOL


_RULES: dict[type, Callable[[ConditionChecker, Any], Type | None]] = {
    cls: getattr(ConditionChecker, "_" + cls.__name__) for cls in typing.get_args(ast.Expr)
}
"""The typing rule of each expression class (a dict: faster than a lookup by name)."""


def _a(t: Type) -> str:
    """A type as words in a sentence: `a number`, `text`, `an enum value`."""
    return {"number": "a number", "date": "a date", "bool": "a boolean",
            "enum": "an enum value", "text": "text"}.get(t.name, t.name)


def _arith_help(t: Type) -> str:
    if t.name == "date":
        return "count days with `days_until(...)` or `days_since(...)`"
    return ""


_NUMBERISH = re.compile(r"\s*[$€£]?\s*(\d[\d,_]*(?:\.\d+)?)\s*([kKmMbB%]?)\s*")
_SCALES = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}


def _as_number(text: str) -> str | None:
    """A number written as text (`"100k"`, `"$1,200"`, `"1.5M"`, `"30%"`), as a literal
    (`100000`, `1200`, `1500000`, `30%`); None for other text."""
    found = _NUMBERISH.fullmatch(text)
    if found is None:
        return None
    digits, unit = found.group(1).replace(",", "").replace("_", ""), found.group(2).lower()
    if unit == "%":
        return f"{digits}%"
    value = Decimal(digits) * _SCALES[unit]
    return format(value.normalize(), "f") if value != value.to_integral() \
        else str(int(value))


def _quoted_help(lexpr: ast.Expr, left: Type, rexpr: ast.Expr, right: Type
                 ) -> tuple[str, str | None]:
    """A number or a date compared with a string: the string is most likely that value in
    quotes (`arr > "100k"`). The help says to write the value, and which when it can
    tell; empty for other comparisons."""
    for typed, text_expr, other in ((left, rexpr, lexpr), (right, lexpr, rexpr)):
        if not (isinstance(text_expr, ast.Literal) and text_expr.kind == "string"):
            continue
        value = str(text_expr.value)
        what = _describe(other)
        if typed.name == "number":
            meant = _as_number(value)
            if meant is None:
                return (f"{what} is a number: compare it with a number, written without "
                        "quotes (`100000`, `2.5`, `30%`)"), None
            if meant == value:
                return f"{what} is a number: write the number without quotes", meant
            return (f"{what} is a number: write the number without quotes or units "
                    f"(`{value}` is `{meant}`)"), meant
        if typed.name == "date":
            if _ISO_DATE.fullmatch(value.strip()):
                return f"{what} is a date: write the date without quotes", value.strip()
            return (f"{what} is a date: compare it with a date (`2026-01-31`), or count days "
                    "with `days_until(...)`"), None
    return "", None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _compare_help(left: Type, right: Type) -> str:
    names = {left.name, right.name}
    if names == {"date", "number"}:
        return "compare a date with a date (`2026-01-31`), or count days with `days_until(...)`"
    if "text" in names or "enum" in names:
        return "text values are written in double quotes and compared with `==` or `!=`"
    return ""
