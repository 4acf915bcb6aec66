//! containers/storage's own records: `<driver>-images/images.json`, `<driver>-layers/layers.json`
//! and the file names of big-data items. Read by the `containers-storage:` transport on the host
//! and by the inventory inside an image.

use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One entry of a store's `<driver>-images/images.json` (the fields stowage reads); read by
/// the `containers-storage:` transport on the host and by the inventory inside an image.
#[derive(Debug, Deserialize)]
pub(crate) struct ImageRecord {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) digest: Option<String>,
    #[serde(default)]
    pub(crate) names: Vec<String>,
    #[serde(default)]
    pub(crate) layer: Option<String>,
    #[serde(default, rename = "big-data-names")]
    pub(crate) big_data_names: Vec<String>,
    #[serde(default, rename = "big-data-sizes")]
    pub(crate) big_data_sizes: BTreeMap<String, i64>,
    #[serde(default, rename = "big-data-digests")]
    pub(crate) big_data_digests: BTreeMap<String, String>,
}

/// One entry of `<driver>-layers/layers.json`.
#[derive(Debug, Deserialize, Clone)]
pub(crate) struct LayerRecord {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) parent: Option<String>,
    #[serde(default, rename = "diff-size")]
    pub(crate) diff_size: Option<i64>,
    #[serde(default)]
    pub(crate) flags: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The file name containers/storage gives a big-data key: the key itself when it is made of
/// `[0-9a-z.]` only, else `=` + standard base64 of the key.
pub fn big_data_file_name(key: &str) -> String {
    if key.bytes().all(|b| b == b'.' || b.is_ascii_digit() || b.is_ascii_lowercase()) {
        key.to_string()
    } else {
        format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_data_names_as_containers_storage_writes_them() {
        assert_eq!(big_data_file_name("manifest"), "manifest");
        // Seen in a store written by skopeo 1.9 (fixtures/inventory/overlay-conf).
        assert_eq!(
            big_data_file_name("sha256:bc94b6df0d67b95a12315b374cba46ba59eb74acea69780744695e9321d80ab7"),
            "=c2hhMjU2OmJjOTRiNmRmMGQ2N2I5NWExMjMxNWIzNzRjYmE0NmJhNTllYjc0YWNlYTY5NzgwNzQ0Njk1ZTkzMjFkODBhYjc="
        );
        assert_eq!(big_data_file_name("Manifest"), "=TWFuaWZlc3Q=");
    }
}
