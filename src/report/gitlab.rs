//! `--format gitlab`: a GitLab Code Quality report (`artifacts:reports:codequality`), the
//! subset of the Code Climate issue format GitLab reads: `description`, `check_name`,
//! `fingerprint` (unique per issue, stable across runs: the baseline's), `severity` (`info`,
//! `minor`, `major`, `critical`, `blocker`) and `location.path` + `location.lines.begin`.
//! The top level is an array, as GitLab requires, so it carries no `schema_version`.

use super::Report;
use crate::finding::Severity;
use crate::rules::baseline;
use serde::Serialize;

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    location: IssueLocation<'a>,
}

#[derive(Serialize)]
struct IssueLocation<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

pub fn render(report: &Report) -> String {
    let issues: Vec<Issue> = report
        .findings
        .iter()
        .zip(baseline::fingerprints(&report.findings))
        .map(|(f, fingerprint)| Issue {
            kind: "issue",
            description: match &f.image {
                Some(image) if !f.message.contains(image.as_str()) => format!("{} ({image})", f.message),
                _ => f.message.clone(),
            },
            check_name: &f.rule,
            fingerprint,
            severity: severity(f.severity),
            location: IssueLocation {
                path: &f.location.file,
                lines: Lines { begin: f.location.line.max(1) },
            },
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}
