//! `stowage diff OLD NEW`: what an upgrade changes, as text (human), JSON (docs/diff.schema.json)
//! and Markdown (a PR comment).

use super::inventory::human_size;
use super::summary::{Readiness, Verdict};
use crate::finding::{Finding, Severity};
use crate::rules::catalog;
use crate::upgrade::{ImageChanges, ImageState, RefChanges, Upgrade};
use serde::Serialize;
use std::fmt::Write;

/// Version of the diff JSON shape; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a diff renderer needs.
pub struct DiffReport<'a> {
    pub upgrade: &'a Upgrade,
    /// The upgrade findings and NEW's own (less those an upgrade finding replaces).
    pub findings: Vec<Finding>,
    pub old_readiness: Option<Readiness>,
    pub new_readiness: Option<Readiness>,
    pub fail_on: Option<Severity>,
}

/// One side in the JSON.
#[derive(Serialize)]
struct SideOut<'a> {
    image: &'a str,
    digest: Option<&'a str>,
    /// `ready` or `not ready`.
    verdict: Option<Verdict>,
    readiness: Option<&'a Readiness>,
}

#[derive(Serialize)]
pub struct DiffSummary {
    pub images_added: usize,
    pub images_removed: usize,
    pub images_changed: usize,
    pub references_added: usize,
    pub references_removed: usize,
    /// Upgrade findings (scope `upgrade`) by severity.
    pub upgrade_errors: usize,
    pub upgrade_warnings: usize,
    pub upgrade_infos: usize,
    /// NEW passes the readiness verdict.
    pub new_ready: bool,
    /// `error`, `warning`, `info` or `never`.
    pub fail_on: String,
    /// The diff exits 1: an upgrade finding at or above `fail_on`, or NEW not ready.
    pub failed: bool,
}

#[derive(Serialize)]
struct DiffOutput<'a> {
    schema_version: u32,
    old: SideOut<'a>,
    new: SideOut<'a>,
    images: &'a ImageChanges,
    references: &'a RefChanges,
    findings: &'a [Finding],
    summary: DiffSummary,
}

/// Whether a finding comes from an upgrade rule.
pub fn is_upgrade(f: &Finding) -> bool {
    catalog::entry(&f.rule).is_some_and(|e| e.scope == "upgrade")
}

impl DiffReport<'_> {
    pub fn summary(&self) -> DiffSummary {
        let upgrade: Vec<&Finding> = self.findings.iter().filter(|f| is_upgrade(f)).collect();
        let count = |s: Severity| upgrade.iter().filter(|f| f.severity == s).count();
        let new_ready = self.new_readiness.as_ref().is_some_and(|r| r.verdict == Verdict::Ready);
        let over = self.fail_on.is_some_and(|t| upgrade.iter().any(|f| f.severity >= t));
        let u = self.upgrade;
        DiffSummary {
            images_added: u.images.added.len(),
            images_removed: u.images.removed.len(),
            images_changed: u.images.changed.len(),
            references_added: u.references.added.len(),
            references_removed: u.references.removed.len(),
            upgrade_errors: count(Severity::Error),
            upgrade_warnings: count(Severity::Warning),
            upgrade_infos: count(Severity::Info),
            new_ready,
            fail_on: self.fail_on.map_or("never", Severity::as_str).to_string(),
            failed: over || !new_ready,
        }
    }

    fn side<'b>(&'b self, old: bool) -> SideOut<'b> {
        let (side, readiness) = if old {
            (&self.upgrade.old, self.old_readiness.as_ref())
        } else {
            (&self.upgrade.new, self.new_readiness.as_ref())
        };
        SideOut {
            image: side.spec(),
            digest: side.facts.image.as_ref().and_then(|i| i.config.digest.as_deref()),
            verdict: readiness.map(|r| r.verdict),
            readiness,
        }
    }

    /// The one line a terminal gets on stderr.
    pub fn line(&self) -> String {
        let s = self.summary();
        format!(
            "stowage diff: {} image(s) added, {} removed, {} changed; {} upgrade error(s), {} warning(s); NEW is {}: {}",
            s.images_added,
            s.images_removed,
            s.images_changed,
            s.upgrade_errors,
            s.upgrade_warnings,
            if s.new_ready { "READY" } else { "NOT READY" },
            if s.failed { "FAILED" } else { "passed" }
        )
    }
}

pub fn json(report: &DiffReport) -> String {
    let out = DiffOutput {
        schema_version: SCHEMA_VERSION,
        old: report.side(true),
        new: report.side(false),
        images: &report.upgrade.images,
        references: &report.upgrade.references,
        findings: &report.findings,
        summary: report.summary(),
    };
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

fn verdict_text(r: Option<&Readiness>) -> &'static str {
    match r.map(|r| r.verdict) {
        Some(Verdict::Ready) => "READY",
        Some(Verdict::NotReady) => "NOT READY",
        None => "unknown",
    }
}

