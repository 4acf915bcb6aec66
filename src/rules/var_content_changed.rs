//! `var-content-changed` (upgrade): files under `/var` differ between the two OS images. bootc
//! populates `/var` from the image at install time only and never touches it on upgrade, so
//! installed devices keep the old files (DOMAIN.md §2.E; bootc docs/src/filesystem.md, "/var";
//! bootc-dev/bootc#2433).
//! Caches, logs, temporary files and package-manager state are excluded by default (the
//! `exclude` parameter).

use super::{Context, UpgradeRule, finding};
use crate::finding::Finding;
use crate::rules::explain::image_path;
use crate::upgrade::Upgrade;
use crate::upgrade::var::{VarDiff, changes};

pub static RULE: UpgradeRule = UpgradeRule { rule: rule!("var-content-changed", None), check };

fn check(u: &Upgrade, ctx: &Context) -> Vec<Finding> {
    let exclude = ctx.param_strings(RULE.rule.id, "exclude");
    changes(&u.old.var, &u.new.var, &exclude)
        .into_iter()
        .map(|c| {
            let keeps = match c.change {
                VarDiff::Added => "installed devices will not get it".to_string(),
                VarDiff::Removed => "installed devices keep it".to_string(),
                VarDiff::Content => "installed devices keep the old content".to_string(),
                VarDiff::Mode => format!(
                    "installed devices keep mode {:04o} (NEW has {:04o})",
                    c.old_mode.unwrap_or(0),
                    c.new_mode.unwrap_or(0)
                ),
            };
            let side = if c.change == VarDiff::Removed { &u.old } else { &u.new };
            finding(
                RULE.rule.id,
                format!(
                    "{} {}: bootc populates /var at install time only and leaves it alone on upgrade, so {keeps}",
                    c.path,
                    c.change.describe()
                ),
                image_path(&side.facts, &c.path),
            )
        })
        .collect()
}
