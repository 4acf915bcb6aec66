//! Running the rules with a configuration: severity overrides and disabled rules, custom
//! rules, inline suppressions, waivers with expiry, and the baseline. Findings about the
//! waivers themselves (unused, expired, without reason) come from here too.

use super::suppress::{self, Suppression};
use super::{Context, RULES, Rule, baseline, catalog};
use crate::config::custom::{self, Static};
use crate::config::date::Date;
use crate::config::{Config, Ignore, Level};
use crate::finding::{Finding, Severity};
use crate::gather::facts::Facts;
use crate::text::location::Location;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub static EXPIRED_IGNORE: Rule = rule!("expired-ignore", None);
pub static IGNORE_WITHOUT_REASON: Rule = rule!("ignore-without-reason", None);
pub static UNUSED_IGNORE: Rule = rule!("unused-ignore", None);

pub struct Options {
    pub today: Date,
    /// Honour comments and annotations (`--no-inline-ignores` turns this off).
    pub inline_ignores: bool,
    pub require_reason: bool,
    /// Fingerprints of accepted findings (`--baseline`).
    pub baseline: Option<BTreeSet<String>>,
    /// Directory of the configuration file, for matching `ignore.path` relative to it.
    pub config_dir: Option<PathBuf>,
}

impl Options {
    pub fn new(config: &Config) -> Self {
        Options {
            today: Date::today(),
            inline_ignores: config.inline_ignores.unwrap_or(true),
            require_reason: config.require_reason.unwrap_or(true),
            baseline: None,
            config_dir: None,
        }
    }
}

/// What waived a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverKind {
    /// An `ignore` entry of the configuration.
    Config,
    /// A `stowage:ignore` comment in the source.
    Comment,
    /// A `stowage.io/ignore` annotation on a Kubernetes object.
    Annotation,
    /// An accepted finding of `--baseline`.
    Baseline,
}

impl WaiverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverKind::Config => "config",
            WaiverKind::Comment => "comment",
            WaiverKind::Annotation => "annotation",
            WaiverKind::Baseline => "baseline",
        }
    }

    /// Written in the source itself (SARIF's `inSource` suppressions), not beside it.
    pub fn in_source(self) -> bool {
        matches!(self, WaiverKind::Comment | WaiverKind::Annotation)
    }
}

impl std::fmt::Display for WaiverKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a finding is not reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waiver {
    pub kind: WaiverKind,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waived {
    pub finding: Finding,
    pub waiver: Waiver,
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// What is reported, in report order.
    pub findings: Vec<Finding>,
    /// What was suppressed, and by what.
    pub waived: Vec<Waived>,
}

/// Run every enabled rule, then apply the waivers (inline suppressions, the configuration's
/// `ignore` entries, the baseline) and add the findings about the waivers themselves.
pub fn run(facts: &Facts, config: &Config, opts: &Options) -> Outcome {
    let suppressions: Vec<Suppression> = if opts.inline_ignores {
        let mut s: Vec<Suppression> =
            facts.sources.values().flat_map(|src| suppress::comments(src)).collect();
        s.extend(suppress::annotations(&facts.objects));
        s
    } else {
        Vec::new()
    };
    let mut waivers = Waivers {
        suppressions: &suppressions,
        suppression_used: vec![false; suppressions.len()],
        ignore_used: vec![false; config.ignore.len()],
        expired: config.ignore.iter().map(|i| i.expires.is_some_and(|d| d < opts.today)).collect(),
        waived: Vec::new(),
    };
    let mut findings = rule_findings(facts, config);
    findings.retain(|f| !waivers.waive(f, config, opts));

    let mut meta = waivers.suppression_findings(config, opts);
    meta.extend(waivers.ignore_findings(config, opts));
    findings.extend(meta.into_iter().filter_map(|f| apply_level(f, config)));
    sort(&mut findings);

    let mut waived = waivers.waived;
    if let Some(accepted) = &opts.baseline {
        findings = apply_baseline(findings, accepted, &mut waived);
    }
    waived.sort_by(|a, b| a.finding.sort_key().cmp(&b.finding.sort_key()));
    Outcome { findings, waived }
}

/// The waivers of one run and which of them were used.
struct Waivers<'a> {
    suppressions: &'a [Suppression],
    suppression_used: Vec<bool>,
    ignore_used: Vec<bool>,
    /// Per `ignore` entry: its expiry date is past.
    expired: Vec<bool>,
    waived: Vec<Waived>,
}

