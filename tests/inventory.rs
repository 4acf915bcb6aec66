//! `stowage inventory` on the fixture root filesystems of `fixtures/inventory/` (written by
//! skopeo and umoci, see its `regenerate.sh`): every fixture's inventory, exactly.

use stowage::inventory::{Inventory, inventory};

fn inv(fixture: &str) -> Inventory {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory").join(fixture);
    let opts = stowage::image::ImageOptions { use_cache: false, ..Default::default() };
    let view =
        stowage::image::open(&format!("rootfs:{}", root.display()), &opts).expect("fixture readable").view;
    inventory(&view, Some("amd64"))
}

/// One line per image: names | method | digest | architectures | size | state | CRI-O.
fn rows(inv: &Inventory) -> Vec<String> {
    inv.images
        .iter()
        .map(|i| {
            let digest = i.digest.as_deref().map_or("-".to_string(), |d| d[7..19].to_string());
            let state = if i.complete {
                "complete".to_string()
            } else {
                format!("incomplete: {}", i.problems.join("; "))
            };
            format!(
                "{} | {} | {digest} | {} | {} | {state} | crio={}",
                i.names.join(","),
                i.method.as_str(),
                i.architectures.join(","),
                i.size,
                i.visible_to_crio
            )
        })
        .collect()
}

fn warnings(inv: &Inventory) -> Vec<String> {
    inv.images
        .iter()
        .flat_map(|i| i.warnings.iter().map(move |w| format!("{}: {w}", i.names.first().unwrap_or(&i.path))))
        .collect()
}

const CONTINUE: &str = "logically bound: pulled by bootc at upgrade/switch, not carried in the image";

#[test]
fn dir_copies_with_every_kind_of_list_line() {
    let inv = inv("dir-copies");
    assert_eq!(
        rows(&inv),
        [
            "quay.io/stowage/app:1 | dir | 5ccff81bb88a | amd64 | 670 | complete | crio=true",
            "quay.io/stowage/multi:1 | dir | 93b11a42b39d | amd64,arm64 | 1702 | complete | crio=true",
            "quay.io/stowage/multi-one:1 | dir | 5ccff81bb88a | amd64 | 670 | complete | crio=true",
            "quay.io/stowage/arm:1 | dir | 77bb24d54584 | arm64 | 670 | complete | crio=true",
            "quay.io/stowage/missing-blob:1 | dir | 96b14046624a | amd64 | 897 | incomplete: layer blob \
             sha256:14bd729bff831a308052b9690d4f26567e89cb0459dbba896f930645ef48ddd7 is missing | crio=true",
            "quay.io/stowage/wrong-h:1 | dir | 5ccff81bb88a | amd64 | 670 | complete | crio=true",
            "quay.io/stowage/no-dir:1 | dir | - |  | 0 | incomplete: no directory \
             /usr/lib/containers/storage/4b6de039602980d1257354dd993463217d5281abd5bb18da37b23a771cc6f560: \
             the copy was never written | crio=true",
            " | dir | 5ccff81bb88a | amd64 | 670 | complete | crio=false",
        ]
    );
    assert_eq!(
        warnings(&inv),
        [
            "quay.io/stowage/app:1: listed again on line 8 of /usr/lib/containers/storage/image-list.txt",
            "quay.io/stowage/arm:1: built for arm64, not for the OS image's architecture amd64",
            "quay.io/stowage/wrong-h:1: H 45a54ff5106b9ad4e7a8b706bba1557265d335e9b1464328c2bba7ae194311b2 is not \
             sha256(REF + newline) = a2afeb631ea2cd5df854506253488ca00663bc895f797960b8e72a65cf37b2bd (it was \
             computed without the trailing newline, as `echo -n` does); the copy script uses H as written",
        ]
    );
    // The --all copy: the index digest first, then the per-platform manifest of the device's
    // architecture only: the boot-time copy (without --all) stores that instance alone, so the
    // arm64 one (sha256:77bb24d5...) cannot be looked up on an amd64 device (device oracle).
    assert_eq!(
        inv.images[1].digests,
        [
            "sha256:93b11a42b39d1b679a2a928752469ea1a3633c16ee622008ad622645e9f47268",
            "sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31",
        ]
    );
    // Without --all, skopeo stored the amd64 instance only: its digest, not the index's.
    assert_eq!(
        inv.images[2].digests,
        ["sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31"]
    );
    assert_eq!(inv.images[7].visibility, "not named in any image list: nothing copies it into CRI-O's store");
    assert_eq!(
        inv.images[0].visibility,
        "copied into the default store at boot by /usr/bin/microshift-copy-images \
         (/usr/lib/systemd/system/microshift.service.d/microshift-copy-images.conf)"
    );
    assert_eq!(inv.stores.len(), 1);
    assert!(inv.stores[0].configured && inv.stores[0].problems.is_empty());
}

