//! What the audit rules share: where an embedded image or store is (an in-image location),
//! and why a reference is not embedded, worded once.

use crate::finding::Related;
use crate::gather::facts::Facts;
use crate::inventory::EmbeddedImage;
use crate::reference::Reference;
use crate::rules::matching::{self, Unusable};
use crate::text::location::Location;

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

/// Why a resolved reference is not embedded, or `None` when it is (or when there is nothing to
/// compare it with: no `--image` and no embed plan). The text completes "`X` ..." messages.
pub fn missing(facts: &Facts, r: &Reference) -> Option<(String, Vec<Related>)> {
    let resolved = r.resolved.as_ref()?;
    let Some(image) = &facts.image else {
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
        let release_image = r.kind == crate::reference::RefKind::Release
            || r.origin == crate::reference::Origin::CrioPauseImage;
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
        return Some((text, related));
    };
    let found = matching::lookup(resolved, &image.inventory, Some(&image.target_arch));
    if found.is_embedded() {
        return None;
    }
    let mut text =
        "is not carried by the image in a form CRI-O finds: the device would have to pull it".to_string();
    let mut related = Vec::new();
    for (i, why) in &found.unusable {
        let reasons: Vec<String> = why.iter().map(|u| u.describe(i)).collect();
        text.push_str(&format!(
            "; the {} copy `{}` {}",
            i.method.as_str(),
            image_name(i),
            reasons.join(" and ")
        ));
        let rule = match why.first() {
            Some(Unusable::Incomplete) => "embedded-incomplete",
            Some(Unusable::WrongArch) => "embedded-arch-mismatch",
            Some(Unusable::BadListLine) => "image-list-corrupt",
            Some(Unusable::NotVisible) | None => "not visible to CRI-O",
        };
        related
            .push(Related { message: format!("matching copy ({rule})"), location: image_location(facts, i) });
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
    }
    if !found.digest_elsewhere.is_empty() {
        let names: Vec<String> = found.digest_elsewhere.iter().map(|i| image_name(i)).collect();
        text.push_str(&format!(
            "; its digest is carried as {}, a different repository: CRI-O needs a name of the same repository",
            names.join(", ")
        ));
    }
    Some((text, related))
}
