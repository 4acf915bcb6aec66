//! The configuration file (`stowage.yaml` / `.stowage.yaml`): rule severities and parameters,
//! waivers with reasons and expiry, registries, custom rules, and defaults for the command
//! line. Parsed with spans so every error points into the file.

pub mod custom;
pub mod date;
mod parse;

use crate::finding::Severity;
use crate::text::SourceText;
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::pattern::Pattern;
use date::Date;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The names looked for, in each directory from the working directory up to the root.
pub const FILE_NAMES: &[&str] = &["stowage.yaml", ".stowage.yaml"];

/// A rule's configured severity; `Off` disables it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Off,
    On(Severity),
}

#[derive(Clone, Debug)]
pub struct RuleSetting {
    pub level: Option<Level>,
    /// Parameters by name, as YAML nodes (validated against the catalog).
    pub params: BTreeMap<String, crate::text::yaml::Node>,
    pub location: Location,
}

/// One waiver: findings it matches are suppressed, with a reason, until it expires.
#[derive(Clone, Debug)]
pub struct Ignore {
    pub rules: Vec<String>,
    pub path: Option<Pattern>,
    pub image: Option<Pattern>,
    pub reason: Option<String>,
    pub expires: Option<Date>,
    pub location: Location,
}

#[derive(Clone, Debug, Default)]
pub struct Registries {
    pub allow: Vec<Pattern>,
    pub deny: Vec<Pattern>,
    pub location: Option<Location>,
}

/// The build context of a Containerfile that is not its own directory (`podman build -f
/// images/bootc/Containerfile .`): where its `COPY` sources are read from.
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// Both as found from the working directory (the configuration's directory joined).
    pub containerfile: PathBuf,
    pub context: PathBuf,
    pub location: Location,
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file it was read from; `None` for the built-in defaults.
    pub source: Option<Arc<SourceText>>,
    pub rules: BTreeMap<String, RuleSetting>,
    pub fail_on: Option<String>,
    pub paths: Vec<PathBuf>,
    pub exclude: Vec<Pattern>,
    pub image: Option<String>,
    pub arch: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub build_contexts: Vec<BuildContext>,
    pub image_fields: Vec<FieldPath>,
    pub release_files: Vec<String>,
    pub registries: Registries,
    pub ignore: Vec<Ignore>,
    /// A suppression without a reason is a finding (default on).
    pub require_reason: Option<bool>,
    /// Honour `# stowage:ignore` comments and `stowage.io/ignore` annotations (default on).
    pub inline_ignores: Option<bool>,
    pub custom_rules: Vec<custom::CustomRule>,
    /// The `rule-files` that were read, for excerpts.
    pub rule_sources: Vec<Arc<SourceText>>,
}

/// A configuration error, positioned in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
    pub location: Location,
}

/// All the errors of one configuration file, with its text for excerpts.
#[derive(Debug)]
pub struct ConfigErrors {
    pub source: Option<Arc<SourceText>>,
    /// Other files the configuration names (`rule-files`), for excerpts of their errors.
    pub other_sources: Vec<Arc<SourceText>>,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// The text of the file an error is in.
    pub fn source_of(&self, error: &ConfigError) -> Option<&Arc<SourceText>> {
        self.source.iter().chain(&self.other_sources).find(|s| s.display == error.location.file)
    }
}

impl Config {
    /// The effective level of a rule: configured, else the catalog default (custom rules carry
    /// their own).
    pub fn level(&self, rule: &str) -> Option<Level> {
        self.rules.get(rule).and_then(|s| s.level)
    }

    pub fn param(&self, rule: &str, name: &str) -> Option<&crate::text::yaml::Node> {
        self.rules.get(rule)?.params.get(name)
    }

    pub fn display_path(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.display.as_str())
    }
}

/// Find the configuration file: in `start` and each parent directory, the first of
/// [`FILE_NAMES`] that exists.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    for dir in start.ancestors() {
        for name in FILE_NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The rules a configuration is checked against: the built-in ids with their default severity,
/// summary and declared parameters. The rules layer provides it (`rules::catalog::known_rules`),
/// so the configuration does not import the rules.
#[derive(Clone, Debug, Default)]
pub struct KnownRules {
    pub rules: Vec<KnownRule>,
}