#[test]
fn an_image_cache_without_a_copy_service_is_not_visible() {
    let inv = inv("image-cache");
    assert_eq!(
        rows(&inv),
        ["quay.io/stowage/app:1 | dir | 5ccff81bb88a | amd64 | 670 | complete | crio=false"]
    );
    assert_eq!(inv.images[0].store, "/usr/lib/containers-image-cache/mapping.txt");
    assert_eq!(
        inv.stores[0].problems,
        ["/usr/bin/microshift-copy-images is missing: nothing copies it into CRI-O's store at boot"]
    );
}

#[test]
fn a_configured_overlay_store_with_its_lock_files() {
    let inv = inv("overlay-conf");
    assert_eq!(
        rows(&inv),
        [
            "quay.io/stowage/app:latest,quay.io/stowage/multi:1,quay.io/stowage/app:1 | containers-storage | \
             5ccff81bb88a | amd64 | 1894 | complete | crio=true",
            "quay.io/stowage/extra:1 | containers-storage | 96b14046624a | amd64 | 2301 | complete | crio=true",
        ]
    );
    assert!(warnings(&inv).is_empty(), "{:?}", warnings(&inv));
    // Copied from an index: the list's digest is a `manifest-*` big-data digest, so it matches.
    assert_eq!(
        inv.images[0].digests,
        [
            "sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31",
            "sha256:93b11a42b39d1b679a2a928752469ea1a3633c16ee622008ad622645e9f47268",
        ]
    );
    assert_eq!(
        inv.images[0].id.as_deref(),
        Some("bc94b6df0d67b95a12315b374cba46ba59eb74acea69780744695e9321d80ab7")
    );
    assert_eq!(inv.images[0].visibility, "additional image store configured in /etc/containers/storage.conf");
    let c = &inv.config;
    assert_eq!(c.storage.file.as_deref(), Some("/etc/containers/storage.conf"));
    assert_eq!(c.storage.driver.as_deref(), Some("overlay"));
    assert_eq!(c.storage.additional_image_stores, ["/usr/lib/containers/storage"]);
    assert_eq!(c.registries.unqualified_search_registries, ["quay.io"], "the drop-in replaces the list");
    assert_eq!(c.registries.short_name_mode.as_deref(), Some("enforcing"));
    assert_eq!(c.crio.files, ["/etc/crio/crio.conf.d/10-microshift.conf"]);
    assert_eq!(
        c.crio.pause_image.as_deref(),
        Some(&*format!("quay.io/openshift/pause@sha256:{}", "1".repeat(64)))
    );
    assert_eq!(c.crio.pinned_images, ["quay.io/stowage/*"]);
    assert_eq!(c.microshift.kustomize_paths, ["/usr/lib/microshift/manifests"]);
    assert_eq!(c.releases.len(), 1);
    assert_eq!((c.releases[0].arch.as_deref(), c.releases[0].images), (Some("x86_64"), 1));
    assert!(c.problems.is_empty(), "{:?}", c.problems);
}

#[test]
fn a_configured_store_without_lock_files_is_skipped() {
    let inv = inv("overlay-nolocks");
    assert_eq!(
        rows(&inv),
        ["quay.io/stowage/app:1 | containers-storage | 5ccff81bb88a | amd64 | 1403 | complete | crio=false"]
    );
    assert_eq!(inv.config.storage.file.as_deref(), Some("/usr/share/containers/storage.conf"));
    // Not merely skipped: on the read-only /usr, containers/storage fails to open the store, and
    // with it every containers-storage operation (skopeo 1.9.3 in the device oracle).
    assert_eq!(
        inv.images[0].visibility,
        "the additional image store /usr/lib/containers/storage has no \
         /usr/lib/containers/storage/overlay-images/images.lock, and /usr is read-only: containers/storage \
         fails to open it, so every containers-storage operation fails (CRI-O's lookups and the boot-time \
         copies included)"
    );
    assert_eq!(inv.problems.len(), 1);
}

