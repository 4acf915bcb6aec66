//! Reading built images through every transport: the fixtures in fixtures/images/ were made
//! by umoci and skopeo (see regenerate.sh); corrupt inputs are generated here.

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use stowage::image::view::Entry;
use stowage::image::{self, FileView, ImageOptions, OpenedImage};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images")
}

fn no_cache() -> ImageOptions {
    ImageOptions { use_cache: false, ..Default::default() }
}

fn open(spec: &str, opts: &ImageOptions) -> OpenedImage {
    image::open(spec, opts).unwrap_or_else(|e| panic!("{e}"))
}

/// The vfs store skopeo wrote, unpacked (git cannot hold its empty directories and modes).
fn storage_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::open(fixtures().join("storage.tar")).unwrap();
    let mut archive = tar::Archive::new(file);
    archive.set_preserve_permissions(true);
    archive.unpack(dir.path()).unwrap();
    dir
}

fn assert_fixture_view(view: &FileView, what: &str) {
    assert_eq!(view.entry("/etc/containers/old.conf"), None, "{what}: deleted by a whiteout in layer 2");
    assert!(view.entry("/etc/containers/registries.conf").is_some(), "{what}");
    assert_eq!(view.entry("/usr/lib/microshift/manifests/a.yaml"), None, "{what}: hidden by the opaque dir");
    assert!(view.read("/usr/lib/microshift/manifests/b.yaml").is_some(), "{what}");
    let pause2 = &b"[crio.image]\npause_image = \"quay.io/openshift/pause:2\"\n"[..];
    assert_eq!(view.read("/etc/crio/crio.conf"), Some(pause2), "{what}");
    assert_eq!(view.read("/etc/crio/crio.conf.d/00-same.conf"), Some(pause2), "{what}: hard link");
    assert_eq!(
        view.read("/usr/lib/bootc/bound-images.d/app.container"),
        Some(&b"[Container]\nImage=quay.io/example/app:1.0\n"[..]),
        "{what}: relative symlink"
    );
    assert_eq!(
        view.resolve("/usr/lib/bootc/bound-images.d/escape").as_deref(),
        Some("/etc/shadow"),
        "{what}"
    );
    assert_eq!(view.entry("/usr/bin/big-binary"), None, "{what}: not watched");
    assert_eq!(view.entry("/usr/bin/other-tool"), None, "{what}: not watched");
}

#[test]
fn every_transport_reads_the_same_view() {
    let f = fixtures();
    let store = storage_root();
    let reference = "example.com/stowage/fixture:v1";
    let specs = [
        format!("oci:{}:v1", f.join("oci").display()),
        format!("oci:{}", f.join("oci-zstd").display()),
        format!("oci-archive:{}:v1", f.join("image.oci.tar").display()),
        format!("oci-archive:{}", f.join("image.oci.tar").display()),
        format!("docker-archive:{}", f.join("image.docker.tar").display()),
        format!("docker-archive:{}:{reference}", f.join("image.docker.tar").display()),
        format!("containers-storage:[vfs@{}+/run/unused]{reference}", store.path().display()),
    ];
    let reference_view = open(&specs[0], &no_cache());
    assert_fixture_view(&reference_view.view, &specs[0]);
    assert_eq!(reference_view.stats.layers, 3);
    assert_eq!(reference_view.config.architecture.as_deref(), Some("amd64"));
    assert_eq!(reference_view.config.labels.get("org.example.fixture").map(String::as_str), Some("stowage"));
    for spec in &specs[1..] {
        let other = open(spec, &no_cache());
        assert_fixture_view(&other.view, spec);
        assert_eq!(other.view, reference_view.view, "{spec}");
        assert_eq!(other.config.os.as_deref(), Some("linux"), "{spec}");
    }
    // The top vfs layer is the whole tree: the same view as an unpacked rootfs.
    let vfs = store.path().join("vfs/dir");
    for dir in std::fs::read_dir(&vfs).unwrap() {
        let dir = dir.unwrap().path();
        let spec = format!("rootfs:{}", dir.display());
        let view = open(&spec, &no_cache()).view;
        if view.read("/usr/lib/microshift/manifests/b.yaml").is_some() {
            assert_eq!(view, reference_view.view, "{spec}");
            return;
        }
    }
    panic!("no vfs layer holds the whole image");
}

