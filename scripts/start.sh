#!/usr/bin/env bash
# `npm start` on a fresh clone: dependencies, backing services, build, then the three services.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
echo "==> checking Node dependencies"
scripts/ensure-deps.sh
echo "==> bringing up RabbitMQ, PostgreSQL and Redis"
scripts/services.sh up
echo "==> building"
npx tsc -b
exec node packages/launcher/dist/start.js "$@"
