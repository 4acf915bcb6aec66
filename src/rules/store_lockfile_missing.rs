//! `store-lockfile-missing`: a read-only containers-storage store shipped without its
//! `images.lock` / `layers.lock`. containers/storage silently skips such a store on a
//! read-only /usr.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::rules::explain::image_path;

pub static RULE: Rule = rule!("store-lockfile-missing", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    image
        .inventory
        .stores
        .iter()
        .filter(|s| s.method == Method::ContainersStorage && !s.missing_locks.is_empty())
        .map(|s| {
            finding(
                RULE.id,
                format!(
                    "the store {} lacks {}: on a read-only /usr containers/storage skips it silently, with its {} image(s)",
                    s.path,
                    s.missing_locks.join(" and "),
                    s.images
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
    fn missing_locks_fire() {
        assert_eq!(
            positions(&image_check(&RULE, "overlay-nolocks", &[])),
            ["/usr/lib/containers/storage:1:1"]
        );
        assert!(image_check(&RULE, "overlay-conf", &[]).is_empty());
    }
}
