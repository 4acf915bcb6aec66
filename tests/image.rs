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

// ---- zstd:chunked: the table of contents instead of a full read ----

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The manifest of the only image of a layout, as JSON, and its blob path.
fn manifest_of(dir: &Path) -> (serde_json::Value, PathBuf) {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let path = dir.join("blobs/sha256").join(&digest[7..]);
    (serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(), path)
}

/// Rewrite the manifest of a layout's only image (a new blob, index.json pointing at it).
fn rewrite_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let (mut manifest, _) = manifest_of(dir);
    edit(&mut manifest);
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = sha(&bytes);
    std::fs::write(dir.join("blobs/sha256").join(&digest[7..]), &bytes).unwrap();
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"] = digest.into();
    index["manifests"][0]["size"] = bytes.len().into();
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

const POSITION: &str = "io.containers.zstd-chunked.manifest-position";
const CHECKSUM: &str = "io.containers.zstd-chunked.manifest-checksum";

/// The largest layer (the one with the watched files) of a layout: its index in the
/// manifest, blob path, and descriptor.
fn big_layer(dir: &Path) -> (usize, PathBuf, serde_json::Value) {
    let (manifest, _) = manifest_of(dir);
    let layers = manifest["layers"].as_array().unwrap();
    let (i, layer) = layers.iter().enumerate().max_by_key(|(_, l)| l["size"].as_u64().unwrap()).unwrap();
    let blob = dir.join("blobs/sha256").join(&layer["digest"].as_str().unwrap()[7..]);
    (i, blob, layer.clone())
}

/// The big layer of a zstd:chunked layout, with its TOC position.
fn big_chunked_layer(dir: &Path) -> (usize, PathBuf, (u64, u64)) {
    let (i, blob, layer) = big_layer(dir);
    let pos: Vec<u64> =
        layer["annotations"][POSITION].as_str().unwrap().split(':').map(|p| p.parse().unwrap()).collect();
    (i, blob, (pos[0], pos[1]))
}

#[test]
fn zstd_chunked_layers_are_listed_from_their_table_of_contents() {
    let f = fixtures();
    let gzip_view = open(&format!("oci:{}:v1", f.join("oci").display()), &no_cache()).view;
    let chunked = format!("oci:{}:v1", f.join("oci-chunked").display());
    let toc = open(&chunked, &no_cache());
    assert_fixture_view(&toc.view, &chunked);
    assert_eq!(toc.view, gzip_view, "the TOC gives the same view as a full read");
    assert_eq!((toc.stats.layers, toc.stats.toc_layers), (3, 3));
    let (manifest, _) = manifest_of(&f.join("oci-chunked"));
    let blob_bytes: u64 =
        manifest["layers"].as_array().unwrap().iter().map(|l| l["size"].as_u64().unwrap()).sum();
    assert!(toc.stats.bytes_read * 4 < blob_bytes, "{} of {blob_bytes}", toc.stats.bytes_read);
    // --verify: the full streaming read, digest verified.
    let verify = ImageOptions { verify: true, ..no_cache() };
    let full = open(&chunked, &verify);
    assert_eq!(full.view, toc.view);
    assert_eq!((full.stats.toc_layers, full.stats.bytes_read), (0, blob_bytes));
    // Through an oci-archive: ranges of the archive's members.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("chunked.oci.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    b.append_dir_all(".", f.join("oci-chunked")).unwrap();
    b.finish().unwrap();
    drop(b);
    let from_archive = open(&format!("oci-archive:{}", archive.display()), &no_cache());
    assert_eq!(from_archive.view, gzip_view);
    assert_eq!(from_archive.stats.toc_layers, 3);
    // TOC reads are not cached (their blobs were not verified); full reads are, and then win.
    let cache = tempfile::tempdir().unwrap();
    let cached = ImageOptions { cache_dir: Some(cache.path().into()), ..Default::default() };
    let first = open(&chunked, &cached);
    assert_eq!((first.stats.toc_layers, first.stats.cached_layers), (3, 0));
    open(&chunked, &ImageOptions { verify: true, ..cached.clone() });
    let warm = open(&chunked, &cached);
    assert_eq!((warm.stats.toc_layers, warm.stats.cached_layers), (0, 3));
    assert_eq!(warm.view, gzip_view);
    // `stowage ls` says which layers were not verified.
    let out = stowage_ls(&chunked).success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(
            "3 listed from their table of contents (zstd:chunked or eStargz; blob digests not verified"
        ),
        "{err}"
    );
}

