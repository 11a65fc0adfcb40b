"""Spec tests against the spec: every `.cstest` file under the paths, read, parsed and
held against the `SpecModel`, into a `Suite` whose tests are ready to run.

`syntax` checks what a file shows on its own; this module what needs more: the rules,
tasks, fields, metrics, events, roles, pools and plans a test names (each unknown one
with a did-you-mean), the fixtures of the whole suite (declared once, across files),
the data directories on disk, and the accounts a test names against its data.

Only the tests without errors go into `Suite.tests`; those with one (in the test, or in
the shared fixture it uses) go into `Suite.rejected`, and the diagnostics say why.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

from csdsl.diagnostics import Diagnostic, Related, did_you_mean, error
from csdsl.semantic.model import Field, PlanAction, SpecModel
from csdsl.source import Span, UsageError, display_path
from csdsl.spectest.model import (
    Cell,
    Check,
    Expect,
    Fixture,
    NameUse,
    SpecTest,
    Suite,
    Table,
    TestFile,
)
from csdsl.spectest.syntax import parse_test_file

__all__ = ["check_files", "collect_test_files", "load_suite"]

SUFFIX = ".cstest"
ACCOUNT_FILES = ("accounts.csv", "accounts.parquet")
_MAX_SUGGESTED = 2_000  # past this many accounts, no did-you-mean: too slow to look
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def collect_test_files(paths: Sequence[str | Path]) -> list[Path]:
    """Every `.cstest` file under the paths: directories searched recursively (sorted),
    a path that is itself a `.cstest` file; any other file (a `.cs`) is not a test.
    Raises `UsageError` for a path that does not exist, as the spec's reader does."""
    found: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file()))
        elif path.is_file():
            if path.suffix == SUFFIX:
                found.append(path)
        else:
            missing.append(str(raw))
    if missing:
        raise UsageError("no such file or directory: " + ", ".join(f"`{m}`" for m in missing))
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def load_suite(paths: Sequence[str | Path], model: SpecModel
               ) -> tuple[Suite, list[Diagnostic], bool]:
    """Read, parse and check every `.cstest` file under the paths against the spec's
    model: the suite, every diagnostic (in source order), and whether a file could not
    be read (CS0001: the command's exit status is then 2)."""
    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    parsed: list[TestFile] = []
    unreadable = False
    for path in collect_test_files(paths):
        name = display_path(path)
        text = _read(path, name, diagnostics)
        if text is None:
            unreadable = True
            continue
        sources[name] = text
        test_file, found = parse_test_file(name, text)
        parsed.append(test_file)
        diagnostics.extend(found)
    suite, more = check_files(parsed, model, sources, diagnostics)
    return suite, sorted([*diagnostics, *more], key=Diagnostic.sort_key), unreadable


