"""The PostgreSQL store on a real server: the same results as SQLite, atomic runs, and
no duplicates when two hosts run the same day at once (enforced by the database).

Slow: a PostgreSQL server, and `csdsl run` on 6000 accounts as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csdsl_runtime import Runtime, open_store, read_dataset
from tests.pgserver import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.rtkit import ASOF
from tests.test_crash import RULES, _project

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def snapshot(url: str) -> list[tuple]:  # type: ignore[type-arg]
    """What a store holds, without ids: comparable across stores and runs."""
    store = open_store(url)
    try:
        return sorted(
            (c.rule, c.account_id, c.title, c.owner, c.due, c.status,
             tuple((t.key, t.owner, t.start, t.due, t.status) for t in c.tasks))
            for c in store.list_ctas()
        )
    finally:
        store.close()


def stored(url: str) -> list[tuple]:  # type: ignore[type-arg]
    """What a PostgreSQL store holds, looked at without changing it: a database without
    the tables (a run killed before its migration committed) holds nothing. (`snapshot`
    opens the store, which would create them.)"""
    import psycopg

    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('csdsl_ctas')").fetchone() == (None,):
            return []
    return snapshot(url)


def _start(project: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "csdsl"), "run", "spec", "--data", "data", "--as-of", ASOF.isoformat(),
         "--store", url, "--quiet"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="module")
def clean(project: Path) -> list[tuple]:  # type: ignore[type-arg]
    url = f"sqlite:///{project / 'clean.db'}"
    assert _start(project, url).wait(timeout=300) == 0
    return snapshot(url)


def test_a_run_on_postgres_equals_a_run_on_sqlite(
    project: Path, clean: list[tuple], postgres_url: str  # type: ignore[type-arg]  # noqa: F811
) -> None:
    proc = _start(project, postgres_url)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    assert snapshot(postgres_url) == clean
    again = _start(project, postgres_url)
    assert again.wait(timeout=300) == 0
    assert snapshot(postgres_url) == clean


def test_two_hosts_at_once_create_no_duplicates(
    project: Path, clean: list[tuple], postgres_url: str  # type: ignore[type-arg]  # noqa: F811
) -> None:
    open_store(postgres_url).close()  # tables exist before the race, as on a live system
    hosts = [_start(project, postgres_url) for _ in range(2)]
    assert [h.wait(timeout=300) for h in hosts] == [0, 0]
    assert snapshot(postgres_url) == clean


@pytest.mark.parametrize("fraction", [0.5, 0.8])
def test_a_killed_run_on_postgres_then_a_rerun_equals_a_clean_run(
    project: Path, clean: list[tuple], postgres_url: str, fraction: float  # type: ignore[type-arg]  # noqa: F811
) -> None:
    started = time.perf_counter()
    first = _start(project, f"sqlite:///{project / f'timing{fraction}.db'}")
    assert first.wait(timeout=300) == 0
    duration = time.perf_counter() - started
    victim = _start(project, postgres_url)
    time.sleep(duration * fraction)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    assert stored(postgres_url) in ([], clean)  # all or nothing
    assert _start(project, postgres_url).wait(timeout=300) == 0
    assert snapshot(postgres_url) == clean


def test_the_database_refuses_a_second_open_cta(
    tmp_path: Path, postgres_url: str  # noqa: F811
) -> None:
    import psycopg

    from tests.rtkit import Data, compile_spec_text

    artifact = compile_spec_text(tmp_path, RULES)
    data = Data().account("a1", name="A", arr="10")
    runtime = Runtime(artifact, read_dataset(data.write(tmp_path / "data"), artifact.schema_),
                      open_store(postgres_url))
    runtime.run(ASOF)
    with psycopg.connect(postgres_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO csdsl_ctas (rule, account_id, action, type, title, priority, status, "
            "created, due, spec_hash) VALUES ('everyone', 'a1', 0, 'risk', 't', 'low', 'open', "
            "'2026-11-20', '2026-11-20', 'x')"
        )
    (cta,) = runtime.store.list_ctas()
    runtime.store.close_cta(cta.id, "success", ASOF)  # type: ignore[arg-type]
    assert runtime.store.list_ctas()[0].outcome == "success"
    # still true on the close's own day: the rule has not re-armed (the arming row is
    # in PostgreSQL too), so no new one opens
    again = runtime.run(ASOF).rules[0]
    assert (again.opened, again.not_rearmed) == (0, 1)


def test_runs_of_different_days_at_once_pass_the_time_check_in_turn(
    tmp_path: Path, postgres_url: str  # noqa: F811
) -> None:
    """A host runs day 10 and, while its transaction is open, another runs day 9: the
    second waits for the run lock, then sees day 10 and is refused as out of order."""
    import threading
    from datetime import timedelta

    from csdsl_runtime.api import OutOfOrderError
    from tests.rtkit import Data, compile_spec_text

    artifact = compile_spec_text(tmp_path, RULES)
    data = read_dataset(Data().account("a1", name="A", arr="10").write(tmp_path / "data"),
                        artifact.schema_)
    first = open_store(postgres_url)
    outcome: list[BaseException | None] = []

    def earlier() -> None:
        try:
            Runtime(artifact, data, open_store(postgres_url)).run(ASOF - timedelta(days=1))
            outcome.append(None)
        except BaseException as exc:  # reported to the test thread
            outcome.append(exc)

    with first.transaction():
        first.lock_runs()
        first.start_run(ASOF, artifact.spec_hash, False)
        other = threading.Thread(target=earlier)
        other.start()
        other.join(timeout=2)
        assert other.is_alive()  # waiting for the lock, not past the check
    other.join(timeout=60)
    (found,) = outcome
    assert isinstance(found, OutOfOrderError), found
