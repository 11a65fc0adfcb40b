"""Checked conditions → IR. Sugar (`drops`, `no`, `event within`) becomes core nodes.

Names are not resolved here again: the type checker recorded the symbol each name
resolves to, by its span, and lowering reads that. Every node keeps the span of the
source it came from.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    def __init__(self, resolved: Mapping[Span, Symbol]) -> None:
        self.resolved = resolved

    def kind(self, name: ast.Name) -> str:
        symbol = self.resolved.get(name.span)
        if symbol is None:
            raise Unresolved(name.value)
        return symbol.kind

    def lower(self, expr: ast.Expr) -> C.Cond:
        span = expr.span
        match expr:
            case ast.Paren(expr=inner):
                return self.lower(inner)
            case ast.Literal(kind=kind, value=value):
                if kind == "date":
                    return C.Lit("date", str(value), span)
                if kind == "string":
                    return C.Lit("text", str(value), span)
                if kind == "bool":
                    return C.Lit("bool", bool(value), span)
                return C.Lit("number", float(value), span)
            case ast.NameRef(name=name):
                symbol_kind = self.kind(name)
                if symbol_kind == "event_field":
                    return C.EventFieldRef(name.value, span)
                if symbol_kind == "metric":
                    return C.Latest(name.value, span)
                return C.FieldRef(name.value, span)
            case ast.Call(func=func, args=args):
                function = FUNCTIONS[func.value]
                first = args[0]
                assert isinstance(first, ast.NameRef)
                target = first.name.value
                match function.op:
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
            case ast.Compare(op=op, left=left, right=right):
                return C.Compare(op, self.lower(left), self.lower(right), span)
            case ast.InList(arg=arg, values=values, negated=negated):
                lits = tuple(self.literal(v) for v in values)
                return C.InList(self.lower(arg), lits, negated, span)
            case ast.Trend(metric=metric, direction=direction, amount=amount, window=window):
                change = C.Change(metric.value, window.days, span)
                if direction == "drops":
                    return C.Compare("<=", change, C.Lit("number", -float(amount.value),
                                                         amount.span), span)
                return C.Compare(">=", change, C.Lit("number", float(amount.value), amount.span),
                                 span)
            case ast.NoActivity(name=name, window=window):
                zero = C.Lit("number", 0.0, span)
                if self.kind(name) == "event":
                    return C.Compare("==", C.Count(name.value, window.days, span), zero, span)
                return C.Compare("==", C.Window("sum", name.value, window.days, span), zero, span)
            case ast.EventWithin(event=event, window=window, where=where):
                condition = self.lower(where) if where is not None else None
                return C.Exists(event.value, window.days, condition, span)
            case ast.BoolOp(op=op, args=args):
                lowered: list[C.Cond] = []
                for arg in args:
                    node = self.lower(arg)
                    # flatten nested and/or of the same kind: one n-ary node
                    if isinstance(node, C.And | C.Or) and node.op == op:
                        lowered.extend(node.args)
                    else:
                        lowered.append(node)
                return C.And(tuple(lowered), span) if op == "and" else C.Or(tuple(lowered), span)
            case ast.Not(arg=arg):
                return C.Not(self.lower(arg), span)
            case ast.Arith(op=op, left=left, right=right):
                return C.Arith(op, self.lower(left), self.lower(right), span)
            case ast.Neg(arg=arg):
                inner_node = self.lower(arg)
                if isinstance(inner_node, C.Lit) and inner_node.type == "number":
                    return C.Lit("number", -float(inner_node.value), span)
                return C.Neg(inner_node, span)
        raise AssertionError(f"cannot lower {type(expr).__name__}")

    def literal(self, value: ast.Literal) -> C.Lit:
        node = self.lower(value)
        assert isinstance(node, C.Lit)
        return node


def _window(arg: ast.Expr) -> int:
    assert isinstance(arg, ast.Literal)
    return int(arg.value)
