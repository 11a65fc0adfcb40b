"""Run checked spec tests: each test against the compiled artifact and a fresh store.

A test's steps run in order against one in-memory SQLite store, with the reference
interpreter as the engine: `as of` is a real `Runtime.run`, `close` and `complete` are
the store calls `csdsl close` and `csdsl complete-task` make, so a test exercises the
same lifecycle code as production. An expectation that does not hold is a `Failure`
with what was expected and the CTAs the account has instead; a step that cannot run
(bad inline data, a limit the run would break, nothing open to close) is one too, so a
test never stops the others.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from csdsl.source import Span
from csdsl.spectest import model as T
from csdsl_runtime import artifact as A
from csdsl_runtime.data import BadDataError, BadRow, Dataset

__all__ = ["Failure", "Observer", "SuiteResult", "TestResult", "run_suite", "select"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One checked field that is not what the test expects."""

    attribute: str  # `owner`, or `call.due` for a task's field
    expected: object
    actual: object  # `MISSING_TASK` when the CTA has no task of that key

    def shown(self) -> tuple[str, str]:
        """Expected and actual as a test file writes them (`"text"`, dates, words)."""
        field = self.attribute.rsplit(".", 1)[-1]
        actual = str(self.actual) if self.actual is MISSING_TASK else shown(field, self.actual)
        return shown(field, self.expected), actual


@dataclass(frozen=True, slots=True)
class Failure:
    """A step of a test that did not hold, with the state that shows why."""

    span: Span
    message: str
    expected: dict[str, object] = field(default_factory=dict)  # the checks, by attribute
    differences: tuple[Difference, ...] = ()  # of the closest CTA
    candidates: tuple[dict[str, Any], ...] = ()  # open CTAs of the rule for the account
    others: tuple[dict[str, Any], ...] = ()  # other open CTAs, and closed ones of the rule

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.span.file, "line": self.span.line, "column": self.span.column,
            "message": self.message,
            "expected": {k: _plain(v) for k, v in self.expected.items()},
            "differences": [{"attribute": d.attribute, "expected": _plain(d.expected),
                             "actual": _plain(d.actual)} for d in self.differences],
            "actual": list(self.candidates), "others": list(self.others),
        }


@dataclass(slots=True)
class TestResult:
    test: T.SpecTest
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    runs: int = 0
    expectations: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(slots=True)
class SuiteResult:
    results: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


Observer = Callable[[A.Artifact, Dataset, Any, date], None]
"""Called before each run of a test with (artifact, data, store, day): coverage traces the
conditions the run is about to evaluate."""


def select(tests: Iterable[T.SpecTest], pattern: str | None) -> list[T.SpecTest]:
    """The tests whose name the regular expression `pattern` matches (searched, as
    `go test -run`); all of them without one. A bad pattern raises `re.error`."""
    found = list(tests)
    if pattern is None:
        return found
    matcher = re.compile(pattern)
    return [t for t in found if matcher.search(t.name)]


def run_suite(artifact: A.Artifact, tests: Iterable[T.SpecTest],
              observer: Observer | None = None) -> SuiteResult:
    """Run each test on its own fresh in-memory store; datasets are read once per fixture."""
    started = time.perf_counter()
    result = SuiteResult()
    datasets = _Datasets(artifact.schema_)
    for test in tests:
        result.results.append(_TestRun(artifact, test, datasets, observer).run())
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- data


class _DataError(Exception):
    def __init__(self, span: Span, message: str) -> None:
        super().__init__(message)
        self.span, self.message = span, message


class _Datasets:
    """Datasets by fixture, read and validated once: several tests share a fixture."""

    def __init__(self, schema: A.DataSchema) -> None:
        self.schema = schema
        self.cache: dict[object, Dataset | _DataError] = {}

    def get(self, fixture: T.Fixture) -> Dataset:
        key: object = fixture.path if fixture.path is not None else (fixture.span, fixture.name)
        found = self.cache.get(key)
        if found is None:
            try:
                found = self._read(fixture)
            except _DataError as exc:
                found = exc
            self.cache[key] = found
        if isinstance(found, _DataError):
            raise found
        return found

    def _read(self, fixture: T.Fixture) -> Dataset:
        from csdsl_runtime.sources import SourceError, read_dataset

        where = fixture.name or fixture.directory or "inline data"
        try:
            if fixture.path is not None:
                dataset = read_dataset(fixture.path, self.schema)
            else:
                dataset = _inline(fixture, self.schema)
        except SourceError as exc:
            raise _DataError(fixture.span, f"cannot read the data of `{where}`: {exc}") from None
        if dataset.bad_rows:
            raise _DataError(fixture.span, _bad_rows(where, dataset.bad_rows))
        return dataset


