//! What the audit rules share: where an embedded image or store is (an in-image location),
//! and why a reference is not embedded, worded once.

use crate::finding::Related;
use crate::gather::facts::Facts;
use crate::inventory::copystep::{FailKind, LineOutcome};
use crate::inventory::{EmbeddedImage, Method};
use crate::reference::imageref::ImageRef;
use crate::reference::{RefKind, Reference};
use crate::rules::matching::{self, Unusable};
use crate::text::location::Location;
use serde::Serialize;

/// An in-image path, line 1 column 1 (the position of image-scope findings with nothing
/// better). When the file is among the sources its first line is excerpted.
pub fn image_path(facts: &Facts, path: &str) -> Location {
    match facts.sources.get(path) {
        Some(src) => line_of(src, 1),
        None => Location { file: path.to_string(), line: 1, column: 1, in_image: true, span: None },
    }
}

/// A whole line of an in-image source.
pub fn line_of(src: &crate::text::SourceText, line: u32) -> Location {
    let start = src.index.offset(&src.text, line, 1);
    let end = src.text[start..].find('\n').map_or(src.text.len(), |i| start + i);
    let mut loc = src.location(start..end);
    loc.in_image = true;
    loc
}

/// Where an embedded image is: its image list line for a `dir:` copy, else its own path.
pub fn image_location(facts: &Facts, image: &EmbeddedImage) -> Location {
    if let Some(l) = &image.list_line
        && let Some(src) = facts.sources.get(&image.store)
    {
        return line_of(src, l.line);
    }
    image_path(facts, &image.path)
}

/// The first name of an embedded image, or its path when nothing names it.
pub fn image_name(image: &EmbeddedImage) -> String {
    image.names.first().cloned().unwrap_or_else(|| image.path.clone())
}

/// Why a device reference is missing, as a code a gate can match on (`check --format json`
/// `references[].missing.reason`; docs/check.schema.json lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingReason {
    /// Nothing the image carries (or the plan embeds) matches it.
    NotCarried,
    /// A matching `dir:` copy that `skopeo copy` refuses at boot.
    CopyFails,
    /// A matching `dir:` copy the copy script never reaches.
    CopyNotReached,
    /// A matching copy CRI-O does not see (store not configured, no copy service, ...).
    NotVisible,
    /// A matching image with missing content.
    Incomplete,
    /// A matching image built for another architecture.
    ArchMismatch,
    /// The reference pins a digest; the image carries its repository and tag with another one.
    DigestMismatch,
    /// The reference could not be resolved, so could not be looked up.
    Unresolved,
    /// Only in the default store under `/var`, which upgrades do not update and an unclean
    /// shutdown wipes.
    InVar,
}

/// A reference that is not embedded: the reason code, the text completing "`X` ...", and
/// the related locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub reason: MissingReason,
    pub text: String,
    pub related: Vec<Related>,
}

/// The copy of a reference CRI-O finds first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Embedded {
    pub method: Method,
    /// The store, image list or directory that holds it.
    pub store: String,
    /// The image's own path.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// The verdict on one device reference: where CRI-O finds it, or why it will not.
pub type RefVerdict = Result<Embedded, Missing>;

/// The verdicts on every reference, in order (empty without `--image`).
pub fn verdicts(facts: &Facts) -> Vec<Option<RefVerdict>> {
    if facts.image.is_none() {
        return Vec::new();
    }
    facts.references.iter().map(|r| verdict(facts, r)).collect()
}

/// The verdict on one device reference in image mode: the copy CRI-O finds, or why there is
/// none. `None` for references the verdict does not judge (build references, static mode).
pub fn verdict(facts: &Facts, r: &Reference) -> Option<RefVerdict> {
    let image = facts.image.as_ref()?;
    if !matches!(r.kind, RefKind::Runtime | RefKind::Release) {
        return None;
    }
    let Some(resolved) = &r.resolved else {
        let reason = r.status.unresolved_reason().unwrap_or("it could not be resolved");
        return Some(Err(Missing {
            reason: MissingReason::Unresolved,
            text: format!("cannot be looked up: {reason}"),
            related: Vec::new(),
        }));
    };
    let found = matching::lookup(resolved, &image.inventory, Some(&image.target_arch));
    match found.found.first() {
        Some((i, _)) => Some(Ok(Embedded {
            method: i.method,
            store: i.store.clone(),
            path: i.path.clone(),
            digest: i.digest.clone(),
        })),
        None => missing(facts, r).map(Err),
    }
}

