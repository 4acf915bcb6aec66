//! `stowage plan`: what must be embedded — the sorted, unique, fully qualified runtime and
//! release images (DESIGN.md). `image-list` writes the `REF,H` lines of MicroShift's
//! `image-list.txt`, H being the lowercase hex SHA-256 of `REF` followed by a newline (what
//! `echo "$img" | sha256sum` computes; DOMAIN.md §2A).

use crate::reference::{RefKind, Reference};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The resolved forms of every runtime and release reference, sorted and unique. Unresolved
/// references cannot be planned; they are listed apart.
pub fn images(references: &[Reference]) -> (Vec<String>, Vec<&Reference>) {
    let mut images = BTreeSet::new();
    let mut unresolved = Vec::new();
    for r in references.iter().filter(|r| matches!(r.kind, RefKind::Runtime | RefKind::Release)) {
        match &r.resolved {
            Some(resolved) => {
                images.insert(resolved.to_string());
            }
            None => unresolved.push(r),
        }
    }
    (images.into_iter().collect(), unresolved)
}

pub fn list(references: &[Reference]) -> String {
    images(references).0.iter().map(|i| format!("{i}\n")).collect()
}

/// `H` of an image-list line: sha256 of the reference and a newline, lowercase hex.
pub fn list_hash(reference: &str) -> String {
    let digest = Sha256::digest(format!("{reference}\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn image_list(references: &[Reference]) -> String {
    images(references).0.iter().map(|i| format!("{i},{}\n", list_hash(i))).collect()
}

#[derive(Serialize)]
struct PlanOutput<'a> {
    schema_version: u32,
    images: Vec<PlanImage>,
    unresolved: Vec<&'a Reference>,
}

#[derive(Serialize)]
struct PlanImage {
    image: String,
    hash: String,
}

pub fn json(references: &[Reference]) -> String {
    let (images, unresolved) = images(references);
    let images = images.into_iter().map(|image| PlanImage { hash: list_hash(&image), image }).collect();
    let out = PlanOutput { schema_version: super::json::SCHEMA_VERSION, images, unresolved };
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_that_of_echo_into_sha256sum() {
        // echo "quay.io/acme/telemetry:2.3.1" | sha256sum
        assert_eq!(
            list_hash("quay.io/acme/telemetry:2.3.1"),
            "3aaec7f26d5d962e631c32357e0ce11f0ac028ae008661fefc25d112066fc8d1"
        );
    }
}
