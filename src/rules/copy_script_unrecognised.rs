//! `copy-script-unrecognised`: a copy script a drop-in runs, of another shape than the
//! documented loop; the finding says how stowage takes it.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::dircopy::COPY_SCRIPT;
use crate::rules::explain::image_path;

pub static RULE: Rule = rule!("copy-script-unrecognised", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let service = &image.inventory.copy_service;
    let (Err(why), true, Some(_)) = (&service.model.recognised, service.script, &service.drop_in) else {
        return Vec::new();
    };
    vec![finding(
        RULE.id,
        format!(
            "{COPY_SCRIPT} is not the documented copy loop ({why}): stowage counts each listed copy as \
             copied when `skopeo copy` would accept it, and cannot tell whether the script stops early or \
             fails microshift.service"
        ),
        image_path(facts, COPY_SCRIPT),
    )]
}
