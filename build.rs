//! Records the commit stowage was built from, for `stowage --version`.

use std::process::Command;

fn main() {
    let commit = std::env::var("STOWAGE_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let hash = String::from_utf8(out.stdout).ok()?.trim().to_string();
        if !out.status.success() || hash.is_empty() {
            return None;
        }
        let dirty = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .output()
            .map(|o| !o.stdout.is_empty())
            .unwrap_or(false);
        Some(if dirty { format!("{hash}-dirty") } else { hash })
    });
    println!("cargo:rustc-env=STOWAGE_COMMIT={}", commit.unwrap_or_else(|| "unknown commit".into()));
    println!("cargo:rerun-if-env-changed=STOWAGE_COMMIT");
    for path in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
