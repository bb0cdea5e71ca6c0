#!/usr/bin/env bash
# Static checks of the Helm chart (charts/warren) and the k8s/ manifests, offline, with the pinned tools of
# scripts/tools.sh (installed when missing). `npm run check:chart`.
#   1. helm lint --strict with the default values and every charts/warren/ci/*.yaml
#   2. helm template of each, validated strictly (unknown fields are errors) against Kubernetes $K8S_VERSION:
#      core kinds with kubernetes-validate (its bundled schemas: no network); the CRD kinds (KEDA ScaledObject and
#      TriggerAuthentication, prometheus-operator ServiceMonitor, PodMonitor and PrometheusRule) with check-jsonschema
#      against charts/warren/ci-schemas/ (strict subsets of those CRDs' schemas); any other kind fails
#   3. checkov (framework kubernetes) on the rendered manifests, skips explained in charts/warren/.checkov.yaml
#   4. k8s/observability rendered with kustomize (kubectl kustomize when kubectl is there) and validated as in 2;
#      (USE_KUSTOMIZE=1: the kustomize binary of scripts/tools.sh even where kubectl is); k8s/kind/cluster.yaml
#      parsed (kind's config is not a Kubernetes object: no Kubernetes schema holds it)
#   5. the jest project `deploy` (test/deploy: assertions over the rendered chart); CHECK_CHART_JEST=0 skips it
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
ROOT=$PWD
export PATH=$ROOT/.tools/bin:$PATH
K8S_VERSION=${K8S_VERSION:-1.34.0}
CHART=charts/warren
RELEASE=warren
NAMESPACE=warren

log() { printf '[check-chart] %s\n' "$*" >&2; }
failed=()
check() {
  local what=$1; shift
  if "$@"; then log "ok: $what"; else log "FAILED: $what"; failed+=("$what"); fi
}

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

scripts/tools.sh helm kubernetes-validate checkov check-jsonschema
if [[ ${USE_KUSTOMIZE:-0} == 0 ]] && command -v kubectl >/dev/null; then
  kustomize_build() { kubectl kustomize --load-restrictor LoadRestrictionsNone "$1"; }
  kustomize_version="kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')"
else
  scripts/tools.sh kustomize
  kustomize_build() { kustomize build --load-restrictor LoadRestrictionsNone "$1"; }
  kustomize_version="kustomize $(kustomize version)"
fi
log "helm $(helm version --template '{{.Version}}'), kubernetes-validate $(kubernetes-validate --version 2>&1 | awk '{print $NF}'), checkov $(checkov --version), check-jsonschema $(check-jsonschema --version | awk '{print $NF}'), $kustomize_version; Kubernetes $K8S_VERSION"

# Splits a multi-document YAML file into $2/core.yaml (kinds kubernetes-validate knows) and one file per CRD object
# in $2/crd/<schema>--<n>.yaml, named after its schema in ci-schemas/. Prints the kinds it found.
split_manifests() {
  local file=$1 dir=$2
  mkdir -p "$dir/crd"
  node - "$file" "$dir" <<'NODE'
const { readFileSync, writeFileSync } = require('node:fs');
const { parseAllDocuments } = require('yaml');
// JSON out (it is YAML too): re-emitted YAML 1.2 would turn a quoted "no" into a bare no, which the validators'
// YAML 1.1 parser reads as false.
const stringify = (object) => JSON.stringify(object);
const [file, dir] = process.argv.slice(2);
const crds = {
  'keda.sh/v1alpha1 ScaledObject': 'scaledobject-keda-v1alpha1',
  'keda.sh/v1alpha1 TriggerAuthentication': 'triggerauthentication-keda-v1alpha1',
  'monitoring.coreos.com/v1 ServiceMonitor': 'servicemonitor-monitoring-v1',
  'monitoring.coreos.com/v1 PodMonitor': 'podmonitor-monitoring-v1',
  'monitoring.coreos.com/v1 PrometheusRule': 'prometheusrule-monitoring-v1',
};
const core = [];
const kinds = {};
let n = 0;
for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
  if (document.errors.length) throw new Error(`${file}: ${document.errors[0].message}`);
  const object = document.toJS();
  if (!object) continue;
  const type = `${object.apiVersion} ${object.kind}`;
  kinds[object.kind] = (kinds[object.kind] ?? 0) + 1;
  if (crds[type]) writeFileSync(`${dir}/crd/${crds[type]}--${n++}.yaml`, stringify(object));
  else if (object.apiVersion.includes('.') && !/\.k8s\.io\//.test(object.apiVersion)) {
    console.error(`no schema for ${type} (${object.metadata?.name}): add one to charts/warren/ci-schemas/`);
    process.exitCode = 1;
  } else core.push(stringify(object));
}
writeFileSync(`${dir}/core.yaml`, core.map((text) => `---\n${text}\n`).join(''));
console.log(Object.entries(kinds).map(([kind, count]) => `${count} ${kind}`).join(', '));
NODE
}

