//! `--format sarif`: SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab, IDEs).
//!
//! Hand-written serde structs for the part of SARIF we emit: smaller than a generated model of
//! the whole standard, and checked against the official schema in the tests. Rules carry the
//! catalog's help; columns count Unicode code points, as ours do; files of the repository are
//! relative to `%SRCROOT%`, files inside the audited image to `IMAGEROOT`; waived findings are
//! results with a suppression; partial fingerprints are the baseline's.

use super::Report;
use crate::finding::{Finding, Severity};
use crate::rules::baseline;
use crate::rules::catalog;
use crate::rules::engine::Waiver;
use crate::text::location::Location;
use serde::Serialize;
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";
const IMAGEROOT: &str = "IMAGEROOT";
/// The key of our partial fingerprint; versioned so a new scheme never collides.
const FINGERPRINT_KEY: &str = "stowage/v1";

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    original_uri_base_ids: BTreeMap<&'static str, BaseId>,
    artifacts: Vec<Artifact>,
    results: Vec<SarifResult>,
    column_kind: &'static str,
    properties: RunProperties,
}

#[derive(Serialize)]
struct RunProperties {
    summary: super::Summary,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: String,
    semantic_version: String,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Help>,
    default_configuration: DefaultConfiguration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct DefaultConfiguration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    end_time_utc: String,
}

#[derive(Serialize)]
struct BaseId {
    description: Message,
}

#[derive(Serialize)]
struct Artifact {
    location: ArtifactLocation,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<ResultLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<ResultLocation>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties>,
}

#[derive(Serialize)]
struct ResultProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<ResultLocation>,
}

/// The artifacts (files) of the run, indexed in first-use order.
#[derive(Default)]
struct Artifacts {
    list: Vec<ArtifactLocation>,
    index: BTreeMap<(String, Option<&'static str>), usize>,
}

impl Artifacts {
    fn locate(&mut self, loc: &Location) -> PhysicalLocation {
        let (uri, base) = uri_of(loc);
        let next = self.list.len();
        let index = *self.index.entry((uri.clone(), base)).or_insert(next);
        if index == next {
            self.list.push(ArtifactLocation { uri: uri.clone(), uri_base_id: base, index: None });
        }
        PhysicalLocation {
            artifact_location: ArtifactLocation { uri, uri_base_id: base, index: Some(index) },
            region: Region { start_line: loc.line.max(1), start_column: loc.column.max(1) },
        }
    }
}

/// A file's URI and base: repository files relative to `%SRCROOT%`, in-image paths relative
/// to `IMAGEROOT`, absolute host paths as `file://` URIs.
fn uri_of(loc: &Location) -> (String, Option<&'static str>) {
    let path = loc.file.replace('\\', "/");
    if loc.in_image {
        return (percent_encode(path.trim_start_matches('/')), Some(IMAGEROOT));
    }
    if path.starts_with('/') {
        return (format!("file://{}", percent_encode(&path)), None);
    }
    (percent_encode(path.trim_start_matches("./")), Some(SRCROOT))
}

/// Percent-encode everything but RFC 3986 unreserved characters and `/`.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Every rule the report can mention: the catalog (less the upgrade rules, which only `diff`
/// runs), then rules only the findings name (custom rules), with their help from the findings.
fn rules(report: &Report) -> Vec<Rule> {
    let mut rules: Vec<Rule> = catalog::entries()
        .iter()
        .filter(|e| e.scope != "upgrade")
        .map(|e| {
            let text = format!("{}\n\n{}", e.rationale.trim(), e.remediation.trim());
            let markdown = format!(
                "{}\n\n**What to do:** {}\n\nExample:\n\n```\n{}```\n\nUse instead:\n\n```\n{}```",
                e.rationale.trim(),
                e.remediation.trim(),
                e.bad,
                e.good
            );
            Rule {
                id: e.id.clone(),
                name: e.id.clone(),
                short_description: Message { text: e.summary.trim().to_string() },
                full_description: Some(Message { text: e.rationale.trim().to_string() }),
                help: Some(Help { text, markdown }),
                default_configuration: DefaultConfiguration { level: level(e.severity) },
                properties: RuleProperties { tags: vec![e.scope.clone(), "offline".into()] },
            }
        })
        .collect();
    let all = report.findings.iter().chain(report.waived.iter().map(|w| &w.finding));
    for f in all {
        if rules.iter().any(|r| r.id == f.rule) {
            continue;
        }
        rules.push(Rule {
            id: f.rule.clone(),
            name: f.rule.clone(),
            short_description: Message { text: format!("Custom rule `{}`.", f.rule) },
            full_description: None,
            help: f.help.as_ref().map(|h| Help { text: h.clone(), markdown: h.clone() }),
            default_configuration: DefaultConfiguration { level: level(f.severity) },
            properties: RuleProperties { tags: vec!["custom".into()] },
        });
    }
    rules
}

fn result(
    f: &Finding,
    fingerprint: String,
    rules: &[Rule],
    artifacts: &mut Artifacts,
    waiver: Option<&Waiver>,
) -> SarifResult {
    let mut text = f.message.clone();
    if let Some(help) = &f.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let related_locations = f
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| ResultLocation {
            id: Some(i + 1),
            physical_location: artifacts.locate(&r.location),
            message: Some(Message { text: r.message.clone() }),
        })
        .collect();
    let suppressions = waiver
        .map(|w| {
            vec![Suppression {
                // Comments and annotations live in the analysed files; configuration waivers
                // and baselines outside them.
                kind: if w.kind.in_source() { "inSource" } else { "external" },
                status: "accepted",
                justification: Some(match &w.reason {
                    Some(reason) => format!("{} ({})", reason, w.kind),
                    None => format!("waived by {} without a reason", w.kind),
                }),
                location: w.location.as_ref().map(|l| ResultLocation {
                    id: None,
                    physical_location: artifacts.locate(l),
                    message: w.expires.as_ref().map(|e| Message { text: format!("expires {e}") }),
                }),
            }]
        })
        .unwrap_or_default();
    let properties = (f.image.is_some() || f.object.is_some())
        .then(|| ResultProperties { image: f.image.clone(), object: f.object.clone() });
    SarifResult {
        rule_id: f.rule.clone(),
        rule_index: rules.iter().position(|r| r.id == f.rule).unwrap_or(0),
        level: level(f.severity),
        message: Message { text },
        locations: vec![ResultLocation {
            id: None,
            physical_location: artifacts.locate(&f.location),
            message: None,
        }],
        related_locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint)]),
        suppressions,
        properties,
    }
}

