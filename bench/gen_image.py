#!/usr/bin/env python3
"""Generate, deterministically, a bootc-like OCI image layout for the image benchmarks.

Usage: gen_image.py OUT --mib M --layers L --images N [--compression gzip|zstd] [--warm-out DIR]

- L layers whose compressed sizes add up to about M MiB, unequal (a few large, many small, as
  in real bootc images); each holds "binaries" (half incompressible, half low-entropy bytes,
  compressing about 1.4x overall, 16 KiB-2 MiB) and text files (1-16 KiB, compressing about 4x).
- N embedded images as MicroShift documents them: `dir:` copies under
  /usr/lib/containers/storage with image-list.txt (4 MiB of incompressible layer each, spread
  over the top layers, five images per layer), plus the audit fixture's configuration
  (fixtures/audit/images/complete: CRI-O, Quadlet, release file, copy service, its own five
  copies) and a MicroShift kustomization running every embedded image. The image is READY.
- --warm-out DIR writes the same image with only its top layer changed (one more file), its
  blobs hard-linked to OUT's, for the warm re-audit.

Layers are written as plain tar first (cached under OUT/.tars, shared by the gzip and zstd
variants), compressed with `gzip -1 -n` or `zstd -3`, and stored in OUT/blobs/sha256; the
index tags the manifest `latest` (for skopeo and umoci). Everything derives from fixed seeds,
so the same arguments give the same digests.
"""
import argparse
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile
from multiprocessing import Pool

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "audit", "images", "complete")
WORDS = [f"w{i:x}" for i in range(500)] + ["the", "of", "and", "config", "error", "path", "image"]
LOW = bytes((b & 0x0F) * 17 for b in range(256))  # 16 symbols: 4 bits of entropy per byte
EMBED_LAYER_MIB = 4
PER_LAYER_IMAGES = 5


