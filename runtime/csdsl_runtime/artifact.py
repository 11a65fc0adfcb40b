"""The compiled artifact: the versioned contract between the compiler and runtime hosts.

The compiler builds these models and writes them as deterministic JSON; hosts load and
validate them. `specs/artifact.schema.json` is generated from `Artifact` and checked in.
Everything a host needs is precomputed here (schedules, critical paths, owners), so that
a host does no parsing and no graph work.
"""

from __future__ import annotations

import hashlib
import json
import math
from json.encoder import encode_basestring as _quote
from typing import Any, ClassVar, Literal, Union

import msgspec

from csdsl_runtime.vocabulary import (  # noqa: F401 - the tuples are re-exported for hosts
    CALENDARS,
    CTA_TYPES,
    DEFAULT_CALENDAR,
    DEFAULT_PRIORITY,
    DEFAULT_TASK_TYPE,
    OBJECTIVE_CTA_TYPE,
    PRIORITIES,
    TASK_TYPES,
    ArithOp,
    Calendar,
    Comparison,
    CtaType,
    FieldType,
    LitType,
    OwnerKind,
    Priority,
    TaskType,
    WindowFn,
)

FORMAT_VERSION = "1.2"
"""major.minor: a host refuses a newer major; minor versions only add optional fields.
1.1 added the optional top-level `signature`; 1.2 declared pools (`schema.pools`),
spec-wide `limits` and `holidays`, a metric's `missing`, a playbook's `on_change`, and
a rule's `max_per_run`, `reopen`, `at_most` and `due_calendar`. The fields 1.2 added are
left out of the JSON when they hold their default, so that a spec that uses none of
them keeps its bytes and its hash."""


class _Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Immutable, hashable records; decoding refuses unknown fields and coerces nothing."""


class _Node(_Model, tag_field="op", frozen=True):
    """A condition node: its `op` (a class attribute) is the tag in the JSON."""

    op: ClassVar[str]


# ---------------------------------------------------------------- condition IR
# A small backend-neutral expression tree. Every node has an `op`; values are
# numbers (64-bit floats), text, dates (ISO strings) or booleans. Both the reference
# interpreter and the SQL engine evaluate exactly these nodes.


class Lit(_Node, tag="lit", frozen=True):
    """A constant; dates are ISO strings with type `date`."""

    op: ClassVar[str] = "lit"
    type: LitType
    value: float | str | bool


class FieldRef(_Node, tag="field", frozen=True):
    """The value of an account field; unknown when empty."""

    op: ClassVar[str] = "field"
    name: str


class EventFieldRef(_Node, tag="event_field", frozen=True):
    """A field of the event occurrence under test (only inside `exists.where`)."""

    op: ClassVar[str] = "event_field"
    name: str


class Latest(_Node, tag="latest", frozen=True):
    """The latest value of a metric on or before the as-of day; unknown when none."""

    op: ClassVar[str] = "latest"
    metric: str


class Window(_Node, tag="window", frozen=True):
    """avg/sum/min/max of a metric over (asof - days, asof]; unknown with no points."""

    op: ClassVar[str] = "window"
    fn: WindowFn
    metric: str
    days: int


class Change(_Node, tag="change", frozen=True):
    """(avg last `days` - avg of the `days` before) / avg before; unknown if before is 0/missing."""

    op: ClassVar[str] = "change"
    metric: str
    days: int


class Count(_Node, tag="count", frozen=True):
    """Number of occurrences of an event in (asof - days, asof]; 0 when none."""

    op: ClassVar[str] = "count"
    event: str
    days: int


class Exists(_Node, tag="exists", frozen=True):
    """An occurrence of `event` in the window for which `where` is true (Kleene OR)."""

    op: ClassVar[str] = "exists"
    event: str
    days: int
    where: Expr | None = None


class DaysUntil(_Node, tag="days_until", frozen=True):
    """Days from the as-of day to a date field (negative once past)."""

    op: ClassVar[str] = "days_until"
    field: str


class DaysSince(_Node, tag="days_since", frozen=True):
    """Days from a date field, or from an event's last occurrence, to the as-of day."""

    op: ClassVar[str] = "days_since"
    field: str | None = None
    event: str | None = None


