//! One line per finding: `file:line:col: severity[rule] message` (the format of compilers and
//! most linters, which editors and CI log viewers turn into links).

use crate::finding::Finding;
use std::fmt::Write;

pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "{}: {}[{}] {}", f.location, f.severity, f.rule, f.message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::text::location::Location;

    #[test]
    fn one_line_per_finding() {
        let mut loc = Location::file_only("a/Containerfile");
        loc.line = 3;
        loc.column = 6;
        let f = Finding::new("latest-tag", Severity::Warning, "`x` uses latest", loc);
        assert_eq!(render(&[f]), "a/Containerfile:3:6: warning[latest-tag] `x` uses latest\n");
    }
}
