//! `--format cyclonedx`: the inventory of every fixture image (`fixtures/images/*` through
//! their transports, `fixtures/inventory/*` and `fixtures/audit/images/*` as `rootfs:`) as a
//! CycloneDX 1.6 SBOM, validated against the official schema (with the SPDX and JSF schemas it
//! references, all in `tests/schemas/`, resolved locally), byte-identical across runs, one
//! component per inventory row; and the exact content of a few.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stowage() -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(root())
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("STOWAGE_FORMAT")
        .env_remove("STOWAGE_ARCH")
        .env("NO_COLOR", "1");
    cmd
}

/// `stowage inventory --image IMAGE --format FORMAT`, which must succeed: its stdout.
fn inventory(image: &str, format: &str, epoch: Option<&str>) -> String {
    let mut cmd = stowage();
    cmd.args(["inventory", "--no-cache", "--image", image, "--format", format]);
    if let Some(e) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", e);
    }
    let out = cmd.output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{image}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Loads `http://cyclonedx.org/schema/NAME` from `tests/schemas/NAME`, and nothing else.
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("http://cyclonedx.org/schema/")
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| format!("not a local schema: {}", uri.as_str()))?;
        let text = std::fs::read_to_string(root().join("tests/schemas").join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/schemas/bom-1.6.schema.json")).expect("the schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(LocalSchemas)
        .build(&schema)
        .unwrap_or_else(|e| panic!("bom-1.6.schema.json: {e}"))
}

fn schema_errors(validator: &jsonschema::Validator, bom: &Value) -> Vec<String> {
    validator.iter_errors(bom).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

/// The vfs store skopeo wrote (fixtures/images/regenerate.sh), unpacked.
fn storage_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = std::fs::File::open(root().join("fixtures/images/storage.tar")).expect("storage.tar");
    let mut archive = tar::Archive::new(file);
    archive.set_preserve_permissions(true);
    archive.unpack(dir.path()).expect("unpacks");
    dir
}

fn subdirectories(dir: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("a fixture directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).expect("under the repository").display().to_string()
}

/// Every fixture image, as an `--image` value.
fn fixture_images(store: &Path) -> Vec<String> {
    let mut images = Vec::new();
    for entry in std::fs::read_dir(root().join("fixtures/images")).expect("fixtures/images") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if path.join("index.json").is_file() {
            images.push(format!("oci:{}", relative(&path)));
        } else if name.ends_with(".oci.tar") {
            images.push(format!("oci-archive:{}", relative(&path)));
        } else if name.ends_with(".docker.tar") {
            images.push(format!("docker-archive:{}", relative(&path)));
        } else if name == "storage.tar" {
            images.push(format!(
                "containers-storage:[vfs@{}+/run/unused]example.com/stowage/fixture:v1",
                store.display()
            ));
        }
    }
    for dir in ["fixtures/inventory", "fixtures/audit/images"] {
        images.extend(subdirectories(dir).iter().map(|d| format!("rootfs:{}", relative(d))));
    }
    images.sort();
    images
}

