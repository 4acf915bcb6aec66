//! `unparsable-file`: a source that could not be read or parsed, so it was not checked. A gate
//! fails closed rather than skipping it silently.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("unparsable-file", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    facts
        .problems
        .iter()
        .map(|p| finding(RULE.id, p.message.clone(), p.location.clone()).with_label("here"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    #[test]
    fn catches_malformed_yaml_with_its_position() {
        let found = check(&RULE, &[("bad.yaml", "apiVersion: v1\nkind: Pod\nspec: [\n")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location.file, "bad.yaml");
    }

    #[test]
    fn catches_binary_containerfiles() {
        let found = check(&RULE, &[("Dockerfile", "\u{0}\u{1}ELF\u{0}")]);
        assert_eq!(positions(&found), ["Dockerfile:1:1"]);
        assert!(found[0].message.contains("binary"), "{}", found[0].message);
    }

    #[test]
    fn passes_valid_files() {
        assert!(check(&RULE, &[("Containerfile", "FROM quay.io/x/a:1\n")]).is_empty());
    }
}
