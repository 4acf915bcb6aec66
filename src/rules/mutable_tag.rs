//! `mutable-tag`: an image the device runs or embeds, referenced by a tag without a digest.
//! `latest` and untagged references are left to `latest-tag`. The `kinds` parameter says which
//! reference kinds count (build-time bases are left out by default).

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("mutable-tag", Some(check));

fn check(facts: &Facts, ctx: &Context) -> Vec<Finding> {
    let kinds = ctx.param_strings(RULE.id, "kinds");
    let mut out = Vec::new();
    for r in facts.references.iter().filter(|r| kinds.iter().any(|k| k == r.kind.as_str())) {
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
            .about(r)
            .with_label("tag without digest"),
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
    fn the_kinds_parameter_widens_the_rule() {
        let files = [("Containerfile", "FROM quay.io/x/a:1.0\n")];
        let config = crate::rules::test_support::config("rules:\n  mutable-tag:\n    kinds: [build]\n");
        let found = crate::rules::test_support::check_with(&RULE, &files, &config);
        assert_eq!(positions(&found), ["Containerfile:1:18"]);
    }

    #[test]
    fn leaves_build_images_and_latest_to_other_rules() {
        assert!(check(&RULE, &[("Containerfile", "FROM quay.io/x/a:1.0\n")]).is_empty());
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/x/a:latest\n";
        assert!(check(&RULE, &[("pod.yaml", pod)]).is_empty());
    }
}
