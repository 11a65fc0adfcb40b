"""The words of the language, without lark: what is reserved and what is contextual.

`tests/test_model.py` holds this list to the grammar: every keyword in
`csdsl.lark` is either reserved here or listed as contextual.
"""

from __future__ import annotations

from typing import Final

DECLARATION_WORDS: Final = ("account", "metric", "event", "role", "playbook", "plan", "rule")

# Words that open a declaration, clause or property: reserved as names.
RESERVED: Final = frozenset(
    {
        *DECLARATION_WORDS, "task", "objective", "for", "calendar", "day", "duration", "after",
        "owner", "type", "priority", "description", "due", "category", "success", "when",
        "then", "reason", "cooldown", "close", "enabled", "within", "where", "and", "or",
        "not", "in", "no", "over", "drops", "rises", "pool", "cta", "enum", "true", "false",
        "external",
    }
)

# Keywords that stay usable as names: the contextual lexer only sees them as keywords
# where the grammar expects one. (None today: every keyword is reserved.)
CONTEXTUAL: Final = frozenset[str]()
