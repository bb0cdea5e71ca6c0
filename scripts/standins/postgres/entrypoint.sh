#!/bin/bash
# The part of the official image's docker-entrypoint.sh the compose file relies on: first start initialises PGDATA
# with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD, creates POSTGRES_DB (default: the user's name), runs
# /docker-entrypoint-initdb.d/*.sql and *.sh on a server listening on its socket only, then starts for real.
# PGDATA may be a folder below a volume's mount point (it is created, mode 0700).
set -euo pipefail
# Flags alone (`-c max_connections=200`) are the server's, as there.
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
if [[ ${1:-} == postgres && ! -s $PGDATA/PG_VERSION ]]; then
  : "${POSTGRES_PASSWORD:?the stand-in, like the official image, needs POSTGRES_PASSWORD}"
  user=${POSTGRES_USER:-postgres}
  database=${POSTGRES_DB:-$user}
  mkdir -p "$PGDATA" && chmod 0700 "$PGDATA"
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") --auth-local=trust \
    --auth-host=scram-sha-256 >/dev/null
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  run_psql=(psql -v ON_ERROR_STOP=1 --username "$user" --no-password --no-psqlrc)
  [[ $database == postgres ]] || "${run_psql[@]}" --dbname postgres -c "CREATE DATABASE \"$database\"" >/dev/null
  # shellcheck disable=SC1090 # the init scripts the compose file mounts
  for file in /docker-entrypoint-initdb.d/*; do
    case $file in
      *.sql) echo "running $file"; "${run_psql[@]}" --dbname "$database" -f "$file" ;;
      *.sh) echo "running $file"; . "$file" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo 'PostgreSQL init process complete; ready for start up.'
fi
if [[ ${1:-} == postgres ]]; then
  shift
  exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
