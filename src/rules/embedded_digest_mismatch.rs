//! `embedded-digest-mismatch`: a reference pins `repo:tag@digest`, and the image carries
//! `repo:tag` with another digest: the tag was re-pointed between pinning and building, so the
//! carried image is not the one the reference means (and CRI-O, looking up the digest, does
//! not find it).

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::RefKind;
use crate::rules::explain::{image_location, image_name};
use crate::rules::matching;

pub static RULE: Rule = rule!("embedded-digest-mismatch", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let mut out = Vec::new();
    for r in facts.references.iter().filter(|r| matches!(r.kind, RefKind::Runtime | RefKind::Release)) {
        let Some(resolved) = &r.resolved else { continue };
        let (Some(tag), Some(digest)) = (resolved.tag(), resolved.digest()) else { continue };
        let lookup = matching::lookup(resolved, &image.inventory, Some(&image.target_arch));
        if lookup.is_embedded() {
            continue;
        }
        for carried in &lookup.near {
            let same_tag = matching::parsed_names(carried).iter().any(|n| {
                n.name() == resolved.name() && n.digest().is_none() && n.effective_tag() == Some(tag)
            });
            if !same_tag {
                continue;
            }
            // A copy whose manifest could not be read says nothing about a re-pointed tag.
            let Some(has) = carried.digest.as_deref() else { continue };
            let location =
                resolved.digest_span().map_or_else(|| r.location.clone(), |s| r.component_location(s));
            out.push(
                finding(
                    RULE.id,
                    format!(
                        "`{}` pins {digest}, but the carried `{}` is {has}: the tag was re-pointed after the \
                         reference was pinned",
                        r.text(),
                        image_name(carried)
                    ),
                    location,
                )
                .about(r)
                .with_label("pinned digest")
                .with_related("carried with another digest", image_location(facts, carried)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn a_re_pointed_tag_fires() {
        let d = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        let q = format!("[Container]\nImage=quay.io/stowage/app:1@{d}\n");
        assert_eq!(
            positions(&image_check(&RULE, "dir-copies", &[("a.container", &q)])),
            ["a.container:2:29"]
        );
        let ok = "[Container]\nImage=quay.io/stowage/app:1@sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31\n";
        assert!(image_check(&RULE, "dir-copies", &[("a.container", ok)]).is_empty());
    }
}
