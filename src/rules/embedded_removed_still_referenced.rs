//! `embedded-removed-still-referenced` (upgrade): an image OLD carried, for a reference the
//! device runs, is no longer carried by NEW although NEW's sources still reference it: after
//! the upgrade the device would have to pull it (DOMAIN.md §1, §4). In the diff it replaces
//! NEW's own `not-embedded` (or release / pause image rule) for that reference, so the cause
//! is reported once.

use super::{Context, UpgradeRule, finding};
use crate::finding::Finding;
use crate::reference::RefKind;
use crate::rules::explain::{image_name, image_path};
use crate::rules::matching::lookup;
use crate::upgrade::Upgrade;

pub static RULE: UpgradeRule = UpgradeRule { rule: rule!("embedded-removed-still-referenced", None), check };

/// NEW's rules whose finding this one replaces at the same reference.
pub const REPLACES: &[&str] = &["not-embedded", "release-image-not-embedded", "pause-image-not-embedded"];

fn check(u: &Upgrade, _ctx: &Context) -> Vec<Finding> {
    let (Some(old), Some(new)) = (&u.old.facts.image, &u.new.facts.image) else { return Vec::new() };
    let mut out = Vec::new();
    for r in u.new.facts.references.iter().filter(|r| matches!(r.kind, RefKind::Runtime | RefKind::Release)) {
        let Some(resolved) = &r.resolved else { continue };
        let before = lookup(resolved, &old.inventory, Some(&old.target_arch));
        let Some((carried, _)) = before.found.first() else { continue };
        let after = lookup(resolved, &new.inventory, Some(&new.target_arch));
        // Still carried (even if broken: NEW's own rules say how) is not "removed".
        if !after.found.is_empty() || !after.unusable.is_empty() {
            continue;
        }
        // NEW carries the same name with another digest: changed, not removed (NEW's own
        // `embedded-digest-mismatch` explains a pinned reference).
        if u.new.images().any(|j| j.names.iter().any(|n| carried.names.contains(n))) {
            continue;
        }
        let name = image_name(carried);
        let copy = if name == r.text()
            || Some(name.as_str()) == r.resolved.as_ref().map(|x| x.to_string()).as_deref()
        {
            format!("a {} copy in {}", carried.method.as_str(), carried.store)
        } else {
            format!("the {} copy `{name}` in {}", carried.method.as_str(), carried.store)
        };
        out.push(
            finding(
                RULE.rule.id,
                format!(
                    "`{}` was carried by OLD ({copy}) but NEW no longer carries it, while NEW still \
                     references it: after the upgrade the device would have to pull it",
                    r.text()
                ),
                r.location.clone(),
            )
            .about(r)
            .with_related("carried by OLD here", image_path(&u.old.facts, &carried.path)),
        );
    }
    out
}
