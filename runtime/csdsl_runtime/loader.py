"""Loading a compiled artifact: schema, format version and integrity are all checked.

A host must never run an artifact it does not understand or that was edited by hand:
the JSON is validated against the published schema, a newer major `format_version` is
refused, and the `spec_hash` is recomputed and compared. What the schema cannot say
(a number too large for the model, a `date` literal that is no date) is refused here
too, so that a run never meets it half-way through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from csdsl_runtime.artifact import FORMAT_VERSION, Artifact, Lit, json_schema, meaning_hash
from csdsl_runtime.ir import literal_value


class ArtifactError(Exception):
    """The artifact cannot be run: unreadable, invalid, too new or tampered with."""


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json_schema())


def _major(version: Any) -> int:
    try:
        return int(str(version).split(".", 1)[0])
    except ValueError:
        raise ArtifactError(f"bad format_version `{version}`") from None


def load_data(data: Any, origin: str = "artifact") -> Artifact:
    """Validate artifact JSON data (already parsed) and build the model."""
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
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ArtifactError(f"{origin}: invalid at {where}: {first.message}{more}")
    expected = meaning_hash(data)
    if data.get("spec_hash") != expected:
        raise ArtifactError(
            f"{origin}: spec_hash does not match the content: the artifact was changed "
            "after compilation; compile it again from the spec"
        )
    try:
        artifact = Artifact.model_validate(data)
    except ValidationError as exc:  # what the JSON Schema admits but the models do not
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"]) or "(top)"
        raise ArtifactError(f"{origin}: invalid at {where}: {first['msg']}") from None
    for where, lit in _literals(artifact):
        try:
            literal_value(lit)
        except (ValueError, OverflowError):
            raise ArtifactError(
                f"{origin}: invalid at {where}: `{lit.value}` is not a {lit.type}"
            ) from None
    return artifact


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


def load(path: str | Path) -> Artifact:
    """Load and verify a compiled artifact file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read `{path}`: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: not JSON ({exc})") from None
    return load_data(data, str(path))
