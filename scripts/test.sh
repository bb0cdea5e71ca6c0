#!/usr/bin/env bash
# The one test command (`npm test`): dependencies, backing services, build, then every jest project.
# Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
scripts/ensure-deps.sh
# (Each step only when the arguments select a jest project that needs it, e.g. not for
# `npm test -- --selectProjects unit`.)
wants() {
  local project=$1
  shift
  [[ " $* " != *" --selectProjects "* || " $* " == *" $project "* ]]
}
# RabbitMQ, PostgreSQL and Redis on 127.0.0.1 and the tools of the integration, end-to-end and fault tests:
# Prometheus and promtool (Debian's package) for the metrics and rules tests; Jaeger v2, the OTLP receiver of the
# tracing test, built from source once (several minutes the first time on two cores), then skipped while
# .tools/bin/jaeger is at the pinned version; schemathesis fuzzes the running suite's OpenAPI document.
if wants integration "$@" || wants e2e "$@" || wants faults "$@"; then
  scripts/services.sh up
  scripts/tools.sh prometheus promtool jaeger schemathesis python-pika
fi
# helm renders the chart for the deploy project's tests and installs it in the cluster project's.
scripts/tools.sh helm
# What this run starts (a container engine, a cluster) it stops when it ends, whatever the outcome, keeping jest's
# exit status; what was running before is left running.
teardown=()
tear_down() {
  local status=$? step
  for step in "${teardown[@]}"; do
    $step || { echo "[test] $step failed" >&2; ((status)) || status=1; }
  done
  exit "$status"
}
trap tear_down EXIT

# Docker Compose v2 and the images (the three services from their Dockerfiles, stand-ins for the rest where no
# registry answers) for test/containers, test/cluster and RabbitMQ 4.x. Without a container engine (exit 3) those
# tests say they are skipped, unless WARREN_REQUIRE_CONTAINERS=true (.ci/run) makes that a failure.
engine=none
if wants containers "$@" || wants cluster "$@" || wants rpc-on-rabbitmq4 "$@" || wants faults-on-rabbitmq4 "$@"; then
  scripts/tools.sh docker-compose
  scripts/container-engine.sh status >/dev/null 2>&1 || teardown=("scripts/container-engine.sh down")
  status=0
  scripts/images.sh || status=$?
  if ((status == 0)); then
    engine=up
  elif ((status == 3)); then
    echo "[test] no container engine: test/containers and test/cluster will be skipped" >&2
  else
    exit "$status"
  fi
fi
# A single-node Kubernetes cluster for test/cluster (scripts/cluster.sh: built once per pinned version, then up in
# about 15 s; it needs the images). Where it cannot run, those tests say they are skipped, unless
# WARREN_REQUIRE_CLUSTER=true (.ci/run) makes that a failure.
# With WARREN_CLUSTER=kind the cluster is one made beforehand (the GitHub workflow's kind): none is started.
if [[ $engine == up ]] && wants cluster "$@" && [[ ${WARREN_CLUSTER:-warren} == warren ]]; then
  # Registered before `up`, and run before the engine's: a start that fails halfway is undone too.
  scripts/cluster.sh status >/dev/null 2>&1 || teardown=("scripts/cluster.sh down" "${teardown[@]}")
  scripts/cluster.sh up || echo "[test] no cluster: test/cluster will be skipped" >&2
fi
# RabbitMQ 4.x, the broker the chart ships, beside the local 3.10: packages/rpc's integration tests and the fault
# tests run on both (jest projects rpc-on-rabbitmq4 and faults-on-rabbitmq4, present only with WARREN_RABBITMQ4_*
# set). On two cores jest runs one test file at a time, so the fault runs never overlap.
if [[ $engine == up ]] && { wants rpc-on-rabbitmq4 "$@" || wants faults-on-rabbitmq4 "$@"; }; then
  scripts/rabbitmq4.sh status || teardown=("scripts/rabbitmq4.sh down" "${teardown[@]}")
  scripts/rabbitmq4.sh up
  eval "$(scripts/rabbitmq4.sh env)"
fi
npx tsc -b
# Dead-lettering and the delivery limit of the route queues are a broker policy (packages/rpc/src/queue-policy.ts),
# which whoever runs a broker sets, as the chart does on its own: here on the brokers the tests share.
if wants integration "$@" || wants e2e "$@" || wants faults "$@"; then
  RABBITMQ_MANAGEMENT_URL=http://warren:warren@127.0.0.1:15672 node packages/rpc/dist/bin/apply-queue-policy.js
fi
if [[ -n ${WARREN_RABBITMQ4_MANAGEMENT_URL:-} ]]; then
  RABBITMQ_MANAGEMENT_URL=$WARREN_RABBITMQ4_MANAGEMENT_URL node packages/rpc/dist/bin/apply-queue-policy.js
fi
npx jest "$@"
