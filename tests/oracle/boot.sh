#!/usr/bin/env bash
# The device's boot, as far as the embedded images go. Run by tests/oracle/device.rs inside
# `unshare -m` (a private mount namespace, as root), so nothing mounted here outlives it.
#
#   boot.sh ROOT WORK ARCH
#
# ROOT is the OS image's root filesystem, WORK the harness's directory for this boot:
#   WORK/commands   `run N IGNORE` (run WORK/cmd-N.sh) or `fail N STATUS IGNORE` (systemd
#                   could not even execute it), one ExecStartPre= of microshift.service a line,
#                   in systemd's order; IGNORE is 1 for a `-` prefix.
#   WORK/refs       `ID NAME`: look NAME up in containers-storage after the boot.
# CONTAINERS_STORAGE_CONF (the image's effective storage.conf, rebased), PATH (a logging skopeo
# wrapper first), SKOPEO_REAL and READ_LAYERS come from the caller. Prints `exec N STATUS` per command run
# and `ref ID INSPECT_STATUS COPY_STATUS` per name (COPY_STATUS `-` when not found).
set -u
root=$1 work=$2 arch=$3

# bootc mounts /usr read-only: the copies and any additional store are read from a read-only
# tree, which matters (containers/storage skips a read-only store without its lock files).
if [ -d "$root/usr" ]; then
    mount --bind "$root/usr" "$root/usr" && mount -o remount,bind,ro "$root/usr" || {
        echo "harness: cannot bind $root/usr read-only" >&2
        exit 97
    }
fi
# The image's own signature policy, when it ships one (the host's otherwise, as containers-common
# installs the same default on the device).
if [ -f "$root/etc/containers/policy.json" ] && [ ! -L "$root/etc/containers/policy.json" ] &&
    [ -f /etc/containers/policy.json ]; then
    mount --bind "$root/etc/containers/policy.json" /etc/containers/policy.json
fi

# systemd.service(5): ExecStartPre= commands run one after another; the first that fails
# without a `-` prefix fails the unit, and neither the later ones nor ExecStart= run.
while read -r kind n a b; do
    case $kind in
    run)
        bash "$work/cmd-$n.sh" </dev/null >>"$work/boot.log" 2>&1
        status=$?
        echo "exec $n $status"
        if [ "$status" != 0 ] && [ "$a" = 0 ]; then break; fi
        ;;
    fail)
        echo "exec $n $a"
        if [ "$b" = 0 ]; then break; fi
        ;;
    esac
done <"$work/commands"

# What CRI-O (and podman, for Quadlets) would find: containers/image's own lookup, then (with
# READ_LAYERS=1: when additional stores are configured) every layer read back, as creating a
# container needs them. What the boot itself copied into the writable store is complete.
lookup() {
    local id=$1 name=$2 inspect copy=0
    "$SKOPEO_REAL" --override-arch "$arch" inspect "containers-storage:$name" \
        >"$work/inspect-$id.json" 2>"$work/inspect-$id.err"
    inspect=$?
    if [ "$inspect" != 0 ]; then
        copy=-
    elif [ "${READ_LAYERS:-0}" = 1 ]; then
        # --insecure-policy: the signature policy applies to the boot's copies, not to this read
        # (CRI-O and podman do not check it for images already in their store).
        "$SKOPEO_REAL" --insecure-policy --override-arch "$arch" copy -q "containers-storage:$name" "dir:$work/out-$id" \
            >/dev/null 2>"$work/copy-$id.err"
        copy=$?
        rm -rf "$work/out-$id"
    fi
    echo "ref $id $inspect $copy" >"$work/ref-$id.out"
}
# Lookups only read the store: they run side by side.
while read -r id name; do
    lookup "$id" "$name" &
done <"$work/refs"
wait
cat "$work"/ref-*.out 2>/dev/null
