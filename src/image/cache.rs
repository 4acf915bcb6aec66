//! Per-layer result cache: the watched changes of a layer, keyed by its digest and the tool
//! version, under `$XDG_CACHE_HOME/stowage/layers/`. The base layers of a bootc image are
//! shared by every build, so a re-audit reads only new layers.
//!
//! Each entry is two lines: the SHA-256 of the second line, then the JSON of the changes. An
//! entry that does not check out (truncated, edited, from another version) is ignored and
//! rewritten, never trusted.

use super::ImageOptions;
use super::layer::{Item, LayerChanges};
use super::view::{Entry, MAX_CONTENT_BYTES, Watch};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// Bump when the meaning of a cached result changes (capture policy, format).
const FORMAT: u32 = 2;

pub struct Cache {
    dir: Option<PathBuf>,
    /// What was watched: an entry read with `/var` watched is not one read without it.
    watch: Watch,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    key: String,
    opaque: Vec<String>,
    whiteouts: Vec<String>,
    unsafe_entries: u64,
    items: Vec<StoredItem>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t")]
enum StoredItem {
    #[serde(rename = "f")]
    File { p: String, size: u64, mode: u32, hex: Option<String> },
    #[serde(rename = "d")]
    Dir { p: String, mode: u32 },
    #[serde(rename = "l")]
    Symlink { p: String, target: String },
    #[serde(rename = "h")]
    HardLink { p: String, target: String },
    #[serde(rename = "o")]
    Other { p: String, kind: char },
}

/// The default cache directory: `$XDG_CACHE_HOME/stowage`, else `~/.cache/stowage`.
pub fn default_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    Some(base.join("stowage"))
}

impl Cache {
    pub fn new(opts: &ImageOptions) -> Cache {
        let dir = if opts.use_cache { opts.cache_dir.clone().or_else(default_dir) } else { None };
        Cache { dir: dir.map(|d| d.join("layers")), watch: opts.watch }
    }

    fn file(&self, key: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut h = Sha256::new();
        h.update(format!("stowage {} format {FORMAT} max {MAX_CONTENT_BYTES}\n", env!("CARGO_PKG_VERSION")));
        h.update(self.watch.cache_key().as_bytes());
        h.update(b"\n");
        h.update(key.as_bytes());
        Some(dir.join(format!("{}.json", hex::encode(h.finalize()))))
    }

    /// The cached changes of the layer `key`, if a valid entry exists.
    pub fn get(&self, key: &str) -> Option<LayerChanges> {
        let text = std::fs::read_to_string(self.file(key)?).ok()?;
        let (sum, body) = text.split_once('\n')?;
        if hex::encode(Sha256::digest(body.as_bytes())) != sum {
            return None;
        }
        let stored: Stored = serde_json::from_str(body).ok()?;
        if stored.key != key {
            return None;
        }
        from_stored(stored)
    }

    /// Store the changes of the layer `key`; failures only cost a re-read next time.
    pub fn put(&self, key: &str, changes: &LayerChanges) {
        let Some(file) = self.file(key) else { return };
        let Some(dir) = file.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let Ok(body) = serde_json::to_string(&to_stored(key, changes)) else { return };
        let text = format!("{}\n{body}", hex::encode(Sha256::digest(body.as_bytes())));
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), rand_suffix()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let thread = format!("{:?}", std::thread::current().id());
    u64::from(nanos) ^ (thread.len() as u64).rotate_left(32) ^ (&thread as *const String as u64)
}

fn to_stored(key: &str, c: &LayerChanges) -> Stored {
    let items = c
        .items
        .iter()
        .map(|(p, item)| {
            let p = p.clone();
            match item {
                Item::HardLink(target) => StoredItem::HardLink { p, target: target.clone() },
                Item::Entry(Entry::File { size, mode, content }) => {
                    StoredItem::File { p, size: *size, mode: *mode, hex: content.as_ref().map(hex::encode) }
                }
                Item::Entry(Entry::Dir { mode }) => StoredItem::Dir { p, mode: *mode },
                Item::Entry(Entry::Symlink { target }) => StoredItem::Symlink { p, target: target.clone() },
                Item::Entry(Entry::Other { kind }) => StoredItem::Other { p, kind: *kind },
            }
        })
        .collect();
    Stored {
        key: key.to_string(),
        opaque: c.opaque.clone(),
        whiteouts: c.whiteouts.clone(),
        unsafe_entries: c.unsafe_entries,
        items,
    }
}

fn from_stored(s: Stored) -> Option<LayerChanges> {
    let mut items = Vec::with_capacity(s.items.len());
    for item in s.items {
        items.push(match item {
            StoredItem::File { p, size, mode, hex } => {
                let content = match hex {
                    Some(h) => Some(Arc::from(hex::decode(h).ok()?)),
                    None => None,
                };
                (p, Item::Entry(Entry::File { size, mode, content }))
            }
            StoredItem::Dir { p, mode } => (p, Item::Entry(Entry::Dir { mode })),
            StoredItem::Symlink { p, target } => (p, Item::Entry(Entry::Symlink { target })),
            StoredItem::HardLink { p, target } => (p, Item::HardLink(target)),
            StoredItem::Other { p, kind } => (p, Item::Entry(Entry::Other { kind })),
        });
    }
    Some(LayerChanges { opaque: s.opaque, whiteouts: s.whiteouts, items, unsafe_entries: s.unsafe_entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ImageOptions { cache_dir: Some(tmp.path().into()), ..Default::default() };
        let cache = Cache::new(&opts);
        let changes = LayerChanges {
            opaque: vec!["/etc/crio".into()],
            whiteouts: vec!["/etc/containers/x".into()],
            items: vec![
                (
                    "/etc/crio/a".into(),
                    Item::Entry(Entry::File { size: 2, mode: 0o644, content: Some(Arc::from(&b"hi"[..])) }),
                ),
                ("/etc/crio/b".into(), Item::HardLink("/etc/crio/a".into())),
                ("/etc/crio/c".into(), Item::Entry(Entry::Symlink { target: "a".into() })),
            ],
            unsafe_entries: 1,
        };
        assert_eq!(cache.get("sha256:1"), None);
        cache.put("sha256:1", &changes);
        assert_eq!(cache.get("sha256:1"), Some(changes.clone()));
        let file = cache.file("sha256:1").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("hi", "ho").replace("6869", "686f")).unwrap();
        assert_eq!(cache.get("sha256:1"), None, "a checksum mismatch is not trusted");
        std::fs::write(&file, &text[..text.len() / 2]).unwrap();
        assert_eq!(cache.get("sha256:1"), None);
        cache.put("sha256:1", &changes);
        assert_eq!(cache.get("sha256:1"), Some(changes));
        let off = Cache::new(&ImageOptions { use_cache: false, ..opts.clone() });
        assert_eq!(off.get("sha256:1"), None);
    }

    #[test]
    fn what_was_watched_is_part_of_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ImageOptions { cache_dir: Some(tmp.path().into()), ..Default::default() };
        let with_var = ImageOptions { watch: Watch { var: true }, ..opts.clone() };
        let changes = LayerChanges { opaque: vec!["/var".into()], ..Default::default() };
        Cache::new(&with_var).put("sha256:1", &changes);
        assert_eq!(Cache::new(&with_var).get("sha256:1"), Some(changes.clone()));
        assert_eq!(Cache::new(&opts).get("sha256:1"), None, "read without /var: not what the audit watches");
        Cache::new(&opts).put("sha256:2", &changes);
        assert_eq!(Cache::new(&with_var).get("sha256:2"), None, "read without /var: /var content missing");
    }
}
