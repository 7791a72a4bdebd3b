#!/usr/bin/env bash
# Password authentication for the proxy tests: adds pg_hba.conf lines that make the roles
# persona_scram (scram-sha-256) and persona_md5 (md5) log in with a password over 127.0.0.1,
# ahead of every other line (so the trust lines do not win), then reloads PostgreSQL.
#
# Safe to run repeatedly: the block is added once (recognised by its marker line). Only those
# two role names are affected; trust authentication for everyone else (user postgres) stays as
# it was. The tests create the roles and set their passwords themselves.
#
# Usage: scripts/pg-test-auth.sh [URL]   (default: $PERSONA_TEST_PG_URL, else
#        postgres://postgres@127.0.0.1:5432/test). Needs superuser access over that URL and
#        write access to the server's pg_hba.conf (run it on the database machine, as root or
#        as the postgres user).
set -euo pipefail

url=${1:-${PERSONA_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}}
marker="# persona-test-auth (scripts/pg-test-auth.sh): password users for the proxy tests"

sql() { psql -qAtX -v ON_ERROR_STOP=1 "$url" -c "$1"; }

hba=$(sql "SHOW hba_file")
if [[ ! -f "$hba" ]]; then
  echo "pg-test-auth: $hba (the server's hba_file) is not on this machine" >&2
  exit 1
fi

if grep -qxF "$marker" "$hba"; then
  echo "pg-test-auth: $hba already has the proxy test lines"
else
  if [[ ! -w "$hba" ]]; then
    echo "pg-test-auth: cannot write $hba (run as root or as the postgres user)" >&2
    exit 1
  fi
  backup=$(mktemp)
  cp -p "$hba" "$backup"
  block=$(printf '%s\n%s\n%s' "$marker" \
    "host    all    persona_scram    127.0.0.1/32    scram-sha-256" \
    "host    all    persona_md5      127.0.0.1/32    md5")
  # Insert the block before the first rule (first line that is neither blank nor a comment);
  # at the end when the file has no rule. Rewriting in place keeps owner and mode.
  new=$(awk -v block="$block" '
    !done && $0 !~ /^[[:space:]]*(#|$)/ { print block; done = 1 }
    { print }
    END { if (!done) print block }
  ' "$hba")
  printf '%s\n' "$new" > "$hba"
  echo "pg-test-auth: added scram-sha-256 and md5 lines to $hba"
  if [[ $(sql "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL") != 0 ]]; then
    cat "$backup" > "$hba"
    rm -f "$backup"
    echo "pg-test-auth: the server rejects the edited $hba; restored the original" >&2
    exit 1
  fi
  rm -f "$backup"
fi

sql "SELECT pg_reload_conf()" >/dev/null
# The postmaster reloads asynchronously; give it a moment before anyone logs in.
sleep 0.5
echo "pg-test-auth: PostgreSQL reloaded"
