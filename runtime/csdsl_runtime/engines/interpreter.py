"""The reference engine: the IR interpreter (`csdsl_runtime.ir`) run account by account."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset
from csdsl_runtime.engines import Results, truth
from csdsl_runtime.ir import compile_expr, missing_values


class InterpreterEngine:
    """Evaluates every condition with compiled closures over the in-memory data set."""

    name = "interpreter"

    def __init__(self, dataset: Dataset, schema: A.DataSchema | None = None) -> None:
        """`schema`: the spec's declarations, for metrics declared `missing V` (without
        one, a day without a row is unknown for every metric)."""
        self.dataset = dataset
        self.missing = missing_values(schema)

    def evaluate(
        self,
        conditions: Mapping[str, Any],
        asof: date,
        accounts: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        ordinal = asof.toordinal()
        all_accounts = self.dataset.accounts
        results: Results = {}
        for key, node in conditions.items():
            fn = compile_expr(node, self.missing)
            ids = all_accounts.keys() if accounts is None or key not in accounts else accounts[key]
            out: dict[str, bool | None] = {}
            for account_id in ids:
                account = all_accounts.get(account_id)
                out[account_id] = None if account is None else truth(fn(account, ordinal, None))
            results[key] = out
        return results
