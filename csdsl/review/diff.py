"""`csdsl diff BASE HEAD`: what a spec change does, in meaning and on data.

The review of a `.cs` change answers, like Terraform's plan: which rules, playbooks,
plans and declarations change (compared on the compiled artifacts, `diff_model`), and,
with `--data DIR --as-of DATE`, which CTAs each version would open that day (or, with
`--days N`, over the N days to it) and for whom, per rule and per owner
(`diff_volume`). BASE and HEAD are spec directories, compiled artifacts or git revisions
`REV:PATH` (`diff_inputs`). The exit status is Terraform's
`-detailed-exitcode`: 0 no change, 2 changes, 1 errors, bad usage included (2 would
read as "changes").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from csdsl_runtime.cli import count_argument

FORMATS = ("text", "json", "markdown")
NO_CHANGE, ERROR, CHANGED = 0, 1, 2


def _usage_error(parser: argparse.ArgumentParser) -> Callable[[str], NoReturn]:
    """argparse's `error`, exiting 1 instead of 2: 2 means "changes" here."""
    def error(message: str) -> NoReturn:
        parser.print_usage(sys.stderr)
        parser.exit(ERROR, f"{parser.prog}: error: {message}\n")

    return error


MAX_DAYS = 3660
"""As `csdsl backtest`: at most ten years of days."""
_examples = count_argument("examples", 0)
_days = count_argument("days", 1, MAX_DAYS)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `csdsl diff`; usage errors exit 1."""
    from csdsl_runtime.cli import day_argument

    p.error = _usage_error(p)  # type: ignore[method-assign,assignment]
    p.description = ("Compare two versions of a spec by meaning (rules, playbooks, plans, "
                     "declarations) and, with --data and --as-of, by the CTAs each opens. "
                     "Exit status: 0 no change, 2 changes, 1 errors.")
    p.add_argument("base", metavar="BASE",
                   help="the version before: a spec directory or .cs file, a compiled "
                        ".json artifact, or a git revision REV:PATH (PATH from the top of "
                        "the repository)")
    p.add_argument("head", metavar="HEAD", help="the version after, as BASE")
    p.add_argument("--data", metavar="DIR",
                   help="run both versions on this data directory (with --as-of)")
    p.add_argument("--as-of", type=day_argument, metavar="DATE", dest="asof",
                   help="with --data: the day both versions run as of")
    p.add_argument("--days", type=_days, default=1, metavar="N",
                   help="with --data: replay both versions with the full lifecycle over the "
                        "N days ending at --as-of, after a warm-up day, and count what "
                        "they open in those days (default: 1, a first run on --as-of)")
    p.add_argument("--env", metavar="NAME", dest="environment",
                   help="compile both versions merged with this environment's overlays")
    p.add_argument("--base-env", metavar="NAME",
                   help="the environment of BASE alone (compare two environments: "
                        "`csdsl diff spec spec --base-env staging --head-env production`)")
    p.add_argument("--head-env", metavar="NAME", help="the environment of HEAD alone")
    p.add_argument("--examples", type=_examples, default=3, metavar="N",
                   help="accounts traced per rule and kind of difference (default: 3)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default), json, or markdown for a pull-request comment")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour of the diagnostics of a spec with errors")


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare, print, and exit 0 (no change), 2 (changes) or 1 (errors): never a
    traceback, and never the 2 of `csdsl`'s other bad-usage paths."""
    from csdsl.review.diff_inputs import DiffError

    try:
        return _diff(args)
    except DiffError as exc:
        sys.stderr.write(f"csdsl: {exc}\n")
        return ERROR
    except KeyboardInterrupt:
        raise
    except BrokenPipeError:
        raise
    except Exception as exc:  # a bug: still a message and status 1, not "changes"
        sys.stderr.write(f"csdsl: internal error: {type(exc).__name__}: {exc} (please "
                         "report it with the specs that caused it)\n")
        return ERROR


def _diff(args: argparse.Namespace) -> int:
    from csdsl.review.diff_inputs import DiffError, load_side
    from csdsl.review.diff_model import SpecDiff, compare
    from csdsl.review.diff_render import Report, render_json, render_markdown, render_text

    if (args.data is None) != (args.asof is None):
        missing = "--as-of DATE" if args.asof is None else "--data DIR"
        raise DiffError(f"running both versions on data needs {missing} too")
    days = getattr(args, "days", 1)
    if days != 1 and args.data is None:
        raise DiffError("--days needs --data DIR and --as-of DATE")
    # without an environment option, each environment either side declares is compared
    # too: an overlay is part of what the change does
    every = args.environment is None and args.base_env is None and args.head_env is None
    base_optional = args.environment is not None and args.base_env is None
    head_optional = args.environment is not None and args.head_env is None
    base = load_side(args.base, "BASE", args.color, args.base_env or args.environment,
                     optional=base_optional, every_environment=every)
    head = load_side(args.head, "HEAD", args.color, args.head_env or args.environment,
                     optional=head_optional, every_environment=every)
    if base.missing and head.missing:  # `--env X` names an environment of neither side
        spec, role = (args.head, "HEAD") if head.declares and not base.declares else \
            (args.base, "BASE")
        load_side(spec, role, args.color, args.environment)  # raises, with a "did you mean"
    diff = compare(base.artifact, head.artifact)
    environments: dict[str, SpecDiff] = {}
    for name in dict.fromkeys((*base.declares, *head.declares)) if every else ():
        found = compare(base.environments.get(name, base.artifact),
                        head.environments.get(name, head.artifact))
        # what the base spec's diff says already is not said again
        environments[name] = SpecDiff(tuple(i for i in found.items if i not in diff.items))
    volume = None
    if args.data is not None:
        from csdsl.review.diff_volume import measure

        volume = measure(base.artifact, head.artifact, args.data, args.asof, args.examples,
                         days=days)
    report = Report(
        base=base.label, head=head.label,
        base_hash=base.artifact.spec_hash, head_hash=head.artifact.spec_hash,
        base_environment=getattr(base.artifact, "environment", None),
        head_environment=getattr(head.artifact, "environment", None),
        diff=diff, volume=volume, environments=environments)
    if args.format == "json":
        text = render_json(report)
    elif args.format == "markdown":
        text = render_markdown(report, args.examples)
    else:
        text = render_text(report, args.examples)
    sys.stdout.write(text)
    return CHANGED if report.changed else NO_CHANGE
