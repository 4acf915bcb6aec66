//! Finding the image in an OCI layout (directory or archive) and in a docker-archive.

use super::blobs::{BlobRef, BlobSource, verify_small};
use super::layer::Expect;
use super::manifest::{Manifest, RawConfig, is_layer_media_type, select_platform};
use super::{Cause, LayerDesc, Plan};
use crate::reference::platform::Platform;
use serde::Deserialize;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `index.json` → (tag or the only manifest) → (platform in an index) → manifest → config.
pub fn oci_layout_plan(
    source: &dyn BlobSource,
    tag: Option<&str>,
    platform: &Platform,
) -> Result<Plan, Cause> {
    let index = Manifest::parse(&source.read_small(&BlobRef::Member("index.json".into()))?, "index.json")?;
    let chosen = match tag {
        Some(tag) => index
            .manifests
            .iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
            .ok_or_else(|| {
                Cause::NotFound(format!("no image tagged `{tag}` in the layout ({})", tags(&index)))
            })?,
        None => match index.manifests.as_slice() {
            [only] => only,
            [] => return Err(Cause::NotFound("the layout's index.json lists no image".into())),
            _ => {
                return Err(Cause::NotFound(format!(
                    "the layout holds several images; name one with :TAG ({})",
                    tags(&index)
                )));
            }
        },
    };
    manifest_plan(source, chosen.digest.clone(), platform)
}

fn tags(index: &Manifest) -> String {
    let tags: Vec<&str> =
        index.manifests.iter().filter_map(|d| d.annotations.get(REF_NAME)).map(String::as_str).collect();
    if tags.is_empty() { "it has no tags".into() } else { format!("tags: {}", tags.join(", ")) }
}

/// From a manifest (or index) digest to the plan, following at most one index level per
/// step and a few levels in all.
pub fn manifest_plan(
    source: &dyn BlobSource,
    mut digest: String,
    platform: &Platform,
) -> Result<Plan, Cause> {
    for _ in 0..4 {
        let bytes = source.read_small(&BlobRef::Digest(digest.clone()))?;
        verify_small(&bytes, &digest)?;
        let manifest = Manifest::parse(&bytes, &digest)?;
        if manifest.is_index() {
            digest = select_platform(&manifest, platform)?.digest.clone();
            continue;
        }
        return single_manifest_plan(source, &manifest, digest);
    }
    Err(Cause::Corrupt("indexes nested too deeply".into()))
}

/// The plan of an image manifest already verified against `digest`: its config (read and
/// checked against its own digest) and its layers.
pub fn single_manifest_plan(
    source: &dyn BlobSource,
    manifest: &Manifest,
    digest: String,
) -> Result<Plan, Cause> {
    let config_desc =
        manifest.config.as_ref().ok_or_else(|| Cause::Corrupt(format!("manifest {digest} has no config")))?;
    let config_bytes = source.read_small(&BlobRef::Digest(config_desc.digest.clone()))?;
    verify_small(&config_bytes, &config_desc.digest)?;
    let config = RawConfig::parse(&config_bytes)?.into_config(Some(digest));
    Ok(Plan { layers: layer_descs(manifest)?, config })
}

pub fn layer_descs(manifest: &Manifest) -> Result<Vec<LayerDesc>, Cause> {
    manifest
        .layers
        .iter()
        .map(|l| {
            if !is_layer_media_type(l.media_type.as_deref()) {
                return Err(Cause::Unsupported(format!(
                    "layer {} has media type {}",
                    l.digest,
                    l.media_type.as_deref().unwrap_or("")
                )));
            }
            Ok(LayerDesc {
                blob: BlobRef::Digest(l.digest.clone()),
                expect: Expect::Blob(l.digest.clone()),
                size: l.size,
                toc: super::toc::TocHint::from_layer(l.media_type.as_deref(), &l.annotations),
            })
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct DockerManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// `manifest.json` (`docker save` and skopeo; Docker 25 writes the same file next to an OCI
/// layout): the config and layer tars by member path; layers are verified against the
/// config's diff IDs.
pub fn docker_archive_plan(
    source: &super::blobs::TarArchive,
    reference: Option<&str>,
) -> Result<Plan, Cause> {
    if !source.has("manifest.json") {
        return Err(Cause::Corrupt("no manifest.json: not a docker-archive".into()));
    }
    let bytes = source.read_small(&BlobRef::Member("manifest.json".into()))?;
    let items: Vec<DockerManifestItem> = serde_json::from_slice(&bytes)
        .map_err(|e| Cause::Corrupt(format!("manifest.json is not a docker-archive manifest: {e}")))?;
    let item = match reference {
        Some(r) => {
            let wanted = crate::reference::imageref::ImageRef::parse(r).map(|x| x.lookup_key()).ok();
            items
                .iter()
                .find(|i| {
                    i.repo_tags.iter().flatten().any(|t| {
                        t == r
                            || crate::reference::imageref::ImageRef::parse(t).map(|x| x.lookup_key()).ok()
                                == wanted
                    })
                })
                .ok_or_else(|| Cause::NotFound(format!("no image named `{r}` in the archive")))?
        }
        None => match items.as_slice() {
            [only] => only,
            [] => return Err(Cause::NotFound("manifest.json lists no image".into())),
            _ => return Err(Cause::NotFound("the archive holds several images; name one with :REF".into())),
        },
    };
    let config_bytes = source.read_small(&BlobRef::Member(item.config.clone()))?;
    let raw = RawConfig::parse(&config_bytes)?;
    let diff_ids = raw.rootfs.as_ref().map(|r| r.diff_ids.clone()).unwrap_or_default();
    if diff_ids.len() != item.layers.len() {
        return Err(Cause::Corrupt(format!(
            "the config lists {} layers, manifest.json {}",
            diff_ids.len(),
            item.layers.len()
        )));
    }
    let layers = item
        .layers
        .iter()
        .zip(&diff_ids)
        .map(|(member, diff_id)| LayerDesc {
            blob: BlobRef::Member(member.clone()),
            expect: Expect::Uncompressed(diff_id.clone()),
            size: source.member_size(member).unwrap_or(0),
            toc: None,
        })
        .collect();
    let config_digest = {
        use sha2::{Digest, Sha256};
        format!("sha256:{}", hex::encode(Sha256::digest(&config_bytes)))
    };
    // docker-archive has no manifest digest; the config digest is the image ID.
    Ok(Plan { layers, config: raw.into_config(Some(config_digest)) })
}
