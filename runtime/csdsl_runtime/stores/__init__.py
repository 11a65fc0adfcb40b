"""CTA stores, chosen by URL: SQLite (built in, the default) or PostgreSQL.

`sqlite:///csdsl.db` (relative), `sqlite:////abs/path.db`, a bare file path, or
`postgresql://user@host:port/db`. Both speak the same SQL (`stores.sql.SqlStore`);
the database enforces "one open CTA per (rule, account)" with a partial unique index,
so that concurrent hosts cannot create duplicates. `Store` is the protocol a run
needs of a store (`stores.base`).
"""

from __future__ import annotations

from csdsl_runtime.records import CtaRecord, PlanRecord, TaskRecord
from csdsl_runtime.stores.base import Store
from csdsl_runtime.stores.sql import SqlStore, StoreError

DEFAULT_STORE_URL = "sqlite:///csdsl.db"


def open_store(url: str = DEFAULT_STORE_URL) -> SqlStore:
    """Connect to the store at `url` and create or migrate its tables."""
    if url.startswith(("postgresql://", "postgres://")):
        from csdsl_runtime.stores.postgres import connect_postgres

        return SqlStore(connect_postgres(url), "postgres", url)
    from csdsl_runtime.stores.sqlite import connect_sqlite

    return SqlStore(connect_sqlite(url), "sqlite", url)


__all__ = [
    "DEFAULT_STORE_URL",
    "CtaRecord",
    "PlanRecord",
    "SqlStore",
    "Store",
    "StoreError",
    "TaskRecord",
    "open_store",
]
