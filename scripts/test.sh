#!/usr/bin/env bash
# The one test command (`npm test`): dependencies, backing services, build, then every jest project.
# Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
scripts/services.sh up
npx tsc -b
exec npx jest "$@"
