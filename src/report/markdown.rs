//! `--format markdown`: the readiness report for pull-request comments and CI job summaries
//! (`$GITHUB_STEP_SUMMARY`, GitLab notes): verdict, score, counts, the findings, the waivers.
//! Long lists stop at [`MAX_ROWS`] rows ("…and N more"): a PR comment has a size limit.

use super::Report;
use crate::finding::Severity;
use std::fmt::Write;

pub const MAX_ROWS: usize = 200;

pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let mark = if s.failed { "❌" } else { "✅" };
    let _ = writeln!(out, "## {mark} stowage: {}\n", if s.failed { "FAILED" } else { "passed" });
    let (score, clean, device) = report.score(&report.attachments());
    let _ = writeln!(
        out,
        "**Readiness score {score}%** — {clean} of {device} device image references have no warning or error.\n"
    );
    let _ = writeln!(out, "| | |\n|---|---:|");
    let rows = [
        ("Files read", s.files),
        ("References", s.references),
        ("Images the device runs", s.images_referenced),
        ("Errors", s.errors),
        ("Warnings", s.warnings),
        ("Infos", s.infos),
        ("Waived", s.waived),
    ];
    for (label, n) in rows {
        let _ = writeln!(out, "| {label} | {n} |");
    }
    out.push('\n');
    match (&report.image, s.embedded, s.missing) {
        (Some(image), Some(embedded), Some(missing)) => {
            let _ = writeln!(
                out,
                "Image {}: {embedded} embedded, {missing} missing.\n",
                code(&image.reference)
            );
        }
        _ => out.push_str(
            "_No image was audited: whether each image is embedded was not checked (run with `--image`)._\n\n",
        ),
    }

    let _ = writeln!(out, "### Findings ({})\n", report.findings.len());
    if report.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        out.push_str("| Severity | Rule | Location | Message |\n|---|---|---|---|\n");
        for f in report.findings.iter().take(MAX_ROWS) {
            let icon = match f.severity {
                Severity::Error => "🔴 error",
                Severity::Warning => "🟡 warning",
                Severity::Info => "🔵 info",
            };
            let _ = writeln!(
                out,
                "| {icon} | {} | {} | {} |",
                code(&f.rule),
                code(&f.location.to_string()),
                cell(&f.message)
            );
        }
        more(&mut out, report.findings.len());
        out.push('\n');
    }

    if !report.waived.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Waived findings ({})</summary>\n\n| Rule | Location | Waived by | Reason | Expires |\n|---|---|---|---|---|",
            report.waived.len()
        );
        for w in report.waived.iter().take(MAX_ROWS) {
            let by = match &w.waiver.location {
                Some(l) => format!("{} {}", w.waiver.kind, code(&l.to_string())),
                None => w.waiver.kind.to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {by} | {} | {} |",
                code(&w.finding.rule),
                code(&w.finding.location.to_string()),
                w.waiver.reason.as_deref().map_or_else(|| "_none given_".to_string(), cell),
                w.waiver.expires.as_deref().unwrap_or("never"),
            );
        }
        more(&mut out, report.waived.len());
        out.push_str("\n</details>\n\n");
    }

    let c = &report.config;
    let _ = writeln!(
        out,
        "<sub>{} {} · {} · fail-on `{}` · configuration: {}</sub>",
        report.run.tool,
        report.run.version,
        report.run.time,
        c.fail_on,
        c.file.as_deref().map_or_else(|| "built-in defaults".to_string(), code),
    );
    out
}

fn more(out: &mut String, total: usize) {
    if total > MAX_ROWS {
        let _ = writeln!(out, "\n…and {} more.", total - MAX_ROWS);
    }
}

/// Text safe inside a table cell: no pipe, no line break, no raw HTML.
fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

/// A code span in a table cell: entities are not decoded inside code, so only the pipe and
/// line breaks are escaped, and backticks cannot close the span early.
fn code(text: &str) -> String {
    let text = text.replace('|', "\\|").replace(['\r', '\n'], " ");
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc <script>"), "a\\|b<br>c &lt;script&gt;");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "`` x`y ``");
    }
}