#[test]
fn zstd_chunked_layers_of_stargz_snapshotter_are_read_too() {
    // Its TOC has no endOffset: a file's frames end where the next entry's begin, and each
    // file's frame run continues with the next tar headers.
    let f = fixtures();
    let gzip_view = open(&format!("oci:{}:v1", f.join("oci").display()), &no_cache()).view;
    let spec = format!("oci:{}:v1", f.join("oci-chunked-stargz").display());
    let (manifest, _) = manifest_of(&f.join("oci-chunked-stargz"));
    assert!(manifest["layers"][0]["annotations"][POSITION].is_string(), "a zstd:chunked fixture");
    let toc = open(&spec, &no_cache());
    assert_fixture_view(&toc.view, &spec);
    assert_eq!(toc.view, gzip_view);
    assert_eq!(toc.stats.toc_layers, 3);
    assert_eq!(open(&spec, &ImageOptions { verify: true, ..no_cache() }).view, gzip_view);
}

// ---- eStargz ----

const TOC_DIGEST: &str = "containerd.io/snapshot/stargz/toc.digest";

fn layer_bytes(dir: &Path) -> u64 {
    let (manifest, _) = manifest_of(dir);
    manifest["layers"].as_array().unwrap().iter().map(|l| l["size"].as_u64().unwrap()).sum()
}

#[test]
fn estargz_layers_are_listed_from_their_table_of_contents() {
    let f = fixtures();
    let gzip_view = open(&format!("oci:{}:v1", f.join("oci").display()), &no_cache()).view;
    // Default chunking (one gzip member per file), and 32-byte chunks: crio.conf (55 bytes)
    // and the manifests are read from several members, each checked by its chunk digest.
    for name in ["oci-estargz", "oci-estargz-chunks"] {
        let spec = format!("oci:{}:v1", f.join(name).display());
        let toc = open(&spec, &no_cache());
        assert_fixture_view(&toc.view, &spec);
        assert_eq!(toc.view, gzip_view, "{name}: the TOC gives the same view as a full read");
        assert_eq!((toc.stats.layers, toc.stats.toc_layers), (3, 3), "{name}");
        let total = layer_bytes(&f.join(name));
        // The unwatched 20 KB random binary is never read; the TOC of the 32-byte chunks is
        // itself half of the rest.
        assert!(toc.stats.bytes_read * 2 < total, "{name}: {} of {total}", toc.stats.bytes_read);
        // --verify: the ordinary gzip streaming read of the same blobs, digests verified.
        let full = open(&spec, &ImageOptions { verify: true, ..no_cache() });
        assert_eq!(full.view, gzip_view, "{name}");
        assert_eq!((full.stats.toc_layers, full.stats.bytes_read), (0, total), "{name}");
    }
}

/// An eStargz footer: an empty gzip member whose extra field locates the TOC.
fn estargz_footer(toc_offset: usize) -> Vec<u8> {
    let mut f = vec![0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 26, 0, b'S', b'G', 22, 0];
    f.extend_from_slice(format!("{toc_offset:016x}STARGZ").as_bytes());
    f.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    f
}

/// Put `blob` in place of layer `i` of a layout's manifest, with these annotations set.
fn replace_layer(dir: &Path, i: usize, blob: &[u8], annotations: &[(&str, String)]) {
    let digest = sha(blob);
    std::fs::write(dir.join("blobs/sha256").join(&digest[7..]), blob).unwrap();
    rewrite_manifest(dir, |m| {
        let l = &mut m["layers"][i];
        l["digest"] = digest.clone().into();
        l["size"] = blob.len().into();
        for (key, value) in annotations {
            l["annotations"][*key] = value.clone().into();
        }
    });
}

/// A scratch copy of a fixture layout to corrupt: the temporary directory, the layout in it,
/// and its `oci:` spec.
fn scratch_layout(name: &str) -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    copy_dir(&fixtures().join(name), &dir);
    let spec = format!("oci:{}", dir.display());
    (tmp, dir, spec)
}

