//! OCI image layouts and image archives found under the store roots (DOMAIN.md §2.C). CRI-O
//! reads neither: a unit has to load them into a store at boot, which this module cannot
//! see, so they are reported as carried but not visible.

use super::config::EffectiveConfig;
use super::dircopy::COPY_ROOTS;
use super::manifest::{self, Manifest};
use super::{EmbeddedImage, Method, StoreInfo, cstorage, join};
use crate::image::view::{Entry, FileView};
use serde_json::Value;
use std::collections::BTreeSet;

const ARCHIVE_SUFFIXES: &[&str] = &[".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz"];
const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub fn read(
    view: &FileView,
    config: &EffectiveConfig,
    images: &mut Vec<EmbeddedImage>,
    stores: &mut Vec<StoreInfo>,
) {
    let mut roots: Vec<String> = COPY_ROOTS.iter().map(|r| (*r).to_string()).collect();
    for r in config
        .storage
        .additional_image_stores
        .iter()
        .chain(cstorage::WELL_KNOWN_ROOTS.iter().map(|r| (*r).to_string()).collect::<Vec<_>>().iter())
        .chain(std::iter::once(&config.storage.graphroot))
    {
        if !roots.contains(r) {
            roots.push(r.clone());
        }
    }
    let mut layouts: BTreeSet<String> = BTreeSet::new();
    let mut archives: BTreeSet<(String, String)> = BTreeSet::new();
    for root in &roots {
        for (path, entry) in view.walk(root) {
            if inside_store_internals(&path[root.len()..]) {
                continue;
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            match entry {
                Entry::File { .. } if name == "oci-layout" => {
                    if let Some((dir, _)) = path.rsplit_once('/') {
                        layouts.insert(dir.to_string());
                    }
                }
                Entry::File { .. }
                    if ARCHIVE_SUFFIXES.iter().any(|s| name.ends_with(s))
                        && !name.ends_with(".tar-split.gz") =>
                {
                    archives.insert((path.to_string(), root.clone()));
                }
                _ => {}
            }
        }
    }
    // A layout's own blobs are not archives.
    archives.retain(|(p, _)| !layouts.iter().any(|l| p.starts_with(&format!("{l}/"))));
    for dir in &layouts {
        let before = images.len();
        let mut info = StoreInfo {
            path: dir.clone(),
            kind: "oci-layout".into(),
            method: Method::OciLayout,
            configured: false,
            images: 0,
            problems: Vec::new(),
            missing_locks: Vec::new(),
            malformed_lines: Vec::new(),
        };
        layout(view, dir, images, &mut info);
        info.images = images.len() - before;
        stores.push(info);
    }
    for (path, root) in archives {
        let mut image = EmbeddedImage::new(Method::Archive, root, path.clone());
        if let Some(Entry::File { size, .. }) = view.lookup(&path) {
            image.size = *size;
        }
        image.problem("archive contents are not read: completeness not verified");
        image.visible(false, "CRI-O does not read archives: a unit must `podman load` it at boot");
        images.push(image);
    }
}

/// Paths inside a containers-storage store or a `dir:` copy that cannot hold layouts.
fn inside_store_internals(rel: &str) -> bool {
    let first = rel.trim_start_matches('/').split('/').next().unwrap_or("");
    first.ends_with("-images") || first.ends_with("-layers") || first == "overlay" || first == "vfs"
}

fn layout(view: &FileView, dir: &str, images: &mut Vec<EmbeddedImage>, info: &mut StoreInfo) {
    let index_path = join(dir, "index.json");
    let Some(bytes) = view.read(&index_path) else {
        info.problems.push(format!("no {index_path}"));
        return;
    };
    let Ok(index) = serde_json::from_slice::<Value>(bytes) else {
        info.problems.push(format!("{index_path} is not valid JSON"));
        return;
    };
    let Some(entries) = index.get("manifests").and_then(Value::as_array) else {
        info.problems.push(format!("{index_path} has no `manifests` list"));
        return;
    };
    for entry in entries {
        let mut image = EmbeddedImage::new(Method::OciLayout, dir, dir);
        image.visible(false, "CRI-O does not read OCI layouts: a unit must copy it into a store at boot");
        if let Some(name) = entry.get("annotations").and_then(|a| a.get(REF_NAME)).and_then(Value::as_str) {
            image.names.push(name.to_string());
        }
        let Some(digest) = entry.get("digest").and_then(Value::as_str) else {
            image.problem("index entry without a digest");
            images.push(image);
            continue;
        };
        image.digest = Some(digest.to_string());
        image.digests.push(digest.to_string());
        let platform = entry
            .get("platform")
            .and_then(|p| p.get("architecture"))
            .and_then(Value::as_str)
            .map(str::to_string);
        check_manifest(view, dir, digest, platform, &mut image, 0);
        images.push(image);
    }
}

/// Check a manifest blob and what it points at; adds sizes, digests and architectures.
fn check_manifest(
    view: &FileView,
    dir: &str,
    digest: &str,
    platform: Option<String>,
    image: &mut EmbeddedImage,
    depth: u8,
) {
    let Some(path) = blob(view, dir, digest, "manifest", image) else { return };
    let Some(bytes) = view.read(&path) else {
        image.warnings.push(format!("manifest {digest} not captured: its blobs are not verified"));
        image.architectures.extend(platform);
        return;
    };
    match manifest::parse(bytes) {
        Err(e) => image.problem(format!("manifest {digest} is {e}")),
        Ok(Manifest::Index { manifests }) if depth == 0 => {
            image.index = true;
            for m in manifests {
                if depth == 0 && !image.digests.contains(&m.digest) {
                    image.digests.push(m.digest.clone());
                }
                check_manifest(view, dir, &m.digest, m.platform.clone(), image, depth + 1);
            }
        }
        Ok(Manifest::Index { .. }) => image.warnings.push(format!("nested index {digest} not followed")),
        Ok(Manifest::Image { config, layers, architecture }) => {
            let mut arch = architecture.or(platform);
            if let Some(c) = config
                && let Some(p) = blob(view, dir, &c.digest, "config", image)
                && let Some(a) = view.read(&p).and_then(manifest::config_architecture)
            {
                arch = Some(a);
            }
            for l in &layers {
                blob(view, dir, &l.digest, "layer", image);
            }
            match arch {
                Some(a) if !image.architectures.contains(&a) => image.architectures.push(a),
                Some(_) => {}
                None => image.warnings.push("architecture unknown: the config blob was not captured".into()),
            }
        }
    }
}

fn blob(view: &FileView, dir: &str, digest: &str, what: &str, image: &mut EmbeddedImage) -> Option<String> {
    let Some((alg, hex)) = digest.split_once(':') else {
        image.problem(format!("{what} `{digest}` is not a digest"));
        return None;
    };
    let path = join(dir, &format!("blobs/{alg}/{hex}"));
    match view.lookup(&path) {
        Some(Entry::File { size, .. }) => {
            image.size += size;
            Some(path)
        }
        _ => {
            image.problem(format!("{what} blob {digest} is missing"));
            None
        }
    }
}
