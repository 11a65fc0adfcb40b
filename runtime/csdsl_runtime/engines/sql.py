"""The vectorised engine: the condition IR translated to SQL and run by DuckDB.

The data are a `Frame`: DuckDB tables read from the files by `frame.read_frame`, or
loaded from an in-memory `Dataset` (via NumPy arrays, no row-by-row inserts). An
evaluation is then two steps, whatever the number of rules:

1. *Features.* Every aggregate a condition reads from metric or event rows (a window,
   both halves of a `change`, a latest value, a count, the day of the last occurrence)
   is keyed by what it computes, so that twenty rules reading `avg(usage, 30d)` share
   one column. One grouped pass over each metric's and event's table computes them all
   (`FILTER` clauses per window) into a temporary table, one row per account, beside
   the account fields.
2. *Conditions.* Each condition is a projection over that table, a batch of conditions
   per query, returned as truth columns (`evaluate_columns`: 1, 0, -1 for unknown).

The SQL is built as sqlglot trees, never by pasting strings: literals are sqlglot's
(text quoted by it), and one translator can later target other dialects. The
translation keeps the interpreter's semantics exactly, and tests check the two engines
agree on random conditions and data:

- SQL's NULL is *unknown*: `AND`/`OR`/`NOT` and comparisons are already Kleene's logic.
- Windows (asof - D, asof] are `day > asof - D AND day <= asof` over integer day
  ordinals; dates are ordinals everywhere, so date comparison is integer comparison.
- Aggregates over no rows are NULL (unknown); event counts are `count(*)` (0, known).
- `exists ... where` is true if any occurrence is true, else unknown if any is unknown,
  else false, spelled with `bool_or` and `count(*) > count(w)`, in a correlated
  subquery per node (its `where` may read the occurrence, the account and features).
- Division by zero is unknown (`NULLIF`); `change` with an earlier average of 0 too.
- A result that is not finite is unknown (`ir`'s rule), without repeating an expression:
  a window sum or average is NULL when `max(abs(value)) * count(*) > 1e308` (then no
  inf appears at all), `change` is tested with `isfinite`, and arithmetic is left to
  overflow: inf and NaN go through `+ - *`, unary minus and a dividend unchanged
  (non-finite in, non-finite out), so they are turned into NULL only where they could
  be lost or misread, by `_finite`: a comparison's or an `in`'s operand (DuckDB orders
  NaN above every number) and a divisor (`x / inf` is 0). An expression that may be
  non-finite appears once in the SQL text, so nested arithmetic stays linear in size
  (DuckDB's `NULLIF` and `CASE` would copy it).

Tables (one per metric and per event, so that types never mix): `accounts(acc, f0..)`,
`m<i>(acc, day, value)`, `e<i>(acc, day, f0..)`. Account and field names never appear
in SQL text.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset
from csdsl_runtime.engines import TRUTH_OF_CODE, Results
from csdsl_runtime.frame import Frame
from csdsl_runtime.ir import OVERFLOW_BOUND, missing_values
from csdsl_runtime.vocabulary import FieldType


class SqlEngine:
    """Evaluates conditions in DuckDB, all accounts at once, over a `Frame`'s tables."""

    name = "duckdb"

    def __init__(self, data: Dataset | Frame, schema: A.DataSchema | None = None,
                 threads: int | None = None) -> None:
        if isinstance(data, Frame):
            self.frame = data
        else:
            self.frame = Frame.from_dataset(data, schema or _infer_schema(data))
        self.schema = self.frame.schema
        self.ids = self.frame.ids
        self.con = self.frame.con
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._fields = self.frame.fields
        self._metrics = self.frame.metrics
        self._events = self.frame.events
        self.missing = {self._metrics[name]: value for name, value
                        in missing_values(self.schema).items() if name in self._metrics}
        """Metric tables declared `missing V`: a day without a row counts as V."""

    @property
    def exact_sums(self) -> frozenset[str]:
        """Metric tables whose sums may be added in any order (`frame.exact_sum`)."""
        return self.frame.exact_sums

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self,
        conditions: Mapping[str, Any],
        asof: date,
        accounts: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        ids = self.ids
        results: Results = {}
        for key, column in self.evaluate_columns(conditions, asof).items():
            values = column.tolist()
            results[key] = dict(zip(ids, map(TRUTH_OF_CODE.__getitem__, values), strict=True))
        if accounts is not None:
            for key, wanted in accounts.items():
                if key in results:
                    full = results[key]
                    results[key] = {a: full.get(a) for a in wanted}
        return results

    def evaluate_columns(self, conditions: Mapping[str, Any], asof: date
                         ) -> dict[str, npt.NDArray[np.int8]]:
        """A truth column per condition, aligned with `ids`: 1 true, 0 false, -1 unknown.

        Every feature that reads metric or event rows (a window, a change, a latest
        value, a count, the day of the last occurrence) is computed once per as-of day,
        however many conditions read it, in one grouped pass over each metric's and
        event's table; then the conditions are projections over that one row per
        account, a batch of them per query."""
        plan = _Plan(self, asof.toordinal())
        translated = {key: plan.truth(node) for key, node in conditions.items()}
        out: dict[str, npt.NDArray[np.int8]] = {}
        if not translated:
            return out
        for statement in plan.features():
            self.con.execute(_sql(statement))
        for table in plan.aggregates:  # joined into `_features`: their memory goes back
            self.con.execute(f"DROP TABLE _g_{table}")
        keys = list(translated)
        for start in range(0, len(keys), _BATCH):
            batch = keys[start:start + _BATCH]
            columns_sql = (exp.alias_(translated[k], f"c{i}", copy=False)
                           for i, k in enumerate(batch))
            query = exp.select(*columns_sql, copy=False).from_(exp.to_table(_FEATURES).as_("a")
                                       , copy=False).order_by(exp.column("acc", "a"), copy=False)
            columns = self.con.execute(_sql(query)).fetchnumpy()
            for i, key in enumerate(batch):
                out[key] = np.asarray(columns[f"c{i}"], dtype=np.int8)
        self.con.execute(f"DROP TABLE IF EXISTS {_FEATURES}")
        return out

    def evaluate_days(self, conditions: Mapping[str, Any], start: date, end: date
                      ) -> dict[str, npt.NDArray[np.int8]] | None:
        """Truth columns for every day from `start` to `end` at once (`engines.days`):
        per condition an array of shape (days, accounts), row i the day `start + i`;
        None when the data need the one-day plan (sums that must be added in day order)."""
        from csdsl_runtime.engines.days import evaluate_days

        return evaluate_days(self, conditions, start, end)