def _bad_rows(where: str, rows: list[BadRow]) -> str:
    shown = "\n".join(f"  {row}" for row in rows[:10])
    more = f"\n  ... and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"the data of `{where}` has {len(rows)} bad row(s):\n{shown}{more}"


def _inline(fixture: T.Fixture, schema: A.DataSchema) -> Dataset:
    """Inline tables through the runtime's own row validation, so that a bad value is
    reported as a data directory's would be, at the test file's line. Columns a table
    leaves out are empty: a two-account test names only the fields it is about."""
    from csdsl_runtime.sources.builder import DatasetBuilder

    builder = DatasetBuilder(schema)
    tables = {t.name: t for t in fixture.tables}
    for name in T.TABLE_NAMES:  # accounts first: the other tables name them
        table = tables.get(name)
        if table is None:
            continue
        header = [c.text for c in table.header]
        rows: Iterator[tuple[int, list[Any]]] = (
            (row.span.line, [c.text for c in row.cells]) for row in table.rows)
        if name == "accounts":
            missing = [f.name for f in schema.account if f.name not in header]
            header, rows = header + missing, _padded(rows, len(missing))
        elif name == "events":
            fields = sorted({f.name for e in schema.events for f in e.fields} - set(header))
            header, rows = header + fields, _padded(rows, len(fields))
        elif name == "metrics":
            rows = _days(rows, header.index("date") if "date" in header else -1,
                         table.span.file)
        builder.table(table.span.file, name, header, rows)
    return builder.dataset


def _padded(rows: Iterable[tuple[int, list[Any]]], extra: int
            ) -> Iterator[tuple[int, list[Any]]]:
    for line, cells in rows:
        yield line, cells + [""] * extra


_MAX_RANGE = 36_500
"""Days a metric range may span: a century, as for windows (CS0309)."""


def _days(rows: Iterable[tuple[int, list[Any]]], at: int, where: str
          ) -> Iterator[tuple[int, list[Any]]]:
    """A metric row whose date is a range `D1 .. D2` is one row per day of it."""
    for line, cells in rows:
        text = cells[at] if 0 <= at < len(cells) else ""
        first, dots, last = str(text).partition("..")
        if not dots:
            yield line, cells
            continue
        try:
            day, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
        except ValueError:
            yield line, cells  # the builder reports the bad date at this line
            continue
        if (end - day).days > _MAX_RANGE:
            raise _DataError(Span(where, line, 1, line, 1),
                             f"{where}:{line}: a date range of more than {_MAX_RANGE:,} days")
        while True:
            yield line, [*cells[:at], day.isoformat(), *cells[at + 1:]]
            if day >= end:
                break
            day += timedelta(days=1)


# ---------------------------------------------------------------- one test


