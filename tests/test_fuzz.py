"""Hostile input never makes csdsl hang, print a traceback, or make the engines disagree.

Hypothesis drives the harness of tests/fuzzkit.py: a few cases per kind in the fast
subset (the `dev` profile), many more in CI (`ci`). Every input that once failed is kept
in tests/corpus/ and replayed here (`spec-*.cs`, `artifact-*.json`, `template-*.txt`).
"""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzkit

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.mark.parametrize("kind", sorted(fuzzkit.CASES))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_input_is_refused_or_runs(kind: str, seed: int) -> None:
    outcome = fuzzkit.run_case(kind, random.Random(seed))
    assert outcome.problem is None, f"{outcome.problem}: {outcome.detail}\n{outcome.text[:2000]}"


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".cs", ".json", ".txt"))


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_the_corpus_stays_fixed(path: Path, tmp_path: Path) -> None:
    """Each input here once crashed, hung or cascaded; now it must give diagnostics (or
    a refusal) and nothing else."""
    from csdsl.driver import check_paths
    from csdsl.fmt import format_text
    from csdsl_runtime import ArtifactError, load_data

    text = path.read_bytes().decode("utf-8", errors="replace")
    with fuzzkit._deadline(fuzzkit.HANG_SECONDS):
        if path.suffix == ".cs":
            spec = tmp_path / "spec"
            spec.mkdir()
            (spec / path.name).write_text(text, encoding="utf-8")
            result = check_paths([spec])
            assert all(d.span.line >= 1 for d in result.diagnostics)
            format_text(path.name, text)
        elif path.suffix == ".json":
            with contextlib.suppress(ArtifactError):
                load_data(json.loads(text))
        else:
            fuzzkit.check_and_render(text)
