"""Rendering the user-visible strings of a spec (titles, descriptions) with Jinja, bounded.

The compiler has already checked every template's syntax, names and sizes (CS0500,
CS0501, CS0502); at run time they render in a sandbox with `StrictUndefined`, so that a
template can never reach Python internals and a name that slipped through fails loudly
instead of printing nothing. An artifact may be hand-made, so the runtime does not rely
on the compiler for bounds either:

- the same size checks as the compiler's CS0502 (`unbounded`) refuse a template before
  it ever renders;
- it renders in Jinja's immutable sandbox without globals (no `range`, `lipsum`,
  `namespace`...), without constant folding, and may call only the methods of
  SAFE_METHODS and SIZED_METHODS;
- while it renders, every operation that can make text, lists or numbers grow (`*`,
  `**`, `%`, `+`, `~`, list and dict literals, filters, method calls, `str.format`) is
  checked before it runs, so that no value prints longer than `VALUE_LIMIT` characters;
- every loop step, call, attribute read and filter checks a per-render deadline of
  `RENDER_SECONDS`; a template that runs out of time for `STRIKES` accounts is not
  rendered again in the run;
- the output is read piece by piece and cut at the field's limit: `TITLE_LIMIT` for
  titles, `DESCRIPTION_LIMIT` for descriptions.

A template that fails keeps its text as written (cut to the limit), and a text longer
than its limit is cut to it, ending in `…`: the CTA, task or plan is still opened. Both
are counted and the first few listed, with the rule and the account, in the run report.
"""

from __future__ import annotations

import math
import re
import string
import time
import types
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from datetime import date
from functools import update_wrapper, wraps
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from jinja2 import StrictUndefined, Template, TemplateError, TemplateRuntimeError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from markupsafe import Markup

from csdsl_runtime.report import TemplateProblem
from csdsl_runtime.vocabulary import ACCOUNT_ID_ATTRIBUTE, RULE_TEMPLATE_ATTRIBUTES, TEMPLATE_ROOTS

if TYPE_CHECKING:
    from csdsl_runtime.report import RunReport

TITLE_LIMIT: Final = 500
"""Characters in a rendered CTA, task, objective or plan title."""
DESCRIPTION_LIMIT: Final = 10_000
"""Characters in a rendered task description (and in a CTA's reason)."""
LITERAL_LIMIT: Final = 1_000
"""The largest size a template may write: widths, counts, lengths, format widths."""
VALUE_LIMIT: Final = 1_000_000
"""Characters (or items) any one value may reach while a template renders."""
HEAVY_INPUT: Final = 20_000
"""The longest text `wordwrap` and `urlize` take (tabs count 8): their cost is in one
call, which the render deadline cannot interrupt."""
INTEGER_BITS: Final = 100_000
"""Bits any one integer may reach while a template renders (about 30,000 digits)."""
RENDER_SECONDS: Final = 0.25
"""The time one render of one template may take."""
STRIKES: Final = 3
"""Renders that run out of time before a template is no longer rendered in the run."""
LISTED: Final = 10
"""Template problems listed in the run report (all are counted)."""
MARKER: Final = "…"
"""Ends a text cut to its limit."""

_REASON_CHARS = 200
_ACCOUNT_ROOT, _RULE_ROOT, _ASOF_ROOT = TEMPLATE_ROOTS
_RULE_NAME = RULE_TEMPLATE_ATTRIBUTES[0]


class TemplateLimitError(TemplateRuntimeError):
    """A template asked for more than its bounds allow (a size or the time)."""


class RenderTimeout(TemplateLimitError):
    """A template ran longer than `RENDER_SECONDS`."""


