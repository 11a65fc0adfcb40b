"""`csdsl backtest SPEC --data DIR --from D1 --to D2`: replay past days into memory.

SPEC (and `--against BASE`) is what `csdsl diff` takes: a spec directory, a compiled
artifact or a git `REV:PATH`. Each version is replayed by the runtime
(`csdsl_runtime.backtest`) with the full lifecycle into its own in-memory store, on the
same data. Exit status as RUNTIME.md: 0 done, 1 spec or data errors, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from csdsl_runtime.cli import count_argument

FORMATS = ("text", "json", "csv", "html")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from csdsl_runtime.cli import day_argument

    p.add_argument("spec", metavar="SPEC",
                   help="a spec directory, .cs files, a compiled .json, or REV:PATH")
    p.add_argument("--data", required=True, metavar="DIR", help="the data directory")
    p.add_argument("--from", dest="start", required=True, type=day_argument, metavar="D1",
                   help="the first day replayed")
    p.add_argument("--to", dest="end", required=True, type=day_argument, metavar="D2",
                   help="the last day replayed (inclusive)")
    p.add_argument("--against", metavar="BASE",
                   help="replay this version too, and show both side by side")
    p.add_argument("--env", metavar="NAME", dest="environment",
                   help="compile SPEC (and BASE) for this environment")
    p.add_argument("--engine", choices=("duckdb", "interpreter"), default="duckdb")
    p.add_argument("--budget", type=_positive, metavar="N",
                   help="a week in which a rule opens more than N CTAs is a flood")
    p.add_argument("--on-bad-data", choices=("fail", "skip"), default="fail")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("-o", "--output", metavar="FILE", help="write there instead of stdout")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")


_positive = count_argument("CTAs", 1)


def cmd_backtest(args: argparse.Namespace) -> int:
    from csdsl.review.diff_inputs import DiffError, load_side
    from csdsl.source import UsageError

    if args.end < args.start:
        raise UsageError(f"--to {args.end.isoformat()} is before --from "
                         f"{args.start.isoformat()}")
    if (args.end - args.start).days >= 3660:
        raise UsageError("a backtest covers at most ten years of days")
    if not Path(args.data).is_dir():
        raise UsageError(f"--data `{args.data}`: no such directory")
    try:
        head = load_side(args.spec, "SPEC", args.color, args.environment)
        base = None if args.against is None else load_side(
            args.against, "BASE", args.color, args.environment)
    except DiffError as exc:
        if not exc.reported:
            sys.stderr.write(f"csdsl: {exc}\n")
        return 2 if exc.usage else 1
    results = {}
    read: list[tuple[Any, Any]] = []  # (schema, data): read once per schema, both sides
    try:
        for role, side in (("spec", head), ("against", base)):
            if side is None:
                continue
            data = next((d for schema, d in read if schema == side.artifact.schema_), None)
            if data is None:
                data = _read(side.artifact, args)
                if isinstance(data, int):
                    return data
                read.append((side.artifact.schema_, data))
            results[role] = (side.label, _replay(side.artifact, data, args))
    finally:
        if args.engine == "duckdb":
            for _, data in read:
                data.close()  # the frame's connection and scratch directory
    from csdsl.review import backtest_render as R

    text = R.render(args.format, results["spec"], results.get("against"))
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write `{args.output}`: {exc.strerror or exc}") from None
        sys.stderr.write(f"wrote {args.output}\n")
    else:
        sys.stdout.write(text)
    return 0


def _progress(args: argparse.Namespace) -> Any:
    """The day being replayed, on a terminal's stderr (a long backtest is not silent)."""
    if not sys.stderr.isatty():
        return None
    days = (args.end - args.start).days + 1

    def show(day: Any) -> None:
        done = (day - args.start).days
        sys.stderr.write(f"\rreplaying {day.isoformat()} ({done + 1}/{days})")
        if done + 1 == days:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _read(artifact: Any, args: argparse.Namespace) -> Any:
    """The data as `artifact`'s schema reads them, or an exit status after saying why
    not (unreadable, or bad rows with `--on-bad-data fail`)."""
    from csdsl_runtime.data import BadDataError
    from csdsl_runtime.sources import SourceError, read_dataset

    data: Any
    try:
        if args.engine == "duckdb":
            from csdsl_runtime.frame import read_frame

            data = read_frame(args.data, artifact.schema_)
        else:
            data = read_dataset(args.data, artifact.schema_)
    except SourceError as exc:
        sys.stderr.write(f"csdsl: {exc}\n")
        return 1
    if data.bad_rows and args.on_bad_data == "fail":
        if args.engine == "duckdb":
            data.close()
        sys.stderr.write(str(BadDataError(data.bad_rows)) + "\n")
        sys.stderr.write("csdsl: bad data: fix the rows above, or run with "
                         "--on-bad-data skip\n")
        return 1
    return data


def _replay(artifact: Any, data: Any, args: argparse.Namespace) -> Any:
    """One version's `Backtest`."""
    from csdsl_runtime.backtest import backtest

    try:
        return backtest(artifact, data, args.start, args.end, budget=args.budget,
                        on_bad_data=args.on_bad_data, progress=_progress(args))
    except OverflowError:
        from csdsl.source import UsageError

        raise UsageError("the dates of this backtest would be out of range") from None
