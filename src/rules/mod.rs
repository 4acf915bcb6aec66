//! The rules: one file per rule, each a pure function over the facts. Severities and help come
//! from the catalog (`rules/*.yaml`); the engine applies them after the rules ran.

pub mod catalog;
mod invalid_reference;
mod kustomization_unbuildable;
mod latest_tag;
mod manifests_not_applied;
mod mutable_tag;
mod pull_policy_always;
mod remote_resource;
mod short_name;
mod unparsable_file;
mod unresolved_reference;

use crate::facts::Facts;
use crate::finding::{Finding, Related, Severity};
use crate::location::Location;
use crate::reference::Reference;

pub struct Rule {
    pub id: &'static str,
    pub check: fn(&Facts) -> Vec<Finding>,
}

/// Every rule, in id order.
pub static RULES: &[&Rule] = &[
    &invalid_reference::RULE,
    &kustomization_unbuildable::RULE,
    &latest_tag::RULE,
    &manifests_not_applied::RULE,
    &mutable_tag::RULE,
    &pull_policy_always::RULE,
    &remote_resource::RULE,
    &short_name::RULE,
    &unparsable_file::RULE,
    &unresolved_reference::RULE,
];

/// A finding of `rule` with the rule's catalog severity and remediation as help.
pub fn finding(rule: &'static str, message: impl Into<String>, location: Location) -> Finding {
    let mut f = Finding::new(rule, catalog::default_severity(rule), message, location);
    f.help = catalog::entry(rule).map(|e| first_sentence(&e.remediation));
    f
}

/// Findings about a reference show where a kustomization changed it: each change (the
/// `newTag`, the patch, the replacement) becomes a related location.
pub trait Traced {
    fn traced(self, r: &Reference) -> Self;
}

impl Traced for Finding {
    fn traced(mut self, r: &Reference) -> Finding {
        for change in &r.changed_by {
            self.related.push(Related {
                message: format!("changed by {}", change.what),
                location: change.location.clone(),
            });
        }
        self
    }
}

fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}

/// Run every rule and return the findings in report order.
pub fn run(facts: &Facts) -> Vec<Finding> {
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|r| (r.check)(facts)).collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    findings
}

/// The highest severity among findings, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::facts::Facts;
    use crate::finding::Finding;
    use crate::source::BuildOptions;
    use crate::source::discover::gather_in_memory;

    /// Facts from in-memory files, as `stowage check` would gather them from disk.
    pub fn facts(files: &[(&str, &str)]) -> Facts {
        gather_in_memory(files, &BuildOptions::default())
    }

    /// The findings of one rule on in-memory files, as `(line:column, message)`.
    pub fn check(rule: &super::Rule, files: &[(&str, &str)]) -> Vec<Finding> {
        (rule.check)(&facts(files))
    }

    pub fn positions(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(|f| format!("{}", f.location)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_catalog_agree() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "RULES must be sorted by id and unique");
        let catalog: Vec<&str> = catalog::entries().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, catalog, "every rule needs a catalog entry and every entry a rule");
    }
}
