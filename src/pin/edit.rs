//! Text edits: a byte range of one file and what replaces it, applied so that every byte
//! outside the ranges stays as it was (comments, quoting, CRLF, indentation).

use crate::reference::imageref::ImageRef;
use crate::text::location::Span;
use sha2::{Digest, Sha256};

/// Replace `range` of the file shown as `file` by `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub file: String,
    pub range: Span,
    pub text: String,
}

/// Two edits that touch the same bytes differently: pinning cannot decide between them.
#[derive(Debug, PartialEq, Eq)]
pub struct Conflict {
    pub file: String,
    pub range: Span,
}

/// `written` with `digest` pinned: `repo:tag@D`; a `latest` tag, written or implied, is dropped
/// (`repo@D`: Kubernetes would still default `repo:latest@D` to pull policy Always); a digest
/// already written is replaced. `None` when `written` is not a reference.
pub fn pinned_text(written: &str, digest: &str) -> Option<String> {
    let r = ImageRef::parse(written).ok()?;
    let mut head_end = r.digest_span().map_or(written.len(), |d| d.start - 1);
    if let Some(tag) = r.tag_span().filter(|t| &written[t.clone()] == "latest") {
        head_end = tag.start - 1;
    }
    Some(format!("{}@{digest}", &written[..head_end]))
}

/// `H` of a `dir:` copy and an image list line: the lowercase hex SHA-256 of the reference
/// followed by a newline (DOMAIN.md §2.A).
pub fn list_hash(reference: &str) -> String {
    hex::encode(Sha256::digest(format!("{reference}\n").as_bytes()))
}

/// Apply the edits of one file to its text. Edits are sorted and deduplicated first; two
/// different edits of overlapping ranges are a conflict, and the text is left unchanged.
pub fn apply(text: &str, edits: &mut Vec<Edit>) -> Result<String, Conflict> {
    edits.sort_by(|a, b| (a.range.start, a.range.end, &a.text).cmp(&(b.range.start, b.range.end, &b.text)));
    edits.dedup();
    for pair in edits.windows(2) {
        if pair[1].range.start < pair[0].range.end
            || (pair[1].range.start == pair[0].range.start && pair[0].range.is_empty())
        {
            return Err(Conflict { file: pair[0].file.clone(), range: pair[0].range.clone() });
        }
    }
    let mut out = String::with_capacity(text.len() + edits.len() * 72);
    let mut at = 0;
    for e in edits.iter() {
        let (Some(before), true) = (text.get(at..e.range.start), e.range.end <= text.len()) else {
            return Err(Conflict { file: e.file.clone(), range: e.range.clone() });
        };
        out.push_str(before);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// The line ending the text uses (its first line's), for lines pin inserts.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(at) if at > 0 && text.as_bytes()[at - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn a_tag_is_kept_and_latest_is_dropped() {
        assert_eq!(pinned_text("quay.io/x/app:1.2", D).unwrap(), format!("quay.io/x/app:1.2@{D}"));
        assert_eq!(pinned_text("quay.io/x/app:latest", D).unwrap(), format!("quay.io/x/app@{D}"));
        assert_eq!(pinned_text("nginx", D).unwrap(), format!("nginx@{D}"));
        assert_eq!(pinned_text("localhost:5000/app", D).unwrap(), format!("localhost:5000/app@{D}"));
        let old = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        assert_eq!(pinned_text(&format!("r.io/a:2@{old}"), D).unwrap(), format!("r.io/a:2@{D}"));
        assert!(pinned_text("$BASE", D).is_none());
    }

    #[test]
    fn the_list_hash_is_that_of_the_reference_and_a_newline() {
        // echo quay.io/x/app:1 | sha256sum
        assert_eq!(
            list_hash("quay.io/x/app:1"),
            "5122cd0cafc57a3c71b30cf93354544accf9437ef90f92faf89df5c2ed678d97"
        );
    }

    #[test]
    fn edits_leave_every_other_byte_alone() {
        let text = "a: x\r\nb: y # keep\r\n";
        let e = |range: Span, t: &str| Edit { file: "f".into(), range, text: t.into() };
        let mut edits = vec![e(9..10, "Y"), e(3..4, "X"), e(3..4, "X")];
        assert_eq!(apply(text, &mut edits).unwrap(), "a: X\r\nb: Y # keep\r\n");
        let mut clash = vec![e(3..4, "X"), e(3..4, "Z")];
        assert!(apply(text, &mut clash).is_err());
        assert_eq!(line_ending(text), "\r\n");
        assert_eq!(line_ending("a\nb"), "\n");
    }
}
