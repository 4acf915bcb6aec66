//! The `rules` section: each rule's severity (`severity:` or the level alone) and its
//! parameters, checked against the catalog.

use super::super::custom::CustomRule;
use super::super::{KnownParameter, Level, ParamKind, RuleSetting};
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
                    let known = self.known;
                    let parameters = known.get(id).map(|e| e.parameters.as_slice()).unwrap_or_default();
                    let declared: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
                    for (k, v) in fields {
                        let Some(name) = self.key(k) else { continue };
                        if name == "severity" {
                            setting.level = self.level(v, &format!("rules.{id}.severity"));
                        } else if let Some(param) = parameters.iter().find(|p| p.name == name) {
                            if self.parameter_value(id, param, v) {
                                setting.params.insert(name.to_string(), v.clone());
                            }
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

    /// Whether `node` is a value `param` takes; when not, the error says why, at the value.
    fn parameter_value(&mut self, id: &str, param: &KnownParameter, node: &Node) -> bool {
        let ParamKind::Strings { values } = &param.kind else { return true };
        let what = format!("rules.{id}.{}", param.name);
        let items = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let allowed: Vec<&str> = values.iter().map(String::as_str).collect();
        let mut ok = true;
        for item in items {
            let Some(text) = item.as_str() else {
                self.error_at(item, format!("`{what}` takes a list of strings"));
                ok = false;
                continue;
            };
            if !allowed.is_empty() && !allowed.contains(&text) {
                let message =
                    format!("`{what}` takes {}, not `{text}`{}", allowed.join(", "), suggest(text, &allowed));
                self.error_at(item, message);
                ok = false;
            }
        }
        ok
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
