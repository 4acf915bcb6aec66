//! `--format html`: the readiness report for auditors. One self-contained file — the template
//! is embedded, CSS and the SVG chart are inline, nothing is fetched — built from the same
//! [`Report`] as the JSON. Sections whose data needs an image audit say so when there was none,
//! rather than showing anything invented.

use super::inventory::human_size;
use super::{Report, is_device_reference};
use crate::finding::{Finding, Severity};
use crate::inventory::{EmbeddedImage, Inventory};
use crate::reference::{Reference, Status};
use crate::rules::catalog;
use minijinja::value::{Serde, Value};
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("html.jinja");
/// Images drawn in the size chart; the rest are summed in one bar.
const CHART_BARS: usize = 12;

#[derive(Serialize)]
struct View<'a> {
    failed: bool,
    verdict: &'static str,
    score: u32,
    clean: usize,
    device: usize,
    summary: &'a super::Summary,
    image: Option<&'a super::ImageInfo>,
    inventory: Option<InventoryView>,
    chart: Option<Chart>,
    references: Vec<ReferenceRow>,
    groups: Vec<RuleGroup>,
    waivers: Vec<WaiverRow>,
    config: &'a super::ConfigSummary,
    run: &'a super::RunInfo,
}

#[derive(Serialize)]
struct InventoryView {
    rows: Vec<InventoryRow>,
    total: String,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct InventoryRow {
    names: String,
    method: &'static str,
    digest: String,
    arch: String,
    size: String,
    complete: bool,
    visible: bool,
    status: String,
    store: String,
}

#[derive(Serialize)]
struct Chart {
    height: usize,
    bars: Vec<Bar>,
    note: Option<String>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    size: String,
    y: usize,
    width: f64,
    class: &'static str,
}

#[derive(Serialize)]
struct ReferenceRow {
    location: String,
    kind: &'static str,
    image: String,
    resolved: String,
    how: String,
    embedded: String,
    status: &'static str,
    status_text: String,
    device: bool,
}

#[derive(Serialize)]
struct RuleGroup {
    id: String,
    severity: &'static str,
    summary: String,
    remediation: String,
    findings: Vec<FindingRow>,
}

#[derive(Serialize)]
struct FindingRow {
    severity: &'static str,
    location: String,
    message: String,
    image: Option<String>,
    object: Option<String>,
    help: Option<String>,
    related: Vec<String>,
}

#[derive(Serialize)]
struct WaiverRow {
    rule: String,
    location: String,
    message: String,
    kind: &'static str,
    reason: Option<String>,
    expires: Option<String>,
    waiver_location: Option<String>,
}

pub fn render(report: &Report) -> String {
    let attached = report.attachments();
    let (score, clean, device) = report.score(&attached);
    let view = View {
        failed: report.summary.failed,
        verdict: if report.summary.failed { "FAILED" } else { "PASSED" },
        score,
        clean,
        device,
        summary: &report.summary,
        image: report.image.as_ref(),
        inventory: report.inventory.as_ref().map(inventory_view),
        chart: report.inventory.as_ref().map(|inv| chart(inv, report.image.as_ref().and_then(|i| i.os_size))),
        references: report
            .references
            .iter()
            .zip(&attached.by_reference)
            .map(|(r, indices)| {
                let findings: Vec<&Finding> = indices.iter().map(|&i| &report.findings[i]).collect();
                reference_row(report, r, &findings)
            })
            .collect(),
        groups: groups(&report.findings),
        waivers: report
            .waived
            .iter()
            .map(|w| WaiverRow {
                rule: w.finding.rule.clone(),
                location: w.finding.location.to_string(),
                message: w.finding.message.clone(),
                kind: w.waiver.kind.as_str(),
                reason: w.waiver.reason.clone(),
                expires: w.waiver.expires.clone(),
                waiver_location: w.waiver.location.as_ref().map(ToString::to_string),
            })
            .collect(),
        config: &report.config,
        run: &report.run,
    };
    let mut env = minijinja::Environment::new();
    env.add_filter("code", code_spans);
    // The name ends in .html, so every value is HTML-escaped.
    let rendered = env
        .add_template("report.html", TEMPLATE)
        .and_then(|_| env.get_template("report.html"))
        .and_then(|t| t.render(Value::from(Serde(&view))));
    match rendered {
        Ok(text) => text,
        // The template is part of the binary and covered by tests: a failure is a defect,
        // reported in the page rather than as a half-written report.
        Err(e) => format!(
            "<!doctype html><title>stowage report</title><p>stowage could not render this report: {}</p>\n",
            escape(&e.to_string())
        ),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The `code` filter: escape the text, then show the backtick spans of our messages
/// (`` `image:tag` ``) as `<code>`. An unpaired backtick stays as it is.
fn code_spans(text: &str) -> Value {
    let mut out = String::with_capacity(text.len() + 16);
    let parts: Vec<&str> = text.split('`').collect();
    let paired = parts.len() % 2 == 1;
    for (i, part) in parts.iter().enumerate() {
        let inside = i % 2 == 1 && (paired || i + 1 < parts.len());
        if i > 0 && !inside && i % 2 == 1 {
            out.push('`');
        }
        if inside {
            out.push_str("<code>");
            out.push_str(&escape(part));
            out.push_str("</code>");
        } else {
            out.push_str(&escape(part));
        }
    }
    Value::from_safe_string(out)
}

fn reference_row(report: &Report, r: &Reference, findings: &[&Finding]) -> ReferenceRow {
    let worst = findings.iter().map(|f| f.severity).max();
    let waived = report
        .waived
        .iter()
        .filter(|w| w.finding.location.file == r.location.file && w.finding.location.line == r.location.line)
        .count();
    let (status, status_text) = match worst {
        None if waived > 0 => ("off", format!("{waived} waived")),
        Some(Severity::Error) => ("error", count(findings.len(), "finding")),
        Some(Severity::Warning) => ("warning", count(findings.len(), "finding")),
        Some(Severity::Info) => ("info", count(findings.len(), "finding")),
        None => ("ok", "ok".to_string()),
    };
    let how = match (&r.status, &r.expanded) {
        (Status::Resolved, Some(expanded)) => format!("expanded to {expanded}"),
        (Status::Resolved, None) => "as written".to_string(),
        (Status::Invalid { reason }, _) => format!("invalid: {reason}"),
        (status, _) => format!("unresolved: {}", status.unresolved_reason().unwrap_or_default()),
    };
    let device = is_device_reference(r);
    let embedded = match (&report.inventory, device) {
        (_, false) => "—".to_string(),
        (None, true) => "not checked (no image audited)".to_string(),
        (Some(inv), true) => match embedded_in(inv, r) {
            Some(i) => format!("{} in {}", i.method.as_str(), i.store),
            None => "not found in the image".to_string(),
        },
    };
    ReferenceRow {
        location: r.location.to_string(),
        kind: r.kind.as_str(),
        image: r.image.clone(),
        resolved: r.resolved.as_ref().map(ToString::to_string).unwrap_or_default(),
        how,
        embedded,
        status,
        status_text,
        device,
    }
}

/// The carried image that serves a reference: by exact name, or by digest among its digests.
/// (A first approximation for display; the audit's matching rules decide findings.)
fn embedded_in<'a>(inv: &'a Inventory, r: &Reference) -> Option<&'a EmbeddedImage> {
    let resolved = r.resolved.as_ref()?.to_string();
    let digest = resolved.split_once('@').map(|(_, d)| d.to_string());
    inv.images
        .iter()
        .find(|i| i.names.contains(&resolved) || digest.as_ref().is_some_and(|d| i.digests.contains(d)))
}

fn count(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

fn groups(findings: &[Finding]) -> Vec<RuleGroup> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_rule.entry(&f.rule).or_default().push(f);
    }
    let mut groups: Vec<RuleGroup> = by_rule
        .into_iter()
        .map(|(id, list)| {
            let entry = catalog::entry(id);
            let worst = list.iter().map(|f| f.severity).max().unwrap_or(Severity::Info);
            RuleGroup {
                id: id.to_string(),
                severity: worst.as_str(),
                summary: entry.map(|e| e.summary.trim().to_string()).unwrap_or_else(|| "Custom rule.".into()),
                remediation: entry.map(|e| e.remediation.trim().to_string()).unwrap_or_default(),
                findings: list
                    .iter()
                    .map(|f| FindingRow {
                        severity: f.severity.as_str(),
                        location: f.location.to_string(),
                        message: f.message.clone(),
                        image: f.image.clone(),
                        object: f.object.clone(),
                        help: f.help.clone(),
                        related: f.related.iter().map(|r| format!("{}: {}", r.location, r.message)).collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    // Worst rules first, then by id.
    groups.sort_by(|a, b| {
        let rank = |s: &str| Severity::parse(s).map_or(0, |s| s as u8);
        rank(b.severity).cmp(&rank(a.severity)).then_with(|| a.id.cmp(&b.id))
    });
    groups
}

fn inventory_view(inv: &Inventory) -> InventoryView {
    let rows = inv
        .images
        .iter()
        .map(|i| InventoryRow {
            names: if i.names.is_empty() { format!("({})", i.path) } else { i.names.join(", ") },
            method: i.method.as_str(),
            digest: i.digest.clone().unwrap_or_else(|| "—".into()),
            arch: if i.architectures.is_empty() { "?".into() } else { i.architectures.join(", ") },
            size: human_size(i.size),
            complete: i.complete,
            visible: i.visible_to_crio,
            status: if i.problems.is_empty() { "complete".into() } else { i.problems.join("; ") },
            store: i.store.clone(),
        })
        .collect();
    let mut problems: Vec<String> = inv.problems.clone();
    for s in &inv.stores {
        problems.extend(s.problems.iter().map(|p| format!("store {}: {p}", s.path)));
    }
    InventoryView { rows, total: human_size(inv.total_size()), problems }
}

/// Horizontal bars, one per image (largest first), plus the OS itself when its size is known.
fn chart(inv: &Inventory, os_size: Option<u64>) -> Chart {
    let mut sizes: Vec<(String, u64, &'static str)> = inv
        .images
        .iter()
        .filter(|i| i.size > 0)
        .map(|i| (i.names.first().cloned().unwrap_or_else(|| i.path.clone()), i.size, "image"))
        .collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if sizes.len() > CHART_BARS {
        let rest: u64 = sizes[CHART_BARS..].iter().map(|s| s.1).sum();
        let n = sizes.len() - CHART_BARS;
        sizes.truncate(CHART_BARS);
        sizes.push((format!("{n} more images"), rest, "rest"));
    }
    let embedded: u64 = inv.total_size();
    let mut rows = vec![("all embedded images".to_string(), embedded, "total")];
    let note = match os_size {
        Some(os) => {
            rows.insert(0, ("operating system".to_string(), os, "os"));
            None
        }
        None => Some("The size of the operating system itself is not known for this image.".to_string()),
    };
    rows.extend(sizes);
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, size, class))| Bar {
            label: shorten(&label, 44),
            size: human_size(size),
            y: i * 26,
            width: ((size as f64 / max) * 400.0 * 10.0).round() / 10.0,
            class,
        })
        .collect::<Vec<_>>();
    Chart { height: bars.len() * 26, bars, note }
}

/// At most `max` characters, the middle elided: image names differ at both ends.
fn shorten(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max / 2).collect();
    let tail: String = text.chars().skip(n - (max - max / 2 - 1)).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::super::Summary;
    use super::*;

    #[test]
    fn an_audited_image_shows_its_identity_inventory_and_sizes() {
        let opts = crate::image::ImageOptions { use_cache: false, ..Default::default() };
        let view =
            crate::image::open("rootfs:fixtures/inventory/thirty", &opts).expect("the fixture loads").view;
        let inventory = crate::inventory::inventory(&view, Some("amd64"));
        let facts = crate::rules::test_support::facts(&[(
            "p.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/x/a:latest\n",
        )]);
        let findings = crate::rules::run(&facts);
        let image = super::super::ImageInfo {
            reference: "oci-archive:out.tar".into(),
            digest: Some("sha256:abc".into()),
            architecture: Some("amd64".into()),
            created: Some("2026-04-30T10:00:00Z".into()),
            labels: BTreeMap::from([("containers.bootc".into(), "1".into())]),
            os_size: Some(900 * 1024 * 1024),
        };
        let summary = super::super::Summary::new(1, facts.references.len(), &findings, Some(Severity::Error));
        let report = Report {
            findings,
            waived: Vec::new(),
            references: facts.references.clone(),
            verdicts: Vec::new(),
            summary: Summary { embedded: Some(0), missing: Some(1), ..summary },
            inventory: Some(inventory),
            image: Some(image),
            config: super::super::ConfigSummary::default(),
            run: super::super::RunInfo { tool: "stowage".into(), version: "0".into(), time: "t".into() },
            online: None,
        };
        let html = render(&report);
        if let Some(path) = std::env::var_os("STOWAGE_HTML_SAMPLE") {
            std::fs::write(path, &html).expect("writes the sample");
        }
        assert!(!html.contains("could not render"), "{html}");
        assert!(html.contains("<dt>Label <code>containers.bootc</code></dt>"), "labels");
        assert!(html.contains("operating system"), "the OS bar of the size chart");
        assert!(html.contains("not found in the image"), "the embedded column");
        assert!(!html.contains("Not available"), "no placeholder once the image is audited");
        assert_eq!(
            html.matches("<rect class=\"bar").count(),
            CHART_BARS + 3,
            "OS, total, 12 images, the rest"
        );
    }

    #[test]
    fn backtick_spans_become_code_and_everything_is_escaped() {
        assert_eq!(code_spans("`a<b>` & `c`").to_string(), "<code>a&lt;b&gt;</code> &amp; <code>c</code>");
        assert_eq!(code_spans("odd ` one").to_string(), "odd ` one");
    }
}
