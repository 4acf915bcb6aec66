//! Pinning where kustomize decides the final image: the `images:` entry whose transformer set
//! the name or tag gets a `digest:` (kustomize then writes `name:newTag@digest`, or
//! `name@digest` without a `newTag`); a `newTag: latest` becomes the `digest:`. Editing the
//! base manifest instead would be undone by the entry's `newTag`. Block-style entries are
//! edited line by line, keeping their indentation, quoting, comments and line endings.

use super::edit::{Edit, line_ending};
use crate::text::location::Span;

/// One `key: value` line of an entry.
struct Field {
    key: String,
    /// From the key's first byte to the end of the value.
    whole: Span,
    /// The value, inside its quotes if any.
    value: Span,
}

/// The edits that pin the `images:` entry holding byte `at` (a value of the entry, where the
/// change was recorded) of the kustomization `text` to `digest`. `tag` is the final tag (not
/// `latest`): an entry without `newTag` gets it too, so that the result keeps it
/// (`name:tag@digest`, which `--update` can re-resolve) rather than becoming `name@digest`.
pub fn entry_edits(
    file: &str,
    text: &str,
    at: usize,
    tag: Option<&str>,
    digest: &str,
) -> Result<Vec<Edit>, String> {
    let lines = line_spans(text);
    let here = lines.iter().position(|l| l.contains(&at) || l.end == at).ok_or("the entry is not found")?;
    let (indent, _) = key_of(text, &lines[here])
        .ok_or("not a block-style `images:` entry (flow style?): add `digest:` by hand")?;
    let first = (0..=here)
        .rev()
        .find(|&i| item_start(text, &lines[i]) == Some(indent))
        .ok_or("not a block-style `images:` item")?;
    let mut fields = Vec::new();
    let mut last = first;
    for (i, line) in lines.iter().enumerate().skip(first) {
        if i > first && (item_start(text, line).is_some() || indent_of(text, line) < indent) {
            if text[line.clone()].trim().is_empty() {
                continue;
            }
            break;
        }
        if text[line.clone()].trim().is_empty() {
            continue;
        }
        last = i;
        if let Some(f) = field(text, line, indent) {
            fields.push(f);
        }
    }
    let value_of = |k: &str| fields.iter().find(|f| f.key == k);
    if let Some(d) = value_of("digest") {
        return Ok(vec![Edit { file: file.into(), range: d.value.clone(), text: digest.into() }]);
    }
    if let Some(tag) = value_of("newTag").filter(|t| text[t.value.clone()].trim() == "latest") {
        return Ok(vec![Edit {
            file: file.into(),
            range: tag.whole.clone(),
            text: format!("digest: {digest}"),
        }]);
    }
    let end = lines[last].end;
    let eol = line_ending(text);
    let missing_eol = if text[..end].ends_with('\n') { "" } else { eol };
    let pad = " ".repeat(indent);
    let mut line = missing_eol.to_string();
    if let Some(tag) = tag.filter(|_| value_of("newTag").is_none()) {
        line.push_str(&format!("{pad}newTag: \"{tag}\"{eol}"));
    }
    line.push_str(&format!("{pad}digest: {digest}{eol}"));
    Ok(vec![Edit { file: file.into(), range: end..end, text: line }])
}

/// The edits that add an `images:` entry for `name` (as the manifest writes it) to the
/// kustomization `text`: `newTag` (quoted, so that `1.0` stays a string) unless the tag is
/// `latest` or none, and `digest`. It goes at the end of the `images:` list, or in a new one at
/// the end of the file.
pub fn new_entry_edits(
    file: &str,
    text: &str,
    name: &str,
    tag: &str,
    digest: &str,
) -> Result<Vec<Edit>, String> {
    let eol = line_ending(text);
    let lines = line_spans(text);
    let key = lines.iter().position(|l| text[l.clone()].starts_with("images:"));
    let (at, indent, head) = match key {
        Some(k) => {
            let rest = text[lines[k].clone()]["images:".len()..].trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(
                    "the kustomization's `images:` is written in flow style: add the entry by hand".into()
                );
            }
            let mut last = k;
            let mut indent = None;
            for (i, l) in lines.iter().enumerate().skip(k + 1) {
                let line = &text[l.clone()];
                if line.trim().is_empty() || line.trim_start().starts_with('#') {
                    continue;
                }
                if !(line.starts_with(' ') || line.starts_with('-')) {
                    break;
                }
                indent.get_or_insert(indent_of(text, l));
                last = i;
            }
            (lines[last].end, indent.unwrap_or(0), String::new())
        }
        None => (text.len(), 0, format!("images:{eol}")),
    };
    let missing_eol = if at == 0 || text[..at].ends_with('\n') { "" } else { eol };
    let pad = " ".repeat(indent);
    let mut entry = format!("{missing_eol}{head}{pad}- name: {name}{eol}");
    if !tag.is_empty() && tag != "latest" {
        entry.push_str(&format!("{pad}  newTag: \"{tag}\"{eol}"));
    }
    entry.push_str(&format!("{pad}  digest: {digest}{eol}"));
    Ok(vec![Edit { file: file.into(), range: at..at, text: entry }])
}

/// The byte range of each line, its line ending included.
fn line_spans(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut start = 0;
    for l in text.split_inclusive('\n') {
        out.push(start..start + l.len());
        start += l.len();
    }
    out
}

