"""The words of the language, without lark: what is reserved and what is contextual.

`tests/test_model.py` holds this list to the grammar: every keyword in
`csdsl.lark` is either reserved here or listed as contextual.
"""

from __future__ import annotations

from typing import Final

DECLARATION_WORDS: Final = ("account", "metric", "event", "role", "pool", "playbook", "plan",
                             "rule", "environment")
# Words that open a declaration but stay usable as names (contextual, below).
CONTEXTUAL_DECLARATION_WORDS: Final = ("limit", "holidays")

# Words that open a declaration, clause or property: reserved as names.
RESERVED: Final = frozenset(
    {
        *DECLARATION_WORDS, "task", "objective", "for", "calendar", "day", "duration", "after",
        "owner", "type", "priority", "description", "due", "category", "success", "when",
        "then", "reason", "cooldown", "close", "enabled", "within", "where", "and", "or",
        "not", "in", "no", "over", "drops", "rises", "cta", "enum", "true", "false",
        "external",
    }
)

# Keywords that stay usable as names: the contextual lexer only sees them as keywords
# where the grammar expects one, never where a name can stand. They came with the spec-wide
# limits, `max N per run`, `reopen while true`, `at most N every D` and a metric's
# `missing`: a field or metric named `open` or `run` still works, and `max(usage, 7d)` is
# still the window function in a condition. The spec's `holidays "US-CA"` and a
# playbook's `on change append` followed: an account field `holidays`, `on` or `change`
# keeps working. (The calendar word of a rule's `due 10d business` is a name, like the
# word of `calendar business`: no keyword at all.)
CONTEXTUAL: Final = frozenset(
    {
        *CONTEXTUAL_DECLARATION_WORDS, "new", "ctas", "per", "run", "open", "max", "reopen",
        "while", "at", "most", "every", "missing", "on", "change",
    }
)
