//! What Containerfiles are built with: `build-args` and `build-contexts`.

use super::super::BuildContext;
use super::Parser;
use crate::text::yaml::{Node, Value};

impl Parser<'_> {
    pub(super) fn build_args(&mut self, node: &Node) -> Vec<(String, String)> {
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
    pub(super) fn build_contexts(&mut self, node: &Node) -> Vec<BuildContext> {
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
}
