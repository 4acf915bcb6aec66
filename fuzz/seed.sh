#!/usr/bin/env bash
# Seed corpora for the fuzz targets, made from the repository's fixtures: fuzz/corpus/TARGET/seed-*.
# Run from anywhere; rerun after the fixtures change (it replaces the seeds, not what the fuzzer
# added). Multi-file targets take a *bundle* (see fuzz/src/lib.rs): `=== PATH` starts a file.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz")
corpus=$fuzz/corpus
cd "$repo"

# Largest file copied into a seed as it is; larger or binary ones become `=== big PATH SIZE`.
max_text=16384

reset() { mkdir -p "$corpus/$1"; rm -f "$corpus/$1"/seed-*; }
name() { printf '%s' "$1" | tr '/ ' '__' | tr -cd 'A-Za-z0-9._-' | cut -c1-80; }
# seed TARGET NAME < content
seed() { cat > "$corpus/$1/seed-$(name "$2")"; }
# one seed per file, at most SIZE bytes: copy TARGET SIZE FILE...
copy() {
    local target=$1 size=$2 f
    shift 2
    for f in "$@"; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -le "$size" ] && seed "$target" "$f" < "$f"
    done
    return 0
}
is_text() { [ "$(stat -c %s "$1")" -le "$max_text" ] && [ "$(tr -d '\000' < "$1" | wc -c)" -eq "$(stat -c %s "$1")" ]; }
# The first four bytes of a file, as hex.
magic() { od -An -tx1 -N4 "$1" | tr -d ' \n'; }
# bundle DIR: every entry below DIR as a bundle, paths relative to DIR.
bundle() {
    local dir=$1 p rel
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
        rel=${p#./}
        if [ -L "$dir/$rel" ]; then
            printf '=== link %s -> %s\n\n' "$rel" "$(readlink "$dir/$rel")"
        elif [ -d "$dir/$rel" ]; then
            [ -z "$(ls -A "$dir/$rel")" ] && printf '=== dir %s\n\n' "$rel"
        elif is_text "$dir/$rel"; then
            printf '=== %s\n' "$rel"
            cat "$dir/$rel"
            printf '\n'
        else
            printf '=== big %s %s\n\n' "$rel" "$(stat -c %s "$dir/$rel")"
        fi
    done
}

# Containerfiles, with and without build arguments.
reset containerfile
copy containerfile 65536 Containerfile Dockerfile $(find fixtures examples -iname '*containerfile*' -o -iname '*dockerfile*' | grep -v '\.tar' | LC_ALL=C sort)
copy containerfile 4096 fuzz/regressions/containerfile/*
printf 'VERSION=1.2\nREGISTRY=quay.io/acme\n%%%%\nARG REGISTRY=docker.io\nARG VERSION\nFROM ${REGISTRY}/app:${VERSION:-latest} AS build\nARG VERSION\nRUN skopeo copy docker://${REGISTRY}/db:${VERSION} dir:/usr/lib/containers/storage/x\nFROM build\nCOPY --from=build /a /b\n' | seed containerfile with-args

# Kubernetes YAML.
reset manifest_yaml
copy manifest_yaml 16384 $(find fixtures/demo fixtures/kustomize examples -name '*.yaml' ! -name 'kustomization.yaml' | LC_ALL=C sort | head -60)
printf '# fields: spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value spec.image\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: op\nspec:\n  template:\n    spec:\n      containers:\n        - name: op\n          image: &img quay.io/acme/op:1\n          env:\n            - name: RELATED_IMAGE_DB\n              value: quay.io/acme/db@sha256:%064d\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p}\n    spec: {containers: [{name: c, image: *img}]}\n' 0 | seed manifest_yaml fields-anchors-list

# Kustomize trees: one bundle per fixture case.
reset kustomize_tree
for d in fixtures/kustomize/*/ fixtures/kustomize-copy/apps; do
    bundle "$d" | seed kustomize_tree "$(basename "$d")"
done

# Whole repositories.
reset source_tree
bundle fixtures/demo | seed source_tree demo
bundle fixtures/kustomize-copy/apps | seed source_tree kustomize-copy
for d in examples/*/; do [ -d "$d" ] && bundle "$d" | head -c 65536 | seed source_tree "example-$(basename "$d")"; done

# Quadlets.
reset quadlet
copy quadlet 16384 $(find fixtures examples \( -name '*.container' -o -name '*.image' -o -name '*.kube' -o -name '*.pod' \) | LC_ALL=C sort | head -40)
printf '=== web.container\n[Container]\nImage=web.image\n\n=== web.image\n[Image]\nImage=quay.io/acme/web:1\nImageTag=localhost/web:1\n' | seed quadlet linked

# Release files.
reset release_json
copy release_json 65536 $(find fixtures examples -name 'release-*.json' | LC_ALL=C sort | head -10)
printf '{"release":{"base":"4.19.0"},"images":{"pause":"quay.io/openshift/pause@sha256:%064d","bad":1,"empty":""}}\n' 0 | seed release_json inline

# CRI-O configuration (and drop-ins).
reset crio_toml
copy crio_toml 16384 $(find fixtures examples -name 'crio.conf' -o -path '*crio.conf.d/*' | LC_ALL=C sort | head -20)
printf '=== etc/crio/crio.conf\n[crio]\nroot = "/var/lib/containers/storage"\n[crio.image]\npause_image = "quay.io/openshift/pause:3.9"\npinned_images = ["quay.io/acme/*", "*pause*"]\n\n=== etc/crio/crio.conf.d/10-storage.conf\n[crio]\nstorage_driver = "overlay"\nstorage_option = ["overlay.additionalimagestores=/usr/lib/containers/storage"]\n' | seed crio_toml drop-ins

# MicroShift configuration.
reset microshift_config
copy microshift_config 16384 $(find fixtures examples -path '*microshift/config*' -name '*.y*ml' | LC_ALL=C sort | head -20)
printf '=== etc/microshift/config.yaml\nmanifests:\n  kustomizePaths:\n    - /usr/lib/microshift/manifests\n    - /etc/microshift/manifests.d/*\n\n=== etc/microshift/config.d/10-off.yaml\nmanifests:\n  kustomizePaths: []\n' | seed microshift_config drop-ins

# stowage.yaml.
reset stowage_config
copy stowage_config 16384 $(find . -path ./target -prune -o -path ./fuzz -prune -o \( -name 'stowage.yaml' -o -name '.stowage.yaml' \) -print | LC_ALL=C sort | head -20)
if [ -x target/debug/stowage ]; then
    (cd "$(mktemp -d)" && "$repo/target/debug/stowage" init >/dev/null 2>&1 && cat stowage.yaml) | seed stowage_config init || true
fi

# The copy script, its drop-in and its list.
reset copy_script
for d in fixtures/inventory/*/; do
    s=$d/usr/bin/microshift-copy-images
    [ -f "$s" ] || continue
    {
        printf '=== script\n'; cat "$s"; printf '\n'
        for c in "$d"/usr/lib/systemd/system/microshift.service.d/*.conf; do
            [ -f "$c" ] && { printf '=== drop-in\n'; cat "$c"; printf '\n'; break; }
        done
        l=$d/usr/lib/containers/storage/image-list.txt
        [ -f "$l" ] && { printf '=== list\n'; cat "$l"; }
    } | seed copy_script "$(basename "$d")"
done

# Image references: every distinct `image:` value and FROM of the fixtures, and odd forms.
reset image_ref
{
    grep -rhoE '(image|Image)[:=] *"?[^" ]+' fixtures examples 2>/dev/null | sed -E 's/^(image|Image)[:=] *"?//'
    grep -rhoE '^FROM +[^ ]+' fixtures examples 2>/dev/null | sed -E 's/^FROM +//'
    printf '%s\n' nginx library/nginx:1 docker.io/nginx index.docker.io/library/nginx:latest \
        'localhost:5000/a/b:tag' '[::1]:5000/app@sha256:0123456789012345678901234567890123456789012345678901234567890123' \
        'quay.io/acme/app:1@sha256:0123456789012345678901234567890123456789012345678901234567890123' \
        'registry.example.com/a__b--c.d/e' 'UPPER/case' 'a:b:c' 'sha512:x'
} | LC_ALL=C sort -u | grep -v '[$]' | head -200 | while read -r r; do printf '%s' "$r" | seed image_ref "$r"; done

# --image transport specs and bound-image values.
reset image_spec
for s in 'oci:fixtures/images/oci:latest' 'oci-archive:img.tar' 'docker-archive:img.tar:app:1' \
    'docker://quay.io/acme/app:1' 'containers-storage:[overlay@/var/lib/containers/storage]quay.io/a:1' \
    'rootfs:/' 'dir:x' 'quay.io/acme/%%n:%i' '%%'; do printf '%s' "$s" | seed image_spec "$s"; done

# Image contents: each inventory fixture as a bundle of its watched files.
reset image_view; reset image_list; reset cstorage_json
for d in fixtures/inventory/*/; do
    b=$(bundle "$d")
    printf '%s' "$b" | head -c 131072 | seed image_view "$(basename "$d")"
    case $(basename "$d") in
        dir-copies|image-cache|thirty) printf '%s' "$b" | head -c 131072 | seed image_list "$(basename "$d")" ;;
        overlay-*|vfs-*|var-only) printf '%s' "$b" | head -c 131072 | seed cstorage_json "$(basename "$d")" ;;
    esac
