#!/usr/bin/env bash
# Kustomize resolution benchmark: 200 kustomizations over 5,000 resources (bench/gen_kustomize.py),
# `stowage plan` next to `kubectl kustomize` on the same tree, and a check that both yield the
# same set of images. Environment: RUNS (default 5), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
work=${BENCH_DIR:-/tmp/stowage-bench}
tree="$work/kustomize-200"
[ -d "$tree" ] || python3 bench/gen_kustomize.py "$tree"
cargo build --release --quiet
bin=target/release/stowage
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_cmd() {
    local label=$1; shift
    local times=()
    for _ in $(seq "$RUNS"); do
        local start end
        start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc -l)")
    done
    printf '%-44s median=%.3fs runs=%s\n' "$label" "$(printf '%s\n' "${times[@]}" | median)" "$RUNS"
}
echo "tree: $(find "$tree" -name kustomization.yaml | wc -l) kustomizations, $(grep -rh '^kind: Deployment' "$tree/bases" | wc -l) resources"
time_cmd "stowage plan (200 kustomizations)" "$bin" plan "$tree"
time_cmd "kubectl kustomize (same tree)" kubectl kustomize "$tree"
# The same images: kubectl's output, read by stowage as a plain manifest.
kubectl kustomize "$tree" > "$work/kustomize-200.out.yaml"
if diff <("$bin" plan "$tree") <("$bin" plan "$work/kustomize-200.out.yaml") >/dev/null; then
    echo "images: identical ($("$bin" plan "$tree" | wc -l) unique)"
else
    echo "images: DIFFERENT" >&2; exit 1
fi
