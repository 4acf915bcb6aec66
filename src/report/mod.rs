//! Renderers: one file per output format, each taking the whole list of findings.

pub mod compact;
pub mod human;
pub mod inventory;
pub mod json;
pub mod refs;
pub mod rules;

use crate::finding::{Finding, Severity};
use serde::Serialize;

/// Counts that every format can print and the exit status is derived from.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub references: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// The `--fail-on` threshold that was applied (`never` when none).
    pub fail_on: String,
    /// True when a finding is at or above the threshold.
    pub failed: bool,
    /// Findings suppressed by waivers, comments, annotations or the baseline.
    pub waived: usize,
    /// Offline readiness (runtime images referenced, embedded, missing, verdict), when there is
    /// an image or an embed plan to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness: Option<crate::audit::summary::Readiness>,
}

impl Summary {
    pub fn new(files: usize, references: usize, findings: &[Finding], fail_on: Option<Severity>) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        Summary {
            files,
            references,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            fail_on: fail_on.map_or("never".to_string(), |s| s.as_str().to_string()),
            failed: fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)),
            waived: 0,
            readiness: None,
        }
    }

    /// `stowage: 12 files, 30 references: 1 error, 2 warnings — FAILED`
    pub fn line(&self) -> String {
        let plural =
            |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
        let verdict = if self.failed { "FAILED" } else { "passed" };
        let waived = if self.waived > 0 { format!(" ({} waived)", self.waived) } else { String::new() };
        let line = format!(
            "stowage: {}, {}: {}, {}, {}{waived} — {verdict}",
            plural(self.files, "file"),
            plural(self.references, "reference"),
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.infos, "info"),
        );
        match &self.readiness {
            Some(r) => format!("{line}\nstowage: {}", r.line()),
            None => line,
        }
    }
}
