"""Record a run as a spec test: what the spec does on some data today, to keep it so.

`csdsl test --record` writes, for a data directory and a day, one test that expects
every CTA the run opens (with its owner, due date, task count and title) and no CTA for
every other account, rule by rule. A later change to the spec that changes any of it
fails that test, with the diff: a snapshot test, reviewed like any other file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from csdsl_runtime import artifact as A

__all__ = ["record_test"]

_PER_LINE = 6


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def record_test(artifact: A.Artifact, data: str, day: date, name: str,
                data_as_written: str | None = None) -> str:
    """The `.cstest` text of one test: `data` (the directory read now), `as of DAY`, and
    an expectation per rule and account. `data_as_written` is the path the test names
    (relative to where it will be saved), `data` itself by default."""
    from csdsl_runtime.api import Runtime
    from csdsl_runtime.sources import read_dataset
    from csdsl_runtime.stores import open_store

    dataset = read_dataset(data, artifact.schema_)
    store = open_store("sqlite:///:memory:")
    try:
        Runtime(artifact, dataset, store).run(day)
        ctas = store.list_ctas(status="open")
    finally:
        store.close()
    lines = [f"test {_quote(name)} {{", f"  data {_quote(data_as_written or data)}",
             f"  as of {day.isoformat()}"]
    accounts = list(dataset.accounts)
    for rule in artifact.rules:
        if not rule.enabled:
            continue
        opened = [c for c in ctas if c.rule == rule.name]
        firing = {c.account_id for c in opened}
        planned: set[str] = set()
        for cta in sorted(opened, key=lambda c: (c.account_id, c.objective or "")):
            if cta.plan is not None:
                if cta.account_id in planned:
                    continue  # a plan's objectives are CTAs of its rule: one line per plan
                planned.add(cta.account_id)
                lines.append(f"  expect cta {rule.name} for {_quote(cta.account_id)} "
                             f"{{ plan {cta.plan} }}")
                continue
            owner = f"owner {_quote(cta.owner)}  " if cta.owner else ""
            lines.append(f"  expect cta {rule.name} for {_quote(cta.account_id)} {{ {owner}"
                         f"due {cta.due.isoformat()}  tasks {len(cta.tasks)}  "
                         f"title {_quote(cta.title)} }}")
        quiet = [a for a in accounts if a not in firing]
        lines.extend(_no_cta(rule.name, quiet))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _no_cta(rule: str, accounts: Sequence[str]) -> list[str]:
    return [f"  expect no cta {rule} for "
            + ", ".join(_quote(a) for a in accounts[i:i + _PER_LINE])
            for i in range(0, len(accounts), _PER_LINE)]
