//! `stowage rules`: the catalog as a table, JSON or Markdown, or one rule explained (like
//! `ruff rule`).

use crate::rules::catalog::CatalogEntry;
use comfy_table::{ContentArrangement, Table, presets};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
    Markdown,
}

pub fn list(entries: &[CatalogEntry], format: RulesFormat) -> String {
    match format {
        RulesFormat::Table => {
            let mut table = Table::new();
            table.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Dynamic);
            table.set_header(["RULE", "SEVERITY", "SCOPE", "SUMMARY"]);
            for e in entries {
                table.add_row([e.id.as_str(), e.severity.as_str(), e.scope.as_str(), e.summary.as_str()]);
            }
            format!("{table}\n")
        }
        RulesFormat::Json => json(entries),
        RulesFormat::Markdown => {
            let mut out =
                String::from("# stowage rules\n\n| Rule | Severity | Scope | Summary |\n|---|---|---|---|\n");
            for e in entries {
                let _ = writeln!(
                    out,
                    "| [`{}`](#{}) | {} | {} | {} |",
                    e.id, e.id, e.severity, e.scope, e.summary
                );
            }
            for e in entries {
                out.push('\n');
                out.push_str(&markdown(e));
            }
            out
        }
    }
}

pub fn explain(entry: &CatalogEntry, format: RulesFormat) -> String {
    match format {
        RulesFormat::Json => json(std::slice::from_ref(entry)),
        RulesFormat::Markdown => markdown(entry),
        RulesFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(out, "{} ({}, {})\n", entry.id, entry.severity, entry.scope);
            let _ = writeln!(out, "{}\n", entry.summary.trim());
            for (title, body) in [("Why is this bad?", &entry.rationale), ("What to do", &entry.remediation)]
            {
                let _ = writeln!(out, "{title}\n{}\n", indent(body));
            }
            let _ = writeln!(out, "Example\n{}", indent(&entry.bad));
            let _ = writeln!(out, "Use instead\n{}", indent(&entry.good));
            if !entry.parameters.is_empty() {
                let _ = writeln!(out, "Parameters (rules.{}.NAME in stowage.yaml)", entry.id);
                for p in &entry.parameters {
                    let _ = writeln!(out, "    {} = {}\n        {}", p.name, p.default, p.description);
                }
            }
            out
        }
    }
}

fn json(entries: &[CatalogEntry]) -> String {
    let rules: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "severity": e.severity, "scope": e.scope, "summary": e.summary,
                "rationale": e.rationale, "remediation": e.remediation, "bad": e.bad, "good": e.good,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({ "rules": rules })).unwrap_or_default();
    text.push('\n');
    text
}

fn markdown(e: &CatalogEntry) -> String {
    let mut params = String::new();
    if !e.parameters.is_empty() {
        params.push_str("### Parameters\n\n| Name | Default | Description |\n|---|---|---|\n");
        for p in &e.parameters {
            let _ = writeln!(params, "| `{}` | `{}` | {} |", p.name, p.default, p.description);
        }
        params.push('\n');
    }
    let text = format!(
        "## {id}\n\nSeverity: **{sev}** · scope: {scope}\n\n{summary}\n\n### Why is this bad?\n\n{why}\n\n### What to do\n\n{fix}\n\n### Example\n\n```\n{bad}```\n\nUse instead:\n\n```\n{good}```\n",
        id = e.id,
        sev = e.severity,
        scope = e.scope,
        summary = e.summary.trim(),
        why = e.rationale.trim(),
        fix = e.remediation.trim(),
        bad = e.bad,
        good = e.good,
    );
    if params.is_empty() { text } else { format!("{text}\n{params}") }
}

fn indent(text: &str) -> String {
    text.trim_end().lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n") + "\n"
}