class Compare(_Node, tag="cmp", frozen=True):
    op: ClassVar[str] = "cmp"
    cmp: Comparison
    left: Expr
    right: Expr


class Arith(_Node, tag="arith", frozen=True):
    """Number arithmetic; division by zero is unknown."""

    op: ClassVar[str] = "arith"
    fn: ArithOp
    left: Expr
    right: Expr


class Neg(_Node, tag="neg", frozen=True):
    op: ClassVar[str] = "neg"
    arg: Expr


class InList(_Node, tag="in", frozen=True):
    op: ClassVar[str] = "in"
    arg: Expr
    values: tuple[Lit, ...]
    negate: bool = False


class And(_Node, tag="and", frozen=True):
    op: ClassVar[str] = "and"
    args: tuple[Expr, ...]


class Or(_Node, tag="or", frozen=True):
    op: ClassVar[str] = "or"
    args: tuple[Expr, ...]


class Not(_Node, tag="not", frozen=True):
    op: ClassVar[str] = "not"
    arg: Expr


Expr = Union[
    Lit, FieldRef, EventFieldRef, Latest, Window, Change, Count, Exists,
    DaysUntil, DaysSince, Compare, Arith, Neg, InList, And, Or, Not,
]


# ---------------------------------------------------------------- data schema


class AccountField(_Model, frozen=True):
    name: str
    type: FieldType
    values: tuple[str, ...] = ()


class Metric(_Model, frozen=True):
    name: str
    label: str | None = None
    missing: float | None = None
    """Since 1.2: the value a day without a row counts as (`missing 0`); None: such a
    day has no value (unknown)."""


class Event(_Model, frozen=True):
    name: str
    label: str | None = None
    fields: tuple[AccountField, ...] = ()


class Role(_Model, frozen=True):
    name: str
    label: str | None = None
    external: bool = False


class Pool(_Model, frozen=True):
    """Since 1.2: a declared team pool (`pool Support "Support engineers"`); its members
    come from the data (`pools.csv`)."""

    name: str
    title: str | None = None


class DataSchema(_Model, frozen=True):
    account: tuple[AccountField, ...] = ()
    metrics: tuple[Metric, ...] = ()
    events: tuple[Event, ...] = ()
    roles: tuple[Role, ...] = ()
    pools: tuple[Pool, ...] = ()


# ---------------------------------------------------------------- owners, tasks


class OwnerChoice(_Model, frozen=True):
    """One alternative of an owner chain: a role, a named user or a team pool."""

    kind: OwnerKind
    name: str


class Owner(_Model, frozen=True):
    """Tried in order; the first that resolves for the account wins."""

    chain: tuple[OwnerChoice, ...]


class Task(_Model, kw_only=True, frozen=True):
    """A scheduled task: offsets are whole days (calendar or business) from the anchor."""

    key: str
    title: str
    type: TaskType = DEFAULT_TASK_TYPE
    priority: Priority = DEFAULT_PRIORITY
    owner: Owner | None = None
    description: str | None = None
    day: int = 0
    duration: int = 0
    after: tuple[str, ...] = ()
    start: int
    due: int
    critical: bool = False
    playbook: str | None = None


class Playbook(_Model, kw_only=True, frozen=True):
    name: str
    title: str | None = None
    description: str | None = None
    for_types: tuple[str, ...] = ()
    calendar: Calendar = DEFAULT_CALENDAR
    tasks: tuple[Task, ...]
    length: int
    critical_path: tuple[str, ...] = ()
    on_change: Literal["keep", "append", "replace"] = "keep"
    """Since 1.2 (`on change append`): what a run does to the open CTAs that an earlier
    spec version opened with this playbook when the playbook's tasks have changed:
    `keep` them as they are, `append` the tasks they lack, or `replace` their open
    tasks with the playbook's (done ones stay)."""


class Objective(_Model, kw_only=True, frozen=True):
    key: str
    title: str
    category: str | None = None
    success: str | None = None
    description: str | None = None
    priority: Priority = DEFAULT_PRIORITY
    owner: Owner | None = None
    after: tuple[str, ...] = ()
    playbook: str | None = None
    start: int
    due: int
    tasks: tuple[Task, ...]