pub fn render(report: &Report) -> String {
    let rules = rules(report);
    let mut artifacts = Artifacts::default();
    let mut results = Vec::new();
    for (f, print) in report.findings.iter().zip(baseline::fingerprints(&report.findings)) {
        results.push(result(f, print, &rules, &mut artifacts, None));
    }
    let waived: Vec<Finding> = report.waived.iter().map(|w| w.finding.clone()).collect();
    for (w, print) in report.waived.iter().zip(baseline::fingerprints(&waived)) {
        results.push(result(&w.finding, print, &rules, &mut artifacts, Some(&w.waiver)));
    }
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "stowage",
                    version: report.run.version.clone(),
                    semantic_version: report.run.version.clone(),
                    rules,
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                end_time_utc: report.run.time.clone(),
            }],
            original_uri_base_ids: BTreeMap::from([
                (SRCROOT, BaseId { description: Message { text: "The directory stowage ran in.".into() } }),
                (
                    IMAGEROOT,
                    BaseId {
                        description: Message { text: "The root filesystem of the audited image.".into() },
                    },
                ),
            ]),
            artifacts: artifacts.list.into_iter().map(|location| Artifact { location }).collect(),
            results,
            column_kind: "unicodeCodePoints",
            properties: RunProperties { summary: report.summary.clone() },
        }],
    };
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_their_root_and_encoded() {
        let mut loc = Location::file_only("./manifests/my app.yaml");
        assert_eq!(uri_of(&loc), ("manifests/my%20app.yaml".into(), Some(SRCROOT)));
        loc.file = "/usr/lib/containers/storage/image-list.txt".into();
        loc.in_image = true;
        assert_eq!(uri_of(&loc), ("usr/lib/containers/storage/image-list.txt".into(), Some(IMAGEROOT)));
        loc.in_image = false;
        assert_eq!(uri_of(&loc).0, "file:///usr/lib/containers/storage/image-list.txt");
    }
}
