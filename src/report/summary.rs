//! The readiness summary auditors quote: how many runtime images the sources reference, how
//! many the image carries in a form CRI-O finds, how many are missing, by source; a verdict.

use crate::finding::{Finding, Severity};
use crate::gather::facts::Facts;
use crate::reference::{Origin, RefKind, Reference};
use crate::rules::explain;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the references were checked against.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The built image (`--image`).
    Image,
    /// The Containerfiles' embed plan.
    Static,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing missing or unresolved, and no error found.
    #[serde(rename = "ready")]
    Ready,
    #[serde(rename = "not ready")]
    NotReady,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not ready",
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Readiness {
    pub mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_arch: Option<String>,
    /// Distinct images (resolved form) the device runs: runtime, release and pause references.
    pub referenced: usize,
    pub embedded: usize,
    pub missing: usize,
    /// References that could not be resolved, so could not be checked.
    pub unresolved: usize,
    pub by_source: Vec<SourceCount>,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SourceCount {
    /// `kubernetes`, `quadlet`, `microshift-release`, `crio-pause-image`, ...
    pub source: String,
    pub referenced: usize,
    pub embedded: usize,
    pub missing: usize,
}

fn source_of(r: &Reference) -> &'static str {
    match r.origin {
        Origin::KubernetesContainer
        | Origin::KubernetesInitContainer
        | Origin::KubernetesEphemeralContainer => "kubernetes",
        Origin::QuadletImage => "quadlet",
        Origin::MicroshiftRelease => "microshift-release",
        Origin::CrioPauseImage => "crio-pause-image",
        Origin::ConfiguredField => "configured-field",
        _ => "containerfile",
    }
}

/// The readiness of the facts, `None` when there is nothing to compare with (no `--image`, no
/// embed plan).
pub fn readiness(facts: &Facts, findings: &[Finding]) -> Option<Readiness> {
    if facts.image.is_none() && facts.embed_plan.is_empty() {
        return None;
    }
    // image -> (sources, missing); a missing image is missing wherever it is referenced.
    let mut images: BTreeMap<String, (Vec<&'static str>, bool)> = BTreeMap::new();
    let mut unresolved = 0;
    for r in facts.references.iter().filter(|r| matches!(r.kind, RefKind::Runtime | RefKind::Release)) {
        if r.resolved.is_none() {
            unresolved += 1;
            continue;
        }
        let missing = explain::missing(facts, r).is_some();
        let entry = images.entry(r.display_image()).or_default();
        if !entry.0.contains(&source_of(r)) {
            entry.0.push(source_of(r));
        }
        entry.1 |= missing;
    }
    let mut by_source: BTreeMap<&str, SourceCount> = BTreeMap::new();
    for (sources, missing) in images.values() {
        for s in sources {
            let c = by_source.entry(s).or_insert_with(|| SourceCount {
                source: s.to_string(),
                referenced: 0,
                embedded: 0,
                missing: 0,
            });
            c.referenced += 1;
            if *missing {
                c.missing += 1;
            } else {
                c.embedded += 1;
            }
        }
    }
    let missing = images.values().filter(|(_, m)| *m).count();
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    Some(Readiness {
        mode: if facts.image.is_some() { Mode::Image } else { Mode::Static },
        image: facts.image.as_ref().map(|i| i.spec.clone()),
        target_arch: facts.image.as_ref().map(|i| i.target_arch.clone()),
        referenced: images.len(),
        embedded: images.len() - missing,
        missing,
        unresolved,
        by_source: by_source.into_values().collect(),
        verdict: if missing == 0 && unresolved == 0 && !errors { Verdict::Ready } else { Verdict::NotReady },
    })
}

impl Readiness {
    /// `12 runtime images referenced, 11 embedded, 1 missing (kubernetes 5/6, ...): NOT READY`
    pub fn line(&self) -> String {
        let sources: Vec<String> =
            self.by_source.iter().map(|s| format!("{} {}/{}", s.source, s.embedded, s.referenced)).collect();
        let unresolved =
            if self.unresolved > 0 { format!(", {} unresolved", self.unresolved) } else { String::new() };
        let against = match self.mode {
            Mode::Image => "in the image",
            Mode::Static => "in the embed plan",
        };
        format!(
            "{} runtime images referenced, {} embedded {against}, {} missing{unresolved} ({}): {}",
            self.referenced,
            self.embedded,
            self.missing,
            sources.join(", "),
            self.verdict.as_str().to_uppercase()
        )
    }
}