#[test]
fn a_corrupt_estargz_layer_is_an_error() {
    let (tmp, dir, spec) = scratch_layout("oci-estargz-chunks");
    let (i, blob, layer) = big_layer(&dir);
    assert!(layer["annotations"][TOC_DIGEST].is_string(), "an eStargz layer");
    let original = std::fs::read(&blob).unwrap();

    // The manifest pins another TOC: an error, not a fallback.
    let dir2 = tmp.path().join("pinned");
    copy_dir(&dir, &dir2);
    rewrite_manifest(&dir2, |m| m["layers"][i]["annotations"][TOC_DIGEST] = sha(b"another").into());
    let err = image::open(&format!("oci:{}", dir2.display()), &no_cache()).unwrap_err().to_string();
    assert!(err.contains("eStargz table of contents digest mismatch"), "{err}");

    // A footer pointing past the end, and a blob without a footer (re-pinned by the manifest).
    for (what, tail) in [("outside", estargz_footer(original.len() * 2)), ("footer", vec![0u8; 51])] {
        let mut bad = original[..original.len() - 51].to_vec();
        bad.extend_from_slice(&tail);
        let dir3 = tmp.path().join(format!("bad-{what}"));
        copy_dir(&dir, &dir3);
        replace_layer(&dir3, i, &bad, &[]);
        let err = image::open(&format!("oci:{}", dir3.display()), &no_cache()).unwrap_err().to_string();
        let want = if what == "outside" { "lies outside the blob" } else { "without a valid footer" };
        assert!(err.contains(want), "{what}: {err}");
    }

    // A TOC that lies about one chunk of crio.conf, re-pinned by the manifest: caught by the
    // chunk digest when the chunk is read.
    let tail = &original[original.len() - 51..];
    let toc_offset = usize::from_str_radix(std::str::from_utf8(&tail[16..32]).unwrap(), 16).unwrap();
    let mut gz = flate2::read::MultiGzDecoder::new(&original[toc_offset..original.len() - 51]);
    let mut tar_bytes = Vec::new();
    std::io::Read::read_to_end(&mut gz, &mut tar_bytes).unwrap();
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    let mut toc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = toc["entries"].as_array_mut().unwrap();
    let chunk = entries
        .iter_mut()
        .find(|e| e["name"] == "etc/crio/crio.conf" && e["type"] == "chunk")
        .expect("crio.conf is chunked at 32 bytes");
    chunk["chunkDigest"] = format!("sha256:{}", "0".repeat(64)).into();
    let json = serde_json::to_vec(&toc).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    let mut new_tar = tar::Builder::new(Vec::new());
    new_tar.append_data(&mut header, "stargz.index.json", &json[..]).unwrap();
    let new_tar = new_tar.into_inner().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&new_tar).unwrap();
    let mut blob2 = original[..toc_offset].to_vec();
    blob2.extend_from_slice(&enc.finish().unwrap());
    blob2.extend_from_slice(&estargz_footer(toc_offset));
    replace_layer(&dir, i, &blob2, &[(TOC_DIGEST, sha(&json))]);
    let err = image::open(&spec, &no_cache()).unwrap_err().to_string();
    assert!(err.contains("etc/crio/crio.conf") && err.contains("chunk at"), "{err}");
    // --verify streams the blob instead: the blob is a valid gzip tar, so the full read works.
    let full = open(&spec, &ImageOptions { verify: true, ..no_cache() });
    assert_fixture_view(&full.view, "verify");
}

#[test]
fn a_corrupt_zstd_chunked_table_of_contents_is_an_error() {
    let (tmp, dir, spec) = scratch_layout("oci-chunked");
    let (i, blob, (offset, length)) = big_chunked_layer(&dir);
    let original = std::fs::read(&blob).unwrap();
    // One byte of the TOC changed: its checksum (pinned by the manifest) no longer matches.
    // Chosen: an error, not a silent fallback to a full read — the blob does not match its
    // manifest, and a full read would fail its digest check anyway.
    let mut bad = original.clone();
    bad[(offset + length / 2) as usize] ^= 0xff;
    std::fs::write(&blob, &bad).unwrap();
    let err = image::open(&spec, &no_cache()).unwrap_err().to_string();
    assert!(err.contains("table of contents checksum mismatch"), "{err}");
    let err = image::open(&spec, &ImageOptions { verify: true, ..no_cache() }).unwrap_err().to_string();
    assert!(err.contains("digest mismatch") || err.contains("zstd"), "{err}");
    std::fs::write(&blob, &original).unwrap();
    // A TOC position outside the blob, or overflowing: an error naming it, no panic.
    for position in [format!("{}:{length}:9999:1", original.len()), "18446744073709551615:10:10:1".into()] {
        let dir2 = tmp.path().join(format!("oci-{}", position.len()));
        copy_dir(&dir, &dir2);
        rewrite_manifest(&dir2, |m| m["layers"][i]["annotations"][POSITION] = position.clone().into());
        let err = image::open(&format!("oci:{}", dir2.display()), &no_cache()).unwrap_err().to_string();
        assert!(err.contains("lies outside the blob"), "{position}: {err}");
    }
    // A TOC that lies about a file's content: re-pinned by the manifest, caught by the
    // per-file digest when the file is read.
    let json = zstd::decode_all(&original[offset as usize..(offset + length) as usize]).unwrap();
    let text = String::from_utf8(json).unwrap();
    let crio = text.find("\"name\":\"etc/crio/crio.conf\"").unwrap();
    let at = crio + text[crio..].find("\"digest\":\"sha256:").unwrap() + 17;
    let lying = format!("{}{}{}", &text[..at], "0".repeat(64), &text[at + 64..]);
    let toc = zstd::encode_all(lying.as_bytes(), 3).unwrap();
    let mut blob2 = original.clone();
    let new_offset = blob2.len();
    blob2.extend_from_slice(&toc);
    let position = format!("{new_offset}:{}:{}:1", toc.len(), lying.len());
    replace_layer(&dir, i, &blob2, &[(POSITION, position), (CHECKSUM, sha(&toc))]);
    let err = image::open(&spec, &no_cache()).unwrap_err().to_string();
    assert!(err.contains("etc/crio/crio.conf") && err.contains("the table of contents says"), "{err}");
}