#[test]
fn the_cache_skips_known_layers_and_ignores_corrupt_entries() {
    let cache = tempfile::tempdir().unwrap();
    let opts = ImageOptions { cache_dir: Some(cache.path().into()), ..Default::default() };
    let spec = format!("oci-archive:{}", fixtures().join("image.oci.tar").display());
    let cold = open(&spec, &opts);
    assert_eq!((cold.stats.cached_layers, cold.stats.layers), (0, 3));
    assert!(cold.stats.bytes_read > 20_000);
    let warm = open(&spec, &opts);
    assert_eq!((warm.stats.cached_layers, warm.stats.bytes_read), (3, 0));
    assert_eq!(warm.view, cold.view);
    // Damage every entry: each is ignored, re-read and rewritten.
    for e in std::fs::read_dir(cache.path().join("layers")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replacen("crio", "CRIO", 1)).unwrap();
    }
    let again = open(&spec, &opts);
    assert_eq!(again.view, cold.view);
    assert!(again.stats.cached_layers < 3, "a damaged entry is not trusted");
    let fixed = open(&spec, &opts);
    assert_eq!(fixed.stats.cached_layers, 3);
    // docker-archive layers are keyed by their diff IDs: the same cache, another key.
    let docker = open(&format!("docker-archive:{}", fixtures().join("image.docker.tar").display()), &opts);
    assert_eq!(docker.view, cold.view);
}

