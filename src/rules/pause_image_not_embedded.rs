//! `pause-image-not-embedded`: CRI-O's effective `pause_image` is not carried. Every pod
//! sandbox needs it, so no pod starts offline.

use super::{Context, Rule, finding};
use crate::audit::explain;
use crate::facts::Facts;
use crate::finding::Finding;
use crate::reference::Origin;

pub static RULE: Rule = Rule { id: "pause-image-not-embedded", check };

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    facts
        .references
        .iter()
        .filter(|r| r.origin == Origin::CrioPauseImage)
        .filter_map(|r| {
            let (why, related) = explain::missing(facts, r)?;
            let mut f =
                finding(RULE.id, format!("CRI-O's pause image `{}` {why}", r.text()), r.location.clone())
                    .about(r);
            f.related = related;
            Some(f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn the_pause_image_must_be_carried() {
        let conf = |image: &str| format!("[crio.image]\npause_image = \"{image}\"\n");
        let missing = conf("quay.io/openshift/pause:1");
        let found = image_check(&RULE, "dir-copies", &[("crio.conf", &missing)]);
        assert_eq!(positions(&found), ["crio.conf:2:16"]);
        let present = conf("quay.io/stowage/app:1");
        assert!(image_check(&RULE, "dir-copies", &[("crio.conf", &present)]).is_empty());
    }
}