def weights(n):
    # A few large layers (the OS base), then many small ones: roughly a bootc rpm-ostree split.
    r = random.Random(7)
    return [(40 if i < 3 else 8 if i < n // 4 else 2) * (0.5 + r.random()) for i in range(n)]


def text_block(r, size):
    out = []
    n = 0
    while n < size:
        line = " ".join(r.choice(WORDS) for _ in range(r.randint(4, 14))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


_POOL = []


def text_pool():
    """4 MiB of words, the same in every process; text files are slices of it."""
    if not _POOL:
        _POOL.append(text_block(random.Random(11), 4 << 20))
    return _POOL[0]


def add(t, path, data, mode=0o644):
    parts = path.split("/")[:-1]
    for i in range(1, len(parts) + 1):  # parent directories first, as real layers have them
        d = "/".join(parts[:i])
        if d not in t.dirs_done:
            add_dir(t, d)
    info = tarfile.TarInfo(path)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1704067200
    info.uname = info.gname = "root"
    t.addfile(info, io.BytesIO(data))


def add_dir(t, path):
    t.dirs_done.add(path)
    info = tarfile.TarInfo(path)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 1704067200
    t.addfile(info)


def embedded(i):
    """One dir: copy: (ref, dirname, {file: bytes})."""
    r = random.Random(f"embed{i}")
    ref = f"quay.io/bench/app{i}:1.{i % 7}"
    h = hashlib.sha256((ref + "\n").encode()).hexdigest()
    layer = r.randbytes(EMBED_LAYER_MIB << 20)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    ld, cd = hashlib.sha256(layer).hexdigest(), hashlib.sha256(cfg).hexdigest()
    man = json.dumps({"schemaVersion": 2,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{cd}", "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": f"sha256:{ld}", "size": len(layer)}]}).encode()
    return ref, h, {ld: layer, cd: cfg, "manifest.json": man, "version": b"Directory Transport Version: 1.1\n"}


def layer_tar(args):
    """Write layer n (0-based) as a plain tar; returns its path."""
    tars, n, nlayers, target, nimages, seed = args
    path = os.path.join(tars, f"{nlayers}-{nimages}-{target}-{n:03d}-{seed}.tar")
    if os.path.exists(path):
        return path
    r = random.Random(f"{seed}-{n}")
    tmp = path + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as t:
        t.dirs_done = set()
        add_dir(t, f"usr/lib/pkg{n}")
        add_dir(t, f"usr/share/doc/pkg{n}")
        first_embed = nlayers - 1 - (nimages + PER_LAYER_IMAGES - 1) // PER_LAYER_IMAGES
        if n == first_embed - 1:  # the audit configuration, below the embedded images
            for root, _, files in sorted(os.walk(FIXTURE)):
                for f in sorted(files):
                    full = os.path.join(root, f)
                    rel = os.path.relpath(full, FIXTURE)
                    if rel.endswith("image-list.txt"):
                        continue
                    add(t, rel, open(full, "rb").read(), 0o755 if "/bin/" in rel else 0o644)
            docs = []
            for i in range(nimages):
                ref = embedded_ref(i)
                docs.append(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n"
                            f"  template:\n    spec:\n      containers:\n        - name: app\n"
                            f"          image: {ref}\n          imagePullPolicy: IfNotPresent\n")
            add(t, "usr/lib/microshift/manifests.d/bench/apps.yaml", "---\n".join(docs).encode())
            add(t, "usr/lib/microshift/manifests.d/bench/kustomization.yaml",
                b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - apps.yaml\n")
        if first_embed <= n < nlayers - 1:
            lines = []
            for i in range((n - first_embed) * PER_LAYER_IMAGES, min(nimages, (n - first_embed + 1) * PER_LAYER_IMAGES)):
                ref, h, files = embedded(i)
                for name, data in files.items():
                    add(t, f"usr/lib/containers/storage/{h}/{name}", data)
            if n == nlayers - 2:  # the list, complete, with the fixture's own copies
                fixture_list = open(os.path.join(FIXTURE, "usr/lib/containers/storage/image-list.txt")).read()
                for i in range(nimages):
                    ref = embedded_ref(i)
                    lines.append(f"{ref},{hashlib.sha256((ref + chr(10)).encode()).hexdigest()}\n")
                add(t, "usr/lib/containers/storage/image-list.txt", (fixture_list + "".join(lines)).encode())
        # Payload: compressed budget split ~70% binaries (ratio ~1.4), ~30% text (ratio ~4).
        if target > 0:
            # Scaled by 0.81, measured: gzip -1 compresses this mix less than the nominal ratios.
            bin_bytes, text_bytes = int(target * 0.7 * 1.4 * 0.81), int(target * 0.3 * 4 * 0.81)
            k = 0
            while bin_bytes > 0:
                size = min(bin_bytes, int(16384 * 2 ** (r.random() * 7)))
                third = size // 3
                data = r.randbytes(third) + r.randbytes(size - third).translate(LOW)
                add(t, f"usr/lib/pkg{n}/lib{k:05d}.so", data, 0o755)
                bin_bytes -= size
                k += 1
            pool = text_pool()
            k = 0
            while text_bytes > 0:
                size = min(text_bytes, r.randint(1024, 16384))
                off = r.randint(0, len(pool) - size)
                add(t, f"usr/share/doc/pkg{n}/f{k:05d}.txt", f"pkg{n} file {k}\n".encode() + pool[off:off + size])
                text_bytes -= size
                k += 1
    os.rename(tmp, path)
    return path


def embedded_ref(i):
    return f"quay.io/bench/app{i}:1.{i % 7}"


def compress(args):
    tar, comp = args
    cmd = ["gzip", "-1", "-n", "-c"] if comp == "gzip" else ["zstd", "-3", "-q", "-c", "--no-check"]
    with open(tar, "rb") as src:
        data = subprocess.run(cmd, stdin=src, stdout=subprocess.PIPE, check=True).stdout
    diff_id = hashlib.sha256(open(tar, "rb").read()).hexdigest()
    return data, diff_id


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mib", type=float, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--compression", default="gzip", choices=["gzip", "zstd"])
    ap.add_argument("--tars", help="directory of the shared plain-tar cache (default OUT/.tars)")
    ap.add_argument("--warm-out", help="also write the image with its top layer changed there")
    a = ap.parse_args()
    tars = a.tars or os.path.join(a.out, ".tars")
    os.makedirs(tars, exist_ok=True)
    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    embed_mib = a.images * EMBED_LAYER_MIB
    payload = max(a.mib - embed_mib, a.mib * 0.2) * (1 << 20)
    w = weights(a.layers)
    jobs = [(tars, n, a.layers, int(payload * w[n] / sum(w)), a.images, "base") for n in range(a.layers)]
    if a.warm_out:  # the same image, its top layer rebuilt with one more file
        jobs.append((tars, a.layers - 1, a.layers, int(payload * w[-1] / sum(w)) + 4096, a.images, "changed"))
    with Pool(2) as p:
        paths = p.map(layer_tar, jobs)
        results = p.map(compress, [(t, a.compression) for t in paths])
    info = write_layout(a.out, results[: a.layers], a.compression)
    info["uncompressed"] = sum(os.path.getsize(t) for t in paths[: a.layers])
    if a.warm_out:
        os.makedirs(os.path.join(a.warm_out, "blobs", "sha256"), exist_ok=True)
        for name in os.listdir(os.path.join(a.out, "blobs", "sha256")):
            dst = os.path.join(a.warm_out, "blobs", "sha256", name)
            if not os.path.exists(dst):
                os.link(os.path.join(a.out, "blobs", "sha256", name), dst)
        write_layout(a.warm_out, results[: a.layers - 1] + results[a.layers:], a.compression)
    print(json.dumps(info))


def write_layout(out, results, compression):
    layers, diff_ids = [], []
    mt = "application/vnd.oci.image.layer.v1.tar+" + compression
    for data, diff_id in results:
        layers.append({"mediaType": mt, "digest": put(out, data), "size": len(data)})
        diff_ids.append(f"sha256:{diff_id}")
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(out, cfg), "size": len(cfg)},
                      "layers": layers}).encode()
    idx = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                              "digest": put(out, man), "size": len(man),
                                              "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(idx, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(out, "layers.txt"), "w") as f:
        f.write("".join(l["digest"].split(":")[1] + "\n" for l in layers))
    return {"layers": len(layers), "compressed": sum(l["size"] for l in layers)}


def put(out, data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(out, "blobs", "sha256", d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return f"sha256:{d}"


if __name__ == "__main__":
    sys.exit(main())