class Plan(_Model, kw_only=True, frozen=True):
    """A success-plan template; task keys are `objective.task`."""

    name: str
    title: str | None = None
    description: str | None = None
    type: str | None = None
    owner: Owner | None = None
    due: int | None = None
    calendar: Calendar = DEFAULT_CALENDAR
    objectives: tuple[Objective, ...]
    length: int
    critical_path: tuple[str, ...] = ()
    overshoot: int = 0


# ---------------------------------------------------------------- rules


class _Action(_Model, tag_field="kind", frozen=True):
    kind: ClassVar[str]


class CtaAction(_Action, tag="cta", frozen=True):
    kind: ClassVar[str] = "cta"
    type: CtaType
    title: str


class PlanAction(_Action, tag="plan", frozen=True):
    kind: ClassVar[str] = "plan"
    plan: str


Action = Union[CtaAction, PlanAction]


class SuccessCriterion(_Model, frozen=True):
    within: int
    when: Expr


class Reenrolment(_Model, frozen=True):
    """`at most TIMES every DAYS d`: at most `times` CTAs (or plans) of the rule per
    account are created within any `days` days."""

    times: int
    days: int


class Limits(_Model, frozen=True):
    """Since 1.2: spec-wide budgets (`limit new ctas per run N`, `limit open ctas per
    owner N`); None: no such limit. A run that would break one stores nothing."""

    new_ctas_per_run: int | None = None
    open_ctas_per_owner: int | None = None


class Rule(_Model, kw_only=True, frozen=True):
    name: str
    title: str | None = None
    description: str | None = None
    enabled: bool = True
    when: Expr
    actions: tuple[Action, ...]
    priority: Priority = DEFAULT_PRIORITY
    reason: str | None = None
    owner: Owner | None = None
    due: int | None = None
    playbook: str | None = None
    cooldown: int = 0
    close_when: Expr | None = None
    success: SuccessCriterion | None = None
    max_per_run: int | None = None
    """Since 1.2 (`max N per run`): a run that would open more CTAs or plans for this
    rule stores nothing."""
    reopen: bool = False
    """Since 1.2 (`reopen while true`): level-triggered. By default a rule re-arms: after
    its CTA or plan for an account closes, it opens no new one until its condition has
    been not true on a later run."""
    at_most: Reenrolment | None = None
    """Since 1.2 (`at most N every D d`): a re-enrolment limit per account."""
    due_calendar: Calendar = DEFAULT_CALENDAR
    """Since 1.2 (`due 10d business`): how `due` counts its days."""


_ADDED_1_2: dict[str, dict[str, Any]] = {
    "rule": {"max_per_run": None, "reopen": False, "at_most": None,
             "due_calendar": DEFAULT_CALENDAR},
    "metric": {"missing": None},
    "playbook": {"on_change": "keep"},
    "schema": {"pools": ()},
    "artifact": {"limits": None, "holidays": None, "environment": None},
}
"""The fields 1.2 added, with their defaults: left out of the JSON at their default."""


