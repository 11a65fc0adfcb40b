"""Loading artifacts: hosts refuse what they cannot trust or do not understand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csdsl_runtime import ArtifactError, load, load_data
from tests.rtkit import compile_spec_text

RULE = 'rule r { when arr > 0  then cta risk "R" }\n'


@pytest.fixture
def artifact_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(compile_spec_text(tmp_path, RULE).to_json(), encoding="utf-8")
    return path


def test_a_compiled_artifact_loads(artifact_file: Path) -> None:
    artifact = load(artifact_file)
    assert [r.name for r in artifact.rules] == ["r"]
    assert artifact.compute_hash() == artifact.spec_hash


def _edit(path: Path, change) -> dict:  # type: ignore[no-untyped-def,type-arg]
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"][0].update(priority="high"), "spec_hash does not match"),
        (lambda d: d.update(format_version="2.0"), "newer than this runtime"),
        (lambda d: d["rules"][0].update(priority="urgent"), "invalid at rules/0/priority"),
        (lambda d: d.pop("format_version"), "no format_version"),
        (lambda d: d["rules"][0]["when"].update(op="eval"), "invalid at rules/0/when"),
    ],
)
def test_refused_artifacts(artifact_file: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArtifactError, match=message):
        load_data(_edit(artifact_file, change))


def test_a_newer_minor_version_with_the_same_meaning_loads(artifact_file: Path) -> None:
    data = _edit(artifact_file, lambda d: d.update(format_version="1.7"))
    assert load_data(data).format_version == "1.7"


@pytest.mark.parametrize("text", ["", "{", "[]", "null"])
def test_not_an_artifact(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArtifactError):
        load(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        load(tmp_path / "nope.json")
