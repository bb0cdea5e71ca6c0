#!/usr/bin/env bash
# Brings RabbitMQ, PostgreSQL and Redis up on 127.0.0.1 with known local credentials.
#   scripts/services.sh up|down|status|restart <rabbitmq|postgres|redis>
# On Debian/Ubuntu as root it installs what is missing with apt-get and starts
# each server without systemd. Running `up` twice is harmless: a server that
# already answers is left alone.
set -euo pipefail

readonly LOCAL_USER=warren
readonly LOCAL_PASSWORD=warren
readonly DATABASES=(warren_users warren_orders)
readonly AMQP_PORT=5672 MANAGEMENT_PORT=15672 PROMETHEUS_PORT=15692
readonly PG_PORT=5432 REDIS_PORT=6379

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Polls a probe until it succeeds; the probe is a real request, never a sleep alone.
wait_until() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not answer within ${seconds}s"
    sleep 0.3
  done
}

need_root() { [[ $(id -u) == 0 ]] || die "installing and starting services needs root (or start them yourself and set AMQP_URL, *_DATABASE_URL, REDIS_URL)"; }

apt_install() {
  local missing=()
  command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
  command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  ((${#missing[@]} == 0)) && return 0
  need_root
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} yourself"
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------- RabbitMQ ----------
rabbit_ctl() { rabbitmqctl -n rabbit@localhost "$@"; }
rabbit_answers() {
  curl -fsS -u "$LOCAL_USER:$LOCAL_PASSWORD" "http://127.0.0.1:$MANAGEMENT_PORT/api/aliveness-test/%2F" | grep -q '"ok"'
}
rabbit_has_user() { rabbit_ctl list_users --quiet | grep -q "^$LOCAL_USER\b"; }
rabbit_configure_files() {
  mkdir -p /etc/rabbitmq
  cat >/etc/rabbitmq/rabbitmq-env.conf <<CONF
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
CONF
  cat >/etc/rabbitmq/rabbitmq.conf <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MANAGEMENT_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $PROMETHEUS_PORT
CONF
  echo '[rabbitmq_management,rabbitmq_prometheus].' >/etc/rabbitmq/enabled_plugins
}
rabbit_up() {
  rabbit_answers 2>/dev/null && { log "rabbitmq already answers on 127.0.0.1:$AMQP_PORT"; return 0; }
  need_root
  rabbit_configure_files
  if ! rabbit_ctl status >/dev/null 2>&1; then
    log "starting rabbitmq"
    mkdir -p /var/log/rabbitmq && chown rabbitmq:rabbitmq /var/log/rabbitmq
    setsid su rabbitmq -s /bin/sh -c "cd /var/lib/rabbitmq && exec /usr/lib/rabbitmq/bin/rabbitmq-server" \
      >/var/log/rabbitmq/startup_log 2>&1 </dev/null &
  fi
  wait_until "rabbitmq node" 120 rabbit_ctl await_startup --timeout 5
  # The user survives restarts (the node's data stays); and right after start-up a CLI call can still fail, so a
  # refused add_user is fine once list_users shows the user.
  if ! rabbit_ctl add_user "$LOCAL_USER" "$LOCAL_PASSWORD" >/dev/null 2>&1; then
    wait_until "rabbitmq user $LOCAL_USER" 30 rabbit_has_user
  fi
  rabbit_ctl set_user_tags "$LOCAL_USER" administrator >/dev/null
  rabbit_ctl set_permissions -p / "$LOCAL_USER" '.*' '.*' '.*' >/dev/null
  wait_until "rabbitmq management api" 60 rabbit_answers
  log "rabbitmq up: amqp://$LOCAL_USER:***@127.0.0.1:$AMQP_PORT, management http://127.0.0.1:$MANAGEMENT_PORT, metrics http://127.0.0.1:$PROMETHEUS_PORT/metrics"
}
rabbit_down() { rabbit_ctl stop >/dev/null 2>&1 || true; }

# ---------- PostgreSQL ----------
pg_version() { ls /usr/lib/postgresql | sort -V | tail -n1; }
pg_answers() {
  PGPASSWORD=$LOCAL_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$LOCAL_USER" -d "${DATABASES[-1]}" -tAc 'select 1' | grep -q 1
}
as_postgres() { runuser -u postgres -- "$@"; }
pg_up() {
  pg_answers 2>/dev/null && { log "postgresql already answers on 127.0.0.1:$PG_PORT"; return 0; }
  need_root
  local version; version=$(pg_version)
  [[ -d /etc/postgresql/$version/main ]] || pg_createcluster "$version" main >/dev/null
  if ! pg_lsclusters -h | awk '$2=="main" && $4=="online"' | grep -q .; then
    log "starting postgresql $version"
    pg_ctlcluster "$version" main start
  fi
  wait_until "postgresql" 60 pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
  as_postgres psql -q -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$LOCAL_USER') THEN
    CREATE ROLE $LOCAL_USER LOGIN CREATEDB PASSWORD '$LOCAL_PASSWORD';
  END IF;
END \$\$;
SQL
  local database
  for database in "${DATABASES[@]}"; do
    if ! as_postgres psql -tAc "select 1 from pg_database where datname = '$database'" | grep -q 1; then
      as_postgres createdb -O "$LOCAL_USER" "$database"
    fi
  done
  wait_until "postgresql login as $LOCAL_USER" 30 pg_answers
  log "postgresql up: postgres://$LOCAL_USER:***@127.0.0.1:$PG_PORT/{${DATABASES[*]}}"
}
pg_down() { pg_ctlcluster "$(pg_version)" main stop >/dev/null 2>&1 || true; }

# ---------- Redis ----------
redis_answers() {
  if command -v redis-cli >/dev/null; then
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
  else # no redis-cli (Redis in a CI service container): the same PING over bash's /dev/tcp
    local reply=''
    { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3 && read -r -t 2 reply <&3
    exec 3>&-
    [[ $reply == +PONG* ]]
  fi
}
redis_up() {
  redis_answers && { log "redis already answers on 127.0.0.1:$REDIS_PORT"; return 0; }
  need_root
  log "starting redis"
  mkdir -p /var/lib/redis /var/log/redis && chown redis:redis /var/lib/redis /var/log/redis
  runuser -u redis -- redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --dir /var/lib/redis --logfile /var/log/redis/redis-server.log --save '' --appendonly no
  wait_until "redis" 30 redis_answers
  log "redis up: redis://127.0.0.1:$REDIS_PORT"
}
redis_down() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }

target_answers() {
  case $1 in
    all) rabbit_answers && pg_answers && redis_answers ;;
    rabbitmq) rabbit_answers ;; postgres) pg_answers ;; redis) redis_answers ;;
    *) return 1 ;;
  esac
}

