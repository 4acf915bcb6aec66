//! Variable scopes: ARG and ENV values, build arguments and the automatic platform ARGs.

use crate::source::BuildOptions;
use crate::source::args::Vars;
use std::collections::HashMap;
use std::rc::Rc;

/// A value, shared: a stage inherits its parent's ENV without copying the text (values can
/// be up to [`crate::source::args::MAX_WORD_EXPANSION`] long, and a file can have many stages).
pub(super) type Value = Rc<str>;

/// ARG and ENV values visible at one point. `args` holds declared ARGs (`None`: declared
/// without a value); ENV wins over ARG of the same name.
#[derive(Clone, Debug, Default)]
pub(super) struct Scope {
    pub(super) env: HashMap<String, Value>,
    pub(super) args: HashMap<String, Option<Value>>,
}

impl Vars for Scope {
    fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(|v| &**v).or_else(|| self.args.get(name).and_then(|v| v.as_deref()))
    }
}

impl Scope {
    pub(super) fn declared(&self, name: &str) -> bool {
        self.env.contains_key(name) || self.args.contains_key(name)
    }
}

const PLATFORM_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

pub(super) fn platform_args(opts: &BuildOptions) -> Vec<(&'static str, String)> {
    let t = &opts.target_platform;
    let b = &opts.build_platform;
    let values = [
        t.to_oci(),
        t.os.clone(),
        t.arch.clone(),
        t.variant.clone().unwrap_or_default(),
        b.to_oci(),
        b.os.clone(),
        b.arch.clone(),
        b.variant.clone().unwrap_or_default(),
    ];
    PLATFORM_ARGS.into_iter().zip(values).collect()
}

/// Split `ARG`/`ENV` arguments into words on unquoted blanks; quotes and escapes are kept for
/// the later expansion.
pub(super) fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c.is_whitespace() {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    continue;
                }
                cur.push(c);
                if c == escape {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The value given for a build argument (`--build-arg`; the last one wins).
pub(super) fn build_arg(opts: &BuildOptions, name: &str) -> Option<String> {
    opts.build_args.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}
