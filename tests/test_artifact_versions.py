"""The fields format 1.2 added are left out at their default: a spec that uses none of
them keeps the bytes and the hash it had under 1.1; one that uses them writes them."""

from __future__ import annotations

import json

import pytest
from msgspec.structs import replace

from csdsl_runtime import artifact as A
from csdsl_runtime.loader import load_data

_RULE = A.Rule(name="r", when=A.Lit(type="bool", value=True),
               actions=(A.CtaAction(type="risk", title="T"),))
_BASE = A.Artifact(spec_hash="", schema_=A.DataSchema(metrics=(A.Metric(name="m"),)),
                   rules=(_RULE,))


def _sealed(artifact: A.Artifact) -> A.Artifact:
    return replace(artifact, spec_hash=artifact.compute_hash())


def test_new_fields_at_their_default_are_not_written() -> None:
    data = json.loads(_sealed(_BASE).to_json())
    assert "limits" not in data and "pools" not in data["schema"]
    assert set(data["rules"][0]).isdisjoint({"max_per_run", "reopen", "at_most"})
    assert "missing" not in data["schema"]["metrics"][0]


def test_new_fields_are_written_hashed_and_read_back() -> None:
    used = replace(
        _BASE, rules=(replace(_RULE, reopen=True, max_per_run=5,
                              at_most=A.Reenrolment(times=2, days=90)),),
        limits=A.Limits(new_ctas_per_run=100),
        schema_=A.DataSchema(metrics=(A.Metric(name="m", missing=0.0),),
                             pools=(A.Pool(name="Support"),)))
    assert _BASE.compute_hash() != used.compute_hash()
    text = _sealed(used).to_json()
    loaded = load_data(json.loads(text))
    assert loaded.rules[0].reopen and loaded.rules[0].at_most == A.Reenrolment(times=2, days=90)
    assert loaded.schema_.metrics[0].missing == 0.0 and loaded.limits is not None
    assert loaded.to_json() == text


def test_business_days_skip_a_regions_public_holidays() -> None:
    from datetime import date

    from csdsl_runtime.dates import add_days

    wednesday = date(2026, 11, 25)  # Thursday the 26th is Thanksgiving in the US
    assert add_days(wednesday, 1, "business") == date(2026, 11, 26)
    assert add_days(wednesday, 1, "business", "US") == date(2026, 11, 27)
    assert add_days(wednesday, 3, "business", "US") == date(2026, 12, 1)
    assert add_days(date(2026, 11, 26), 0, "business", "US") == date(2026, 11, 27)
    assert add_days(wednesday, 1, "calendar", "US") == date(2026, 11, 26)  # days are days
    # a subdivision: Cesar Chavez Day (March 31) is a California state holiday
    assert add_days(date(2027, 3, 30), 1, "business", "US-CA") == date(2027, 4, 1)
    assert add_days(date(2027, 3, 30), 1, "business", "US") == date(2027, 3, 31)
    with pytest.raises(ValueError, match="no public holidays known for `XX`"):
        add_days(wednesday, 1, "business", "XX")


def test_the_verifier_checks_the_1_2_fields() -> None:
    from csdsl_runtime.loader import ArtifactError
    from csdsl_runtime.verify import _Verifier, verify

    bad = replace(
        _BASE, rules=(replace(_RULE, max_per_run=0, at_most=A.Reenrolment(times=0, days=-5)),),
        limits=A.Limits(open_ctas_per_owner=0), holidays="XX",
        schema_=A.DataSchema(metrics=(A.Metric(name="m", missing=float("inf")),),
                             pools=(A.Pool(name="P"), A.Pool(name="P"))))
    with pytest.raises(ArtifactError, match="and 6 more"):
        verify(_sealed(bad))
    checker = _Verifier(_sealed(bad))
    checker.run()
    text = "\n".join(checker.errors)
    for where in ("rules/r/max_per_run", "rules/r/at_most/times", "rules/r/at_most/days",
                  "limits/open_ctas_per_owner", "holidays", "schema/metrics/m/missing",
                  "schema/pools"):
        assert where in text, where
    verify(_sealed(replace(_BASE, holidays="US-CA", limits=A.Limits(new_ctas_per_run=5))))
