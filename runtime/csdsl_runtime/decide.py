"""What a run does, as a pure step over truth columns: `decide(...) -> Decisions`.

Given the store's state before a run (`RunState`), every rule's truth column (1 true,
0 false, -1 unknown, aligned with the account index) and the `close when` and
`success` columns, `decide` says which CTAs close as `resolved`, which `success
within` checks are decided, and for each rule the accounts it opens CTAs or plans for,
with the counts the run report shows. It reads no store and changes nothing: the run
applies the decisions (`Runtime.run`), and a test can call it on columns alone.

Per rule and account, in this order: a true condition with a CTA or plan open (or
covered, see `RunState`) is `already_open`; one whose CTA `close when` closed in this
very run, or whose last close is within `cooldown` days, is `in_cooldown`; one whose
rule has not re-armed since a close (`not_rearmed`: the condition has not been not true
on a run after the close; `reopen while true` rules skip this), or that is at its
re-enrolment limit (`at_most`), is held; any other true condition opens. A condition
that is not true on a run after the close re-arms the rule for the account.

The masks are built once per rule from the state's keys, so the cost is the state's
size plus a few vector operations per rule, not a test per account.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from csdsl_runtime import artifact as A
from csdsl_runtime.records import RunState

Column = npt.NDArray[np.int8]
"""A truth column: 1 true, 0 false, -1 unknown, one entry per account of the index."""


@dataclass(slots=True)
class RuleDecision:
    """One rule's part of a run: whom it opens for, and the counts behind it."""

    evaluated: int = 0
    unknown: int = 0
    fired: int = 0
    already_open: int = 0
    in_cooldown: int = 0
    not_rearmed: int = 0
    at_most: int = 0
    auto_closed: int = 0
    success: int = 0
    no_success: int = 0
    opens: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.empty(0, dtype=np.int64))
    """Positions in the account index to open CTAs (or plans) for, ascending."""
    rearmed: list[str] = field(default_factory=list)
    """Accounts for which the rule re-arms on this run (its condition not true, a day
    after the close that disarmed it)."""


@dataclass(slots=True)
class Decisions:
    """Everything a run changes, before it is written."""

    rules: dict[str, RuleDecision]
    closes: list[tuple[str, str, list[int]]]
    """(rule, account, the open CTA ids) that `close when` resolves, in the state's order."""
    successes: list[tuple[int, bool]]
    """(CTA id, reached) for each `success within` decided now: the missed ones (past
    their window) first, in the state's order, then the reached ones."""


def decide(rules: Sequence[A.Rule], state: RunState, ids: Sequence[str],
           truths: Mapping[str, Column], later: Mapping[str, Column], asof: date,
           index: Mapping[str, int] | None = None) -> Decisions:
    """The run's decisions (see the module doc).

    `ids` are the accounts in the columns' order; `truths` holds the
    enabled rules' columns by rule name, `later` the `close when` and `success` columns
    as `close:RULE` and `success:RULE` (only their open or pending accounts are read).
    `index`: each id's position, when the caller keeps one (a replay's runs share it).
    An account of the state that is not in the index (gone from the data) is neither
    closed nor scored, and is never opened for."""
    n = len(ids)
    if index is None:
        index = {} if state.is_empty() else {account: i for i, account in enumerate(ids)}
    decisions = {rule.name: RuleDecision() for rule in rules}
    closes: list[tuple[str, str, list[int]]] = []
    closed: dict[str, list[int]] = {}  # rule -> positions `close when` closed now
    closing = {r.name: column for r in rules if r.close_when is not None
               and (column := later.get(f"close:{r.name}")) is not None}
    if closing:
        for (name, account_id), cta_ids in state.open_ctas.items():
            column = closing.get(name)
            at = index.get(account_id) if column is not None else None
            if column is not None and at is not None and column[at] == 1:
                closes.append((name, account_id, cta_ids))
                closed.setdefault(name, []).append(at)
    for name, ats in closed.items():
        decisions[name].auto_closed = len(ats)
    successes = _successes(rules, state, index, later, asof, decisions)
    by_rule = _positions_by_rule(state, index, closed, asof,
                                 {r.name for r in rules if r.cooldown})
    disarmed: dict[str, list[tuple[str, date]]] = {}
    for (name, account_id), day in state.disarmed.items():
        disarmed.setdefault(name, []).append((account_id, day))
    for name, ats in closed.items():  # closed by `close when` in this very run
        disarmed.setdefault(name, []).extend((ids[at], asof) for at in ats)
    for rule in rules:
        column = truths.get(rule.name)
        if column is None:
            continue
        if len(column) != n:
            raise ValueError(f"rule `{rule.name}`: a truth column of {len(column)} entries "
                             f"for {n} accounts")
        got = decisions[rule.name]
        got.evaluated = n
        got.unknown = int(np.count_nonzero(column == -1))
        fired = column == 1
        got.fired = int(np.count_nonzero(fired))
        held, last, closed_now = by_rule.get(rule.name, _NOTHING)
        is_open = _mask(n, held)
        resting = _mask(n, closed_now)
        if rule.cooldown and last[0].size:
            ends = last[1] + rule.cooldown  # the ordinal day each cooldown ends
            resting[last[0][asof.toordinal() < ends]] = True
        already = fired & is_open
        cooling = fired & ~is_open & resting
        free = fired & ~is_open & ~resting
        if not rule.reopen:
            free = _rearm(rule.name, column, free, disarmed.get(rule.name, ()), index,
                          asof, got)
        if rule.at_most is not None:
            full = _mask(n, _enrolled(rule, state, index, asof))
            got.at_most = int(np.count_nonzero(free & full))
            free &= ~full
        got.already_open = int(np.count_nonzero(already))
        got.in_cooldown = int(np.count_nonzero(cooling))
        got.opens = np.flatnonzero(free).astype(np.int64)
    return Decisions(decisions, closes, successes)


