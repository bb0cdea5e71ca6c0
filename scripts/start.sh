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
# The route queues' dead-lettering and delivery limit: a broker policy (packages/rpc/src/queue-policy.ts).
RABBITMQ_MANAGEMENT_URL=http://warren:warren@127.0.0.1:15672 node packages/rpc/dist/bin/apply-queue-policy.js
exec node packages/launcher/dist/start.js "$@"
