//! `invalid-reference`: text used as an image that the runtime would reject.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::Status;

pub static RULE: Rule = rule!("invalid-reference", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    reference_findings(RULE.id, facts, |r| match &r.status {
        Status::Invalid { reason } => Some(format!("`{}` is not a valid image reference: {reason}", r.text())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::fires_at;

    #[test]
    fn catches_uppercase_repositories_and_bad_digests() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/Acme/app:1\n  - name: b\n    image: quay.io/acme/app@sha256:abc\n  - name: c\n    image: quay.io/acme/app:1\n";
        assert_eq!(fires_at(&RULE, &[("pod.yaml", pod)]), ["pod.yaml:8:12", "pod.yaml:10:12"]);
    }
}
