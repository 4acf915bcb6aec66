//! `unresolved-reference`: a reference that still holds a variable or template markup after
//! ARG and kustomize resolution. Reported, never guessed.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("unresolved-reference", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    reference_findings(RULE.id, facts, |r| {
        let reason = r.status.unresolved_reason()?;
        Some(format!("`{}` cannot be resolved: {reason}", r.image))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::fires_at;

    #[test]
    fn catches_undefined_args_and_templates() {
        let text = "ARG BASE\nARG OK=quay.io/x/a:1\nFROM ${BASE}\nFROM {{ .Base }}\nFROM $OK\n";
        assert_eq!(fires_at(&RULE, &[("Containerfile", text)]), ["Containerfile:3:6", "Containerfile:4:6"]);
    }
}
