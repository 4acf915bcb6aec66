//! stowage's verdict on one image, read from its machine output: the references it judges,
//! embedded or missing each, and the overall readiness.
//!
//! `check --format json` carries a top-level `references` array (issue 15): each reference as in
//! `refs`, with `embedded` or `missing` in image mode. While a stowage without it is tested, the
//! per-reference verdict is derived instead: the references of `refs --image --format json`
//! (runtime and release, resolved), missing when a `not-embedded`,
//! `release-image-not-embedded` or `pause-image-not-embedded` finding names the image — the
//! findings `summary.readiness` counts.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The rules whose findings mean "this image is missing" (what the readiness counts).
const MISSING_RULES: [&str; 3] = ["not-embedded", "release-image-not-embedded", "pause-image-not-embedded"];

/// stowage's verdict on one reference.
#[derive(Clone, Debug)]
pub struct Judged {
    /// As written.
    pub image: String,
    pub resolved: String,
    pub kind: String,
    pub origin: String,
    /// `file:line:column`.
    pub location: String,
    pub embedded: bool,
    /// `embedded` (method, path/store, digest) or `missing` (reason: message), as stowage says.
    pub detail: String,
    /// The digest of the copy stowage says CRI-O finds first (the contract only).
    pub digest: Option<String>,
}

/// stowage's verdict on one image.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub ready: bool,
    pub judged: Vec<Judged>,
    /// Whether the per-reference verdicts come from `references` (else from the findings).
    pub contract: bool,
    pub summary: String,
    /// Error findings, `rule image`, for the table.
    pub errors: Vec<String>,
}

fn stowage(bin: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", cwd.join("cache"))
        .env_remove("STOWAGE_ARCH")
        .env_remove("STOWAGE_FORMAT")
        .env_remove("STOWAGE_CONFIG");
    cmd
}

fn run_json(mut cmd: Command) -> Result<(i32, Value), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let code = out.status.code().unwrap_or(-1);
    if code == 2 || code < 0 {
        return Err(format!("stowage exited {code}: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let json = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("stowage printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))?;
    Ok((code, json))
}

fn location(v: &Value) -> String {
    format!(
        "{}:{}:{}",
        v["file"].as_str().unwrap_or("?"),
        v["line"].as_u64().unwrap_or(0),
        v["column"].as_u64().unwrap_or(0)
    )
}

fn judged_kind(r: &Value) -> bool {
    matches!(r["kind"].as_str(), Some("runtime" | "release")) && r["resolved"].is_string()
}

/// Run `stowage check` (and `refs` without the contract) on `spec` for `arch`, with `paths` as
/// extra sources. `Err` when stowage could not analyse the image (exit 2).
pub fn judge(bin: &Path, spec: &str, arch: &str, paths: &[PathBuf], cwd: &Path) -> Result<Verdict, String> {
    let common = |sub: &str| {
        let mut cmd = stowage(bin, cwd);
        cmd.args([sub, "--no-config", "--no-cache", "--arch", arch, "--image", spec, "--format", "json"])
            .args(paths);
        cmd
    };
    let (_, check) = run_json(common("check"))?;
    let readiness = &check["summary"]["readiness"];
    let ready = match readiness["verdict"].as_str() {
        Some("ready") => true,
        Some("not ready") => false,
        other => return Err(format!("summary.readiness.verdict is {other:?}")),
    };
    let summary = format!(
        "{} referenced, {} embedded, {} missing, {} unresolved: {}",
        readiness["referenced"],
        readiness["embedded"],
        readiness["missing"],
        readiness["unresolved"],
        readiness["verdict"].as_str().unwrap_or("?")
    );
    let findings = check["findings"].as_array().cloned().unwrap_or_default();
    let errors = findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{} {}", f["rule"].as_str().unwrap_or("?"), f["image"].as_str().unwrap_or("")))
        .collect();
    let mut judged = Vec::new();
    let contract = check["references"].is_array();
    if let Some(refs) = check["references"].as_array() {
        for r in refs.iter().filter(|r| !r["embedded"].is_null() || !r["missing"].is_null()) {
            let (embedded, detail, digest) = if r["embedded"].is_object() {
                let e = &r["embedded"];
                let at = e["path"].as_str().or(e["store"].as_str()).unwrap_or("?");
                (
                    true,
                    format!(
                        "embedded ({} {at} {})",
                        e["method"].as_str().unwrap_or("?"),
                        e["digest"].as_str().unwrap_or("")
                    ),
                    e["digest"].as_str().map(str::to_string),
                )
            } else {
                let m = &r["missing"];
                (
                    false,
                    format!(
                        "missing [{}] {}",
                        m["reason"].as_str().unwrap_or("?"),
                        m["message"].as_str().unwrap_or("")
                    ),
                    None,
                )
            };
            judged.push(Judged {
                image: r["image"].as_str().unwrap_or("").to_string(),
                resolved: r["resolved"].as_str().unwrap_or("").to_string(),
                kind: r["kind"].as_str().unwrap_or("").to_string(),
                origin: r["origin"].as_str().unwrap_or("").to_string(),
                location: location(&r["location"]),
                embedded,
                detail,
                digest,
            });
        }
    } else {
        let (_, refs) = run_json(common("refs"))?;
        for r in refs["references"].as_array().cloned().unwrap_or_default().iter().filter(|r| judged_kind(r))
        {
            let resolved = r["resolved"].as_str().unwrap_or("").to_string();
            let missing: Vec<&Value> = findings
                .iter()
                .filter(|f| {
                    MISSING_RULES.contains(&f["rule"].as_str().unwrap_or(""))
                        && f["image"] == resolved.as_str()
                })
                .collect();
            let detail = match missing.first() {
                Some(f) => format!(
                    "missing [{}] {}",
                    f["rule"].as_str().unwrap_or("?"),
                    f["message"].as_str().unwrap_or("")
                ),
                None => "embedded (no not-embedded finding)".to_string(),
            };
            judged.push(Judged {
                image: r["image"].as_str().unwrap_or("").to_string(),
                resolved,
                kind: r["kind"].as_str().unwrap_or("").to_string(),
                origin: r["origin"].as_str().unwrap_or("").to_string(),
                location: location(&r["location"]),
                embedded: missing.is_empty(),
                detail,
                digest: None,
            });
        }
    }
    Ok(Verdict { ready, judged, contract, summary, errors })
}

/// The names of every image `stowage inventory` says the image carries, and `repo@digest` for
/// each of their digests: more names to ask the device about.
pub fn inventory_names(bin: &Path, spec: &str, cwd: &Path) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(cwd).map_err(|e| e.to_string())?;
    let mut cmd = stowage(bin, cwd);
    cmd.args(["inventory", "--no-cache", "--image", spec, "--format", "json"]);
    let (_, json) = run_json(cmd)?;
    let mut out = Vec::new();
    for image in json["images"].as_array().into_iter().flatten() {
        for name in image["names"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            out.push(name.to_string());
            let repo = name.split('@').next().unwrap_or(name);
            let repo = match repo.rsplit_once(':') {
                Some((r, tag)) if !tag.contains('/') => r,
                _ => repo,
            };
            for d in image["digests"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                out.push(format!("{repo}@{d}"));
            }
        }
    }
    Ok(out)
}
