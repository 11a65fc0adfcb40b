"""A fuzzing harness for hostile input: mutated specs, artifacts, data and templates.

Each `case_*` function takes a random generator, builds one hostile input from the
example spec and data, feeds it to the real code and returns an `Outcome`. What counts
as a failure is the same for every kind: an exception that is not one of the documented
refusals (a traceback a user would see), a case that runs longer than `HANG_SECONDS`,
or the two engines disagreeing on a condition. `tests/test_fuzz.py` runs the kinds under
Hypothesis (few cases in the fast subset, more in CI); `bench/bench_fuzz.py` runs 10,000
and prints what it found. Inputs that once failed are kept in `tests/corpus/`.
"""

from __future__ import annotations

import copy
import json
import random
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ASOF = date(2026, 11, 20)
HANG_SECONDS = 5.0

PIECES = [
    "{", "}", "(", ")", '"', "#", ",", ".", ":", "-", "%", "\\", "\n", " ", "==", "<", "and",
    "or", "not", "when", "then", "task", "rule", "after", "owner", "day", "30d", "9" * 40,
    "2026-13-45", "12.5", "usage", "logins", "x", "é", "\t", "\x00", "{{", "}}", "{%", "%}",
    "account.__class__", "in", "no", "event", "where", "plan", "objective", "playbook",
    "enum(", "true", "due", "cooldown", "1e308", "*", "**", "|center(", "range(", "pool",
    "holidays", '"US-CA"', "business", "on change", "append", "=",
]
TEMPLATE_PIECES = [
    "{{ ", " }}", "{% ", " %}", "account.name", "account.id", "rule.title", "asof", "'a'",
    " * ", " ** ", "10", "1000000000", "|center(", "|indent(", "|wordwrap(", "|format(",
    "|join", "range(", ")", "for i in ", "endfor", "if ", "endif", "set x = ", "x", "~",
    "account.__class__", "|attr(", "'__globals__'", "cycler", "joiner", "lipsum", "(",
    "[", "]", "0", "-1", "9" * 30, "\n", "é", ".", ",", "|length", "|string",
]
JSON_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2.5, -1e12, 1e12, 10**18, 1e308, -1e308, "", "x", "usage",
    "risk", "CSM", "2026-13-01", "2026-02-29", "2026-11-20", "lit", "cmp", "and", [], {},
    "{{ account.name * 1000000000 }}", "\x00", "é" * 10,
]


@dataclass(slots=True)
class Outcome:
    """What one case did: `problem` is None when it behaved (refused or ran cleanly)."""

    kind: str
    problem: str | None = None  # "traceback", "hang" or "disagreement"
    detail: str = ""
    seconds: float = 0.0
    text: str = field(default="", repr=False)  # the input, to keep in the corpus