#[test]
fn every_fixture_image_gives_a_valid_deterministic_sbom_with_one_component_per_image() {
    let store = storage_root();
    let images = fixture_images(store.path());
    // 6 layouts, 2 archives, the store; 9 inventory trees; 6 audit states.
    assert_eq!(images.len(), 24, "{images:#?}");
    let validator = validator();
    for image in &images {
        let first = inventory(image, "cyclonedx", None);
        let second = inventory(image, "cyclonedx", None);
        assert!(first == second, "{image}: two runs differ");
        let bom: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{image}: not JSON: {e}"));
        let errors = schema_errors(&validator, &bom);
        assert!(errors.is_empty(), "{image}: not valid CycloneDX 1.6:\n{}", errors.join("\n"));

        assert_eq!(bom["specVersion"], "1.6", "{image}");
        assert_eq!(bom["metadata"]["component"]["name"], image.as_str());
        if image.starts_with("containers-storage:") {
            // A registry reference names the OS image.
            assert_eq!(
                bom["metadata"]["component"]["purl"],
                "pkg:oci/fixture@sha256:5515d39b44af0cb6c5debaa7c129c4ff5fc9c853c8306a82ceadd705bbaa2260\
                 ?repository_url=example.com%2Fstowage%2Ffixture&tag=v1"
            );
        }
        let serial = bom["serialNumber"].as_str().unwrap_or_else(|| panic!("{image}: a serial number"));
        assert_eq!(&serial[23..24], "5", "{image}: a version-5 UUID: {serial}");

        let inv: Value = serde_json::from_str(&inventory(image, "json", None)).expect("inventory JSON");
        let rows = inv["images"].as_array().expect("images");
        let components = bom["components"].as_array().expect("components");
        assert_eq!(components.len(), rows.len(), "{image}: one component per inventory row");
        // bom-refs are unique, the OS image's included, and the dependencies name only them.
        let mut refs = BTreeSet::new();
        refs.insert(bom["metadata"]["component"]["bom-ref"].as_str().expect("the OS image's bom-ref"));
        for c in components {
            assert_eq!(c["type"], "container", "{image}");
            assert!(
                refs.insert(c["bom-ref"].as_str().expect("a bom-ref")),
                "{image}: duplicate {}",
                c["bom-ref"]
            );
        }
        for dependency in bom["dependencies"].as_array().expect("dependencies") {
            for r in std::iter::once(&dependency["ref"])
                .chain(dependency["dependsOn"].as_array().into_iter().flatten())
            {
                assert!(refs.contains(r.as_str().unwrap_or_default()), "{image}: unknown ref {r}");
            }
        }
    }
}

#[test]
fn the_validation_is_real() {
    let validator = validator();
    let text = inventory("rootfs:fixtures/inventory/dir-copies", "cyclonedx", Some("1777636800"));
    let bom: Value = serde_json::from_str(&text).expect("JSON");
    assert!(schema_errors(&validator, &bom).is_empty());
    for (path, value) in [
        ("/serialNumber", Value::from("urn:uuid:not-a-uuid")),
        ("/components/0/type", Value::from("image")),
        ("/components/0/hashes/0/content", Value::from("5ccff8")),
        ("/metadata/timestamp", Value::from("yesterday")),
    ] {
        let mut broken = bom.clone();
        *broken.pointer_mut(path).unwrap_or_else(|| panic!("{path}")) = value;
        assert!(!schema_errors(&validator, &broken).is_empty(), "{path} was not checked");
    }
    // A signature is checked by the JSF schema, which the CycloneDX one references.
    let mut signed = bom.clone();
    signed["signature"] = serde_json::json!({"algorithm": "RS256", "value": 1});
    assert!(!schema_errors(&validator, &signed).is_empty(), "the JSF schema was not applied");
}

fn property<'a>(component: &'a Value, name: &str) -> Vec<&'a str> {
    component["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name)
        .filter_map(|p| p["value"].as_str())
        .collect()
}

