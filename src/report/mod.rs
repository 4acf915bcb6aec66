//! Renderers: one file per output format, each taking the whole [`Report`].
//!
//! A [`Report`] is everything one `check` run knows: findings, waived findings with their
//! waivers, references, the summary, and — once an image is audited — the inventory and the
//! image's identity. Every format renders from the same value, so the HTML report and the JSON
//! never disagree.

pub mod compact;
pub mod cyclonedx;
pub mod diff;
pub mod diff_html;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod human;
pub mod image;
pub mod inventory;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod pin;
pub mod plan;
pub mod refs;
pub mod rules;
pub mod sarif;
pub mod summary;

use crate::config::{Config, Level};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::reference::{RefKind, Reference};
use crate::rules::catalog;
use crate::rules::engine::Waived;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Everything a `check` run produced, for every output format.
#[derive(Debug)]
pub struct Report {
    /// Reported findings, in report order.
    pub findings: Vec<Finding>,
    /// Suppressed findings, each with the waiver that suppressed it.
    pub waived: Vec<Waived>,
    /// Every reference found, in file order.
    pub references: Vec<Reference>,
    /// In image mode, per reference (same index), the verdict on a device reference; empty
    /// without an image.
    pub verdicts: Vec<Option<crate::rules::explain::RefVerdict>>,
    pub summary: Summary,
    /// What the audited image carries; `None` when no image was audited.
    pub inventory: Option<Inventory>,
    /// The audited image; `None` when no image was audited.
    pub image: Option<ImageInfo>,
    /// The configuration in effect, so the run can be reproduced.
    pub config: ConfigSummary,
    pub run: RunInfo,
    /// With `check --online`: what the registries said about each reference.
    pub online: Option<crate::gather::online::OnlineFacts>,
}

/// The identity of the audited OS image (filled by the image audit).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageInfo {
    /// The image as given to `--image`.
    pub reference: String,
    pub digest: Option<String>,
    pub architecture: Option<String>,
    pub created: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Bytes of the OS itself (layers minus embedded images), when known.
    pub os_size: Option<u64>,
}

/// The effective configuration of a run, as reports print it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConfigSummary {
    /// The configuration file, `None` for the built-in defaults.
    pub file: Option<String>,
    pub paths: Vec<String>,
    pub fail_on: String,
    pub arch: String,
    pub build_args: Vec<String>,
    pub inline_ignores: bool,
    pub baseline: Option<String>,
    pub waivers: usize,
    /// Every rule with its effective severity (`off` when disabled).
    pub rules: Vec<RuleSetting>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RuleSetting {
    pub id: String,
    /// `error`, `warning`, `info` or `off`.
    pub level: String,
    /// True when the configuration changed the catalog default, or defined the rule.
    pub configured: bool,
}

impl ConfigSummary {
    /// The rule set of `config` over the catalog: catalog rules first (the upgrade rules, which
    /// only `diff` runs, left out), then custom rules.
    pub fn rule_set(config: &Config) -> Vec<RuleSetting> {
        let level = |default: Severity, id: &str| match config.level(id) {
            Some(Level::Off) => ("off".to_string(), true),
            Some(Level::On(s)) => (s.as_str().to_string(), s != default),
            None => (default.as_str().to_string(), false),
        };
        let mut rules: Vec<RuleSetting> = catalog::entries()
            .iter()
            .filter(|e| e.scope != "upgrade")
            .map(|e| {
                let (level, configured) = level(e.severity, &e.id);
                RuleSetting { id: e.id.clone(), level, configured }
            })
            .collect();
        for c in &config.custom_rules {
            let (level, _) = level(c.severity, &c.id);
            rules.push(RuleSetting { id: c.id.clone(), level, configured: true });
        }
        rules
    }
}

/// Which tool made the report, and when.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RunInfo {
    pub tool: String,
    pub version: String,
    /// RFC 3339, UTC, seconds.
    pub time: String,
}

impl RunInfo {
    /// This binary, now — or at `SOURCE_DATE_EPOCH` when set (reproducible reports and tests).
    pub fn now() -> RunInfo {
        let secs = source_date_epoch().unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
        });
        RunInfo { tool: "stowage".into(), version: env!("CARGO_PKG_VERSION").into(), time: rfc3339(secs) }
    }
}

/// `SOURCE_DATE_EPOCH` (seconds since the epoch), when set to a number: the time reports
/// carry instead of now, for reproducible output.
pub fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse::<u64>().ok())
}

/// `2026-05-01T12:00:00Z` for seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let date = crate::config::date::Date::from_days_since_epoch((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!("{date}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

/// Counts that every format can print and the exit status is derived from.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub references: usize,
    /// Distinct images the device runs (runtime and release references): what must be embedded.
    pub images_referenced: usize,
    /// Of those, how many the audited image carries; `None` without an image audit.
    pub embedded: Option<usize>,
    /// Of those, how many it does not carry; `None` without an image audit.
    pub missing: Option<usize>,
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
    pub readiness: Option<crate::report::summary::Readiness>,
}

