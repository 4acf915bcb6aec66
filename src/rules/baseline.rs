//! Baselines: the findings a project accepted at one point, so a gate reports only new ones.
//! A fingerprint is stable when lines move: rule + file + image + object, plus an occurrence
//! number among findings with the same four.

use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub message: String,
}

/// Fingerprints of `findings`, in the same order.
pub fn fingerprints(findings: &[Finding]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    findings
        .iter()
        .map(|f| {
            let key = format!(
                "{}\0{}\0{}\0{}",
                f.rule,
                f.location.file,
                f.image.as_deref().unwrap_or(""),
                f.object.as_deref().unwrap_or("")
            );
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            let digest = Sha256::digest(format!("{key}\0{n}").as_bytes());
            digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
        })
        .collect()
}

pub fn build(findings: &[Finding]) -> Baseline {
    let findings = findings
        .iter()
        .zip(fingerprints(findings))
        .map(|(f, fingerprint)| Entry {
            fingerprint,
            rule: f.rule.clone(),
            file: f.location.file.clone(),
            image: f.image.clone(),
            message: f.message.clone(),
        })
        .collect();
    Baseline { schema_version: SCHEMA_VERSION, findings }
}

pub fn load(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("baseline {}: {e}", path.display()))?;
    let baseline: Baseline = serde_json::from_str(&text)
        .map_err(|e| format!("baseline {}: not a stowage baseline: {e}", path.display()))?;
    if baseline.schema_version != SCHEMA_VERSION {
        return Err(format!(
            "baseline {}: schema version {} is not supported (expected {SCHEMA_VERSION})",
            path.display(),
            baseline.schema_version
        ));
    }
    Ok(baseline.findings.into_iter().map(|e| e.fingerprint).collect())
}

pub fn to_json(baseline: &Baseline) -> String {
    let mut text = serde_json::to_string_pretty(baseline).unwrap_or_default();
    text.push('\n');
    text
}