def cut(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters; else its start, ending in `…`."""
    return text if len(text) <= limit else text[: limit - len(MARKER)] + MARKER


# ------------------------------------------------------------ what a template may ask for

_Argument = tuple[int, str, str, str]
"""(position, keyword, kind, label): kind `size` (a number literal up to LITERAL_LIMIT),
`size_or_text` (that, or a text literal up to LITERAL_LIMIT characters) or `literal`."""

SIZED_FILTERS: Final[dict[str, tuple[_Argument, ...]]] = {
    "center": ((0, "width", "size", "width"),),
    "indent": ((0, "width", "size_or_text", "width"),),
    "wordwrap": ((0, "width", "size", "width"), (2, "wrapstring", "literal", "wrap string")),
    "truncate": ((0, "length", "size", "length"), (3, "leeway", "size", "leeway")),
    "batch": ((0, "linecount", "size", "count"),),
    "slice": ((0, "slices", "size", "count"),),
    "tojson": ((0, "indent", "size", "indent"),),
    "join": ((0, "d", "literal", "separator"),),
    "replace": ((1, "new", "literal", "replacement"),),
}
"""Jinja filters whose arguments set the size of their result."""

SIZED_METHODS: Final[dict[str, tuple[_Argument, ...]]] = {
    "center": ((0, "width", "size", "width"),),
    "ljust": ((0, "width", "size", "width"),),
    "rjust": ((0, "width", "size", "width"),),
    "zfill": ((0, "width", "size", "width"),),
    "expandtabs": ((0, "tabsize", "size", "tab size"),),
    "replace": ((1, "new", "literal", "replacement"),),
    "join": (),  # the separator is the text the method is called on: a literal
    "format": (),  # the format is the text the method is called on: a literal
    "format_map": (),
}
"""Methods of text whose arguments (or whose text) set the size of their result."""

SAFE_METHODS: Final = frozenset({
    # text
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
    "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
    "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper",
    # mappings
    "get", "items", "keys", "values",
    # numbers
    "as_integer_ratio", "bit_count", "bit_length", "conjugate", "is_integer",
    # dates
    "ctime", "isocalendar", "isoformat", "isoweekday", "strftime", "toordinal", "weekday",
})
"""Methods a template may call that keep their result about the size of their input."""


class Unbounded(NamedTuple):
    """Something in a template that could make its output or its run time unbounded."""

    message: str
    help: str
    needle: str | None
    """The word in the template to point at, when there is one."""
    callee: str | None = None
    """For a call of a plain name: that name (the compiler reports unknown names itself)."""


_SIZE_HELP = f"sizes in templates are number literals up to {LITERAL_LIMIT:,}, so that the " \
             "text stays small"
_LARGE_HELP = f"sizes in templates are at most {LITERAL_LIMIT:,}"
_WIDTH_HELP = f"widths and precisions in templates are at most {LITERAL_LIMIT:,}"
_FORMAT_HELP = "a format read from data could ask for any width; write it out, as in " \
               "`\"%.1f\" % account.arr`"
_PRINTF = re.compile(
    r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?[diouxXeEfFgGcrsa%]")
_DIGITS = re.compile(r"\d+")


def _too_large(digits: str) -> bool:
    digits = digits.lstrip("0")
    return len(digits) > len(str(LITERAL_LIMIT)) or int(digits or "0") > LITERAL_LIMIT


def printf_problems(text: str) -> list[Unbounded]:
    """Widths and precisions of a `%` format that a template may not use."""
    found = []
    for spec in _PRINTF.finditer(text):
        for part in spec.groups():
            if part == "*":
                found.append(Unbounded(f"a `*` width in `{spec.group()}` is not allowed in a "
                                       "template", f"write the width itself, at most "
                                       f"{LITERAL_LIMIT:,}", spec.group()))
            elif part and _too_large(part):
                found.append(Unbounded(f"the width `{part}` in `{spec.group()}` is more than a "
                                       "template allows", _WIDTH_HELP, part))
    return found


def format_problems(text: str) -> list[Unbounded]:
    """Format specifications of a `str.format` text that a template may not use."""
    found = []
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:  # not a valid format: rendering fails and says so
        return []
    for _, name, spec, _ in fields:
        if name is None or not spec:
            continue
        if "{" in spec:
            found.append(Unbounded(f"a nested field in `{{{name}:{spec}}}` is not allowed in a "
                                   "template", f"write the width itself, at most "
                                   f"{LITERAL_LIMIT:,}", "{"))
            continue
        found.extend(Unbounded(f"the width `{d}` in `{{{name}:{spec}}}` is more than a "
                               "template allows", _WIDTH_HELP, d)
                     for d in _DIGITS.findall(spec) if _too_large(d))
    return found


def _number(node: nodes.Node) -> int | float | None:
    """The value of a number literal (`5`, `-5`, `2.5`); None for anything else."""
    sign = 1
    while isinstance(node, (nodes.Neg, nodes.Pos)):
        sign = -sign if isinstance(node, nodes.Neg) else sign
        node = node.node
    if isinstance(node, nodes.Const) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return sign * node.value
    return None


def _argument(args: list[nodes.Expr], kwargs: list[Any], position: int,
              keyword: str) -> nodes.Expr | None:
    for kw in kwargs:  # nodes.Keyword (typed as nodes.Pair in Jinja's Filter)
        if isinstance(kw, nodes.Keyword) and kw.key == keyword:
            return kw.value
    return args[position] if position < len(args) else None


def _argument_problems(name: str, spec: tuple[_Argument, ...], args: list[nodes.Expr],
                       kwargs: list[Any], needle: str | None = None) -> list[Unbounded]:
    """Size arguments of filter or method `name` that are not small literals."""
    word = needle or name
    found = []
    for position, keyword, kind, label in spec:
        value = _argument(args, kwargs, position, keyword)
        if value is None:
            continue
        number = _number(value)
        if kind == "literal":
            if not isinstance(value, nodes.Const) and number is None:
                found.append(Unbounded(
                    f"the {label} of `{name}` must be a literal in a template",
                    "a text read from data, repeated for every line or item, can grow without "
                    "bound", word))
        elif number is not None:
            if abs(number) > LITERAL_LIMIT:
                shown = str(int(number)) if float(number).is_integer() else repr(number)
                found.append(Unbounded(f"the {label} of `{name}` is `{shown}`, more than a "
                                       "template allows", _LARGE_HELP, shown.lstrip("-")))
        elif kind == "size_or_text" and isinstance(value, nodes.Const) \
                and isinstance(value.value, str):
            if len(value.value) > LITERAL_LIMIT:
                found.append(Unbounded(f"the {label} of `{name}` is longer than a template "
                                       "allows", _LARGE_HELP, word))
        else:
            found.append(Unbounded(f"the {label} of `{name}` must be a number literal in a "
                                   "template", _SIZE_HELP, word))
    return found


def _filter_problems(name: str, value: nodes.Node | None, args: list[nodes.Expr],
                     kwargs: list[Any], dynamic: bool) -> list[Unbounded]:
    sized = name in SIZED_FILTERS or name in ("format", "map")
    if dynamic and sized:
        return [Unbounded(f"`{name}` with `*` or `**` arguments is not allowed in a template",
                          "write its arguments out, sizes as number literals up to "
                          f"{LITERAL_LIMIT:,}", name)]
    if name == "format":
        if isinstance(value, nodes.Const) and isinstance(value.value, str):
            return printf_problems(value.value)
        return [Unbounded("`format` needs a literal format text in a template", _FORMAT_HELP,
                          name)]
    if name == "map" and args:  # map("center", 80) applies `center` to every item
        first = args[0]
        if isinstance(first, nodes.Const) and isinstance(first.value, str):
            return _filter_problems(first.value, None, args[1:], kwargs, dynamic)
        return [Unbounded("the filter of `map` must be named by a literal in a template",
                          "write the filter's name, as in `map(\"upper\")`", name)]
    return _argument_problems(name, SIZED_FILTERS.get(name, ()), args, kwargs)


def _call_problems(call: nodes.Call) -> list[Unbounded]:
    target = call.node
    if not isinstance(target, nodes.Getattr):
        if isinstance(target, nodes.Name):
            return [Unbounded(f"calling `{target.name}` is not allowed in a template",
                              "templates may call methods of a value, as in "
                              "`account.name.upper()`", target.name, target.name)]
        return [Unbounded("only methods such as `.upper()` can be called in a template",
                          "templates may call methods of a value, as in "
                          "`account.name.upper()`", None)]
    method = target.attr
    shown = f".{method}()"
    if method in SIZED_METHODS:
        if call.dyn_args is not None or call.dyn_kwargs is not None:
            return [Unbounded(f"`{shown}` with `*` or `**` arguments is not allowed in a "
                              "template", "write its arguments out, sizes as number literals "
                              f"up to {LITERAL_LIMIT:,}", method)]
        receiver = target.node
        literal = receiver.value if isinstance(receiver, nodes.Const) else None
        if method in ("format", "format_map"):
            if isinstance(literal, str):
                return format_problems(literal)
            return [Unbounded(f"`{shown}` needs a literal format text in a template",
                              "a format read from data could ask for any width; write it "
                              "out, as in `\"{:.1f}\".format(account.arr)`", method)]
        if method == "join" and not isinstance(literal, str):
            return [Unbounded(f"the separator of `{shown}` must be a text literal in a "
                              "template", "a text read from data, repeated between items, can "
                              "grow without bound", method)]
        return _argument_problems(shown, SIZED_METHODS[method], call.args, call.kwargs,
                                  method)
    if method in SAFE_METHODS:
        return []
    return [Unbounded(f"calling `{shown}` is not allowed in a template",
                      "templates may call methods that keep text small, such as `.upper()`, "
                      "`.strip()` or `.replace()`; filters do the rest", method)]


def unbounded(tree: nodes.Template) -> list[Unbounded]:
    """What in a parsed template could make its output or its run time unbounded.

    Conservative by design: `*` only between two number literals, no `**`, `%` and
    `format` only with a literal format, sizes (widths, counts, lengths) only as number
    literals up to LITERAL_LIMIT, and only the methods of SAFE_METHODS and SIZED_METHODS.
    """
    found: list[Unbounded] = []
    kinds = (nodes.Mul, nodes.Pow, nodes.Mod, nodes.Filter, nodes.Call)
    for node in tree.find_all(kinds):
        if isinstance(node, nodes.Pow):
            found.append(Unbounded("`**` is not allowed in a template",
                                   "a power can make a number or a text grow without bound; "
                                   "write the value itself", "**"))
        elif isinstance(node, nodes.Mul):
            if _number(node.left) is None or _number(node.right) is None:
                found.append(Unbounded("`*` can repeat text without bound in a template",
                                       "templates may use `*` between two number literals "
                                       "only; write repeated text out", "*"))
        elif isinstance(node, nodes.Mod):
            left = node.left
            if isinstance(left, nodes.Const) and isinstance(left.value, str):
                found.extend(printf_problems(left.value))
            elif _number(left) is None:
                found.append(Unbounded("the left side of `%` must be a literal in a template",
                                       _FORMAT_HELP, "%"))
        elif isinstance(node, nodes.Filter):
            found.extend(_filter_problems(node.name, node.node, node.args, node.kwargs,
                                          node.dyn_args is not None
                                          or node.dyn_kwargs is not None))
        elif isinstance(node, nodes.Call):
            found.extend(_call_problems(node))
    return found


# ------------------------------------------------------------ bounds while rendering

_Check = Callable[["BoundedEnvironment", Any, tuple[Any, ...], dict[str, Any]],
                  tuple[Any, tuple[Any, ...]]]
"""A check run before a filter: it may raise, and returns the (value, args) to use."""


def _fits(size: float, what: str = "a value") -> None:
    if size > VALUE_LIMIT:
        raise TemplateLimitError(f"{what} would be longer than {VALUE_LIMIT:,} characters")


def _get(args: tuple[Any, ...], kwargs: dict[str, Any], position: int, keyword: str,
         default: Any = None) -> Any:
    if keyword in kwargs:
        return kwargs[keyword]
    return args[position] if position < len(args) else default


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _check_spec(spec: str) -> None:
    for digits in _DIGITS.findall(spec):
        if _too_large(digits):
            raise TemplateLimitError(f"a format width of more than {LITERAL_LIMIT:,}")


def _check_printf(env: BoundedEnvironment, fmt: str, values: Any) -> None:
    """Refuses a `%` format with `*` or too large widths, or a result too long."""
    for problem in printf_problems(fmt):
        raise TemplateLimitError(problem.message)
    items = values.values() if isinstance(values, dict) else (
        values if isinstance(values, tuple) else (values,))
    largest = max((env.weight(v) for v in items), default=0)
    _fits(len(fmt) + fmt.count("%") * (largest + LITERAL_LIMIT), "the formatted text")


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    _fits(len(text) + times * max(len(new) - len(old), 0), "the replaced text")


def _check_join(env: BoundedEnvironment, items: list[Any], separator: Any) -> None:
    _fits(sum(env.weight(i) for i in items) + len(items) * env.weight(separator),
          "the joined text")


def _center(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    _fits(max(env.weight(value), _int(_get(args, kwargs, 0, "width", 80))))
    return value, args


def _indent(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    width = _get(args, kwargs, 0, "width", 4)
    each = env.weight(width) if isinstance(width, str) else _int(width)
    env.weight(value)
    text = str(value)
    _fits(len(text) + (text.count("\n") + 1) * each)
    return value, args


def _heavy_input(name: str, text: str, size: int) -> None:
    """Refuse a text too long for a filter whose one call runs long (no deadline tick
    inside it): textwrap on 130,000 tabs wrapped at 1 took 8 s."""
    if size > HEAVY_INPUT:
        raise TemplateLimitError(f"`{name}` of a text longer than {HEAVY_INPUT:,} "
                                 "characters (titles and descriptions show less)")


def _wordwrap(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    size = env.weight(value)
    text = str(value)
    _heavy_input("wordwrap", text, len(text) + 7 * text.count("\t"))  # tabs expand to 8
    _fits(size + (size + 1) * env.weight(_get(args, kwargs, 2, "wrapstring") or "\n"))
    return value, args


def _urlize(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    text = str(value)
    _heavy_input("urlize", text, len(text))
    return value, args


def _counted(keyword: str) -> _Check:
    """batch(count, fill) and slice(count, fill): lists of `count` items, padded with fill."""

    def check(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
        items = value if isinstance(value, Sized) else list(value)
        count = abs(_int(_get(args, kwargs, 0, keyword, 0)))
        fill = _get(args, kwargs, 1, "fill_with")
        _fits(env.weight(items) + count * (env.weight(fill) + 1), "the list")
        return items, args

    return check


def _tojson(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    if _int(_get(args, kwargs, 0, "indent")) > LITERAL_LIMIT:
        raise TemplateLimitError(f"an indent of more than {LITERAL_LIMIT:,}")
    return value, args


def _join(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    items = value if isinstance(value, list) else list(value)
    _check_join(env, items, _get(args, kwargs, 0, "d", ""))
    return items, args


def _replace(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    env.weight(value)
    _check_replace(str(value), _get(args, kwargs, 0, "old"), _get(args, kwargs, 1, "new"),
                   _get(args, kwargs, 2, "count"))
    return value, args


def _format(env: BoundedEnvironment, value: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    if isinstance(value, str):
        _check_printf(env, value, kwargs or args)
    return value, args


_FILTER_CHECKS: Final[dict[str, _Check]] = {
    "center": _center, "indent": _indent, "wordwrap": _wordwrap, "urlize": _urlize,
    "batch": _counted("linecount"), "slice": _counted("slices"), "tojson": _tojson,
    "join": _join, "replace": _replace, "format": _format,
}


def _bounded_filter(env: BoundedEnvironment, name: str,
                    function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` with the deadline, its size check before and the value limit after."""
    check = _FILTER_CHECKS.get(name)
    passes = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        env.tick()
        if len(args) > passes:
            value = args[passes]
            env.weight(value)  # a value built to print far larger than it is
            if check is not None:
                value, rest = check(env, value, args[passes + 1:], kwargs)
                args = (*args[:passes], value, *rest)
        return env.checked(function(*args, **kwargs))

    return bounded


def _method_check(env: BoundedEnvironment, text: str, name: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuses a call of a text method that would make too long a text; returns its args."""
    if name in ("center", "ljust", "rjust", "zfill"):
        _fits(max(len(text), _int(_get(args, kwargs, 0, "width", 0))))
    elif name == "expandtabs":
        _fits(len(text) + text.count("\t") * _int(_get(args, kwargs, 0, "tabsize", 8)))
    elif name == "replace":
        _check_replace(text, _get(args, kwargs, 0, "old"), _get(args, kwargs, 1, "new"),
                       _get(args, kwargs, 2, "count"))
    elif name == "join" and args:
        items = list(args[0])
        _check_join(env, items, text)
        args = (items, *args[1:])
    return args


def _value_method(obj: Any) -> str | None:
    """The name of `obj` when it is a built-in method of a value (`"x".upper`), else None."""
    if isinstance(obj, (types.BuiltinMethodType, types.MethodWrapperType)):
        owner = getattr(obj, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            return str(obj.__name__)
    return None


class _BoundedFields:
    """A formatter mixin: widths checked and the output counted, field by field."""

    def __init__(self, env: BoundedEnvironment, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)  # type: ignore[call-arg]
        self.bounded_env = env
        self.size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        self.bounded_env.weight(value)
        text = super().format_field(value, format_spec)  # type: ignore[misc]
        self.size += len(text)
        _fits(self.size, "the formatted text")
        return text


class _BoundedFormatter(_BoundedFields, SandboxedFormatter):
    """`str.format` in the sandbox, bounded."""


class _BoundedEscapeFormatter(_BoundedFields, SandboxedEscapeFormatter):
    """The same for `Markup.format`."""


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with a deadline in every loop, and `~` and every list,
    tuple and dict a template builds checked for size."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not (isinstance(node.iter, nodes.Call)
                and isinstance(node.iter.node, nodes.EnvironmentAttribute)):
            node.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_iter"), [node.iter],
                                   [], None, None, lineno=node.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.bounded_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a target: `{% for a, b in ... %}`
            super().visit_Tuple(node, frame)
            return
        self.write("environment.bounded_value(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.bounded_value(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.bounded_value(")
        super().visit_Dict(node, frame)
        self.write(")")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with no globals, no constant folding and the bounds above.

    `deadline` (a `time.monotonic()` value) is set around each render, and `reset()` is
    called after it.

    Sizes are weights: about the length of a value printed. A list holding one list
    twice weighs twice as much, so that `[s, s]` built again and again, which costs
    nothing to build but prints as 2^n copies, is refused as soon as it would print
    longer than VALUE_LIMIT characters.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=self._finalize,
                         keep_trailing_newline=True, optimized=False)
        self.globals.clear()  # no range, lipsum, dict, namespace, cycler, joiner
        self.filters = {name: _bounded_filter(self, name, f) for name, f in self.filters.items()}
        self.deadline = math.inf
        self._weights: dict[int, tuple[Any, int]] = {}

    def reset(self) -> None:
        """Forget the sizes of the values of the last render."""
        self._weights.clear()
        self.deadline = math.inf

    def tick(self) -> None:
        """Raise RenderTimeout once the deadline has passed."""
        if time.monotonic() > self.deadline:
            raise RenderTimeout(f"the template took longer than {RENDER_SECONDS:g} s")

    def weight(self, value: Any) -> int:
        """About how long `value` prints; refused beyond VALUE_LIMIT (lists, tuples and
        dicts are measured once per render)."""
        if isinstance(value, str):
            return len(value)
        if isinstance(value, (list, tuple, dict)):
            known = self._weights.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
            self.tick()
            total = 2
            for item in (value.items() if isinstance(value, dict) else value):
                total += self.weight(item) + 2
                _fits(total)
            self._weights[id(value)] = (value, total)
            return total
        if isinstance(value, int):
            return value.bit_length() // 3 + 1
        return 24  # a float, a date, None: a few characters

    def checked(self, value: Any) -> Any:
        """`value`, when it is not too large."""
        if isinstance(value, (str, bytes)):
            _fits(len(value))
        elif isinstance(value, (list, tuple, dict)):
            self.weight(value)
        return value

    def bounded_value(self, value: Any) -> Any:
        """A list, tuple or dict a template builds: refused when it would print too long."""
        self.tick()
        return self.checked(value)

    def bounded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """What a `{% for %}` loops over: each step checks the deadline."""
        for item in iterable:
            self.tick()
            yield item

    def bounded_concat(self, join: Callable[[Iterable[Any]], str], parts: tuple[Any, ...]) -> str:
        """`a ~ b`, refused before it is built when it would be too long."""
        self.tick()
        _fits(sum(self.weight(p) for p in parts), "the joined text")
        return join(parts)

    def _finalize(self, value: Any) -> Any:
        """Missing values print as nothing, whole numbers without `.0`, dates as YYYY-MM-DD;
        nothing prints longer than VALUE_LIMIT."""
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, date):
            return value.isoformat()
        return self.checked(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int):
                    _fits(self.weight(seq) * times, "the repeated value")
            if isinstance(left, int) and isinstance(right, int):
                self._bits(left.bit_length() + right.bit_length())
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            self._bits(max(left.bit_length(), 1) * right)
        elif operator == "%" and isinstance(left, str):
            _check_printf(self, left, right)
        elif operator == "+" and isinstance(left, (str, bytes, list, tuple)):
            _fits(self.weight(left) + self.weight(right))
        return self.checked(super().call_binop(context, operator, left, right))

    @staticmethod
    def _bits(bits: int) -> None:
        if bits > INTEGER_BITS:
            raise TemplateLimitError(f"a number of more than {INTEGER_BITS:,} bits")

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.tick()
        return super().getitem(obj, argument)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.tick()
        method = _value_method(obj)
        if method is not None:
            if method not in SAFE_METHODS and method not in SIZED_METHODS:
                raise SecurityError(f"calling `.{method}()` is not allowed in a template")
            owner = obj.__self__
            self.weight(owner)
            if isinstance(owner, str):
                args = _method_check(self, owner, method, args, kwargs)
        return self.checked(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `format_map` with checked widths and a bounded output."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) \
                or value.__name__ not in ("format", "format_map"):
            return None
        text: Any = value.__self__
        if not isinstance(text, str):
            return None
        is_map = value.__name__ == "format_map"
        env = self

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(
                        f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            formatter: SandboxedFormatter = (
                _BoundedEscapeFormatter(env, escape=text.escape) if isinstance(text, Markup)
                else _BoundedFormatter(env))
            return type(text)(formatter.vformat(text, args, kwargs))

        return update_wrapper(wrapper, value)


# ------------------------------------------------------------ rendering for a run

_Refused = str  # a template that is not rendered: why
_Parts = tuple["str | tuple[str, str | None]", ...]
"""A plain substitution: text, and (root, attribute) reads (`asof` reads no attribute)."""
_UNSEEN: Final[Any] = object()
_PRINTED: Final = (str, float, int, bool, date)
"""The types of values a plain substitution prints (what data and the context hold)."""


def _substitution(env: BoundedEnvironment, text: str) -> _Parts | None:
    """`text` as text and `{{ root.attribute }}` reads when it is nothing more, else None.

    Most titles are `Usage dropped for {{ account.name }}`: the same output as Jinja's
    (missing values print as nothing, whole numbers without `.0`, dates as ISO days),
    made without a Jinja render per account. Anything else renders with Jinja.
    """
    try:
        tree = env.parse(text)
    except Exception:  # Jinja reports it when it renders
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts: list[str | tuple[str, str | None]] = []
    for node in tree.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
        elif isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) \
                and node.node.name in (_ACCOUNT_ROOT, _RULE_ROOT):
            parts.append((node.node.name, node.attr))
        elif isinstance(node, nodes.Name) and node.name == _ASOF_ROOT:
            parts.append((node.name, None))
        else:
            return None
    return tuple(parts)


def _substitute(env: BoundedEnvironment, parts: _Parts, context: dict[str, Any],
                limit: int) -> str | None:
    """The plain substitution's output, or None when Jinja must decide (a name that
    is not there, a value of another type or too large, a NUL, an output past `limit`)."""
    values: list[Any] = []
    for part in parts:
        if isinstance(part, str):
            continue
        root, attribute = part
        value = context.get(root)
        if attribute is not None:
            if not isinstance(value, dict) or attribute not in value or hasattr(value, attribute):
                return None  # Jinja prefers a dict's own attribute (`items`) to its key
            value = value[attribute]
        values.append(value)
    return _joined(env, parts, values, limit)


def _joined(env: BoundedEnvironment, parts: _Parts, values: Sequence[Any],
            limit: int) -> str | None:
    """The text of `parts` with `values` (one per read, in order) printed through the
    environment's own `finalize`, as Jinja prints them; None when Jinja must decide."""
    pieces: list[str] = []
    read = iter(values)
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = next(read)
        if value is not None and type(value) not in _PRINTED:
            return None
        try:
            pieces.append(str(env._finalize(value)))
        except TemplateError:  # too large a value: Jinja fails the render
            return None
    out = "".join(pieces)
    if len(out) > limit or "\x00" in out:
        return None
    return out


class Renderer:
    """Compiles each distinct template once and renders it for many accounts, bounded.

    `errors` counts renders that failed (the text is kept as written), `truncated` those
    cut to their limit; `problems` lists the first LISTED distinct ones.
    """

    def __init__(self, fast: bool = True) -> None:
        self._env = BoundedEnvironment()
        self._cache: dict[str, Template | _Refused] = {}
        self._fast = fast  # plain substitutions without Jinja (False: always Jinja)
        self._substitutions: dict[str, _Parts | None] = {}
        self._strikes: dict[str, int] = {}
        self._listed: set[tuple[str, str, str]] = set()
        self.errors = 0
        self.truncated = 0
        self.problems: list[TemplateProblem] = []
        self.last_error: str | None = None

    def render(self, text: str, context: dict[str, Any], where: str = "title",
               limit: int = TITLE_LIMIT) -> str:
        """`text` rendered for the account of `context`, at most `limit` characters.

        `where` names the string in the report (`CTA title`, `task \\`call\\` description`).
        """
        if "{" not in text:
            return self.plain(text, context, where, limit)
        if self._fast:
            parts = self._substitution(text)
            if parts is not None:
                fast = _substitute(self._env, parts, context, limit)
                if fast is not None:
                    return fast
        template = self._template(text)
        if isinstance(template, str):
            return self._failed(text, context, where, limit, template)
        try:
            rendered, complete = self._generate(template, context, limit)
        except RenderTimeout as exc:
            strikes = self._strikes.get(text, 0) + 1
            self._strikes[text] = strikes
            if strikes >= STRIKES:
                self._cache[text] = (f"not rendered again: it took longer than "
                                     f"{RENDER_SECONDS:g} s for {strikes} accounts")
            return self._failed(text, context, where, limit, str(exc))
        except Exception as exc:  # a template error must not stop a run over many accounts
            reason = str(exc) if isinstance(exc, TemplateError) else \
                f"{type(exc).__name__}: {exc}"
            return self._failed(text, context, where, limit, reason)
        if "\x00" in rendered:  # from a string escape (`"\\x00"`): no store keeps it
            return self._failed(text, context, where, limit, "renders a NUL character")
        if not complete:
            self.truncated += 1
            self._note(context, where, f"longer than {limit:,} characters", "truncated")
        return rendered

    def render_rows(self, text: str, rows: Sequence[int], context: Callable[[int], dict[str, Any]],
                    column: Callable[[str, str | None], Sequence[Any] | None],
                    where: str = "title", limit: int = TITLE_LIMIT) -> list[str]:
        """`text` rendered for many accounts at once: the same strings, counts and problems
        as `render` for each `context(row)`, without building that context per row when
        the text is plain or a plain substitution.

        `column(root, attribute)` gives the values a read `{{ root.attribute }}` prints,
        indexed by row (so `column(...)[row]`), or None when the context would not hold
        that name: then each row goes through `render`, as does a row whose value the
        substitution does not print (Jinja decides)."""
        if "{" not in text:
            if len(text) <= limit:
                return [text] * len(rows)
            return [self.plain(text, context(row), where, limit) for row in rows]
        parts = self._substitution(text) if self._fast else None
        reads: list[Sequence[Any]] = []
        for part in parts or ():
            if not isinstance(part, str):
                values = column(*part)
                if values is None:
                    parts = None
                    break
                reads.append(values)
        if parts is None:
            return [self.render(text, context(row), where, limit) for row in rows]
        env = self._env
        out: list[str] = []
        for row in rows:
            fast = _joined(env, parts, [values[row] for values in reads], limit)
            out.append(fast if fast is not None else self.render(text, context(row), where, limit))
        return out

    def _substitution(self, text: str) -> _Parts | None:
        parts = self._substitutions.get(text, _UNSEEN)
        if parts is _UNSEEN:
            parts = self._substitutions[text] = _substitution(self._env, text)
        return parts  # type: ignore[no-any-return]

    def plain(self, text: str, context: dict[str, Any], where: str, limit: int) -> str:
        """A text that is not a template, cut to `limit` characters (and counted) if longer."""
        if len(text) <= limit:
            return text
        self.truncated += 1
        self._note(context, where, f"longer than {limit:,} characters", "truncated")
        return cut(text, limit)

    def fill(self, report: RunReport) -> None:
        """Put the counts and the first problems in a run report."""
        report.template_errors = self.errors
        report.template_truncated = self.truncated
        report.template_problems = list(self.problems)

    def _template(self, text: str) -> Template | _Refused:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        result: Template | _Refused
        try:
            found = unbounded(self._env.parse(text))
            result = f"refused: {found[0].message}" if found else self._env.from_string(text)
        except TemplateError as exc:
            result = f"does not parse: {exc}"
        except Exception as exc:  # a hand-made template that Jinja cannot compile
            result = f"does not compile: {type(exc).__name__}: {exc}"
        self._cache[text] = result
        return result

    def _generate(self, template: Template, context: dict[str, Any],
                  limit: int) -> tuple[str, bool]:
        """The output, read piece by piece and cut at `limit`; and whether it is whole."""
        env = self._env
        env.deadline = time.monotonic() + RENDER_SECONDS
        pieces: list[str] = []
        size = 0
        stream = template.generate(context)
        try:
            for piece in stream:
                pieces.append(piece)
                size += len(piece)
                if size > limit:
                    return cut("".join(pieces)[: limit + 1], limit), False
                env.tick()
        finally:
            getattr(stream, "close", lambda: None)()  # a generator: stop the template
            env.reset()
        return "".join(pieces), True

    def _failed(self, text: str, context: dict[str, Any], where: str, limit: int,
                reason: str) -> str:
        self.errors += 1
        reason = cut(" ".join(reason.split()), _REASON_CHARS)
        self.last_error = f"`{cut(text, _REASON_CHARS)}`: {reason}"
        self._note(context, where, reason, "error")
        return cut(text, limit)

    def _note(self, context: dict[str, Any], where: str, reason: str, outcome: str) -> None:
        if len(self.problems) >= LISTED:
            return
        rule = str((context.get(_RULE_ROOT) or {}).get(_RULE_NAME, "?"))
        key = (rule, where, reason)
        if key in self._listed:
            return
        self._listed.add(key)
        account = str((context.get(_ACCOUNT_ROOT) or {}).get(ACCOUNT_ID_ATTRIBUTE, "?"))
        self.problems.append(TemplateProblem(rule=rule, account=account, where=where,
                                             reason=reason, outcome=outcome))
