//! `containers-storage:[DRIVER@ROOT+RUNROOT]REF`: read a local podman / CRI-O store directly
//! (no daemon, no locks taken: the store is only read). The image is found in
//! `<driver>-images/images.json`, its layer chain in `<driver>-layers/layers.json`, and the
//! layer contents in `overlay/<id>/diff` (with overlay whiteouts) or `vfs/dir/<id>` (a full
//! snapshot: only the top layer is read).

use super::layer::{self, LayerChanges};
use super::manifest::{Manifest, RawConfig};
use super::rootfs::{self, Whiteouts};
use super::view::FileView;
use super::{Cause, ImageConfig, ImageStats};
use crate::image::records::{ImageRecord, LayerRecord, big_data_file_name};
use crate::reference::imageref::ImageRef;
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const DEFAULT_ROOT: &str = "/var/lib/containers/storage";

pub fn open(
    driver: Option<&str>,
    root: Option<&Path>,
    reference: &str,
    watch: super::view::Watch,
) -> Result<(FileView, ImageConfig, ImageStats), Cause> {
    let root = root.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
    let driver = match driver {
        Some(d) => d.to_string(),
        None => ["overlay", "vfs"]
            .iter()
            .find(|d| root.join(format!("{d}-images/images.json")).is_file())
            .map(|d| d.to_string())
            .ok_or_else(|| {
                Cause::NotFound(format!("no overlay or vfs image store under {}", root.display()))
            })?,
    };
    if driver != "overlay" && driver != "vfs" {
        return Err(Cause::Unsupported(format!("storage driver `{driver}` (overlay and vfs are read)")));
    }
    let images_json = root.join(format!("{driver}-images/images.json"));
    let images: Vec<ImageRecord> = read_json(&images_json)?;
    let image = find_image(&images, reference)?;
    let layers_json = root.join(format!("{driver}-layers/layers.json"));
    let layers: Vec<LayerRecord> = read_json(&layers_json)?;
    let by_id: HashMap<&str, &LayerRecord> = layers.iter().map(|l| (l.id.as_str(), l)).collect();

    // The chain, top first; an image is usable only when every layer of it exists.
    let mut chain = Vec::new();
    let mut next = image.layer.clone();
    while let Some(id) = next {
        if chain.len() > 1000 || chain.contains(&id) {
            return Err(Cause::Corrupt(format!("the layer chain of image {} loops", image.id)));
        }
        let layer = by_id.get(id.as_str()).ok_or_else(|| {
            Cause::Corrupt(format!(
                "layer {id} of image {} is missing from {}",
                image.id,
                layers_json.display()
            ))
        })?;
        next = layer.parent.clone();
        chain.push(id);
    }
    chain.reverse();

    let dir_of = |id: &str| -> Result<PathBuf, Cause> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Cause::Corrupt(format!("`{id}` is not a layer id")));
        }
        let dir = if driver == "overlay" {
            root.join("overlay").join(id).join("diff")
        } else {
            root.join("vfs/dir").join(id)
        };
        if !dir.is_dir() {
            return Err(Cause::Corrupt(format!("the content of layer {id} is missing ({})", dir.display())));
        }
        Ok(dir)
    };
    let (to_read, whiteouts): (Vec<&String>, _) = if driver == "vfs" {
        (chain.last().into_iter().collect(), Whiteouts::None)
    } else {
        (chain.iter().collect(), Whiteouts::Overlay)
    };
    let changes: Vec<LayerChanges> = to_read
        .par_iter()
        .map(|id| {
            rootfs::walk(&dir_of(id)?, whiteouts, watch)
                .map_err(|c| Cause::Layer { layer: id.to_string(), cause: Box::new(c) })
        })
        .collect::<Result<_, _>>()?;
    let mut view = FileView::new();
    for c in &changes {
        layer::apply(&mut view, c);
    }
    let config = read_config(&root, &driver, image)?;
    let stats = ImageStats { layers: chain.len(), ..Default::default() };
    Ok((view, config, stats))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Cause> {
    let bytes = std::fs::read(path).map_err(|e| Cause::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Cause::Corrupt(format!("{}: {e}", path.display())))
}

/// By ID (or a unique prefix of at least 3 characters), by exact name, or by digest with a
/// name of the same repository (DOMAIN.md §4).
fn find_image<'a>(images: &'a [ImageRecord], reference: &str) -> Result<&'a ImageRecord, Cause> {
    let id = reference.strip_prefix('@').unwrap_or(reference);
    if id.len() >= 3 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        let found: Vec<&ImageRecord> = images.iter().filter(|i| i.id.starts_with(id)).collect();
        if let [one] = found.as_slice() {
            return Ok(one);
        }
    }
    let parsed = ImageRef::parse(reference)
        .map_err(|e| Cause::Spec(format!("`{reference}` is not an image reference or ID: {e}")))?;
    let key = parsed.lookup_key();
    if let Some(image) = images.iter().find(|i| i.names.contains(&key)) {
        return Ok(image);
    }
    if let Some(digest) = parsed.digest() {
        let repo = parsed.name();
        let found = images.iter().find(|i| {
            let digests = i
                .digest
                .iter()
                .chain(i.big_data_digests.iter().filter(|(k, _)| k.starts_with("manifest")).map(|(_, v)| v));
            let same_repo = i.names.iter().any(|n| ImageRef::parse(n).is_ok_and(|r| r.name() == repo));
            same_repo && digests.into_iter().any(|d| d == digest)
        });
        if let Some(image) = found {
            return Ok(image);
        }
    }
    Err(Cause::NotFound(format!("no image `{key}` in the store")))
}

fn read_config(root: &Path, driver: &str, image: &ImageRecord) -> Result<ImageConfig, Cause> {
    let dir = root.join(format!("{driver}-images")).join(&image.id);
    let manifest_digest = image.digest.clone();
    let config_key = match std::fs::read(dir.join("manifest")) {
        Ok(bytes) => Manifest::parse(&bytes, "the stored manifest")?.config.map(|c| c.digest),
        Err(_) => None,
    }
    .unwrap_or_else(|| format!("sha256:{}", image.id));
    let path = dir.join(big_data_file_name(&config_key));
    let bytes = std::fs::read(&path).map_err(|e| Cause::io(&path, e))?;
    Ok(RawConfig::parse(&bytes)?.into_config(manifest_digest))
}
