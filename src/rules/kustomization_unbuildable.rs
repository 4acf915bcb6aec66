//! `kustomization-unbuildable`: a kustomization that cannot be built — a missing file, a
//! cycle, `helmCharts`, a patch that matches nothing, invalid YAML in a resource. kubectl
//! (and MicroShift) refuse the whole kustomization, so none of its workloads start.
//!
//! A rule of its own rather than `unparsable-file`: the files may all parse; it is the
//! build that fails, at an entry of the kustomization, and it can be suppressed on its own.

use super::{Context, Rule, kustomize_issue_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::resolve::kustomize::IssueKind;

pub static RULE: Rule = rule!("kustomization-unbuildable", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    kustomize_issue_findings(RULE.id, facts, IssueKind::Unbuildable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, fires_at, positions};

    #[test]
    fn catches_missing_files_cycles_and_helm() {
        let found = check(&RULE, &[("k/kustomization.yaml", "resources:\n- missing.yaml\n")]);
        assert_eq!(positions(&found), ["k/kustomization.yaml:2:3"]);
        let found = check(
            &RULE,
            &[
                ("a/kustomization.yaml", "resources:\n- ../b\n"),
                ("b/kustomization.yaml", "resources:\n- ../a\n"),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("cycle"), "{}", found[0].message);
        assert_eq!(fires_at(&RULE, &[("h/kustomization.yaml", "helmCharts:\n- name: redis\n")]), ["h/kustomization.yaml:2:3"]);
    }

    #[test]
    fn passes_a_kustomization_that_builds() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'q.io/a:1'}]}\n";
        assert!(
            check(&RULE, &[("k/kustomization.yaml", "resources:\n- pod.yaml\n"), ("k/pod.yaml", pod)])
                .is_empty()
        );
    }
}
