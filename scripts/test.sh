#!/usr/bin/env bash
# The one test command (`npm test`): dependencies, backing services, build, then every jest project.
# Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
scripts/ensure-deps.sh
scripts/services.sh up
# Prometheus and promtool (Debian's package) for the metrics and rules tests.
scripts/tools.sh prometheus promtool
# Jaeger v2, the OTLP receiver of the tracing test: built from source once (several minutes the first time on
# two cores), then skipped while .tools/bin/jaeger is at the pinned version.
scripts/tools.sh jaeger
# helm renders the chart for the deploy project's tests.
scripts/tools.sh helm
# schemathesis fuzzes the running suite's OpenAPI document (test/e2e/schemathesis.test.ts).
scripts/tools.sh schemathesis
# Docker Compose v2 and the images (the three services from their Dockerfiles, stand-ins for the rest where no
# registry answers) for test/containers. Without a container engine (exit 3) those tests say they are skipped,
# unless WARREN_REQUIRE_CONTAINERS=true (.ci/run) makes that a failure.
# (Not when the arguments select jest projects without it, e.g. `npm test -- --selectProjects unit`.)
if [[ " $* " != *" --selectProjects "* || " $* " == *" containers "* ]]; then
  scripts/tools.sh docker-compose
  status=0
  scripts/images.sh || status=$?
  if ((status == 3)); then
    echo "[test] no container engine: test/containers will be skipped" >&2
  elif ((status != 0)); then
    exit "$status"
  fi
fi
npx tsc -b
exec npx jest "$@"
