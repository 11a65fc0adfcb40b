"""The host API example of runtime/README.md runs as written, on the example data."""

from __future__ import annotations

import os
import re
from pathlib import Path

from csdsl.driver import compile_spec

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_host_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "runtime" / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    artifact, _ = compile_spec([ROOT / "examples" / "spec"])
    assert artifact is not None
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "spec.json").write_text(artifact.to_json(), encoding="utf-8")
    (tmp_path / "data").symlink_to(ROOT / "examples" / "data")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict[str, object] = {}
        exec(compile(code, "runtime/README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    store = namespace["store"]
    cta, plan = namespace["cta"], namespace["plan"]
    closed = {c.id: c for c in store.list_ctas()}  # type: ignore[attr-defined]
    assert closed[cta.id].status == "closed" and closed[cta.id].outcome == "success"  # type: ignore[attr-defined]
    assert all(c.status == "closed" for c in closed.values()
               if c.plan_id == plan.id)  # type: ignore[attr-defined]
