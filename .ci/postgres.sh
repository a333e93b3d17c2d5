#!/usr/bin/env bash
# A throw-away PostgreSQL server for the latency-store tests.
#   eval "$(.ci/postgres.sh)"        install the Debian package if missing, start a server in a
#                                    temporary folder (Unix socket only, no TCP port), create the
#                                    database "archrep", print the exports of
#                                    ARCHREP_TEST_POSTGRES_URL and ARCHREP_TEST_POSTGRES_DIR
#   .ci/postgres.sh stop             stop that server and delete its folder
# initdb refuses to run as root: as root the server runs as the "postgres" user of the package.
set -euo pipefail

as_user() {  # run a command as the server's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-start}" = stop ]; then
  dir=${ARCHREP_TEST_POSTGRES_DIR:?set by "eval \$(.ci/postgres.sh)"}
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
  exit 0
fi

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

dir=$(mktemp -d /tmp/archrep-pg.XXXXXX)
user=$(whoami)
if [ "$(id -u)" = 0 ]; then user=postgres; chown postgres: "$dir"; fi
as_user "$bin/initdb" -D "$dir/data" -U "$user" -A trust --no-sync >"$dir/initdb.log"
as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off" start >/dev/null
as_user "$bin/createdb" -h "$dir" -U "$user" archrep
echo "export ARCHREP_TEST_POSTGRES_URL='postgresql+psycopg://$user@/archrep?host=$dir'"
echo "export ARCHREP_TEST_POSTGRES_DIR='$dir'"
