//! The JSON documents of an image: OCI / Docker schema 2 manifests, indexes (manifest lists)
//! and image configs, and platform selection in an index.

use super::{Cause, ImageConfig};
use crate::reference::platform::Platform;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<DescPlatform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DescPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// A manifest or an index: which one is decided by the fields present.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl Manifest {
    pub fn parse(bytes: &[u8], what: &str) -> Result<Manifest, Cause> {
        serde_json::from_slice(bytes).map_err(|e| Cause::Corrupt(format!("{what} is not a manifest: {e}")))
    }

    pub fn is_index(&self) -> bool {
        self.config.is_none() && !self.manifests.is_empty()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawConfig {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub config: Option<RawRuntimeConfig>,
    #[serde(default)]
    pub rootfs: Option<RawRootfs>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawRuntimeConfig {
    #[serde(default, rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawRootfs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl RawConfig {
    pub fn parse(bytes: &[u8]) -> Result<RawConfig, Cause> {
        serde_json::from_slice(bytes)
            .map_err(|e| Cause::Corrupt(format!("the image config is not valid: {e}")))
    }

    pub fn into_config(self, digest: Option<String>) -> ImageConfig {
        ImageConfig {
            architecture: self.architecture,
            os: self.os,
            variant: self.variant,
            labels: self.config.and_then(|c| c.labels).unwrap_or_default(),
            created: self.created,
            digest,
        }
    }
}

/// `os/arch[/variant]` of each entry of an index that names its platform.
pub fn platforms(index: &Manifest) -> Vec<String> {
    index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect()
}

/// Pick the manifest for `want` in an index: same os and architecture, and the same variant
/// when one is asked for (else the first of that os/arch, as containers/image does when the
/// variant is not given).
pub fn select_platform<'a>(index: &'a Manifest, want: &Platform) -> Result<&'a Descriptor, Cause> {
    let platform_matches = |d: &Descriptor, exact: bool| {
        d.platform.as_ref().is_some_and(|p| {
            let variant = match (want.variant.as_deref(), p.variant.as_deref()) {
                (None, _) => true,
                (Some(w), Some(h)) => w == h,
                // An arm64 entry without a variant is v8, as containers/image reads it.
                (Some("v8"), None) => !exact && want.arch == "arm64",
                (Some(_), None) => false,
            };
            p.os == want.os && p.architecture == want.arch && variant
        })
    };
    // The exact variant first, then a compatible one.
    let found = index
        .manifests
        .iter()
        .find(|d| platform_matches(d, true))
        .or_else(|| index.manifests.iter().find(|d| platform_matches(d, false)));
    found.ok_or_else(|| {
        let have = platforms(index);
        Cause::NotFound(format!(
            "no manifest for platform {} in the index (it has: {}); choose one with --arch, --os, --variant",
            want.to_oci(),
            if have.is_empty() { "none with a platform".into() } else { have.join(", ") }
        ))
    })
}

/// Layer media types that are tar streams (compressed or not); anything else (e.g. an
/// artifact) is refused rather than misread.
pub fn is_layer_media_type(media_type: Option<&str>) -> bool {
    match media_type {
        None => true,
        Some(m) => m.contains("tar") || m.starts_with("application/vnd.docker.image.rootfs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_selection() {
        let index = Manifest::parse(
            br#"{"manifests":[
              {"digest":"sha256:a","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
              {"digest":"sha256:b","size":1,"platform":{"architecture":"amd64","os":"linux"}}]}"#,
            "index",
        )
        .unwrap();
        assert!(index.is_index());
        let p = |s: &str| Platform::parse(s).unwrap();
        assert_eq!(select_platform(&index, &p("amd64")).unwrap().digest, "sha256:b");
        assert_eq!(select_platform(&index, &p("aarch64")).unwrap().digest, "sha256:a");
        assert_eq!(select_platform(&index, &p("linux/arm64/v8")).unwrap().digest, "sha256:a");
        let err = select_platform(&index, &p("s390x")).unwrap_err().to_string();
        assert!(err.contains("linux/arm64/v8, linux/amd64"), "{err}");
        assert!(select_platform(&index, &p("linux/arm64/v9")).is_err());
        assert!(select_platform(&index, &p("windows/amd64")).is_err());
        // arm64 without a variant is v8; an exact variant wins over that.
        let index = Manifest::parse(
            br#"{"manifests":[
              {"digest":"sha256:plain","size":1,"platform":{"architecture":"arm64","os":"linux"}},
              {"digest":"sha256:v8","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
              {"digest":"sha256:v7","size":1,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#,
            "index",
        )
        .unwrap();
        assert_eq!(select_platform(&index, &p("linux/arm64/v8")).unwrap().digest, "sha256:v8");
        assert_eq!(select_platform(&index, &p("arm64")).unwrap().digest, "sha256:plain");
        assert_eq!(select_platform(&index, &p("linux/arm/v7")).unwrap().digest, "sha256:v7");
        assert!(select_platform(&index, &p("linux/arm/v6")).is_err(), "only arm64 has a default variant");
        let only_plain = Manifest::parse(
            br#"{"manifests":[{"digest":"sha256:plain","size":1,"platform":{"architecture":"arm64","os":"linux"}}]}"#,
            "index",
        )
        .unwrap();
        assert_eq!(select_platform(&only_plain, &p("linux/arm64/v8")).unwrap().digest, "sha256:plain");
    }
}
