#!/usr/bin/env bash
# Benchmark of reading a built image (issue 4). Generates (once, cached in $BENCH_DIR) a
# realistic OCI layout: LAYERS gzip layers of mixed binary (random) and text content, about
# 1.2 GB compressed, one layer carrying an embedded store of 20 `dir:` image copies, then prints:
#   cold    stowage ls with an empty cache
#   warm    the same image with one layer changed, cache filled by the cold run
#   tar     `tar -tzf` over the same layers, two at a time (the baseline)
# plus bytes read and peak memory. Targets: cold <= 0.6 x tar, warm <= 5% of cold, < 200 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/stowage-bench-image}
LAYERS=${LAYERS:-62}
RANDOM_MB=${RANDOM_MB:-17}   # incompressible MiB per layer
TEXT_MB=${TEXT_MB:-12}       # text MiB per layer (compresses ~5x)
bin=$PWD/target/release/stowage
[ -n "${GEN_ONLY:-}" ] || cargo build --release --quiet
mkdir -p "$work"
cd "$work"

blob() { # blob FILE: move FILE into blobs/sha256, print its digest
    local d; d=$(sha256sum "$1" | cut -d' ' -f1)
    mv "$1" "lay/blobs/sha256/$d"; echo "sha256:$d"
}

make_layer() { # make_layer N SEED: a gzip layer in layer-N.tar.gz
    local n=$1 seed=$2 t="tree-$1"
    rm -rf "$t"; mkdir -p "$t/usr/lib/pkg$n" "$t/usr/share/doc/pkg$n"
    { openssl enc -aes-128-ctr -pass "pass:$seed" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } \
        | head -c $((RANDOM_MB << 20)) | split -b 1M -d -a 3 - "$t/usr/lib/pkg$n/lib.so."
    seq 1 $((TEXT_MB * 140000)) | sed "s/^/pkg$n line $seed /" | split -b 256K -d -a 3 - "$t/usr/share/doc/pkg$n/doc."
    if [ "$n" = 40 ]; then # the embedded store: 20 dir: copies with a list
        local s="$t/usr/lib/containers/storage"; mkdir -p "$s"
        for i in $(seq 1 20); do
            local ref="quay.io/example/app$i:1.0" h
            h=$(echo "$ref" | sha256sum | cut -d' ' -f1); mkdir -p "$s/$h"
            { head -c 3M /dev/urandom || true; } > "$s/$h/layer"; local lh; lh=$(sha256sum "$s/$h/layer" | cut -d' ' -f1)
            mv "$s/$h/layer" "$s/$h/$lh"
            printf '{"architecture":"amd64","os":"linux"}' > "$s/$h/cfg"; local ch; ch=$(sha256sum "$s/$h/cfg" | cut -d' ' -f1)
            mv "$s/$h/cfg" "$s/$h/$ch"
            printf '{"schemaVersion":2,"config":{"digest":"sha256:%s","size":38},"layers":[{"digest":"sha256:%s","size":3145728}]}' \
                "$ch" "$lh" > "$s/$h/manifest.json"
            printf 'Directory Transport Version: 1.1\n' > "$s/$h/version"
            echo "$ref,$h" >> "$s/image-list.txt"
        done
        mkdir -p "$t/etc/crio"; printf '[crio.image]\npause_image = "quay.io/x/pause:1"\n' > "$t/etc/crio/crio.conf"
    fi
    tar -C "$t" -cf - . | gzip -1 > "layer-$n.tar.gz"
    rm -rf "$t"
}

write_layout() { # write_layout: manifest + config + index from layer-*.tar.gz digests in ldigests
    python3 - <<'PY'
import json, hashlib, os
ls = [l.split() for l in open("ldigests").read().split("\n") if l]
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [d for d, _ in ls]}}).encode()
def put(b):
    d = hashlib.sha256(b).hexdigest(); open(f"lay/blobs/sha256/{d}", "wb").write(b); return "sha256:" + d
m = json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": int(s)} for d, s in ls]}).encode()
idx = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(m), "size": len(m)}]}
open("lay/index.json", "w").write(json.dumps(idx))
open("lay/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
}

if [ ! -f lay/index.json ]; then
    echo "generating $LAYERS layers in $work ..." >&2
    rm -rf lay; mkdir -p lay/blobs/sha256; : > ldigests
    for n in $(seq 1 "$LAYERS"); do
        make_layer "$n" "seed$n"
        size=$(stat -c %s "layer-$n.tar.gz")
        echo "$(blob "layer-$n.tar.gz") $size" >> ldigests
    done
    write_layout
fi
[ -z "${GEN_ONLY:-}" ] || exit 0
total=$(awk '{s+=$2} END {print s}' ldigests)
echo "image: $LAYERS layers, $((total >> 20)) MiB compressed"

measure() { # measure LABEL CMD...: wall seconds and peak RSS (KiB)
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > "$work/out.json"
    read -r secs rss < "$work/time.txt"
    printf '%-28s %7.2f s   peak %6d MiB\n' "$label" "$secs" $((rss / 1024))
    echo "$secs"  > "$work/last"
}

export XDG_CACHE_HOME="$work/cache"
rm -rf "$XDG_CACHE_HOME"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
measure "tar -tzf, 2 at a time" sh -c "cut -d' ' -f1 ldigests | sed 's/sha256://' | xargs -P2 -I{} tar -tzf lay/blobs/sha256/{} > /dev/null"
tar_s=$(cat "$work/last")
measure "stowage cold" "$bin" ls --image oci:lay --format json
cold_s=$(cat "$work/last")
python3 -c "import json; s=json.load(open('$work/out.json'))['stats']; print('  layers', s['layers'], 'bytes read', s['bytes_read'], 'cached', s['cached_layers'], 'entries', len(json.load(open('$work/out.json'))['entries']))"

# Change one layer (the top one) and read again with the cache filled.
cp ldigests ldigests.orig
make_layer "$LAYERS" "changed-$(date +%s)"
size=$(stat -c %s "layer-$LAYERS.tar.gz")
head -n $((LAYERS - 1)) ldigests.orig > ldigests
echo "$(blob "layer-$LAYERS.tar.gz") $size" >> ldigests
write_layout
measure "stowage warm (1 layer new)" "$bin" ls --image oci:lay --format json
warm_s=$(cat "$work/last")
python3 -c "import json; s=json.load(open('$work/out.json'))['stats']; print('  layers', s['layers'], 'bytes read', s['bytes_read'], 'cached', s['cached_layers'])"
measure "stowage --no-cache" "$bin" ls --no-cache --image oci:lay --format json
echo "cold / tar = $(echo "$cold_s / $tar_s" | bc -l | cut -c1-5)   warm / cold = $(echo "$warm_s / $cold_s" | bc -l | cut -c1-5)"
