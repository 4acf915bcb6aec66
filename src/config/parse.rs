//! Walking the configuration's YAML nodes into a [`Config`], collecting every error with its
//! position. Unknown keys, rule ids and parameters are errors, with a suggestion when one is
//! close.

mod build;
mod custom_rules;
mod ignores;
mod registries;
mod rules;

use super::custom::CustomRule;
use super::{Config, ConfigError, KnownRules};
use crate::text::SourceText;
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::pattern::Pattern;
use crate::text::yaml::{Node, Value, parse_documents};
use custom_rules::rule_file;
use std::path::PathBuf;

const KEYS: &[&str] = &[
    "rules",
    "fail-on",
    "paths",
    "exclude",
    "image",
    "arch",
    "build-args",
    "build-contexts",
    "image-fields",
    "release-files",
    "registries",
    "ignore",
    "require-reason",
    "inline-ignores",
    "custom-rules",
    "rule-files",
];

pub(super) fn parse(src: &SourceText, known: &KnownRules) -> (Config, Vec<ConfigError>) {
    let mut p = Parser { src, known, errors: Vec::new() };
    let mut config = Config::default();
    let (docs, problems) = parse_documents(src);
    for problem in problems {
        p.errors.push(ConfigError { message: problem.message, location: problem.location });
    }
    if docs.len() > 1 {
        p.error_at(&docs[1].root, "the configuration must be a single YAML document");
    }
    let Some(doc) = docs.first() else { return (config, p.errors) };
    if doc.root.is_null() {
        return (config, p.errors);
    }
    let Some(entries) = p.map(&doc.root, "the configuration") else { return (config, p.errors) };
    // Custom rule ids may be configured under `rules` too, so read them first.
    if let Some((_, node)) = entries.iter().find(|(k, _)| k.as_str() == Some("custom-rules")) {
        config.custom_rules = p.custom_rules(node);
    }
    if let Some((_, node)) = entries.iter().find(|(k, _)| k.as_str() == Some("rule-files")) {
        for (path, path_node) in p.strings(node, "rule-files") {
            rule_file(&mut p, &mut config, &path, path_node);
        }
    }
    for (key, value) in entries {
        let Some(name) = p.key(key) else { continue };
        // `key:` with nothing after it (e.g. only commented-out entries) means "not set".
        if value.is_null() && KEYS.contains(&name) {
            continue;
        }
        match name {
            "rules" => config.rules = p.rules(value, &config.custom_rules),
            "fail-on" => {
                config.fail_on = p.one_of(value, "fail-on", &["error", "warning", "info", "never"]);
            }
            "paths" => {
                config.paths = p.strings(value, "paths").into_iter().map(|(s, _)| PathBuf::from(s)).collect()
            }
            "exclude" => {
                for (glob, node) in p.strings(value, "exclude") {
                    match Pattern::path_glob(&glob) {
                        Ok(pattern) => config.exclude.push(pattern),
                        Err(e) => p.error_at(node, e.to_string()),
                    }
                }
            }
            "image" => config.image = p.string(value, "image"),
            "arch" => {
                if let Some(arch) = p.string(value, "arch") {
                    match crate::reference::platform::Platform::parse(&arch) {
                        Ok(_) => config.arch = Some(arch),
                        Err(e) => p.error_at(value, e.to_string()),
                    }
                }
            }
            "build-args" => config.build_args = p.build_args(value),
            "image-fields" => {
                for (text, node) in p.strings(value, "image-fields") {
                    match FieldPath::parse(&text) {
                        Ok(path) => config.image_fields.push(path),
                        Err(e) => p.error_at(node, format!("invalid field path {e}")),
                    }
                }
            }
            "build-contexts" => config.build_contexts = p.build_contexts(value),
            "release-files" => {
                config.release_files = p.strings(value, "release-files").into_iter().map(|(s, _)| s).collect()
            }
            "registries" => config.registries = p.registries(value),
            "ignore" => config.ignore = p.ignores(value, &config.custom_rules),
            "require-reason" => config.require_reason = p.bool(value, "require-reason"),
            "inline-ignores" => config.inline_ignores = p.bool(value, "inline-ignores"),
            "custom-rules" | "rule-files" => {}
            other => {
                let hint = suggest(other, KEYS);
                p.error_at(key, format!("unknown key `{other}`{hint}"));
            }
        }
    }
    (config, p.errors)
}

