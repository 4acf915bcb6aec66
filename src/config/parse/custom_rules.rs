//! `custom-rules`, in the configuration or in the `rule-files` it names: id, severity,
//! message, help and the `match` over a reference's facts.

use super::super::custom::{CustomRule, FLAG_FIELDS, Matcher, TEXT_FIELDS};
use super::super::{Config, ConfigError};
use super::{Parser, suggest};
use crate::finding::Severity;
use crate::text::yaml::{Node, Value, parse_documents};

/// Custom rules from another file (`rule-files`): a YAML file with a `custom-rules` list (or
/// the list itself), its path relative to the configuration's directory. Its errors point into
/// it; it is kept for excerpts.
pub(super) fn rule_file(p: &mut Parser, config: &mut Config, path: &str, path_node: &Node) {
    let dir = p.src.path.parent().unwrap_or(std::path::Path::new(""));
    let full = dir.join(path);
    let display = crate::text::source::display_path(&if p.src.display.contains('/') {
        std::path::Path::new(&p.src.display).parent().unwrap_or(std::path::Path::new("")).join(path)
    } else {
        std::path::PathBuf::from(path)
    });
    let src = match crate::text::source::read_source(&full, &display) {
        Ok(src) => std::sync::Arc::new(src),
        Err(problem) => {
            p.error_at(path_node, format!("rule file `{path}` {}", problem.message));
            return;
        }
    };
    let mut inner = Parser { src: &src, known: p.known, errors: Vec::new() };
    let (docs, problems) = parse_documents(&src);
    for problem in problems {
        inner.errors.push(ConfigError { message: problem.message, location: problem.location });
    }
    if let Some(doc) = docs.first() {
        let list = match &doc.root.value {
            Value::Map(entries) => {
                for (k, _) in entries {
                    if k.as_str() != Some("custom-rules") {
                        let name = k.as_str().unwrap_or("?").to_string();
                        inner.error_at(
                            k,
                            format!("unknown key `{name}` in a rule file (it holds `custom-rules`)"),
                        );
                    }
                }
                doc.root.get("custom-rules")
            }
            Value::Seq(_) => Some(&doc.root),
            _ => {
                inner.error_at(&doc.root, "a rule file holds `custom-rules:` and a list of rules");
                None
            }
        };
        if let Some(list) = list {
            for rule in inner.custom_rules(list) {
                if config.custom_rules.iter().any(|c| c.id == rule.id) {
                    let location = rule.location.clone();
                    inner.errors.push(ConfigError {
                        message: format!("custom rule `{}` is defined twice", rule.id),
                        location,
                    });
                } else {
                    config.custom_rules.push(rule);
                }
            }
        }
    }
    p.errors.extend(inner.errors);
    config.rule_sources.push(src.clone());
}

impl Parser<'_> {
    pub(super) fn custom_rules(&mut self, node: &Node) -> Vec<CustomRule> {
        let mut out: Vec<CustomRule> = Vec::new();
        let Some(items) = self.seq(node, "custom-rules") else { return out };
        for item in items {
            let Some(fields) = self.map(item, "a custom rule") else { continue };
            let (mut id, mut severity, mut message, mut help, mut matcher) = (None, None, None, None, None);
            for (k, v) in fields {
                let Some(name) = self.key(k) else { continue };
                match name {
                    "id" => {
                        let Some(text) = self.string(v, "custom-rules.id") else { continue };
                        if !is_kebab_case(&text) {
                            self.error_at(
                                v,
                                format!(
                                    "rule id `{text}` must be kebab-case (lowercase words joined by `-`)"
                                ),
                            );
                        } else if self.known.get(&text).is_some() {
                            self.error_at(
                                v,
                                format!("`{text}` is a built-in rule; a custom rule needs its own id"),
                            );
                        } else if out.iter().any(|c| c.id == text) {
                            self.error_at(v, format!("custom rule `{text}` is defined twice"));
                        } else {
                            id = Some(text);
                        }
                    }
                    "severity" => {
                        severity = self
                            .one_of(v, "custom-rules.severity", &["error", "warning", "info"])
                            .and_then(|s| Severity::parse(&s));
                    }
                    "message" => message = self.string(v, "custom-rules.message"),
                    "help" => help = self.string(v, "custom-rules.help"),
                    "match" => matcher = self.matcher(v),
                    other => {
                        let keys = ["id", "severity", "message", "help", "match"];
                        self.error_at(
                            k,
                            format!("unknown key `{other}` in a custom rule{}", suggest(other, &keys)),
                        );
                    }
                }
            }
            // Keys that are absent (not merely invalid: those have their own error).
            let missing: Vec<&str> = ["id", "message", "match"]
                .into_iter()
                .filter(|key| !fields.iter().any(|(k, _)| k.as_str() == Some(key)))
                .collect();
            if !missing.is_empty() {
                self.error_at(item, format!("a custom rule needs {}", missing.join(", ")));
                continue;
            }
            if let (Some(id), Some(message), Some(matcher)) = (id, message, matcher) {
                let location = self.location(item);
                out.push(CustomRule {
                    id,
                    severity: severity.unwrap_or(Severity::Error),
                    message,
                    help,
                    matcher,
                    location,
                });
            }
        }
        out
    }

    fn matcher(&mut self, node: &Node) -> Option<Matcher> {
        let entries = self.map(node, "a `match`")?;
        if entries.is_empty() {
            self.error_at(node, "an empty `match` would match every reference");
            return None;
        }
        let mut all = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.key(k) else { continue };
            let m = match name {
                "all" | "any" => {
                    let Some(items) = self.seq(v, name) else { continue };
                    let inner: Vec<Matcher> = items.iter().filter_map(|i| self.matcher(i)).collect();
                    if inner.len() != items.len() {
                        continue;
                    }
                    if name == "all" { Matcher::All(inner) } else { Matcher::Any(inner) }
                }
                "not" => match self.matcher(v) {
                    Some(m) => Matcher::Not(Box::new(m)),
                    None => continue,
                },
                field => {
                    if let Some((_, f)) = TEXT_FIELDS.iter().find(|(n, _)| *n == field) {
                        match self.pattern(v, field, false) {
                            Some(p) => Matcher::Text(*f, p),
                            None => continue,
                        }
                    } else if let Some((_, f)) = FLAG_FIELDS.iter().find(|(n, _)| *n == field) {
                        match self.bool(v, field) {
                            Some(b) => Matcher::Flag(*f, b),
                            None => continue,
                        }
                    } else {
                        let mut known: Vec<&str> = vec!["all", "any", "not"];
                        known.extend(TEXT_FIELDS.iter().map(|(n, _)| *n));
                        known.extend(FLAG_FIELDS.iter().map(|(n, _)| *n));
                        self.error_at(
                            k,
                            format!(
                                "unknown match field `{field}` (one of: {}){}",
                                known.join(", "),
                                suggest(field, &known)
                            ),
                        );
                        continue;
                    }
                }
            };
            all.push(m);
        }
        if all.len() != entries.len() {
            return None;
        }
        Some(if all.len() == 1 { all.remove(0) } else { Matcher::All(all) })
    }
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id
            .split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}
