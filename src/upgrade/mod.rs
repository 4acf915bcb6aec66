//! What an upgrade from one OS image to the next changes (`stowage diff OLD NEW`): the
//! images each carries, matched by name (added, removed, changed digest), the references the
//! device runs (new and dropped), and the files under `/var` of each. The upgrade rules
//! (`rules/`, scope `upgrade`) and the diff renderers (`report/diff.rs`) read an [`Upgrade`].

pub mod var;

use crate::gather::facts::Facts;
use crate::inventory::{EmbeddedImage, Method};
use crate::reference::{RefKind, Reference};
use crate::text::location::Location;
use serde::Serialize;
use std::collections::BTreeMap;

/// One side of the upgrade: its facts (image mode) and its `/var` files.
pub struct Side {
    pub facts: Facts,
    pub var: var::VarFiles,
}

impl Side {
    /// The `--image` value as given.
    pub fn spec(&self) -> &str {
        self.facts.image.as_ref().map_or("", |i| i.spec.as_str())
    }

    /// The carried images (bound images are not carried).
    pub fn images(&self) -> impl Iterator<Item = &EmbeddedImage> {
        self.facts.image.iter().flat_map(|i| &i.inventory.images).filter(|i| i.method != Method::Bound)
    }
}

/// Both sides and what changed between them.
pub struct Upgrade {
    pub old: Side,
    pub new: Side,
    pub images: ImageChanges,
    pub references: RefChanges,
}

/// One carried image on one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageState {
    /// The name it is looked up by (its path when nothing names it).
    pub name: String,
    pub digest: Option<String>,
    pub method: Method,
    pub store: String,
    pub path: String,
    pub size: u64,
    pub complete: bool,
    pub visible_to_crio: bool,
}

impl ImageState {
    fn new(name: &str, i: &EmbeddedImage) -> ImageState {
        ImageState {
            name: name.to_string(),
            digest: i.digest.clone(),
            method: i.method,
            store: i.store.clone(),
            path: i.path.clone(),
            size: i.size,
            complete: i.complete,
            visible_to_crio: i.visible_to_crio,
        }
    }
}

/// The same name carried with another digest, in another place, or no longer (or now) seen by
/// CRI-O.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageChange {
    pub name: String,
    pub old: ImageState,
    pub new: ImageState,
    /// New size minus old size, in bytes.
    pub size_delta: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImageChanges {
    pub added: Vec<ImageState>,
    pub removed: Vec<ImageState>,
    pub changed: Vec<ImageChange>,
}

/// A device reference present on one side only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefState {
    /// The resolved form (the text as written when unresolved).
    pub image: String,
    pub kind: RefKind,
    /// Where the side that has it references it (its first occurrence).
    pub location: Location,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RefChanges {
    /// Referenced by NEW only.
    pub added: Vec<RefState>,
    /// Referenced by OLD only.
    pub removed: Vec<RefState>,
}

/// Compare two sides.
pub fn compare(old: Side, new: Side) -> Upgrade {
    let images = compare_images(&old, &new);
    let references = compare_references(&old.facts, &new.facts);
    Upgrade { old, new, images, references }
}

/// Each carried image under each of its names (its path when it has none); a name carried
/// twice keeps the copy listed first (the inventory lists them in lookup order).
fn by_name(side: &Side) -> BTreeMap<String, &EmbeddedImage> {
    let mut map = BTreeMap::new();
    for i in side.images() {
        let names = if i.names.is_empty() { vec![i.path.clone()] } else { i.names.clone() };
        for n in names {
            map.entry(n).or_insert(i);
        }
    }
    map
}

