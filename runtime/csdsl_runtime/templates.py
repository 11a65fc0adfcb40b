"""Rendering the user-visible strings of a spec (titles, descriptions) with Jinja.

The compiler has already checked every template's syntax and names; at run time they
render in a `SandboxedEnvironment` with `StrictUndefined`, so that a template can never
reach Python internals and a name that slipped through fails loudly instead of
printing nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment


def _finalize(value: Any) -> Any:
    """Missing values print as nothing, whole numbers without `.0`, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class Renderer:
    """Compiles each distinct template once and renders it for many accounts."""

    def __init__(self) -> None:
        self._env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, finalize=_finalize,
            keep_trailing_newline=True,
        )
        self._cache: dict[str, Template | None] = {}
        self.errors = 0
        self.last_error: str | None = None

    def render(self, text: str, context: dict[str, Any]) -> str:
        """The rendered text; on a render error, the raw text (counted in `errors`)."""
        if "{" not in text:
            return text
        template = self._cache.get(text)
        if template is None and text not in self._cache:
            try:
                template = self._env.from_string(text)
            except TemplateError as exc:
                template = None
                self.last_error = f"`{text}`: {exc}"
            self._cache[text] = template
        if template is None:
            self.errors += 1
            return text
        try:
            return template.render(context)
        except Exception as exc:  # a template error must not stop a run over many accounts
            self.errors += 1
            self.last_error = f"`{text}`: {exc}"
            return text
