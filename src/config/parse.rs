//! Walking the configuration's YAML nodes into a [`Config`], collecting every error with its
//! position. Unknown keys, rule ids and parameters are errors, with a suggestion when one is
//! close.

use super::custom::{CustomRule, FLAG_FIELDS, Matcher, TEXT_FIELDS};
use super::date::Date;
use super::{BuildContext, Config, ConfigError, Ignore, KnownRules, Level, Registries, RuleSetting};
use crate::finding::Severity;
use crate::text::SourceText;
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::pattern::Pattern;
use crate::text::yaml::{Node, Value, parse_documents};
use std::collections::BTreeMap;
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
                        Err(e) => p.error_at(node, e),
                    }
                }
            }
            "image" => config.image = p.string(value, "image"),
            "arch" => {
                if let Some(arch) = p.string(value, "arch") {
                    match crate::reference::platform::Platform::parse(&arch) {
                        Ok(_) => config.arch = Some(arch),
                        Err(e) => p.error_at(value, e),
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

/// Custom rules from another file (`rule-files`): a YAML file with a `custom-rules` list (or
/// the list itself), its path relative to the configuration's directory. Its errors point into
/// it; it is kept for excerpts.
fn rule_file(p: &mut Parser, config: &mut Config, path: &str, path_node: &Node) {
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

    /// A pattern: a string is a glob; `{regex: ...}` or `{glob: ...}` say which.
    fn pattern(&mut self, node: &Node, what: &str, path_glob: bool) -> Option<Pattern> {
        let result = match &node.value {
            Value::String(s) => {
                if path_glob {
                    Pattern::path_glob(s)
                } else {
                    Pattern::glob(s)
                }
            }
            Value::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                let text = self.string(v, what)?;
                let result = match k.as_str() {
                    Some("regex") => Pattern::regex(&text),
                    Some("glob") => Pattern::glob(&text),
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

    fn rules(&mut self, node: &Node, custom: &[CustomRule]) -> BTreeMap<String, RuleSetting> {
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

    fn build_args(&mut self, node: &Node) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match &node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let Some(name) = self.key(k) else { continue };
                    let value = match &v.value {
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        _ => match self.string(v, &format!("build-args.{name}")) {
                            Some(s) => s,
                            None => continue,
                        },
                    };
                    out.push((name.to_string(), value));
                }
            }
            Value::Seq(_) => {
                for (text, item) in self.strings(node, "build-args") {
                    match text.split_once('=') {
                        Some((name, value)) if !name.is_empty() => {
                            out.push((name.to_string(), value.to_string()))
                        }
                        _ => self.error_at(item, format!("build argument `{text}` must be NAME=VALUE")),
                    }
                }
            }
            other => self.error_at(
                node,
                format!("`build-args` must be a mapping NAME: VALUE, found a {}", other.type_name()),
            ),
        }
        out
    }

    /// `build-contexts: {CONTAINERFILE: DIR}`, both relative to the configuration file's
    /// directory; each must exist.
    fn build_contexts(&mut self, node: &Node) -> Vec<BuildContext> {
        let Some(entries) = self.map(node, "`build-contexts`") else { return Vec::new() };
        let base = self.src.path.parent().unwrap_or(std::path::Path::new("")).to_path_buf();
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(file) = self.key(k) else { continue };
            let Some(dir) = self.string(v, &format!("build-contexts.{file}")) else { continue };
            let containerfile = base.join(file);
            let context = base.join(&dir);
            if !containerfile.is_file() {
                self.error_at(k, format!("build context of `{file}`: no such Containerfile"));
            } else if !context.is_dir() {
                self.error_at(v, format!("build context `{dir}` of `{file}` is not a directory"));
            } else {
                out.push(BuildContext { containerfile, context, location: self.location(k) });
            }
        }
        out
    }

    fn registries(&mut self, node: &Node) -> Registries {
        let mut out = Registries { location: Some(self.location(node)), ..Registries::default() };
        let Some(entries) = self.map(node, "`registries`") else { return out };
        for (k, v) in entries {
            let Some(name) = self.key(k) else { continue };
            let list = match name {
                "allow" => &mut out.allow,
                "deny" => &mut out.deny,
                other => {
                    self.error_at(
                        k,
                        format!(
                            "unknown key `registries.{other}` (use allow and deny){}",
                            suggest(other, &["allow", "deny"])
                        ),
                    );
                    continue;
                }
            };
            let items: Vec<Node> = match &v.value {
                Value::Seq(items) => items.clone(),
                _ => vec![v.clone()],
            };
            for item in &items {
                if let Some(p) = self.pattern(item, &format!("registries.{name}"), false) {
                    list.push(p);
                }
            }
        }
        out
    }

    fn ignores(&mut self, node: &Node, custom: &[CustomRule]) -> Vec<Ignore> {
        let mut out = Vec::new();
        let Some(items) = self.seq(node, "ignore") else { return out };
        for item in items {
            let Some(fields) = self.map(item, "an `ignore` entry") else { continue };
            let mut ignore = Ignore {
                rules: Vec::new(),
                path: None,
                image: None,
                reason: None,
                expires: None,
                location: self.location(item),
            };
            for (k, v) in fields {
                let Some(name) = self.key(k) else { continue };
                match name {
                    "rule" | "rules" => {
                        for (id, id_node) in self.strings(v, "ignore.rule") {
                            if self.check_rule_id(id_node, &id, custom) {
                                ignore.rules.push(id);
                            }
                        }
                    }
                    "path" => ignore.path = self.pattern(v, "ignore.path", true),
                    "image" => ignore.image = self.pattern(v, "ignore.image", false),
                    "reason" => {
                        ignore.reason = self.string(v, "ignore.reason").filter(|r| !r.trim().is_empty())
                    }
                    "expires" => {
                        if let Some(text) = self.string(v, "ignore.expires") {
                            match Date::parse(&text) {
                                Some(d) => ignore.expires = Some(d),
                                None => self.error_at(
                                    v,
                                    format!("`expires` must be a date YYYY-MM-DD, not `{text}`"),
                                ),
                            }
                        }
                    }
                    other => {
                        let keys = ["rule", "path", "image", "reason", "expires"];
                        self.error_at(
                            k,
                            format!("unknown key `{other}` in an ignore entry{}", suggest(other, &keys)),
                        );
                    }
                }
            }
            if ignore.rules.is_empty() && ignore.path.is_none() && ignore.image.is_none() {
                self.error_at(item, "an ignore entry needs at least one of `rule`, `path`, `image`");
                continue;
            }
            out.push(ignore);
        }
        out
    }

    fn custom_rules(&mut self, node: &Node) -> Vec<CustomRule> {
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
