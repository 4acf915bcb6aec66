//! `additional-store-upgrade`: images carried in an additional containers-storage store.
//! Red Hat warns against it for bootc: updating the images in an additional store breaks
//! upgrades (RHEL-75827, layers "not available in the additional image store").

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::rules::explain::{image_path, line_of};

pub static RULE: Rule = rule!("additional-store-upgrade", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let inv = &image.inventory;
    inv.stores
        .iter()
        .filter(|s| s.method == Method::ContainersStorage && s.configured && s.images > 0)
        .map(|s| {
            // Point at the storage.conf line that names the store, when there is one.
            let location = inv
                .config
                .storage
                .file
                .as_ref()
                .and_then(|f| facts.sources.get(f))
                .and_then(|src| {
                    let line = src.text.lines().position(|l| l.contains(&s.path))?;
                    Some(line_of(src, line as u32 + 1))
                })
                .unwrap_or_else(|| image_path(facts, &s.path));
            finding(
                RULE.id,
                format!(
                    "{} image(s) are carried in the additional image store {}: updating them in a later \
                     image can break bootc upgrades (RHEL-75827)",
                    s.images, s.path
                ),
                location,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn configured_additional_stores_fire() {
        assert_eq!(positions(&image_check(&RULE, "overlay-conf", &[])), ["/etc/containers/storage.conf:7:1"]);
        assert!(image_check(&RULE, "dir-copies", &[]).is_empty());
    }
}