class _Stop(Exception):
    """A step that cannot run: the test ends with a failure at that step."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _TestRun:
    def __init__(self, artifact: A.Artifact, test: T.SpecTest, datasets: _Datasets,
                 observer: Observer | None) -> None:
        self.artifact, self.test = artifact, test
        self.datasets, self.observer = datasets, observer
        self.result = TestResult(test)
        self.day: date | None = None
        self._by_account: dict[str, list[Any]] | None = None  # until a step changes the store
        self.latest: date | None = None  # the latest close or completion date

    def _ctas(self, store: Any) -> dict[str, list[Any]]:
        """Every stored CTA by account, read once after each step that changes the store:
        a recorded test holds an expectation per rule and account."""
        if self._by_account is None:
            self._by_account = {}
            for cta in store.list_ctas():
                self._by_account.setdefault(cta.account_id, []).append(cta)
        return self._by_account

    def run(self) -> TestResult:
        from csdsl_runtime.stores import open_store

        started = time.perf_counter()
        store = open_store("sqlite:///:memory:")
        try:
            self._steps(store)
        except _Stop as stop:
            self.result.failures.append(stop.failure)
        finally:
            store.close()
            self.result.seconds = time.perf_counter() - started
        return self.result

    def _steps(self, store: Any) -> None:
        from csdsl_runtime.api import Runtime

        test = self.test
        if test.data is None:
            raise _Stop(Failure(test.span, "the test has no data"))
        try:
            dataset = self.datasets.get(test.data)
        except _DataError as exc:
            raise _Stop(Failure(exc.span, exc.message)) from None
        try:
            runtime = Runtime(self.artifact, dataset, store, evidence=False)  # never read here
        except BadDataError as exc:  # pragma: no cover - bad rows are refused above
            raise _Stop(Failure(test.data.span, str(exc))) from None
        for step in test.steps:
            if isinstance(step, T.Run):
                self._run(runtime, dataset, store, step)
            elif isinstance(step, T.Expect):
                self.result.expectations += 1
                failure = expectation(self._ctas(store).get(step.account, []), step)
                if failure is not None:
                    self.result.failures.append(failure)
            elif isinstance(step, T.Close):
                self._close(store, step)
            else:
                self._complete(store, step)

    def _run(self, runtime: Any, dataset: Dataset, store: Any, step: T.Run) -> None:
        from csdsl_runtime.limits import LimitError
        from csdsl_runtime.stores import StoreError

        self._by_account = None
        if self.latest is not None and step.day < self.latest:
            raise _Stop(Failure(step.span, f"the run as of {step.day} comes before a step "
                                           f"dated {self.latest}: steps go forward in time"))
        if self.observer is not None:
            self.observer(self.artifact, dataset, store, step.day)
        try:
            runtime.run(step.day)
        except LimitError as exc:
            raise _Stop(Failure(step.span, f"the run as of {step.day} would break a limit, "
                                           f"so it stored nothing: {exc.breaches[0].message()}"
                                )) from None
        except StoreError as exc:
            raise _Stop(Failure(step.span, f"the run as of {step.day} failed: {exc}")) from None
        except OverflowError:
            raise _Stop(Failure(step.span, f"the run as of {step.day} would date a CTA or task "
                                           "after 9999-12-31")) from None
        self.day = step.day
        self.result.runs += 1

    def _open_ctas(self, store: Any, rule: str, account: str, span: Span, what: str
                   ) -> list[Any]:
        found = store.list_ctas(status="open", account_id=account, rule=rule)
        if not found:
            others = tuple(c.to_json() for c in store.list_ctas(account_id=account))
            raise _Stop(Failure(span, f"cannot {what}: no CTA of `{rule}` is open for "
                                      f"\"{account}\"", others=others))
        return list(found)

    def _day_of(self, step: T.Close | T.CompleteTask) -> date:
        """A close or completion is dated `on DATE`, else the last run's day; never before
        that run (the store would see it undone), and it bounds the next run."""
        assert self.day is not None  # the checker refuses a step before the first run
        day = step.day or self.day
        if day < self.day:
            raise _Stop(Failure(step.span, f"{day} comes before the last run, as of "
                                           f"{self.day}: steps go forward in time"))
        self.latest = max(self.latest or day, day)
        return day

    def _close(self, store: Any, step: T.Close) -> None:
        """Close the rule's own CTA for the account; a rule that opens only a plan has
        objective CTAs, which a plan's status closes, not this step."""
        from csdsl_runtime.stores import StoreError

        self._by_account = None
        found = self._open_ctas(store, step.rule, step.account, step.span, "close it")
        own = [c for c in found if c.plan_id is None]
        if not own:
            raise _Stop(Failure(step.span, f"`{step.rule}` opened a success plan for "
                                           f"\"{step.account}\", not a CTA of its own: its "
                                           "objectives are closed with the plan"))
        day = self._day_of(step)
        try:
            store.close_cta(own[0].id, step.outcome, day, step.reason)
        except StoreError as exc:
            raise _Stop(Failure(step.span, f"cannot close it: {exc}")) from None

    def _complete(self, store: Any, step: T.CompleteTask) -> None:
        """Complete a task of the rule's open CTAs for the account: by key, or in a plan by
        `objective.key` (or its key alone, when one objective has it)."""
        from csdsl_runtime.stores import StoreError

        self._by_account = None
        found = self._open_ctas(store, step.rule, step.account, step.span,
                                "complete the task")
        matches = [t for cta in found for t in cta.tasks if _names(cta, t, step.task)]
        if len(matches) != 1:
            keys = ", ".join(f"`{_task_name(c, t)}`" for c in found for t in c.tasks) or "none"
            why = "has no task" if not matches else "has several tasks named"
            raise _Stop(Failure(step.span, f"the open work of `{step.rule}` for "
                                           f"\"{step.account}\" {why} `{step.task}` "
                                           f"(its tasks: {keys})"))
        day = self._day_of(step)
        try:
            store.complete_task(matches[0].id, day)
        except StoreError as exc:
            raise _Stop(Failure(step.span, f"cannot complete the task: {exc}")) from None