#[derive(Clone, Debug)]
pub struct KnownRule {
    pub id: String,
    pub severity: Severity,
    pub summary: String,
    pub parameters: Vec<KnownParameter>,
}

/// A parameter a rule declares, and what its value must be.
#[derive(Clone, Debug)]
pub struct KnownParameter {
    pub name: String,
    pub kind: ParamKind,
}

/// The type of a rule parameter, checked when the configuration is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A list of strings (a single string counts as a list of one), each one of `values` when
    /// that is not empty.
    Strings { values: Vec<String> },
    /// Any YAML value.
    Any,
}

impl KnownRules {
    pub fn get(&self, id: &str) -> Option<&KnownRule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }
}

/// Read and parse a configuration file; every problem is returned, positioned.
pub fn load(path: &Path, known: &KnownRules) -> Result<Config, ConfigErrors> {
    // Shown relative to the working directory when it is below it, as source files are.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let display = crate::text::source::display_path(&shown);
    let source = crate::text::source::read_source(path, &display).map_err(|p| ConfigErrors {
        source: None,
        other_sources: Vec::new(),
        errors: vec![ConfigError { message: p.message, location: p.location }],
    })?;
    parse_text(source, known)
}

/// Parse configuration text (the file name is only used in locations).
pub fn parse_text(source: SourceText, known: &KnownRules) -> Result<Config, ConfigErrors> {
    let source = Arc::new(source);
    let (config, mut errors) = parse::parse(&source, known);
    errors.sort_by(|a, b| a.location.cmp(&b.location));
    if errors.is_empty() {
        Ok(Config { source: Some(source), ..config })
    } else {
        Err(ConfigErrors { source: Some(source), other_sources: config.rule_sources, errors })
    }
}

/// The commented configuration `stowage init` writes.
pub fn init_template(known: &KnownRules) -> String {
    let mut rules = String::new();
    for e in &known.rules {
        rules.push_str(&format!("  # {}: {}   # {}\n", e.id, e.severity, e.summary.trim()));
    }
    format!(
        r#"# stowage configuration. stowage looks for stowage.yaml or .stowage.yaml in the working
# directory and its parents; `--config FILE` names one explicitly. Command-line options win
# over STOWAGE_* environment variables, which win over this file.

# Lowest severity that makes `stowage check` exit 1: error, warning, info or never.
fail-on: error

# Severity per rule (error, warning, info or off), and rule parameters. Defaults:
rules:
{rules}  # mutable-tag:
  #   severity: error
  #   kinds: [runtime, release]    # reference kinds the rule applies to

# Paths to check when none are given, and globs of files to leave out.
# paths: [.]
# exclude: ["vendor/**", "**/testdata/**"]

# Build arguments and target architecture for Containerfiles (like podman build).
# build-args:
#   BOOTC_BASE: registry.redhat.io/rhel9/rhel-bootc:9.6
# arch: amd64
# The build context of a Containerfile built from another directory than its own, as in
# `podman build -f images/bootc/Containerfile .` (both paths relative to this file); its
# COPY sources are then found there.
# build-contexts:
#   images/bootc/Containerfile: .

# Registries images may come from (globs over registry/repository, or {{regex: ...}}),
# checked by the registry-not-allowed rule.
# registries:
#   allow: ["quay.io/acme/*", "registry.redhat.io/*"]
#   deny: ["docker.io/*"]

# Extra places where images hide, e.g. operator images passed in environment variables.
# image-fields:
#   - spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value

# Waivers: each needs a reason; an expired waiver becomes a finding.
# ignore:
#   - rule: mutable-tag
#     path: "overlays/dev/**"
#     image: "quay.io/acme/*"
#     reason: "dev overlays follow moving tags on purpose"
#     expires: 2027-06-30

# A suppression comment or annotation without a reason is itself a finding.
require-reason: true
# Honour `# stowage:ignore RULE -- reason` comments and stowage.io/ignore annotations.
inline-ignores: true

# Rules of your own over the facts of each reference.
# custom-rules:
#   - id: no-docker-hub
#     severity: error
#     message: "{{image}} is pulled from Docker Hub"
#     help: "Mirror it to quay.io/acme and reference the mirror."
#     match:
#       all:
#         - registry: docker.io
#         - not: {{kind: build}}
# ... and from files shared between repositories (each holds a `custom-rules:` list):
# rule-files: [policy/images.yaml]
"#
    )
}
