"""A real, throwaway PostgreSQL server for tests.

``start_postgres(base_dir)`` runs ``initdb`` into a fresh directory, starts the server with
``pg_ctl`` on a free TCP port on 127.0.0.1 (unix socket inside that directory, durability
off for speed, ``trust`` authentication), creates a database and returns a ``PgServer``
with ``.url`` and ``.stop()``. ``fresh_database(server)`` makes another, uniquely named
database and returns its URL: tests isolate by database, not by server.

Fixtures (import them into a test module; both names are needed)::

    from tests.pgserver import postgres_server, postgres_url  # noqa: F401 - fixtures

``postgres_server`` is session-scoped (one server per pytest process, however many
modules import it; stopped at session end, also when tests fail); ``postgres_url`` gives
each test a fresh database and drops it afterwards. Without PostgreSQL binaries, or when
the server cannot start, the tests are skipped with the reason, unless
``CSDSL_REQUIRE_POSTGRES=1`` (CI), which turns that into a failure with the server log tail.

Environment:
  CSDSL_TEST_POSTGRES_URL  use this server (it needs CREATEDB) instead of starting one
  CSDSL_PG_BINDIR          the directory with initdb/pg_ctl (default: the newest
                           /usr/lib/postgresql/*/bin, else ``pg_config --bindir``, else
                           initdb on PATH)
  CSDSL_REQUIRE_POSTGRES   1: fail instead of skip when no server is available

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system user
(Debian's package creates it; if it is missing, a ``csdsl-pg`` system user is created),
through ``runuser`` (or ``su``), in a directory under the system temp dir owned by it.
A small watchdog process stops the server and removes its directory if the Python process
that started it dies without calling ``stop()`` (e.g. SIGKILL).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

__all__ = [
    "PgServer",
    "PgServerError",
    "drop_database",
    "find_bindir",
    "fresh_database",
    "postgres_server",
    "postgres_url",
    "start_postgres",
]

DB_USER = "postgres"  # the database superuser initdb creates (independent of the OS user)
FALLBACK_OS_USER = "csdsl-pg"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
}


class PgServerError(RuntimeError):
    """The server could not be found or started; ``log_tail`` holds the end of its log."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.reason = message
        self.log_tail = log_tail

    def __str__(self) -> str:
        if not self.log_tail:
            return self.reason
        return f"{self.reason}\n--- server log (tail) ---\n{self.log_tail}"


@dataclass
class PgServer:
    """A running server. ``url`` is its main database; ``stop()`` is idempotent."""

    url: str
    admin_url: str  # where CREATE/DROP DATABASE are issued from
    host: str = "127.0.0.1"
    port: int = 0
    dbname: str = ""
    bindir: Path | None = None
    root: Path | None = None  # None: not ours (CSDSL_TEST_POSTGRES_URL)
    startup_seconds: float = 0.0
    pid: int | None = None
    _stop_cmd: list[str] = field(default_factory=list, repr=False)
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def logfile(self) -> Path | None:
        return None if self.root is None else self.root / "postgres.log"

    def url_for(self, dbname: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + dbname))

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.logfile, lines)

    def stop(self, remove: bool = True) -> None:
        """Stop the server (immediate shutdown: it is throwaway) and remove its directory."""
        if self._stopped or self.root is None:
            self._stopped = True
            return
        self._stopped = True
        if self._watchdog is not None:
            self._watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(timeout=10)
            if self._watchdog.stdin is not None:
                self._watchdog.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            subprocess.run(self._stop_cmd, cwd=self.root, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60, check=False)
        if self.pid is not None and _alive(self.pid):  # pg_ctl failed: do not leave it behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


# --- finding the binaries and the user ---------------------------------------------------

def _has_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in path.parent.name.split("."))
    except ValueError:
        return (-1,)


