//! `pause-image-not-embedded`: CRI-O's effective `pause_image` is not carried. Every pod
//! sandbox needs it, so no pod starts offline.

use super::{Context, Rule, missing_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::Origin;

pub static RULE: Rule = rule!("pause-image-not-embedded", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    missing_findings(
        RULE.id,
        facts,
        |r| r.origin == Origin::CrioPauseImage,
        |r, why| format!("CRI-O's pause image `{}` {why}", r.text()),
    )
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
