//! `mutable-tag`: an image the device runs or embeds, referenced by a tag without a digest.
//! `latest` and untagged references are left to `latest-tag`; build-time bases are left to the
//! build rules.

use super::{Rule, finding};
use crate::facts::Facts;
use crate::finding::Finding;
use crate::reference::RefKind;
use crate::rules::Traced;

pub static RULE: Rule = Rule { id: "mutable-tag", check };

fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in facts.references.iter().filter(|r| r.kind != RefKind::Build) {
        let Some(resolved) = &r.resolved else { continue };
        let (Some(tag), None) = (resolved.tag(), resolved.digest()) else { continue };
        if tag == "latest" {
            continue;
        }
        let location = resolved.tag_span().map_or_else(|| r.location.clone(), |s| r.component_location(s));
        out.push(
            finding(
                RULE.id,
                format!(
                    "`{}` is pinned by tag only; the registry can move `{tag}` to another image",
                    r.text()
                ),
                location,
            )
            .with_image(r.display_image())
            .traced(r),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"quay.io/x/web:1.4\"\n      - name: side\n        image: quay.io/x/side:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000\n";

    #[test]
    fn catches_a_runtime_tag_without_digest_at_the_tag() {
        let found = check(&RULE, &[("deploy.yaml", DEPLOY)]);
        assert_eq!(positions(&found), ["deploy.yaml:10:31"]);
        assert_eq!(found[0].image.as_deref(), Some("quay.io/x/web:1.4"));
    }

    #[test]
    fn leaves_build_images_and_latest_to_other_rules() {
        assert!(check(&RULE, &[("Containerfile", "FROM quay.io/x/a:1.0\n")]).is_empty());
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/x/a:latest\n";
        assert!(check(&RULE, &[("pod.yaml", pod)]).is_empty());
    }
}
