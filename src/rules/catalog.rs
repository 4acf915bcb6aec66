//! The rule catalog: the metadata of every rule, kept as data in `rules/*.yaml` and embedded in
//! the binary. It is the single source for default severities, help texts and `stowage rules`.

use crate::finding::Severity;
use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub id: String,
    pub severity: Severity,
    /// `build`, `runtime`, `image`, `online` (what the registries answer, `check --online`),
    /// `config` (findings about the configuration and waivers) or `upgrade` (`stowage diff`:
    /// what changes from one OS image to the next).
    pub scope: String,
    pub summary: String,
    pub rationale: String,
    pub remediation: String,
    pub bad: String,
    pub good: String,
    /// Parameters the configuration may set under `rules.<id>`.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    pub description: String,
    pub default: serde_json::Value,
    /// The values a list-of-strings parameter may hold (any string when empty).
    #[serde(default)]
    pub values: Vec<String>,
}

impl Parameter {
    /// What the configuration may set: a list default makes a list-of-strings parameter.
    pub fn kind(&self) -> crate::config::ParamKind {
        match &self.default {
            serde_json::Value::Array(_) => crate::config::ParamKind::Strings { values: self.values.clone() },
            _ => crate::config::ParamKind::Any,
        }
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Severity::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown severity `{text}` (error, warning, info)"))
        })
    }
}

/// All entries, sorted by id. The files are part of the binary and checked by tests, so a
/// malformed one is a build defect, not an input error.
#[expect(clippy::panic, reason = "the catalog is compiled in; tests read every entry")]
pub fn entries() -> &'static [CatalogEntry] {
    static ENTRIES: OnceLock<Vec<CatalogEntry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut entries: Vec<CatalogEntry> = super::all_rules()
            .map(|rule| {
                serde_saphyr::from_str(rule.catalog)
                    .unwrap_or_else(|e| panic!("rules/{}.yaml is malformed: {e}", rule.id))
            })
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        entries
    })
}

pub fn entry(id: &str) -> Option<&'static CatalogEntry> {
    entries().iter().find(|e| e.id == id)
}

/// What the configuration is checked against: every catalog entry's id, default severity,
/// summary and parameter names.
pub fn known_rules() -> crate::config::KnownRules {
    let rules = entries()
        .iter()
        .map(|e| crate::config::KnownRule {
            id: e.id.clone(),
            severity: e.severity,
            summary: e.summary.clone(),
            parameters: e
                .parameters
                .iter()
                .map(|p| crate::config::KnownParameter { name: p.name.clone(), kind: p.kind() })
                .collect(),
        })
        .collect();
    crate::config::KnownRules { rules }
}

/// The default severity of a rule; unknown ids (a defect) count as errors so nothing passes.
pub fn default_severity(id: &str) -> Severity {
    entry(id).map_or(Severity::Error, |e| e.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_is_named_after_its_id() {
        for rule in super::super::all_rules() {
            let id = rule.id;
            let e = entry(id).unwrap_or_else(|| panic!("no entry with id {id}"));
            assert_eq!(e.id, id);
            assert!(
                ["build", "runtime", "image", "online", "config", "upgrade"].contains(&e.scope.as_str()),
                "{id}: scope {}",
                e.scope
            );
            for (section, text) in
                [("summary", &e.summary), ("rationale", &e.rationale), ("remediation", &e.remediation)]
            {
                assert!(!text.trim().is_empty(), "{id}: empty {section}");
            }
        }
        assert_eq!(entries().len(), super::super::all_rules().count());
    }

    #[test]
    fn parameter_defaults_are_values_the_configuration_may_set() {
        for e in entries() {
            for p in &e.parameters {
                if let crate::config::ParamKind::Strings { values } = p.kind() {
                    let default = p.default.as_array().unwrap();
                    for item in default {
                        let item = item.as_str().unwrap_or_else(|| panic!("{}.{}: {item}", e.id, p.name));
                        assert!(
                            values.is_empty() || values.iter().any(|v| v == item),
                            "{}.{}: {item}",
                            e.id,
                            p.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_catalog_file_belongs_to_a_rule() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut ids: Vec<String> = super::super::all_rules().map(|r| format!("{}.yaml", r.id)).collect();
        ids.sort();
        assert_eq!(files, ids, "a file in rules/ that no rule! declares is never shown");
    }
}
