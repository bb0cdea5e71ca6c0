#!/usr/bin/env bash
# A single-node Kubernetes cluster on this machine, built from source (no registry needed):
#   cluster.sh build    compile kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl
#                       (k8s.io/kubernetes from the Go module proxy), CoreDNS, crictl and the pause binary into a
#                       machine-wide cache, and the pause/coredns/busybox image tarballs next to them
#   cluster.sh up       start containerd (an instance of its own), etcd, the control plane, kubelet, kube-proxy and
#                       CoreDNS; wait until the node is Ready and cluster DNS answers (idempotent)
#   cluster.sh down     stop everything and undo what it changed on the host (iptables, links, mounts, sysctls,
#                       cgroups); the Debian packages `up` installed stay
#   cluster.sh status   show which components run (exit status 0 only if all run)
#   cluster.sh test     smoke test: imported image with imagePullPolicy Never, pod -> Service by DNS name,
#                       pod -> API server, `kubectl port-forward --address 127.0.0.1` to a Service
#   cluster.sh load IMAGE...    images from the container engine (docker save) into the cluster's containerd
#   cluster.sh kubectl ARGS...   kubectl with the admin kubeconfig (or: export KUBECONFIG=$STATE_DIR/admin.kubeconfig)
# Environment: WARREN_CACHE (default /var/cache/warren: binaries, kept across runs), STATE_DIR (certificates,
# kubeconfigs, logs, pid files; default .tools/cluster of this checkout), K8S_TEST_PORT (`test`'s port-forward, 18080).
# Every wait is bounded (30-90 s per step); a failed step prints the tails of the component logs in $STATE_DIR/logs.
# Everything listens on 127.0.0.1 only (NodePorts too). Needs root. Sits beside a running dockerd without touching it: its own
# containerd (own root, state and socket), only KUBE-*/CNI-* iptables chains are ever deleted.
# Why each setting is what it is (measured on these machines) is said where it is set.
set -euo pipefail

# ---------------------------------------------------------------------------------------------------- settings
K8S_VERSION=v1.34.4
STAGING_VERSION=v0.34.4        # the staging modules (k8s.io/api, client-go, ...) released with K8S_VERSION
COREDNS_VERSION=v1.14.7
CRICTL_VERSION=v1.34.0
PAUSE_VERSION=3.10             # only a tag for the locally built pause image

# The CustomResourceDefinitions the chart's optional objects need, from those projects' own modules (their module
# zips carry the generated CRD manifests), so the API server itself validates ScaledObjects, ServiceMonitors...
KEDA_MODULE=github.com/kedacore/keda/v2@v2.21.0
KEDA_CRDS=(config/crd/bases/keda.sh_scaledobjects.yaml config/crd/bases/keda.sh_triggerauthentications.yaml)
PROMETHEUS_OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator@v0.85.0
PROMETHEUS_OPERATOR_CRDS=(example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
  example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml
  example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml)

CACHE=${WARREN_CACHE:-/var/cache/warren}/kubernetes/$K8S_VERSION
BIN=$CACHE/bin
IMAGES=$CACHE/images
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=${STATE_DIR:-$ROOT/.tools/cluster}

VAR=/var/lib/warren-cluster     # containerd root, etcd data, kubelet root
RUN=/run/warren-cluster         # containerd state and socket
CTRD_SOCK=$RUN/containerd.sock
CNI_CONF_DIR=$VAR/cni/net.d     # read by our containerd only (not /etc/cni/net.d, which podman may use)
KUBELET_ROOT=$VAR/kubelet
POD_LOGS=$VAR/pod-logs
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.0.0.0/24
API_SERVICE_IP=10.0.0.1
DNS_SERVICE_IP=10.0.0.10
NODE_NAME=$(hostname | tr '[:upper:]' '[:lower:]')
PAUSE_IMAGE=warren-cluster/pause:$PAUSE_VERSION
COREDNS_IMAGE=warren-cluster/coredns:$COREDNS_VERSION
BUSYBOX_IMAGE=warren-cluster/busybox:local   # not :latest, which defaults to imagePullPolicy Always
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

