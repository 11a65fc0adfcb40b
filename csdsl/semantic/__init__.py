"""The semantic phase: parsed files → `SpecModel` and diagnostics, by declared passes."""

from csdsl.semantic.model import SpecModel, Symbol, Type
from csdsl.semantic.passes import PASSES, analyze

__all__ = ["PASSES", "SpecModel", "Symbol", "Type", "analyze"]
