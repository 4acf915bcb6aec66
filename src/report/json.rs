//! `check --format json`: `{"findings":[...],"summary":{...}}` (DESIGN.md, the machine contract).

use super::refs::WithVerdicts;
use super::{Report, Summary};
use crate::finding::Finding;
use crate::rules::engine::Waived;
use serde::Serialize;

/// Version of the JSON shape; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct CheckOutput<'a> {
    schema_version: u32,
    findings: &'a [Finding],
    /// Suppressed findings with the waiver that suppressed each.
    waived: &'a [Waived],
    summary: &'a Summary,
    /// Every reference, with the verdict on it in image mode.
    references: WithVerdicts<'a>,
}

pub fn render(report: &Report) -> String {
    let out = CheckOutput {
        schema_version: SCHEMA_VERSION,
        findings: &report.findings,
        waived: &report.waived,
        summary: &report.summary,
        references: WithVerdicts {
            references: &report.references,
            verdicts: &report.verdicts,
            online: report.online.as_ref(),
        },
    };
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}
