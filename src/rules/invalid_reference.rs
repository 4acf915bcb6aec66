//! `invalid-reference`: text used as an image that the runtime would reject.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::Status;

pub static RULE: Rule = rule!("invalid-reference", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &facts.references {
        if let Status::Invalid { reason } = &r.status {
            out.push(
                finding(
                    RULE.id,
                    format!("`{}` is not a valid image reference: {reason}", r.text()),
                    r.location.clone(),
                )
                .about(r),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    #[test]
    fn catches_uppercase_repositories_and_bad_digests() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/Acme/app:1\n  - name: b\n    image: quay.io/acme/app@sha256:abc\n  - name: c\n    image: quay.io/acme/app:1\n";
        let found = check(&RULE, &[("pod.yaml", pod)]);
        assert_eq!(positions(&found), ["pod.yaml:8:12", "pod.yaml:10:12"]);
    }
}
