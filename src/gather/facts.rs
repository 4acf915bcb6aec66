//! Everything gathered from the sources, once, before any rule runs.

use crate::reference::Reference;
use crate::resolve::applied::NotApplied;
use crate::resolve::kustomize::Issue;
use crate::text::{Problem, SourceText};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Facts {
    /// Every file read, by display name, for source excerpts.
    pub sources: BTreeMap<String, Arc<SourceText>>,
    /// Every image reference, in file order, files sorted by path.
    pub references: Vec<Reference>,
    /// What could not be read or parsed.
    pub problems: Vec<Problem>,
    /// Every Kubernetes object, with its span (for `stowage.io/ignore` annotations).
    pub objects: Vec<crate::source::manifest::K8sObject>,
    /// What kept a kustomization from being built offline.
    pub kustomize_issues: Vec<Issue>,
    /// YAML under a MicroShift manifests directory that MicroShift will not apply.
    pub manifests_not_applied: Vec<NotApplied>,
    /// Directories whose manifests no kustomize build takes (beside a kustomization that does
    /// not list them, or under a Component nothing enables): not deployed, their images are not
    /// among `references`.
    pub manifests_not_built: Vec<crate::gather::not_built::NotBuilt>,
    /// The kustomization directories MicroShift applies (each built as a kustomize root).
    pub applied_kustomizations: Vec<crate::gather::placement::AppliedDir>,
    /// What the Containerfiles among the sources will embed (the static embed plan).
    pub embed_plan: Vec<crate::inventory::plan::PlannedEmbed>,
    /// With `--image`: what the built image carries, and for which architecture.
    pub image: Option<ImageFacts>,
    /// With `check --online`: what the registries said about each reference.
    pub online: Option<crate::gather::online::OnlineFacts>,
}

/// What `--image` adds to the facts.
#[derive(Debug)]
pub struct ImageFacts {
    /// `--image` as given.
    pub spec: String,
    pub inventory: crate::inventory::Inventory,
    /// The OS image's architecture, OCI name (`amd64`).
    pub target_arch: String,
    /// Where `target_arch` comes from: `--arch`, `image config` or `host`.
    pub arch_source: &'static str,
    /// The in-image files read as sources, in-image absolute paths.
    pub source_files: Vec<String>,
    /// The image's own config (architecture, labels, created, digest).
    pub config: crate::image::ImageConfig,
}
