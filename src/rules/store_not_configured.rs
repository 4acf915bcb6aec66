//! `store-not-configured`: a containers-storage store inside the image that no
//! `additionalimagestores` entry of the effective storage.conf (nor CRI-O's storage options)
//! names. CRI-O never looks at it.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::rules::explain::image_path;

pub static RULE: Rule = rule!("store-not-configured", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let inv = &image.inventory;
    let conf = match &inv.config.storage.file {
        Some(f) => format!("of {f}"),
        None => "(there is no storage.conf)".to_string(),
    };
    inv.stores
        .iter()
        .filter(|s| s.method == Method::ContainersStorage && !s.configured && s.images > 0)
        .map(|s| {
            finding(
                RULE.id,
                format!(
                    "the {} store {} holds {} image(s), but no additionalimagestores entry {conf} names it: \
                     CRI-O never looks there",
                    s.kind, s.path, s.images
                ),
                image_path(facts, &s.path),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn unconfigured_stores_fire() {
        assert_eq!(positions(&image_check(&RULE, "vfs-noconf", &[])), ["/usr/share/containers/storage:1:1"]);
        assert!(image_check(&RULE, "overlay-conf", &[]).is_empty());
    }
}