struct Parser<'a> {
    src: &'a SourceText,
    known: &'a KnownRules,
    errors: Vec<ConfigError>,
}

impl Parser<'_> {
    fn location(&self, node: &Node) -> Location {
        self.src.location(node.span.clone())
    }

    fn error_at(&mut self, node: &Node, message: impl Into<String>) {
        let location = self.location(node);
        self.errors.push(ConfigError { message: message.into(), location });
    }

    fn key<'n>(&mut self, key: &'n Node) -> Option<&'n str> {
        let name = key.as_str();
        if name.is_none() {
            self.error_at(key, format!("expected a string key, found a {}", key.value.type_name()));
        }
        name
    }

    fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        let map = node.as_map();
        if map.is_none() {
            self.error_at(node, format!("{what} must be a mapping, found a {}", node.value.type_name()));
        }
        map
    }

    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        let seq = node.as_seq();
        if seq.is_none() {
            self.error_at(node, format!("`{what}` must be a list, found a {}", node.value.type_name()));
        }
        seq
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.clone()),
            other => {
                self.error_at(node, format!("`{what}` must be a string, found a {}", other.type_name()));
                None
            }
        }
    }

    fn strings<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(String, &'n Node)> {
        let items: &'n [Node] = match &node.value {
            Value::Seq(items) => items,
            // A single string where a list is expected is taken as a list of one.
            Value::String(_) => std::slice::from_ref(node),
            other => {
                self.error_at(
                    node,
                    format!("`{what}` must be a list of strings, found a {}", other.type_name()),
                );
                return Vec::new();
            }
        };
        items.iter().filter_map(|item| self.string(item, what).map(|s| (s, item))).collect()
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        let b = node.as_bool();
        if b.is_none() {
            self.error_at(
                node,
                format!("`{what}` must be true or false, found a {}", node.value.type_name()),
            );
        }
        b
    }

    fn one_of(&mut self, node: &Node, what: &str, allowed: &[&str]) -> Option<String> {
        let text = self.string(node, what)?;
        if allowed.contains(&text.as_str()) {
            Some(text)
        } else {
            self.error_at(
                node,
                format!(
                    "`{what}` must be one of {}, not `{text}`{}",
                    allowed.join(", "),
                    suggest(&text, allowed)
                ),
            );
            None
        }
    }

    /// A pattern: a string is a glob; `{regex: ...}` or `{glob: ...}` say which.
    fn pattern(&mut self, node: &Node, what: &str, path_glob: bool) -> Option<Pattern> {
        let result = match &node.value {
            Value::String(s) => {
                if path_glob { Pattern::path_glob(s) } else { Pattern::glob(s) }.map_err(|e| e.to_string())
            }
            Value::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                let text = self.string(v, what)?;
                let result = match k.as_str() {
                    Some("regex") => Pattern::regex(&text).map_err(|e| e.to_string()),
                    Some("glob") => Pattern::glob(&text).map_err(|e| e.to_string()),
                    _ => Err(format!(
                        "a pattern is a glob string, `{{regex: ...}}` or `{{glob: ...}}`; `{what}` has `{}`",
                        k.as_str().unwrap_or("?")
                    )),
                };
                // Point at the pattern text itself.
                return result.map_err(|e| self.error_at(v, e)).ok();
            }
            other => Err(format!(
                "`{what}` must be a glob string or `{{regex: ...}}`, found a {}",
                other.type_name()
            )),
        };
        match result {
            Ok(p) => Some(p),
            Err(e) => {
                self.error_at(node, e);
                None
            }
        }
    }

    fn check_rule_id(&mut self, node: &Node, id: &str, custom: &[CustomRule]) -> bool {
        if self.known.get(id).is_some() || custom.iter().any(|c| c.id == id) {
            return true;
        }
        let mut ids: Vec<&str> = self.known.ids().collect();
        ids.extend(custom.iter().map(|c| c.id.as_str()));
        self.error_at(node, format!("unknown rule `{id}`{}", suggest(id, &ids)));
        false
    }
}

/// ` (did you mean `x`?)` when a known word is within two edits, else empty.
pub(crate) fn suggest(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map_or_else(String::new, |(_, k)| format!(" (did you mean `{k}`?)"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
