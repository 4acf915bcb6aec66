//! The human format: each finding as a miette diagnostic with the source excerpt, a caret at
//! the column and the help line.

use crate::finding::{Finding, Severity};
use crate::gather::facts::Facts;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
use std::fmt::Write;

pub fn render(findings: &[Finding], facts: &Facts, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(120).with_break_words(false).with_links(false);
    let mut out = String::new();
    for f in findings {
        let mut diag = MietteDiagnostic::new(f.message.clone())
            .with_code(format!("{}[{}]", f.severity, f.rule))
            .with_severity(match f.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            });
        let mut help = f.help.clone().unwrap_or_default();
        let source = facts.sources.get(&f.location.file);
        if let (Some(source), Some(span)) = (source, &f.location.span) {
            diag = diag.and_label(LabeledSpan::new_primary_with_span(Some(label_for(f)), span.clone()));
            for r in &f.related {
                match &r.location.span {
                    Some(span) if r.location.file == f.location.file => {
                        diag =
                            diag.and_label(LabeledSpan::new_with_span(Some(r.message.clone()), span.clone()));
                    }
                    _ => push_note(&mut help, &format!("{}: {}", r.location, r.message)),
                }
            }
            if !help.is_empty() {
                diag = diag.with_help(help);
            }
            let report = miette::Report::new(diag)
                .with_source_code(NamedSource::new(&source.display, source.text.clone()));
            let _ = handler.render_report(&mut out, report.as_ref());
        } else {
            for r in &f.related {
                push_note(&mut help, &format!("{}: {}", r.location, r.message));
            }
            if !help.is_empty() {
                diag = diag.with_help(help);
            }
            let _ = writeln!(out, "  {} {}", arrow(color), f.location);
            let _ = handler.render_report(&mut out, &diag);
        }
        out.push('\n');
    }
    out
}

/// Configuration errors, each with an excerpt of the configuration file.
pub fn render_config_errors(errors: &crate::config::ConfigErrors, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(120).with_break_words(false).with_links(false);
    let mut out = String::new();
    for e in &errors.errors {
        let mut diag = MietteDiagnostic::new(e.message.clone()).with_code("config");
        match (errors.source_of(e), &e.location.span) {
            (Some(source), Some(span)) => {
                diag = diag.and_label(LabeledSpan::new_primary_with_span(Some("here".into()), span.clone()));
                let report = miette::Report::new(diag)
                    .with_source_code(NamedSource::new(&source.display, source.text.clone()));
                let _ = handler.render_report(&mut out, report.as_ref());
            }
            _ => {
                let _ = writeln!(out, "  {} {}", arrow(color), e.location);
                let _ = handler.render_report(&mut out, &diag);
            }
        }
        out.push('\n');
    }
    out
}

fn arrow(color: bool) -> &'static str {
    if color { "\u{1b}[2m──▶\u{1b}[0m" } else { "──▶" }
}

fn push_note(help: &mut String, note: &str) {
    if !help.is_empty() {
        help.push('\n');
    }
    help.push_str(note);
}

fn label_for(f: &Finding) -> String {
    f.label.clone().unwrap_or_else(|| if f.image.is_some() { "image".into() } else { "here".into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::facts;

    #[test]
    fn shows_the_excerpt_the_rule_and_the_help() {
        let facts = facts(&[("Containerfile", "FROM quay.io/x/a:latest\n")]);
        let findings = crate::rules::run(&facts);
        let text = render(&findings, &facts, false);
        assert!(text.contains("warning[latest-tag]"), "{text}");
        assert!(text.contains("[Containerfile:1:18]"), "{text}");
        assert!(text.contains("FROM quay.io/x/a:latest"), "{text}");
        assert!(text.contains("help:"), "{text}");
    }
}