def _rearm(rule: str, column: Column, free: npt.NDArray[np.bool_],
           disarmed: Sequence[tuple[str, date]], index: Mapping[str, int], asof: date,
           got: RuleDecision) -> npt.NDArray[np.bool_]:
    """Edge-triggered opening: an account whose CTA or plan of the rule closed opens no
    new one until the condition has been not true (false or unknown) on a run after the
    close day; such a run re-arms it (`got.rearmed`). `free` without the accounts still
    disarmed (counted in `got.not_rearmed`)."""
    if not disarmed:
        return free
    held: list[int] = []
    for account_id, closed in disarmed:
        at = index.get(account_id)
        if at is None:
            continue
        if column[at] != 1 and closed < asof:
            got.rearmed.append(account_id)
        else:
            held.append(at)
    blocked = free & _mask(len(free), np.asarray(held, dtype=np.int64))
    got.not_rearmed = int(np.count_nonzero(blocked))
    return free & ~blocked


def _enrolled(rule: A.Rule, state: RunState, index: Mapping[str, int], asof: date
              ) -> _Held:
    """The accounts at a rule's re-enrolment limit: `times` CTAs or plans created on
    distinct days within the last `days` days (this run's would be one more)."""
    limit = rule.at_most
    assert limit is not None
    since = asof - timedelta(days=limit.days)
    full = [at for (name, account_id), days in state.enrolments.items()
            if name == rule.name and (at := index.get(account_id)) is not None
            and sum(since < day <= asof for day in days) >= limit.times]
    return np.asarray(full, dtype=np.int64)


_Held = npt.NDArray[np.int64]
_NOTHING: tuple[_Held, tuple[_Held, _Held], _Held] = (
    np.empty(0, dtype=np.int64), (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)),
    np.empty(0, dtype=np.int64))


def _mask(n: int, positions: _Held) -> npt.NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask


def _positions_by_rule(state: RunState, index: Mapping[str, int],
                       closed: Mapping[str, list[int]], asof: date,
                       cooling: Collection[str]
                       ) -> dict[str, tuple[_Held, tuple[_Held, _Held], _Held]]:
    """Per rule: the positions it holds open (CTAs but those closed now, plans,
    covered), its last closes as (positions, ordinal days) for the rules with a
    cooldown (`cooling`: no other reads them, and they are most of a long history's
    state), and the positions closed now."""
    held: dict[str, list[int]] = {}
    gone = {(name, at) for name, ats in closed.items() for at in ats}
    for keys in (state.open_ctas, state.open_plans, state.covered):
        skip = gone if keys is state.open_ctas else ()
        for name, account_id in keys:
            at = index.get(account_id)
            if at is not None and (not skip or (name, at) not in skip):
                held.setdefault(name, []).append(at)
    last: dict[str, tuple[list[int], list[int]]] = {}
    for (name, account_id), day in state.last_closed.items() if cooling else ():
        if name not in cooling:
            continue
        at = index.get(account_id)
        if at is not None:
            ats, days = last.setdefault(name, ([], []))
            ats.append(at)
            days.append(day.toordinal())
    out: dict[str, tuple[_Held, tuple[_Held, _Held], _Held]] = {}
    for name in {*held, *last, *closed}:
        ats, days = last.get(name, ([], []))
        out[name] = (np.asarray(held.get(name, []), dtype=np.int64),
                     (np.asarray(ats, dtype=np.int64), np.asarray(days, dtype=np.int64)),
                     np.asarray(closed.get(name, []), dtype=np.int64))
    return out


def _successes(rules: Sequence[A.Rule], state: RunState, index: Mapping[str, int],
               later: Mapping[str, Column], asof: date,
               decisions: dict[str, RuleDecision]) -> list[tuple[int, bool]]:
    """`success within D when C`: missed once D days have passed since the CTA was
    created, reached on a run within them where C is true for its account."""
    scored = {r.name: r.success for r in rules if r.success is not None}
    missed: list[tuple[int, bool]] = []
    reached: list[tuple[int, bool]] = []
    for cta_id, name, account_id, created in state.pending_success:
        success = scored.get(name)
        if success is None:
            continue
        if asof > created + timedelta(days=success.within):
            missed.append((cta_id, False))
            decisions[name].no_success += 1
            continue
        column = later.get(f"success:{name}")
        at = index.get(account_id)
        if column is not None and at is not None and column[at] == 1:
            reached.append((cta_id, True))
            decisions[name].success += 1
    return missed + reached
