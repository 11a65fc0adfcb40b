"""The runtime's commands: `run`, `ctas`, `plans`, `close`, `complete-task`, `plan-status`,
`retire`.

They are added to the `csdsl` command line by the compiler package, and also form the
stand-alone `csdsl-runtime` command, for hosts that install only the runtime and run
compiled artifacts. Exit statuses follow RUNTIME.md: 0 done, 1 spec or data errors,
2 bad usage.

A user's mistake never escapes as a bare `ValueError`: bad option values are argparse
errors, and a command either prints its error and returns the status, or raises
`UsageError`, which a command line reports as `csdsl: <message>` with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from csdsl_runtime.dates import parse_date
from csdsl_runtime.records import PLAN_STATUSES
from csdsl_runtime.report import SHOW
from csdsl_runtime.stores import DEFAULT_STORE_URL


class UsageError(Exception):
    """Bad usage that argparse cannot see; reported as `csdsl: <message>`, status 2."""


def day_argument(text: str) -> date:
    """An argparse `type` for YYYY-MM-DD options."""
    try:
        return parse_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a date (YYYY-MM-DD)") from None


def count_argument(what: str, least: int, most: int | None = None,
                   hint: str | None = None) -> Callable[[str], int]:
    """An argparse `type` for a whole number of `what` from `least` to `most`: every
    such option refuses a bad value in the same words."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"`{text}` is not a number of {what}") from None
        if value < least or (most is not None and value > most):
            span = f"{least} or more" if most is None else f"{least} to {most}"
            raise argparse.ArgumentTypeError(f"{value} {what}: give {hint or span}")
        return value

    return parse


