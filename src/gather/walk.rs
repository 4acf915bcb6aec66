//! Walking the PATH arguments: every file, classified by name, `.gitignore` respected.

use crate::source::FileKind;
use crate::text::Problem;
use crate::text::location::Location;
use crate::text::source::{display_path, io_message};
use std::path::PathBuf;

/// A file found by the walk, not read yet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Discovered {
    pub display: String,
    pub path: PathBuf,
    pub kind: FileKind,
}

/// A PATH argument that does not exist or cannot be walked at all: the analysis cannot be done.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

/// Walk the PATH arguments respecting `.gitignore`, following symlinks (a loop is walked once),
/// and classify every file by name. Files given explicitly are taken even when ignored.
/// Returns the files sorted by display path, and the entries that could not be walked.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<Discovered>, Vec<Problem>), WalkError> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for root in paths {
        let meta = std::fs::metadata(root)
            .map_err(|e| WalkError { path: root.display().to_string(), message: io_message(&e) })?;
        if meta.is_file() {
            if let Some(kind) = FileKind::classify(root) {
                found.push(Discovered { display: display_path(root), path: root.clone(), kind });
            }
            continue;
        }
        let walker = ignore::WalkBuilder::new(root).follow_links(true).require_git(false).build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        continue;
                    }
                    let path = entry.path();
                    if let Some(kind) = FileKind::classify(path) {
                        found.push(Discovered {
                            display: display_path(path),
                            path: path.to_path_buf(),
                            kind,
                        });
                    }
                }
                // A symlink loop leads back into a directory already walked: nothing is lost.
                Err(e) if is_loop(&e) => {}
                Err(e) => {
                    let path =
                        error_path(&e).map_or_else(|| root.display().to_string(), |p| display_path(&p));
                    problems.push(Problem {
                        message: format!("cannot be read: {}", strip_path(&e.to_string())),
                        location: Location::file_only(path),
                    });
                }
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.path == b.path);
    Ok((found, problems))
}

fn is_loop(e: &ignore::Error) -> bool {
    match e {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => is_loop(err),
        ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

fn error_path(e: &ignore::Error) -> Option<PathBuf> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

fn strip_path(message: &str) -> String {
    message.rsplit(": ").next().unwrap_or(message).to_string()
}
