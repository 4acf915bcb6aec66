//! The `rules` section: each rule's severity (`severity:` or the level alone) and its
//! parameters, checked against the catalog.

use super::super::custom::CustomRule;
use super::super::{Level, RuleSetting};
use super::{Parser, suggest};
use crate::finding::Severity;
use crate::text::yaml::{Node, Value};
use std::collections::BTreeMap;

impl Parser<'_> {
    pub(super) fn rules(&mut self, node: &Node, custom: &[CustomRule]) -> BTreeMap<String, RuleSetting> {
        let mut out = BTreeMap::new();
        let Some(entries) = self.map(node, "`rules`") else { return out };
        for (key, value) in entries {
            let Some(id) = self.key(key) else { continue };
            if !self.check_rule_id(key, id, custom) {
                continue;
            }
            let mut setting =
                RuleSetting { level: None, params: BTreeMap::new(), location: self.location(key) };
            match &value.value {
                Value::Map(fields) => {
                    let declared: Vec<&str> = (self.known.get(id))
                        .map(|e| e.parameters.iter().map(String::as_str).collect())
                        .unwrap_or_default();
                    for (k, v) in fields {
                        let Some(name) = self.key(k) else { continue };
                        if name == "severity" {
                            setting.level = self.level(v, &format!("rules.{id}.severity"));
                        } else if declared.contains(&name) {
                            setting.params.insert(name.to_string(), v.clone());
                        } else {
                            let mut known = vec!["severity"];
                            known.extend(&declared);
                            self.error_at(
                                k,
                                format!(
                                    "rule `{id}` has no parameter `{name}` (it takes: {}){}",
                                    known.join(", "),
                                    suggest(name, &known)
                                ),
                            );
                        }
                    }
                }
                _ => setting.level = self.level(value, &format!("rules.{id}")),
            }
            out.insert(id.to_string(), setting);
        }
        out
    }

    fn level(&mut self, node: &Node, what: &str) -> Option<Level> {
        // YAML 1.1 readers take a bare `off` as false; it means the same here.
        if node.as_bool() == Some(false) {
            return Some(Level::Off);
        }
        let text = self.one_of(node, what, &["error", "warning", "info", "off"])?;
        Some(match Severity::parse(&text) {
            Some(s) => Level::On(s),
            None => Level::Off,
        })
    }
}
