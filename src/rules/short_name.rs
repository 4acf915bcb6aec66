//! `short-name`: an image without a registry, resolved on the device through
//! `unqualified-search-registries` rather than by a fixed rule.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("short-name", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let findings = reference_findings(RULE.id, facts, |r| {
        let resolved = r.resolved.as_ref().filter(|resolved| !resolved.has_explicit_registry())?;
        Some(format!(
            "`{}` is a short name; it is resolved through the search registries of registries.conf, not necessarily to `{}`",
            r.text(),
            resolved
        ))
    });
    findings.into_iter().map(|f| f.with_label("no registry")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, positions};

    #[test]
    fn catches_names_without_registry() {
        let text = "FROM ubi9/ubi:9.5\nFROM docker.io/library/nginx:1\nFROM localhost/app:1\nFROM registry:5000/app:1\nFROM nginx\n";
        let found = check(&RULE, &[("Containerfile", text)]);
        assert_eq!(positions(&found), ["Containerfile:1:6", "Containerfile:5:6"]);
        assert_eq!(found[1].image.as_deref(), Some("docker.io/library/nginx:latest"));
    }
}
