#!/usr/bin/env bash
# A container engine for the image and compose tests: Docker Engine, started here when none answers.
#   scripts/container-engine.sh up       exit 0 with an engine answering; exit 3 (and why) when none can start
#   scripts/container-engine.sh status
#   scripts/container-engine.sh down     stops the dockerd that `up` started (and the containerd it runs); an engine
#                                        this script did not start is left alone
# An engine that already answers (Docker Desktop, a system service, a CI runner's) is used as it is. Otherwise, as
# root on Debian/Ubuntu, Debian's docker.io (Docker Engine 20.10 with its containerd) is installed with apt-get and
# dockerd started in the background without systemd, logging to /var/log/warren-dockerd.log, its pid in
# /run/warren-dockerd.pid. Images and build cache stay in /var/lib/docker: the next `up` finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/docker.sh

log() { printf '[engine] %s\n' "$*" >&2; }
unavailable() { log "no container engine: $*"; exit 3; }

answers() { "$WARREN_DOCKER" info >/dev/null 2>&1; }
readonly PID_FILE=/run/warren-dockerd.pid

down() {
  [[ -f $PID_FILE ]] || return 0
  local pid
  pid=$(cat "$PID_FILE")
  if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]; then
    kill "$pid"
    # dockerd stops its containers and its containerd first; bounded all the same.
    local deadline=$((SECONDS + 30))
    while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.2; done
    [[ ! -e /proc/$pid ]] || { log "dockerd $pid did not stop within 30 s: killing it"; kill -9 "$pid"; }
    log "dockerd stopped"
  fi
  rm -f "$PID_FILE"
}

up() {
  if answers; then return 0; fi
  [[ $(id -u) == 0 ]] || unavailable "none answers, and starting dockerd needs root"
  if ! command -v dockerd >/dev/null; then
    command -v apt-get >/dev/null || unavailable "none answers, and without apt-get docker.io cannot be installed"
    log "installing docker.io with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1 || {
      apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    } || unavailable "apt-get could not install docker.io"
    source scripts/lib/docker.sh # the docker CLI of the package just installed
  fi
  log "starting dockerd"
  setsid dockerd >>/var/log/warren-dockerd.log 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + 60))
  until answers; do
    if ((SECONDS >= deadline)) || ! pgrep -x dockerd >/dev/null; then
      tail -n 5 /var/log/warren-dockerd.log >&2 || true
      unavailable "dockerd did not answer within 60 s (log above)"
    fi
    sleep 0.5
  done
  log "dockerd $("$WARREN_DOCKER" version --format '{{.Server.Version}}') answers"
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  status) answers && "$WARREN_DOCKER" version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})' ;;
  *) log "usage: $0 up|down|status"; exit 2 ;;
esac