_BATCH = 200
"""Conditions per query: wide enough to share one scan, narrow enough to plan fast."""
_FEATURES = "_features"


def _temp_table(name: str, query: exp.Expr) -> exp.Expr:
    return exp.Create(this=exp.to_table(name), kind="TABLE", expression=query, replace=True,
                      properties=exp.Properties(expressions=[exp.TemporaryProperty()]))


def _arg_max_postgres(generator: Any, node: exp.ArgMax) -> str:
    """PostgreSQL has no `arg_max`: the first of the values in descending key order."""
    value, key = generator.sql(node, "this"), generator.sql(node, "expression")
    return f"(ARRAY_AGG({value} ORDER BY {key} DESC))[1]"


class _Postgres(Postgres):
    """sqlglot's PostgreSQL, with what the translation needs that it does not spell."""

    class Generator(Postgres.Generator):  # type: ignore[misc,valid-type]
        TRANSFORMS: ClassVar[dict[Any, Any]] = {**Postgres.Generator.TRANSFORMS,
                                                exp.ArgMax: _arg_max_postgres}


_WRITERS: dict[str, Any] = {"postgres": _Postgres}
"""Dialects whose sqlglot writer the translation extends."""


def _sql(tree: exp.Expr, dialect: str = "duckdb", pretty: bool = False) -> str:
    """SQL text of a tree (DuckDB's unless another dialect is named). sqlglot's
    generator recurses a few frames per node, and a condition nested as deep as the
    verifier allows (128 levels, about ten SQL nodes each) needs some 10,000: when the
    caller's stack is too shallow for a tree, it is generated again in a thread with a
    large stack, under a recursion limit raised while that thread works (a thread per
    call cost 2 ms)."""
    try:  # most trees are shallow: no thread for them
        return str(tree.sql(dialect=_WRITERS.get(dialect, dialect), pretty=pretty))
    except RecursionError:
        pass
    result: list[str] = []
    failure: list[BaseException] = []

    def generate() -> None:
        try:
            result.append(tree.sql(dialect=_WRITERS.get(dialect, dialect), pretty=pretty))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    with _GENERATING:
        previous_stack = threading.stack_size(_STACK_BYTES)
        previous_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous_limit, _RECURSION_LIMIT))
        try:
            worker = threading.Thread(target=generate, name="csdsl-sql")
            worker.start()
        finally:
            threading.stack_size(previous_stack)
        worker.join()
        sys.setrecursionlimit(previous_limit)
    if failure:
        raise failure[0]
    return result[0]