def _read(path: Path, name: str, diagnostics: list[Diagnostic]) -> str | None:
    """A test file's text, or None and CS0001 (as `csdsl.driver` reads a spec file)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        diagnostics.append(error("CS0001", Span(name, 1, 1, 1, 1),
                                 f"cannot read `{name}`: {reason}"))
        return None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        at = text.index("\x00")
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        diagnostics.append(error("CS0001", Span(name, line, column, line, column + 1),
                                 f"cannot read `{name}`: it holds a NUL character: "
                                 "not a text file"))
        return None
    return text


def check_files(files: Sequence[TestFile], model: SpecModel,
                sources: Mapping[str, str] | None = None, known: Iterable[Diagnostic] = ()
                ) -> tuple[Suite, list[Diagnostic]]:
    """Check parsed test files against the spec's model: the suite and the new
    diagnostics. `known`: what was found before (the parser's), so that a test with a
    syntax-level error is held back too. Relative data directories are resolved against
    each file's folder (`TestFile.path` as given: relative to the working directory)."""
    checker = _Checker(model)
    fixtures = checker.fixtures(files)
    tests: list[tuple[TestFile, SpecTest]] = []
    for test_file in files:
        tests.extend((test_file, t) for t in checker.tests(test_file, fixtures))
    errors: dict[str, list[int]] = {}
    for d in [*known, *checker.diagnostics]:
        if d.is_error:
            errors.setdefault(d.span.file, []).append(d.span.start)
    for starts in errors.values():
        starts.sort()
    ready: list[SpecTest] = []
    rejected: list[SpecTest] = []
    for _, test in tests:
        spans = [test.block or test.span]
        if test.fixture is not None and test.fixture in fixtures:
            spans.append(fixtures[test.fixture][0].span)
        (rejected if any(_holds(errors, s) for s in spans) else ready).append(test)
    suite = Suite(tuple(ready), {name: f for name, (f, _) in fixtures.items()},
                  dict(sources or {}), tuple(rejected))
    return suite, sorted(checker.diagnostics, key=Diagnostic.sort_key)


def _holds(errors: Mapping[str, list[int]], span: Span) -> bool:
    """Does an error start inside the span?"""
    starts = errors.get(span.file)
    if not starts:
        return False
    i = bisect.bisect_left(starts, span.start)
    return i < len(starts) and starts[i] <= span.end


# ---------------------------------------------------------------- the checker

_Data = tuple[Fixture, frozenset[str] | None]
"""A resolved fixture and the ids of its accounts (None: not known)."""


class _Checker:
    """Holds what one check of a suite found: diagnostics, and the account ids of each
    data directory read."""

    def __init__(self, model: SpecModel) -> None:
        self.model = model
        self.diagnostics: list[Diagnostic] = []
        self._directories: dict[str, frozenset[str] | None] = {}

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    # -- fixtures and data
    def fixtures(self, files: Sequence[TestFile]) -> dict[str, _Data]:
        """The suite's shared fixtures by name, resolved; a name declared twice is CS0200
        (the first declaration is the one used)."""
        found: dict[str, _Data] = {}
        for test_file in files:
            for fixture in test_file.fixtures:
                name = fixture.name
                if name is None:
                    continue
                if name in found:
                    first = found[name][0]
                    self.report(error(
                        "CS0200", fixture.name_span or fixture.span,
                        f"fixture `{name}` is declared twice",
                        "fixtures are shared by every test file of the suite; rename one",
                        related=(Related(first.name_span or first.span,
                                         "first declared here"),)))
                    continue
                found[name] = self.data(fixture, test_file.path)
        return found

    def data(self, fixture: Fixture, file: str) -> _Data:
        """A fixture with its directory resolved and checked, or its tables checked."""
        if fixture.directory is None:
            return fixture, self.tables(fixture)
        where = "`" + fixture.directory + "`"
        try:
            path = (Path(file).parent / fixture.directory).resolve()
            exists = path.is_dir()
            has_accounts = exists and any((path / f).is_file() for f in ACCOUNT_FILES)
        except (OSError, ValueError, RuntimeError):  # a NUL, a name too long, a loop
            self.report(error("CS0802", fixture.span, f"data directory {where} cannot be read"))
            return fixture, None
        resolved = dataclasses.replace(fixture, path=str(path))
        shown = display_path(path)
        if not exists:
            self.report(error("CS0802", fixture.span, f"data directory {where} does not exist",
                              f"it is read relative to the folder of `{file}`: `{shown}`"))
        elif not has_accounts:
            self.report(error("CS0802", fixture.span,
                              f"data directory {where} has no accounts table",
                              f"`{shown}` needs `accounts.csv` (or `accounts.parquet`); "
                              "`team`, `metrics`, `events` and `pools` are optional"))
        return resolved, self.directory_accounts(path) if has_accounts else None

    def directory_accounts(self, path: Path) -> frozenset[str] | None:
        """The ids in a directory's accounts.csv (None when it cannot say: no CSV, no
        `id` column, a file it cannot read; the run reports those)."""
        key = str(path)
        if key not in self._directories:
            self._directories[key] = _csv_ids(path / "accounts.csv")
        return self._directories[key]

    def tables(self, fixture: Fixture) -> frozenset[str] | None:
        """Inline tables against the spec; the ids of their accounts."""
        accounts = next((t for t in fixture.tables if t.name == "accounts"), None)
        ids = self.accounts(accounts) if accounts is not None else None  # none: reported
        for table in fixture.tables:
            if table.name == "team":
                self.names(table, "role", self.model.roles, "CS0204", "role",
                           "declare it with `role {}`")
            elif table.name == "metrics":
                self.names(table, "metric", self.model.metrics, "CS0202", "metric",
                           "declare it with `metric {}`")
            elif table.name == "events":
                self.events(table)
            elif table.name == "pools":
                self.names(table, "pool", self.model.pools, "CS0213", "pool",
                           "declare it with `pool {}`")
            if table.name in ("team", "metrics", "events") and ids is not None:
                self.known_accounts(table, ids)
        return ids

    def accounts(self, table: Table) -> frozenset[str] | None:
        if not table.has_required_columns():
            return None  # reported by the parser
        fields = self.model.fields
        typed: list[tuple[int, Field]] = []
        for i, cell in enumerate(table.header[1:], start=1):
            field = fields.get(cell.text)
            if field is None:
                self.report(error("CS0201", cell.span, f"unknown account field `{cell.text}`",
                                  "the columns of `accounts` are `id`, then declared account "
                                  "fields",
                                  suggestion=did_you_mean(cell.text, fields)))
            else:
                typed.append((i, field))
        ids: set[str] = set()
        for cells in _rows(table):
            ids.add(cells[0].text)
            for i, field in typed:
                _value(self, cells[i].text, cells[i].span, field, f"`{field.name}`")
        return frozenset(ids)

    def names(self, table: Table, column: str, declared: Mapping[str, object], code: str,
              what: str, declare: str) -> None:
        """The cells of a column that must name a declared role, metric, event or pool:
        each unknown name reported once, where the table first names it."""
        if not table.has_required_columns():
            return
        index = table.columns.index(column)
        reported: set[str] = set()
        for cells in _rows(table):
            cell = cells[index]
            name = cell.text
            if not name or name in declared or name in reported:
                continue
            reported.add(name)
            self.report(error(code, cell.span, f"unknown {what} `{name}`",
                              declare.format(name), suggestion=did_you_mean(name, declared)))

    def events(self, table: Table) -> None:
        """`events`: declared events, field columns of some event, typed field values."""
        if not table.has_required_columns():
            return
        events = self.model.events
        self.names(table, "event", events, "CS0203", "event", "declare it with `event {}`")
        every_field = {name for e in events.values() for name in e.fields}
        fields: list[tuple[int, str]] = []
        for i, cell in enumerate(table.header[3:], start=3):
            if cell.text in every_field:
                fields.append((i, cell.text))
                continue
            self.report(error("CS0203", cell.span,
                              f"no declared event has a field `{cell.text}`",
                              "after `account_id`, `event` and `date`, the columns of "
                              "`events` are fields of declared events",
                              suggestion=did_you_mean(cell.text, every_field)))
        for cells in _rows(table):
            event = events.get(cells[1].text)
            if event is None:
                continue
            for i, name in fields:
                cell = cells[i]
                if not cell.text:
                    continue
                field = event.fields.get(name)
                if field is None:
                    self.report(error("CS0810", cell.span,
                                      f"`{name}` is not a field of event `{event.name}`",
                                      "leave the cell empty in this event's rows"))
                else:
                    _value(self, cell.text, cell.span, field, f"`{event.name}.{name}`")

    def known_accounts(self, table: Table, ids: frozenset[str]) -> None:
        """The `account_id` cells of a table name accounts of the data's `accounts`."""
        if not table.has_required_columns():
            return
        reported: set[str] = set()
        for cells in _rows(table):
            cell = cells[0]
            if cell.text and cell.text not in ids and cell.text not in reported:
                reported.add(cell.text)
                self.unknown_account(cell.text, cell.span, ids, "in this data's `accounts`")

    def unknown_account(self, name: str, span: Span, ids: frozenset[str], where: str) -> None:
        suggestion = did_you_mean(name, ids) if len(ids) <= _MAX_SUGGESTED else None
        self.report(error("CS0813", span, f"account `{name}` is not {where}",
                          "a test can only see the accounts of its data",
                          suggestion=suggestion))

    # -- tests
    def tests(self, test_file: TestFile, fixtures: Mapping[str, _Data]) -> list[SpecTest]:
        """The file's tests with their data resolved; every name they use checked."""
        tests = list(test_file.tests)
        blocks = [t.block or t.span for t in tests]
        starts = [b.start for b in blocks]
        uses: list[list[NameUse]] = [[] for _ in tests]
        for use in test_file.references:
            i = bisect.bisect_right(starts, use.span.start) - 1
            if i >= 0 and use.span.start <= blocks[i].end:
                uses[i].append(use)
        out = []
        for test, names in zip(tests, uses, strict=True):
            data: Fixture | None = test.data
            ids: frozenset[str] | None = None
            if test.fixture is not None:
                shared = fixtures.get(test.fixture)
                if shared is None:
                    at = next((u.span for u in names if u.kind == "fixture"), test.span)
                    self.report(error("CS0801", at, f"unknown fixture `{test.fixture}`",
                                      "declare it in a test file of the suite with "
                                      f"`fixture {test.fixture} \"DIRECTORY\"` or "
                                      f"`fixture {test.fixture} {{ tables }}`",
                                      suggestion=did_you_mean(test.fixture, fixtures)))
                else:
                    data, ids = shared
            elif data is not None:
                data, ids = self.data(data, test_file.path)
            self.names_of(test, names, ids)
            self.plans(test)
            out.append(dataclasses.replace(test, data=data))
        return out

    def names_of(self, test: SpecTest, names: Sequence[NameUse],
                 ids: frozenset[str] | None) -> None:
        rules = self.model.rules
        for use in names:
            if use.kind == "rule" and use.name not in rules:
                self.report(error("CS0800", use.span, f"unknown rule `{use.name}`",
                                  _some("the spec's rules", rules),
                                  suggestion=did_you_mean(use.name, rules)))
            elif use.kind == "task" and use.rule is not None and use.rule in rules:
                keys = self.task_keys(use.rule)
                if use.name not in keys:
                    self.report(error(
                        "CS0806", use.span, f"rule `{use.rule}` has no task `{use.name}`",
                        _some("its tasks", keys) if keys else
                        f"rule `{use.rule}` applies no playbook and opens no plan: its "
                        "CTAs have no tasks",
                        suggestion=did_you_mean(use.name, keys)))
            elif use.kind == "account" and ids is not None and use.name not in ids:
                self.unknown_account(use.name, use.span, ids, f"in the data of test "
                                                              f"`{test.name}`")

    def task_keys(self, rule_name: str) -> set[str]:
        """The task keys a rule's CTAs have: its playbook's; a plan's as the model names
        them (`kickoff.handoff`) and as its objectives' CTAs do (`handoff`)."""
        rule = self.model.rules[rule_name]
        keys: set[str] = set()
        playbook = self.model.playbooks.get(rule.playbook) if rule.playbook else None
        if playbook is not None:
            keys.update(t.key for t in playbook.tasks)
        for action in rule.actions:
            plan = self.model.plans.get(action.plan) if isinstance(action, PlanAction) else None
            if plan is None:
                continue
            for task in plan.tasks:
                keys.add(task.key)
                if task.objective:
                    keys.add(task.key.removeprefix(f"{task.objective}."))
        return keys

    def plans(self, test: SpecTest) -> None:
        """`plan NAME` checks name a success-plan template (once per place: the accounts
        of one `expect` share its checks)."""
        plans = self.model.plans
        seen: set[Span] = set()
        for step in test.steps:
            if not isinstance(step, Expect):
                continue
            for check in step.checks:
                if check.attribute != "plan" or check.span in seen:
                    continue
                seen.add(check.span)
                if str(check.value) not in plans:
                    self.report(_unknown_plan(check, plans))


def _unknown_plan(check: Check, plans: Mapping[str, object]) -> Diagnostic:
    return error("CS0206", check.span, f"unknown plan `{check.value}`",
                 _some("the spec's plans", plans),
                 suggestion=did_you_mean(str(check.value), plans))


def _some(what: str, names: Iterable[str]) -> str:
    """`what: a, b, c` (the first eight, sorted), or that there are none."""
    ordered = sorted(names)
    if not ordered:
        return f"{what}: none"
    shown = ", ".join(f"`{n}`" for n in ordered[:8])
    return f"{what}: {shown}" + (", ..." if len(ordered) > 8 else "")


def _rows(table: Table) -> Iterable[tuple[Cell, ...]]:
    """The rows of a table that have as many cells as its header (the others were
    reported by the parser), as tuples of cells."""
    width = len(table.header)
    return (row.cells for row in table.rows if len(row.cells) == width)


def _value(checker: _Checker, text: str, span: Span, field: Field, what: str) -> None:
    """A cell's value against a field's type, as the data sources type it (CS0810; a
    date that is not a day: CS0105). Empty is no value: always fine."""
    if not text:
        return
    problem: str | None = None
    if field.type == "number":
        if not _NUMBER.match(text) or abs(float(text)) == float("inf"):
            problem = f"`{text}` is not a number"
    elif field.type == "bool":
        if text.lower() not in ("true", "false"):
            problem = f"`{text}` is not `true` or `false`"
    elif field.type == "date":
        if not _DATE_SHAPE.match(text):
            problem = f"`{text}` is not a date (YYYY-MM-DD)"
        else:
            try:
                date.fromisoformat(text)
            except ValueError:
                checker.report(error("CS0105", span, f"`{text}` is not a valid date",
                                     "dates are written YYYY-MM-DD"))
                return
    elif field.type == "enum" and text not in field.values:
        allowed = ", ".join(f"`{v}`" for v in field.values)
        checker.report(error("CS0810", span, f"`{text}` is not a value of {what}",
                             f"its values: {allowed}",
                             suggestion=did_you_mean(text, field.values)))
        return
    if problem is not None:
        checker.report(error("CS0810", span, problem, f"{what} is a {field.type}"))


def _csv_ids(path: Path) -> frozenset[str] | None:
    """The `id` column of an accounts.csv, read as the CSV source reads it."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if not header or header[0] != "id":
                return None
            return frozenset(row[0].strip() for row in reader if row)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return None
