#!/usr/bin/env bash
# A throwaway PostgreSQL server for manual runs, the same kind the tests start themselves
# (tests/pgserver.py): initdb into DIR/data, listen on a free port on 127.0.0.1 (unix
# socket in DIR/sock), fsync/full_page_writes/synchronous_commit off, trust authentication.
#
#   bash .ci/postgres.sh start DIR    # prints postgresql://postgres@127.0.0.1:PORT/csdsl
#   bash .ci/postgres.sh url DIR      # prints it again (also in DIR/url)
#   bash .ci/postgres.sh stop DIR     # stops the server; then `rm -rf DIR` if you like
#
# e.g.  url=$(bash .ci/postgres.sh start /tmp/csdsl-pg)
#       csdsl run spec --data data --store "$url"
#       CSDSL_TEST_POSTGRES_URL=$url python -m pytest tests/test_postgres_store.py
#       bash .ci/postgres.sh stop /tmp/csdsl-pg
#
# DIR must not exist yet (or be empty) for start. Binaries: $CSDSL_PG_BINDIR, else the newest
# /usr/lib/postgresql/*/bin, else `pg_config --bindir`, else initdb on PATH (Debian:
# apt-get install postgresql). PostgreSQL refuses to run as root: as root, the server runs
# as the `postgres` user (created by Debian's package; else a `csdsl-pg` system user is
# created) via runuser, and DIR (with its parents) must be reachable by it, e.g. under /tmp.
# Log: DIR/postgres.log.
set -euo pipefail

usage() { echo "usage: bash $0 start|stop|url DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(realpath -m -- "$2")

has_tools() { [ -x "$1/initdb" ] && [ -x "$1/pg_ctl" ] && [ -x "$1/postgres" ]; }

find_bindir() {
  if [ -n "${CSDSL_PG_BINDIR:-}" ]; then
    has_tools "$CSDSL_PG_BINDIR" && { echo "$CSDSL_PG_BINDIR"; return; }
    echo "CSDSL_PG_BINDIR=$CSDSL_PG_BINDIR does not contain executable initdb, pg_ctl and postgres" >&2
    return 1
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    has_tools "$d" && { echo "$d"; return; }
  done
  if command -v pg_config >/dev/null && d=$(pg_config --bindir 2>/dev/null) && has_tools "$d"; then
    echo "$d"; return
  fi
  if d=$(command -v initdb) && d=$(dirname "$(realpath "$d")") && has_tools "$d"; then
    echo "$d"; return
  fi
  echo "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin, pg_config --bindir and PATH); install them (Debian: apt-get install postgresql) or set CSDSL_PG_BINDIR" >&2
  return 1
}

# as root, run a command as the unprivileged server user; otherwise as ourselves
os_user=""
if [ "$(id -u)" -eq 0 ]; then
  if id postgres >/dev/null 2>&1; then
    os_user=postgres
  else
    os_user=csdsl-pg
    id "$os_user" >/dev/null 2>&1 || useradd --system --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin "$os_user"
  fi
fi
as_user() {
  if [ -z "$os_user" ]; then
    "$@"
  elif command -v runuser >/dev/null; then
    runuser -u "$os_user" -- "$@"
  else
    su -s /bin/sh -c "exec $(printf '%q ' "$@")" "$os_user"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 40000))
}

case $cmd in
start)
  bindir=$(find_bindir)
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "$dir is not empty: stop its server and remove it first (or use another DIR)" >&2
    exit 1
  fi
  mkdir -p "$dir/sock"
  [ -z "$os_user" ] || chown "$os_user:" "$dir" "$dir/sock"
  if ! as_user test -w "$dir" -a -x "$dir"; then
    echo "$dir is not writable for user $os_user (its parents must be reachable too): use e.g. /tmp/csdsl-pg" >&2
    exit 1
  fi
  cd "$dir"  # the server user may not be able to read our working directory
  if ! out=$(as_user "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C -N 2>&1); then
    echo "$out" >&2; echo "initdb ($bindir) failed" >&2; exit 1
  fi
  {
    echo
    echo "# csdsl manual server (.ci/postgres.sh)"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '${dir//\'/\'\'}/sock'"
    echo "fsync = off"
    echo "full_page_writes = off"
    echo "synchronous_commit = off"
    echo "max_connections = 200"
  } >> "$dir/data/postgresql.conf"
  started=""
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_user "$bindir/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
         -o "-p $port" >/dev/null; then
      started=1; break
    fi
    tail -n 5 "$dir/postgres.log" | grep -q "could not bind" || break
  done
  if [ -z "$started" ]; then
    echo "pg_ctl start ($bindir) failed; tail of $dir/postgres.log:" >&2
    tail -n 30 "$dir/postgres.log" >&2
    exit 1
  fi
  if ! as_user "$bindir/createdb" -h "$dir/sock" -p "$port" -U postgres csdsl; then
    as_user "$bindir/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null || true
    echo "createdb failed; tail of $dir/postgres.log:" >&2
    tail -n 30 "$dir/postgres.log" >&2
    exit 1
  fi
  url="postgresql://postgres@127.0.0.1:$port/csdsl"
  echo "$url" > "$dir/url"
  echo "$url"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] || { echo "no server running in $dir" >&2; exit 0; }
  bindir=$(find_bindir)
  cd "$dir"
  as_user "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null
  echo "stopped (remove $dir to discard its data)" >&2
  ;;
url)
  cat "$dir/url"
  ;;
*)
  usage
  ;;
esac
