#!/usr/bin/env bash
# Enable MariaDB/MySQL performance_schema statement digests for the capture tests
# (events_statements_summary_by_digest). performance_schema can only be switched on at server
# start, so this writes an option file the server reads and restarts the server, but only when
# performance_schema is currently OFF. Idempotent: a second run changes nothing.
#
# Environment: MYSQL_HOST (127.0.0.1), MYSQL_PORT (3306), MYSQL_USER (root), MYSQL_PWD (empty),
# MARIADBD (/usr/sbin/mariadbd).
set -euo pipefail

host=${MYSQL_HOST:-127.0.0.1}
port=${MYSQL_PORT:-3306}
user=${MYSQL_USER:-root}
server=${MARIADBD:-/usr/sbin/mariadbd}
[ -x "$server" ] || server=/usr/sbin/mysqld
client=$(command -v mariadb || command -v mysql)
admin=$(command -v mariadb-admin || command -v mysqladmin)
conn=(-h"$host" -P"$port" -u"$user")

log() { printf 'mysql-test-setup: %s\n' "$*"; }

ping() { "$admin" "${conn[@]}" ping >/dev/null 2>&1; }

# --- where the server reads option files ------------------------------------------------------
# `mariadbd --help --verbose` names the default option files; a directory counts when one of them
# includes it with `!includedir`.
mapfile -t option_files < <("$server" --help --verbose 2>/dev/null |
  awk '/Default options are read from/ {getline; print; exit}' | tr ' ' '\n' | sed '/^$/d')
[ ${#option_files[@]} -gt 0 ] || option_files=(/etc/my.cnf /etc/mysql/my.cnf)

conf_dir=
for f in "${option_files[@]}"; do
  [ -f "$f" ] || continue
  while read -r dir; do
    dir=${dir%/}
    case "$dir" in
    *mariadb.conf.d | *conf.d) conf_dir=$dir ;;
    esac
    [ -n "$conf_dir" ] && break
  done < <(sed -n 's/^[[:space:]]*!includedir[[:space:]]\{1,\}//p' "$f")
  [ -n "$conf_dir" ] && break
done

if [ -z "$conf_dir" ]; then
  # No include directory is read: add Debian's usual one to the main option file.
  main=
  for f in /etc/mysql/my.cnf /etc/my.cnf; do
    if [ -f "$f" ]; then
      main=$f
      break
    fi
  done
  [ -n "$main" ] || main=/etc/mysql/my.cnf
  conf_dir=/etc/mysql/mariadb.conf.d
  mkdir -p "$conf_dir"
  if ! grep -qs "^[[:space:]]*!includedir[[:space:]]\+$conf_dir/\?[[:space:]]*$" "$main"; then
    log "adding !includedir $conf_dir/ to $main"
    printf '\n# Added by Persona Studio scripts/mysql-test-setup.sh\n!includedir %s/\n' \
      "$conf_dir" >>"$main"
  fi
fi
mkdir -p "$conf_dir"

conf="$conf_dir/60-persona-performance-schema.cnf"
want=$(
  cat <<'EOF'
# Written by Persona Studio scripts/mysql-test-setup.sh: statement digests for capture tests.
[mysqld]
performance_schema = ON
performance-schema-instrument = 'statement/%=ON'
performance-schema-consumer-events-statements-current = ON
performance-schema-consumer-statements-digest = ON
EOF
)
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  log "writing $conf"
  printf '%s\n' "$want" >"$conf"
fi

# --- restart only when performance_schema is OFF ----------------------------------------------
if ! ping; then
  log "server not answering at $host:$port; starting it"
else
  state=$("$client" "${conn[@]}" -N -B -e 'SELECT @@performance_schema' 2>/dev/null || echo "?")
  if [ "$state" = "1" ] || [ "$state" = "ON" ]; then
    log "performance_schema is ON; nothing to do"
    exit 0
  fi
  log "performance_schema is OFF; restarting the server"
  "$admin" "${conn[@]}" shutdown
  for _ in $(seq 1 60); do
    ping || break
    sleep 1
  done
fi

# The pid file named in the server's options tells start-stop-daemon which instance is ours
# (another mariadbd may run on another port).
pidfile=$("$server" --print-defaults 2>/dev/null | tr ' ' '\n' | sed -n 's/^--pid-file=//p' | tail -n1)
pidfile=${pidfile:-/run/mysqld/mysqld.pid}
mkdir -p "$(dirname "$pidfile")"
if id mysql >/dev/null 2>&1; then chown mysql: "$(dirname "$pidfile")" 2>/dev/null || true; fi
for _ in $(seq 1 30); do
  [ -e "$pidfile" ] || break
  sleep 1
done
start-stop-daemon --start --oknodo --background --pidfile "$pidfile" --exec "$server"
for _ in $(seq 1 60); do
  ping && break
  sleep 1
done
ping || {
  log "server did not come back"
  exit 1
}
state=$("$client" "${conn[@]}" -N -B -e 'SELECT @@performance_schema')
log "performance_schema = $state"
[ "$state" = "1" ] || [ "$state" = "ON" ]
