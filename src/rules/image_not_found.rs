//! `image-not-found` (`check --online`): the registry answers that the tag or digest a
//! reference names does not exist (404, `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`), so the build or
//! the device would fail to pull it.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::image::registry::lookup::Answer;

pub static RULE: Rule = rule!("image-not-found", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(online) = &facts.online else { return Vec::new() };
    reference_findings(RULE.id, facts, |r| match online.answer(r)? {
        Answer::NotFound { message } => {
            Some(format!("`{}` does not exist in the registry, so pulling it fails: {message}", r.text()))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{facts, positions};

    #[test]
    fn fires_only_where_the_registry_has_no_such_manifest() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: r.example/x:1\n  - name: b\n    image: r.example/x:2\n";
        let mut f = facts(&[("pod.yaml", pod)]);
        assert!(check(&f, &crate::rules::test_support::context()).is_empty(), "nothing without --online");
        f.online = Some(crate::rules::test_support::online(&[
            ("r.example/x:1", Answer::NotFound { message: "manifest unknown".into() }),
            ("r.example/x:2", crate::rules::test_support::found("sha256:aa")),
        ]));
        let found = check(&f, &crate::rules::test_support::context());
        assert_eq!(positions(&found), ["pod.yaml:8:12"]);
        assert!(found[0].message.contains("manifest unknown"), "{}", found[0].message);
    }
}
