//! `release-image-not-embedded`: a MicroShift release image (for the image's architecture)
//! that is not carried: the core component that runs it cannot start offline.

use super::{Context, Rule, missing_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::RefKind;

pub static RULE: Rule = rule!("release-image-not-embedded", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    missing_findings(
        RULE.id,
        facts,
        |r| r.kind == RefKind::Release,
        |r, why| {
            let key = r.within.as_deref().map(|k| format!(" (release image `{k}`)")).unwrap_or_default();
            format!("`{}`{key} {why}", r.text())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn release_images_must_be_carried() {
        let release = r#"{"release":{"base":"4.19.0"},"images":{"app":"quay.io/stowage/app:1","dns":"quay.io/stowage/dns:1"}}"#;
        let found = image_check(&RULE, "dir-copies", &[("release-x86_64.json", release)]);
        assert_eq!(positions(&found), ["release-x86_64.json:1:77"]);
        assert!(found[0].message.contains("release image `dns`"), "{}", found[0].message);
    }
}