#[test]
fn an_unconfigured_vfs_store_with_a_lost_layer() {
    let inv = inv("vfs-noconf");
    assert_eq!(
        rows(&inv),
        [
            "quay.io/stowage/app:1 | containers-storage | 5ccff81bb88a | amd64 | 1403 | complete | crio=false",
            "quay.io/stowage/extra:1 | containers-storage | 96b14046624a | amd64 | 2301 | incomplete: layer \
             d15133767922 has no content (/usr/share/containers/storage/vfs/dir/\
             d151337679221ec688169430103a03e47d84e2dddc9a21389700c34e3bf1107d) | crio=false",
            "quay.io/stowage/arm:1 | containers-storage | 77bb24d54584 | arm64 | 1403 | complete | crio=false",
        ]
    );
    assert_eq!(
        warnings(&inv),
        ["quay.io/stowage/arm:1: built for arm64, not for the OS image's architecture amd64"]
    );
    assert_eq!(
        inv.images[0].visibility,
        "/usr/share/containers/storage is not an additionalimagestores entry of storage.conf (there is none)"
    );
    assert_eq!(inv.stores[0].problems, ["not configured as an additional image store"]);
}

#[test]
fn an_image_only_in_the_default_store() {
    let inv = inv("var-only");
    assert_eq!(
        rows(&inv),
        ["quay.io/stowage/app:1 | default-store | 5ccff81bb88a | amd64 | 1403 | complete | crio=true"]
    );
    assert_eq!(
        warnings(&inv),
        [
            "quay.io/stowage/app:1: in the default store under /var: bootc copies /var only at install, never on \
          upgrade, and CRI-O wipes the store after an unclean shutdown"
        ]
    );
}

#[test]
fn oci_layouts_and_archives_under_store_roots() {
    let inv = inv("oci");
    assert_eq!(
        rows(&inv),
        [
            "app | oci-layout | 5ccff81bb88a | amd64 | 637 | complete | crio=false",
            "multi | oci-layout | 93b11a42b39d | amd64,arm64 | 1765 | complete | crio=false",
            " | archive | - |  | 7168 | incomplete: archive contents are not read: completeness not verified | crio=false",
            " | archive | - |  | 8192 | incomplete: archive contents are not read: completeness not verified | crio=false",
        ]
    );
    assert_eq!(inv.images[2].path, "/usr/lib/containers/storage/app.tar");
    assert_eq!(inv.images[3].path, "/usr/share/containers/storage/app-docker.tar");
}

#[test]
fn bound_images_with_every_bootc_error() {
    let inv = inv("bound");
    let c = CONTINUE;
    assert_eq!(
        rows(&inv),
        [
            format!(
                " | bound | - |  | 0 | incomplete: {c}; bootc: Invalid file extension: app.service | crio=false"
            ),
            format!(
                " | bound | - |  | 0 | incomplete: {c}; bootc: Not a symlink: copied.container | crio=false"
            ),
            format!("quay.io/stowage/db:2 | bound | - |  | 0 | incomplete: {c} | crio=false"),
            format!(
                " | bound | - |  | 0 | incomplete: {c}; bootc: cannot read usr/lib/bootc/bound-images.d/gone.container \
                 -> /usr/share/containers/systemd/gone.container: no such file inside the image | crio=false"
            ),
            format!(
                " | bound | - |  | 0 | incomplete: {c}; bootc: Parsing usr/lib/bootc/bound-images.d/no-image.container: \
                 Missing Image field | crio=false"
            ),
            format!("quay.io/stowage/%percent:1 | bound | - |  | 0 | incomplete: {c} | crio=false"),
            format!(
                " | bound | - |  | 0 | incomplete: {c}; bootc: Parsing usr/lib/bootc/bound-images.d/spec.container: \
                 Invalid image value: Systemd specifiers are not supported by bound bootc images: \
                 quay.io/stowage/%N:1 | crio=false"
            ),
            format!("quay.io/stowage/web:1 | bound | - |  | 0 | incomplete: {c} | crio=false"),
        ]
    );
    assert_eq!(
        inv.problems,
        ["bootc will refuse this image's bound images (it stops at the first bad entry of \
          /usr/lib/bootc/bound-images.d): app.service: Invalid file extension: app.service"]
    );
}