impl Waivers<'_> {
    /// Whether `f` is waived (an inline suppression first, then the first unexpired matching
    /// `ignore` entry); a waived finding is recorded with what waived it.
    fn waive(&mut self, f: &Finding, config: &Config, opts: &Options) -> bool {
        if let Some(i) = self.suppressions.iter().position(|s| s.covers(&f.rule, &f.location)) {
            self.suppression_used[i] = true;
            let s = &self.suppressions[i];
            let waiver = Waiver {
                kind: s.kind,
                reason: s.reason.clone(),
                expires: None,
                location: Some(s.location.clone()),
            };
            self.waived.push(Waived { finding: f.clone(), waiver });
            return true;
        }
        for (i, ignore) in config.ignore.iter().enumerate() {
            if !ignore_matches(ignore, f, opts.config_dir.as_deref()) {
                continue;
            }
            self.ignore_used[i] = true;
            if self.expired[i] {
                continue;
            }
            let waiver = Waiver {
                kind: WaiverKind::Config,
                reason: ignore.reason.clone(),
                expires: ignore.expires.map(|d| d.to_string()),
                location: Some(ignore.location.clone()),
            };
            self.waived.push(Waived { finding: f.clone(), waiver });
            return true;
        }
        false
    }

    /// Inline suppressions naming unknown rules, matching nothing, or giving no reason.
    fn suppression_findings(&self, config: &Config, opts: &Options) -> Vec<Finding> {
        let mut meta = Vec::new();
        for (s, used) in self.suppressions.iter().zip(&self.suppression_used) {
            let directive = format!("stowage:ignore {}", s.rules.join(","));
            let unknown: Vec<&str> =
                s.rules.iter().map(String::as_str).filter(|r| !is_rule(r, config)).collect();
            if !unknown.is_empty() {
                meta.push(meta_finding(
                    UNUSED_IGNORE.id,
                    format!("`{directive}` names unknown rule `{}`", unknown.join("`, `")),
                    &s.location,
                ));
            } else if !used {
                meta.push(meta_finding(
                    UNUSED_IGNORE.id,
                    format!("`{directive}` ({}) matched no finding", s.kind),
                    &s.location,
                ));
            }
            if s.reason.is_none() && opts.require_reason {
                meta.push(meta_finding(
                    IGNORE_WITHOUT_REASON.id,
                    format!("`{directive}` gives no reason; write it after `--`"),
                    &s.location,
                ));
            }
        }
        meta
    }

    /// `ignore` entries that expired, matched nothing, or give no reason.
    fn ignore_findings(&self, config: &Config, opts: &Options) -> Vec<Finding> {
        let mut meta = Vec::new();
        for (i, ignore) in config.ignore.iter().enumerate() {
            if self.expired[i] {
                let date = ignore.expires.map(|d| d.to_string()).unwrap_or_default();
                let what = if self.ignore_used[i] {
                    "the findings it covered are reported again"
                } else {
                    "it matched no finding"
                };
                meta.push(meta_finding(
                    EXPIRED_IGNORE.id,
                    format!("this waiver expired on {date}; {what}"),
                    &ignore.location,
                ));
            } else if !self.ignore_used[i] && !upgrade_only(ignore) {
                // An entry for upgrade rules only waives `diff` findings: a check run, which
                // never has any, cannot call it unused.
                meta.push(meta_finding(
                    UNUSED_IGNORE.id,
                    "this ignore entry matched no finding",
                    &ignore.location,
                ));
            }
            if ignore.reason.is_none() && opts.require_reason {
                meta.push(meta_finding(
                    IGNORE_WITHOUT_REASON.id,
                    "this ignore entry gives no `reason`",
                    &ignore.location,
                ));
            }
        }
        meta
    }
}