fn indent_of(text: &str, line: &Span) -> usize {
    let l = &text[line.clone()];
    l.len() - l.trim_start_matches(' ').len()
}

/// The column of the key of a `- key: value` line (the first line of an item).
fn item_start(text: &str, line: &Span) -> Option<usize> {
    let l = &text[line.clone()];
    let rest = l.trim_start_matches(' ');
    let after = rest.strip_prefix('-')?;
    let spaces = after.len() - after.trim_start_matches(' ').len();
    (spaces > 0).then(|| l.len() - rest.len() + 1 + spaces)
}

/// The column of the line's key (after a `- `), and the key.
fn key_of<'t>(text: &'t str, line: &Span) -> Option<(usize, &'t str)> {
    let col = item_start(text, line).unwrap_or_else(|| indent_of(text, line));
    let rest = &text[line.start + col..line.end];
    let key_end = rest.find(':')?;
    let key = rest[..key_end].trim_matches(|c| c == '"' || c == '\'');
    let plain = key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (!key.is_empty() && plain).then_some((col, key))
}

/// The `key: value` of a line whose key is at `indent`.
fn field(text: &str, line: &Span, indent: usize) -> Option<Field> {
    let (col, key) = key_of(text, line)?;
    if col != indent {
        return None;
    }
    let key_start = line.start + col;
    let colon = key_start + text[key_start..line.end].find(':')?;
    let rest = &text[colon + 1..line.end];
    let value_start = colon + 1 + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
    let tail = &text[value_start..line.end];
    let mut value_end = value_start + tail.find(" #").unwrap_or(tail.len());
    while value_end > value_start && text.as_bytes()[value_end - 1].is_ascii_whitespace() {
        value_end -= 1;
    }
    let written = &text[value_start..value_end];
    let quoted = written.len() >= 2
        && (written.starts_with('"') && written.ends_with('"')
            || written.starts_with('\'') && written.ends_with('\''));
    let value = if quoted { value_start + 1..value_end - 1 } else { value_start..value_end };
    Some(Field { key: key.to_string(), whole: key_start..value_end, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::edit::apply;

    const D: &str = "sha256:00ff";

    fn pinned(text: &str, at: &str) -> String {
        let at = text.find(at).unwrap();
        let mut edits = entry_edits("k", text, at, Some("9"), D).unwrap();
        apply(text, &mut edits).unwrap()
    }

    #[test]
    fn a_digest_line_is_added_to_the_entry_that_set_the_tag() {
        let text = "resources:\r\n- ../base\r\nimages:\r\n- name: r.io/app # the app\r\n  newTag: \"2\"\r\n- name: r.io/db\r\n  newTag: \"5\"\r\n";
        assert_eq!(
            pinned(text, "\"2\""),
            "resources:\r\n- ../base\r\nimages:\r\n- name: r.io/app # the app\r\n  newTag: \"2\"\r\n  digest: sha256:00ff\r\n- name: r.io/db\r\n  newTag: \"5\"\r\n"
        );
        let indented = "images:\n  - newName: r.io/app\n    name: app\nother: 1";
        assert_eq!(
            pinned(indented, "r.io/app"),
            "images:\n  - newName: r.io/app\n    name: app\n    newTag: \"9\"\n    digest: sha256:00ff\nother: 1"
        );
        let at_eof = "images:\n- name: app\n  newTag: v1";
        assert_eq!(pinned(at_eof, "v1"), "images:\n- name: app\n  newTag: v1\n  digest: sha256:00ff\n");
    }

    #[test]
    fn latest_becomes_the_digest_and_a_digest_is_replaced() {
        assert_eq!(
            pinned("images:\n- name: app\n  newTag: latest # x\n", "latest"),
            "images:\n- name: app\n  digest: sha256:00ff # x\n"
        );
        assert_eq!(
            pinned("images:\n- name: app\n  newTag: v1\n  digest: 'sha256:aa'\n", "v1"),
            "images:\n- name: app\n  newTag: v1\n  digest: 'sha256:00ff'\n"
        );
    }

    #[test]
    fn an_overlay_without_an_entry_gets_one() {
        let add = |text: &str, tag: &str| {
            let mut edits = new_entry_edits("k", text, "r.io/svc", tag, D).unwrap();
            apply(text, &mut edits).unwrap()
        };
        assert_eq!(
            add("resources:\r\n- ../base\r\n", "1.0"),
            "resources:\r\n- ../base\r\nimages:\r\n- name: r.io/svc\r\n  newTag: \"1.0\"\r\n  digest: sha256:00ff\r\n"
        );
        assert_eq!(
            add("images:\n  - name: db\n    newTag: v1\n# done\nresources:\n- ../base", "latest"),
            "images:\n  - name: db\n    newTag: v1\n  - name: r.io/svc\n    digest: sha256:00ff\n# done\nresources:\n- ../base"
        );
        assert!(new_entry_edits("k", "images: []\n", "a", "", D).is_err());
    }

    #[test]
    fn a_flow_style_entry_is_left() {
        let text = "images:\n- {name: app, newTag: v1}\n";
        assert!(entry_edits("k", text, text.find("v1").unwrap(), None, D).is_err());
    }
}