_GENERATING = threading.Lock()
_STACK_BYTES = 512 * 1024 * 1024  # reserved address space; pages are used as touched
_RECURSION_LIMIT = 60_000


def _num(value: float) -> exp.Expr:
    """A DOUBLE literal (inf and nan spelled as DuckDB reads them)."""
    if math.isnan(value):
        return exp.cast(exp.Literal.string("nan"), "DOUBLE", copy=False)
    if math.isinf(value):
        return exp.cast(exp.Literal.string("-inf" if value < 0 else "inf"), "DOUBLE", copy=False)
    return exp.cast(exp.Literal.number(repr(value)), "DOUBLE", copy=False)


def _int(value: int) -> exp.Expr:
    return exp.Literal.number(value) if value >= 0 else exp.Neg(this=exp.Literal.number(-value))


def _p(node: exp.Expr) -> exp.Expr:
    """Parenthesised: sqlglot prints a tree built by hand without adding any."""
    return exp.Paren(this=node)


_NULL_DOUBLE = exp.cast(exp.null(), "DOUBLE", copy=False)
_BOUND = _num(OVERFLOW_BOUND)
_CMP_NODES: dict[str, type[exp.Expr]] = {
    "==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
_ARITH_NODES: dict[str, type[exp.Expr]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}


def _filtered(aggregate: exp.Expr, where: exp.Expr | None) -> exp.Expr:
    return aggregate if where is None else exp.Filter(this=aggregate,
                                                      expression=exp.Where(this=where))


class _Plan:
    """The SQL of one evaluation as sqlglot trees: the features the conditions share,
    then each condition over them. Conditions read the features table as `a`, which
    also holds the account fields (`a.f0`...)."""

    accounts = "accounts"
    """The table of the account fields (`acc`, `f0`...)."""

    def __init__(self, engine: SqlEngine, asof: int) -> None:
        self.engine = engine
        self.asof = asof
        self.aliases = 0
        # per metric or event table: feature key -> (column, aggregate over `s`)
        self.aggregates: dict[str, dict[tuple[Any, ...], tuple[str, exp.Expr]]] = {}
        self.columns = 0

    def features(self) -> list[exp.Expr]:
        """The statements that build `_features`: `CREATE TEMP TABLE _g_<table> AS SELECT
        s.acc, <features> FROM <table> s ... GROUP BY s.acc` per metric or event table,
        then `CREATE TEMP TABLE _features AS SELECT a.*, <features> FROM accounts a LEFT
        JOIN _g_<table> ...`. One statement per grouped pass, so that DuckDB holds one
        pass's aggregate states at a time: all in one query, at a million accounts, they
        ran past a 640MB limit now and then."""
        statements = [_temp_table(f"_g_{table}", self.grouped(table))
                      for table in self.aggregates]
        statements.append(_temp_table(_FEATURES, self.joined()))
        return statements

    def grouped(self, table: str) -> exp.Select:
        """One table's grouped pass: a row per account with rows up to the as-of day."""
        return exp.select(exp.column("acc", "s"), *(
            exp.alias_(aggregate, column, copy=False)
            for column, aggregate in self.aggregates[table].values()), copy=False).from_(
            exp.to_table(table).as_("s"), copy=False).where(
            exp.LTE(this=exp.column("day", "s"), expression=self._day()), copy=False
        ).group_by(exp.column("acc", "s"), copy=False)

    def joined(self) -> exp.Select:
        """The accounts with every grouped pass's features (`_g_<table>`) beside them."""
        selects: list[exp.Expr] = [exp.Column(this=exp.Star(), table=exp.to_identifier("a"))]
        query = exp.select(copy=False).from_(exp.to_table(self.accounts).as_("a"), copy=False)
        for table, features in self.aggregates.items():
            alias = f"_g_{table}"
            query = query.join(exp.to_table(alias), on=exp.EQ(
                this=exp.column("acc", alias), expression=exp.column("acc", "a")),
                join_type="left", copy=False)
            selects.extend(exp.column(column, alias) for column, _ in features.values())
        return query.select(*selects, copy=False)

    def _feature(self, table: str, key: tuple[Any, ...], aggregate: exp.Expr
                 ) -> exp.Expr:
        """The features-table column of an aggregate over `table`'s rows up to the as-of
        day (as `s`), computed once however many nodes read it."""
        features = self.aggregates.setdefault(table, {})
        found = features.get(key)
        if found is None:
            self.columns += 1
            found = features[key] = (f"x{self.columns}", aggregate)
        return exp.column(found[0], "a")

    # The as-of day. Every use of it goes through these four, so that a plan of many
    # days (`engines.days`) can read it from a column and turn the filters on `s.day`
    # into window frames.

    def _day(self, back: int = 0) -> exp.Expr:
        """The day `back` days before the as-of day, in a condition's projection."""
        return _int(self.asof - back)

    def _since(self, days: int) -> exp.Expr:
        """An aggregate's rows of the last `days` days: `s.day > asof - days`."""
        return exp.GT(this=exp.column("day", "s"), expression=_int(self.asof - days))

    def _until(self, days: int) -> exp.Expr:
        """An aggregate's rows up to `days` days back: `s.day <= asof - days`."""
        return exp.LTE(this=exp.column("day", "s"), expression=_int(self.asof - days))

    def _on_asof(self) -> exp.Expr:
        """An aggregate's rows of the as-of day itself."""
        return exp.EQ(this=exp.column("day", "s"), expression=_int(self.asof))

    def truth(self, node: Any) -> exp.Expr:
        """A condition as a TINYINT: 1 true, 0 false, -1 unknown."""
        return exp.Coalesce(this=exp.cast(_p(self.expr(node, None)), "TINYINT", copy=False),
                            expressions=[_int(-1)])

    def expr(self, node: Any, event: tuple[str, dict[str, str]] | None) -> exp.Expr:
        method: Callable[[Any, tuple[str, dict[str, str]] | None], exp.Expr] = getattr(
            self, f"_{node.op}")
        return method(node, event)

    # leaves

    def _lit(self, node: A.Lit, event: Any) -> exp.Expr:
        return _literal(node)

    def _field(self, node: A.FieldRef, event: Any) -> exp.Expr:
        column = self.engine._fields.get(node.name)
        return exp.null() if column is None else exp.column(column, "a")

    def _event_field(self, node: A.EventFieldRef, event: Any) -> exp.Expr:
        if event is None:
            return exp.null()
        alias, names = event
        column = names.get(node.name)
        return exp.null() if column is None else exp.column(column, alias)

    # metrics: shared features

    def _sum_or_avg(self, table: str, fn: str, where: exp.Expr) -> exp.Expr:
        """A window's sum or average, NULL when it could overflow: the rule of
        `ir.window` (count * max |value| > bound), with the same IEEE operations: the
        values added in day order (`sum(value ORDER BY day)`). A plain `sum` adds in
        table order, and across threads in parts: the last bits differed from the
        interpreter's in most sums of non-integer data, and `sum(x, 4d) > 0.6` fired
        for none of 100 accounts that it fires for. A metric whose sums are exact in
        any order (integer values, `frame.exact_sum`) takes the plain `sum`: the
        ordered one sorts each account's rows per feature, three times the cost of
        the whole evaluation at a million accounts."""
        value = exp.column("value", "s")
        count = _filtered(exp.Count(this=exp.Star()), where)
        total = self._total(table, where)
        result = exp.Div(this=total, expression=count) if fn == "avg" else total
        if table in self.engine.exact_sums:  # |every window sum| <= 2**53: no overflow
            return exp.case(copy=False).when(exp.GT(this=count.copy(), expression=_int(0)),
                                             result, copy=False)
        safe = exp.LTE(this=exp.Mul(this=_filtered(exp.Max(this=exp.Abs(this=value)), where),
                                    expression=count), expression=_BOUND)
        return exp.case(copy=False).when(safe, result, copy=False)

    def _total(self, table: str, where: exp.Expr) -> exp.Expr:
        """The sum of a window's rows: in day order unless exact in any order."""
        value = exp.column("value", "s")
        if table in self.engine.exact_sums:
            return _filtered(exp.Sum(this=value), where)
        in_day_order = exp.Order(this=value, expressions=[exp.Ordered(
            this=exp.column("day", "s"))])
        return _filtered(exp.Sum(this=in_day_order), where)

    def _filled(self, table: str, fn: str, where: exp.Expr, key: tuple[Any, ...], days: int,
                fill: float) -> exp.Expr:
        """A window over `days` days of a metric declared `missing fill` (`ir.window_filled`):
        the rows' sum plus (days - rows) * fill; min and max with fill when a day is
        missing; NULL only for a sum or average that could overflow."""
        value = exp.column("value", "s")
        rows = exp.Coalesce(this=self._feature(table, (*key, "n"), _filtered(
            exp.Count(this=exp.Star()), where)), expressions=[_int(0)])
        v = _num(fill)
        if fn in ("min", "max"):
            pick = exp.Min if fn == "min" else exp.Max
            found = self._feature(table, (*key, fn), _filtered(pick(this=value), where))
            outer = exp.Least if fn == "min" else exp.Greatest
            with_fill = outer(this=exp.Coalesce(this=found, expressions=[v]), expressions=[v])
            return exp.case(copy=False).when(exp.LT(this=rows, expression=_int(days)),
                                             with_fill, copy=False).else_(found, copy=False)
        total = exp.Add(this=exp.Coalesce(this=self._feature(table, (*key, "sum"), self._total(
            table, where)), expressions=[_num(0.0)]), expression=exp.Mul(
            this=_p(exp.Sub(this=_int(days), expression=rows)), expression=v))
        result = exp.Div(this=_p(total), expression=_int(days)) if fn == "avg" else total
        largest = exp.Greatest(this=exp.Coalesce(this=self._feature(
            table, (*key, "abs"), _filtered(exp.Max(this=exp.Abs(this=value)), where)),
            expressions=[_num(0.0)]), expressions=[_num(abs(fill))])
        safe = exp.LTE(this=exp.Mul(this=_int(days), expression=largest), expression=_BOUND)
        return exp.case(copy=False).when(safe, result, copy=False)

    def _latest(self, node: A.Latest, event: Any) -> exp.Expr:
        table = self.engine._metrics.get(node.metric)
        if table is None:
            return _NULL_DOUBLE
        fill = self.engine.missing.get(table)
        if fill is not None:  # the as-of day's row, else the fill value
            today = self._feature(table, ("today",), _filtered(
                exp.Max(this=exp.column("value", "s")), self._on_asof()))
            return exp.Coalesce(this=today, expressions=[_num(fill)])
        return self._feature(table, ("latest",), exp.ArgMax(
            this=exp.column("value", "s"), expression=exp.column("day", "s")))

    def _window(self, node: A.Window, event: Any) -> exp.Expr:
        table = self.engine._metrics.get(node.metric)
        if table is None:
            return _NULL_DOUBLE
        where = self._since(node.days)
        fill = self.engine.missing.get(table)
        if fill is not None:
            return self._filled(table, node.fn, where, ("filled", node.days), node.days, fill)
        if node.fn in ("min", "max"):
            fn = exp.Min if node.fn == "min" else exp.Max
            aggregate = _filtered(fn(this=exp.column("value", "s")), where)
        else:
            aggregate = self._sum_or_avg(table, node.fn, where)
        return self._feature(table, ("window", node.fn, node.days), aggregate)

    def _change(self, node: A.Change, event: Any) -> exp.Expr:
        table = self.engine._metrics.get(node.metric)
        if table is None:
            return _NULL_DOUBLE
        earlier = exp.and_(self._since(2 * node.days), self._until(node.days), copy=False)
        fill = self.engine.missing.get(table)
        recent: exp.Expr
        before: exp.Expr
        if fill is not None:
            recent = self._filled(table, "avg", self._since(node.days),
                                  ("filled", node.days), node.days, fill)
            before = self._filled(table, "avg", earlier, ("filled before", node.days),
                                  node.days, fill)
        else:
            recent = self._feature(table, ("window", "avg", node.days),
                                   self._sum_or_avg(table, "avg", self._since(node.days)))
            before = self._feature(table, ("before", node.days),
                                   self._sum_or_avg(table, "avg", earlier))
        ratio = exp.Div(this=_p(exp.Sub(this=recent, expression=before)),
                        expression=exp.Nullif(this=before, expression=_int(0)))
        return _finite(ratio)

    # events: counts and last days shared; `where` per occurrence

    def _count(self, node: A.Count, event: Any) -> exp.Expr:
        found = self.engine._events.get(node.event)
        if found is None:
            return exp.cast(_int(0), "DOUBLE", copy=False)
        count = self._feature(found[0], ("count", node.days), _filtered(
            exp.Count(this=exp.Star()), self._since(node.days)))
        return exp.cast(exp.Coalesce(this=count, expressions=[_int(0)]), "DOUBLE", copy=False)

    def _exists(self, node: A.Exists, event: Any) -> exp.Expr:
        found = self.engine._events.get(node.event)
        if found is None:
            return exp.false()
        if node.where is None:
            count = self._feature(found[0], ("count", node.days), _filtered(
                exp.Count(this=exp.Star()), self._since(node.days)))
            return exp.GT(this=exp.Coalesce(this=count, expressions=[_int(0)]),
                          expression=_int(0))
        table, names = found
        if _occurrence_only(node.where):
            return self._exists_feature(node, table, names)
        # Per occurrence, a correlated subquery (DuckDB decorrelates it into one join):
        # `where` may read the occurrence, the account and any feature. It is written
        # once, as the column `w` of the occurrences, and read twice by name above
        # them: written twice, nested `exists` would double at every level.
        self.aliases += 1
        s = f"o{self.aliases}"
        w = exp.column("w")
        answer = exp.case(copy=False).when(
            exp.Coalesce(this=exp.LogicalOr(this=w), expressions=[exp.false()]), exp.true(),
            copy=False,
        ).when(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Count(this=w.copy())),
               exp.null(), copy=False).else_(exp.false(), copy=False)
        occurrences = exp.select(exp.alias_(_p(self.expr(node.where, (s, names))), "w",
                                            copy=False), copy=False).from_(
            exp.to_table(table).as_(s), copy=False).where(exp.and_(
                exp.EQ(this=exp.column("acc", s), expression=exp.column("acc", "a")),
                exp.LTE(this=exp.column("day", s), expression=self._day()),
                exp.GT(this=exp.column("day", s), expression=self._day(node.days)),
                copy=False), copy=False)
        subquery = exp.select(answer, copy=False).from_(
            occurrences.subquery(f"{s}w", copy=False), copy=False)
        return subquery.subquery(copy=False)

    def _exists_feature(self, node: A.Exists, table: str, names: dict[str, str]
                        ) -> exp.Expr:
        """`exists e within D where w` when `w` reads only the occurrence: a feature of
        the event table's grouped pass, shared by every rule that asks the same, as a
        number (1 true, 0 false, -1 unknown; NULL, for an account without
        occurrences, is false): no join per condition."""
        w = _p(self.expr(node.where, ("s", names)))
        window = self._since(node.days)
        answer = exp.case(copy=False).when(
            exp.Coalesce(this=_filtered(exp.LogicalOr(this=w), window),
                         expressions=[exp.false()]), _int(1), copy=False,
        ).when(exp.GT(this=_filtered(exp.Count(this=exp.Star()), window),
                      expression=_filtered(exp.Count(this=w.copy()), window)),
               _int(-1), copy=False).else_(_int(0), copy=False)
        found = self._feature(table, ("exists", node.days, node.where), answer)
        return exp.case(copy=False).when(
            exp.EQ(this=exp.Coalesce(this=found, expressions=[_int(0)]), expression=_int(1)),
            exp.true(), copy=False).when(
            exp.EQ(this=exp.Coalesce(this=found.copy(), expressions=[_int(0)]),
                   expression=_int(0)), exp.false(), copy=False)

    # dates

    def _days_until(self, node: A.DaysUntil, event: Any) -> exp.Expr:
        column = self.engine._fields.get(node.field)
        if column is None:
            return _NULL_DOUBLE
        return exp.cast(_p(exp.Sub(this=exp.column(column, "a"), expression=self._day())),
                        "DOUBLE", copy=False)

    def _days_since(self, node: A.DaysSince, event: Any) -> exp.Expr:
        if node.event is not None:
            found = self.engine._events.get(node.event)
            if found is None:
                return _NULL_DOUBLE
            last = self._feature(found[0], ("last",), exp.Max(this=exp.column("day", "s")))
            return exp.cast(_p(exp.Sub(this=self._day(), expression=last)), "DOUBLE",
                            copy=False)
        column = self.engine._fields.get(node.field or "")
        if column is None:
            return _NULL_DOUBLE
        return exp.cast(_p(exp.Sub(this=self._day(), expression=exp.column(column, "a"))),
                        "DOUBLE", copy=False)

    # operators

    def _operand(self, node: Any, event: Any) -> exp.Expr:
        """A value compared or looked up: NULL if it is not finite."""
        sql = self.expr(node, event)
        return _finite(sql) if _may_be_infinite(node) else sql

    def _cmp(self, node: A.Compare, event: Any) -> exp.Expr:
        return _CMP_NODES[node.cmp](this=_p(self._operand(node.left, event)),
                                    expression=_p(self._operand(node.right, event)))

    def _arith(self, node: A.Arith, event: Any) -> exp.Expr:
        left, right = _p(self.expr(node.left, event)), self.expr(node.right, event)
        if node.fn == "/":
            # the divisor is NULL when 0 or not finite; one that cannot be non-finite is
            # a leaf, small enough for NULLIF to copy
            divisor = _finite(right, nonzero=True) if _may_be_infinite(node.right) else \
                exp.Nullif(this=_p(right), expression=_int(0))
            return exp.Div(this=left, expression=divisor)
        return _ARITH_NODES[node.fn](this=left, expression=_p(right))

    def _neg(self, node: A.Neg, event: Any) -> exp.Expr:
        return exp.Neg(this=_p(self.expr(node.arg, event)))

    def _in(self, node: A.InList, event: Any) -> exp.Expr:
        found = exp.In(this=_p(self._operand(node.arg, event)),
                       expressions=[_literal(v) for v in node.values])
        return exp.Not(this=_p(found)) if node.negate else found

    def _and(self, node: A.And, event: Any) -> exp.Expr:
        return exp.and_(*(_p(self.expr(a, event)) for a in node.args), copy=False)

    def _or(self, node: A.Or, event: Any) -> exp.Expr:
        return exp.or_(*(_p(self.expr(a, event)) for a in node.args), copy=False)

    def _not(self, node: A.Not, event: Any) -> exp.Expr:
        return exp.Not(this=_p(self.expr(node.arg, event)))