#[test]
fn dir_copies_are_containers_with_oci_purls_and_stowage_facts() {
    let bom: Value = serde_json::from_str(&inventory(
        "rootfs:fixtures/inventory/dir-copies",
        "cyclonedx",
        Some("1777636800"),
    ))
    .expect("JSON");
    assert_eq!(bom["metadata"]["timestamp"], "2026-05-01T12:00:00Z");
    let components = bom["components"].as_array().expect("components");
    let purls: Vec<Option<&str>> = components.iter().map(|c| c["purl"].as_str()).collect();
    assert_eq!(
        purls,
        [
            Some(
                "pkg:oci/app@sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31\
                 ?arch=amd64&repository_url=quay.io%2Fstowage%2Fapp&tag=1"
            ),
            // The --all copy is an index: its platforms are properties, not an arch qualifier.
            Some(
                "pkg:oci/multi@sha256:93b11a42b39d1b679a2a928752469ea1a3633c16ee622008ad622645e9f47268\
                 ?repository_url=quay.io%2Fstowage%2Fmulti&tag=1"
            ),
            Some(
                "pkg:oci/multi-one@sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31\
                 ?arch=amd64&repository_url=quay.io%2Fstowage%2Fmulti-one&tag=1"
            ),
            Some(
                "pkg:oci/arm@sha256:77bb24d54584b73a8cb6043f4accd5cf6f6fd9dd35424f93b6cc2b6927a289cd\
                 ?arch=arm64&repository_url=quay.io%2Fstowage%2Farm&tag=1"
            ),
            Some(
                "pkg:oci/missing-blob@sha256:96b14046624a6055cfb1eb55cefcad303e9871c399503b215db10339ad7b7c0c\
                 ?arch=amd64&repository_url=quay.io%2Fstowage%2Fmissing-blob&tag=1"
            ),
            Some(
                "pkg:oci/wrong-h@sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31\
                 ?arch=amd64&repository_url=quay.io%2Fstowage%2Fwrong-h&tag=1"
            ),
            // Never written: a name but no digest, so no version.
            Some("pkg:oci/no-dir?repository_url=quay.io%2Fstowage%2Fno-dir&tag=1"),
            // A copy no list names: no purl.
            None,
        ]
    );
    let app = &components[0];
    assert_eq!(app["name"], "quay.io/stowage/app");
    assert_eq!(app["version"], "1");
    assert_eq!(
        app["hashes"],
        serde_json::json!([{"alg": "SHA-256", "content": "5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31"}])
    );
    assert_eq!(property(app, "stowage:carried"), ["true"]);
    assert_eq!(property(app, "stowage:method"), ["dir"]);
    assert_eq!(property(app, "stowage:store"), ["/usr/lib/containers/storage/image-list.txt"]);
    assert_eq!(property(app, "stowage:complete"), ["true"]);
    assert_eq!(property(app, "stowage:visible_to_crio"), ["true"]);
    assert_eq!(property(app, "stowage:architecture"), ["amd64"]);
    assert_eq!(property(app, "stowage:size"), ["670"]);
    let multi = &components[1];
    assert_eq!(property(multi, "stowage:index"), ["true"]);
    assert_eq!(property(multi, "stowage:architecture"), ["amd64", "arm64"]);
    assert_eq!(property(&components[4], "stowage:complete"), ["false"]);
    let unnamed = &components[7];
    assert_eq!(
        unnamed["name"],
        "/usr/lib/containers/storage/be3730e23d7dd7894296e3add35a14544ba66be1d805b2492b6b129c6e400b60"
    );
    assert_eq!(property(unnamed, "stowage:visible_to_crio"), ["false"]);
    assert_eq!(
        unnamed["bom-ref"],
        "dir:/usr/lib/containers/storage/be3730e23d7dd7894296e3add35a14544ba66be1d805b2492b6b129c6e400b60"
    );
    // The OS image depends on every image it lists.
    assert_eq!(bom["dependencies"][0]["ref"], "os-image");
    assert_eq!(bom["dependencies"][0]["dependsOn"].as_array().map(Vec::len), Some(8));
}

