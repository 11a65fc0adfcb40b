"""The PostgreSQL connection, for hosts that share one database (psycopg 3)."""

from __future__ import annotations

from typing import Any

from csdsl_runtime.stores.sql import StoreError


def connect_postgres(url: str) -> Any:
    """Connect with autocommit off: the store opens one transaction per run."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "the PostgreSQL store needs psycopg: pip install 'csdsl-runtime[postgres]'"
        ) from None
    try:
        return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the store: {str(exc).strip()}") from None
