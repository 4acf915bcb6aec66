//! `remote-resource`: a kustomization names a resource, base or component on the network
//! (`https://...`, `git@...`, `github.com/...`). Offline it cannot be fetched, so what it
//! deploys is unknown and MicroShift cannot apply the kustomization.

use super::{Context, Rule, kustomize_issue_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::resolve::kustomize::IssueKind;

pub static RULE: Rule = rule!("remote-resource", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    kustomize_issue_findings(RULE.id, facts, IssueKind::Remote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, fires_at};

    #[test]
    fn catches_urls_and_git_addresses_at_their_entry() {
        let k = "resources:\n- https://example.com/x.yaml\n- git@github.com:acme/deploy.git\n- github.com/acme/deploy/base\n";
        assert_eq!(fires_at(&RULE, &[("k/kustomization.yaml", k)]), ["k/kustomization.yaml:2:3", "k/kustomization.yaml:3:3", "k/kustomization.yaml:4:3"]);
    }

    #[test]
    fn passes_local_resources() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'q.io/a:1'}]}\n";
        assert!(
            check(&RULE, &[("k/kustomization.yaml", "resources:\n- pod.yaml\n"), ("k/pod.yaml", pod)])
                .is_empty()
        );
    }
}
