"""csdsl: a declarative rules-and-config language for Customer Success teams."""

__version__ = "0.1.0"