# kubernetes-validate exits 0 on a kind it has no schema for (a warning): any output at all is a failure here.
validate_core() {
  local file=$1 output
  output=$(kubernetes-validate --strict --kubernetes-version "$K8S_VERSION" --quiet "$file" 2>&1) || { printf '%s\n' "$output" >&2; return 1; }
  [[ -z $output ]] || { printf '%s\n' "$output" >&2; return 1; }
}

validate_crds() {
  local dir=$1/crd schema files
  for schema in "$ROOT/$CHART"/ci-schemas/*.json; do
    files=("$dir/$(basename "$schema" .json)"--*.yaml)
    [[ -e ${files[0]} ]] || continue
    check-jsonschema --schemafile "$schema" "${files[@]}" >/dev/null || {
      check-jsonschema --schemafile "$schema" "${files[@]}" >&2 || true
      return 1
    }
  done
}

# Validates one rendered file: core kinds, CRD kinds, nothing else.
validate_manifests() {
  local file=$1 name=$2 dir=$OUT/split/$2 kinds
  kinds=$(split_manifests "$file" "$dir") || return 1
  log "$name: $kinds"
  validate_core "$dir/core.yaml" && validate_crds "$dir"
}

# ---- the chart ---------------------------------------------------------------------------------------------
mkdir -p "$OUT/rendered"
value_sets=(default)
for file in "$CHART"/ci/*.yaml; do value_sets+=("$(basename "$file")"); done
for set in "${value_sets[@]}"; do
  args=(--kube-version "$K8S_VERSION")
  # The defaults and an issuer: the chart requires that choice (or authDisabled) to render at all.
  if [[ $set == default ]]; then args+=(--set gateway.config.authIssuer=https://login.example.com/realms/warren)
  else args+=(--values "$CHART/ci/$set"); fi
  check "helm lint --strict ($set)" helm lint --strict --quiet "${args[@]}" "$CHART"
  rendered=$OUT/rendered/${set%.yaml}.yaml
  if helm template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "${args[@]}" >"$rendered"; then
    check "helm template ($set) valid against Kubernetes $K8S_VERSION and the CRD schemas" \
      validate_manifests "$rendered" "chart-${set%.yaml}"
  else
    log "FAILED: helm template ($set)"; failed+=("helm template ($set)")
  fi
done

check "checkov on the rendered chart (${value_sets[*]})" \
  checkov --directory "$OUT/rendered" --config-file "$CHART/.checkov.yaml"

# ---- k8s/ --------------------------------------------------------------------------------------------------
if kustomize_build k8s/observability >"$OUT/observability.yaml"; then
  check "kustomize k8s/observability valid against Kubernetes $K8S_VERSION" \
    validate_manifests "$OUT/observability.yaml" observability
else
  log "FAILED: kustomize build k8s/observability"; failed+=("kustomize build k8s/observability")
fi
check "k8s/kind/cluster.yaml: a kind v1alpha4 Cluster of Kubernetes ${K8S_VERSION%.*} nodes" node -e "
  const { parse } = require('yaml');
  const config = parse(require('node:fs').readFileSync('k8s/kind/cluster.yaml', 'utf8'));
  const ok = config.kind === 'Cluster' && config.apiVersion === 'kind.x-k8s.io/v1alpha4' && config.nodes?.length > 0 &&
    config.nodes.every((node) => String(node.image).startsWith('kindest/node:v${K8S_VERSION%.*}.'));
  process.exit(ok ? 0 : 1);
"

# ---- assertions over the rendered chart --------------------------------------------------------------------
if [[ ${CHECK_CHART_JEST:-1} != 0 ]]; then
  check "jest --selectProjects deploy" env HELM="$(command -v helm)" npx jest --selectProjects deploy
fi

if ((${#failed[@]})); then
  log "${#failed[@]} check(s) failed: ${failed[*]}"
  exit 1
fi
log "passed"
