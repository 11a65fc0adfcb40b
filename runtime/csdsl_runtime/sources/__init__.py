"""Data sources: where account data comes from. Each returns a validated `Dataset`.

- `csv`: the data directory of RUNTIME.md (accounts.csv, team.csv, metrics.csv,
  events.csv, optional pools.csv), or the same tables as Parquet files (`frame`);
- `sql`: an SQLite or DuckDB file holding the same tables.

`open_source(location)` picks one from the location's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from csdsl_runtime.artifact import DataSchema
from csdsl_runtime.data import Dataset
from csdsl_runtime.sources.builder import SourceError


def read_dataset(location: str | Path, schema: DataSchema,
                 tables: Sequence[str] | None = None) -> Dataset:
    """Read and validate a data set row by row: a CSV or Parquet directory, or an
    SQLite/DuckDB file (`frame.read_frame` reads it columnar). `tables` (of a
    directory): only those, such as the accounts, team and pools a run acts on when
    another system evaluates the metrics and events."""
    path = Path(location)
    if path.is_dir():
        if not (path / "accounts.csv").is_file() and (path / "accounts.parquet").is_file():
            from csdsl_runtime.frame import read_parquet_dir

            return read_parquet_dir(path, schema, tables=tables)
        from csdsl_runtime.sources.csv import read_csv_dir

        return read_csv_dir(path, schema, tables=tables)
    if path.is_file():
        from csdsl_runtime.sources.sql import read_sql_file

        return read_sql_file(path, schema)
    raise SourceError(
        f"no data at `{location}`: expected a directory of CSV files or a database file"
    )


__all__ = ["SourceError", "read_dataset"]
