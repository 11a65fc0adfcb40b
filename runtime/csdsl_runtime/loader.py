"""Loading a compiled artifact: format version, integrity, shape and literals, in linear time.

A host must never run an artifact it does not understand or that was edited by hand.
The checks run cheapest first, so a tampered or foreign file is refused before any
deep work: the major `format_version`, the `spec_hash` recomputed over the content,
and only then the artifact models, validated strictly (no coercion: what the published
JSON Schema would refuse is refused) with `op` as the discriminator of every condition
node, so the cost is linear in the size of the artifact. (The JSON Schema itself is published for
other tools; validating with it here was exponential in condition depth: its `oneOf`
tries every alternative at every level.) What neither can say (a `date` literal that is
no date) is refused here too, so that a run never meets it half-way through. JSON that
nests deeper than the parsers' limits (pydantic's about 250 levels; the compiler writes
at most about 200, CS0106) is refused as too deep, never a RecursionError.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from csdsl_runtime.artifact import FORMAT_VERSION, Artifact, Lit, meaning_hash
from csdsl_runtime.ir import literal_value


class ArtifactError(Exception):
    """The artifact cannot be run: unreadable, invalid, too new or tampered with."""


_TOO_DEEP = "{origin}: nests too deeply: not an artifact the compiler wrote"


def _major(version: Any) -> int:
    try:
        return int(str(version).split(".", 1)[0])
    except ValueError:
        raise ArtifactError(f"bad format_version `{version}`") from None


def load_data(data: Any, origin: str = "artifact") -> Artifact:
    """Validate artifact JSON data (already parsed) and build the model."""
    return _load(data, None, origin)


def _load(data: Any, text: str | None, origin: str) -> Artifact:
    if not isinstance(data, dict):
        raise ArtifactError(f"{origin}: not a csdsl artifact (expected a JSON object)")
    version = data.get("format_version")
    if version is None:
        raise ArtifactError(f"{origin}: not a csdsl artifact (no format_version)")
    if _major(version) > _major(FORMAT_VERSION):
        raise ArtifactError(
            f"{origin}: format {version} is newer than this runtime understands "
            f"({FORMAT_VERSION}); upgrade csdsl-runtime"
        )
    try:
        expected = meaning_hash(data)
        if text is None:
            text = json.dumps(data)
    except (TypeError, ValueError) as exc:  # not JSON data (a host passed Python objects)
        raise ArtifactError(f"{origin}: not JSON data ({exc})") from None
    except RecursionError:
        raise ArtifactError(_TOO_DEEP.format(origin=origin)) from None
    if data.get("spec_hash") != expected:
        raise ArtifactError(
            f"{origin}: spec_hash does not match the content: the artifact was changed "
            "after compilation; compile it again from the spec"
        )
    try:
        artifact = Artifact.model_validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid" and "recursion" in first["msg"]:
            raise ArtifactError(_TOO_DEEP.format(origin=origin)) from None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ArtifactError(f"{origin}: invalid at {_json_path(data, first['loc'])}: "
                            f"{first['msg']}{more}") from None
    for where, lit in _literals(artifact):
        try:
            value = literal_value(lit)
            if isinstance(value, float) and not math.isfinite(value):  # 1e400 reads as inf
                raise ValueError(value)
        except (ValueError, OverflowError):
            raise ArtifactError(
                f"{origin}: invalid at {where}: `{lit.value}` is not a {lit.type}"
            ) from None
    from csdsl_runtime.verify import verify  # here: verify imports this module

    verify(artifact, origin)  # references, names, types, day counts, schedules
    return artifact


def _json_path(data: Any, loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as a path in the JSON (`rules/0/when/left/days`): the
    tag a discriminated union puts right after a node's place (`cmp`, `window`) is its
    `op` (or `kind`), not a key, and is left out."""
    parts = []
    node = data
    keys = list(loc)
    while keys:
        key = keys.pop(0)
        parts.append(str(key))
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if in_list or (isinstance(node, dict) and key in node):
            node = node[key]
        else:
            break
        if isinstance(node, dict) and keys and keys[0] in (node.get("op"), node.get("kind")):
            keys.pop(0)
    parts.extend(str(k) for k in keys)
    return "/".join(parts) or "(top)"


def _literals(artifact: Artifact) -> Iterator[tuple[str, Lit]]:
    """Every literal of every rule's conditions, with its place in the JSON."""
    for i, rule in enumerate(artifact.rules):
        yield from _node_literals(rule.when, f"rules/{i}/when")
        if rule.close_when is not None:
            yield from _node_literals(rule.close_when, f"rules/{i}/close_when")
        if rule.success is not None:
            yield from _node_literals(rule.success.when, f"rules/{i}/success/when")


def _node_literals(node: Any, where: str) -> Iterator[tuple[str, Lit]]:
    if isinstance(node, Lit):
        yield where, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _node_literals(getattr(node, name), f"{where}/{name}")
    elif isinstance(node, tuple):
        for i, item in enumerate(node):
            yield from _node_literals(item, f"{where}/{i}")


def load(path: str | Path, verify_key: object = None) -> Artifact:
    """Load and verify a compiled artifact file.

    With `verify_key` (a public key file's path, its PEM, DER or 32 raw bytes, or an
    `Ed25519PublicKey`: see `csdsl_runtime.signing`), an artifact that is unsigned or
    whose signature does not verify is refused, checked first, right after the JSON is
    parsed; a key that cannot be read is a `signing.SigningKeyError`, before the file is
    read."""
    check_signature = None
    if verify_key is not None:
        from csdsl_runtime.signing import signature_check  # cryptography only when asked

        check_signature = signature_check(verify_key)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read `{path}`: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: not JSON ({exc})") from None
    except RecursionError:
        raise ArtifactError(_TOO_DEEP.format(origin=path)) from None
    if check_signature is not None:
        check_signature(data, str(path))
    return _load(data, text, str(path))
