#!/usr/bin/env bash
# Runs a command with a supported Node first on PATH (scripts/lib/node.sh), e.g. from package.json:
#   scripts/with-node.sh jest --selectProjects unit
set -euo pipefail
# shellcheck source=scripts/lib/node.sh
source "$(dirname "$0")/lib/node.sh"
exec "$@"
