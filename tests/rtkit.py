"""Helpers for runtime tests: a spec and a data directory built from small tables."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from csdsl_runtime import artifact as A

ASOF = date(2026, 11, 20)  # a Friday

SPEC = """
account {
  name: text
  segment: enum("SMB", "Enterprise")
  arr: number
  renewal_date: date
}
metric usage
event nps_response { score: number }
role CSM
role AE
role Champion external
"""


def compile_spec_text(tmp: Path, text: str, data: str = SPEC) -> A.Artifact:
    """Compile `text` plus data declarations (those above unless given); fail the test on
    diagnostics."""
    from csdsl.driver import compile_spec

    spec = tmp / "spec"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "data.cs").write_text(data, encoding="utf-8")
    (spec / "main.cs").write_text(text, encoding="utf-8")
    artifact, diagnostics = compile_spec([spec])
    errors = [d for d in diagnostics if d.severity == "error"]
    assert artifact is not None and not errors, [d.message for d in diagnostics]
    return artifact


@dataclass
class Data:
    """A data directory under construction; `write(dir)` produces the CSV files."""

    accounts: list[dict[str, str]] = field(default_factory=list)
    team: list[tuple[str, str, str]] = field(default_factory=list)
    metrics: list[tuple[str, str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    pools: list[tuple[str, str]] = field(default_factory=list)

    def account(self, account_id: str, **values: str) -> Data:
        self.accounts.append({"id": account_id, **values})
        return self

    def series(self, account_id: str, values: list[float], metric: str = "usage",
               asof: date = ASOF) -> Data:
        """Daily values ending on the as-of day."""
        for i, value in enumerate(values):
            day = asof - timedelta(days=len(values) - 1 - i)
            self.metrics.append((account_id, metric, day.isoformat(), repr(value)))
        return self

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        columns = ["id", "name", "segment", "arr", "renewal_date"]
        _write(directory / "accounts.csv", columns,
               [[a.get(c, "") for c in columns] for a in self.accounts])
        _write(directory / "team.csv", ["account_id", "role", "user"], self.team)
        _write(directory / "metrics.csv", ["account_id", "metric", "date", "value"], self.metrics)
        _write(directory / "events.csv", ["account_id", "event", "date", "score"], self.events)
        if self.pools:
            _write(directory / "pools.csv", ["pool", "user"], self.pools)
        return directory


def _write(path: Path, header: list[str], rows: list) -> None:  # type: ignore[type-arg]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