def _occurrence_only(node: Any) -> bool:
    """Whether a `where` reads nothing but the occurrence's fields and literals (no
    account field, metric, other event or nested `exists`)."""
    op = node.op
    if op in ("lit", "event_field"):
        return True
    if op in ("cmp", "arith"):
        return _occurrence_only(node.left) and _occurrence_only(node.right)
    if op in ("neg", "not", "in"):
        return _occurrence_only(node.arg)
    if op in ("and", "or"):
        return all(map(_occurrence_only, node.args))
    return False


def _may_be_infinite(node: Any) -> bool:
    """Whether the SQL of a number node may be inf or NaN: only arithmetic overflows
    (every other node is finite or NULL, data and literals being finite)."""
    while node.op == "neg":
        node = node.arg
    return bool(node.op == "arith")


def _finite(value: exp.Expr, nonzero: bool = False) -> exp.Expr:
    """`value`, or NULL where it is not finite (or is 0, with `nonzero`), with `value`
    written once: the first element of `[value]` filtered by a lambda that reads it
    twice (`list_filter([value], lambda v: abs(v) <= 1.79e308)[1]`). A scalar subquery over
    one row said the same, but DuckDB joins it to the accounts: ten times the cost,
    most of the conditions' share of an evaluation. sqlglot spells the filter and the
    index for each dialect (`filter(array(x), v -> ...)[0]` in Spark SQL)."""
    v = exp.column("v")
    # `abs(v) <= largest double`: false for inf and for NaN (which every dialect here
    # orders above all numbers, or compares false), and no dialect lacks it, where
    # `isfinite` is DuckDB's alone
    test: exp.Expr = exp.LTE(this=exp.Abs(this=v), expression=_num(sys.float_info.max))
    if nonzero:
        test = exp.and_(test, exp.NEQ(this=v, expression=_int(0)), copy=False)
    kept = exp.ArrayFilter(this=exp.Array(expressions=[value]), expression=exp.Lambda(
        this=test, expressions=[exp.to_identifier("v")]))
    # parenthesised: PostgreSQL indexes `(ARRAY(SELECT ...))[1]`, not `ARRAY(...)[1]`;
    # `safe`: an empty array's first element is NULL (Spark's ANSI mode raises, unless
    # `try_element_at`)
    return exp.Bracket(this=_p(kept), expressions=[exp.Literal.number(0)], offset=0,
                       safe=True)


