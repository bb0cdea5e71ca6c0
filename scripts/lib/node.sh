# shellcheck shell=bash
# Sourced by every script that runs Node (`source scripts/lib/node.sh`): puts a supported
# Node first on PATH. A Node already on PATH at or above the supported minimum (package.json "engines") is used as
# it is; otherwise the version pinned in .node-version is taken from the npm registry's node-linux-<arch> package
# (the official build, checked against the registry's integrity hash by npm) into .tools/node/<version>, once.
# npm itself is the one on PATH, run by that Node.

WARREN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

warren_node_minimum() {
  sed -n 's/^[[:space:]]*"node": ">=\([0-9.]*\)".*/\1/p' "$WARREN_ROOT/package.json" | head -n 1
}

# True when version $1 >= version $2 (dotted numbers).
warren_version_at_least() {
  [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1) == "$2" ]]
}

warren_use_node() {
  local minimum pinned current
  minimum=$(warren_node_minimum)
  pinned=$(tr -d '[:space:]v' <"$WARREN_ROOT/.node-version")
  [[ -n $minimum && -n $pinned ]] || { echo "[node] no engines.node in package.json or no .node-version" >&2; return 1; }
  current=$(node --version 2>/dev/null | tr -d v || true)
  if [[ -n $current ]] && warren_version_at_least "$current" "$minimum"; then return 0; fi

  local arch
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "[node] no node-linux package for $(uname -m): install Node >= $minimum" >&2; return 1 ;;
  esac
  local home=$WARREN_ROOT/.tools/node/$pinned
  if [[ ! -x $home/bin/node ]]; then
    command -v npm >/dev/null || { echo "[node] npm is needed to fetch Node $pinned" >&2; return 1; }
    echo "[node] Node ${current:-(none)} is older than $minimum: fetching node-linux-$arch@$pinned from the npm registry" >&2
    local download
    download=$(mktemp -d)
    (cd "$download" && npm pack --silent "node-linux-$arch@$pinned" >/dev/null)
    mkdir -p "${home%/*}"
    local partial
    partial=$(mktemp -d "$home.partial.XXXXXX")
    tar -xzf "$download"/node-linux-"$arch"-"$pinned".tgz -C "$partial" --strip-components=1 package/bin package/LICENSE
    rm -rf "$download"
    # Another script may have fetched it meanwhile: keep the first.
    mv -T "$partial" "$home" 2>/dev/null || rm -rf "$partial"
  fi
  export PATH=$home/bin:$PATH
  [[ $(node --version) == "v$pinned" ]] || { echo "[node] $home/bin/node is not v$pinned" >&2; return 1; }
}

warren_use_node
