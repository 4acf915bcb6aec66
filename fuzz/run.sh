#!/usr/bin/env bash
# Run every fuzz target for SECONDS (default 60), JOBS at a time (default 2), and print one
# table line per target: executions, executions per second, coverage (libFuzzer's cov/ft of
# its final status line), corpus size and crashes (artifacts: crash, timeout, OOM).
#
#   fuzz/run.sh [SECONDS] [JOBS] [TARGET...]
#
# Limits per input: 10 s (`-timeout`), 2 GiB resident (`-rss_limit_mb`). Logs go to
# fuzz/logs/TARGET.log, findings to fuzz/artifacts/TARGET/; the corpus grows in
# fuzz/corpus/TARGET/ (only the seed-* files are committed). Built without a sanitizer: the
# code under test is safe Rust, and overflow checks and debug assertions stay on.
set -euo pipefail
seconds=${1:-60}
jobs=${2:-2}
shift $(($# < 2 ? $# : 2))
fuzz=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz"

all=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^stowage-fuzz$')
targets=${*:-$all}

dict_of() {
    case $1 in
        containerfile) echo containerfile ;;
        manifest_yaml | kustomize_tree | source_tree | microshift_config | release_json) echo yaml ;;
        crio_toml) echo toml ;;
        quadlet) echo quadlet ;;
        stowage_config) echo config ;;
        copy_script) echo copy ;;
        image_ref | image_spec) echo imageref ;;
        image_list | cstorage_json | image_view | oci_manifest) echo image ;;
        toc | layer_tar) echo toc ;;
        registry_challenge | registry_auth) echo registry ;;
    esac
}

nice -n 10 cargo +nightly fuzz build --sanitizer none >/dev/null
bin=$fuzz/target/x86_64-unknown-linux-gnu/release
mkdir -p logs

run_one() {
    local t=$1 dict
    dict=$(dict_of "$t")
    mkdir -p "corpus/$t" "artifacts/$t"
    nice -n 10 "$bin/$t" "corpus/$t" \
        ${dict:+-dict=dict/$dict.dict} \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len=262144 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        >"logs/$t.log" 2>&1 || true
}
export -f run_one dict_of
export seconds bin

printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_one {}'

printf '| target | execs | exec/s | cov | ft | corpus | crashes |\n|---|---:|---:|---:|---:|---:|---:|\n'
for t in $targets; do
    log=logs/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
    crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
done