class _Hang(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _Hang in the main thread after `seconds` (SIGALRM: POSIX only)."""

    def alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _expected() -> tuple[type[BaseException], ...]:
    """The refusals a user sees as a message, not as a traceback."""
    from csdsl.source import UsageError as CompilerUsage
    from csdsl_runtime import ArtifactError, BadDataError, SourceError, StoreError
    from csdsl_runtime.cli import UsageError

    return (ArtifactError, BadDataError, SourceError, StoreError, UsageError, CompilerUsage)


def run_case(kind: str, rng: random.Random) -> Outcome:
    """One case of `kind`, with failures classified."""
    started = time.perf_counter()
    outcome = Outcome(kind)
    try:
        with _deadline(HANG_SECONDS):
            CASES[kind](rng, outcome)
    except _Hang:
        outcome.problem, outcome.detail = "hang", f"over {HANG_SECONDS} s"
    except _expected():
        pass
    except Exception:
        outcome.problem, outcome.detail = "traceback", traceback.format_exc(limit=8)
    outcome.seconds = time.perf_counter() - started
    return outcome


# ---------------------------------------------------------------- seeds (built once)


@cache
def _spec_texts() -> tuple[tuple[str, str], ...]:
    return tuple((p.name, p.read_text(encoding="utf-8"))
                 for p in sorted((EXAMPLES / "spec").glob("*.cs")))


@cache
def _artifact_data() -> str:
    from csdsl.driver import compile_spec

    artifact, _ = compile_spec([EXAMPLES / "spec"])
    assert artifact is not None
    return artifact.to_json()


@cache
def _dataset() -> Any:
    from csdsl_runtime import load_data, read_dataset

    artifact = load_data(json.loads(_artifact_data()))
    return read_dataset(str(EXAMPLES / "data"), artifact.schema_)


@cache
def _sql_engine(schema_json: str) -> Any:
    from csdsl_runtime.artifact import DataSchema
    from csdsl_runtime.engines.sql import SqlEngine

    return SqlEngine(_dataset(), msgspec.json.decode(schema_json, type=DataSchema))


# ---------------------------------------------------------------- mutations


def mutate_text(text: str, rng: random.Random, pieces: list[str] = PIECES) -> str:
    """Insert, delete, replace or duplicate a few pieces anywhere in the text."""
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(text))
        width = rng.randint(1, 40)
        action = rng.random()
        if action < 0.35:
            text = text[:at] + rng.choice(pieces) + text[at:]
        elif action < 0.6:
            text = text[:at] + text[at + width:]
        elif action < 0.85:
            text = text[:at] + rng.choice(pieces) + text[at + width:]
        else:
            text = text[:at] + text[at:at + width] + text[at:]
    return text


def mutations(text: str, pieces: list[str]) -> Any:
    """A Hypothesis strategy: `text` with one to six pieces inserted, spans deleted,
    replaced by a piece or duplicated (shrinks toward fewer, smaller edits)."""
    from hypothesis import strategies as st

    @st.composite
    def mutated(draw: st.DrawFn) -> str:
        out = text
        for _ in range(draw(st.integers(1, 6))):
            at = draw(st.integers(0, len(out)))
            action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
            piece = draw(st.sampled_from(pieces))
            width = draw(st.integers(1, 40))
            if action == "insert":
                out = out[:at] + piece + out[at:]
            elif action == "delete":
                out = out[:at] + out[at + width:]
            elif action == "replace":
                out = out[:at] + piece + out[at + width:]
            else:
                out = out[:at] + out[at:at + width] + out[at:]
        return out

    return mutated()


def mutate_json(data: Any, rng: random.Random) -> None:
    """Replace, drop, duplicate or add one value somewhere in a JSON tree, in place."""
    path: list[tuple[Any, Any]] = []
    node = data
    while isinstance(node, dict | list) and node and rng.random() < 0.85:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return
    parent, key = path[-1]
    action = rng.random()
    if action < 0.55:
        parent[key] = copy.deepcopy(rng.choice(JSON_VALUES))
    elif action < 0.7 and isinstance(parent, dict):
        del parent[key]
    elif action < 0.85 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "name", "op", "days", "value"])] = rng.choice(JSON_VALUES)


# ---------------------------------------------------------------- the kinds


def case_spec(rng: random.Random, outcome: Outcome) -> None:
    """A mutated spec file: check, format and (if clean) compile and load it."""
    from csdsl.driver import build, check_paths
    from csdsl.fmt import format_text
    from csdsl_runtime import load_data

    name, text = rng.choice(_spec_texts())
    text = outcome.text = mutate_text(text, rng)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec"
        spec.mkdir()
        for other, other_text in _spec_texts():
            (spec / other).write_text(text if other == name else other_text, encoding="utf-8")
        result = check_paths([spec])
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1, d
    format_text(name, text)
    artifact = build(result)
    if artifact is not None:  # what the compiler writes, a host loads
        load_data(json.loads(artifact.to_json()))


def case_artifact(rng: random.Random, outcome: Outcome) -> None:
    """A mutated, re-hashed artifact: refused at load, or it runs; the engines agree."""
    from csdsl_runtime import load_data
    from csdsl_runtime.api import Runtime
    from csdsl_runtime.artifact import meaning_hash
    from csdsl_runtime.engines.interpreter import InterpreterEngine
    from csdsl_runtime.stores import open_store

    data = json.loads(_artifact_data())
    for _ in range(rng.randint(1, 4)):
        mutate_json(data, rng)
    if isinstance(data, dict):
        data["spec_hash"] = meaning_hash(data)
    outcome.text = json.dumps(data)
    artifact = load_data(data)
    dataset = _dataset()
    if artifact.schema_ != load_data(json.loads(_artifact_data())).schema_:
        dataset = _subset_for(artifact)
    store = open_store("sqlite:///:memory:")
    try:
        Runtime(artifact, dataset, store).run(ASOF, dry_run=True)
    finally:
        store.close()
    conditions = {r.name: r.when for r in artifact.rules}
    mine = InterpreterEngine(dataset).evaluate(conditions, ASOF)
    if dataset is _dataset():
        theirs = _sql_engine(msgspec.json.encode(artifact.schema_)).evaluate(
            conditions, ASOF)
        for rule, values in mine.items():
            differ = [a for a, v in values.items() if theirs[rule].get(a) != v]
            if differ:
                outcome.problem = "disagreement"
                outcome.detail = (f"rule {rule}: {len(differ)} accounts, e.g. {differ[0]}: "
                                  f"interpreter {values[differ[0]]}, duckdb "
                                  f"{theirs[rule].get(differ[0])}")
                return


def _subset_for(artifact: Any) -> Any:
    """The example data read again under the artifact's own (mutated) schema."""
    from csdsl_runtime import read_dataset

    return read_dataset(str(EXAMPLES / "data"), artifact.schema_)


def case_data(rng: random.Random, outcome: Outcome) -> None:
    """A mutated data directory: bad rows are located, and the run never crashes."""
    from csdsl_runtime import load_data, read_dataset
    from csdsl_runtime.api import Runtime
    from csdsl_runtime.stores import open_store

    artifact = load_data(json.loads(_artifact_data()))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for source in sorted((EXAMPLES / "data").glob("*.csv")):
            lines = source.read_text(encoding="utf-8").split("\n")
            keep = lines[:1] + lines[1:60]  # a small slice: the header and some rows
            text = "\n".join(keep)
            if rng.random() < 0.5:
                text = mutate_text(text, rng, [",", "\n", '"', "", "x", "-1", "1e400", "nan",
                                               "inf", "2026-02-30", "A001", "usage", "\x00",
                                               "true", "é", " ", "9" * 400])
                outcome.text += f"--- {source.name}\n{text}\n"
            (directory / source.name).write_text(text, encoding="utf-8")
        dataset = read_dataset(str(directory), artifact.schema_)
        for row in dataset.bad_rows:
            assert str(row), row  # every bad row says where and why
        store = open_store("sqlite:///:memory:")
        try:
            Runtime(artifact, dataset, store, on_bad_data="skip").run(ASOF, dry_run=True)
        finally:
            store.close()


def case_template(rng: random.Random, outcome: Outcome) -> None:
    """A generated title: checked at compile time; when clean, rendered within bounds."""
    text = "".join(rng.choice(TEMPLATE_PIECES) for _ in range(rng.randint(1, 14)))
    outcome.text = text
    check_and_render(text)


def check_and_render(text: str) -> None:
    """What the compiler and a host do with one title template."""
    from csdsl.ast import Str
    from csdsl.semantic.templates import check_template
    from csdsl.source import Span
    from csdsl_runtime.templates import Renderer

    problems = check_template(Str(text, json.dumps(text), Span("t.cs", 1, 1, 1, 1)),
                              frozenset({"name", "segment", "arr"}))
    if problems:
        return
    rendered = Renderer().render(text, {"account": {"name": "Acme", "id": "A1", "segment":
                                                    "SMB", "arr": 10.0},
                                        "rule": {"name": "r", "title": "R"},
                                        "asof": "2026-11-20"})
    assert len(rendered) <= 100_000, f"rendered {len(rendered)} characters"


CASES: dict[str, Callable[[random.Random, Outcome], None]] = {
    "spec": case_spec,
    "artifact": case_artifact,
    "data": case_data,
    "template": case_template,
}
