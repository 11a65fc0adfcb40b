"""`decide`: the run's decisions as a pure function of state and truth columns.

A table of one account's cases, and a property against the plain per-account reading
of the lifecycle rules (what `Runtime.run` did account by account before `decide`)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csdsl_runtime import artifact as A
from csdsl_runtime.decide import decide
from csdsl_runtime.records import RunState

ASOF = date(2026, 11, 20)
_TRUE = A.Lit(type="bool", value=True)
_CTA = (A.CtaAction(type="risk", title="T"),)


def _rule(name: str = "r", cooldown: int = 0, close: bool = False,
          within: int | None = None, reopen: bool = True,
          at_most: A.Reenrolment | None = None) -> A.Rule:
    """A rule; level-triggered (`reopen`) unless asked, as the cases of cooldowns and
    closes were written before re-arming."""
    return A.Rule(name=name, when=_TRUE, actions=_CTA, cooldown=cooldown,
                  close_when=_TRUE if close else None, reopen=reopen, at_most=at_most,
                  success=A.SuccessCriterion(within=within, when=_TRUE) if within else None)


@pytest.mark.parametrize(("truth", "closed_days_ago", "reopen", "outcome", "rearmed"), [
    (1, 1, False, "not_rearmed", False),  # closed yesterday, still true: held
    (0, 1, False, "nothing", True),  # not true on a later run: re-arms
    (-1, 1, False, "unknown", True),  # unknown is not true either
    (0, 0, False, "nothing", False),  # closed today: not a later run
    (1, 0, False, "not_rearmed", False),
    (1, 1, True, "opens", False),  # reopen while true: no re-arming needed
])
def test_re_arming(truth: int, closed_days_ago: int, reopen: bool, outcome: str,
                   rearmed: bool) -> None:
    state = RunState(disarmed={("r", "a"): ASOF - timedelta(days=closed_days_ago)})
    got = decide([_rule(reopen=reopen)], state, ["a"],
                 {"r": np.array([truth], dtype=np.int8)}, {}, ASOF).rules["r"]
    seen = ("opens" if got.opens.tolist() == [0] else "not_rearmed" if got.not_rearmed
            else "unknown" if got.unknown else "nothing")
    assert (seen, got.rearmed == ["a"]) == (outcome, rearmed)


@pytest.mark.parametrize(("days_ago", "times", "held"), [
    ((5, 40), 2, True),  # two within 90 days: at the limit
    ((5, 100), 2, False),  # one of them older than 90 days
    ((5,), 1, True),
    ((), 1, False),
])
def test_re_enrolment_limit(days_ago: tuple[int, ...], times: int, held: bool) -> None:
    state = RunState(enrolments={("r", "a"): [ASOF - timedelta(days=d) for d in days_ago]})
    rule = _rule(at_most=A.Reenrolment(times=times, days=90))
    got = decide([rule], state, ["a"], {"r": np.array([1], dtype=np.int8)}, {}, ASOF)
    assert (got.rules["r"].at_most, got.rules["r"].opens.size) == ((1, 0) if held else (0, 1))


@pytest.mark.parametrize(
    ("truth", "is_open", "closed_days_ago", "cooldown", "closes", "outcome"),
    [
        (1, False, None, 0, False, "opens"),
        (0, False, None, 0, False, "nothing"),
        (-1, False, None, 0, False, "unknown"),
        (1, True, None, 0, False, "already_open"),
        (1, False, 3, 7, False, "in_cooldown"),
        (1, False, 7, 7, False, "opens"),  # the cooldown ends on its 7th day
        (1, False, 6, 7, False, "in_cooldown"),
        (1, False, 0, 0, False, "opens"),  # level-triggered, no cooldown: reopened today
        (1, True, None, 0, True, "in_cooldown"),  # `close when` closed it in this run
        (0, True, None, 0, True, "nothing"),
    ])
def test_one_account(truth: int, is_open: bool, closed_days_ago: int | None,
                     cooldown: int, closes: bool, outcome: str) -> None:
    state = RunState()
    if is_open:
        state.open_ctas[("r", "a")] = [11]
    if closed_days_ago is not None:
        state.last_closed[("r", "a")] = ASOF - timedelta(days=closed_days_ago)
    later = {"close:r": np.array([1 if closes else 0], dtype=np.int8)}
    got = decide([_rule(cooldown=cooldown, close=closes)], state, ["a"],
                 {"r": np.array([truth], dtype=np.int8)}, later, ASOF)
    counts = got.rules["r"]
    seen = ("opens" if counts.opens.tolist() == [0] else
            "already_open" if counts.already_open else
            "in_cooldown" if counts.in_cooldown else
            "unknown" if counts.unknown else "nothing")
    assert seen == outcome
    assert got.closes == ([("r", "a", [11])] if closes and is_open else [])
    assert counts.fired == (truth == 1)


def test_success_missed_after_its_window_and_reached_within_it() -> None:
    state = RunState(pending_success=[
        (1, "r", "a", ASOF - timedelta(days=30)),  # past 14 days: missed
        (2, "r", "b", ASOF - timedelta(days=14)),  # the last day: reached (true)
        (3, "r", "c", ASOF - timedelta(days=2)),  # false: undecided
        (4, "r", "gone", ASOF),  # not in the data: undecided
        (5, "other", "a", ASOF),  # a rule not in the spec: ignored
    ])
    later = {"success:r": np.array([1, 1, 0], dtype=np.int8)}
    got = decide([_rule(within=14)], state, ["a", "b", "c"], {}, later, ASOF)
    assert got.successes == [(1, False), (2, True)]
    assert (got.rules["r"].success, got.rules["r"].no_success) == (1, 1)


def test_a_column_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="2 entries for 3 accounts"):
        decide([_rule()], RunState(), ["a", "b", "c"],
               {"r": np.array([1, 1], dtype=np.int8)}, {}, ASOF)


def _reference(rules: list[A.Rule], state: RunState, ids: list[str],
               truths: dict[str, np.ndarray], later: dict[str, np.ndarray], asof: date
               ) -> dict[str, tuple[list[int], int, int, int]]:
    """Account by account, as the run did before `decide`: (opens, fired, already
    open, in cooldown) per rule."""
    positions = {a: i for i, a in enumerate(ids)}
    open_ctas = dict(state.open_ctas)
    closed = set()
    for rule in rules:
        for (name, account), _ in list(open_ctas.items()):
            at = positions.get(account)
            if (name == rule.name and rule.close_when is not None and at is not None
                    and later[f"close:{name}"][at] == 1):
                open_ctas.pop((name, account))
                closed.add((name, account))
    out = {}
    for rule in rules:
        opens, fired, already, cooling, held, capped = [], 0, 0, 0, 0, 0
        for at, account in enumerate(ids):
            if truths[rule.name][at] != 1:
                continue
            fired += 1
            key = (rule.name, account)
            if key in open_ctas or key in state.open_plans or key in state.covered:
                already += 1
                continue
            last = state.last_closed.get(key)
            if key in closed or (last is not None and rule.cooldown
                                 and asof < last + timedelta(days=rule.cooldown)):
                cooling += 1
                continue
            if not rule.reopen and key in state.disarmed:
                held += 1  # closed, and not true on any run since
                continue
            if rule.at_most is not None and sum(
                    asof - timedelta(days=rule.at_most.days) < d <= asof
                    for d in state.enrolments.get(key, ())) >= rule.at_most.times:
                capped += 1
                continue
            opens.append(at)
        rearmed = sorted(account for (name, account), day in state.disarmed.items()
                         if name == rule.name and not rule.reopen and account in positions
                         and truths[rule.name][positions[account]] != 1 and day < asof)
        out[rule.name] = (opens, fired, already, cooling, held, capped, rearmed)
    return out


_ACCOUNTS = [f"a{i}" for i in range(12)]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[A.Rule], RunState, dict[str, np.ndarray],
                                     dict[str, np.ndarray]]:
    limits = st.none() | st.builds(A.Reenrolment, times=st.integers(1, 2),
                                   days=st.sampled_from([1, 10, 30]))
    rules = [_rule(f"r{k}", cooldown=draw(st.sampled_from([0, 1, 5, 30])),
                   close=draw(st.booleans()), reopen=draw(st.booleans()),
                   at_most=draw(limits)) for k in range(draw(st.integers(1, 3)))]
    # the state may name accounts no longer in the data
    known = st.sampled_from([*_ACCOUNTS, "gone1", "gone2"])
    names = st.sampled_from([r.name for r in rules])
    state = RunState()
    for key in draw(st.sets(st.tuples(names, known), max_size=10)):
        state.open_ctas[key] = [draw(st.integers(1, 10_000))]
    for key in draw(st.sets(st.tuples(names, known), max_size=4)):
        state.open_plans[key] = [1]
    state.covered = draw(st.sets(st.tuples(names, known), max_size=3))
    for key in draw(st.sets(st.tuples(names, known), max_size=10)):
        state.last_closed[key] = ASOF - timedelta(days=draw(st.integers(0, 40)))
    for key in draw(st.sets(st.tuples(names, known), max_size=8)):
        state.disarmed[key] = ASOF - timedelta(days=draw(st.integers(0, 3)))
    for key in draw(st.sets(st.tuples(names, known), max_size=8)):
        state.enrolments[key] = [ASOF - timedelta(days=d) for d in draw(
            st.sets(st.integers(0, 40), max_size=3))]
    column = st.lists(st.sampled_from([-1, 0, 1]), min_size=len(_ACCOUNTS),
                      max_size=len(_ACCOUNTS)).map(lambda v: np.array(v, dtype=np.int8))
    truths = {r.name: draw(column) for r in rules}
    later = {f"close:{r.name}": draw(column) for r in rules if r.close_when is not None}
    return rules, state, truths, later


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_decide_agrees_with_the_per_account_reading(
        case: tuple[list[A.Rule], RunState, dict[str, np.ndarray], dict[str, np.ndarray]]
) -> None:
    rules, state, truths, later = case
    got = decide(rules, state, _ACCOUNTS, truths, later, ASOF)
    want = _reference(rules, state, _ACCOUNTS, truths, later, ASOF)
    for rule in rules:
        counts = got.rules[rule.name]
        assert (counts.opens.tolist(), counts.fired, counts.already_open,
                counts.in_cooldown, counts.not_rearmed, counts.at_most,
                sorted(counts.rearmed)) == want[rule.name]
    assert not any(r.opens.size and r.opens.dtype != np.int64 for r in got.rules.values())