done
for l in $(find fixtures/inventory -name 'image-list.txt' | LC_ALL=C sort | head -5); do copy image_list 16384 "$l"; done
for j in $(find fixtures/inventory -name 'images.json' | LC_ALL=C sort | head -5); do copy cstorage_json 16384 "$j"; done

# OCI manifests, indexes and configs.
reset oci_manifest
for d in fixtures/images/oci fixtures/images/oci-chunked fixtures/images/oci-estargz; do
    copy oci_manifest 4096 "$d/index.json"
    for b in "$d"/blobs/sha256/*; do
        [ "$(stat -c %s "$b")" -le 4096 ] && head -c1 "$b" | grep -q '{' && copy oci_manifest 4096 "$b"
    done
done

# Layers (first byte: 0 nothing verified, 1 blob digest), and the gzip ones for the differential.
reset layer_tar; reset gzip_diff; reset toc
for d in fixtures/images/oci fixtures/images/oci-zstd; do
    for b in "$d"/blobs/sha256/*; do
        [ "$(stat -c %s "$b")" -le 32768 ] || continue
        case $(magic "$b") in 1f8b*|28b52ffd) ;; *) continue ;; esac
        { printf '\001'; cat "$b"; } | seed layer_tar "$(basename "$d")-$(basename "$b" | cut -c1-12)"
        case $(magic "$b") in 1f8b*) copy gzip_diff 32768 "$b" ;; esac
    done
done
tmp=$(mktemp -d)
mkdir -p "$tmp/etc/containers" "$tmp/usr/lib/containers/storage"
printf '[storage]\ndriver = "overlay"\n' > "$tmp/etc/containers/storage.conf"
printf 'quay.io/acme/app:1,%064d\n' 0 > "$tmp/usr/lib/containers/storage/image-list.txt"
tar -C "$tmp" -cf "$tmp/layer.tar" etc usr
{ printf '\000'; cat "$tmp/layer.tar"; } | seed layer_tar plain-tar
printf 'one\n' | gzip -n > "$tmp/a.gz"; printf 'two\n' | gzip -n > "$tmp/b.gz"
cat "$tmp/a.gz" "$tmp/b.gz" | seed gzip_diff two-members
{ cat "$tmp/a.gz"; printf 'trailing'; } | seed gzip_diff trailing-garbage
rm -rf "$tmp"

# Tables of contents (first byte: even eStargz, odd zstd:chunked).
for d in fixtures/images/oci-estargz fixtures/images/oci-estargz-chunks fixtures/images/oci-chunked-stargz; do
    for b in "$d"/blobs/sha256/*; do
        [ "$(stat -c %s "$b")" -le 32768 ] && [[ $(magic "$b") == 1f8b* ]] || continue
        { printf '\000'; cat "$b"; } | seed toc "$(basename "$d")-$(basename "$b" | cut -c1-12)"
    done
done
for b in fixtures/images/oci-chunked/blobs/sha256/*; do
    [ "$(stat -c %s "$b")" -le 32768 ] && [ "$(magic "$b")" = 28b52ffd ] || continue
    { printf '\001'; cat "$b"; } | seed toc "oci-chunked-$(basename "$b" | cut -c1-12)"
done

# Registry challenges, token answers and auth files.
reset registry_challenge; reset registry_auth
printf 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"' | seed registry_challenge bearer
printf 'Basic realm="Registry Realm", Bearer realm="https://a/t", error="insufficient_scope"' | seed registry_challenge two
printf 'Negotiate dXNlcjpwYXNz==, Basic realm="x\\"y,z"' | seed registry_challenge token68
printf '{"token":"abc","access_token":"def","expires_in":300}' | seed registry_challenge token-body
printf '{"auths":{"quay.io":{"auth":"dXNlcjpwYXNz"},"localhost:5000/a":{"identitytoken":"tok"}}}' | seed registry_auth auths
printf '{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjo="},"docker.io/library/nginx":{"auth":"!!"}}}' | seed registry_auth hub
printf '{"auths":{"quay.io":{"username":"u","password":"p"}}}' | seed registry_auth user-password

du -sh "$corpus" | cut -f1 | sed 's/^/seed corpus: /'
