#!/usr/bin/env bash
# The one test command (`npm test`): dependencies, backing services, build, then every jest project.
# Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
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
npx tsc -b
exec npx jest "$@"