log() { printf '[cluster %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"

# ====================================================================================================== build
# A stamp per artifact holds the exact recipe (versions, flags, Go version); the artifact is rebuilt when it differs.
recipe_ok() { [[ -x $BIN/$1 && -f $BIN/.$1.stamp && "$(cat "$BIN/.$1.stamp")" == "$2" ]]; }
timed() { # timed NAME CMD...: runs CMD, appends NAME's wall time to $CACHE/build-times.log
  local name=$1 t0=$SECONDS; shift
  "$@"
  printf '%s %s %ss\n' "$(date -u +%FT%TZ)" "$name" "$((SECONDS - t0))" >>"$CACHE/build-times.log"
  log "built $name in $((SECONDS - t0))s"
}

# Go settings of the module builds. GOFLAGS keeps -buildvcs=false (setting GOFLAGS replaces what the env had);
# GOWORK=off because the kubernetes module zip carries a go.work.
gobuild_env() { env GOWORK=off GOFLAGS="-buildvcs=false" CGO_ENABLED=0 "$@"; }

# Source of k8s.io/kubernetes made buildable outside its repository: the module zip lacks staging/src, so each of
# the 31 "k8s.io/X => ./staging/src/k8s.io/X" replaces is pointed at the released k8s.io/X@$STAGING_VERSION.
k8s_source() {
  local src=$CACHE/src
  if [[ -f $src/.prepared && "$(cat "$src/.prepared")" == "$K8S_VERSION $STAGING_VERSION" ]]; then return; fi
  log "downloading k8s.io/kubernetes@$K8S_VERSION"
  local dir
  dir=$(cd /tmp && GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .Dir)
  [[ -d $dir ]] || die "go mod download gave no module dir"
  rm -rf "$src" && mkdir -p "$(dirname "$src")"
  cp -r "$dir" "$src" && chmod -R u+w "$src"
  # vendor/ holds only an OWNERS file: left there, go 1.24 modules default to vendor mode ("inconsistent vendoring")
  rm -rf "$src/vendor"
  local staged
  mapfile -t staged < <(cd "$src" && go mod edit -json | jq -r '.Replace[] | select(.New.Path | startswith("./staging/")) | .Old.Path')
  [[ ${#staged[@]} -gt 0 ]] || die "no staging replaces found in go.mod"
  log "rewriting ${#staged[@]} staging replaces to @$STAGING_VERSION"
  (cd "$src" && for m in "${staged[@]}"; do go mod edit -replace "$m=$m@$STAGING_VERSION"; done)
  log "resolving dependencies (go list -deps)"
  (cd "$src" && GOWORK=off GOFLAGS="-buildvcs=false" go list -mod=mod -deps "${K8S_CMDS[@]/#/./cmd/}" >/dev/null)
  echo "$K8S_VERSION $STAGING_VERSION" >"$src/.prepared"
}

build_k8s_one() { # build_k8s_one NAME LDFLAGS
  (cd "$CACHE/src" && gobuild_env nice -n 19 go build -mod=readonly -trimpath -ldflags "$2" -o "$BIN/$1.tmp" "./cmd/$1")
  mv "$BIN/$1.tmp" "$BIN/$1"
}

# Go module main packages built without replaces, straight from the proxy (go install into a temporary GOBIN)
build_go_install() { # build_go_install NAME MODULE_PKG@VERSION LDFLAGS
  local tmp; tmp=$(mktemp -d)
  (cd /tmp && GOBIN=$tmp gobuild_env nice -n 19 go install -trimpath -ldflags "$3" "$2")
  mv "$tmp/$(basename "${2%@*}")" "$BIN/$1"
  rm -rf "$tmp"
}

build_pause() { # the pause binary, from build/pause/linux/pause.c of the kubernetes module
  nice -n 19 gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-warren" -o "$BIN/pause.tmp" "$CACHE/src/build/pause/linux/pause.c"
  strip "$BIN/pause.tmp" && mv "$BIN/pause.tmp" "$BIN/pause"
}

# An image tarball in docker-archive format (what `docker save` writes, which `ctr images import` reads), made
# without any container engine: one uncompressed layer from a directory, a config, a manifest.json.
#   make_image OUT.tar NAME:TAG ROOTFS_DIR CONFIG_JSON   (CONFIG_JSON: e.g. {"Entrypoint": ["/pause"]})
make_image() {
  local out=$1 tag=$2 rootfs=$3 config=$4 tmp layer_sha cfg_sha
  tmp=$(mktemp -d)
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$tmp/layer.tar" .
  layer_sha=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
  mkdir "$tmp/$layer_sha" && mv "$tmp/layer.tar" "$tmp/$layer_sha/layer.tar"
  # Debian's architecture names are the OCI ones for amd64 and arm64.
  jq -cn --arg diff "sha256:$layer_sha" --argjson cfg "$config" --arg arch "$(dpkg --print-architecture)" '{
      architecture: $arch, os: "linux", created: "1970-01-01T00:00:00Z",
      config: ({Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/"], WorkingDir: "/"} + $cfg),
      rootfs: {type: "layers", diff_ids: [$diff]}}' >"$tmp/config.json"
  cfg_sha=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
  mv "$tmp/config.json" "$tmp/$cfg_sha.json"
  jq -cn --arg cfg "$cfg_sha.json" --arg tag "$tag" --arg layer "$layer_sha/layer.tar" \
    '[{Config: $cfg, RepoTags: [$tag], Layers: [$layer]}]' >"$tmp/manifest.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$tmp" -cf "$out.tmp" manifest.json "$cfg_sha.json" "$layer_sha"
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

build_images() {
  mkdir -p "$IMAGES"
  local r stamp
  stamp="v3 $PAUSE_IMAGE $COREDNS_IMAGE $BUSYBOX_IMAGE pause=$(sha256sum "$BIN/pause" | cut -c1-16) coredns=$(sha256sum "$BIN/coredns" | cut -c1-16) busybox=$(sha256sum "$(command -v busybox)" | cut -c1-16)"
  [[ -f $IMAGES/.stamp && "$(cat "$IMAGES/.stamp")" == "$stamp" ]] && return
  r=$(mktemp -d)
  mkdir -p "$r/pause" && cp "$BIN/pause" "$r/pause/pause"
  make_image "$IMAGES/pause.tar" "$PAUSE_IMAGE" "$r/pause" '{"Entrypoint": ["/pause"]}'
  mkdir -p "$r/coredns/etc/coredns" "$r/coredns/tmp" && cp "$BIN/coredns" "$r/coredns/coredns"
  make_image "$IMAGES/coredns.tar" "$COREDNS_IMAGE" "$r/coredns" '{"Entrypoint": ["/coredns"]}'
  # busybox (Debian's busybox-static: a static binary) for test pods: sh, nslookup, wget, httpd
  mkdir -p "$r/busybox/bin" "$r/busybox/tmp" "$r/busybox/etc" && cp "$(command -v busybox)" "$r/busybox/bin/busybox"
  for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$r/busybox/bin/$a"; done
  echo 'root:x:0:0:root:/:/bin/sh' >"$r/busybox/etc/passwd"; echo 'root:x:0:' >"$r/busybox/etc/group"
  make_image "$IMAGES/busybox.tar" "$BUSYBOX_IMAGE" "$r/busybox" '{"Cmd": ["/bin/sh"]}'
  rm -rf "$r"
  echo "$stamp" >"$IMAGES/.stamp"
  log "image tarballs in $IMAGES"
}

cmd_build() {
  command -v jq >/dev/null || apt-get install -y -q jq >/dev/null
  command -v busybox >/dev/null || apt-get install -y -q busybox-static >/dev/null
  mkdir -p "$BIN"
  local gov ld r; gov=$(go env GOVERSION)
  ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X k8s.io/component-base/version.gitTreeState=clean"
  for c in "${K8S_CMDS[@]}"; do
    r="$c k8s.io/kubernetes@$K8S_VERSION staging@$STAGING_VERSION $gov CGO_ENABLED=0 -trimpath -mod=readonly ldflags=$ld"
    recipe_ok "$c" "$r" && continue
    k8s_source
    timed "$c" build_k8s_one "$c" "$ld"
    echo "$r" >"$BIN/.$c.stamp"
  done
  ld="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
  r="coredns github.com/coredns/coredns@$COREDNS_VERSION $gov CGO_ENABLED=0 -trimpath ldflags=$ld"
  if ! recipe_ok coredns "$r"; then timed coredns build_go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION" "$ld"; echo "$r" >"$BIN/.coredns.stamp"; fi
  ld="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
  r="crictl sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION $gov CGO_ENABLED=0 -trimpath ldflags=$ld"
  if ! recipe_ok crictl "$r"; then timed crictl build_go_install crictl "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" "$ld"; echo "$r" >"$BIN/.crictl.stamp"; fi
  r="pause k8s.io/kubernetes@$K8S_VERSION build/pause/linux/pause.c gcc -Os -static $(gcc -dumpfullversion) v$PAUSE_VERSION-warren"
  if ! recipe_ok pause "$r"; then k8s_source; timed pause build_pause; echo "$r" >"$BIN/.pause.stamp"; fi
  build_images
  log "binaries in $BIN:"; ls -l "$BIN" >&2
}

# ====================================================================================================== helpers
PKI=$STATE_DIR/pki
CONF=$STATE_DIR/config
LOGS=$STATE_DIR/logs
PIDS=$STATE_DIR/run
ADMIN_KUBECONFIG=$STATE_DIR/admin.kubeconfig
# Kernel settings the kubelet (setupKernelTunables) or kube-proxy may change: saved by the first `up`, restored by `down`
SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
  net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward)
# Paths outside our own directories that the kubelet/containerd/CNI create on their own (hardcoded there): `down`
# removes those that did not exist before the first `up`
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/netns /etc/cni /etc/kubernetes
  /usr/libexec/kubernetes)
STARTED=0   # components started by this run
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

kc() { "$BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=20s "$@"; }
ctr_() { timeout 30 ctr --address "$CTRD_SOCK" --namespace k8s.io "$@"; }
crictl_() { timeout 60 "$BIN/crictl" --runtime-endpoint "unix://$CTRD_SOCK" --image-endpoint "unix://$CTRD_SOCK" --timeout 20s "$@"; }
ms() { date +%s%3N; }                          # milliseconds, for timings
since() { local d=$(($(ms) - $1)); printf '%d.%ds' $((d / 1000)) $((d % 1000 / 100)); }

# pid of a component we started, if that pid still runs the same binary (guards against a recycled pid)
pid_of() {
  local f=$PIDS/$1.pid p exe
  [[ -f $f ]] || return 1
  read -r p exe <"$f" || return 1
  [[ -n $p ]] && running_pid "$p" || return 1
  [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$exe"* ]] || return 1
  echo "$p"
}
# start_bg NAME BINARY ARGS...: start in a session of its own, log to $LOGS/NAME.log, record "pid binary"
start_bg() {
  local name=$1 exe; shift
  if pid_of "$name" >/dev/null; then log "$name already running (pid $(pid_of "$name"))"; return 0; fi
  exe=$(readlink -f "$(command -v "$1")")
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo "$! $exe" >"$PIDS/$name.pid"
  log "started $name (pid $!)"
  STARTED=$((STARTED + 1))
}
# a pid that exists and is not a zombie (exited processes wait for PID 1 to reap them)
running_pid() { [[ -e /proc/$1 && "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
# stop_pid NAME...: SIGTERM to all of them at once, SIGKILL to those still there after 15 s
stop_pid() {
  local n p i alive names=() pids=()
  for n in "$@"; do
    if p=$(pid_of "$n"); then kill -TERM "$p" 2>/dev/null || true; names+=("$n"); pids+=("$p"); fi
    rm -f "$PIDS/$n.pid"
  done
  for ((i = 0; i < 150; i++)); do
    alive=0; for p in "${pids[@]}"; do running_pid "$p" && alive=1; done
    ((alive)) || break; sleep 0.1
  done
  for i in "${!pids[@]}"; do
    running_pid "${pids[i]}" && { log "${names[i]} (pid ${pids[i]}) ignored SIGTERM: SIGKILL"; kill -KILL "${pids[i]}" 2>/dev/null || true; }
    log "stopped ${names[i]} (pid ${pids[i]})"
  done
  return 0
}
# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds; on timeout show the logs' tails and fail
wait_for() {
  local secs=$1 what=$2 t0 f; shift 2; t0=$(ms)
  while ! "$@" >/dev/null 2>&1; do
    if (($(ms) - t0 > secs * 1000)); then
      log "timed out after ${secs}s waiting for $what; last log lines:"
      for f in "$LOGS"/*.log; do echo "== $f" >&2; tail -n 5 "$f" >&2; done
      die "timed out waiting for $what"
    fi
    sleep 0.25
  done
  log "$what: ok after $(since "$t0")"
}

# ====================================================================================================== host packages
ensure_packages() {
  local missing=() p policy=/usr/sbin/policy-rc.d ours=
  for p in containerd runc etcd-server containernetworking-plugins iptables conntrack nftables openssl jq curl busybox-static; do
    # A containerd or runc from another package (docker-ce's containerd.io) is used as it is: installing Debian's
    # would remove that package, and Docker with it.
    [[ $p == containerd || $p == runc ]] && command -v "$p" >/dev/null && continue
    [[ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" == *"ok installed" ]] || missing+=("$p")
  done
  [[ ${#missing[@]} == 0 ]] && return 0
  log "apt-get install ${missing[*]}"
  # etcd-server's postinst would start a system-wide etcd: forbid service starts during the install
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; ours=1; fi
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
  # A fresh machine's package lists may be stale: update once if the install fails, then try again.
  "${install[@]}" "${missing[@]}" >&2 || { apt-get update -qq && "${install[@]}" "${missing[@]}" >&2; } || {
    [[ -z $ours ]] || rm -f "$policy"; die "apt-get install failed"; }
  [[ -z $ours ]] || rm -f "$policy"
}

# ====================================================================================================== certificates
# sign NAME CN O EKU [SANS]: an EC key and a certificate signed by our CA (kept: made once per STATE_DIR)
sign() {
  local name=$1 cn=$2 o=$3 eku=$4 sans=${5:-} ext
  [[ -f $PKI/$name.crt ]] && return
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku"
  [[ -n $sans ]] && ext+=$'\n'"subjectAltName=$sans"
  openssl req -new -key "$PKI/$name.key" -subj "${o:+/O=$o}/CN=$cn" 2>/dev/null |
    openssl x509 -req -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" -days 825 \
      -extfile <(echo "$ext") -out "$PKI/$name.crt" 2>/dev/null
}
# kubeconfig NAME CERTNAME: a kubeconfig for the API server on 127.0.0.1 with that client certificate
kubeconfig() {
  cat >"$STATE_DIR/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: warren
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$PKI/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$PKI/$2.crt", client-key: "$PKI/$2.key"}
contexts:
- name: warren
  context: {cluster: warren, user: $1}
current-context: warren
EOF
}
make_certs() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  if [[ ! -f $PKI/ca.crt ]]; then
    rm -f "$PKI"/*
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=warren-cluster-ca" -days 3650 -out "$PKI/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  fi
  sign apiserver kube-apiserver "" serverAuth \
    "IP:127.0.0.1,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  sign admin admin system:masters clientAuth
  sign kubelet "system:node:$NODE_NAME" system:nodes clientAuth
  sign kubelet-serving "system:node:$NODE_NAME" system:nodes serverAuth "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1"
  sign controller-manager system:kube-controller-manager "" clientAuth
  sign scheduler system:kube-scheduler "" clientAuth
  sign kube-proxy system:kube-proxy "" clientAuth
  sign front-proxy-client front-proxy-client "" clientAuth   # the API server's aggregation-layer client
  if [[ ! -f $PKI/sa.key ]]; then     # service-account token signing key pair
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  local k; for k in admin kubelet controller-manager scheduler kube-proxy; do kubeconfig "$k" "$k"; done
}

# ====================================================================================================== configs
write_configs() {
  mkdir -p "$CONF" "$CNI_CONF_DIR" "$VAR/cni/networks" "$POD_LOGS"
  # containerd 1.6 (Debian), config version 2: an instance of its own beside docker's (own root, state, socket,
  # runc root; no debug/metrics listeners)
  cat >"$CONF/containerd.toml" <<EOF
version = 2
root = "$VAR/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$RUN/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$VAR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  # without cap_sys_resource every sandbox fails otherwise ("can't get final child's PID from pipe: EOF")
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
        Root = "$RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF
  # CNI: bridge cni0 + host-local, portmap (hostPort), firewall: docker sets the FORWARD policy to DROP and
  # bridge-nf-call-iptables=1, so pod traffic through cni0 needs the CNI-FORWARD accept rules; loopback
  # (written beside the watched directory and moved in only when changed: containerd reloads on every write event)
  cat >"$VAR/cni/conflist.tmp" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "warren",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$VAR/cni/networks"}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"},
    {"type": "loopback"}
  ]
}
EOF
  if cmp -s "$VAR/cni/conflist.tmp" "$CNI_CONF_DIR/10-warren.conflist"; then rm -f "$VAR/cni/conflist.tmp"
  else mv "$VAR/cni/conflist.tmp" "$CNI_CONF_DIR/10-warren.conflist"; fi
  # kubelet: serves on 127.0.0.1 only (the API server reaches it by node name, which /etc/hosts maps to 127.0.0.1)
  cat >"$CONF/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$PKI/kubelet-serving.crt"
tlsPrivateKeyFile: "$PKI/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$CTRD_SOCK"
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: true
enforceNodeAllocatable: []
clusterDNS: ["$DNS_SERVICE_IP"]
clusterDomain: cluster.local
podLogsDir: "$POD_LOGS"
volumePluginDir: "$VAR/volume-plugins"
resolvConf: /etc/resolv.conf
rotateCertificates: false
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: 5%, imagefs.available: 5%}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
EOF
}

# ====================================================================================================== host state
# What `down` must restore or may remove: saved once, by the first `up` (before the kubelet changes anything)
save_host_state() {
  [[ -f $STATE_DIR/host.saved ]] && return
  if pid_of kubelet >/dev/null; then log "WARNING: the kubelet runs but no host state was saved: sysctls cannot be restored"; return; fi
  local k p
  {
    for k in "${SYSCTLS[@]}"; do [[ -e /proc/sys/${k//.//} ]] && echo "sysctl $k $(sysctl -n "$k")"; done
    for p in "${HOST_PATHS[@]}"; do [[ -e $p ]] && echo "path $p"; done
    nft list tables 2>/dev/null | sed 's/^table /nft /'
    nft -j list chains 2>/dev/null | jq -r '.nftables[] | select(.chain) | .chain | "nftchain \(.family) \(.table) \(.name)"'
    ip link show cni0 >/dev/null 2>&1 && echo "link cni0"
    true
  } >"$STATE_DIR/host.saved.tmp"
  mv "$STATE_DIR/host.saved.tmp" "$STATE_DIR/host.saved"
}

# Pods reach the API server as 10.0.0.1:443, which kube-proxy DNATs to the advertised address (the node IP):6443 -
# but the API server listens on 127.0.0.1 only. This chain DNATs 10.0.0.1:443 to 127.0.0.1:6443 before kube-proxy's
# rules: from pods (PREROUTING; needs route_localnet on cni0 - a setting of our own link that goes away with it) and
# from the host / hostNetwork pods (OUTPUT). Named KUBE-* so that the teardown sweep removes it.
ensure_api_dnat() {
  local chain=KUBE-WARREN-APISERVER hook
  iptables -w -t nat -S "$chain" >/dev/null 2>&1 || iptables -w -t nat -N "$chain"
  iptables -w -t nat -C "$chain" -p tcp -d "$API_SERVICE_IP" --dport 443 -j DNAT --to-destination 127.0.0.1:6443 2>/dev/null ||
    iptables -w -t nat -A "$chain" -p tcp -d "$API_SERVICE_IP" --dport 443 -j DNAT --to-destination 127.0.0.1:6443
  for hook in PREROUTING OUTPUT; do   # must stay the first rule, ahead of kube-proxy's KUBE-SERVICES jump
    [[ "$(iptables -w -t nat -S "$hook" | sed -n 2p)" == "-A $hook -d $API_SERVICE_IP/32 -p tcp -m tcp --dport 443 -j $chain" ]] && continue
    iptables -w -t nat -D "$hook" -d "$API_SERVICE_IP/32" -p tcp --dport 443 -j "$chain" 2>/dev/null || true
    iptables -w -t nat -I "$hook" 1 -d "$API_SERVICE_IP/32" -p tcp --dport 443 -j "$chain"
  done
  sysctl -qw net.ipv4.conf.cni0.route_localnet=1
}
# cni0 made before the first pod (the bridge plugin adopts it), so that its route_localnet can be set up front
ensure_cni0() {
  ip link show cni0 >/dev/null 2>&1 || ip link add cni0 type bridge
  [[ "$(ip -4 addr show dev cni0)" == *"inet ${POD_CIDR%.*}.1/"* ]] || ip addr add "${POD_CIDR%.*}.1/${POD_CIDR#*/}" dev cni0
  ip link set cni0 up
}

# ====================================================================================================== up
import_images() {
  local name tag have
  have=$(ctr_ images ls -q)   # (not piped into grep -q: with pipefail an early exit of grep reads as "absent")
  # tarballs rebuilt since they were imported: import them all again (an import replaces the tag)
  cmp -s "$IMAGES/.stamp" "$VAR/images.imported" || have=
  for name in pause coredns busybox; do
    tag=$(tar -xOf "$IMAGES/$name.tar" manifest.json | jq -r '.[0].RepoTags[0]')
    grep -qx "docker.io/$tag" <<<"$have" && continue
    ctr_ images import "$IMAGES/$name.tar" >/dev/null
    log "imported docker.io/$tag"
  done
  cp "$IMAGES/.stamp" "$VAR/images.imported"
}

coredns_manifest() {
  cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
            lameduck 2s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        forward . /etc/resolv.conf
        cache 30
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      terminationGracePeriodSeconds: 5
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
          readOnlyRootFilesystem: true
        resources: {requests: {cpu: 50m, memory: 40Mi}, limits: {memory: 170Mi}}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /health, port: 8080}, initialDelaySeconds: 10, periodSeconds: 10}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_SERVICE_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF
}

node_ready() { [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; }
api_ready_for() { curl -sf --max-time 2 --cacert "$1/pki/ca.crt" https://127.0.0.1:6443/readyz >/dev/null; }
api_ready() { api_ready_for "$STATE_DIR"; }
coredns_ready() { [[ "$(kc -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" -ge 1 ]]; }
# run_pod PREFIX SHELL_COMMAND: a one-shot busybox pod (imagePullPolicy Never); waits (bounded) for it to end,
# prints its log; fails unless it Succeeded
run_pod() {
  local pod t0 phase cmd
  cmd=$(jq -cn --arg c "$2" '["sh", "-c", $c]')
  pod=$(kc create -o name -f - <<EOF
apiVersion: v1
kind: Pod
metadata: {generateName: $1-, namespace: default}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  automountServiceAccountToken: false
  containers:
  - {name: main, image: "$BUSYBOX_IMAGE", imagePullPolicy: Never, command: $cmd}
EOF
  ) || { log "could not create a $1 pod"; return 1; }
  t0=$(ms)
  while phase=$(kc get "$pod" -o jsonpath='{.status.phase}' 2>/dev/null); [[ $phase != Succeeded && $phase != Failed ]]; do
    (($(ms) - t0 < 60000)) || { phase=Timeout; break; }
    sleep 0.25
  done
  kc logs "$pod" 2>&1 || true
  [[ $phase == Succeeded ]] || kc describe "$pod" 2>&1 | tail -12
  kc delete "$pod" --wait=false >/dev/null 2>&1 || true
  [[ $phase == Succeeded ]]
}
# a pod resolving kubernetes.default through the cluster DNS (busybox's nslookup does not apply search domains)
dns_check_pod() {
  local out
  out=$(run_pod warren-dns-check 'for i in $(seq 30); do nslookup kubernetes.default.svc.cluster.local && exit 0; sleep 1; done; exit 1') ||
    { echo "$out" >&2; die "the DNS check pod did not succeed"; }
  log "DNS check: $(grep -A1 '^Name:' <<<"$out" | tr -s '\n\t' '  ')"
}

cmd_up() {
  local t_all t b; t_all=$(ms)
  ensure_packages
  for b in "${K8S_CMDS[@]}" coredns crictl pause; do [[ -x $BIN/$b ]] || { log "missing $BIN/$b: building"; cmd_build; break; }; done
  build_images
  mkdir -p "$STATE_DIR" "$LOGS" "$PIDS" "$VAR" "$RUN"
  # The API server reaches the kubelet (logs, exec, port-forward) by the node's name, and the kubelet listens on
  # 127.0.0.1 only.
  getent ahostsv4 "$NODE_NAME" | grep -q '^127\.0\.0\.1 ' ||
    die "$NODE_NAME does not resolve to 127.0.0.1: add '127.0.0.1 $NODE_NAME' to /etc/hosts"
  check_address_ranges
  # One cluster per machine (fixed ports, one kubelet): a cluster another checkout started is not adopted.
  local owner
  owner=$(cat "$RUN/state-dir" 2>/dev/null || true)
  if [[ -n $owner && $owner != "$STATE_DIR" ]] && api_ready_for "$owner"; then
    die "the cluster of $owner is running: run scripts/cluster.sh down in that checkout first"
  fi
  echo "$STATE_DIR" >"$RUN/state-dir"
  save_host_state
  make_certs
  write_configs
  export PATH=$BIN:$PATH

  t=$(ms)
  ensure_cni0
  start_bg containerd containerd --config "$CONF/containerd.toml"
  wait_for 30 "containerd" ctr_ version
  # Debian's etcd-server, loopback only, data under $VAR (removed by `down`)
  start_bg etcd etcd --name warren --data-dir "$VAR/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster warren=http://127.0.0.1:2380 --listen-metrics-urls= --log-level warn
  wait_for 30 "etcd" curl -sf --max-time 2 http://127.0.0.1:2379/health
  start_bg kube-apiserver kube-apiserver \
    --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 --secure-port=6443 \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=Hostname,InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --cert-dir="$STATE_DIR/apiserver-certs" --profiling=false \
    --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key"
  wait_for 60 "kube-apiserver /readyz" api_ready
  start_bg kube-controller-manager kube-controller-manager \
    --kubeconfig="$STATE_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE_DIR/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --service-cluster-ip-range="$SERVICE_CIDR" --cert-dir="$STATE_DIR/controller-manager-certs" --profiling=false \
    --flex-volume-plugin-dir="$VAR/volume-plugins"
  start_bg kube-scheduler kube-scheduler \
    --kubeconfig="$STATE_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE_DIR/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --cert-dir="$STATE_DIR/scheduler-certs" --profiling=false
  log "control plane up after $(since "$t")"
  import_images
  start_bg kubelet kubelet --config="$CONF/kubelet.yaml" --kubeconfig="$STATE_DIR/kubelet.kubeconfig" \
    --root-dir="$KUBELET_ROOT" --hostname-override="$NODE_NAME" --v=1
  wait_for 90 "node $NODE_NAME Ready" node_ready
  # kube-proxy, iptables mode; the conntrack flags keep it from changing kernel settings. NodePorts are served on
  # 127.0.0.1 only (how the tests reach a Service from the host, like a port published on loopback): for that
  # kube-proxy sets net.ipv4.conf.all.route_localnet=1 (restored by `down`) and drops martian loopback packets.
  start_bg kube-proxy kube-proxy --kubeconfig="$STATE_DIR/kube-proxy.kubeconfig" --proxy-mode=iptables \
    --hostname-override="$NODE_NAME" --cluster-cidr="$POD_CIDR" \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --iptables-localhost-nodeports=true --nodeport-addresses=127.0.0.1/32 \
    --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 --profiling=false
  wait_for 30 "kube-proxy rules (KUBE-SERVICES)" iptables -w -t nat -S KUBE-SERVICES
  ensure_api_dnat
  log "node up after $(since "$t")"

  t=$(ms)
  coredns_manifest | kc apply -f - >/dev/null
  wait_for 90 "CoreDNS ready" coredns_ready
  if ((STARTED == 0)); then
    # all was running already: ask CoreDNS through its Service IP from the host (kube-proxy's OUTPUT rules)
    wait_for 20 "cluster DNS (from the host)" busybox nslookup "kubernetes.default.svc.cluster.local" "$DNS_SERVICE_IP"
  else
    wait_for 30 "service account default/default" kc get serviceaccount default
    dns_check_pod
  fi
  log "DNS answers after $(since "$t")"
  install_crds
  # The client beside its configuration, for the tests and for people: $STATE_DIR/kubectl, $STATE_DIR/admin.kubeconfig
  ln -sfn "$BIN/kubectl" "$STATE_DIR/kubectl"
  log "cluster up in $(since "$t_all"): export KUBECONFIG=$ADMIN_KUBECONFIG"
}

install_crds() {
  local t files=() dir f
  t=$(ms)
  dir=$(module_dir "$KEDA_MODULE")
  for f in "${KEDA_CRDS[@]}"; do files+=(-f "$dir/$f"); done
  dir=$(module_dir "$PROMETHEUS_OPERATOR_MODULE")
  for f in "${PROMETHEUS_OPERATOR_CRDS[@]}"; do files+=(-f "$dir/$f"); done
  # Server-side: the CRDs are too large for the last-applied annotation of a client-side apply.
  local applied names
  applied=$(kc apply --server-side --force-conflicts -o name "${files[@]}")
  mapfile -t names <<<"$applied"
  kc wait --for condition=established --timeout=60s "${names[@]}" >/dev/null
  log "CRDs ($KEDA_MODULE, $PROMETHEUS_OPERATOR_MODULE) established after $(since "$t")"
}

# The source of a module at a version, from the Go module proxy (kept in the module cache).
module_dir() {
  local dir
  dir=$(cd /tmp && GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" go mod download -json "$1" | jq -r .Dir)
  [[ -d $dir ]] || die "go mod download $1 gave no module dir"
  echo "$dir"
}

# ====================================================================================================== down
# delete every rule that jumps to a KUBE-*/CNI-* chain, then flush and delete those chains; no other chain is touched
clean_iptables() {
  local cmd=$1 table rule c chains
  for table in filter nat mangle raw; do
    $cmd -w -t "$table" -S >/dev/null 2>&1 || continue
    while read -r rule; do
      eval "$cmd -w -t $table ${rule/#-A/-D}" 2>/dev/null || true
    done < <($cmd -w -t "$table" -S | grep -E '^-A ' | grep -E -- '-j (KUBE|CNI)-' | grep -vE '^-A (KUBE|CNI)-')
    mapfile -t chains < <($cmd -w -t "$table" -S | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p')
    for c in "${chains[@]}"; do $cmd -w -t "$table" -F "$c" 2>/dev/null || true; done
    for c in "${chains[@]}"; do $cmd -w -t "$table" -X "$c" 2>/dev/null || true; done
  done
}
# nft chains and tables that did not exist before `up` and hold no rules any more: iptables-nft makes them on first
# use (ip mangle, ip6 nat..., and base chains like INPUT/OUTPUT of docker's ip filter table for KUBE-FIREWALL)
clean_nft_tables() {
  command -v nft >/dev/null && [[ -f $STATE_DIR/host.saved ]] || return 0
  local fam table chain
  while read -r fam table chain; do
    grep -qx "nft $fam $table" "$STATE_DIR/host.saved" || continue        # a new table: deleted whole below
    grep -qx "nftchain $fam $table $chain" "$STATE_DIR/host.saved" && continue
    [[ $chain != DOCKER* ]] || continue   # a dockerd started after `up` owns these, empty or not
    [[ "$(nft -j list chain "$fam" "$table" "$chain" 2>/dev/null | jq '[.nftables[] | select(.rule)] | length')" == 0 ]] || continue
    nft delete chain "$fam" "$table" "$chain" 2>/dev/null && log "deleted emptied nft chain $fam $table $chain" || true
  done < <(nft -j list chains 2>/dev/null | jq -r '.nftables[] | select(.chain) | .chain | "\(.family) \(.table) \(.name)"')
  while read -r _ fam table; do
    grep -qx "nft $fam $table" "$STATE_DIR/host.saved" && continue
    [[ "$(nft -j list table "$fam" "$table" | jq '[.nftables[] | select(.rule)] | length')" == 0 ]] || continue
    nft delete table "$fam" "$table" && log "deleted emptied nft table $fam $table" || true
  done < <(nft list tables 2>/dev/null)
  return 0
}
# processes left in the kubepods cgroups, and shims of our containerd (their command line names our socket)
kill_leftovers() {
  local p pids=()
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "-address $CTRD_SOCK" && pids+=("${p#/proc/}")
  done
  for p in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods; do
    [[ -d $p ]] && mapfile -t -O "${#pids[@]}" pids < <(find "$p" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  log "killing leftover processes: ${pids[*]}"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  sleep 0.5
}
# The pod and Service ranges must be free on this host: a route into them through another link (a VPN, a LAN in
# 10.0.0.0/24, another cluster's bridge) would be shadowed by the pods' or captured by kube-proxy's rules.
check_address_ranges() {
  local cidr route
  for cidr in "$POD_CIDR" "$SERVICE_CIDR"; do
    while read -r route; do
      [[ -z $route || $route == default* || $route == *" dev cni0 "* || $route == *" dev cni0" ]] && continue
      die "$cidr (scripts/cluster.sh POD_CIDR/SERVICE_CIDR) overlaps this host's route '$route': change them here"
    done < <(ip -4 route show root "$cidr"; ip -4 route show match "$cidr")
  done
}

unmount_under() { # every mount point under the given directories, deepest first
  local d m
  for d in "$@"; do
    { awk '{print $5}' /proc/self/mountinfo | grep -E "^$d(/|$)" || true; } | sort -r | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
  done
  return 0
}

cmd_down() {
  local t0 i r k v kind p cg ns; t0=$(ms)
  local owner
  owner=$(cat "$RUN/state-dir" 2>/dev/null || true)
  [[ -z $owner || $owner == "$STATE_DIR" || ! -d $owner ]] ||
    die "the cluster was started from $owner: run scripts/cluster.sh down there"
  export PATH=$BIN:$PATH
  # 1. no new pods: controllers and scheduler first (a ReplicaSet would recreate force-deleted pods)
  stop_pid kube-controller-manager kube-scheduler
  # 2. pods force-deleted; the kubelet stops their containers and sandboxes (CNI DEL)
  if pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null && pid_of containerd >/dev/null; then
    kc delete pods --all-namespaces --all --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
    for ((i = 0; i < 120; i++)); do [[ -z "$(ctr_ tasks ls -q 2>/dev/null)" ]] && break; sleep 0.25; done
    [[ -z "$(ctr_ tasks ls -q 2>/dev/null)" ]] || log "tasks still running after 30 s: removing them through the CRI"
  fi
  stop_pid kubelet kube-proxy
  # 3. whatever is left: all sandboxes stopped and removed through the CRI (runs CNI DEL); then containerd
  if pid_of containerd >/dev/null; then
    crictl_ rmp --all --force >/dev/null 2>&1 || true
    crictl_ rm --all --force >/dev/null 2>&1 || true
  fi
  if [[ -x $BIN/kube-proxy && -d $LOGS ]]; then timeout 30 "$BIN/kube-proxy" --cleanup --proxy-mode=iptables >"$LOGS/kube-proxy-cleanup.log" 2>&1 || true; fi
  # 4. containerd and the control plane (no pods are left; the API server and etcd are not needed any more)
  stop_pid containerd kube-apiserver
  stop_pid etcd   # after the API server: stopped together, the API server's shutdown hangs for >15 s
  kill_leftovers
  # 5. mounts, link, netns
  unmount_under "$KUBELET_ROOT" "$VAR" "$RUN"
  if ip link show cni0 >/dev/null 2>&1 && ! grep -qx 'link cni0' "$STATE_DIR/host.saved" 2>/dev/null; then ip link del cni0; fi
  for ns in /run/netns/cni-*; do [[ -e $ns ]] || continue; umount "$ns" 2>/dev/null || true; rm -f "$ns"; done
  # 6. firewall: KUBE-* and CNI-* chains only (never DOCKER*), emptied new nft tables, conntrack of our ranges
  clean_iptables iptables
  clean_iptables ip6tables
  clean_nft_tables
  if command -v conntrack >/dev/null; then
    for r in "-s $POD_CIDR" "-d $POD_CIDR" "-d $SERVICE_CIDR" "-r $POD_CIDR" "-q $POD_CIDR"; do conntrack -D $r >/dev/null 2>&1 || true; done
  fi
  # 7. kernel settings, cgroups, directories
  if [[ -f $STATE_DIR/host.saved ]]; then
    while read -r kind k v; do
      [[ $kind == sysctl ]] || continue
      [[ "$(sysctl -n "$k" 2>/dev/null)" == "$v" ]] || { sysctl -qw "$k=$v" && log "restored $k=$v"; }
    done <"$STATE_DIR/host.saved"
  fi
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $cg ]] || continue
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d $cg ]] && log "could not remove cgroup $cg"
  done
  # Never through a mount that would not go away (a volume's bind mount could lead into the host's files).
  if awk '{print $5}' /proc/self/mountinfo | grep -qE "^($VAR|$RUN)(/|$)"; then
    log "mounts are left under $VAR or $RUN: not removing them"
  else
    rm -rf --one-file-system "$VAR" "$RUN"
  fi
  if [[ -f $STATE_DIR/host.saved ]]; then
    for p in "${HOST_PATHS[@]}"; do
      grep -qx "path $p" "$STATE_DIR/host.saved" && continue
      [[ -e $p ]] || continue
      case $p in
        /var/lib/kubelet|/var/lib/cni) rm -rf "$p" ;;   # device-plugins dir, CNI result cache: ours alone
        /var/log/containers) find "$p" -type l -delete; find "$p" -depth -type d -empty -delete ;;
        *) find "$p" -depth -type d -empty -delete 2>/dev/null || true ;;   # only if empty
      esac
      [[ -e $p ]] && log "left $p (not empty)"
    done
    rm -f "$STATE_DIR/host.saved"
  fi
  rm -f "$PIDS"/*.pid
  log "down in $(since "$t0")"
}

# ====================================================================================================== status
cmd_status() {
  local c p up=0
  for c in "${COMPONENTS[@]}"; do
    if p=$(pid_of "$c"); then printf '%-24s running (pid %s)\n' "$c" "$p"; up=$((up + 1)); else printf '%-24s stopped\n' "$c"; fi
  done
  if [[ -f $ADMIN_KUBECONFIG ]] && pid_of kube-apiserver >/dev/null; then
    printf '%-24s %s\n' "api /readyz" "$(api_ready && echo ok || echo failing)"
    printf '%-24s %s\n' "node $NODE_NAME" "$(node_ready && echo Ready || echo 'not Ready')"
    printf '%-24s %s\n' "coredns" "$(kc -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}/{.spec.replicas} ready' 2>/dev/null || echo absent)"
    echo "KUBECONFIG=$ADMIN_KUBECONFIG"
  fi
  [[ $up == "${#COMPONENTS[@]}" ]]   # exit status 0 only when all components run
}

# ====================================================================================================== test
# Smoke test of a running cluster: a Deployment from an imported image (imagePullPolicy Never) behind a Service;
# pod -> Service by DNS name; pod -> API server (10.0.0.1:443); `kubectl port-forward --address 127.0.0.1` to the Service
cmd_test() {
  local t0 pf port=${K8S_TEST_PORT:-18080} out i ok='' name; t0=$(ms)
  name=warren-smoke-$(date +%s)   # a new name per run: no stale DNS cache entry of an earlier run's Service
  kc apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: $BUSYBOX_IMAGE
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && echo hello-from-$name > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: default}
spec:
  selector: {app: $name}
  ports: [{port: 80, targetPort: 8080}]
EOF
  kc rollout status "deployment/$name" --timeout=60s >/dev/null || die "$name did not roll out"
  log "Deployment from an imported image (imagePullPolicy Never) available after $(since "$t0")"
  # until kube-proxy has synced the new Service, its ClusterIP is routed like any address (out of eth0: here a
  # proxy answered with 404)
  local ip; ip=$(kc get "svc/$name" -o jsonpath='{.spec.clusterIP}')
  wait_for 20 "kube-proxy rules for svc/$name ($ip)" \
    bash -c "iptables -w -t nat -S KUBE-SERVICES | grep -q -- '-d $ip/32 .*-j KUBE-SVC-'"
  # (busybox's wget -T segfaults in Debian's busybox-static 1.35: bound it with timeout instead)
  out=$(run_pod warren-smoke-client "timeout 10 wget -qO- http://$name.default.svc.cluster.local/ &&
    timeout 10 wget -qO- --no-check-certificate https://10.0.0.1/healthz && echo ' api-reachable'") || true
  grep -q "hello-from-$name" <<<"$out" || die "pod -> Service by DNS name failed: $out"
  grep -q api-reachable <<<"$out" || die "pod -> API server (https://10.0.0.1/healthz) failed: $out"
  log "pod -> Service by DNS name, pod -> https://10.0.0.1/healthz: ok"
  # kubectl itself in the background (not the kc function: $! would be a subshell, and kubectl would outlive it)
  timeout 60 "$BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" port-forward --address 127.0.0.1 "svc/$name" "$port:80" \
    >"$LOGS/port-forward.log" 2>&1 &
  pf=$!
  for ((i = 0; i < 40; i++)); do curl -sf --max-time 2 "http://127.0.0.1:$port/" | grep -q "hello-from-$name" && { ok=1; break; }; sleep 0.25; done
  kill "$pf" 2>/dev/null || true; wait "$pf" 2>/dev/null || true
  [[ -n $ok ]] || die "port-forward to svc/$name failed: $(cat "$LOGS/port-forward.log")"
  log "kubectl port-forward --address 127.0.0.1 svc/$name: ok"
  kc delete "deployment/$name" "service/$name" --wait=false >/dev/null
  log "smoke test passed in $(since "$t0")"
}

# Images from the container engine's store into the cluster's containerd (pods never pull: every image they use
# must be there). A tag already imported with the same image id is skipped.
cmd_load() {
  # shellcheck source=scripts/lib/docker.sh
  source "$ROOT/scripts/lib/docker.sh"
  local image id
  for image in "$@"; do
    id=$("$WARREN_DOCKER" image inspect --format '{{.Id}}' "$image") || die "no image $image in the container engine"
    # Already there with the same config digest (the image id): asked of the runtime itself, so an image the
    # kubelet's garbage collection removed is loaded again.
    [[ $(crictl_ inspecti -o go-template --template '{{.status.id}}' "$image" 2>/dev/null) == "$id" ]] && continue
    "$WARREN_DOCKER" save "$image" | timeout 300 ctr --address "$CTRD_SOCK" --namespace k8s.io images import - >/dev/null
    log "loaded $image"
  done
}

# ====================================================================================================== main
case ${1:-} in
  load) shift; cmd_load "$@" ;;
  build) cmd_build ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  test) cmd_test ;;
  kubectl) shift; kc "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
esac
