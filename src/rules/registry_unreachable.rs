//! `registry-unreachable` (`check --online --online-skip-unreachable`): one finding per
//! registry that could not be asked, at its first reference, the others related. Without
//! `--online-skip-unreachable` such a registry stops the analysis instead (exit 2).

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::image::registry::lookup::{Answer, FailureKind};
use std::collections::BTreeMap;

pub static RULE: Rule = rule!("registry-unreachable", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(online) = &facts.online else { return Vec::new() };
    let mut by_registry: BTreeMap<&str, Finding> = BTreeMap::new();
    for r in &facts.references {
        let Some(Answer::Failed(failure)) = online.answer(r) else { continue };
        if !matches!(failure.kind, FailureKind::Unreachable | FailureKind::Blocked) {
            continue;
        }
        match by_registry.get_mut(failure.registry.as_str()) {
            Some(f) => f.related.push(crate::finding::Related {
                message: format!("`{}` was not checked either", r.text()),
                location: r.location.clone(),
            }),
            None => {
                let why = if failure.kind == FailureKind::Blocked { "is blocked" } else { "could not be reached" };
                let message = format!(
                    "registry {} {why}; `{}` and the other references to it were not checked online: {}",
                    failure.registry,
                    r.text(),
                    failure.message
                );
                by_registry.insert(&failure.registry, finding(RULE.id, message, r.location.clone()).about(r));
            }
        }
    }
    by_registry.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::registry::lookup::Failure;
    use crate::rules::test_support::{context, facts, online, positions};

    #[test]
    fn one_finding_per_registry_at_its_first_reference() {
        let files = [("Containerfile", "FROM r.example/a:1\nFROM r.example/b:1\nFROM s.example/c:1\n")];
        let mut f = facts(&files);
        let failed = |registry: &str| {
            Answer::Failed(Failure {
                kind: FailureKind::Unreachable,
                registry: registry.into(),
                message: "connection refused".into(),
            })
        };
        f.online = Some(online(&[
            ("r.example/a:1", failed("r.example")),
            ("r.example/b:1", failed("r.example")),
            ("s.example/c:1", crate::rules::test_support::found("sha256:aa")),
        ]));
        let found = check(&f, &context());
        assert_eq!(positions(&found), ["Containerfile:1:6"]);
        assert_eq!(found[0].related.len(), 1);
        assert!(found[0].message.contains("registry r.example could not be reached"), "{}", found[0].message);
    }
}
