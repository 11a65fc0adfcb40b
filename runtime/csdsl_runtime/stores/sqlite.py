"""The SQLite connection of the default store: one file, one writer at a time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from csdsl_runtime.stores.sql import StoreError


def sqlite_path(url: str) -> str:
    """The file of an `sqlite:///relative`, `sqlite:////absolute` or bare-path URL."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if not path.startswith("/"):
            raise StoreError(f"bad SQLite URL `{url}`: use sqlite:///file.db or sqlite:////abs")
        path = path[1:]
        return path or ":memory:"
    if "://" in url:
        raise StoreError(f"unknown store URL `{url}`: use sqlite:///FILE or postgresql://...")
    return url


def connect_sqlite(url: str) -> sqlite3.Connection:
    """Open the file; transactions are explicit (BEGIN IMMEDIATE per run)."""
    path = sqlite_path(url)
    if path != ":memory:" and not Path(path).parent.exists():
        raise StoreError(f"cannot create the store `{path}`: no such directory")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store `{path}`: {exc}") from None
    return conn
