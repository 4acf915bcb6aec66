#!/usr/bin/env bash
# Benchmark of layers read through their table of contents (issue 4, DESIGN.md
# "zstd:chunked / eStargz"). Reuses (or generates, with bench/gen_image.py) a 1 GiB gzip image
# of 62 layers with 20 embedded images, converts some of its layers once with
#   FORMAT=zstd-chunked (default): skopeo copy --dest-compress-format zstd:chunked
#   FORMAT=estargz: ctr-remote image convert --estargz --oci (stargz-snapshotter, through a
#                   private containerd started here: as root, needs containerd + ctr-remote)
# and prints the time of `stowage ls` through the TOC (default) and of the full streaming
# read with digest verification (--verify), both with an empty cache, and their ratio.
# Target: TOC >= 20x faster than the full read.
set -euo pipefail
cd "$(dirname "$0")/.."
FORMAT=${FORMAT:-zstd-chunked}
src=${BENCH_DIR:-/tmp/stowage-bench-image}
case "$FORMAT" in
    zstd-chunked) work=${CHUNKED_DIR:-/tmp/stowage-bench-chunked} ;;
    estargz) work=${CHUNKED_DIR:-/tmp/stowage-bench-estargz} ;;
    *) echo "FORMAT is zstd-chunked or estargz" >&2; exit 2 ;;
esac
bin=$PWD/target/release/stowage
cargo build --release --quiet
[ -f "$src/lay/index.json" ] || python3 bench/gen_image.py "$src/lay" --mib 1024 --layers 62 --images 20
mkdir -p "$work"
# skopeo 1.9 converts to zstd:chunked at ~6 MB/s on 2 cores: by default only layers
# LAYERS layers are converted: by default the ones holding watched files (the embedded copies
# and the configuration, found by listing each layer's tar), topped up with the highest others
# to eight; LAYERS="55 56 ..." (1-based) chooses them.
LAYERS=${LAYERS:-auto}
if [ ! -f "$work/lay/index.json" ]; then
    rm -rf "$work/sub"
    python3 - "$src/lay" "$work/sub" "$LAYERS" <<'PY'
import hashlib, json, os, sys, tarfile
src, dst, wanted = sys.argv[1], sys.argv[2], sys.argv[3]
blob = lambda d: f"{src}/blobs/sha256/{d[7:]}"
index = json.load(open(f"{src}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
WATCHED = ("usr/lib/containers/", "etc/", "usr/share/containers/", "usr/lib/microshift/", "usr/share/microshift/")
def watched(layer):
    with tarfile.open(blob(layer["digest"])) as t:
        return any(m.name.lstrip("./").startswith(WATCHED) for m in t)
if wanted == "auto":
    n = len(manifest["layers"])
    chosen = {i for i, l in enumerate(manifest["layers"]) if watched(l)}
    for i in reversed(range(n)):
        if len(chosen) >= 8:
            break
        chosen.add(i)
    chosen = sorted(chosen)
else:
    chosen = [int(x) - 1 for x in wanted.split()]
print("layers", " ".join(str(i + 1) for i in chosen), file=sys.stderr)
layers = [manifest["layers"][i] for i in chosen]
config["rootfs"]["diff_ids"] = [config["rootfs"]["diff_ids"][i] for i in chosen]
config.pop("history", None)
os.makedirs(f"{dst}/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{dst}/blobs/sha256/{d}", "wb").write(b)
    return {"digest": f"sha256:{d}", "size": len(b)}
for l in layers:
    os.link(blob(l["digest"]), f"{dst}/blobs/sha256/{l['digest'][7:]}")
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(json.dumps(config).encode())},
     "layers": layers}
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(json.dumps(m).encode())}]}
json.dump(index, open(f"{dst}/index.json", "w"))
open(f"{dst}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
    echo "converting those layers of $src/lay to $FORMAT in $work/lay ..." >&2
    if [ "$FORMAT" = zstd-chunked ]; then
        skopeo copy -q --dest-compress-format zstd:chunked "oci:$work/sub" "oci:$work/lay:latest"
    else
        ctrd="$work/containerd"
        mkdir -p "$ctrd"
        printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s/sock"\n' \
            "$ctrd" "$ctrd" "$ctrd" > "$ctrd/config.toml"
        containerd --config "$ctrd/config.toml" > "$ctrd/log" 2>&1 &
        daemon=$!
        trap 'kill $daemon 2>/dev/null || true' EXIT
        export CONTAINERD_ADDRESS="$ctrd/sock" CONTAINERD_NAMESPACE=stowage-bench
        for _ in $(seq 50); do ctr-remote version >/dev/null 2>&1 && break; sleep 0.2; done
        skopeo copy -q "oci:$work/sub" "oci-archive:$work/sub.tar:bench"
        ctr-remote images import --no-unpack --base-name example.com/bench "$work/sub.tar" >/dev/null
        ctr-remote images convert --oci --estargz example.com/bench:bench example.com/bench:esgz >/dev/null
        ctr-remote images export "$work/esgz.tar" example.com/bench:esgz
        skopeo copy -q "oci-archive:$work/esgz.tar" "oci:$work/lay:latest"
        rm -f "$work/sub.tar" "$work/esgz.tar"
        kill $daemon; wait $daemon 2>/dev/null || true
        rm -rf "$ctrd"
    fi
fi
image="oci:$work/lay:latest"
total=$(du -sb "$work/lay/blobs" | cut -f1)
layers=$(python3 -c "import json;d=json.load(open('$work/lay/index.json'))['manifests'][0]['digest'][7:];print(len(json.load(open('$work/lay/blobs/sha256/'+d))['layers']))")
echo "image: $layers $FORMAT layers, $((total >> 20)) MiB"
run() { # run NAME ARGS...: best of 5 wall-clock seconds (ms precision), bytes read, peak RSS
    local name=$1; shift
    local best=999999 t0 t1 ms
    for _ in 1 2 3 4 5; do
        t0=$(date +%s%N)
        /usr/bin/time -f "%M" -o "$work/time.txt" "$bin" ls --no-cache --format json --image "$image" "$@" / \
            > "$work/$name.json"
        t1=$(date +%s%N); ms=$(( (t1 - t0) / 1000000 ))
        [ "$ms" -lt "$best" ] && best=$ms
    done
    rss=$(cat "$work/time.txt")
    bytes=$(python3 -c "import json;print(json.load(open('$work/$name.json'))['stats']['bytes_read'])")
    toc=$(python3 -c "import json;print(json.load(open('$work/$name.json'))['stats']['toc_layers'])")
    printf '%-8s %6d ms  %10d bytes read  %6d MiB peak  toc_layers=%s\n' "$name" "$best" "$bytes" $((rss >> 10)) "$toc"
    eval "${name}_ms=$best"
}
run toc
run verify --verify
cmp <(python3 -c "import json;print(json.dumps(json.load(open('$work/toc.json'))['entries']))") \
    <(python3 -c "import json;print(json.dumps(json.load(open('$work/verify.json'))['entries']))") \
    && echo "same entries through the TOC and the full read"
python3 -c "print(f'ratio: full read / TOC = {$verify_ms / max($toc_ms, 1):.0f}x (target >= 20x)')"
