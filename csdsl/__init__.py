"""csdsl: a declarative rules-and-config language for Customer Success teams.

The public API is small and typed:

- `compile_spec(paths) -> (Artifact | None, diagnostics)`: check and compile a spec;
- `check_spec(paths) -> (SpecModel, diagnostics)`: check a spec and keep what the checker
  learned (every declaration, reference and expression type);
- `format_text(path, text) -> (text | None, diagnostics)`: the canonical layout of a file;
- `Diagnostic`, `Severity`, `Span`: what the checks report, and where.

Names are imported on first use, so that `import csdsl` costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "compile_spec": "csdsl.driver",
    "check_spec": "csdsl.driver",
    "format_text": "csdsl.fmt",
    "Diagnostic": "csdsl.diagnostics",
    "Severity": "csdsl.diagnostics",
    "Span": "csdsl.source",
    "SpecModel": "csdsl.semantic.model",
    "Symbol": "csdsl.semantic.model",
}

__all__ = [
    "Diagnostic",
    "Severity",
    "Span",
    "SpecModel",
    "Symbol",
    "check_spec",
    "compile_spec",
    "format_text",
]

if TYPE_CHECKING:
    from csdsl.diagnostics import Diagnostic, Severity
    from csdsl.driver import check_spec, compile_spec
    from csdsl.fmt import format_text
    from csdsl.semantic.model import SpecModel, Symbol
    from csdsl.source import Span


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'csdsl' has no attribute {name!r}")
    return getattr(import_module(module), name)
