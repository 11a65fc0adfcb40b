"""`csdsl diff BASE HEAD`: what a spec change does, in meaning and on data."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", metavar="BASE")
    p.add_argument("head", metavar="HEAD")


def cmd_diff(args: argparse.Namespace) -> int:
    raise NotImplementedError("csdsl diff is being built")
