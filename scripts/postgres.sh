#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, from Debian's packages.
#   scripts/postgres.sh start DIR   the first time: initdb on a free loopback port; then start it
#                                   (again on the same port); prints the URL
#   scripts/postgres.sh stop DIR    stop it (the caller removes DIR)
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
action=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$action" in
  start)
    if [ ! -d "$dir/data" ]; then
      mkdir -p "$dir"
      if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
      as_owner "$bin/initdb" -D "$dir/data" -U nodepulse --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
      python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$dir/port"
    fi
    port=$(cat "$dir/port")
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
    echo "postgres://nodepulse@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
