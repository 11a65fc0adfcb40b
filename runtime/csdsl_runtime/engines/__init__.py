"""Evaluation engines: they compute the truth of compiled conditions for many accounts.

Every engine takes the same inputs (IR conditions by key, the data set, the as-of day)
and returns the same outputs (key -> account id -> True / False / None for unknown),
so that the vectorised SQL engine can be checked against the reference interpreter.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from csdsl_runtime import artifact as A

Results = dict[str, dict[str, "bool | None"]]

TRUTH_OF_CODE: dict[int, bool | None] = {1: True, 0: False, -1: None}
"""The values of a truth column (`SqlEngine.evaluate_columns`): 1, 0 and -1 for unknown."""
CODE_OF_TRUTH: dict[bool | None, int] = {v: k for k, v in TRUTH_OF_CODE.items()}
"""The code of a truth value in a truth column."""


class Engine(Protocol):
    """Evaluates conditions (IR nodes by key) as of a day."""

    name: str

    def evaluate(
        self,
        conditions: Mapping[str, Any],
        asof: date,
        accounts: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        """Truth of each condition per account; `accounts` limits a key to some ids."""
        ...


def truth(value: Any) -> bool | None:
    """A condition's value as a truth value: only True fires, None stays unknown."""
    if value is None:
        return None
    return value is True


def conditions_of(artifact: A.Artifact, lifecycle: bool = False) -> dict[str, A.Expr]:
    """The enabled rules' `when` by rule name; with `lifecycle`, also each rule's
    `close when` (`close:RULE`) and success condition (`success:RULE`): the keys a run
    evaluates them under (no rule name has a `:`)."""
    out: dict[str, A.Expr] = {r.name: r.when for r in artifact.rules if r.enabled}
    if lifecycle:
        for rule in artifact.rules:
            if rule.close_when is not None:
                out[f"close:{rule.name}"] = rule.close_when
            if rule.success is not None:
                out[f"success:{rule.name}"] = rule.success.when
    return out
