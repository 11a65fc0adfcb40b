"""Run the real command lines in the test process, or (for a few smoke tests) as processes.

`csdsl(*args, cwd=...)` calls `csdsl.cli.main(argv)` with stdout and stderr captured,
in the given working directory and with `NO_COLOR=1`, and returns a `Result` with the
same `.returncode`, `.stdout` and `.stderr` a `subprocess.run(..., text=True)` gives.
`csdsl_runtime(...)` does the same for the stand-alone `csdsl-runtime` command.
`run(tool, *args, ...)` picks either by name; `spawn(tool, *args, ...)` runs the installed
console script as a real process, for the smoke tests that check the installation.

argparse ends bad usage, `--help` and `--version` with `SystemExit`: that becomes the
return code, as it would be a process's exit status.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
TOOLS = ("csdsl", "csdsl-runtime")


@dataclass(frozen=True)
class Result:
    """What a command run in-process returned and printed."""

    returncode: int
    stdout: str
    stderr: str


def _main_of(tool: str) -> Callable[[Sequence[str]], int]:
    # imported on use: a test module that only spawns processes does not need the compiler
    if tool == "csdsl":
        from csdsl.cli import main
    elif tool == "csdsl-runtime":
        from csdsl_runtime.cli import main
    else:
        raise ValueError(f"unknown tool {tool!r}: one of {TOOLS}")
    return main


def _exit_status(exc: SystemExit) -> int:
    """The status a process would exit with, as `sys.exit` maps its argument."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(f"{exc.code}\n")  # sys.exit("message"): printed, status 1
    return 1


@contextlib.contextmanager
def _environment(cwd: Path | str | None, env: Mapping[str, str | None]) -> Iterator[None]:
    """In `cwd` with `env` set (None: unset), both restored afterwards."""
    saved_cwd = os.getcwd()
    saved_env = {key: os.environ.get(key) for key in env}
    try:
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(tool: str, *args: str, cwd: Path | str | None = None,
        env: Mapping[str, str | None] | None = None) -> Result:
    """Run `tool ARGS...` in-process; `env` adds to (or, with None, removes from) the
    environment, after `NO_COLOR=1`."""
    main = _main_of(tool)
    out, err = io.StringIO(), io.StringIO()
    with _environment(cwd, {"NO_COLOR": "1", **(env or {})}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:
            status = _exit_status(exc)
    assert isinstance(status, int), f"{tool} main() returned {status!r}, not an exit status"
    return Result(status, out.getvalue(), err.getvalue())


def csdsl(*args: str, cwd: Path | str | None = None,
          env: Mapping[str, str | None] | None = None) -> Result:
    """`csdsl ARGS...`, in-process."""
    return run("csdsl", *args, cwd=cwd, env=env)


def csdsl_runtime(*args: str, cwd: Path | str | None = None,
                  env: Mapping[str, str | None] | None = None) -> Result:
    """`csdsl-runtime ARGS...`, in-process."""
    return run("csdsl-runtime", *args, cwd=cwd, env=env)


def spawn(tool: str, *args: str, cwd: Path | str | None = None,
          env: Mapping[str, str | None] | None = None,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`tool ARGS...` as a real process: the console script installed next to Python."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}: one of {TOOLS}")
    environ = {**os.environ, "NO_COLOR": "1"}
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run([str(BIN / tool), *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=timeout)