status_line() {
  local name=$1 probe=$2
  if $probe >/dev/null 2>&1; then printf '%-10s up\n' "$name"; else printf '%-10s down\n' "$name"; return 1; fi
}

main() {
  local command=${1:-up} target=${2:-all}
  case $command in
    up)
      # Servers that already answer (another machine's, or CI's service containers) are left alone: nothing to
      # install, no root needed.
      if target_answers "$target" 2>/dev/null; then
        log "${target/#all/rabbitmq, postgresql and redis} already up on 127.0.0.1"
        return 0
      fi
      apt_install
      case $target in
        all) rabbit_up; pg_up; redis_up ;;
        rabbitmq) rabbit_up ;; postgres) pg_up ;; redis) redis_up ;;
        *) die "unknown service '$target'" ;;
      esac ;;
    down)
      case $target in
        all) redis_down; pg_down; rabbit_down ;;
        rabbitmq) rabbit_down ;; postgres) pg_down ;; redis) redis_down ;;
        *) die "unknown service '$target'" ;;
      esac
      log "stopped $target" ;;
    restart) main down "$target"; main up "$target" ;;
    status)
      local failed=0
      status_line rabbitmq rabbit_answers || failed=1
      status_line postgres pg_answers || failed=1
      status_line redis redis_answers || failed=1
      return $failed ;;
    *) die "usage: $0 up|down|status|restart [all|rabbitmq|postgres|redis]" ;;
  esac
}

main "$@"
