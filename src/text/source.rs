//! Source text: one file's text with its line index, how bytes become text, and the
//! [`Problem`] a file that cannot be read or understood turns into.

use crate::text::location::{LineIndex, Location, Span};
use std::path::{Path, PathBuf};

/// One file's text with what is needed to turn byte spans into locations.
#[derive(Debug)]
pub struct SourceText {
    pub path: PathBuf,
    /// The path as shown to users (relative as given on the command line, `/`-separated).
    pub display: String,
    pub text: String,
    pub index: LineIndex,
    /// True when the file was read from inside a built image.
    pub in_image: bool,
}

impl SourceText {
    pub fn new(path: impl Into<PathBuf>, display: impl Into<String>, text: String) -> Self {
        let index = LineIndex::new(&text);
        SourceText { path: path.into(), display: display.into(), text, index, in_image: false }
    }

    /// For tests and in-memory sources: the display name is the path itself.
    pub fn from_str(path: &str, text: &str) -> Self {
        SourceText::new(path, path, text.to_string())
    }

    pub fn location(&self, span: Span) -> Location {
        let mut loc = self.index.location(&self.display, &self.text, span);
        loc.in_image = self.in_image;
        loc
    }

    pub fn file_location(&self) -> Location {
        let mut loc = Location::file_only(&self.display);
        loc.in_image = self.in_image;
        loc.span = Some(0..0);
        loc
    }
}

/// Something that kept (part of) a file from being understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub location: Location,
}

/// Files larger than this are not sources anyone writes by hand; reading them whole would only
/// risk memory.
const MAX_SOURCE_BYTES: u64 = 256 * 1024 * 1024;

pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `./a/b` → `a/b`, and `/` separators on every platform.
pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut text = text.as_str();
    while let Some(rest) = text.strip_prefix("./") {
        text = rest;
    }
    text.to_string()
}

/// Read a source as text. A binary or non-UTF-8 file is a problem, positioned where the
/// offending byte is.
pub fn read_source(path: &Path, display: &str) -> Result<SourceText, Problem> {
    let problem = |message: String, location: Location| Problem { message, location };
    let meta = std::fs::metadata(path)
        .map_err(|e| problem(format!("cannot be read: {}", io_message(&e)), Location::file_only(display)))?;
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(problem(
            format!(
                "is {} bytes, larger than the {} byte limit for a source file",
                meta.len(),
                MAX_SOURCE_BYTES
            ),
            Location::file_only(display),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| problem(format!("cannot be read: {}", io_message(&e)), Location::file_only(display)))?;
    source_from_bytes(path, display, bytes)
}

/// Decode bytes as a source text, rejecting binary content.
pub fn source_from_bytes(path: &Path, display: &str, bytes: Vec<u8>) -> Result<SourceText, Problem> {
    // Where the text stops being text: the end of the readable prefix.
    let at = |prefix: &[u8]| {
        let prefix = String::from_utf8_lossy(prefix);
        let (line, column) = crate::text::location::LineIndex::new(&prefix).line_col(&prefix, prefix.len());
        Location { file: display.into(), line, column, in_image: false, span: None }
    };
    if let Some(nul) = memchr_nul(&bytes) {
        return Err(Problem {
            message: "is a binary file (it contains a NUL byte), not a text source".into(),
            location: at(&bytes[..nul]),
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            return Err(Problem { message: "is not valid UTF-8 text".into(), location: at(&bytes[..valid]) });
        }
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    Ok(SourceText::new(path, display, text))
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}
