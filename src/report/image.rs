//! `stowage ls`: the watched view of a built image, for debugging what stowage sees.

use crate::image::OpenedImage;
use crate::image::view::Entry;
use serde_json::json;

fn kind(entry: &Entry) -> (&'static str, String) {
    match entry {
        Entry::File { size, content, .. } => {
            ("file", if content.is_some() { size.to_string() } else { format!("{size} (not read)") })
        }
        Entry::Dir { .. } => ("dir", String::new()),
        Entry::Symlink { target } => ("link", format!("-> {target}")),
        Entry::Other { kind } => ("other", kind.to_string()),
    }
}

fn mode(entry: &Entry) -> Option<u32> {
    match entry {
        Entry::File { mode, .. } | Entry::Dir { mode } => Some(*mode),
        _ => None,
    }
}

/// One line per entry: `TYPE MODE PATH DETAIL`.
pub fn ls_table(image: &OpenedImage, path: &str) -> String {
    let mut out = String::new();
    for (p, entry) in image.view.walk(path) {
        let (k, detail) = kind(entry);
        let m = mode(entry).map(|m| format!("{m:04o}")).unwrap_or_else(|| "----".into());
        out.push_str(format!("{k:<5} {m} {p} {detail}").trim_end());
        out.push('\n');
    }
    out
}

/// One line on what was read, for stderr: layers, cache hits, and the layers listed from a
/// table of contents (zstd:chunked, eStargz), whose blob digests were not verified.
pub fn ls_summary(image: &OpenedImage) -> String {
    let s = &image.stats;
    let mut line = format!("{}: {} layers, {} from the cache", image.spec, s.layers, s.cached_layers);
    if s.toc_layers > 0 {
        line.push_str(&format!(
            ", {} listed from their table of contents (zstd:chunked or eStargz; blob digests not verified; \
             --verify reads them in full)",
            s.toc_layers
        ));
    }
    if s.unsafe_entries > 0 {
        line.push_str(&format!(", {} entries escaping the root ignored", s.unsafe_entries));
    }
    line
}

/// `{"image","config","stats","entries":[{"path","type","mode","size","read","target"}]}`.
pub fn ls_json(image: &OpenedImage, path: &str) -> String {
    let entries: Vec<serde_json::Value> = image
        .view
        .walk(path)
        .map(|(p, entry)| match entry {
            Entry::File { size, mode, content } => {
                json!({"path": p, "type": "file", "mode": mode, "size": size, "read": content.is_some()})
            }
            Entry::Dir { mode } => json!({"path": p, "type": "dir", "mode": mode}),
            Entry::Symlink { target } => json!({"path": p, "type": "link", "target": target}),
            Entry::Other { kind } => json!({"path": p, "type": "other", "kind": kind.to_string()}),
        })
        .collect();
    let doc = json!({"image": image.spec, "config": image.config, "stats": image.stats, "entries": entries});
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
