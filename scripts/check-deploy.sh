#!/usr/bin/env bash
# Static checks of what ships the suite, with the pinned tools of scripts/tools.sh (installed when missing):
#   scripts/check-deploy.sh images     hadolint on every service's Dockerfile
#   scripts/check-deploy.sh compose    docker-compose.yml against the Compose specification's schema, and its
#                                      Prometheus configuration with promtool
#   scripts/check-deploy.sh workflows  actionlint (with ShellCheck) on .github/, and the GitHub workflow, action and
#                                      Dependabot schemas (every job must have timeout-minutes)
#   scripts/check-deploy.sh all        the three (default)
# The images are also built (scripts/images.sh) and run with docker-compose.yml by test/containers (part of `npm test`), and the
# files' consistency with each other (ports, job names, mounted paths, Node version) is test/e2e/deploy-files.test.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.tools/bin:$PATH

log() { printf '[check-deploy] %s\n' "$*" >&2; }
failed=()
check() {
  local what=$1; shift
  if "$@"; then log "ok: $what"; else log "FAILED: $what"; failed+=("$what"); fi
}

images() {
  scripts/tools.sh hadolint
  local dockerfiles=(services/*/Dockerfile)
  check "hadolint ${dockerfiles[*]}" hadolint "${dockerfiles[@]}"
}

compose() {
  scripts/tools.sh check-jsonschema promtool
  check "docker-compose.yml (compose-spec schema)" \
    check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
  check "compose/prometheus/prometheus.yml (promtool)" \
    promtool check config --syntax-only compose/prometheus/prometheus.yml
}

workflows() {
  scripts/tools.sh actionlint shellcheck check-jsonschema
  check "actionlint" actionlint
  check "workflows (github-workflows schema)" \
    check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
  check "workflows (every job has timeout-minutes)" \
    check-jsonschema --builtin-schema custom.github-workflows-require-timeout .github/workflows/*.yml
  check "local actions (github-actions schema)" \
    check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
  check ".github/dependabot.yml (dependabot schema)" \
    check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
}

target=${1:-all}
case $target in
  images) images ;;
  compose) compose ;;
  workflows) workflows ;;
  all) images; compose; workflows ;;
  *) log "usage: $0 images|compose|workflows|all"; exit 2 ;;
esac

if ((${#failed[@]})); then
  log "${#failed[@]} check(s) failed: ${failed[*]}"
  exit 1
fi
log "passed: $target"
