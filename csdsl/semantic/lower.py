"""Checked conditions → IR. Sugar (`drops`, `no`, `event within`) becomes core nodes.

Names are not resolved here again: the type checker recorded the symbol each name
resolves to, by its span, and lowering reads that. Every node keeps the span of the
source it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from csdsl import ast
from csdsl.semantic import conditions as C
from csdsl.semantic.model import Symbol
from csdsl.source import Span
from csdsl_runtime.vocabulary import FUNCTIONS, WINDOW_FUNCTIONS, WindowFn

_WINDOW_FNS: dict[str, WindowFn] = {fn: fn for fn in WINDOW_FUNCTIONS}


class Unresolved(Exception):
    """A name in the condition resolves to nothing (its declaration did not parse)."""


def lower(expr: ast.Expr, resolved: Mapping[Span, Symbol]) -> C.Cond:
    """A condition that checked without errors → IR."""
    return _Lowering(resolved).lower(expr)


class _Lowering:
    """One method per expression class, found by a dict on the class (the walk is hot)."""

    def __init__(self, resolved: Mapping[Span, Symbol]) -> None:
        self.resolved = resolved

    def kind(self, name: ast.Name) -> str:
        symbol = self.resolved.get(name.span)
        if symbol is None:
            raise Unresolved(name.value)
        return symbol.kind

    def lower(self, expr: ast.Expr) -> C.Cond:
        return _RULES[type(expr)](self, expr)

    def _paren(self, expr: ast.Paren) -> C.Cond:
        return self.lower(expr.expr)

    def _literal(self, expr: ast.Literal) -> C.Lit:
        kind, value, span = expr.kind, expr.value, expr.span
        if kind == "date":
            return C.Lit("date", str(value), span)
        if kind == "string":
            return C.Lit("text", str(value), span)
        if kind == "bool":
            return C.Lit("bool", bool(value), span)
        return C.Lit("number", float(value), span)

    def _name_ref(self, expr: ast.NameRef) -> C.Cond:
        name = expr.name
        kind = self.kind(name)
        if kind == "event_field":
            return C.EventFieldRef(name.value, expr.span)
        if kind == "metric":
            return C.Latest(name.value, expr.span)
        return C.FieldRef(name.value, expr.span)

    def _call(self, expr: ast.Call) -> C.Cond:
        func, args, span = expr.func, expr.args, expr.span
        first = args[0]
        assert isinstance(first, ast.NameRef)
        target = first.name.value
        match FUNCTIONS[func.value].op:
            case "window":
                return C.Window(_WINDOW_FNS[func.value], target, _window(args[1]), span)
            case "count":
                return C.Count(target, _window(args[1]), span)
            case "change":
                return C.Change(target, _window(args[1]), span)
            case "days_until":
                return C.DaysUntil(target, span)
        if self.kind(first.name) == "event":
            return C.DaysSince(event=target, span=span)
        return C.DaysSince(field=target, span=span)

    def _compare(self, expr: ast.Compare) -> C.Cond:
        return C.Compare(expr.op, self.lower(expr.left), self.lower(expr.right), expr.span)

    def _in_list(self, expr: ast.InList) -> C.Cond:
        values = tuple(self._literal(v) for v in expr.values)
        return C.InList(self.lower(expr.arg), values, expr.negated, expr.span)

    def _trend(self, expr: ast.Trend) -> C.Cond:
        span, amount = expr.span, expr.amount
        change = C.Change(expr.metric.value, expr.window.days, span)
        if expr.direction == "drops":
            return C.Compare("<=", change, C.Lit("number", -float(amount.value), amount.span),
                             span)
        return C.Compare(">=", change, C.Lit("number", float(amount.value), amount.span), span)

    def _no_activity(self, expr: ast.NoActivity) -> C.Cond:
        span, name, days = expr.span, expr.name, expr.window.days
        zero = C.Lit("number", 0.0, span)
        if self.kind(name) == "event":
            return C.Compare("==", C.Count(name.value, days, span), zero, span)
        return C.Compare("==", C.Window("sum", name.value, days, span), zero, span)

    def _event_within(self, expr: ast.EventWithin) -> C.Cond:
        where = self.lower(expr.where) if expr.where is not None else None
        return C.Exists(expr.event.value, expr.window.days, where, expr.span)

    def _bool_op(self, expr: ast.BoolOp) -> C.Cond:
        op = expr.op
        lowered: list[C.Cond] = []
        for arg in expr.args:
            node = self.lower(arg)
            # flatten nested and/or of the same kind: one n-ary node
            if isinstance(node, C.And | C.Or) and node.op == op:
                lowered.extend(node.args)
            else:
                lowered.append(node)
        if op == "and":
            return C.And(tuple(lowered), expr.span)
        return C.Or(tuple(lowered), expr.span)

    def _not(self, expr: ast.Not) -> C.Cond:
        return C.Not(self.lower(expr.arg), expr.span)

    def _arith(self, expr: ast.Arith) -> C.Cond:
        return C.Arith(expr.op, self.lower(expr.left), self.lower(expr.right), expr.span)

    def _neg(self, expr: ast.Neg) -> C.Cond:
        inner = self.lower(expr.arg)
        if isinstance(inner, C.Lit) and inner.type == "number":
            return C.Lit("number", -float(inner.value), expr.span)
        return C.Neg(inner, expr.span)


_RULES: dict[type, Callable[[_Lowering, Any], C.Cond]] = {
    ast.Paren: _Lowering._paren, ast.Literal: _Lowering._literal,
    ast.NameRef: _Lowering._name_ref, ast.Call: _Lowering._call,
    ast.Compare: _Lowering._compare, ast.InList: _Lowering._in_list,
    ast.Trend: _Lowering._trend, ast.NoActivity: _Lowering._no_activity,
    ast.EventWithin: _Lowering._event_within, ast.BoolOp: _Lowering._bool_op,
    ast.Not: _Lowering._not, ast.Arith: _Lowering._arith, ast.Neg: _Lowering._neg,
}


def _window(arg: ast.Expr) -> int:
    assert isinstance(arg, ast.Literal)
    return int(arg.value)
