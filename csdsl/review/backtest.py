"""`csdsl backtest SPEC --data DIR --from D1 --to D2`: replay past days into memory."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC")


def cmd_backtest(args: argparse.Namespace) -> int:
    raise NotImplementedError("csdsl backtest is being built")
