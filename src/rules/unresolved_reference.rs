//! `unresolved-reference`: a reference that still holds a variable or template markup after
//! ARG and kustomize resolution. Reported, never guessed.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("unresolved-reference", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &facts.references {
        if let Some(reason) = r.status.unresolved_reason() {
            out.push(
                finding(RULE.id, format!("`{}` cannot be resolved: {reason}", r.image), r.location.clone())
                    .about(r),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    #[test]
    fn catches_undefined_args_and_templates() {
        let text = "ARG BASE\nARG OK=quay.io/x/a:1\nFROM ${BASE}\nFROM {{ .Base }}\nFROM $OK\n";
        let found = check(&RULE, &[("Containerfile", text)]);
        assert_eq!(positions(&found), ["Containerfile:3:6", "Containerfile:4:6"]);
    }
}