#[test]
fn the_os_image_is_the_metadata_component_and_bound_images_are_not_carried() {
    let image = "oci:fixtures/images/oci:v1";
    let bom: Value = serde_json::from_str(&inventory(image, "cyclonedx", None)).expect("JSON");
    let digest = "5515d39b44af0cb6c5debaa7c129c4ff5fc9c853c8306a82ceadd705bbaa2260";
    // UUIDv5 of `sha256:<digest>` in stowage's namespace (Python's uuid.uuid5 agrees).
    assert_eq!(bom["serialNumber"], "urn:uuid:f5d0b4a9-3324-5a37-97d4-a97de623f312");
    // Without SOURCE_DATE_EPOCH: the image's creation time.
    assert_eq!(bom["metadata"]["timestamp"], "2026-11-26T11:12:11.405165713Z");
    let os = &bom["metadata"]["component"];
    assert_eq!(os["type"], "container");
    assert_eq!(os["name"], image);
    assert_eq!(os["hashes"], serde_json::json!([{"alg": "SHA-256", "content": digest}]));
    assert_eq!(property(os, "stowage:architecture"), ["amd64"]);
    assert_eq!(property(os, "stowage:label:org.example.fixture"), ["stowage"]);
    assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "stowage");

    let bound = &bom["components"][0];
    assert_eq!(bound["name"], "quay.io/example/app");
    assert_eq!(bound["purl"], "pkg:oci/app?repository_url=quay.io%2Fexample%2Fapp&tag=1.0");
    assert_eq!(property(bound, "stowage:method"), ["bound"]);
    assert_eq!(property(bound, "stowage:carried"), ["false"]);
    assert!(bound.get("hashes").is_none());

    // SOURCE_DATE_EPOCH wins over the creation time; the serial number stays.
    let pinned: Value =
        serde_json::from_str(&inventory(image, "cyclonedx", Some("1777636800"))).expect("JSON");
    assert_eq!(pinned["metadata"]["timestamp"], "2026-05-01T12:00:00Z");
    assert_eq!(pinned["serialNumber"], bom["serialNumber"]);
    // A tree without a configuration has no creation time: no timestamp at all.
    let tree: Value =
        serde_json::from_str(&inventory("rootfs:fixtures/inventory/bound", "cyclonedx", None)).expect("JSON");
    assert!(tree["metadata"].get("timestamp").is_none());
}

#[test]
fn check_writes_the_same_sbom_as_inventory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("sbom.cdx.json");
    let image = "rootfs:fixtures/audit/images/complete";
    let out = stowage()
        .args(["check", "--no-config", "--no-cache", "--arch", "x86_64", "--image", image])
        .arg("--format")
        .arg(format!("cyclonedx={}", file.display()))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(&file).expect("the SBOM was written");
    let mut cmd = stowage();
    cmd.args(["inventory", "--no-cache", "--arch", "x86_64", "--image", image, "--format", "cyclonedx"]);
    let printed = String::from_utf8(cmd.output().expect("runs").stdout).expect("UTF-8");
    assert!(written == printed, "check and inventory disagree:\n{written}\n---\n{printed}");
}

#[test]
fn check_without_an_image_has_no_inventory_to_list() {
    for format in ["cyclonedx", "cyclonedx=sbom.json"] {
        let out = stowage()
            .args(["check", "--no-config", "fixtures/demo", "--format", format])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "stowage: error: --format cyclonedx needs --image IMAGE: there is no inventory without an image \
             (the SBOM lists the images an OS image carries)\n"
        );
        assert!(!root().join("sbom.json").exists());
    }
}

#[test]
fn the_entries_of_one_layout_get_their_own_refs_and_a_layout_tag_is_no_image_name() {
    let bom: Value =
        serde_json::from_str(&inventory("rootfs:fixtures/inventory/oci", "cyclonedx", None)).expect("JSON");
    let components = bom["components"].as_array().expect("components");
    let refs: Vec<&str> = components.iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    assert_eq!(
        refs,
        [
            "oci-layout:/usr/lib/containers/storage/layout",
            "oci-layout:/usr/lib/containers/storage/layout#2",
            "archive:/usr/lib/containers/storage/app.tar",
            "archive:/usr/share/containers/storage/app-docker.tar",
        ]
    );
    // `app` and `multi` are the layout's ref names (tags), not repositories: no purl, but the
    // hash and the name are kept.
    assert_eq!(components[0]["name"], "app");
    assert!(components[0].get("purl").is_none());
    assert_eq!(
        components[0]["hashes"][0]["content"],
        "5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31"
    );
    assert_eq!(property(&components[0], "stowage:index"), ["false"]);
    // The layout's `multi` entry is an index of two platforms.
    assert_eq!(property(&components[1], "stowage:index"), ["true"]);
    assert_eq!(property(&components[1], "stowage:architecture"), ["amd64", "arm64"]);
}