// ---- platform selection in an index ----

/// The gzip fixture as a two-platform layout: its manifest as linux/amd64, and a copy whose
/// config says linux/arm64/v8 (same layers), both in an image index with their platforms,
/// which index.json lists as `v1` (as skopeo --all writes a multi-platform image).
fn two_platform_layout(dir: &Path) {
    copy_dir(&fixtures().join("oci"), dir);
    let (manifest, _) = manifest_of(dir);
    let blobs = dir.join("blobs/sha256");
    let amd64_bytes = serde_json::to_vec(&manifest).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blobs.join(&config_digest[7..])).unwrap()).unwrap();
    config["architecture"] = "arm64".into();
    config["variant"] = "v8".into();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    std::fs::write(blobs.join(&sha(&config_bytes)[7..]), &config_bytes).unwrap();
    let mut arm = manifest.clone();
    arm["config"]["digest"] = sha(&config_bytes).into();
    arm["config"]["size"] = config_bytes.len().into();
    let arm_bytes = serde_json::to_vec(&arm).unwrap();
    std::fs::write(blobs.join(&sha(&arm_bytes)[7..]), &arm_bytes).unwrap();
    std::fs::write(blobs.join(&sha(&amd64_bytes)[7..]), &amd64_bytes).unwrap();
    let entry = |bytes: &[u8], platform: serde_json::Value| {
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha(bytes), "size": bytes.len(), "platform": platform})
    };
    let index = serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        entry(&amd64_bytes, serde_json::json!({"architecture": "amd64", "os": "linux"})),
        entry(&arm_bytes, serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})),
    ]});
    let index_bytes = serde_json::to_vec(&index).unwrap();
    std::fs::write(blobs.join(&sha(&index_bytes)[7..]), &index_bytes).unwrap();
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(&index_bytes),
        "size": index_bytes.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
}

#[test]
fn the_platform_is_chosen_from_an_index_by_arch_os_and_variant() {
    let tmp = tempfile::tempdir().unwrap();
    two_platform_layout(tmp.path());
    let spec = format!("oci:{}", tmp.path().display());
    let arch_of = |args: &[&str]| {
        let out = Command::cargo_bin("stowage")
            .unwrap()
            .args(["ls", "--no-cache", "--format", "json", "--image", &spec])
            .args(args)
            .assert()
            .success();
        let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        assert_fixture_view(&open(&spec, &no_cache()).view, "index");
        format!("{}/{}", doc["config"]["architecture"].as_str().unwrap(), doc["config"]["variant"])
    };
    assert_eq!(arch_of(&[]), "amd64/null");
    assert_eq!(arch_of(&["--arch", "arm64"]), "arm64/\"v8\"");
    assert_eq!(arch_of(&["--arch", "aarch64", "--variant", "v8"]), "arm64/\"v8\"");
    assert_eq!(arch_of(&["--arch", "linux/arm64/v8", "--os", "linux"]), "arm64/\"v8\"");
    // No such platform: exit 2 with the platforms the index has.
    for args in [&["--os", "windows"][..], &["--arch", "arm64", "--variant", "v7"]] {
        let out = Command::cargo_bin("stowage")
            .unwrap()
            .args(["ls", "--no-cache", "--image", &spec])
            .args(args)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            err.contains("no manifest for platform") && err.contains("(it has: linux/amd64, linux/arm64/v8)"),
            "{args:?}: {err}"
        );
    }
    let out = Command::cargo_bin("stowage")
        .unwrap()
        .args(["ls", "--no-cache", "--image", &spec, "--variant", "a/b"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--variant: `a/b` is not a variant"));
}
