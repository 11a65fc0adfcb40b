"""Loading artifacts: hosts refuse what they cannot trust or do not understand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from csdsl_runtime import ArtifactError, load, load_data
from csdsl_runtime.artifact import meaning_hash
from csdsl_runtime.verify import VerifyError
from tests.rtkit import ASOF, Data, compile_spec_text

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


def _edit(path: Path, change, rehash: bool = False) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The artifact's data, changed; `rehash` recomputes its hash as a forger would."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    if rehash:
        data["spec_hash"] = meaning_hash(data)
    return data


def _chain(levels: int) -> dict:  # type: ignore[type-arg]
    """`arr > 0 and (arr > 0 and (...))` as the compiler never writes it: unflattened, each
    level four frames of the verifier's walk."""
    node: dict = {"cmp": ">", "left": {"name": "arr", "op": "field"},  # type: ignore[type-arg]
                  "op": "cmp", "right": {"op": "lit", "type": "number", "value": 0.0}}
    for _ in range(levels):
        node = {"op": "and", "args": [node, node["args"][1] if "args" in node else node]}
    return node


@pytest.mark.parametrize(
    ("change", "rehash", "message"),
    [
        (lambda d: d["rules"][0].update(priority="high"), False, "spec_hash does not match"),
        (lambda d: d.update(format_version="2.0"), False, "newer than this runtime"),
        (lambda d: d["rules"][0].update(priority="urgent"), False, "spec_hash does not match"),
        (lambda d: d["rules"][0].update(priority="urgent"), True,
         "invalid at rules/0/priority"),
        (lambda d: d.pop("format_version"), False, "no format_version"),
        (lambda d: d["rules"][0]["when"].update(op="eval"), True, "invalid at rules/0/when"),
        (lambda d: d["rules"][0]["when"]["left"].update(name=7), True,
         "invalid at rules/0/when/left/name"),
        (lambda d: d["rules"][0]["when"]["right"].update(value="0", type="date"), True,
         "rules/r/when/right: `0` is not a date"),
        (lambda d: d["rules"][0].pop("actions"), True,
         "invalid at rules/0: Object missing required field `actions`"),
        (lambda d: d["rules"][0].update(cooldown="30"), True, "invalid at rules/0/cooldown"),
        (lambda d: d.update(format_version="abc"), False, "artifact: bad format_version `abc`"),
        (lambda d: d.update(format_version="\u0661.1"), False, "bad format_version"),
        (lambda d: d.update(format_version="1.1.1"), False, "bad format_version"),
        (lambda d: d.update(format_version=True), False, "bad format_version"),
        (lambda d: d["rules"][0].update(when=_chain(250)), True, "nests too deeply"),
    ],
)
def test_refused_artifacts(artifact_file: Path, change, rehash: bool, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArtifactError, match=message):
        load_data(_edit(artifact_file, change, rehash))


def test_deep_json_is_refused_before_anything_recurses(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    for levels in (257, 450, 50_000):  # past the verifier's limit; past the decoder's
        text = _deep_text(levels)
        if levels < 900:  # a forger re-hashes what json can still write
            data = json.loads(text)
            data["spec_hash"] = meaning_hash(data)
            text = json.dumps(data)
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ArtifactError, match="nests too deeply"):
            load(path)


@pytest.mark.parametrize(
    "form", ["not ({})", "({} or arr > 1)", "(-arr not in (1, 2) or not arr > 3) and ({})"])
def test_the_deepest_condition_the_compiler_writes_loads_and_runs(tmp_path: Path,
                                                                   form: str) -> None:
    from csdsl_runtime import read_dataset
    from csdsl_runtime.engines.interpreter import InterpreterEngine
    from csdsl_runtime.engines.sql import SqlEngine

    condition = "arr > 1"
    for _ in range(48):  # each step nests two levels (parentheses and operator): near 100
        condition = form.format(condition)
    compiled = compile_spec_text(tmp_path, f'rule r {{ when {condition}  then cta risk "R" }}\n')
    artifact = load_data(json.loads(compiled.to_json()))
    data = Data().account("a", arr="5").account("b", arr="0").account("c").write(tmp_path / "d")
    dataset = read_dataset(str(data), artifact.schema_)
    conditions = {"r": artifact.rules[0].when}
    mine = InterpreterEngine(dataset).evaluate(conditions, ASOF)
    assert mine == SqlEngine(dataset, artifact.schema_).evaluate(conditions, ASOF)
    assert len(mine["r"]) == 3


def _deep_text(levels: int) -> str:
    """An artifact-looking JSON text nested `levels` deep (json.dumps would recurse)."""
    inner = '{"op": "lit", "type": "bool", "value": true}'
    rule = '"name": "r", "actions": [{"kind": "cta", "type": "risk", "title": "T"}]'
    return ('{"format_version": "1.0", "schema": {}, "spec_hash": "", "rules": [{' + rule
            + ', "when": ' + '{"op": "not", "arg": ' * levels + inner + "}" * levels + "}]}")


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


def test_the_loader_and_the_published_schema_agree(artifact_file: Path) -> None:
    """The loader validates with the models (linear time); the published JSON Schema says
    the same about every mutated, re-hashed artifact."""
    import random

    import jsonschema

    from csdsl_runtime.artifact import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    original = json.loads(artifact_file.read_text(encoding="utf-8"))
    values = [None, True, 0, -1, 1.5, "", "x", "2026-13-01", [], {}, "lit", "cmp", "risk"]
    rng = random.Random(7)
    disagreements = []
    checked = refused = 0
    for _ in range(400):
        data = json.loads(json.dumps(original))
        for _ in range(rng.randint(1, 3)):
            _mutate(data, rng, values)
        data["spec_hash"] = meaning_hash(data) if isinstance(data, dict) else None
        schema_ok = validator.is_valid(data)
        try:
            load_data(data)
            loader_ok, why, verified = True, "", False
        except ArtifactError as exc:
            loader_ok, why, verified = False, str(exc), isinstance(exc, VerifyError)
        # what the schema cannot say: a date or number literal that is no real value, a
        # format_version that is not major.minor, and all the verifier checks (names
        # resolve, operand types, ranges)
        beyond = verified or re.search(r"`.*` is not a (date|number)$|bad format_version",
                                       why) is not None
        if schema_ok != loader_ok and not (schema_ok and beyond):
            disagreements.append((schema_ok, why, data))
        checked += 1
        refused += not loader_ok
    assert disagreements == []
    assert checked == 400 and 100 < refused < 400  # the mutations reach both outcomes


def _mutate(node: object, rng, values: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Replace, drop or add one value somewhere in the JSON tree."""
    path = []
    while isinstance(node, dict | list) and node and rng.random() < 0.8:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return
    parent, key = path[-1]
    action = rng.random()
    if action < 0.6:
        parent[key] = rng.choice(values)
    elif action < 0.8 and isinstance(parent, dict) and key not in ("format_version",):
        del parent[key]
    elif isinstance(parent, dict):
        parent["extra_" + str(rng.randrange(3))] = rng.choice(values)