def _literal(lit: A.Lit) -> exp.Expr:
    """A literal as SQL: dates are day ordinals, text is quoted, numbers are doubles."""
    if lit.type == "date":
        return _int(date.fromisoformat(str(lit.value)).toordinal())
    if lit.type == "bool":
        return exp.true() if lit.value else exp.false()
    if lit.type == "number":
        return _num(float(lit.value))
    return exp.Literal.string(str(lit.value))


def _infer_schema(dataset: Dataset) -> A.DataSchema:
    """Column types from the values, for hosts that pass a data set without its schema."""

    def kind(value: Any) -> FieldType:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, float | int):
            return "number"
        if isinstance(value, date):
            return "date"
        return "text"

    fields: dict[str, FieldType] = {}
    metrics: dict[str, None] = {}
    events: dict[str, dict[str, FieldType]] = {}
    for account in dataset.accounts.values():
        for name, value in account.fields.items():
            fields.setdefault(name, kind(value))
        metrics.update(dict.fromkeys(account.metrics))
        for name, series in account.events.items():
            found = events.setdefault(name, {})
            for row in series.fields:
                for field_name, value in row.items():
                    found.setdefault(field_name, kind(value))
    return A.DataSchema(
        account=tuple(A.AccountField(name=n, type=t) for n, t in fields.items()),
        metrics=tuple(A.Metric(name=n) for n in metrics),
        events=tuple(
            A.Event(name=n, fields=tuple(A.AccountField(name=f, type=t)
                                         for f, t in fs.items()))
            for n, fs in events.items()
        ),
    )