// ---- corrupt inputs, built here as OCI layouts ----

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Write an OCI layout with the given layer blobs (compressed or not) to `dir`.
fn layout(dir: &Path, layers: &[Vec<u8>]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(blobs.join(&d[7..]), b).unwrap();
        d
    };
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = serde_json::json!({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":diff_ids}});
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = put(&config);
    let layer_descs: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| serde_json::json!({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":put(l),"size":l.len()}))
        .collect();
    let manifest = serde_json::json!({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":config_digest,"size":config.len()},"layers":layer_descs});
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let md = put(&manifest);
    let index = serde_json::json!({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":md,"size":manifest.len()}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn header(path: &[u8], kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..path.len()].copy_from_slice(path);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    h.set_cksum();
    h
}

fn stowage_ls(spec: &str) -> assert_cmd::assert::Assert {
    Command::cargo_bin("stowage").unwrap().args(["ls", "--no-cache", "--image", spec]).assert()
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_an_exit_2_error() {
    let dir = tempfile::tempdir().unwrap();
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        b.append(&header(b"etc/crio/crio.conf", tar::EntryType::Regular, 2, None), &b"ok"[..]).unwrap();
        b.into_inner().unwrap()
    };
    let gz = gzip(&tar);
    layout(dir.path(), std::slice::from_ref(&gz));
    let spec = format!("oci:{}", dir.path().display());
    assert!(open(&spec, &no_cache()).view.read("/etc/crio/crio.conf").is_some());
    // Same length, one byte changed in the gzip trailer (CRC), so only the digest tells.
    let blob = dir.path().join("blobs/sha256").join(&sha(&gz)[7..]);
    let mut bad = gz.clone();
    let n = bad.len();
    bad[n - 6] ^= 0xff;
    std::fs::write(&blob, &bad).unwrap();
    let out = stowage_ls(&spec).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains(&spec) && (err.contains("digest mismatch") || err.contains("gzip")), "{err}");
    // Truncated gzip.
    std::fs::write(&blob, &gz[..gz.len() / 2]).unwrap();
    let out = stowage_ls(&spec).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("gzip layer") && err.contains(&sha(&gz)), "{err}");
    // Same content, other bytes: a digest mismatch.
    std::fs::write(&blob, gzip(&[&tar[..], &[0u8; 1024][..]].concat())).unwrap();
    let out = stowage_ls(&spec).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("digest mismatch"), "{err}");
}

#[test]
fn entries_escaping_the_root_and_absolute_links_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&header(b"../../../etc/crio/evil.conf", tar::EntryType::Regular, 1, None), &b"x"[..]).unwrap();
    b.append(&header(b"etc/crio/ok.conf", tar::EntryType::Regular, 1, None), &b"y"[..]).unwrap();
    b.append(&header(b"etc/crio/abs", tar::EntryType::Symlink, 0, Some("/etc/passwd")), &b""[..]).unwrap();
    b.append(
        &header(b"etc/crio/up", tar::EntryType::Symlink, 0, Some("../../../../../../etc/crio/ok.conf")),
        &b""[..],
    )
    .unwrap();
    b.append(&header(b"etc/crio/hard", tar::EntryType::Link, 0, Some("../../../etc/crio/ok.conf")), &b""[..])
        .unwrap();
    layout(dir.path(), &[gzip(&b.into_inner().unwrap())]);
    let image = open(&format!("oci:{}", dir.path().display()), &no_cache());
    assert_eq!(image.stats.unsafe_entries, 1);
    assert_eq!(image.view.entry("/etc/crio/evil.conf"), None);
    assert_eq!(image.view.resolve("/etc/crio/abs").as_deref(), Some("/etc/passwd"));
    assert_eq!(image.view.read("/etc/crio/abs"), None, "the host's /etc/passwd is never read");
    assert_eq!(image.view.read("/etc/crio/up"), Some(&b"y"[..]));
    assert_eq!(image.view.read("/etc/crio/hard"), Some(&b"y"[..]));
}

/// A 10 GiB zero file in a zstd layer of a few hundred KiB: concatenated frames, generated
/// as a stream. It is refused as a bomb after ~1 GiB, in bounded memory and time.
#[test]
fn a_decompression_bomb_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let size: u64 = 10 << 30;
    let mut blob = Vec::new();
    let mut hdr = tar::Header::new_gnu();
    hdr.set_path("usr/share/zeros").unwrap();
    hdr.set_size(size);
    hdr.set_mode(0o644);
    hdr.set_cksum();
    blob.extend(zstd::encode_all(hdr.as_bytes().as_slice(), 1).unwrap());
    let mib_frame = zstd::encode_all(&vec![0u8; 1 << 20][..], 19).unwrap();
    for _ in 0..(size >> 20) {
        blob.extend_from_slice(&mib_frame);
    }
    blob.extend(zstd::encode_all(&[0u8; 1024][..], 1).unwrap());
    assert!(blob.len() < 2 << 20, "{}", blob.len());
    layout(dir.path(), &[blob]);
    let start = Instant::now();
    let err = image::open(&format!("oci:{}", dir.path().display()), &no_cache()).unwrap_err().to_string();
    eprintln!("bomb: {err} after {:?}", start.elapsed());
    assert!(err.contains("decompression bomb"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(120), "{:?}", start.elapsed());
}

#[test]
fn unreadable_images_name_the_image_and_the_cause() {
    let out = stowage_ls("oci-archive:/nonexistent/x.tar").code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("cannot read image `oci-archive:/nonexistent/x.tar`: /nonexistent/x.tar"), "{err}");
    let out = stowage_ls("nope:x").code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("unknown transport `nope`"));
    let f = fixtures().join("image.oci.tar");
    let out = stowage_ls(&format!("oci-archive:{}:nope", f.display())).code(2);
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .contains("no image tagged `nope` in the layout (tags: v1)")
    );
    let out = Command::cargo_bin("stowage")
        .unwrap()
        .args(["check", "--no-cache", "--image", "rootfs:/nonexistent", "fixtures/demo"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("rootfs:/nonexistent"));
}

#[test]
fn ls_lists_the_watched_view() {
    let f = fixtures().join("image.oci.tar");
    let out = Command::cargo_bin("stowage")
        .unwrap()
        .args(["ls", "--no-cache", "--image", &format!("oci-archive:{}", f.display()), "/etc/crio"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(
        text,
        "dir   0755 /etc/crio\nfile  0644 /etc/crio/crio.conf 55\ndir   0755 /etc/crio/crio.conf.d\n\
         file  0644 /etc/crio/crio.conf.d/00-same.conf 55\n"
    );
    let _ = Entry::Dir { mode: 0 };
}
