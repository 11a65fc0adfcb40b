"""`csdsl run` and `csdsl ctas` (work in progress in this commit)."""

from __future__ import annotations

import argparse
from typing import Any


def add_runtime_commands(sub: Any) -> None:
    p = sub.add_parser("run", help="evaluate the rules as of a day and store CTAs")
    p.add_argument("spec", metavar="SPEC")
    p.set_defaults(needs_artifact=True)


def run_command(args: argparse.Namespace, artifact: Any) -> int:
    raise NotImplementedError("csdsl run is not built yet")
