//! `stowage diff --format html`: "Changes since OLD", a self-contained page in the style of the
//! readiness report (the same stylesheet), for auditors signing off a release.

use super::diff::{DiffReport, DiffSummary, is_upgrade};
use super::html::STYLE;
use super::inventory::human_size;
use super::summary::Verdict;
use crate::upgrade::ImageState;
use minijinja::value::{Serde, Value};
use serde::Serialize;

const TEMPLATE: &str = include_str!("diff.jinja");

#[derive(Serialize)]
struct View<'a> {
    version: &'static str,
    failed: bool,
    verdict: &'static str,
    old: SideView<'a>,
    new: SideView<'a>,
    summary: DiffSummary,
    images: Vec<ImageRow>,
    references: Vec<RefRow>,
    findings: Vec<FindingRow>,
}

#[derive(Serialize)]
struct SideView<'a> {
    image: &'a str,
    verdict: &'static str,
    ready: bool,
}

#[derive(Serialize)]
struct ImageRow {
    change: &'static str,
    name: String,
    digest: String,
    method: String,
    store: String,
    size: String,
    visible: bool,
}

#[derive(Serialize)]
struct RefRow {
    change: &'static str,
    image: String,
    kind: &'static str,
    location: String,
}

#[derive(Serialize)]
struct FindingRow {
    severity: &'static str,
    rule: String,
    upgrade: bool,
    location: String,
    message: String,
    help: Option<String>,
}

fn image_row(change: &'static str, i: &ImageState, digest: String, size: String) -> ImageRow {
    ImageRow {
        change,
        name: i.name.clone(),
        digest,
        method: i.method.as_str().to_string(),
        store: i.store.clone(),
        size,
        visible: i.visible_to_crio,
    }
}

fn side_view<'a>(image: &'a str, readiness: Option<&super::summary::Readiness>) -> SideView<'a> {
    let ready = readiness.is_some_and(|r| r.verdict == Verdict::Ready);
    let verdict = match readiness {
        Some(_) if ready => "READY",
        Some(_) => "NOT READY",
        None => "unknown",
    };
    SideView { image, verdict, ready }
}

pub fn render(report: &DiffReport) -> String {
    let u = report.upgrade;
    let digest = |d: &Option<String>| d.clone().unwrap_or_else(|| "—".into());
    let mut images: Vec<ImageRow> =
        u.images.added.iter().map(|i| image_row("added", i, digest(&i.digest), human_size(i.size))).collect();
    images.extend(
        u.images.removed.iter().map(|i| image_row("removed", i, digest(&i.digest), human_size(i.size))),
    );
    images.extend(u.images.changed.iter().map(|c| {
        let delta = if c.size_delta < 0 { "-" } else { "+" };
        image_row(
            "changed",
            &c.new,
            format!("{} → {}", digest(&c.old.digest), digest(&c.new.digest)),
            format!("{} ({delta}{})", human_size(c.new.size), human_size(c.size_delta.unsigned_abs())),
        )
    }));
    let ref_row = |change, r: &crate::upgrade::RefState| RefRow {
        change,
        image: r.image.clone(),
        kind: r.kind.as_str(),
        location: r.location.to_string(),
    };
    let mut references: Vec<RefRow> = u.references.added.iter().map(|r| ref_row("added", r)).collect();
    references.extend(u.references.removed.iter().map(|r| ref_row("removed", r)));
    let summary = report.summary();
    let view = View {
        version: env!("CARGO_PKG_VERSION"),
        failed: summary.failed,
        verdict: if summary.failed { "FAILED" } else { "PASSED" },
        old: side_view(u.old.spec(), report.old_readiness.as_ref()),
        new: side_view(u.new.spec(), report.new_readiness.as_ref()),
        summary,
        images,
        references,
        findings: report
            .findings
            .iter()
            .map(|f| FindingRow {
                severity: f.severity.as_str(),
                rule: f.rule.clone(),
                upgrade: is_upgrade(f),
                location: f.location.to_string(),
                message: f.message.clone(),
                help: f.help.clone(),
            })
            .collect(),
    };
    let mut env = minijinja::Environment::new();
    // The name ends in .html, so every value is HTML-escaped.
    let rendered = env
        .add_template("report.css", STYLE)
        .and_then(|_| env.add_template("diff.html", TEMPLATE))
        .and_then(|_| env.get_template("diff.html"))
        .and_then(|t| t.render(Value::from(Serde(&view))));
    match rendered {
        Ok(text) => text,
        // The template is part of the binary and covered by tests: a failure is a defect.
        Err(e) => format!(
            "<!doctype html><title>stowage diff</title><p>stowage could not render this report: {}</p>\n",
            e.to_string().replace('&', "&amp;").replace('<', "&lt;")
        ),
    }
}
