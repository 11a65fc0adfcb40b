"""A run killed at any point leaves the store as if it never started: the next run
produces exactly the CTAs of a clean run, none twice, none lost.

Slow: each killed-run test runs `csdsl run` on 6000 accounts three times, as processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.rtkit import ASOF, Data, compile_spec_text

BIN = Path(sys.executable).parent

RULES = """
playbook Check {
  task one "First {{ account.name }}" { day 1  owner CSM }
  task two "Second" { day 3  after one  owner AE or CSM }
}
rule everyone "Everyone" {
  when arr > 0
  then cta activity "Check {{ account.name }}"
  owner CSM
  playbook Check
}
rule half { when arr > 5000  then cta risk "Half {{ account.id }}"  playbook Check }
"""

ACCOUNTS = 6000


def _project(tmp_path: Path) -> Path:
    compile_spec_text(tmp_path, RULES)
    data = Data()
    for i in range(ACCOUNTS):
        data.account(f"acc{i:05d}", name=f"Account {i}", arr=str(i * 2))
        data.team.append((f"acc{i:05d}", "CSM", f"csm{i % 17}@example.com"))
    data.write(tmp_path / "data")
    return tmp_path


def _start(project: Path, store: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "csdsl"), "run", "spec", "--data", "data", "--as-of", ASOF.isoformat(),
         "--store", f"sqlite:///{store}", "--quiet"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _snapshot(path: Path) -> list[tuple]:  # type: ignore[type-arg]
    """The stored CTAs with their tasks; a store without tables holds none: a run killed
    before its migration committed leaves the file (SQLite creates it on connecting)."""
    conn = sqlite3.connect(path)
    try:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")} & {"csdsl_ctas", "csdsl_tasks"}
        if not tables:
            return []
        assert len(tables) == 2, f"half a migration: only {tables}"  # it is one transaction
        rows = conn.execute(
            "SELECT c.rule, c.account_id, c.title, c.owner, c.due, c.status, "
            "group_concat(t.key || ':' || t.owner || ':' || t.due, ',') "
            "FROM csdsl_ctas c JOIN csdsl_tasks t ON t.cta_id = c.id "
            "GROUP BY c.id ORDER BY c.rule, c.account_id"
        ).fetchall()
    finally:
        conn.close()
    return rows


def test_a_store_killed_before_its_migration_holds_nothing(tmp_path: Path) -> None:
    """What a kill between connecting and the migration's commit leaves: a file, no tables."""
    from csdsl_runtime.stores.sqlite import connect_sqlite

    connect_sqlite(f"sqlite:///{tmp_path / 'crash.db'}").close()
    assert _snapshot(tmp_path / "crash.db") == []


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8, 0.95])
def test_a_killed_run_then_a_rerun_equals_a_clean_run(tmp_path: Path, fraction: float) -> None:
    project = _project(tmp_path)
    started = time.perf_counter()
    assert _start(project, "clean.db").wait(timeout=300) == 0
    duration = time.perf_counter() - started
    clean = _snapshot(project / "clean.db")
    assert len(clean) == ACCOUNTS - 1 + (ACCOUNTS - 2501)

    victim = _start(project, "crash.db")
    time.sleep(duration * fraction)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    if (project / "crash.db").exists():
        after_kill = _snapshot(project / "crash.db")
        assert after_kill in ([], clean)  # all or nothing
    assert _start(project, "crash.db").wait(timeout=300) == 0
    assert _snapshot(project / "crash.db") == clean
