"""csdsl-runtime: load a compiled csdsl spec and open CTAs, tasks and success plans.

The host API is small: `load` an artifact, `read_frame` for the data (DuckDB tables:
the columnar default; `read_dataset` gives the reference interpreter's in-memory data
set), `open_store` for the CTA store, and `Runtime(artifact, data, store).run(asof)`.
This package never imports the compiler (no lark): hosts install only what they run.

Names are imported lazily, so that `csdsl check` (which only needs the vocabulary)
does not pay for the artifact models, Jinja and the stores at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Runtime": "csdsl_runtime.api",
    "Artifact": "csdsl_runtime.artifact",
    "FORMAT_VERSION": "csdsl_runtime.artifact",
    "BadDataError": "csdsl_runtime.data",
    "BadRow": "csdsl_runtime.data",
    "Dataset": "csdsl_runtime.data",
    "ArtifactError": "csdsl_runtime.loader",
    "load": "csdsl_runtime.loader",
    "load_data": "csdsl_runtime.loader",
    "ArtifactSource": "csdsl_runtime.reload",
    "RunReport": "csdsl_runtime.report",
    "SourceError": "csdsl_runtime.sources",
    "read_dataset": "csdsl_runtime.sources",
    "Frame": "csdsl_runtime.frame",
    "read_frame": "csdsl_runtime.frame",
    "DEFAULT_STORE_URL": "csdsl_runtime.stores",
    "StoreError": "csdsl_runtime.stores",
    "open_store": "csdsl_runtime.stores",
}

__all__ = [
    "DEFAULT_STORE_URL",
    "FORMAT_VERSION",
    "Artifact",
    "ArtifactError",
    "ArtifactSource",
    "BadDataError",
    "BadRow",
    "Dataset",
    "Frame",
    "RunReport",
    "Runtime",
    "SourceError",
    "StoreError",
    "load",
    "load_data",
    "open_store",
    "read_dataset",
    "read_frame",
]

if TYPE_CHECKING:
    from csdsl_runtime.api import Runtime
    from csdsl_runtime.artifact import FORMAT_VERSION, Artifact
    from csdsl_runtime.data import BadDataError, BadRow, Dataset
    from csdsl_runtime.frame import Frame, read_frame
    from csdsl_runtime.loader import ArtifactError, load, load_data
    from csdsl_runtime.reload import ArtifactSource
    from csdsl_runtime.report import RunReport
    from csdsl_runtime.sources import SourceError, read_dataset
    from csdsl_runtime.stores import DEFAULT_STORE_URL, StoreError, open_store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'csdsl_runtime' has no attribute {name!r}")
    return getattr(import_module(module), name)
