#!/usr/bin/env bash
# RabbitMQ 4.x, the broker the chart ships (docker-compose.yml's rabbitmq image; here the stand-in scripts/images.sh
# builds), in a container of its own on 127.0.0.1:5673 (AMQP) and 127.0.0.1:15673 (management), user warren/warren,
# for the RPC integration tests to run on it as well as on the local 3.10 (jest project `rpc-on-rabbitmq4`; the fault
# tests, project `faults-on-rabbitmq4`, start containers of the same image):
#   scripts/rabbitmq4.sh up       start it (the image must exist: scripts/images.sh backing) and wait until it answers
#   scripts/rabbitmq4.sh down     remove it
#   scripts/rabbitmq4.sh status   exit 0 when it is up and answers
#   scripts/rabbitmq4.sh env      the variables the jest project reads (WARREN_RABBITMQ4_*), for `eval`
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/docker.sh
docker() { command "$WARREN_DOCKER" "$@"; }
log() { printf '[rabbitmq4] %s\n' "$*" >&2; }

readonly NAME=warren-rabbitmq4 AMQP_PORT=5673 MANAGEMENT_PORT=15673
IMAGE=$(sed -n 's/^ *image: *\(rabbitmq:[^ ]*\) *$/\1/p' docker-compose.yml | head -1)
readonly IMAGE

answers() {
  docker exec "$NAME" rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 &&
    curl -fsS -u warren:warren "http://127.0.0.1:$MANAGEMENT_PORT/api/overview" >/dev/null 2>&1
}

up() {
  if docker container inspect "$NAME" >/dev/null 2>&1 && answers; then
    log "$IMAGE already answers on 127.0.0.1:$AMQP_PORT"
    return 0
  fi
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker image inspect "$IMAGE" >/dev/null 2>&1 || { log "no image $IMAGE: scripts/images.sh backing"; exit 1; }
  docker run -d --name "$NAME" \
    -p "127.0.0.1:$AMQP_PORT:5672" -p "127.0.0.1:$MANAGEMENT_PORT:15672" \
    -e RABBITMQ_DEFAULT_USER=warren -e RABBITMQ_DEFAULT_PASS=warren "$IMAGE" >/dev/null
  local started=$SECONDS
  until answers; do
    if ((SECONDS - started > 120)); then
      log "did not answer within 120 s:"
      docker logs --tail 40 "$NAME" >&2 || true
      exit 1
    fi
    sleep 1
  done
  log "$IMAGE ($(docker exec "$NAME" rabbitmqctl version 2>/dev/null || echo '?')) up on 127.0.0.1:$AMQP_PORT in $((SECONDS - started)) s"
}

down() { docker rm -f "$NAME" >/dev/null 2>&1 || true; }

env_lines() {
  echo "export WARREN_RABBITMQ4_AMQP_URL=amqp://warren:warren@127.0.0.1:$AMQP_PORT"
  echo "export WARREN_RABBITMQ4_MANAGEMENT_URL=http://warren:warren@127.0.0.1:$MANAGEMENT_PORT"
  echo "export WARREN_RABBITMQ4_IMAGE=$IMAGE"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) docker container inspect "$NAME" >/dev/null 2>&1 && answers ;;
  env) env_lines ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
