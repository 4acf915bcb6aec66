//! `not-pinned`: an image that ends up in CRI-O's main store (a `dir:` copy copied there at
//! boot, or an image in the default store) that no CRI-O `pinned_images` pattern protects.
//! Kubelet's image garbage collection may delete it under disk pressure, and offline it cannot
//! come back. Images in read-only additional stores are never collected.

use super::{Context, Rule, carried_image_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::reference::imageref::ImageRef;
use crate::rules::explain::image_name;

pub static RULE: Rule = rule!("not-pinned", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let crio = &image.inventory.config.crio_effective;
    let pause = crio.pause_image.as_ref().and_then(|r| r.resolved.as_ref());
    let pinned = |name: &ImageRef| {
        // The pause image is pinned implicitly.
        pause.is_some_and(|p| p == name) || crio.pinned_images.iter().any(|p| p.matches(&name.to_string()))
    };
    carried_image_findings(RULE.id, facts, |i| {
        if !matches!(i.method, Method::Dir | Method::DefaultStore) || !i.visible_to_crio {
            return None;
        }
        let names: Vec<ImageRef> = i.names.iter().filter_map(|n| ImageRef::parse(n).ok()).collect();
        (!names.is_empty() && !names.iter().any(pinned)).then(|| {
            format!(
                "`{}` is copied into CRI-O's store but matches no pinned_images pattern: kubelet's image \
                 garbage collection may delete it, and offline it cannot come back",
                image_name(i)
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn unpinned_copies_fire() {
        let found = image_check(&RULE, "thirty", &[]);
        assert_eq!(found.len(), 25);
        // dir-copies ships no CRI-O configuration either; overlay-conf's images live in a
        // read-only additional store, which garbage collection never touches.
        assert!(image_check(&RULE, "overlay-conf", &[]).is_empty());
        assert_eq!(positions(&found)[0], "/usr/lib/containers/storage/image-list.txt:1:1");
    }
}