/// Why a resolved reference is not embedded, or `None` when it is (or when there is nothing to
/// compare it with: no `--image` and no embed plan).
pub fn missing(facts: &Facts, r: &Reference) -> Option<Missing> {
    let resolved = r.resolved.as_ref()?;
    let Some(image) = &facts.image else { return missing_from_plan(facts, r, resolved) };
    let found = matching::lookup(resolved, &image.inventory, Some(&image.target_arch));
    if found.is_embedded() {
        return None;
    }
    let mut reason = MissingReason::NotCarried;
    let mut text =
        "is not carried by the image in a form CRI-O finds: the device would have to pull it".to_string();
    let mut related = Vec::new();
    for (n, (i, why)) in found.unusable.iter().enumerate() {
        let reasons: Vec<String> = why.iter().map(|u| u.describe(i)).collect();
        text.push_str(&format!(
            "; the {} copy `{}` {}",
            i.method.as_str(),
            image_name(i),
            reasons.join(" and ")
        ));
        let (rule, code) = match why.first() {
            Some(Unusable::Incomplete) => ("embedded-incomplete", MissingReason::Incomplete),
            Some(Unusable::WrongArch) => ("embedded-arch-mismatch", MissingReason::ArchMismatch),
            Some(Unusable::CopyFails(f)) if f.kind == FailKind::DigestMismatch => {
                ("copy-script-fails", MissingReason::DigestMismatch)
            }
            Some(Unusable::CopyFails(_)) => ("copy-script-fails", MissingReason::CopyFails),
            Some(Unusable::NotCopied(_)) => ("copy-script-fails", MissingReason::CopyNotReached),
            Some(Unusable::InVar) => ("embedded-in-var", MissingReason::InVar),
            Some(Unusable::NotVisible) | None => ("not visible to CRI-O", MissingReason::NotVisible),
        };
        if n == 0 {
            reason = code;
        }
        related
            .push(Related { message: format!("matching copy ({rule})"), location: image_location(facts, i) });
        if let Some(LineOutcome::NotReached(at)) = &i.copy
            && *at > 0
            && let Some(src) = facts.sources.get(&i.store)
        {
            related.push(Related {
                message: "the copy script stops at this line".into(),
                location: line_of(src, *at),
            });
        }
    }
    if !found.near.is_empty() {
        let names: Vec<String> = found.near.iter().map(|i| image_name(i)).collect();
        text.push_str(&format!(
            "; the image carries {} (same repository, another tag or digest)",
            names.join(", ")
        ));
        for i in &found.near {
            related.push(Related { message: "same repository".into(), location: image_location(facts, i) });
        }
        if reason == MissingReason::NotCarried && repointed_tag(resolved, &found.near) {
            reason = MissingReason::DigestMismatch;
        }
        // A copy of the same repository and tag that the copy step never stored (its digest is
        // then unknown or beside the point): that is why the device lacks it.
        if reason == MissingReason::NotCarried {
            let same_tag = |i: &&&EmbeddedImage| {
                matching::parsed_names(i)
                    .iter()
                    .any(|n| n.name() == resolved.name() && n.effective_tag() == resolved.effective_tag())
            };
            let never_stored = found
                .near
                .iter()
                .filter(same_tag)
                .find_map(|i| i.copy.as_ref().filter(|c| **c != LineOutcome::Copied));
            reason = match never_stored {
                Some(LineOutcome::Fails(_)) => MissingReason::CopyFails,
                Some(_) => MissingReason::CopyNotReached,
                None => reason,
            };
        }
    }
    if !found.digest_elsewhere.is_empty() {
        let names: Vec<String> = found.digest_elsewhere.iter().map(|i| image_name(i)).collect();
        text.push_str(&format!(
            "; its digest is carried as {}, a different repository: CRI-O needs a name of the same repository",
            names.join(", ")
        ));
    }
    Some(Missing { reason, text, related })
}

/// Why a resolved reference is not in the static embed plan, or `None` when it is.
fn missing_from_plan(facts: &Facts, r: &Reference, resolved: &ImageRef) -> Option<Missing> {
    if facts.embed_plan.is_empty() {
        return None;
    }
    let found = matching::lookup_plan(resolved, &facts.embed_plan);
    if found.planned.is_some() {
        return None;
    }
    // A loop over release files whose files are not among the sources embeds release
    // images stowage cannot name; MicroShift's pause image is one of them. Only the built
    // image can tell.
    let release_image =
        r.kind == crate::reference::RefKind::Release || r.origin == crate::reference::Origin::CrioPauseImage;
    if release_image && facts.embed_plan.iter().any(|e| e.release_loop && e.unknown.is_some()) {
        return None;
    }
    let mut text = "is not in the embed plan: no `skopeo copy` / `podman pull` of the Containerfiles \
                    embeds it (static check; `--image` checks the built image)"
        .to_string();
    if !found.near.is_empty() {
        text.push_str(&format!(
            "; the plan embeds {} (same repository, another tag or digest)",
            found.near.join(", ")
        ));
    }
    if found.unknown > 0 {
        text.push_str(&format!(
            "; {} embed(s) of the plan copy images stowage cannot name statically",
            found.unknown
        ));
    }
    let related = facts
        .embed_plan
        .iter()
        .filter(|e| e.images.iter().any(|i| found.near.contains(i)))
        .map(|e| Related { message: "embeds the same repository".into(), location: e.location.clone() })
        .collect();
    Some(Missing { reason: MissingReason::NotCarried, text, related })
}

/// Whether a `repo:tag@digest` reference meets a carried `repo:tag` with another digest: the
/// tag was re-pointed after the reference was pinned.
pub fn repointed_tag(resolved: &ImageRef, near: &[&EmbeddedImage]) -> bool {
    let (Some(tag), Some(_)) = (resolved.tag(), resolved.digest()) else { return false };
    near.iter().filter(|carried| carried.digest.is_some()).any(|carried| {
        matching::parsed_names(carried)
            .iter()
            .any(|n| n.name() == resolved.name() && n.digest().is_none() && n.effective_tag() == Some(tag))
    })
}
