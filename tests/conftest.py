"""Shared helpers for the compiler tests, and the Hypothesis profiles.

`HYPOTHESIS_PROFILE=ci` runs the property tests thoroughly; the default, `dev`, runs a
few examples each for the inner loop. A test's own `@settings(max_examples=...)` wins
over either.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "spec"

DATA = """
account {
  name: text
  segment: enum("SMB", "Mid-Market", "Enterprise")
  arr: number
  renewal_date: date
  is_strategic: bool
}
metric usage
metric logins
event nps_response { score: number  comment: text }
event contract_signed
role CSM
role AE
role CS_Leader
role Champion external
"""


def compile_text(tmp_path: Path, text: str, with_data: bool = True):  # type: ignore[no-untyped-def]
    """Compile a one-file spec (plus the shared data declarations); return (artifact, diags)."""
    from csdsl.driver import compile_spec

    spec = tmp_path / "spec"
    spec.mkdir(exist_ok=True)
    (spec / "main.cs").write_text(text, encoding="utf-8")
    if with_data:
        (spec / "data.cs").write_text(DATA, encoding="utf-8")
    return compile_spec([spec])


@pytest.fixture
def compile_snippet(tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(text: str, with_data: bool = True):  # type: ignore[no-untyped-def]
        return compile_text(tmp_path, text, with_data)

    return run
