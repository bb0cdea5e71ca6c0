#!/usr/bin/env bash
# Installs the Node dependencies when node_modules is missing or older than the lock file,
# so `npm test` and `npm start` work on a fresh clone with nothing run before them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
marker=node_modules/.package-lock.json
if [[ ! -f $marker || package-lock.json -nt $marker ]]; then
  echo "[deps] installing Node dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
