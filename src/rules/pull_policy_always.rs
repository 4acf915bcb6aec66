//! `pull-policy-always`: kubelet will pull the image on every start.
//!
//! Fires on an explicit `imagePullPolicy: Always`, and on an unset policy where Kubernetes
//! defaults to `Always`: the tag is `latest` (even with a digest), or there is neither tag nor
//! digest. A digest-only reference defaults to `IfNotPresent` and passes.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("pull-policy-always", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in facts.references.iter().filter(|r| r.is_kubernetes()) {
        let image = r.display_image();
        match &r.pull_policy {
            Some(policy) if policy.value == "Always" => out.push(
                finding(
                    RULE.id,
                    format!("imagePullPolicy: Always makes kubelet pull `{image}` at every start; offline the pod cannot start"),
                    policy.location.clone(),
                )
                .about(r)
                .with_label("pull policy")
                .with_related("image referenced here", r.location.clone()),
            ),
            Some(_) => {}
            None => {
                let Some(resolved) = &r.resolved else { continue };
                let defaults_to_always = match resolved.tag() {
                    Some(tag) => tag == "latest",
                    None => resolved.digest().is_none(),
                };
                if defaults_to_always {
                    let why = if resolved.tag().is_some() { "its tag is `latest`" } else { "it has neither tag nor digest" };
                    out.push(
                        finding(
                            RULE.id,
                            format!("imagePullPolicy is unset and {why}, so Kubernetes pulls `{image}` at every start (policy Always)"),
                            r.location.clone(),
                        )
                        .about(r)
                        .with_label("pull policy defaults to Always"),
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    fn pod(containers: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n{containers}")
    }

    #[test]
    fn catches_explicit_always_at_the_policy() {
        let yaml = pod(
            "  - name: a\n    image: quay.io/x/a@sha256:0000000000000000000000000000000000000000000000000000000000000000\n    imagePullPolicy: Always\n",
        );
        let found = check(&RULE, &[("pod.yaml", &yaml)]);
        assert_eq!(positions(&found), ["pod.yaml:9:22"]);
        assert_eq!(found[0].related[0].location.line, 8);
    }

    #[test]
    fn catches_unset_policy_with_latest_or_no_tag() {
        let yaml = pod(
            "  - name: a\n    image: quay.io/x/a:latest\n  - name: b\n    image: quay.io/x/b\n  - name: c\n    image: quay.io/x/c:latest@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        );
        let found = check(&RULE, &[("pod.yaml", &yaml)]);
        assert_eq!(positions(&found), ["pod.yaml:8:12", "pod.yaml:10:12", "pod.yaml:12:12"]);
        assert!(found[1].message.contains("neither tag nor digest"), "{}", found[1].message);
    }

    #[test]
    fn passes_digest_only_pinned_tag_and_if_not_present() {
        let yaml = pod(
            "  - name: a\n    image: quay.io/x/a@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  - name: b\n    image: quay.io/x/b:1.2\n  - name: c\n    image: quay.io/x/c:latest\n    imagePullPolicy: IfNotPresent\n",
        );
        assert!(check(&RULE, &[("pod.yaml", &yaml)]).is_empty());
    }

    #[test]
    fn ignores_containerfiles() {
        assert!(check(&RULE, &[("Containerfile", "FROM quay.io/x/a:latest\n")]).is_empty());
    }
}
