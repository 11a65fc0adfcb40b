"""The throwaway PostgreSQL server the tests use (tests/pgserver.py): it works, databases
are isolated, it takes concurrent connections, it fails clearly, it leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.pgserver import (
    PgServer,
    PgServerError,
    drop_database,
    find_bindir,
    fresh_database,
    postgres_server,  # noqa: F401 - fixture
    postgres_url,  # noqa: F401 - fixture
    start_postgres,
)

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.slow  # PostgreSQL servers, started and killed; pytest in pytest
ROOT = Path(__file__).resolve().parent.parent
OWN_SERVER = not os.environ.get("CSDSL_TEST_POSTGRES_URL")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_fresh_database_takes_tables_and_rows(postgres_url: str) -> None:  # noqa: F811
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                            ).fetchone() == (0,)
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        conn.commit()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT name FROM t ORDER BY id").fetchall() == [("a",), ("b",)]


@pytest.mark.skipif(not OWN_SERVER, reason="CSDSL_TEST_POSTGRES_URL: not our server")
def test_the_url_names_a_local_tcp_server(postgres_server: PgServer) -> None:  # noqa: F811
    assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/csdsl", postgres_server.url)
    assert postgres_server.port > 0 and postgres_server.root is not None
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        assert int(conn.execute("SHOW max_connections").fetchone()[0]) >= 100


def test_two_databases_are_isolated(postgres_server: PgServer) -> None:  # noqa: F811
    one, two = fresh_database(postgres_server), fresh_database(postgres_server)
    try:
        assert one != two
        with psycopg.connect(one) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
            conn.execute("INSERT INTO only_here VALUES (1)")
        with psycopg.connect(two) as conn:
            assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
            conn.execute("CREATE TABLE only_here (x int)")  # the same name, no clash
            assert conn.execute("SELECT count(*) FROM only_here").fetchone() == (0,)
        with psycopg.connect(one) as conn:
            assert conn.execute("SELECT count(*) FROM only_here").fetchone() == (1,)
    finally:
        drop_database(postgres_server, one)
        drop_database(postgres_server, two)


def test_two_concurrent_connections(postgres_url: str) -> None:  # noqa: F811
    with psycopg.connect(postgres_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE claims (key text PRIMARY KEY, who text)")
    with psycopg.connect(postgres_url) as a, psycopg.connect(postgres_url) as b:
        a.execute("INSERT INTO claims VALUES ('k1', 'a')")
        assert b.execute("SELECT count(*) FROM claims").fetchone() == (0,)  # not committed
        b.rollback()
        # b tries the same key: it blocks on a's transaction, and loses when a commits
        outcome: list[object] = []

        def insert_from_b() -> None:
            try:
                b.execute("INSERT INTO claims VALUES ('k1', 'b')")
                b.commit()
                outcome.append("inserted")
            except psycopg.errors.UniqueViolation as exc:
                b.rollback()
                outcome.append(exc)

        thread = threading.Thread(target=insert_from_b)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()  # waiting for a's lock
        a.commit()
        thread.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], psycopg.errors.UniqueViolation)
        assert b.execute("SELECT key, who FROM claims").fetchall() == [("k1", "a")]


def test_many_connections_at_once(postgres_url: str) -> None:  # noqa: F811
    conns = [psycopg.connect(postgres_url, autocommit=True) for _ in range(20)]
    try:
        pids = {c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in conns}
        assert len(pids) == 20
    finally:
        for c in conns:
            c.close()


# --- start/stop on its own (a second, short-lived server) --------------------------------

def _binaries_or_skip() -> None:
    try:
        find_bindir()
    except PgServerError as exc:
        if os.environ.get("CSDSL_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(str(exc))


def test_stop_leaves_no_process_and_no_directory(tmp_path: Path) -> None:
    _binaries_or_skip()
    server = start_postgres(tmp_path)
    try:
        assert server.pid is not None and _alive(server.pid)
        assert server.startup_seconds < 30
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("csdsl",)
    finally:
        server.stop()
    assert not _alive(server.pid)
    assert server.root is not None and not server.root.exists()
    server.stop()  # idempotent


def test_a_killed_test_process_leaves_no_server_behind(tmp_path: Path) -> None:
    _binaries_or_skip()
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from tests.pgserver import start_postgres
        s = start_postgres(Path({str(tmp_path)!r}))
        print(s.pid, s.root, flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line, "the child did not start a server"
        pid, root = int(line[0]), Path(line[1])
        assert _alive(pid)
    finally:
        child.send_signal(signal.SIGKILL)  # no atexit, no finally: only the watchdog is left
        child.wait(timeout=10)
    deadline = time.monotonic() + 30
    while (_alive(pid) or root.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the postmaster outlived the process that started it"
    assert not root.exists()


# --- no server: skip, or with CSDSL_REQUIRE_POSTGRES=1 fail clearly ----------------------

def test_a_bogus_bindir_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CSDSL_PG_BINDIR", str(tmp_path / "nowhere"))
    with pytest.raises(PgServerError, match=r"CSDSL_PG_BINDIR=.*nowhere.*initdb"):
        find_bindir()


@pytest.mark.parametrize("required", [False, True])
def test_without_a_server_tests_skip_or_in_ci_fail(tmp_path: Path, required: bool) -> None:
    (tmp_path / "test_uses_pg.py").write_text(textwrap.dedent("""
        from tests.pgserver import postgres_server, postgres_url  # noqa: F401

        def test_one(postgres_url):
            pass

        def test_two(postgres_url):
            pass
    """))
    env = {k: v for k, v in os.environ.items()
           if k not in ("CSDSL_TEST_POSTGRES_URL", "CSDSL_REQUIRE_POSTGRES")}
    env["CSDSL_PG_BINDIR"] = str(tmp_path / "bogus-bin")
    env["PYTHONPATH"] = str(ROOT)
    if required:
        env["CSDSL_REQUIRE_POSTGRES"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_uses_pg.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert "bogus-bin" in out and "initdb" in out, out
    if required:
        assert proc.returncode == 1, out
        assert "2 errors" in out and "CSDSL_REQUIRE_POSTGRES=1" in out, out
    else:
        assert proc.returncode == 0, out
        assert "2 skipped" in out, out