impl Summary {
    pub fn new(files: usize, references: usize, findings: &[Finding], fail_on: Option<Severity>) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        Summary {
            files,
            references,
            images_referenced: 0,
            embedded: None,
            missing: None,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            fail_on: fail_on.map_or("never".to_string(), |s| s.as_str().to_string()),
            failed: fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)),
            waived: 0,
            readiness: None,
        }
    }

    /// Count the distinct device images among `references`.
    pub fn with_images(mut self, references: &[Reference]) -> Self {
        self.images_referenced = device_images(references).len();
        self
    }

    pub fn verdict(&self) -> &'static str {
        if self.failed { "FAILED" } else { "passed" }
    }

    /// With an image audit: `stowage: 34 images referenced, 33 embedded, 1 missing
    /// (not-embedded) — FAILED`; without one: `stowage: 12 files, 30 references, 7 images
    /// referenced: 1 error, 2 warnings, 0 infos — FAILED`.
    pub fn line(&self) -> String {
        let verdict = self.verdict();
        let waived = if self.waived > 0 { format!(" ({} waived)", self.waived) } else { String::new() };
        let images = plural(self.images_referenced, "image");
        let line = if let (Some(embedded), Some(missing)) = (self.embedded, self.missing) {
            format!(
                "stowage: {images} referenced, {embedded} embedded, {missing} missing (not-embedded){waived} — {verdict}"
            )
        } else {
            format!(
                "stowage: {}, {}, {images} referenced: {}, {}, {}{waived} — {verdict}",
                plural(self.files, "file"),
                plural(self.references, "reference"),
                plural(self.errors, "error"),
                plural(self.warnings, "warning"),
                plural(self.infos, "info"),
            )
        };
        match &self.readiness {
            Some(r) => format!("{line}\nstowage: {}", r.line()),
            None => line,
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

/// Whether the device runs the image of this reference (so it must be embedded).
pub fn is_device_reference(r: &Reference) -> bool {
    matches!(r.kind, RefKind::Runtime | RefKind::Release)
}

/// The distinct device images, by resolved form (or text as written when unresolved).
pub fn device_images(references: &[Reference]) -> BTreeSet<String> {
    references.iter().filter(|r| is_device_reference(r)).map(Reference::display_image).collect()
}

/// Which findings are about which reference.
#[derive(Debug, Default)]
pub struct Attachments {
    /// Per reference (same index as `Report::references`), the indices of its findings.
    pub by_reference: Vec<Vec<usize>>,
    /// Findings about no reference (unparsable files, waivers, configuration).
    pub unattached: Vec<usize>,
}

impl Report {
    /// Attach each finding to the reference it is about: same file, same image and object
    /// (rules record both with `Finding::about`), on the finding's line or the nearest
    /// reference above it (a pull policy is a line or two below its image).
    pub fn attachments(&self) -> Attachments {
        let mut by_file: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, r) in self.references.iter().enumerate() {
            by_file.entry(r.location.file.as_str()).or_default().push(i);
        }
        let images: Vec<String> = self.references.iter().map(Reference::display_image).collect();
        let objects: Vec<Option<String>> = self.references.iter().map(Reference::describe_object).collect();
        let mut out =
            Attachments { by_reference: vec![Vec::new(); self.references.len()], unattached: Vec::new() };
        for (fi, f) in self.findings.iter().enumerate() {
            let candidates = by_file.get(f.location.file.as_str()).map(Vec::as_slice).unwrap_or_default();
            let matching = candidates.iter().copied().filter(|&ri| {
                f.image.as_ref().is_none_or(|i| *i == images[ri])
                    && (f.object.is_none() || f.object == objects[ri])
                    && self.references[ri].location.line <= f.location.line
            });
            // The last candidate at or above the finding's line is the nearest one.
            let best = matching.max_by_key(|&ri| self.references[ri].location.line);
            let best = best.filter(|&ri| {
                // Without an image to compare, only the same line counts.
                f.image.is_some() || self.references[ri].location.line == f.location.line
            });
            match best {
                Some(ri) => out.by_reference[ri].push(fi),
                None => out.unattached.push(fi),
            }
        }
        out
    }

    /// The readiness score: the percentage of device references with no finding at or above
    /// `warning`, and the two counts. 100 when there are none.
    pub fn score(&self, attached: &Attachments) -> (u32, usize, usize) {
        let mut device: usize = 0;
        let mut clean: usize = 0;
        for (r, findings) in self.references.iter().zip(&attached.by_reference) {
            if !is_device_reference(r) {
                continue;
            }
            device += 1;
            if findings.iter().all(|&i| self.findings[i].severity < Severity::Warning) {
                clean += 1;
            }
        }
        let score = (clean * 100).checked_div(device).map_or(100, |s| s as u32);
        (score, clean, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_777_636_800), "2026-05-01T12:00:00Z");
    }

    #[test]
    fn the_summary_line_uses_the_audit_counts_when_there_are_some() {
        let mut s = Summary { images_referenced: 34, failed: true, ..Summary::default() };
        assert_eq!(
            s.line(),
            "stowage: 0 files, 0 references, 34 images referenced: 0 errors, 0 warnings, 0 infos — FAILED"
        );
        s.embedded = Some(33);
        s.missing = Some(1);
        assert_eq!(s.line(), "stowage: 34 images referenced, 33 embedded, 1 missing (not-embedded) — FAILED");
    }
}
