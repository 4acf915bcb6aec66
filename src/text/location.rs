//! Positions in source files: byte spans inside the parsers, 1-based line and
//! code-point column at the edges (JSON, compact output, SARIF).

use serde::Serialize;
use std::ops::Range;

/// A byte range into a file's text.
pub type Span = Range<usize>;

/// Where something is, as users see it: a file, a 1-based line and a 1-based column counted
/// in Unicode code points. `span` keeps the byte range for source excerpts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_image: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Ord for Location {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.file, self.line, self.column, self.in_image).cmp(&(
            &other.file,
            other.line,
            other.column,
            other.in_image,
        ))
    }
}

impl PartialOrd for Location {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Location {
    /// A location that names a file and nothing more precise (line 1, column 1).
    pub fn file_only(file: impl Into<String>) -> Self {
        Location { file: file.into(), line: 1, column: 1, in_image: false, span: None }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Maps byte offsets of one text to lines and code-point columns.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr_newlines(text.as_bytes()).map(|i| i + 1));
        LineIndex { line_starts }
    }

    /// 1-based (line, column) of a byte offset; the column counts code points. Offsets past
    /// the end or inside a UTF-8 sequence are clamped to the nearest earlier boundary.
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = text[start..offset].chars().count() + 1;
        (line as u32 + 1, column as u32)
    }

    /// Byte offset of a 1-based line and code-point column (the inverse of `line_col`).
    pub fn offset(&self, text: &str, line: u32, column: u32) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1) as usize) else {
            return text.len();
        };
        text[start..]
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(text.len(), |(i, _)| start + i)
    }

    pub fn location(&self, file: &str, text: &str, span: Span) -> Location {
        let (line, column) = self.line_col(text, span.start);
        Location { file: file.to_string(), line, column, in_image: false, span: Some(span) }
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i)
}

/// The byte offset in `text` of a 1-based line and column as the YAML parser counts them: a
/// line ends at `\n`, `\r\n` or a lone `\r` (YAML 1.2 §5.4, where [`LineIndex`] counts `\n`
/// only), a column counts characters. A position past the end of its line, or of the text, is
/// clamped to that end, so that a location made from it always lies in the file.
///
/// [`LineIndex`]: crate::text::location::LineIndex
pub fn position_offset(text: &str, line: u64, column: u64) -> usize {
    let bytes = text.as_bytes();
    let mut start = 0;
    for _ in 1..line {
        let Some(i) = bytes[start..].iter().position(|&b| b == b'\n' || b == b'\r') else {
            return text.len();
        };
        let i = start + i;
        start = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') { i + 2 } else { i + 1 };
    }
    let end = bytes[start..].iter().position(|&b| b == b'\n' || b == b'\r').map_or(text.len(), |i| start + i);
    let column = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    text[start..end].char_indices().nth(column).map_or(end, |(i, _)| start + i)
}

/// Turn document-relative spans into file spans, drop the quotes of quoted scalars, give
/// numbers their source text and collections an end. Recursion is bounded by `MAX_DEPTH`.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_positions_count_every_line_break() {
        let text = "ab\r\ncd\ref\ngh";
        assert_eq!(position_offset(text, 1, 2), 1);
        assert_eq!(position_offset(text, 2, 1), 4);
        assert_eq!(position_offset(text, 3, 2), 8);
        assert_eq!(position_offset(text, 4, 1), 10);
        // Past the end of a line, of the text: clamped.
        assert_eq!(position_offset(text, 1, 9), 2);
        assert_eq!(position_offset(text, 9, 1), text.len());
        assert_eq!(position_offset("é\nx", 1, 2), 2);
    }

    #[test]
    fn columns_count_code_points() {
        let text = "a: b\nné: «x»\n";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.line_col(text, x), (2, 6));
        assert_eq!(idx.offset(text, 2, 6), x);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, text.len()), (3, 1));
    }
}
