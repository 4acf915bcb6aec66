#!/usr/bin/env bash
# Runs this repository's pre-commit hook definition through `pre-commit try-repo` on two small
# repositories: one with an offline-readiness violation (the hook must fail) and one clean
# (it must pass). Needs `stowage` on PATH (the `system` hook) and pre-commit (PyPI).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_repo() {
    local dir=$1
    mkdir -p "$dir"
    git -C "$dir" init -q
    git -C "$dir" config user.email ci@example.invalid
    git -C "$dir" config user.name ci
}

# The hook definition must be committed in the repository pre-commit tries.
hooks=$work/hooks
git clone -q "$here" "$hooks"
cp "$here/.pre-commit-hooks.yaml" "$hooks/.pre-commit-hooks.yaml"
git -C "$hooks" -c user.email=ci@example.invalid -c user.name=ci commit -qam "hooks as in the working tree" --allow-empty

bad=$work/bad
make_repo "$bad"
cat > "$bad/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: quay.io/acme/app:1.0@sha256:4c1e5a1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90
      imagePullPolicy: Always
YAML
git -C "$bad" add pod.yaml

good=$work/good
make_repo "$good"
sed 's/imagePullPolicy: Always/imagePullPolicy: IfNotPresent/' "$bad/pod.yaml" > "$good/pod.yaml"
git -C "$good" add pod.yaml

status=0
(cd "$bad" && pre-commit try-repo "$hooks" stowage --all-files) > "$work/bad.log" 2>&1 || status=$?
cat "$work/bad.log"
if [ "$status" = 0 ]; then
    echo "FAIL: the hook passed on a repository with imagePullPolicy: Always" >&2
    exit 1
fi
grep -q "pull-policy-always" "$work/bad.log" || { echo "FAIL: the finding is not in the hook output" >&2; exit 1; }

(cd "$good" && pre-commit try-repo "$hooks" stowage --all-files) > "$work/good.log" 2>&1 || {
    cat "$work/good.log"
    echo "FAIL: the hook failed on a clean repository" >&2
    exit 1
}
cat "$work/good.log"
echo "pre-commit: the violation fails and the clean repository passes"