def _without_new_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Artifact data without the 1.2 fields that hold their default (see FORMAT_VERSION)."""
    def drop(record: dict[str, Any], kind: str) -> None:
        for key, default in _ADDED_1_2[kind].items():
            if key not in record:
                continue
            value = record[key]
            if value == default or (default == () and isinstance(value, list) and not value):
                del record[key]

    drop(data, "artifact")
    schema = data.get("schema")
    if isinstance(schema, dict):
        drop(schema, "schema")
        for metric in schema.get("metrics", ()):
            drop(metric, "metric")
    for rule in data.get("rules", ()):
        drop(rule, "rule")
    for playbook in data.get("playbooks", ()):
        drop(playbook, "playbook")
    return data


class Signature(_Model, frozen=True):
    """An Ed25519 signature of the artifact (`csdsl compile --sign`, csdsl_runtime.signing).

    `value` is the base64 signature of `signed_bytes`: the canonical JSON of the whole
    artifact without this field. `key_id` names the key (the first 16 hex digits of the
    sha256 of its 32 raw public bytes); it is a hint, not signed: only `value` proves."""

    alg: Literal["ed25519"]
    key_id: str
    value: str


class Artifact(_Model, kw_only=True, frozen=True, weakref=True):
    """A compiled spec. Collections are sorted by name so output is deterministic."""

    format_version: str = FORMAT_VERSION
    spec_hash: str
    schema_: DataSchema = msgspec.field(name="schema")
    playbooks: tuple[Playbook, ...] = ()
    plans: tuple[Plan, ...] = ()
    rules: tuple[Rule, ...] = ()
    limits: Limits | None = None
    """Since 1.2: the spec's budgets."""
    holidays: str | None = None
    """Since 1.2 (`holidays "US-CA"`): business days skip this region's public holidays
    (a country code, then a subdivision, as the `holidays` package names them)."""
    environment: str | None = None
    """The environment compiled (`csdsl compile --env NAME`); None, left out of the JSON:
    the base spec. Hashed, so two environments of a spec have two hashes."""
    signature: Signature | None = None
    """Since 1.1; left out of the JSON when absent, so unsigned artifacts keep their bytes."""

    def to_json(self) -> str:
        """Deterministic JSON text: sorted keys, fixed separators, trailing newline."""
        return canonical_json(self.to_data()) + "\n"

    def to_data(self) -> dict[str, Any]:
        """The artifact as JSON data, exactly what `to_json` writes (no `signature` key
        when unsigned)."""
        data: dict[str, Any] = _without_new_defaults(msgspec.to_builtins(self))
        if self.signature is None:
            del data["signature"]
        return data

    def compute_hash(self) -> str:
        """sha256 over everything but the hash itself: the spec's meaning."""
        return meaning_hash(_without_new_defaults(msgspec.to_builtins(self)))


def canonical_json(data: Any) -> str:
    """Exactly `json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False,
    allow_nan=False)` for JSON data (keys text only: others are refused, not converted),
    written 2x faster: with `indent`, the json module falls back to
    its pure-Python encoder, a third of a large compile. tests/test_compile.py holds the
    two to the same text on random documents."""
    out: list[str] = []
    append = out.append

    def write(value: Any, depth: int) -> None:
        kind = type(value)
        if kind is str:
            append(_quote(value))
        elif kind is dict:
            if not value:
                append("{}")
                return
            newline = "\n" + " " * (depth + 1)
            append("{" + newline)
            for i, key in enumerate(sorted(value)):
                if i:
                    append("," + newline)
                if type(key) is not str:
                    raise TypeError(f"keys must be str, not {type(key).__name__}")
                append(_quote(key) + ": ")
                write(value[key], depth + 1)
            append("\n" + " " * depth + "}")
        elif kind is list or kind is tuple:
            if not value:
                append("[]")
                return
            newline = "\n" + " " * (depth + 1)
            append("[" + newline)
            for i, item in enumerate(value):
                if i:
                    append("," + newline)
                write(item, depth + 1)
            append("\n" + " " * depth + "]")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif value is None:
            append("null")
        elif kind is int:
            append(int.__repr__(value))
        elif kind is float:
            if not math.isfinite(value):
                raise ValueError(f"Out of range float values are not JSON compliant: {value}")
            append(float.__repr__(value))
        else:
            raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")

    write(data, 0)
    return "".join(out)


UNHASHED = ("spec_hash", "format_version", "signature")
"""Top-level fields outside the spec hash: the hash itself, the format, the signature."""


def meaning_hash(data: dict[str, Any]) -> str:
    """The spec hash of an artifact's JSON data (its `spec_hash`, `format_version` and
    `signature` fields left out)."""
    body = {k: v for k, v in data.items() if k not in UNHASHED}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_matches(data: dict[str, Any]) -> bool:
    """Whether artifact JSON data carries its own `meaning_hash` as `spec_hash`.

    msgspec's sorted compact encoding is 5x faster than `json.dumps` and gives the same
    bytes for everything but floats written with an exponent (`1e16`, not `1e+16`); when
    its digest differs the exact one decides. Either match proves the content: the
    hashed text decodes to the data at hand."""
    claimed = data.get("spec_hash")
    body = {k: v for k, v in data.items() if k not in UNHASHED}
    quick = "sha256:" + hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()
    return claimed == quick or claimed == meaning_hash(data)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the artifact."""
    schema: dict[str, Any] = msgspec.json.schema(Artifact)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://csdsl.dev/schema/artifact-1.json"
    return schema
