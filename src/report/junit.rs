//! `--format junit`: JUnit XML, which every CI system shows as a test report. One test suite
//! per file; one test case per reference (`line:column image`), failing when a finding on it is
//! at or above `--fail-on`, so the report agrees with the exit status; findings below the
//! threshold are kept in the case's `system-out`. Findings about no reference (an unparsable
//! file, a waiver) are test cases of their own.

use super::Report;
use crate::finding::{Finding, Severity};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let threshold = Severity::parse(&report.summary.fail_on);
    let mut suites: BTreeMap<&str, Vec<TestCase>> = BTreeMap::new();
    let attached = report.attachments();
    for (r, indices) in report.references.iter().zip(&attached.by_reference) {
        let findings: Vec<&Finding> = indices.iter().map(|&i| &report.findings[i]).collect();
        let name = format!("{}:{} {} ({})", r.location.line, r.location.column, r.image, r.kind.as_str());
        suites.entry(&r.location.file).or_default().push(case(&name, &r.location.file, &findings, threshold));
    }
    for f in attached.unattached.iter().map(|&i| &report.findings[i]) {
        let name = format!("{}:{} {}", f.location.line, f.location.column, f.rule);
        suites.entry(&f.location.file).or_default().push(case(&name, &f.location.file, &[f], threshold));
    }
    let mut junit = quick_junit::Report::new("stowage");
    for (file, cases) in suites {
        let mut suite = TestSuite::new(file);
        suite.add_test_cases(cases);
        junit.add_test_suite(suite);
    }
    match junit.to_string() {
        Ok(mut text) => {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
        // Serialising to memory cannot fail on I/O; keep the failure visible in the output.
        Err(e) => format!("<!-- stowage: cannot write JUnit XML: {e} -->\n"),
    }
}

fn case(name: &str, file: &str, findings: &[&Finding], threshold: Option<Severity>) -> TestCase {
    let failing: Vec<&&Finding> =
        findings.iter().filter(|f| threshold.is_some_and(|t| f.severity >= t)).collect();
    let status = match failing.first() {
        None => TestCaseStatus::success(),
        Some(first) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let rules: Vec<&str> = failing.iter().map(|f| f.rule.as_str()).collect();
            status.set_type(rules.join(","));
            status.set_message(if failing.len() == 1 {
                first.message.clone()
            } else {
                format!("{} (and {} more)", first.message, failing.len() - 1)
            });
            status.set_description(describe(&failing.iter().map(|f| **f).collect::<Vec<_>>()));
            status
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(file);
    let passing: Vec<&Finding> =
        findings.iter().filter(|f| threshold.is_none_or(|t| f.severity < t)).copied().collect();
    if !passing.is_empty() {
        case.set_system_out(describe(&passing));
    }
    case
}

/// `file:line:col: severity[rule] message` and the help, per finding.
fn describe(findings: &[&Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "{}: {}[{}] {}", f.location, f.severity, f.rule, f.message);
        if let Some(help) = &f.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}
