#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, on loopback only (Debian's package; no mock).
#   eval "$(bash scripts/ci-postgres.sh start)"   # exports KVMBENCH_TEST_POSTGRES_URL and KVMBENCH_CI_PG_DIR
#   bash scripts/ci-postgres.sh stop "$KVMBENCH_CI_PG_DIR"
# start: installs the `postgresql` package when initdb is missing (root), runs initdb into a
# temporary directory, starts the server on 127.0.0.1 with a free port (no TCP beyond
# loopback, its socket in the same directory), creates the database and prints the exports.
# As root the server runs as the `postgres` user the package creates (PostgreSQL refuses root).
set -euo pipefail

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && { echo "$d"; return 0; }; done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_owner() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    if ! bin=$(pg_bindir); then
      [[ $(id -u) == 0 ]] || { echo "ci-postgres: PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2; exit 1; }
      echo "ci-postgres: installing Debian's postgresql package" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
      bin=$(pg_bindir)
    fi
    dir=$(mktemp -d /tmp/kvmbench-ci-pg.XXXXXX)
    chmod 700 "$dir"
    [[ $(id -u) == 0 ]] && chown postgres: "$dir"
    port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    as_owner "$bin/initdb" -D "$dir/data" -U kvmbench --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U kvmbench kvmbench_test
    echo "ci-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)" >&2
    echo "export KVMBENCH_TEST_POSTGRES_URL=postgres://kvmbench@127.0.0.1:$port/kvmbench_test KVMBENCH_CI_PG_DIR=$dir"
    ;;
  stop)
    dir=${2:?usage: ci-postgres.sh stop DIR}
    bin=$(pg_bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: ci-postgres.sh start | stop DIR" >&2
    exit 2
    ;;
esac