def find_bindir() -> Path:
    """The PostgreSQL server binaries' directory (see the module docstring for the order)."""
    override = os.environ.get("CSDSL_PG_BINDIR")
    if override:
        if not _has_tools(Path(override)):
            raise PgServerError(
                f"CSDSL_PG_BINDIR={override!r} does not contain executable initdb, pg_ctl "
                "and postgres"
            )
        return Path(override)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bindir in debian:
        if _has_tools(bindir):
            return bindir
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            if out and _has_tools(Path(out)):
                return Path(out)
    initdb = shutil.which("initdb")
    if initdb and _has_tools(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    raise PgServerError(
        "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin, "
        "pg_config --bindir and PATH); install them (Debian: apt-get install postgresql) "
        "or set CSDSL_PG_BINDIR"
    )


def _os_user() -> str | None:
    """The unprivileged user to run the server as, or None to run it as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_OS_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
        capture_output=True, text=True, check=False,
    )
    try:  # another process may have created it meanwhile: the user existing is what counts
        pwd.getpwnam(FALLBACK_OS_USER)
    except KeyError:
        raise PgServerError(
            f"running as root, and no 'postgres' user; creating {FALLBACK_OS_USER!r} failed: "
            f"{proc.stderr.strip() or proc.returncode}"
        ) from None
    return FALLBACK_OS_USER


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    runuser = shutil.which("runuser") or ("/usr/sbin/runuser" if os.path.exists(
        "/usr/sbin/runuser") else None)
    if runuser:
        return [runuser, "-u", user, "--", *cmd]
    su = shutil.which("su")
    if su:
        return [su, "-s", "/bin/sh", "-c", "exec " + shlex.join(cmd), user]
    raise PgServerError("running as root, and neither runuser nor su is available")


# --- small helpers -----------------------------------------------------------------------

def _tail(path: Path | None, lines: int) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _conf_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _make_root(base_dir: Path, user: str | None) -> Path:
    """A fresh directory for the cluster, owned by (and reachable for) ``user``."""
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="pg-", dir=base_dir))
    # the socket path (<root>/sock/.s.PGSQL.<port>.lock) must fit in sun_path (108 bytes)
    too_long = len(str(root)) > 80
    if user is not None and not too_long:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
        reachable = subprocess.run(_as_user(["test", "-w", str(root), "-a", "-x", str(root)],
                                            user), cwd="/", check=False).returncode == 0
        if reachable:
            return root
    elif user is None and not too_long:
        return root
    # pytest's base temp is 0700 root-owned (or the path is too long): use the system temp dir
    shutil.rmtree(root, ignore_errors=True)
    root = Path(tempfile.mkdtemp(prefix="csdsl-pg-"))
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    return root


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)


_WATCHDOG = r"""
import json, shutil, subprocess, sys
stop, root = json.loads(sys.argv[1]), sys.argv[2]
try:
    sys.stdin.buffer.read()  # EOF: the process that started the server is gone
except BaseException:
    pass
subprocess.run(stop, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, timeout=60, check=False)
shutil.rmtree(root, ignore_errors=True)
"""


def _spawn_watchdog(stop_cmd: list[str], root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, json.dumps(stop_cmd), str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd="/", start_new_session=True,  # survives the terminal's Ctrl-C; pytest cleans up
    )


def _execute(url: str, sql: str, timeout: float = 30.0) -> None:
    """Run one statement outside a transaction, retrying while the server warms up."""
    try:
        import psycopg
    except ImportError:
        _psql(url, sql)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.encode())
            return
        except psycopg.OperationalError:  # e.g. "the database system is starting up"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _psql(url: str, sql: str) -> None:
    psql = shutil.which("psql")
    with contextlib.suppress(PgServerError):
        psql = str(find_bindir() / "psql")
    if not psql:
        raise PgServerError("neither psycopg nor psql is available")
    proc = subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PgServerError(f"psql failed: {proc.stderr.strip()}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the API -----------------------------------------------------------------------------

def start_postgres(base_dir: Path, *, dbname: str = "csdsl", timeout: float = 60.0) -> PgServer:
    """Start a throwaway server in a new directory under ``base_dir`` (as root: under the
    system temp dir, which the ``postgres`` user can reach) and create ``dbname``."""
    started = time.monotonic()
    bindir = find_bindir()
    user = _os_user()
    root = _make_root(Path(base_dir), user)
    data, sock, log = root / "data", root / "sock", root / "postgres.log"
    server: PgServer | None = None
    try:
        sock.mkdir()
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(sock, pw.pw_uid, pw.pw_gid)
        proc = _run(_as_user([str(bindir / "initdb"), "-D", str(data), "-U", DB_USER,
                              "-A", "trust", "-E", "UTF8", "--locale=C", "-N"], user),
                    root, timeout)
        if proc.returncode != 0:
            raise PgServerError(f"initdb ({bindir}) failed with exit code {proc.returncode}",
                                "\n".join((proc.stdout + proc.stderr).splitlines()[-40:]))
        settings = {**SETTINGS, "unix_socket_directories": str(sock)}
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# csdsl tests (tests/pgserver.py)\n")
            conf.writelines(f"{k} = {_conf_value(v)}\n" for k, v in settings.items())
        pg_ctl = str(bindir / "pg_ctl")
        stop_cmd = _as_user([pg_ctl, "stop", "-D", str(data), "-m", "immediate", "-w",
                             "-t", "30"], user)
        for attempt in range(5):
            port = _free_port()  # another process may take it before postgres binds: retry
            proc = _run(_as_user([pg_ctl, "start", "-D", str(data), "-l", str(log), "-w",
                                  "-t", str(int(timeout)), "-o", f"-p {port}"], user),
                        root, timeout + 10)
            if proc.returncode == 0:
                break
            subprocess.run(stop_cmd, cwd=root, capture_output=True, check=False, timeout=60)
            if attempt < 4 and "could not bind" in _tail(log, 20):
                continue
            raise PgServerError(
                f"pg_ctl start ({bindir}) failed with exit code {proc.returncode}: "
                f"{(proc.stdout + proc.stderr).strip()}", _tail(log, 40))
        url = f"postgresql://{DB_USER}@127.0.0.1:{port}/{dbname}"
        server = PgServer(url=url, admin_url="", port=port, dbname=dbname, bindir=bindir,
                          root=root, _stop_cmd=stop_cmd)
        server.admin_url = server.url_for("postgres")
        with contextlib.suppress(OSError, ValueError):
            server.pid = int((data / "postmaster.pid").read_text().split()[0])
        server._watchdog = _spawn_watchdog(stop_cmd, root)
        atexit.register(server.stop)
        try:
            _execute(server.admin_url, f"CREATE DATABASE {_ident(dbname)}", timeout)
        except Exception as exc:
            raise PgServerError(f"the server does not accept connections on {url}: {exc}",
                                server.log_tail()) from exc
        server.startup_seconds = time.monotonic() - started
        return server
    except BaseException:
        if server is not None:
            server.stop()
        else:
            shutil.rmtree(root, ignore_errors=True)
        raise


def external_server(url: str) -> PgServer:
    """A server we did not start (``CSDSL_TEST_POSTGRES_URL``); ``stop()`` leaves it alone."""
    parts = urlsplit(url)
    return PgServer(url=url, admin_url=url, host=parts.hostname or "", port=parts.port or 5432,
                    dbname=parts.path.lstrip("/"))


def fresh_database(server: PgServer, prefix: str = "t") -> str:
    """Create a new, uniquely named database on ``server`` and return its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _execute(server.admin_url, f"CREATE DATABASE {_ident(name)}")
    return server.url_for(name)


def drop_database(server: PgServer, url: str) -> None:
    """Drop the database ``url`` names (disconnecting its clients); best effort."""
    name = urlsplit(url).path.lstrip("/")
    try:
        _execute(server.admin_url, f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    except Exception:  # before PostgreSQL 13 there is no FORCE; a leftover database is fine
        with contextlib.suppress(Exception):
            _execute(server.admin_url, f"DROP DATABASE IF EXISTS {_ident(name)}")


# --- pytest fixtures ---------------------------------------------------------------------

def postgres_required() -> bool:
    return os.environ.get("CSDSL_REQUIRE_POSTGRES", "").strip().lower() in ("1", "true", "yes")


# Each module that imports the fixture registers its own copy with pytest; they share one
# server, stopped when the last copy is torn down (all at session end).
_shared: dict[str, object] = {"server": None, "error": None, "users": 0}


def _unavailable(error: PgServerError) -> None:
    if postgres_required():
        pytest.fail(f"PostgreSQL is required (CSDSL_REQUIRE_POSTGRES=1) but unavailable: "
                    f"{error}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {error.reason}")


def _acquire(tmp_path_factory: pytest.TempPathFactory) -> PgServer:
    if _shared["server"] is None and _shared["error"] is None:
        try:
            env_url = os.environ.get("CSDSL_TEST_POSTGRES_URL")
            if env_url:
                server = external_server(env_url)
                try:
                    _execute(server.admin_url, "SELECT 1", timeout=5)
                except Exception as exc:
                    raise PgServerError(
                        f"CSDSL_TEST_POSTGRES_URL: cannot connect: {exc}") from None
            else:
                server = start_postgres(tmp_path_factory.mktemp("pgserver"))
            _shared["server"] = server
        except PgServerError as error:
            _shared["error"] = error
        except Exception as exc:  # anything unexpected: the same treatment, with the reason
            _shared["error"] = PgServerError(f"{type(exc).__name__}: {exc}")
    if isinstance(_shared["error"], PgServerError):  # outside the except: no chained noise
        _unavailable(_shared["error"])
    _shared["users"] = int(_shared["users"]) + 1  # type: ignore[call-overload]
    return _shared["server"]  # type: ignore[return-value]


def _release() -> None:
    _shared["users"] = int(_shared["users"]) - 1  # type: ignore[call-overload]
    server = _shared["server"]
    if _shared["users"] == 0 and isinstance(server, PgServer):
        _shared["server"] = None
        server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """One server for the session (or CSDSL_TEST_POSTGRES_URL's); skip/fail if unavailable."""
    server = _acquire(tmp_path_factory)
    try:
        yield server
    finally:
        _release()


@pytest.fixture
def postgres_url(postgres_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server for this test; dropped afterwards."""
    url = fresh_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(postgres_server, url)

