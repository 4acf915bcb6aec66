//! `base-image-unpinned`: a Containerfile `FROM` image without a digest. The OS image (and
//! every build stage) then depends on whatever the registry serves at build time. `latest`
//! and untagged bases are left to `latest-tag`.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::Origin;

pub static RULE: Rule = rule!("base-image-unpinned", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let findings = reference_findings(RULE.id, facts, |r| {
        let resolved = r.resolved.as_ref().filter(|_| r.origin == Origin::ContainerfileFrom)?;
        // `latest` and untagged bases are `latest-tag`'s.
        if resolved.digest().is_some() || resolved.effective_tag() == Some("latest") {
            return None;
        }
        Some(format!("the base image `{}` is not pinned by digest: rebuilds can pick up another image", r.text()))
    });
    findings.into_iter().map(|f| f.with_label("no digest")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    #[test]
    fn from_without_digest() {
        let text = "FROM quay.io/a/b:1 AS a\nFROM a\nFROM scratch\nFROM quay.io/a/d\nFROM quay.io/a/c:1@sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
        assert_eq!(positions(&check(&RULE, &[("Containerfile", text)])), ["Containerfile:1:6"]);
    }
}
