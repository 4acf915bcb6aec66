//! `additional-store-changed` (upgrade): an image an OS image carried in a configured
//! additional containers-storage store is changed or gone in the next OS image. Containers
//! the device created from it reference layers the new store no longer has: "not available
//! in the additional image store" breaks the upgrade (RHEL-75827; DOMAIN.md §2.B). The
//! concrete form, over two images, of what `additional-store-upgrade` warns about for one.

use super::{Context, UpgradeRule, finding};
use crate::finding::Finding;
use crate::inventory::{EmbeddedImage, Method};
use crate::rules::explain::{image_name, image_path, line_of};
use crate::upgrade::{Side, Upgrade};

pub static RULE: UpgradeRule = UpgradeRule { rule: rule!("additional-store-changed", None), check };

fn configured_stores(side: &Side) -> Vec<&str> {
    side.facts
        .image
        .iter()
        .flat_map(|i| &i.inventory.stores)
        .filter(|s| s.method == Method::ContainersStorage && s.configured)
        .map(|s| s.path.as_str())
        .collect()
}

fn check(u: &Upgrade, _ctx: &Context) -> Vec<Finding> {
    let stores = configured_stores(&u.old);
    let mut out = Vec::new();
    for old in
        u.old.images().filter(|i| i.method == Method::ContainersStorage && stores.contains(&i.store.as_str()))
    {
        let shares_a_name = |j: &&EmbeddedImage| j.names.iter().any(|n| old.names.contains(n));
        let same_store = u
            .new
            .images()
            .filter(|j| j.method == Method::ContainersStorage && j.store == old.store)
            .find(shares_a_name);
        let name = image_name(old);
        let old_digest = old.digest.as_deref().unwrap_or("no digest");
        let (what, location) = match same_store {
            Some(new) if new.digest == old.digest => continue,
            Some(new) => (
                format!("changed from {old_digest} to {}", new.digest.as_deref().unwrap_or("no digest")),
                store_location(&u.new, &new.store),
            ),
            None => {
                let elsewhere = u.new.images().find(shares_a_name);
                let what = match elsewhere {
                    Some(j) => format!("moved out of it (NEW carries it as a {} copy)", j.method.as_str()),
                    None => "removed from it".to_string(),
                };
                (what, store_location(&u.new, &old.store))
            }
        };
        out.push(
            finding(
                RULE.rule.id,
                format!(
                    "`{name}` in the additional image store {} is {what}: containers created from the old \
                     image reference layers the store no longer has, which breaks the upgrade (RHEL-75827)",
                    old.store
                ),
                location,
            )
            .with_image(name)
            .with_related("carried by OLD here", image_path(&u.old.facts, &old.path)),
        );
    }
    out
}

/// The NEW storage.conf line that names the store, else the store's path.
fn store_location(side: &Side, store: &str) -> crate::text::location::Location {
    let facts = &side.facts;
    facts
        .image
        .as_ref()
        .and_then(|i| i.inventory.config.storage.file.as_ref())
        .and_then(|f| facts.sources.get(f))
        .and_then(|src| {
            let line = src.text.lines().position(|l| l.contains(store))?;
            Some(line_of(src, line as u32 + 1))
        })
        .unwrap_or_else(|| image_path(facts, store))
}
