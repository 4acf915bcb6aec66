//! `stowage pin` output: the unified diff of what it writes, the references it leaves and
//! why, and a summary line.

use crate::pin::Plan;

/// A unified diff (`--- a/FILE`, `+++ b/FILE`, three lines of context) of every file pin
/// changes, in path order; empty when nothing changes. `git apply` and `patch -p1` take it.
pub fn diff(plan: &Plan) -> String {
    let mut out = String::new();
    for f in &plan.files {
        let relative = !f.display.starts_with('/') && !f.display.starts_with("../");
        let (a, b) = if relative {
            (format!("a/{}", f.display), format!("b/{}", f.display))
        } else {
            (f.display.clone(), f.display.clone())
        };
        let text = similar::TextDiff::from_lines(&f.before, &f.after);
        out.push_str(&text.unified_diff().context_radius(3).header(&a, &b).to_string());
    }
    out
}

/// One line per reference left, `FILE:LINE:COL: \`IMAGE\` left: REASON`, in file order.
pub fn left(plan: &Plan) -> String {
    plan.left.iter().map(|l| format!("{}: `{}` left: {}\n", l.location, l.image, l.reason)).collect()
}

/// `3 pinned, 2 already pinned, 1 left (1 built from variables)` and what was (or would be)
/// written.
pub fn summary(plan: &Plan, written: bool) -> String {
    let files = plan.files.len();
    let files = match (files, written) {
        (0, _) => "nothing to change".to_string(),
        (1, true) => "1 file written".to_string(),
        (n, true) => format!("{n} files written"),
        (1, false) => "1 file to change".to_string(),
        (n, false) => format!("{n} files to change"),
    };
    let mut line =
        format!("{} pinned, {} already pinned, {} left", plan.pinned.len(), plan.already, plan.left.len());
    if !plan.left.is_empty() {
        let mut reasons: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for l in &plan.left {
            *reasons.entry(kind_of(&l.reason)).or_default() += 1;
        }
        let why: Vec<String> = reasons.iter().map(|(k, n)| format!("{n} {k}")).collect();
        line.push_str(&format!(" ({})", why.join(", ")));
    }
    format!("{line}; {files}; {} registry requests", plan.requests)
}

/// A short name for a reason, for the summary.
fn kind_of(reason: &str) -> &'static str {
    if reason.contains("variable") || reason.contains("template") || reason.contains("build argument") {
        "built from variables or templates"
    } else if reason.contains("does not have it") {
        "not in the registry"
    } else if reason.contains("has no") || reason.contains("is for") {
        "without the target platform"
    } else if reason.contains("shared with a kustomization") {
        "in a base another overlay re-tags"
    } else if reason.starts_with("set by") {
        "set by a kustomization"
    } else if reason.contains("localhost") {
        "built on the host"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::{FileChange, Left};
    use crate::text::location::Location;

    #[test]
    fn the_diff_and_the_summary_say_what_changes() {
        let plan = Plan {
            files: vec![FileChange {
                display: "k/app.yaml".into(),
                path: "k/app.yaml".into(),
                before: "a: 1\r\nimage: r.io/x:1\r\n".into(),
                after: "a: 1\r\nimage: r.io/x:1@sha256:00\r\n".into(),
            }],
            pinned: Vec::new(),
            already: 2,
            left: vec![Left {
                location: Location::file_only("Containerfile"),
                image: "$X".into(),
                reason: "contains an unexpanded variable".into(),
            }],
            requests: 3,
        };
        assert_eq!(
            diff(&plan),
            "--- a/k/app.yaml\n+++ b/k/app.yaml\n@@ -1,2 +1,2 @@\n a: 1\r\n-image: r.io/x:1\r\n+image: r.io/x:1@sha256:00\r\n"
        );
        assert_eq!(
            summary(&plan, false),
            "0 pinned, 2 already pinned, 1 left (1 built from variables or templates); 1 file to change; 3 registry requests"
        );
        assert_eq!(left(&plan), "Containerfile:1:1: `$X` left: contains an unexpanded variable\n");
    }
}
