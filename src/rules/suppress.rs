//! Inline suppressions: `# stowage:ignore RULE[,RULE] -- reason` comments (YAML,
//! Containerfile, Quadlet), `# stowage:ignore-file RULE -- reason`, and the Kubernetes
//! annotation `stowage.io/ignore: "RULE -- reason"`.
//!
//! A comment on a line of its own applies to the next line that is not blank or a comment,
//! and to the block it opens: a Containerfile instruction's continuation lines, or, in YAML,
//! the lines indented deeper than a `- item` / `key:` line. A comment after code applies to
//! its own line.

use super::engine::WaiverKind;
use crate::source::manifest::K8sObject;
use crate::text::SourceText;
use crate::text::location::{Location, Span};
use std::ops::RangeInclusive;

pub const ANNOTATION: &str = "stowage.io/ignore";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Findings whose primary line is in the range (1-based, inclusive).
    Lines(RangeInclusive<u32>),
    /// Findings anywhere in the file.
    File,
    /// Findings inside this byte range of the file (an annotated object).
    Bytes(Span),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub file: String,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub scope: Scope,
    /// Where the comment or annotation is.
    pub location: Location,
    /// `comment` or `annotation`.
    pub kind: WaiverKind,
}

impl Suppression {
    pub fn covers(&self, rule: &str, location: &Location) -> bool {
        if location.file != self.file || !self.rules.iter().any(|r| r == rule) {
            return false;
        }
        match &self.scope {
            Scope::File => true,
            Scope::Lines(lines) => lines.contains(&location.line),
            Scope::Bytes(span) => {
                location.span.as_ref().is_some_and(|s| span.start <= s.start && s.start < span.end)
            }
        }
    }
}

/// `RULE[,RULE] -- reason` → (rules, reason).
pub fn parse_directive(text: &str) -> (Vec<String>, Option<String>) {
    let (rules, reason) = match text.split_once("--") {
        Some((rules, reason)) => (rules, Some(reason.trim().to_string()).filter(|r| !r.is_empty())),
        None => (text, None),
    };
    let rules =
        rules.split([',', ' ', '\t']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect();
    (rules, reason)
}

/// The comment suppressions of one source file.
pub fn comments(src: &SourceText) -> Vec<Suppression> {
    if !src.text.contains("stowage:ignore") {
        return Vec::new();
    }
    let is_yaml = src.display.ends_with(".yaml")
        || src.display.ends_with(".yml")
        || src.display.ends_with("Kustomization");
    let lines: Vec<&str> = src.text.lines().collect();
    let mut out = Vec::new();
    let mut offset = 0;
    for (i, line) in lines.iter().enumerate() {
        let line_start = offset;
        offset += line.len() + 1;
        let Some(at) = line.find("stowage:ignore") else { continue };
        let before = &line[..at];
        let Some(comment_at) = before.rfind(['#', ';']) else { continue };
        if !before[comment_at + 1..].trim().is_empty() {
            continue;
        }
        let directive = &line[at + "stowage:ignore".len()..];
        let (file_wide, rest) = match directive.strip_prefix("-file") {
            Some(rest) => (true, rest),
            None => (false, directive),
        };
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            continue;
        }
        let (rules, reason) = parse_directive(rest);
        let code_before = before[..comment_at].trim();
        let line_no = i as u32 + 1;
        let scope = if file_wide {
            Scope::File
        } else if !code_before.is_empty() {
            Scope::Lines(line_no..=line_no)
        } else {
            match next_code_line(&lines, i + 1) {
                Some(target) => {
                    Scope::Lines(target as u32 + 1..=block_end(&lines, target, is_yaml) as u32 + 1)
                }
                None => Scope::Lines(line_no..=line_no),
            }
        };
        let location = src.location(line_start + comment_at..line_start + line.len());
        out.push(Suppression {
            file: src.display.clone(),
            rules,
            reason,
            scope,
            location,
            kind: WaiverKind::Comment,
        });
    }
    out
}

