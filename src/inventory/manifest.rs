//! The small JSON documents every carrying method shares: image manifests (OCI, Docker
//! schema 2 and schema 1), manifest lists / OCI indexes, and image configs.

use serde_json::Value;

/// A content descriptor: what a manifest or index points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub digest: String,
    pub size: Option<u64>,
    /// `platform.architecture[/variant]` (index entries only).
    pub platform: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Manifest {
    /// A manifest list / OCI index.
    Index { manifests: Vec<Descriptor> },
    /// A single-image manifest: its config and layers (schema 1 has no config but names its
    /// architecture).
    Image { config: Option<Descriptor>, layers: Vec<Descriptor>, architecture: Option<String> },
}

/// What is wrong with a manifest or index, in words that follow "manifest.json is".
#[derive(Debug, thiserror::Error)]
pub(crate) enum ManifestError {
    #[error("not valid JSON ({0})")]
    Json(#[source] serde_json::Error),
    #[error("not a JSON object")]
    NotAnObject,
    #[error("`manifests` is not a list")]
    ManifestsNotAList,
    #[error("neither an image manifest (no `config`) nor an index (no `manifests`)")]
    Neither,
}

/// Parse a manifest or index; the error says what is wrong in words.
pub(crate) fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let v: Value = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
    let Value::Object(obj) = &v else { return Err(ManifestError::NotAnObject) };
    if let Some(list) = obj.get("manifests") {
        let Value::Array(items) = list else { return Err(ManifestError::ManifestsNotAList) };
        return Ok(Manifest::Index { manifests: items.iter().filter_map(descriptor).collect() });
    }
    if obj.get("schemaVersion").and_then(Value::as_u64) == Some(1) {
        let layers = obj
            .get("fsLayers")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.get("blobSum").and_then(Value::as_str))
                    .map(|d| Descriptor { digest: d.to_string(), size: None, platform: None })
                    .collect()
            })
            .unwrap_or_default();
        let architecture = obj.get("architecture").and_then(Value::as_str).map(str::to_string);
        return Ok(Manifest::Image { config: None, layers, architecture });
    }
    let config = obj.get("config").and_then(descriptor);
    if config.is_none() {
        return Err(ManifestError::Neither);
    }
    let layers = obj
        .get("layers")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(descriptor).collect())
        .unwrap_or_default();
    Ok(Manifest::Image { config, layers, architecture: None })
}

fn descriptor(v: &Value) -> Option<Descriptor> {
    let digest = v.get("digest")?.as_str()?.to_string();
    let size = v.get("size").and_then(Value::as_u64);
    let platform = v.get("platform").and_then(|p| {
        let arch = p.get("architecture")?.as_str()?;
        Some(match p.get("variant").and_then(Value::as_str) {
            Some(variant) if !variant.is_empty() => format!("{arch}/{variant}"),
            _ => arch.to_string(),
        })
    });
    Some(Descriptor { digest, size, platform })
}

/// `architecture[/variant]` of an image config.
pub(crate) fn config_architecture(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let arch = v.get("architecture")?.as_str()?;
    if arch.is_empty() {
        return None;
    }
    Some(match v.get("variant").and_then(Value::as_str) {
        Some(variant) if !variant.is_empty() => format!("{arch}/{variant}"),
        _ => arch.to_string(),
    })
}

/// The encoded part of a `sha256:<hex>` digest, if that is what it is.
pub(crate) fn sha256_hex_of(digest: &str) -> Option<&str> {
    digest.strip_prefix("sha256:").filter(|h| super::is_hex64(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_indexes_and_configs() {
        let m = br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":2},"layers":[{"digest":"sha256:l","size":9}]}"#;
        assert_eq!(
            parse(m).ok(),
            Some(Manifest::Image {
                config: Some(Descriptor { digest: "sha256:c".into(), size: Some(2), platform: None }),
                layers: vec![Descriptor { digest: "sha256:l".into(), size: Some(9), platform: None }],
                architecture: None,
            })
        );
        let i = br#"{"manifests":[{"digest":"sha256:a","platform":{"architecture":"arm64","variant":"v8","os":"linux"}}]}"#;
        let Ok(Manifest::Index { manifests }) = parse(i) else { panic!("an index") };
        assert_eq!(manifests[0].platform.as_deref(), Some("arm64/v8"));
        let s1 = br#"{"schemaVersion":1,"architecture":"amd64","fsLayers":[{"blobSum":"sha256:x"}]}"#;
        let Ok(Manifest::Image { architecture, layers, .. }) = parse(s1) else { panic!("schema 1") };
        assert_eq!((architecture.as_deref(), layers.len()), (Some("amd64"), 1));
        assert_eq!(parse(b"[]").unwrap_err().to_string(), "not a JSON object");
        assert_eq!(
            parse(b"{").unwrap_err().to_string(),
            "not valid JSON (EOF while parsing an object at line 1 column 1)"
        );
        assert_eq!(parse(br#"{"manifests":{}}"#).unwrap_err().to_string(), "`manifests` is not a list");
        assert_eq!(
            parse(br#"{"schemaVersion":2}"#).unwrap_err().to_string(),
            "neither an image manifest (no `config`) nor an index (no `manifests`)"
        );
        assert_eq!(
            config_architecture(br#"{"architecture":"arm","variant":"v7"}"#).as_deref(),
            Some("arm/v7")
        );
        assert_eq!(config_architecture(b"{}"), None);
    }
}