#[test]
fn thirty_images_in_a_readable_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory/thirty");
    let out = assert_cmd::Command::cargo_bin("stowage")
        .expect("binary")
        .args(["inventory", "--image", &format!("rootfs:{}", root.display())])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 32, "{text}");
    assert!(lines[0].trim_start().starts_with("NAMES"), "{}", lines[0]);
    assert!(lines[1].contains("registry.example.com/edge/component-01:v1.01") && lines[1].contains(" dir "));
    assert!(lines[30].contains("quay.io/stowage/svc5:2.5") && lines[30].contains("containers-storage"));
    assert!(lines[1..31].iter().all(|l| l.contains("complete") && l.contains(" yes ")));
    assert_eq!(
        lines[31],
        "30 images, 27.6 KiB: 25 dir, 5 containers-storage; 0 incomplete; 30 visible to CRI-O"
    );
    insta::assert_snapshot!("inventory_thirty_table", text);
}

#[test]
fn json_follows_the_documented_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/inventory.schema.json"),
        )
        .expect("schema"),
    )
    .expect("schema is JSON");
    for fixture in [
        "dir-copies",
        "image-cache",
        "overlay-conf",
        "overlay-nolocks",
        "vfs-noconf",
        "var-only",
        "oci",
        "bound",
        "thirty",
    ] {
        let text = stowage::report::inventory::json(&inv(fixture));
        let value: serde_json::Value = serde_json::from_str(&text).expect("output is JSON");
        let mut errors = Vec::new();
        validate(&schema, &value, "$", &mut errors);
        assert!(errors.is_empty(), "{fixture}: {errors:#?}");
    }
    // The validator does catch a wrong type and a missing field.
    let mut errors = Vec::new();
    validate(
        &schema,
        &serde_json::json!({"schema_version": 1, "images": [{"names": "x"}]}),
        "$",
        &mut errors,
    );
    assert!(errors.iter().any(|e| e.contains("$.images[0].names")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("missing `stores`")), "{errors:?}");
}

/// The subset of JSON Schema the document uses: type (one or a list), required, properties,
/// items, enum.
fn validate(schema: &serde_json::Value, value: &serde_json::Value, at: &str, errors: &mut Vec<String>) {
    use serde_json::Value;
    let type_ok = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    };
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t) => errors.push(format!("{at}: not {t}: {value}")),
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(type_ok) => {
            errors.push(format!("{at}: none of {ts:?}: {value}"))
        }
        _ => {}
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} not in {allowed:?}"));
    }
    if let (Some(Value::Array(required)), Value::Object(obj)) = (schema.get("required"), value) {
        for r in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                errors.push(format!("{at}: missing `{r}`"));
            }
        }
    }
    if let (Some(Value::Object(props)), Value::Object(obj)) = (schema.get("properties"), value) {
        for (k, s) in props {
            if let Some(v) = obj.get(k) {
                validate(s, v, &format!("{at}.{k}"), errors);
            }
        }
    }
    if let (Some(items), Value::Array(list)) = (schema.get("items"), value) {
        for (i, v) in list.iter().enumerate() {
            validate(items, v, &format!("{at}[{i}]"), errors);
        }
    }
}

#[test]
fn an_unreadable_image_exits_2() {
    let out = assert_cmd::Command::cargo_bin("stowage")
        .expect("binary")
        .args(["inventory", "--image", "rootfs:/nonexistent/stowage-fixture"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rootfs:/nonexistent/stowage-fixture"));
}

/// containers/image reads registries.conf drop-ins from `/etc/containers/registries.conf.d`
/// only: a drop-in under `/usr/share` changes nothing CRI-O does, so it must not change the
/// search registries stowage resolves short names with.
#[test]
fn registries_drop_ins_under_usr_share_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory/overlay-conf");
    let status = std::process::Command::new("cp").arg("-a").arg(&fixture).arg(&root).status().unwrap();
    assert!(status.success());
    let share = root.join("usr/share/containers/registries.conf.d");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("99-other.conf"), "unqualified-search-registries = [\"registry.example\"]\n")
        .unwrap();
    let opts = stowage::image::ImageOptions { use_cache: false, ..Default::default() };
    let view = stowage::image::open(&format!("rootfs:{}", root.display()), &opts).unwrap().view;
    let c = inventory(&view, Some("amd64")).config;
    assert_eq!(c.registries.unqualified_search_registries, ["quay.io"]);
    assert!(c.registries.files.iter().all(|f| f.starts_with("/etc/")), "{:?}", c.registries.files);
}
