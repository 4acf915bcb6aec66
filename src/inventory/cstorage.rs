//! containers-storage stores inside the image (DOMAIN.md §2.B and §2.E), read as
//! containers/storage reads them: `<driver>-images/images.json` with each image's big-data
//! files, `<driver>-layers/layers.json`, layer contents in `overlay/<id>/diff` or
//! `vfs/dir/<id>`, and the `images.lock` / `layers.lock` files without which a configured
//! read-only store cannot be opened — and then no containers-storage operation works at all
//! ([`storage_failure`]; DOMAIN.md says "skipped", the device oracle shows otherwise).

use super::config::{DEFAULT_GRAPHROOT, EffectiveConfig, normalize_dir};
use super::manifest;
use super::{EmbeddedImage, Method, StoreInfo, join};
use crate::image::records::{ImageRecord, LayerRecord, big_data_file_name};
use crate::image::view::{Entry, FileView};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Store roots examined even when no configuration names them.
pub const WELL_KNOWN_ROOTS: &[&str] =
    &["/usr/lib/containers/storage", "/usr/share/containers/storage", DEFAULT_GRAPHROOT];
pub const DRIVERS: &[&str] = &["overlay", "vfs"];

/// One `<driver>` store found at a root.
struct Store {
    root: String,
    driver: &'static str,
    info: StoreInfo,
    images: Vec<ImageRecord>,
    layers: HashMap<String, LayerRecord>,
    visible: bool,
    visibility: String,
}

/// The digest list containers/storage matches digest references against: the image's
/// `digest` first, then the digest of every big-data item whose key starts with `manifest`
/// (keys in sorted order), without repeats.
pub fn digest_list(digest: Option<&str>, big_data_digests: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(d) = digest.filter(|d| !d.is_empty()) {
        out.push(d.to_string());
    }
    for (key, d) in big_data_digests {
        if key.starts_with("manifest") && !d.is_empty() && !out.contains(d) {
            out.push(d.clone());
        }
    }
    out
}

