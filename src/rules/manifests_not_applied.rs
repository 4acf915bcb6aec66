//! `manifests-not-applied`: YAML in a directory under a MicroShift manifests root that
//! MicroShift will skip — the directory has no kustomization file, is not in
//! `manifests.kustomizePaths`, or its kustomization does not use the file. The workload the
//! author expects never starts, and its images are embedded for nothing.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("manifests-not-applied", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    facts
        .manifests_not_applied
        .iter()
        .map(|n| {
            let f = finding(RULE.id, n.reason.clone(), n.location.clone());
            match &n.setting {
                Some(at) => f.with_related("kustomizePaths entry", at.clone()),
                None => f,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'q.io/a:1'}]}\n";

    #[test]
    fn catches_a_directory_without_kustomization_and_one_outside_the_paths() {
        let files = [
            ("img/usr/lib/microshift/manifests.d/bare/pod.yaml", POD),
            (
                "img/etc/microshift/config.yaml",
                "manifests:\n  kustomizePaths:\n  - /usr/lib/microshift/manifests.d/app\n",
            ),
            ("img/usr/lib/microshift/manifests.d/app/kustomization.yaml", "resources:\n- pod.yaml\n"),
            ("img/usr/lib/microshift/manifests.d/app/pod.yaml", POD),
        ];
        let found = check(&RULE, &files);
        assert_eq!(positions(&found), ["img/usr/lib/microshift/manifests.d/bare/pod.yaml:1:1"]);
        assert!(found[0].message.contains("not in manifests.kustomizePaths"), "{}", found[0].message);
    }

    #[test]
    fn passes_applied_manifests_and_files_outside_manifest_roots() {
        let files = [
            ("img/usr/lib/microshift/manifests.d/app/kustomization.yaml", "resources:\n- pod.yaml\n"),
            ("img/usr/lib/microshift/manifests.d/app/pod.yaml", POD),
            ("deploy/pod.yaml", POD),
        ];
        assert!(check(&RULE, &files).is_empty());
    }
}
