//! `manifests-not-built`: manifests in a kustomization's directory that no kustomize build
//! takes — beside a kustomization that does not list them, or under a Component no
//! kustomization enables. They are not deployed, so their images are not runtime references;
//! one finding per directory says what was left out and why.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("manifests-not-built", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    facts
        .manifests_not_built
        .iter()
        .map(|n| {
            let mut f = finding(RULE.id, n.message.clone(), n.location.clone());
            for at in &n.files {
                f = f.with_related("left out", at.clone());
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, facts, fires_at};

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'q.io/a:1'}]}\n";
    const POD2: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {containers: [{name: a, image: 'q.io/b:1'}, {name: b, image: 'q.io/c:1'}]}\n";

    #[test]
    fn catches_a_manifest_the_kustomization_beside_it_does_not_list() {
        let files = [
            ("k/kustomization.yaml", "resources:\n- pod.yaml\n# - load.yaml\n"),
            ("k/pod.yaml", POD),
            ("k/load.yaml", POD2),
        ];
        let found = check(&RULE, &files);
        assert_eq!(fires_at(&RULE, &files), ["k/kustomization.yaml:2:3"]);
        assert_eq!(
            found[0].message,
            "`k/kustomization.yaml` does not list `load.yaml`, and applying the directory applies its \
             kustomization only: it is not deployed, so its 2 images are not counted as runtime references"
        );
        let related: Vec<String> = found[0].related.iter().map(|r| format!("{}", r.location)).collect();
        assert_eq!(related, ["k/load.yaml:4:39"]);
        let images: Vec<String> = images(&files);
        assert_eq!(images, ["q.io/a:1"]);
    }

    #[test]
    fn catches_the_manifests_of_a_component_nothing_enables_once_per_directory() {
        let files = [
            ("k/kustomization.yaml", "resources:\n- base\n# components:\n# - components/otel\n"),
            ("k/base/kustomization.yaml", "resources:\n- pod.yaml\n"),
            ("k/base/pod.yaml", POD),
            (
                "k/components/otel/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- a.yaml\n- sub/b.yaml\n",
            ),
            ("k/components/otel/a.yaml", POD2),
            ("k/components/otel/sub/b.yaml", POD),
        ];
        let found = check(&RULE, &files);
        assert_eq!(positions(&found), ["k/components/otel/kustomization.yaml:2:7"]);
        assert!(found[0].message.starts_with("`k/components/otel` is a kustomize Component"), "{}", found[0].message);
        assert!(found[0].message.contains("`a.yaml` and `sub/b.yaml` are never built: their 3 images"), "{}", found[0].message);
        let images: Vec<String> = images(&files);
        assert_eq!(images, ["q.io/a:1"]);
    }

    /// The images of the runtime references, in file order.
    fn images(files: &[(&str, &str)]) -> Vec<String> {
        facts(files).references.iter().map(|r| r.image.clone()).collect()
    }

    fn positions(found: &[Finding]) -> Vec<String> {
        crate::rules::test_support::positions(found)
    }

    #[test]
    fn passes_listed_manifests_enabled_components_and_kube_yaml() {
        let files = [
            ("k/kustomization.yaml", "resources:\n- pod.yaml\ncomponents:\n- c\n"),
            ("k/pod.yaml", POD),
            ("k/c/kustomization.yaml", "kind: Component\nresources:\n- extra.yaml\n"),
            ("k/c/extra.yaml", POD2),
            ("k/played.yaml", POD2),
            ("q/app.kube", "[Kube]\nYaml=../k/played.yaml\n"),
            ("plain/pod.yaml", POD),
        ];
        assert!(check(&RULE, &files).is_empty(), "{:?}", check(&RULE, &files));
        let mut images: Vec<String> = images(&files);
        images.sort();
        assert_eq!(images, ["q.io/a:1", "q.io/a:1", "q.io/b:1", "q.io/b:1", "q.io/c:1", "q.io/c:1"]);
    }

    #[test]
    fn a_kustomization_that_cannot_be_read_leaves_its_directory_alone() {
        let files = [("k/kustomization.yaml", "resources: [\n"), ("k/pod.yaml", POD)];
        assert!(check(&RULE, &files).is_empty());
        let images: Vec<String> = images(&files);
        assert_eq!(images, ["q.io/a:1"]);
    }
}