fn compare_images(old: &Side, new: &Side) -> ImageChanges {
    let (a, b) = (by_name(old), by_name(new));
    let mut changes = ImageChanges::default();
    for (name, i) in &a {
        match b.get(name) {
            None => changes.removed.push(ImageState::new(name, i)),
            Some(j)
                if i.digest != j.digest
                    || i.method != j.method
                    || i.store != j.store
                    || i.visible_to_crio != j.visible_to_crio =>
            {
                changes.changed.push(ImageChange {
                    name: name.clone(),
                    old: ImageState::new(name, i),
                    new: ImageState::new(name, j),
                    size_delta: j.size as i64 - i.size as i64,
                })
            }
            Some(_) => {}
        }
    }
    for (name, j) in &b {
        if !a.contains_key(name) {
            changes.added.push(ImageState::new(name, j));
        }
    }
    changes
}

/// Whether a reference is one the device runs (or bootc pulls): build references do not
/// reach the device, and OLD's sources are only its in-image ones.
pub fn is_device_reference(r: &Reference) -> bool {
    matches!(r.kind, RefKind::Runtime | RefKind::Release | RefKind::Bound)
}

fn device_references(facts: &Facts) -> BTreeMap<String, &Reference> {
    let mut map = BTreeMap::new();
    for r in facts.references.iter().filter(|r| is_device_reference(r)) {
        map.entry(r.display_image()).or_insert(r);
    }
    map
}

fn compare_references(old: &Facts, new: &Facts) -> RefChanges {
    let (a, b) = (device_references(old), device_references(new));
    let state = |image: &String, r: &Reference| RefState {
        image: image.clone(),
        kind: r.kind,
        location: r.location.clone(),
    };
    RefChanges {
        added: b.iter().filter(|(k, _)| !a.contains_key(*k)).map(|(k, r)| state(k, r)).collect(),
        removed: a.iter().filter(|(k, _)| !b.contains_key(*k)).map(|(k, r)| state(k, r)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(fixture: &str) -> Side {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(fixture);
        let opts = crate::image::ImageOptions {
            use_cache: false,
            watch: crate::image::view::Watch { var: true },
            ..Default::default()
        };
        let opened = crate::image::open(&format!("rootfs:{}", root.display()), &opts).unwrap();
        let var = var::var_files(&opened.view);
        let mut facts = Facts::default();
        crate::gather::image::attach_image(&mut facts, opened, Some("amd64"), &Default::default()).unwrap();
        Side { facts, var }
    }

    #[test]
    fn a_copy_crio_no_longer_sees_is_a_change() {
        // The same dir: copies, one of them no longer seen by CRI-O (as when NEW drops the copy
        // service): a change, though its digest is the same.
        let old = side("audit/images/complete");
        let mut new = side("audit/images/complete");
        if let Some(image) = &mut new.facts.image {
            for i in &mut image.inventory.images {
                if i.names.iter().any(|n| n == "quay.io/acme/agent:3.1") {
                    i.visible_to_crio = false;
                }
            }
        }
        let u = compare(old, new);
        assert!(u.images.added.is_empty() && u.images.removed.is_empty());
        let changed: Vec<(&str, bool, bool)> = u
            .images
            .changed
            .iter()
            .map(|c| (c.name.as_str(), c.old.visible_to_crio, c.new.visible_to_crio))
            .collect();
        assert_eq!(changed, [("quay.io/acme/agent:3.1", true, false)]);
        assert_eq!(u.images.changed[0].size_delta, 0);
        assert!(u.references.added.is_empty() && u.references.removed.is_empty());
    }

    #[test]
    fn removed_added_and_references() {
        let u = compare(side("diff/removed/old"), side("diff/clean/new"));
        let names = |v: &[ImageState]| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&u.images.removed), Vec::<String>::new());
        assert_eq!(u.images.added.len(), 1);
        assert!(u.images.added[0].name.starts_with("quay.io/acme/worker:1@sha256:"));
        assert_eq!(u.references.added.len(), 1);
        assert_eq!(u.references.added[0].kind, RefKind::Runtime);
        let u = compare(side("diff/clean/new"), side("diff/removed/new"));
        let removed: Vec<&str> = u.images.removed.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert_eq!(u.references.removed.len(), 1, "the worker's Quadlet is gone");
    }
}
