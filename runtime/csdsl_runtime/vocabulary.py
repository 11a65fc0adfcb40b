"""The fixed words of the language that both the compiler and hosts need: one source.

Each closed set of words is a `Literal` type, and its tuple is derived from it, so the
artifact models, the checker and the runtime cannot drift apart. The defaults, the
condition functions and the names a template may read live here too.

Kept apart from the artifact models so that `csdsl check` (run in pre-commit hooks)
does not pay for building the models at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

CtaType = Literal["risk", "opportunity", "lifecycle", "activity"]
TaskType = Literal["todo", "email", "call", "meeting", "milestone"]
Priority = Literal["low", "medium", "high"]
Calendar = Literal["calendar", "business"]
FieldType = Literal["text", "number", "date", "bool", "enum"]
OwnerKind = Literal["role", "user", "pool"]
LitType = Literal["number", "text", "date", "bool"]
WindowFn = Literal["avg", "sum", "min", "max"]
Comparison = Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp = Literal["+", "-", "*", "/"]

CTA_TYPES: Final[tuple[CtaType, ...]] = get_args(CtaType)
TASK_TYPES: Final[tuple[TaskType, ...]] = get_args(TaskType)
PRIORITIES: Final[tuple[Priority, ...]] = get_args(Priority)
CALENDARS: Final[tuple[Calendar, ...]] = get_args(Calendar)
FIELD_TYPES: Final[tuple[FieldType, ...]] = get_args(FieldType)
WINDOW_FUNCTIONS: Final[tuple[WindowFn, ...]] = get_args(WindowFn)

OBJECTIVE_CTA_TYPE: Final = "objective"
"""The CTA type of a success plan's objective CTAs (a playbook may be `for objective`)."""

DEFAULT_TASK_TYPE: Final[TaskType] = "todo"
DEFAULT_PRIORITY: Final[Priority] = "medium"
DEFAULT_CALENDAR: Final[Calendar] = "calendar"

# ---------------------------------------------------------------- templates
TEMPLATE_ROOTS: Final = ("account", "rule", "asof")
"""The names a title or description template may read."""
RULE_TEMPLATE_ATTRIBUTES: Final = ("name", "title")
ACCOUNT_ID_ATTRIBUTE: Final = "id"
"""`account.id`, beside `account.<declared field>`."""

# ---------------------------------------------------------------- condition functions
ArgKind = Literal["metric", "event", "date_field", "date_field_or_event", "window"]
"""What an argument must be: a declared name of a kind, or a duration literal."""

IrOp = Literal["window", "count", "change", "days_until", "days_since"]


@dataclass(frozen=True, slots=True)
class Function:
    """A condition function: its arguments, and the IR node it lowers to (all return a
    number)."""

    name: str
    args: tuple[ArgKind, ...]
    op: IrOp

    @property
    def shape(self) -> str:
        """How a call is written, for a help line: `avg(name, 30d)`."""
        return f"{self.name}(" + ", ".join("30d" if a == "window" else "name"
                                           for a in self.args) + ")"


FUNCTIONS: Final[dict[str, Function]] = {
    f.name: f
    for f in (
        *(Function(fn, ("metric", "window"), "window") for fn in WINDOW_FUNCTIONS),
        Function("count", ("event", "window"), "count"),
        Function("change", ("metric", "window"), "change"),
        Function("days_until", ("date_field",), "days_until"),
        Function("days_since", ("date_field_or_event",), "days_since"),
    )
}