def _task_name(cta: Any, task: Any) -> str:
    """A task's name in a test: its key, prefixed by its objective's key in a plan."""
    return task.key if cta.objective is None else f"{cta.objective}.{task.key}"


def _names(cta: Any, task: Any, name: str) -> bool:
    return name == task.key or name == _task_name(cta, task)


# ---------------------------------------------------------------- expectations


_WORDS = frozenset({"priority", "type", "plan", "status", "tasks"})
"""Checked attributes written as bare words or numbers; the others are quoted text or dates."""


def shown(attribute: str, value: object) -> str:
    """A checked value as a test file writes it: quoted text, dates, bare words."""
    if value is None:
        return "none"
    if isinstance(value, str) and attribute not in _WORDS:
        return f'"{value}"'
    return str(value)


def _plain(value: object) -> object:
    """A checked value for JSON: dates as YYYY-MM-DD, a missing task as null."""
    if isinstance(value, date):
        return value.isoformat()
    return None if value is MISSING_TASK else value


def _key(check: T.Check) -> str:
    return check.attribute if check.task is None else f"{check.task}.{check.attribute}"


def _expected(step: T.Expect) -> dict[str, object]:
    return {_key(c): c.value for c in step.checks}


class _MissingTask:
    def __str__(self) -> str:
        return "no such task"


MISSING_TASK = _MissingTask()


def _actual(cta: Any, check: T.Check, siblings: list[Any]) -> object:
    """The value a check reads from a stored CTA; a task check of a plan's objective may
    name a task of another objective of its plan (`golive.launch`)."""
    if check.task is not None:
        task = next((t for t in cta.tasks if _names(cta, t, check.task)), None)
        if task is None:
            task = next((t for c in siblings for t in c.tasks if _names(c, t, check.task)),
                        None)
        return MISSING_TASK if task is None else getattr(task, check.attribute)
    if check.attribute == "tasks":
        return len(cta.tasks)
    return getattr(cta, check.attribute)


def _differences(cta: Any, step: T.Expect, account: list[Any]) -> list[Difference]:
    siblings = [c for c in account if cta.plan_id is not None and c.plan_id == cta.plan_id
                and c is not cta]
    found = []
    for check in step.checks:
        got = _actual(cta, check, siblings)
        if got != check.value:
            found.append(Difference(_key(check), check.value, got))
    return found


def expectation(account: list[Any], step: T.Expect) -> Failure | None:
    """Whether an account's stored CTAs (`CtaRecord`s) are what `step` expects after the
    last run; the failure if not."""
    candidates = [c for c in account if c.rule == step.rule and c.status == "open"]
    others = tuple(c.to_json() for c in account if c not in candidates and (
        c.status == "open" or c.rule == step.rule))
    if not step.present:
        if not candidates:
            return None
        return Failure(step.span, f"expected no open CTA of `{step.rule}` for "
                                  f"\"{step.account}\", found {len(candidates)}",
                       candidates=tuple(c.to_json() for c in candidates), others=others)
    if not candidates:
        return Failure(step.span, f"expected an open CTA of `{step.rule}` for "
                                  f"\"{step.account}\", found none",
                       expected=_expected(step), others=others)
    ranked = sorted((len(_differences(c, step, account)), i) for i, c in enumerate(candidates))
    best = candidates[ranked[0][1]]
    differences = _differences(best, step, account)
    if not differences:
        return None
    return Failure(step.span, f"the open CTA of `{step.rule}` for \"{step.account}\" "
                              f"differs in {', '.join(d.attribute for d in differences)}",
                   expected=_expected(step), differences=tuple(differences),
                   candidates=tuple(c.to_json() for c in candidates), others=others)


def spec_files_for(paths: Iterable[str | Path]) -> list[str]:
    """The spec a test run checks: the `.cs` files under the given paths; for a path that
    is a `.cstest` file, those of the nearest folder up from it that holds any."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file() and path.suffix == ".cstest":
            folder = path.resolve().parent
            while not any(folder.rglob("*.cs")) and folder.parent != folder:
                folder = folder.parent
            out.append(str(folder))
        else:
            out.append(str(raw))
    return list(dict.fromkeys(out))


def by_file(results: Iterable[TestResult]) -> Mapping[str, list[TestResult]]:
    """Results grouped by test file, files and tests in source order."""
    grouped: dict[str, list[TestResult]] = {}
    for r in sorted(results, key=lambda r: (r.test.file, r.test.span.line)):
        grouped.setdefault(r.test.file, []).append(r)
    return grouped
