"""The built-in source: a directory of CSV files, as described in RUNTIME.md."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from csdsl_runtime.artifact import DataSchema
from csdsl_runtime.data import Dataset
from csdsl_runtime.sources.builder import DatasetBuilder, Located, SourceError
from csdsl_runtime.sources.fast import read_metrics_fast

if TYPE_CHECKING:
    from _csv import Reader



def _rows(reader: Reader) -> Iterator[Located]:
    for row in reader:
        if row:  # a blank line is not a row
            yield reader.line_num, row


def _open(path: Path) -> tuple[TextIO, Reader, list[str]]:
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    header = [h.strip() for h in next(reader, [])]
    return handle, reader, header


def read_csv_dir(directory: Path, schema: DataSchema, fast: bool = True,
                 tables: Sequence[str] | None = None) -> Dataset:
    """Read accounts.csv (required), team.csv, metrics.csv, events.csv, pools.csv
    (`tables`: only those).

    With `fast`, metrics.csv is first offered to the DuckDB fast path (`sources.fast`),
    which loads it only when every row is valid; otherwise rows are read one by one.
    """
    if not (directory / "accounts.csv").is_file():
        raise SourceError(f"{directory}: no accounts.csv")
    builder = DatasetBuilder(schema)
    for name in ("accounts", "team", "metrics", "events", "pools"):
        path = directory / f"{name}.csv"
        if not path.is_file() or (tables is not None and name not in tables):
            continue
        label = str(path)
        try:
            handle, reader, header = _open(path)
            with handle:
                rows = _rows(reader)
                if name == "metrics" and fast:
                    builder.check_header(label, name, header)
                    if read_metrics_fast(path, builder):
                        continue
                builder.table(label, name, header, rows)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{label}: not UTF-8 text ({exc.reason})") from None
        except csv.Error as exc:
            raise SourceError(f"{label}: {exc}") from None
    return builder.dataset