/// The roots to examine, configured ones first.
fn roots(config: &EffectiveConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let candidates = config
        .storage
        .additional_image_stores
        .iter()
        .cloned()
        .chain(WELL_KNOWN_ROOTS.iter().map(|r| (*r).to_string()))
        .chain(std::iter::once(config.storage.graphroot.clone()));
    for r in candidates {
        let r = normalize_dir(&r);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

pub fn read(
    view: &FileView,
    config: &EffectiveConfig,
    images: &mut Vec<EmbeddedImage>,
    stores_out: &mut Vec<StoreInfo>,
) {
    let mut stores: Vec<Store> = Vec::new();
    for root in roots(config) {
        for driver in DRIVERS {
            if let Some(store) = open(view, config, &root, driver) {
                stores.push(store);
            }
        }
    }
    for (index, store) in stores.iter().enumerate() {
        let mut count = 0;
        for record in &store.images {
            images.push(image(view, &stores, index, record));
            count += 1;
        }
        let mut info = store.info.clone();
        info.images = count;
        stores_out.push(info);
    }
}

/// Why containers/storage cannot be opened at all on the device, if it cannot: every
/// configured additional image store is opened (read-only) by every `containers-storage:`
/// operation, and one under the read-only `/usr` that lacks the `<driver>-images` /
/// `<driver>-layers` directories or their lock files makes each operation fail ("mkdir
/// .../overlay-images: read-only file system", "open .../images.lock: read-only file system";
/// skopeo 1.9.3 as the device oracle runs it). CRI-O's lookups and the boot-time copy step
/// then fail alike. The driver is the configured one, else `overlay` (containers/storage's
/// choice on a device whose default store is empty).
pub fn storage_failure(view: &FileView, config: &EffectiveConfig) -> Option<String> {
    let driver = config.storage.driver.as_deref().unwrap_or("overlay");
    for root in &config.storage.additional_image_stores {
        let root = normalize_dir(root);
        if !root.starts_with("/usr/") {
            continue;
        }
        for (dir, lock) in [("images", "images.lock"), ("layers", "layers.lock")] {
            let dir = join(&root, &format!("{driver}-{dir}"));
            let missing = if !matches!(view.lookup(&dir), Some(Entry::Dir { .. })) {
                dir.clone()
            } else if !matches!(view.lookup(&join(&dir, lock)), Some(Entry::File { .. })) {
                join(&dir, lock)
            } else {
                continue;
            };
            return Some(format!(
                "the additional image store {root} has no {missing}, and /usr is read-only: containers/storage \
                 fails to open it, so every containers-storage operation fails (CRI-O's lookups and the \
                 boot-time copies included)"
            ));
        }
    }
    None
}

fn open(view: &FileView, config: &EffectiveConfig, root: &str, driver: &'static str) -> Option<Store> {
    let images_dir = join(root, &format!("{driver}-images"));
    let layers_dir = join(root, &format!("{driver}-layers"));
    if view.lookup(&images_dir).is_none() && view.lookup(&layers_dir).is_none() {
        return None;
    }
    let is_default = root == config.storage.graphroot || root == DEFAULT_GRAPHROOT;
    let method = if is_default { Method::DefaultStore } else { Method::ContainersStorage };
    let configured =
        config.storage.additional_image_stores.iter().any(|s| s == root) || root == config.storage.graphroot;
    let mut info = StoreInfo {
        path: root.to_string(),
        kind: driver.to_string(),
        method,
        configured,
        images: 0,
        problems: Vec::new(),
        missing_locks: Vec::new(),
        malformed_lines: Vec::new(),
    };

    let images: Vec<ImageRecord> =
        read_records(view, &join(&images_dir, "images.json"), "image", &mut info.problems);
    let layers: HashMap<String, LayerRecord> =
        read_records::<LayerRecord>(view, &join(&layers_dir, "layers.json"), "layer", &mut info.problems)
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect();

    let missing_locks: Vec<String> = [join(&images_dir, "images.lock"), join(&layers_dir, "layers.lock")]
        .into_iter()
        .filter(|p| !matches!(view.lookup(p), Some(Entry::File { .. })))
        .collect();
    let driver_ok = config.storage.driver.as_deref().is_none_or(|d| d == driver);
    let (visible, visibility) = if is_default {
        if root != config.storage.graphroot {
            (false, format!("in {root}, but CRI-O's store is {}", config.storage.graphroot))
        } else if !driver_ok {
            (
                false,
                format!(
                    "a {driver} store, but the configured driver is {}",
                    config.storage.driver.as_deref().unwrap_or("")
                ),
            )
        } else {
            (
                true,
                "in CRI-O's default store (copied only at install; wiped after an unclean shutdown)".into(),
            )
        }
    } else if !configured {
        let file = config.storage.file.as_deref().unwrap_or("storage.conf (there is none)");
        (false, format!("{root} is not an additionalimagestores entry of {file}"))
    } else if !driver_ok {
        (
            false,
            format!(
                "a {driver} store, but the configured driver is {}: containers/storage reads {}-images",
                config.storage.driver.as_deref().unwrap_or(""),
                config.storage.driver.as_deref().unwrap_or("")
            ),
        )
    } else if !missing_locks.is_empty() {
        (
            false,
            format!(
                "lock files missing ({}): containers/storage cannot open a read-only store without them",
                missing_locks.join(", ")
            ),
        )
    } else {
        (
            true,
            format!(
                "additional image store configured in {}",
                config.storage.file.as_deref().unwrap_or("CRI-O's config")
            ),
        )
    };
    if !missing_locks.is_empty() {
        info.problems.push(format!("lock files missing: {}", missing_locks.join(", ")));
    }
    info.missing_locks = missing_locks;
    if !is_default && !configured {
        info.problems.push("not configured as an additional image store".into());
    }
    Some(Store { root: root.to_string(), driver, info, images, layers, visible, visibility })
}

fn image(view: &FileView, stores: &[Store], index: usize, record: &ImageRecord) -> EmbeddedImage {
    let store = &stores[index];
    let images_dir = join(&store.root, &format!("{}-images", store.driver));
    let data_dir = join(&images_dir, &record.id);
    let mut image = EmbeddedImage::new(store.info.method, store.root.clone(), data_dir.clone());
    image.id = Some(record.id.clone());
    image.names = record.names.clone();
    image.digests = digest_list(record.digest.as_deref(), &record.big_data_digests);
    image.digest = image.digests.first().cloned();
    image.visible(store.visible, store.visibility.clone());
    if store.info.method == Method::DefaultStore {
        image.warnings.push(
            "in the default store under /var: bootc copies /var only at install, never on upgrade, and \
             CRI-O wipes the store after an unclean shutdown"
                .into(),
        );
    }

    // Big data: every item's file, the manifest, the config.
    let mut keys: BTreeSet<&String> = record.big_data_names.iter().collect();
    keys.extend(record.big_data_sizes.keys());
    for key in &keys {
        let path = join(&data_dir, &big_data_file_name(key));
        match view.lookup(&path) {
            Some(Entry::File { size, .. }) => image.size += size,
            _ => image.problem(format!("big-data item `{key}` is missing ({path})")),
        }
    }
    if !keys.iter().any(|k| k.starts_with("manifest")) {
        image.problem("no manifest among its big-data items");
    }
    let config_key = keys.iter().find(|k| manifest::sha256_hex_of(k).is_some());
    let config_arch = config_key
        .and_then(|k| view.read(&join(&data_dir, &big_data_file_name(k))))
        .and_then(manifest::config_architecture);
    match (config_key, config_arch) {
        (_, Some(arch)) => image.architectures.push(arch),
        (None, None) => {
            image.warnings.push("no config among its big-data items: architecture unknown".into())
        }
        (Some(_), None) => image.warnings.push("config not readable: architecture unknown".into()),
    }

    // The layer chain, top to bottom; a parent may live in another store's layers.
    let mut next = record.layer.clone().filter(|l| !l.is_empty());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(id) = next.take() {
        if !seen.insert(id.clone()) {
            image.problem(format!("layer chain loops at {id}"));
            break;
        }
        let found = std::iter::once(store)
            .chain(stores.iter().filter(|s| s.driver == store.driver && s.root != store.root))
            .find_map(|s| s.layers.get(&id).map(|l| (s, l)));
        let Some((owner, layer)) = found else {
            image.problem(format!("layer {} is not in any layers.json", short(&id)));
            break;
        };
        if layer.flags.as_ref().and_then(|f| f.get("incomplete")).and_then(|v| v.as_bool()) == Some(true) {
            image.problem(format!("layer {} is marked incomplete", short(&id)));
        }
        let content = match owner.driver {
            "overlay" => join(&owner.root, &format!("overlay/{id}/diff")),
            _ => join(&owner.root, &format!("vfs/dir/{id}")),
        };
        if !matches!(view.lookup(&content), Some(Entry::Dir { .. })) {
            image.problem(format!("layer {} has no content ({content})", short(&id)));
        }
        image.size += u64::try_from(layer.diff_size.unwrap_or(0)).unwrap_or(0);
        next = layer.parent.clone().filter(|p| !p.is_empty());
    }
    if record.layer.as_deref().is_none_or(str::is_empty) {
        image.warnings.push("has no layers".into());
    }
    image
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The records of a store's `images.json` or `layers.json`; a missing or unreadable file is a
/// problem of the store (none read), not an error.
fn read_records<T: serde::de::DeserializeOwned>(
    view: &FileView,
    file: &str,
    what: &str,
    problems: &mut Vec<String>,
) -> Vec<T> {
    match view.read(file) {
        Some(bytes) => serde_json::from_slice(bytes).unwrap_or_else(|e| {
            problems.push(format!("{file} is not readable as containers/storage {what} records: {e}"));
            Vec::new()
        }),
        None => {
            problems.push(format!("no {file}"));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_list_is_digest_then_manifest_items() {
        let mut bd = BTreeMap::new();
        bd.insert("manifest".to_string(), "sha256:a".to_string());
        bd.insert("manifest-sha256:b".to_string(), "sha256:b".to_string());
        bd.insert("sha256:c".to_string(), "sha256:c".to_string());
        bd.insert("signature-a".to_string(), "sha256:e".to_string());
        assert_eq!(digest_list(Some("sha256:a"), &bd), ["sha256:a", "sha256:b"]);
        assert_eq!(digest_list(None, &bd), ["sha256:a", "sha256:b"]);
    }
}
