"""A data set as the warehouse tables `csdsl sql` reads (accounts, metrics, events: text
columns, NULL for a missing value), and the Spark session the tests share."""

from __future__ import annotations

import os
import shutil
from datetime import date
from typing import Any

import pytest

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset

Table = tuple[list[str], list[tuple[Any, ...]]]


def _text(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind == "number":
        return repr(float(value))
    if kind == "bool":
        return "true" if value else "false"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    return str(value)


def tables_of(data: Dataset, schema: A.DataSchema) -> dict[str, Table]:
    """The data set's accounts, metrics and events as rows of text."""
    accounts = (["id", *(f.name for f in schema.account)], [
        (a.id, *(_text(f.type, a.fields.get(f.name)) for f in schema.account))
        for a in data.accounts.values()])
    metrics: list[tuple[Any, ...]] = []
    fields = list(dict.fromkeys(f.name for e in schema.events for f in e.fields))
    kinds = {f.name: f.type for e in schema.events for f in e.fields}
    events: list[tuple[Any, ...]] = []
    for a in data.accounts.values():
        for name, series in a.metrics.items():
            metrics += [(a.id, name, date.fromordinal(d).isoformat(), repr(float(v)))
                        for d, v in zip(series.days, series.values, strict=True)]
        for name, occurrences in a.events.items():
            for d, values in zip(occurrences.days, occurrences.fields, strict=True):
                events.append((a.id, name, date.fromordinal(d).isoformat(),
                               *(_text(kinds[f], values.get(f)) for f in fields)))
    return {"accounts": accounts,
            "metrics": (["account_id", "metric", "date", "value"], metrics),
            "events": (["account_id", "event", "date", *fields], events)}


def spark_required() -> bool:
    """In CI (`CSDSL_REQUIRE_SPARK=1`) a missing Spark fails the tests; else skips."""
    return os.environ.get("CSDSL_REQUIRE_SPARK") == "1"


_SESSION: list[Any] = []


def shared_spark() -> Any:
    """One local Spark session for the whole test run (it takes seconds to start)."""
    if _SESSION:
        return _SESSION[0]
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if spark_required():
            raise
        pytest.skip("PySpark is not installed (pip install './runtime[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if spark_required():
            raise RuntimeError("Spark needs a Java runtime (openjdk-17-jre-headless)")
        pytest.skip("no Java runtime for Spark")
    from csdsl_runtime.engines.spark import spark_session

    _SESSION.append(spark_session("local[2]", {
        "spark.sql.shuffle.partitions": "2", "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": "1g"}))
    return _SESSION[0]