/// The findings whose fingerprint the baseline does not accept; the accepted ones are waived.
fn apply_baseline(
    findings: Vec<Finding>,
    accepted: &BTreeSet<String>,
    waived: &mut Vec<Waived>,
) -> Vec<Finding> {
    let prints = baseline::fingerprints(&findings);
    let mut kept = Vec::new();
    for (f, print) in findings.into_iter().zip(prints) {
        if accepted.contains(&print) {
            let waiver = Waiver { kind: WaiverKind::Baseline, reason: None, expires: None, location: None };
            waived.push(Waived { finding: f, waiver });
        } else {
            kept.push(f);
        }
    }
    kept
}

/// The findings of every enabled rule, built-in and custom, at their configured severity.
fn rule_findings(facts: &Facts, config: &Config) -> Vec<Finding> {
    let ctx = Context { config };
    let mut findings = Vec::new();
    for rule in RULES {
        let Some(check) = rule.check else { continue };
        if config.level(rule.id) == Some(Level::Off) {
            continue;
        }
        findings.extend(check(facts, &ctx).into_iter().filter_map(|f| apply_level(f, config)));
    }
    for rule in &config.custom_rules {
        let severity = match config.level(&rule.id) {
            Some(Level::Off) => continue,
            Some(Level::On(s)) => s,
            None => rule.severity,
        };
        for r in facts.references.iter().filter(|r| rule.matcher.matches(r, &Static)) {
            let mut f = Finding::new(
                rule.id.clone(),
                severity,
                custom::render_message(&rule.message, r),
                r.location.clone(),
            )
            .about(r)
            .with_related(format!("custom rule `{}` defined here", rule.id), rule.location.clone());
            f.help = rule.help.clone();
            findings.push(f);
        }
    }
    sort(&mut findings);
    findings
}

fn apply_level(mut f: Finding, config: &Config) -> Option<Finding> {
    match config.level(&f.rule) {
        Some(Level::Off) => None,
        Some(Level::On(s)) => {
            f.severity = s;
            Some(f)
        }
        None => Some(f),
    }
}

fn sort(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}

fn is_rule(id: &str, config: &Config) -> bool {
    catalog::entry(id).is_some() || config.custom_rules.iter().any(|c| c.id == id)
}

fn meta_finding(rule: &'static str, message: impl Into<String>, location: &Location) -> Finding {
    let severity = catalog::entry(rule).map_or(Severity::Warning, |e| e.severity);
    let mut f = Finding::new(rule, severity, message, location.clone()).with_label("waiver");
    f.help = catalog::entry(rule).map(|e| e.remediation.split_whitespace().collect::<Vec<_>>().join(" "));
    f
}

/// An `ignore` entry that names upgrade rules (scope `upgrade`) and no other.
fn upgrade_only(ignore: &Ignore) -> bool {
    !ignore.rules.is_empty()
        && ignore.rules.iter().all(|r| catalog::entry(r).is_some_and(|e| e.scope == "upgrade"))
}

fn ignore_matches(ignore: &Ignore, f: &Finding, config_dir: Option<&Path>) -> bool {
    if !ignore.rules.is_empty() && !ignore.rules.contains(&f.rule) {
        return false;
    }
    if let Some(path) = &ignore.path {
        let file = &f.location.file;
        let relative = config_dir.and_then(|dir| relative_to(dir, file));
        if !path.matches(file) && !relative.is_some_and(|r| path.matches(&r)) {
            return false;
        }
    }
    if let Some(image) = &ignore.image
        && !f.image.as_deref().is_some_and(|i| image.matches(i))
    {
        return false;
    }
    true
}

/// `file` (relative to the working directory, or absolute) relative to `dir`.
fn relative_to(dir: &Path, file: &str) -> Option<String> {
    let abs = std::env::current_dir().ok()?.join(file);
    let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.strip_prefix(&dir).ok().map(|p| p.to_string_lossy().replace('\\', "/"))
}