fn digest_short(d: Option<&str>) -> String {
    match d {
        Some(d) => {
            let hex = d.strip_prefix("sha256:").unwrap_or(d);
            format!("sha256:{}", &hex[..hex.len().min(12)])
        }
        None => "no digest".into(),
    }
}

fn crio(i: &ImageState) -> &'static str {
    if i.visible_to_crio { "seen by CRI-O" } else { "NOT seen by CRI-O" }
}

fn signed_size(delta: i64) -> String {
    let sign = if delta < 0 { "-" } else { "+" };
    format!("{sign}{}", human_size(delta.unsigned_abs()))
}

/// Lines describing the image and reference changes (shared by the text formats).
fn change_lines(u: &Upgrade) -> Vec<String> {
    let mut out = Vec::new();
    for i in &u.images.added {
        out.push(format!(
            "+ {} {} ({} copy, {}, {})",
            i.name,
            digest_short(i.digest.as_deref()),
            i.method.as_str(),
            human_size(i.size),
            crio(i)
        ));
    }
    for i in &u.images.removed {
        out.push(format!("- {} {} ({} copy)", i.name, digest_short(i.digest.as_deref()), i.method.as_str()));
    }
    for c in &u.images.changed {
        out.push(format!(
            "~ {} {} -> {} ({} -> {} copy, {}, {})",
            c.name,
            digest_short(c.old.digest.as_deref()),
            digest_short(c.new.digest.as_deref()),
            c.old.method.as_str(),
            c.new.method.as_str(),
            signed_size(c.size_delta),
            crio(&c.new)
        ));
    }
    out
}

fn reference_lines(u: &Upgrade) -> Vec<String> {
    let mut out: Vec<String> = u
        .references
        .added
        .iter()
        .map(|r| format!("+ {} ({}, {})", r.image, r.kind.as_str(), r.location))
        .collect();
    out.extend(
        u.references.removed.iter().map(|r| format!("- {} ({}, {})", r.image, r.kind.as_str(), r.location)),
    );
    out
}

pub fn human(report: &DiffReport) -> String {
    let u = report.upgrade;
    let mut out = String::new();
    let _ = writeln!(out, "OLD {}: {}", u.old.spec(), verdict_text(report.old_readiness.as_ref()));
    let _ = writeln!(out, "NEW {}: {}", u.new.spec(), verdict_text(report.new_readiness.as_ref()));
    for (title, lines) in [("Embedded images", change_lines(u)), ("Device references", reference_lines(u))] {
        let _ = writeln!(out, "\n{title}:");
        if lines.is_empty() {
            let _ = writeln!(out, "  (no change)");
        }
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    let _ = writeln!(out, "\nFindings:");
    if report.findings.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for f in &report.findings {
        let tag = if is_upgrade(f) { "upgrade" } else { "NEW" };
        let _ = writeln!(out, "  {}: {}[{}] ({tag}) {}", f.location, f.severity.as_str(), f.rule, f.message);
    }
    let _ = writeln!(out, "\n{}", report.line());
    out
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(report: &DiffReport) -> String {
    let u = report.upgrade;
    let s = report.summary();
    let mut out = String::new();
    let mark = if s.failed { "❌" } else { "✅" };
    let _ = writeln!(
        out,
        "## {mark} stowage diff: {}\n",
        if s.failed { "upgrade gate FAILED" } else { "upgrade gate passed" }
    );
    let _ = writeln!(out, "| | image | readiness |\n|---|---|---|");
    let _ = writeln!(
        out,
        "| OLD | `{}` | {} |",
        md_escape(u.old.spec()),
        verdict_text(report.old_readiness.as_ref())
    );
    let _ = writeln!(
        out,
        "| NEW | `{}` | {} |\n",
        md_escape(u.new.spec()),
        verdict_text(report.new_readiness.as_ref())
    );
    let _ = writeln!(
        out,
        "**Images** {} added, {} removed, {} changed · **References** {} added, {} removed · **Upgrade findings** {} error(s), {} warning(s)\n",
        s.images_added,
        s.images_removed,
        s.images_changed,
        s.references_added,
        s.references_removed,
        s.upgrade_errors,
        s.upgrade_warnings
    );
    let changes = change_lines(u);
    if !changes.is_empty() {
        let _ = writeln!(out, "### Embedded images\n\n```diff");
        for l in changes {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "```\n");
    }
    let refs = reference_lines(u);
    if !refs.is_empty() {
        let _ = writeln!(out, "### Device references\n\n```diff");
        for l in refs {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "```\n");
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "### Findings\n\n| severity | rule | where | message |\n|---|---|---|---|");
        for f in &report.findings {
            let scope = if is_upgrade(f) { " (upgrade)" } else { "" };
            let _ = writeln!(
                out,
                "| {} | `{}`{scope} | `{}` | {} |",
                f.severity.as_str(),
                f.rule,
                md_escape(&f.location.to_string()),
                md_escape(&f.message)
            );
        }
        out.push('\n');
    }
    out
}