fn next_code_line(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| {
        let t = lines[j].trim();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with(';')
    })
}

/// The last line (0-based) of the block that starts at `start`.
fn block_end(lines: &[&str], start: usize, is_yaml: bool) -> usize {
    let mut end = start;
    if is_yaml {
        let line = lines[start];
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t.starts_with("- ") || t == "-" || t.ends_with(':') {
            for (j, l) in lines.iter().enumerate().skip(start + 1) {
                if l.trim().is_empty() || l.trim_start().starts_with('#') {
                    continue;
                }
                if l.len() - l.trim_start().len() > indent {
                    end = j;
                } else {
                    break;
                }
            }
        }
    } else {
        while end + 1 < lines.len()
            && (lines[end].trim_end().ends_with('\\') || lines[end].trim_end().ends_with('`'))
        {
            end += 1;
        }
    }
    end
}

/// The annotation suppressions of Kubernetes objects.
pub fn annotations(objects: &[K8sObject]) -> Vec<Suppression> {
    let mut out = Vec::new();
    for o in objects {
        for (key, value) in &o.annotations {
            if key != ANNOTATION {
                continue;
            }
            let (rules, reason) = parse_directive(value);
            let scope = match &o.location.span {
                Some(span) => Scope::Bytes(span.clone()),
                None => Scope::File,
            };
            out.push(Suppression {
                file: o.location.file.clone(),
                rules,
                reason,
                scope,
                location: o.location.clone(),
                kind: WaiverKind::Annotation,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str, file: &str) -> Vec<(Vec<String>, Option<String>, Scope)> {
        comments(&SourceText::from_str(file, text))
            .into_iter()
            .map(|s| (s.rules, s.reason, s.scope))
            .collect()
    }

    #[test]
    fn directives_split_rules_and_reason() {
        assert_eq!(
            parse_directive(" latest-tag, short-name -- dev only "),
            (vec!["latest-tag".into(), "short-name".into()], Some("dev only".into()))
        );
        assert_eq!(parse_directive(" latest-tag"), (vec!["latest-tag".into()], None));
        assert_eq!(parse_directive(" latest-tag --  "), (vec!["latest-tag".into()], None));
    }

    #[test]
    fn a_comment_covers_the_next_yaml_block() {
        let text = "spec:\n  containers:\n  # stowage:ignore latest-tag -- pinned by the overlay\n  - name: a\n    image: x:latest\n\n    imagePullPolicy: Always\n  - name: b\n    image: y\n";
        assert_eq!(
            lines_of(text, "d.yaml"),
            [(vec!["latest-tag".to_string()], Some("pinned by the overlay".into()), Scope::Lines(4..=7))]
        );
    }

    #[test]
    fn a_comment_covers_a_continued_instruction_and_trailing_comments_their_line() {
        let text = "# stowage:ignore-file short-name -- internal mirror\n# stowage:ignore mutable-tag\nRUN skopeo copy \\\n   docker://a:1 \\\n   dir:/x\nFROM b:1 # stowage:ignore latest-tag -- base\n";
        assert_eq!(
            lines_of(text, "Containerfile"),
            [
                (vec!["short-name".to_string()], Some("internal mirror".into()), Scope::File),
                (vec!["mutable-tag".to_string()], None, Scope::Lines(3..=5)),
                (vec!["latest-tag".to_string()], Some("base".into()), Scope::Lines(6..=6)),
            ]
        );
    }

    #[test]
    fn quadlet_semicolon_comments_and_non_directives() {
        let text = "[Container]\n; stowage:ignore short-name -- local\nImage=app:1\n# see stowage:ignored-things\nImage=x # not a stowage:ignore comment\n";
        assert_eq!(
            lines_of(text, "a.container"),
            [(vec!["short-name".to_string()], Some("local".into()), Scope::Lines(3..=3))]
        );
    }
}
