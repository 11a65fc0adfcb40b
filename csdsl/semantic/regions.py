"""The region of `holidays "US-CA"`: a country and a subdivision the `holidays` package knows.

A region is a country code, then optionally `-` and a subdivision, split at the first
`-` the way the runtime splits it (`csdsl_runtime.dates.public_holidays`), and written as
`holidays.list_supported_countries()` names them (`US`, `US-CA`, `DE-BY`, `GB-SCT`; also
the package's aliases, `UK`, `USA`). An unknown country or subdivision is CS0214, with the
code meant when it is a typo, another case or the subdivision's name (`DE-Bayern`).

The package is imported only here, and only for a spec that declares a region: importing
it and listing its countries takes about 0.2 s, which no other spec pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from csdsl import ast
from csdsl.diagnostics import Diagnostic, did_you_mean, error
from csdsl.source import Span

_SHOWN = 20  # subdivisions listed in a help line, at most


@lru_cache(maxsize=1)
def countries() -> Mapping[str, tuple[str, ...]]:
    """Every country code the `holidays` package knows (aliases too), with the codes of
    its subdivisions."""
    import holidays

    return {c: tuple(s) for c, s in holidays.list_supported_countries().items()}


@lru_cache(maxsize=64)
def _subdivision_names(country: str) -> Mapping[str, str]:
    """A country's subdivisions by name (`Bayern` → `BY`), as the package lists them."""
    import holidays

    entity = getattr(holidays, country, None)
    names = getattr(entity, "subdivisions_aliases", None)
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, Mapping) else {}


@lru_cache(maxsize=1)
def _country_names() -> Mapping[str, str]:
    """Country codes by the package's class name (`Germany`, `UnitedStates`): a best
    effort, for a did-you-mean only (an empty map when the package lays them out
    otherwise)."""
    import holidays

    registry = getattr(getattr(holidays, "registry", None), "COUNTRIES", None)
    if not isinstance(registry, Mapping):
        return {}
    found = {}
    for entry in registry.values():
        if isinstance(entry, tuple) and len(entry) >= 2 and all(isinstance(e, str) for e in entry):
            found[entry[0]] = entry[1]
    return found


def _prefix(typed: str, codes: tuple[str, ...]) -> str | None:
    """The longest code the typed text starts with, in any case (`CAL` is `CA`)."""
    lowered = typed.lower()
    found = [c for c in codes if len(c) >= 2 and lowered.startswith(c.lower())]
    return max(found, key=len) if found else None


def _part(text: ast.Str, start: int, end: int) -> Span:
    """The span of `text.value[start:end]` inside the string literal, when it is written
    without escapes (then each character of the value is one of the source); else the
    whole literal."""
    span = text.span
    if text.raw != f'"{text.value}"' or span.line != span.end_line:
        return span
    return Span(span.file, span.line, span.column + 1 + start, span.line,
                span.column + 1 + max(end, start + 1), span.start + 1 + start,
                span.start + 1 + max(end, start + 1))


_REGION_HELP = ("a region is a country code as the `holidays` package names it (`US`, `DE`, "
                "`GB`...), then optionally `-` and a subdivision: `US-CA`, `DE-BY`")


def check_region(text: ast.Str) -> Diagnostic | None:
    """None for a region the `holidays` package knows, else the CS0214 error."""
    region = text.value
    country, dash, subdivision = region.partition("-")
    known = countries()
    if country not in known:
        return _unknown_country(text, country, subdivision if dash else None, known)
    if not dash:
        return None
    codes = known[country]
    if subdivision in codes:
        return None
    at = _part(text, len(country) + 1, len(region))
    named = _subdivision_names(country)
    lowered = {name.lower(): code for name, code in named.items()}
    meant = lowered.get(subdivision.lower()) or _prefix(subdivision, codes) \
        or did_you_mean(subdivision, codes)
    if meant is None:
        close = did_you_mean(subdivision, named)
        meant = named[close] if close is not None else None
    if not codes:
        return error("CS0214", at, f"`{country}` has no subdivisions in `holidays`",
                     f'write the country alone: `holidays "{country}"`',
                     suggestion=country)
    shown = ", ".join(codes[:_SHOWN]) + (", ..." if len(codes) > _SHOWN else "")
    return error("CS0214", at, f"unknown subdivision `{subdivision}` of `{country}` in `holidays`",
                 f"the subdivisions of `{country}`: {shown}",
                 suggestion=f"{country}-{meant}" if meant is not None else None)


def _unknown_country(text: ast.Str, country: str, subdivision: str | None,
                     known: Mapping[str, tuple[str, ...]]) -> Diagnostic:
    at = _part(text, 0, len(country))
    if not country:
        return error("CS0214", text.span, "`holidays` names no country", _REGION_HELP)
    # a typo of a code that has this subdivision first (`UX-CA` is `US-CA`), then of any
    # code, then the package's name of the country (`Germany` is `DE`)
    having = [c for c, subs in known.items() if subdivision in subs] if subdivision else []
    meant = did_you_mean(country, having) if having else None
    if meant is None:
        meant = did_you_mean(country, known)
    if meant is None or len(country) > 3:
        names = _country_names()
        squeezed = country.replace(" ", "").replace("_", "").lower()
        by_name = {name.lower(): code for name, code in names.items()}
        close = did_you_mean(squeezed, by_name)
        if close is not None:
            meant = by_name[close]
    suggestion = None
    if meant is not None:
        suggestion = meant if subdivision is None else f"{meant}-{subdivision}"
    return error("CS0214", at, f"unknown country `{country}` in `holidays`", _REGION_HELP,
                 suggestion=suggestion)


__all__ = ["check_region", "countries"]