def add_runtime_commands(sub: Any) -> None:
    """Add the runtime's sub-commands to an argparse sub-parser set."""

    def store_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", default=DEFAULT_STORE_URL, metavar="URL",
                       help=f"sqlite:///FILE or postgresql://... (default: {DEFAULT_STORE_URL})")

    p = sub.add_parser("run", help="evaluate the rules as of a day; open CTAs and plans")
    p.add_argument("spec", metavar="SPEC", help="a spec directory, .cs files or a compiled .json")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="a CSV data directory, or an SQLite/DuckDB file with the same tables")
    p.add_argument("--as-of", required=True, type=day_argument, metavar="DATE", dest="asof")
    store_option(p)
    p.add_argument("--dry-run", action="store_true", help="store nothing; print what would happen")
    p.add_argument("--backfill", action="store_true",
                   help="allow a day before the store's latest run: open the CTAs of that day, "
                        "never close or score CTAs created after it")
    p.add_argument("--no-evidence", action="store_true",
                   help="do not keep each new CTA's deciding values (`csdsl explain CTA_ID`); "
                        "a first run that opens very many CTAs is faster")
    p.add_argument("--on-bad-data", choices=("fail", "skip"), default="fail",
                   help="a malformed data row fails the run (default) or is skipped and counted")
    p.add_argument("--engine", choices=("interpreter", "duckdb", "spark", "postgres"),
                   default="duckdb",
                   help="how conditions are evaluated: duckdb (the default: data read "
                        "into DuckDB tables, all rules in shared SQL passes), interpreter "
                        "(the reference, account by account), spark (Spark reads the "
                        "metrics and events and evaluates; only the firing accounts come "
                        "back) or postgres (--data is a postgresql:// URL: evaluated in "
                        "the database, on the tables of --data-schema)")
    p.add_argument("--spark-master", default="local[*]", metavar="URL",
                   help="spark engine: the cluster (default: local[*], this machine)")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   type=_spark_setting, help="spark engine: a Spark setting (repeatable)")
    p.add_argument("--data-schema", default="public", metavar="NAME",
                   help="postgres engine: the schema of the data tables (default: public)")
    p.add_argument("--threads", type=_threads, default=None,
                   help="DuckDB threads, 1 to 256 (duckdb engine; default: one per core)")
    p.add_argument("--memory-limit", type=_memory_limit, default=None, metavar="SIZE",
                   help="DuckDB memory limit such as 1GB (duckdb engine; default: 512MB, "
                        "beyond which DuckDB spills to a scratch directory)")
    p.add_argument("--verify-key", metavar="PUBFILE", dest="verify_key",
                   help="refuse an artifact that this public key (`csdsl keygen`) has not "
                        "signed; SPEC must then be a compiled artifact")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="the run report (a dry run's JSON lists every change under `changes`)")
    p.add_argument("--show", type=_shown, default=None, metavar="N",
                   help="with --dry-run: the CTAs, closes and plans the text report lists "
                        "per rule (default: 20; 0: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--env", metavar="NAME", dest="environment",
                   help="when SPEC is a spec (`csdsl run`): compile it merged with this "
                        "environment's overlays; a compiled .json carries its environment")
    p.set_defaults(needs_artifact=True, func=None)

    p = sub.add_parser("ctas", help="list the stored CTAs with their tasks")
    store_option(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--status", choices=("open", "closed"))
    p.add_argument("--account", metavar="ID")
    p.add_argument("--rule", metavar="NAME")
    p.set_defaults(func=cmd_ctas, reads_only=True)

    p = sub.add_parser("tasks", help="list the open tasks, overdue first")
    store_option(p)
    p.add_argument("--owner", metavar="USER", help="only this owner's tasks")
    p.add_argument("--overdue", action="store_true", help="only the tasks past their due day")
    p.add_argument("--as-of", type=day_argument, default=None, metavar="DATE", dest="asof",
                   help="the day that decides what is overdue (default: today)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_tasks, reads_only=True)

    p = sub.add_parser("plans", help="list the stored success plans with their objectives")
    store_option(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_plans, reads_only=True)

    p = sub.add_parser("move-due", help="move an open CTA's due date; its open tasks follow")
    p.add_argument("cta_id", type=int, metavar="CTA_ID")
    p.add_argument("to", type=day_argument, metavar="DATE", help="the new due date")
    store_option(p)
    p.set_defaults(func=cmd_move_due)

    p = sub.add_parser("close", help="close a CTA with an outcome")
    p.add_argument("cta_id", type=int, metavar="CTA_ID")
    p.add_argument("--outcome", choices=("success", "not_valid"), required=True)
    p.add_argument("--reason", help="why (required with not_valid)")
    p.add_argument("--date", type=day_argument, default=None, help="closing day (default: today)")
    store_option(p)
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("complete-task", help="mark a task done")
    p.add_argument("task_id", type=int, metavar="TASK_ID")
    p.add_argument("--date", type=day_argument, default=None)
    store_option(p)
    p.set_defaults(func=cmd_complete_task)

    p = sub.add_parser("plan-status", help="change a success plan's status")
    p.add_argument("plan_id", type=int, metavar="PLAN_ID")
    p.add_argument("status", choices=PLAN_STATUSES)
    p.add_argument("--date", type=day_argument, default=None)
    store_option(p)
    p.set_defaults(func=cmd_plan_status)

    p = sub.add_parser("retire", help="close the open CTAs and plans of rules no longer in a spec")
    p.add_argument("spec", metavar="SPEC",
                   help="the spec now run (directory, .cs files or compiled .json): the CTAs "
                        "of rules it does not have are retired")
    p.add_argument("--rule", action="append", dest="rules", metavar="NAME",
                   help="retire only this removed rule's CTAs (repeatable)")
    p.add_argument("--date", type=day_argument, default=None, help="closing day (default: today)")
    p.add_argument("--dry-run", action="store_true", help="change nothing; list what would go")
    p.add_argument("--format", choices=("text", "json"), default="text")
    store_option(p)
    p.set_defaults(needs_artifact=True, func=None, with_artifact=retire_command)
    _add_sql_command(sub)


def _spark_setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"`{text}` is not KEY=VALUE")
    return key.strip(), value


def _read_remote(args: argparse.Namespace, artifact: Any) -> tuple[Any, Any]:
    """The accounts a run acts on, and the Spark or PostgreSQL engine over the rest."""
    schema = artifact.schema_
    skip = args.on_bad_data == "skip"
    if args.engine == "postgres":
        from csdsl_runtime.engines.postgres import PostgresSource, postgres_engine

        if not str(args.data).startswith(("postgresql://", "postgres://")):
            raise UsageError("--engine postgres reads the data from PostgreSQL: --data "
                             "postgresql://...")
        pg = PostgresSource(args.data, args.data_schema, schema)
        pg.check(skip)
        dataset = pg.read_accounts()
        dataset.bad_rows.extend(pg.bad_rows)
        return dataset, postgres_engine(pg, list(dataset.accounts))
    from csdsl_runtime.engines.spark import SparkSource, spark_engine, spark_session
    from csdsl_runtime.sources import read_dataset

    session = spark_session(args.spark_master, dict(args.spark_conf))
    source = SparkSource.read(session, args.data, schema, skip)
    if Path(args.data).is_dir():
        dataset = read_dataset(args.data, schema, tables=("accounts", "team", "pools"))
    else:
        dataset = source.read_accounts()
    dataset.bad_rows.extend(source.bad_rows)
    return dataset, spark_engine(session, source, list(dataset.accounts))


def _add_sql_command(sub: Any) -> None:
    from csdsl_runtime.engines.warehouse import DIALECTS

    p = sub.add_parser("sql", help="print the compiled rule query for a warehouse's scheduler")
    p.add_argument("spec", metavar="SPEC", help="a spec directory, .cs files or a compiled .json")
    p.add_argument("--dialect", choices=DIALECTS, default="duckdb",
                   help="the SQL dialect to write (default: duckdb)")
    p.add_argument("--as-of", type=day_argument, default=None, metavar="DATE", dest="asof",
                   help="the as-of day (default: the day the query runs, CURRENT_DATE)")
    p.add_argument("--accounts", default="accounts", metavar="TABLE",
                   help="the accounts table: `id` and the account fields (default: accounts)")
    p.add_argument("--metrics", default="metrics", metavar="TABLE",
                   help="the metrics table: account_id, metric, date, value (default: metrics)")
    p.add_argument("--events", default="events", metavar="TABLE",
                   help="the events table: account_id, event, date and the event fields "
                        "(default: events)")
    p.add_argument("--lifecycle", action="store_true",
                   help="also each rule's `close when` (rule `close:RULE`) and success "
                        "condition (`success:RULE`)")
    p.add_argument("--exact", action="append", default=[], metavar="METRIC",
                   help="a metric whose values are whole numbers: summed in any order "
                        "(repeatable)")
    p.add_argument("-o", "--output", metavar="FILE", help="write there instead of stdout")
    p.add_argument("--env", metavar="NAME", dest="environment",
                   help="when SPEC is a spec: compile it merged with this environment")
    p.set_defaults(needs_artifact=True, func=None, with_artifact=sql_command)


def sql_command(args: argparse.Namespace, artifact: Any) -> int:
    """`csdsl sql SPEC --dialect D`: one query returning (rule, account_id, truth)."""
    from csdsl_runtime import loader
    from csdsl_runtime.engines import conditions_of
    from csdsl_runtime.engines.warehouse import Tables, rule_query

    if artifact is None:
        if not Path(args.spec).is_file():
            return _error(f"no such file: `{args.spec}`", 2)
        try:
            artifact = loader.load(args.spec)
        except loader.ArtifactError as exc:
            return _error(str(exc), 1)
    unknown = sorted(set(args.exact) - {m.name for m in artifact.schema_.metrics})
    if unknown:
        raise UsageError(f"--exact {unknown[0]}: the spec declares no such metric")
    query = rule_query(artifact.schema_, conditions_of(artifact, args.lifecycle), args.dialect,
                       Tables(args.accounts, args.metrics, args.events), args.asof,
                       args.exact)
    asof = args.asof.isoformat() if args.asof else "CURRENT_DATE"
    lines = [f"-- csdsl sql: {args.dialect}, spec {artifact.spec_hash}"
             + (f", environment {artifact.environment}" if artifact.environment else ""),
             f"-- as of {asof}; tables {args.accounts}, {args.metrics}, {args.events}",
             "-- one row per rule and account: (rule, account_id, truth); truth is NULL "
             "when unknown",
             *(f"-- note: {note}" for note in query.notes)]
    text = "\n".join(lines) + "\n" + query.sql() + ";\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _error(message: str, status: int) -> int:
    sys.stderr.write(f"csdsl: {message}\n")
    return status


class _Bar:
    """A one-line progress bar on stderr, only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{stage:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\r" + " " * (width + 30) + "\r")
        sys.stderr.flush()


def _missing_sqlite_file(url: str) -> bool:
    from csdsl_runtime.stores import StoreError
    from csdsl_runtime.stores.sqlite import sqlite_path

    try:
        path = sqlite_path(url)
    except StoreError:
        return False  # not SQLite (PostgreSQL, or a bad URL open_store reports)
    return path != ":memory:" and not Path(path).exists()


_UNSIGNED_SPEC = (
    "--verify-key needs a signed compiled artifact: `{spec}` is a spec, compiled in "
    "memory and unsigned; run `csdsl compile {spec} --sign KEY -o FILE.json` and run FILE.json"
)


def run_command(args: argparse.Namespace, artifact: Any) -> int:
    """`csdsl run`: load (or take) the artifact, read the data, run, print the report."""
    if getattr(args, "with_artifact", None) is not None:  # another command on SPEC: retire
        return int(args.with_artifact(args, artifact))
    from csdsl_runtime import loader
    from csdsl_runtime.api import Runtime
    from csdsl_runtime.data import BadDataError
    from csdsl_runtime.engines.remote import RemoteError
    from csdsl_runtime.limits import LimitError
    from csdsl_runtime.sources import SourceError, read_dataset
    from csdsl_runtime.stores import StoreError, open_store

    if artifact is None and not Path(args.spec).is_file():
        return _error(f"no such file: `{args.spec}`", 2)  # bad usage, as RUNTIME.md says
    if args.show is not None and not args.dry_run:
        return _error("--show N lists what a dry run would change: use it with --dry-run", 2)
    verify_key = getattr(args, "verify_key", None)
    if verify_key is not None:
        from csdsl_runtime.signing import SigningKeyError, public_key

        if artifact is not None:  # compiled in memory: no signature can vouch for it
            return _error(_UNSIGNED_SPEC.format(spec=args.spec), 2)
        try:
            verify_key = public_key(verify_key)
        except SigningKeyError as exc:  # the key, not the artifact: bad usage
            return _error(str(exc), 2)
    try:
        if artifact is None:
            artifact = loader.load(args.spec, verify_key=verify_key)
    except loader.ArtifactError as exc:  # a spec error: unreadable, invalid, tampered
        return _error(str(exc), 1)
    started = time.perf_counter()
    data: Any
    engine: Any = None
    try:
        if args.engine == "duckdb":
            from csdsl_runtime.frame import read_frame

            data = read_frame(args.data, artifact.schema_, threads=args.threads,
                              memory_limit=args.memory_limit)
        elif args.engine in ("spark", "postgres"):
            data, engine = _read_remote(args, artifact)
        else:
            data = read_dataset(args.data, artifact.schema_)
    except SourceError as exc:
        return _error(str(exc), 1)
    dataset = data
    read_seconds = time.perf_counter() - started
    if dataset.bad_rows and args.on_bad_data == "fail":
        sys.stderr.write(str(BadDataError(dataset.bad_rows)) + "\n")
        return _error("bad data: fix the rows above, or run with --on-bad-data skip", 1)
    for row in dataset.bad_rows[:20]:
        sys.stderr.write(f"skipped: {row}\n")
    if args.engine == "duckdb":
        from csdsl_runtime.engines.sql import SqlEngine

        engine = SqlEngine(dataset)
    url = args.store
    if args.dry_run and _missing_sqlite_file(url):
        url = "sqlite:///:memory:"  # a dry run against no store yet leaves no file behind
    try:
        store = open_store(url)
    except StoreError as exc:
        return _error(str(exc), 2)
    import duckdb  # a required dependency, for its out-of-memory error

    try:
        # the evidence traces series, which a Spark or PostgreSQL run leaves where they are
        runtime = Runtime(artifact, dataset, store, engine=engine, on_bad_data=args.on_bad_data,
                          evidence=not args.no_evidence and args.engine in ("duckdb",
                                                                            "interpreter"))
        report = runtime.run(args.asof, dry_run=args.dry_run, progress=_Bar(not args.quiet),
                             backfill=args.backfill)
    except (StoreError, LimitError, RemoteError) as exc:  # rolled back: nothing stored
        return _error(str(exc), 1)
    except (MemoryError, duckdb.OutOfMemoryException) as exc:  # the run was rolled back
        return _error(f"the run needs more memory than DuckDB's limit: run with a larger "
                      f"--memory-limit ({str(exc).splitlines()[0]})", 1)
    except OverflowError:  # a due date or cooldown past 9999-12-31; the run was rolled back
        raise UsageError(
            f"--as-of {args.asof.isoformat()}: the dates of this run would be out of range"
        ) from None
    finally:
        store.close()
        if args.engine == "duckdb":
            data.close()  # the frame's connection and scratch directory (staged files)
        elif engine is not None and hasattr(engine, "close"):
            engine.close()  # the Spark session, or the connection to the data
    report.seconds["read_data"] = round(read_seconds, 3)
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(report.render(SHOW if args.show is None else args.show))
    return 0


def _open(args: argparse.Namespace) -> Any:
    from csdsl_runtime.stores import open_store

    if _missing_sqlite_file(args.store):
        if getattr(args, "reads_only", False):
            return open_store("sqlite:///:memory:")  # listing no store leaves no file behind
        from csdsl_runtime.stores import StoreError

        raise StoreError(f"no store at `{args.store}` (nothing has been run there yet: "
                         "`csdsl run` creates it); nothing was changed")
    return open_store(args.store)


def _with_store(fn: Any) -> Any:
    def wrapped(args: argparse.Namespace) -> int:
        from csdsl_runtime.stores import StoreError

        try:
            store = _open(args)
        except StoreError as exc:
            return _error(str(exc), 2)
        try:
            return int(fn(args, store))
        except StoreError as exc:
            return _error(str(exc), 1)
        finally:
            store.close()

    return wrapped


def _text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() + "\n" for r in rows
    )


@_with_store
def cmd_ctas(args: argparse.Namespace, store: Any) -> int:
    """`csdsl ctas`: every stored CTA with its tasks (JSON as in RUNTIME.md)."""
    ctas = store.list_ctas(status=args.status, account_id=args.account, rule=args.rule)
    if args.format == "json":
        sys.stdout.write(json.dumps([c.to_json() for c in ctas], indent=2) + "\n")
        return 0
    if not ctas:
        sys.stdout.write("no CTAs\n")
        return 0
    rows: list[tuple[str, ...]] = [
        ("id", "account", "rule", "type", "priority", "owner", "status", "due", "tasks", "title")
    ]
    for c in ctas:
        done = sum(t.status == "done" for t in c.tasks)
        status = c.status if c.outcome is None else f"{c.status}:{c.outcome}"
        rows.append((str(c.id), c.account_id, c.rule, c.type, c.priority, c.owner or "-",
                     status, c.due.isoformat(), f"{done}/{len(c.tasks)}", c.title))
        for t in sorted(c.tasks, key=lambda t: (t.due, t.key)):  # ids to complete them by
            rows.append(("", "", f"  task {t.id}", t.key, t.type, t.owner or "-", t.status,
                         t.due.isoformat(), "", t.title))
    sys.stdout.write(_text_table(rows))
    opened = sum(c.status == "open" for c in ctas)
    sys.stdout.write(f"{len(ctas)} CTAs ({opened} open)\n")
    return 0


@_with_store
def cmd_tasks(args: argparse.Namespace, store: Any) -> int:
    """`csdsl tasks`: open tasks of open CTAs, overdue first, then by due date: what a
    CSM works through (`--owner me`)."""
    day = args.asof or date.today()
    found = []
    for cta in store.list_ctas(status="open"):
        for task in cta.tasks:
            if task.status != "open" or (args.owner and task.owner != args.owner):
                continue
            overdue = task.due < day
            if args.overdue and not overdue:
                continue
            found.append((not overdue, task.due, task.id or 0, task, cta))
    found.sort(key=lambda f: f[:3])
    if args.format == "json":
        sys.stdout.write(json.dumps([
            {**task.to_json(), "cta_id": cta.id, "account_id": cta.account_id,
             "rule": cta.rule, "cta_title": cta.title, "overdue": not on_time,
             "days_overdue": max(0, (day - task.due).days)}
            for on_time, _, _, task, cta in found], indent=2) + "\n")
        return 0
    if not found:
        sys.stdout.write("no open tasks\n")
        return 0
    rows: list[tuple[str, ...]] = [("id", "due", "overdue", "owner", "account", "cta", "task")]
    for on_time, _, _, task, cta in found:
        late = "" if on_time else f"{(day - task.due).days}d"
        rows.append((str(task.id), task.due.isoformat(), late, task.owner or "-",
                     cta.account_id, str(cta.id), task.title))
    sys.stdout.write(_text_table(rows))
    late_count = sum(not f[0] for f in found)
    sys.stdout.write(f"{len(found)} open tasks ({late_count} overdue as of {day.isoformat()})\n")
    return 0


@_with_store
def cmd_move_due(args: argparse.Namespace, store: Any) -> int:
    """`csdsl move-due CTA_ID DATE`: a new due date; its open tasks shift with it."""
    shifted = store.move_due(args.cta_id, args.to)
    sys.stdout.write(f"CTA {args.cta_id} is due {args.to.isoformat()}; {shifted} open "
                     f"task{'s' if shifted != 1 else ''} moved with it\n")
    return 0


@_with_store
def cmd_plans(args: argparse.Namespace, store: Any) -> int:
    """`csdsl plans`: stored success plans with their objectives."""
    plans = store.list_plans()
    if args.format == "json":
        sys.stdout.write(json.dumps([p.to_json() for p in plans], indent=2) + "\n")
        return 0
    if not plans:
        sys.stdout.write("no plans\n")
        return 0
    rows: list[tuple[str, ...]] = [
        ("id", "account", "plan", "owner", "status", "due", "objectives")
    ]
    for p in plans:
        rows.append((str(p.id), p.account_id, p.plan, p.owner or "-", p.status,
                     p.due.isoformat(), str(len(p.objectives))))
        if p.description:
            rows.append(("", "", f"  {p.description}", "", "", "", ""))
        for o in p.objectives:  # what each objective is for, and when it is done
            meant = "; ".join(x for x in (o.category, o.criteria and f"done when: {o.criteria}")
                              if x)
            rows.append(("", "", f"  objective {o.id} {o.objective}", o.owner or "-",
                         o.status, o.due.isoformat(), meant))
    sys.stdout.write(_text_table(rows))
    return 0


@_with_store
def cmd_close(args: argparse.Namespace, store: Any) -> int:
    store.close_cta(args.cta_id, args.outcome, args.date or date.today(), args.reason)
    sys.stdout.write(f"closed CTA {args.cta_id} ({args.outcome})\n")
    return 0


@_with_store
def cmd_complete_task(args: argparse.Namespace, store: Any) -> int:
    moved = store.complete_task(args.task_id, args.date or date.today())
    later = f"; {moved} later task{'s' if moved != 1 else ''} re-timed from it" if moved else ""
    sys.stdout.write(f"task {args.task_id} done{later}\n")
    return 0


@_with_store
def cmd_plan_status(args: argparse.Namespace, store: Any) -> int:
    store.set_plan_status(args.plan_id, args.status, args.date or date.today())
    sys.stdout.write(f"plan {args.plan_id} is {args.status}\n")
    return 0


def retire_command(args: argparse.Namespace, artifact: Any) -> int:
    """`csdsl retire SPEC`: close (outcome `retired`) the open CTAs, and cancel the open
    plans, of rules SPEC does not have (only those of `--rule` when given)."""
    from csdsl_runtime import loader

    if artifact is None:
        if not Path(args.spec).is_file():
            return _error(f"no such file: `{args.spec}`", 2)
        try:
            artifact = loader.load(args.spec)
        except loader.ArtifactError as exc:
            return _error(str(exc), 1)
    if _missing_sqlite_file(args.store):  # no store yet: nothing to retire, no file left
        args.store = "sqlite:///:memory:"
    return int(_with_store(lambda a, store: _retire(a, store, artifact))(args))


def _retire(args: argparse.Namespace, store: Any, artifact: Any) -> int:
    from csdsl_runtime.api import retire

    day = args.date or date.today()
    retired = retire(artifact, store, day, rules=args.rules, dry_run=args.dry_run)
    ctas = sum(w.ctas for w in retired.values())
    plans = sum(w.plans for w in retired.values())
    if args.format == "json":
        sys.stdout.write(json.dumps({
            "date": day.isoformat(), "dry_run": args.dry_run, "ctas": ctas, "plans": plans,
            "rules": {r: {"ctas": w.ctas, "plans": w.plans} for r, w in retired.items()},
        }, indent=2) + "\n")
        return 0
    verb = "would retire" if args.dry_run else "retired"
    for rule, work in retired.items():
        sys.stdout.write(f"{verb} {work.describe()} of `{rule}`\n")
    for rule in dict.fromkeys(args.rules or ()):
        if rule not in retired:
            sys.stdout.write(f"`{rule}` has no open CTAs or plans\n")
    if not retired:
        if not args.rules:
            sys.stdout.write("nothing to retire: the rules of all open CTAs are in the spec\n")
        return 0
    sys.stdout.write(
        f"{verb} {ctas} CTAs and {plans} plans of {len(retired)} rules no longer in the spec "
        f"(outcome `retired`, {day.isoformat()})\n"
    )
    if args.dry_run:
        sys.stdout.write("dry run: nothing was changed\n")
    return 0


_shown = count_argument("lines", 0, hint="0 (all) or more")
"""How many lines per rule a dry run's text report lists (0: all)."""
_threads = count_argument("threads", 1, 256)
"""A thread count DuckDB can start (100,000 threads never returned)."""


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _memory_limit(text: str) -> str:
    """A DuckDB memory limit such as `1GB` or `512MiB`, at least 64 MB."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"`{text}` is not a size such as 1GB or 512MiB")
    size = float(found.group(1)) * _UNITS[(found.group(2) or "").lower()]
    if size < 64 * 10**6:
        raise argparse.ArgumentTypeError(f"`{text}`: DuckDB needs at least 64MB")
    return text.strip()


def main(argv: Sequence[str] | None = None) -> int:
    """`csdsl-runtime`: the runtime commands alone, for compiled artifacts."""
    parser = argparse.ArgumentParser(
        prog="csdsl-runtime", description="Run compiled csdsl specs and manage their CTAs."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_runtime_commands(sub)
    args = parser.parse_args(argv)
    try:
        if getattr(args, "needs_artifact", False):
            return run_command(args, None)
        return int(args.func(args))
    except UsageError as exc:
        return _error(str(exc), 2)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except BrokenPipeError:  # `csdsl-runtime ctas | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        return _error(f"internal error: {type(exc).__name__}: {exc}", 2)


if __name__ == "__main__":
    sys.exit(main())
