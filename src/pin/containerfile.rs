//! Containerfile specifics of pinning: the `ARG` default a `FROM $BASE` uses whole, and the
//! `H` (sha256 of the reference and a newline) written next to an embedded reference — in the
//! `dir:…/H` path and a `REF,H` line of the Containerfile, and in image lists of the repository.

use super::edit::{Edit, list_hash};
use crate::text::location::Span;

/// The name of a build argument used whole: `$NAME` or `${NAME}`.
pub fn whole_arg(image: &str) -> Option<&str> {
    let name = match image.strip_prefix("${") {
        Some(rest) => rest.strip_suffix('}')?,
        None => image.strip_prefix('$')?,
    };
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ident.then_some(name)
}

/// The byte range of the default of the last `ARG NAME=DEFAULT` before `before` (quotes
/// excluded), when the default is written literally as `value`.
pub fn arg_default(text: &str, name: &str, before: usize, value: &str) -> Option<Span> {
    let mut found = None;
    let mut start = 0;
    for line in text[..before.min(text.len())].split_inclusive('\n') {
        let trimmed = line.trim_start();
        let keyword = trimmed.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("ARG ") || k == "ARG\t");
        if keyword {
            let offset = start + (line.len() - trimmed.len()) + 4;
            if let Some(span) = default_in(&text[offset..start + line.len()], name) {
                found = Some(offset + span.start..offset + span.end);
            }
        }
        start += line.len();
    }
    found.filter(|s| text.get(s.clone()) == Some(value))
}

/// In the words after `ARG`, the value of `NAME=VALUE` (inside its quotes, if any).
fn default_in(words: &str, name: &str) -> Option<Span> {
    let mut at = 0;
    let bytes = words.as_bytes();
    while at < words.len() {
        while at < words.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let word_start = at;
        let mut quote: Option<u8> = None;
        while at < words.len() {
            let b = bytes[at];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b.is_ascii_whitespace() => break,
                None => {}
            }
            at += 1;
        }
        let word = &words[word_start..at];
        if let Some(value) = word.strip_prefix(name).and_then(|w| w.strip_prefix('=')) {
            let value_start = word_start + name.len() + 1;
            let quoted = value.len() >= 2
                && (value.starts_with('"') && value.ends_with('"')
                    || value.starts_with('\'') && value.ends_with('\''));
            return Some(if quoted { value_start + 1..at - 1 } else { value_start..at });
        }
    }
    None
}

/// The `H` of `old` rewritten to that of `new` in a Containerfile: every `old,H` becomes
/// `new,H'`, every other literal `H` becomes `H'`.
pub fn hash_edits(file: &str, text: &str, old: &str, new: &str) -> Vec<Edit> {
    let (old_h, new_h) = (list_hash(old), list_hash(new));
    let line = format!("{old},{old_h}");
    let mut edits = Vec::new();
    let mut taken: Vec<Span> = Vec::new();
    for (start, _) in text.match_indices(&line) {
        if !bounded(text, start, start + line.len(), true) {
            continue;
        }
        edits.push(Edit {
            file: file.into(),
            range: start..start + line.len(),
            text: format!("{new},{new_h}"),
        });
        taken.push(start..start + line.len());
    }
    for (start, _) in text.match_indices(&old_h) {
        if taken.iter().any(|t| t.contains(&start)) || !bounded(text, start, start + old_h.len(), false) {
            continue;
        }
        edits.push(Edit { file: file.into(), range: start..start + old_h.len(), text: new_h.clone() });
    }
    edits
}

/// Whether `start..end` is not part of a longer hex word, or reference word when `reference`.
fn bounded(text: &str, start: usize, end: usize, reference: bool) -> bool {
    let word =
        |c: char| c.is_ascii_alphanumeric() || (reference && matches!(c, '.' | '-' | '_' | ':' | '@' | '/'));
    !text[..start].chars().next_back().is_some_and(word) && !text[end..].chars().next().is_some_and(word)
}

/// In an image list (`REF,H` lines), the lines for `old` with the `H` of `old` rewritten to
/// `new` and its `H`.
pub fn list_edits(file: &str, text: &str, old: &str, new: &str) -> Vec<Edit> {
    let line = format!("{old},{}", list_hash(old));
    let mut edits = Vec::new();
    let mut start = 0;
    for l in text.split_inclusive('\n') {
        if l.trim_end_matches(['\n', '\r']) == line {
            edits.push(Edit {
                file: file.into(),
                range: start..start + line.len(),
                text: format!("{new},{}", list_hash(new)),
            });
        }
        start += l.len();
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_argument_used_whole() {
        assert_eq!(whole_arg("$BASE"), Some("BASE"));
        assert_eq!(whole_arg("${BASE}"), Some("BASE"));
        assert_eq!(whole_arg("$REG/app:$TAG"), None);
        assert_eq!(whole_arg("${BASE:-x}"), None);
        assert_eq!(whole_arg("quay.io/x"), None);
    }

    #[test]
    fn the_last_default_before_the_use_is_found_inside_its_quotes() {
        let text = "ARG BASE=a:1\nARG X=1 BASE=\"q.io/b:2\"\r\nFROM $BASE\nARG BASE=c:3\n";
        let at = text.find("FROM").unwrap();
        let span = arg_default(text, "BASE", at, "q.io/b:2").unwrap();
        assert_eq!(&text[span], "q.io/b:2");
        assert_eq!(arg_default(text, "BASE", at, "a:1"), None, "a later ARG wins");
        assert_eq!(arg_default("ARG BASEX=a\nFROM $BASE", "BASE", 12, "a"), None);
    }

    #[test]
    fn hashes_next_to_the_reference_follow_it() {
        let (old, new) = ("q.io/a:1", "q.io/a:1@sha256:00");
        let h = list_hash(old);
        let text =
            format!("RUN skopeo copy docker://{old} dir:/s/{h} && echo \"{old},{h}\" >> /s/image-list.txt\n");
        let mut edits = hash_edits("C", &text, old, new);
        let out = super::super::edit::apply(&text, &mut edits).unwrap();
        let nh = list_hash(new);
        assert_eq!(
            out,
            format!(
                "RUN skopeo copy docker://{old} dir:/s/{nh} && echo \"{new},{nh}\" >> /s/image-list.txt\n"
            )
        );
        let list = format!("other,{}\r\n{old},{h}\r\n", list_hash("other"));
        let mut edits = list_edits("l", &list, old, new);
        let out = super::super::edit::apply(&list, &mut edits).unwrap();
        assert_eq!(out, format!("other,{}\r\n{new},{nh}\r\n", list_hash("other")));
    }
}