/// The upgrade rules over two images, the configuration's levels and unexpired `ignore`
/// waivers applied, in report order. (Inline suppressions live in sources and do not apply:
/// an upgrade finding is about two images, not about one line.)
pub fn run_upgrade(upgrade: &crate::upgrade::Upgrade, config: &Config, opts: &Options) -> Vec<Finding> {
    let ctx = Context { config };
    let waived = |f: &Finding| {
        config.ignore.iter().any(|i| {
            i.expires.is_none_or(|d| d >= opts.today) && ignore_matches(i, f, opts.config_dir.as_deref())
        })
    };
    let mut findings: Vec<Finding> = super::UPGRADE_RULES
        .iter()
        .filter(|u| config.level(u.rule.id) != Some(Level::Off))
        .flat_map(|u| (u.check)(upgrade, &ctx))
        .filter_map(|f| apply_level(f, config))
        .filter(|f| !waived(f))
        .collect();
    sort(&mut findings);
    findings
}

/// The findings of a diff: the upgrade findings, then NEW's own, less those an upgrade finding
/// replaces (NEW's `not-embedded` at a reference `embedded-removed-still-referenced` explains),
/// so that each cause is reported once.
pub fn merge_upgrade(upgrade: Vec<Finding>, new: Vec<Finding>) -> Vec<Finding> {
    use super::embedded_removed_still_referenced as removed;
    let replaced = |f: &Finding| {
        removed::REPLACES.contains(&f.rule.as_str())
            && upgrade.iter().any(|u| u.rule == removed::RULE.rule.id && u.location == f.location)
    };
    let kept: Vec<Finding> = new.into_iter().filter(|f| !replaced(f)).collect();
    let mut all = upgrade;
    all.extend(kept);
    sort(&mut all);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{config, facts};

    fn run_with(files: &[(&str, &str)], cfg: &str, today: &str) -> Outcome {
        let config = config(cfg);
        let mut opts = Options::new(&config);
        opts.today = Date::parse(today).unwrap();
        run(&facts(files), &config, &opts)
    }

    fn summary(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(|f| format!("{} {}[{}]", f.location, f.severity, f.rule)).collect()
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      # stowage:ignore latest-tag,pull-policy-always -- the prod overlay pins a digest\n      - name: web\n        image: quay.io/acme/web:latest\n      - name: side\n        image: quay.io/acme/side:latest # stowage:ignore short-name\n";

    #[test]
    fn comments_suppress_and_bad_comments_are_reported() {
        let out = run_with(&[("d.yaml", DEPLOY)], "", "2026-01-01");
        assert_eq!(
            summary(&out.findings),
            [
                "d.yaml:13:16 error[pull-policy-always]",
                "d.yaml:13:34 warning[latest-tag]",
                "d.yaml:13:41 warning[ignore-without-reason]",
                "d.yaml:13:41 info[unused-ignore]",
            ]
        );
        assert_eq!(out.waived.len(), 2);
        assert_eq!(out.waived[0].waiver.kind, WaiverKind::Comment);
        assert_eq!(out.waived[0].waiver.reason.as_deref(), Some("the prod overlay pins a digest"));
    }

    #[test]
    fn inline_ignores_can_be_turned_off() {
        let out = run_with(&[("d.yaml", DEPLOY)], "inline-ignores: false\n", "2026-01-01");
        assert!(out.waived.is_empty());
        assert_eq!(out.findings.iter().filter(|f| f.rule == "latest-tag").count(), 2);
    }

    #[test]
    fn annotations_suppress_inside_their_object_only() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    stowage.io/ignore: \"latest-tag -- scratch pod\"\nspec:\n  containers:\n  - name: a\n    image: quay.io/x/a:latest\n    imagePullPolicy: IfNotPresent\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec:\n  containers:\n  - name: b\n    image: quay.io/x/b:latest\n    imagePullPolicy: IfNotPresent\n";
        let out = run_with(&[("p.yaml", text)], "", "2026-01-01");
        assert_eq!(summary(&out.findings), ["p.yaml:20:24 warning[latest-tag]"]);
        assert_eq!(out.waived[0].waiver.kind, WaiverKind::Annotation);
    }

    #[test]
    fn waivers_expire_and_unused_ones_are_reported() {
        let files = [("Containerfile", "FROM quay.io/x/a:latest\nFROM quay.io/y/b:latest\n")];
        let cfg = "ignore:\n  - rule: latest-tag\n    image: \"quay.io/x/*\"\n    reason: base is rebuilt nightly\n    expires: 2026-06-30\n  - rule: latest-tag\n    image: \"quay.io/y/*\"\n    reason: until the mirror exists\n    expires: 2026-03-01\n  - path: \"old/**\"\n    reason: gone\n";
        let out = run_with(&files, cfg, "2026-04-01");
        assert_eq!(
            summary(&out.findings),
            [
                "Containerfile:2:18 warning[latest-tag]",
                "stowage.yaml:6:5 warning[expired-ignore]",
                "stowage.yaml:10:5 info[unused-ignore]",
            ]
        );
        assert_eq!(out.waived.len(), 1);
        assert_eq!(out.waived[0].waiver.expires.as_deref(), Some("2026-06-30"));
        // Before the first expiry both are waived.
        let out = run_with(&files, cfg, "2026-02-01");
        assert_eq!(out.waived.len(), 2);
    }

    #[test]
    fn severities_are_overridden_and_rules_turned_off() {
        let files = [("Containerfile", "FROM nginx\n")];
        let out = run_with(&files, "rules:\n  latest-tag: error\n  short-name: off\n", "2026-01-01");
        assert_eq!(summary(&out.findings), ["Containerfile:1:6 error[latest-tag]"]);
    }

    #[test]
    fn custom_rules_match_reference_facts() {
        let files = [
            ("Containerfile", "FROM docker.io/library/golang:1.23 AS build\nFROM quay.io/acme/app:1\n"),
            (
                "p.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: edge\nspec:\n  containers:\n  - name: a\n    image: docker.io/library/redis:7@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  - name: b\n    image: docker.io/library/nginx:1.27\n",
            ),
        ];
        let cfg = "rules:\n  mutable-tag: off\n  latest-tag: off\n  short-name: off\n  base-image-unpinned: off\ncustom-rules:\n  - id: no-docker-hub\n    severity: warning\n    message: \"{image} comes from Docker Hub ({kind})\"\n    help: Mirror it.\n    match:\n      all:\n        - registry: docker.io\n        - not: {kind: build}\n        - any:\n          - digest: false\n          - namespace: {regex: \"ed.e\"}\n";
        let out = run_with(&files, cfg, "2026-01-01");
        assert_eq!(
            summary(&out.findings),
            ["p.yaml:9:12 warning[no-docker-hub]", "p.yaml:11:12 warning[no-docker-hub]"]
        );
        assert_eq!(out.findings[1].message, "docker.io/library/nginx:1.27 comes from Docker Hub (runtime)");
        assert_eq!(out.findings[1].help.as_deref(), Some("Mirror it."));
    }

    #[test]
    fn the_baseline_keeps_only_new_findings_even_when_lines_move() {
        let before = [("Containerfile", "FROM quay.io/x/a:latest\nFROM quay.io/x/b:latest\n")];
        let out = run_with(&before, "", "2026-01-01");
        let accepted: BTreeSet<String> = baseline::fingerprints(&out.findings).into_iter().collect();
        let after = [(
            "Containerfile",
            "# a comment moves everything down\n\nFROM quay.io/x/a:latest\nFROM quay.io/x/c:latest\nFROM quay.io/x/b:latest\n",
        )];
        let config = Config::default();
        let mut opts = Options::new(&config);
        opts.baseline = Some(accepted);
        let out = run(&facts(&after), &config, &opts);
        assert_eq!(summary(&out.findings), ["Containerfile:4:18 warning[latest-tag]"]);
        assert_eq!(out.waived.iter().filter(|w| w.waiver.kind == WaiverKind::Baseline).count(), 2);
    }
}
