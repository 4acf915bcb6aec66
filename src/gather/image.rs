//! The offline-readiness audit: `check --image`. Opens the OS image, takes its inventory,
//! reads the sources inside it (MicroShift kustomizations, Quadlets, release files for its
//! architecture, CRI-O's pause image) and adds all of it to the facts the rules read.

use crate::gather::facts::{Facts, ImageFacts};
use crate::gather::image_sources as sources;
use crate::inventory::inventory;
use crate::reference::platform::PlatformError;
use crate::source::BuildOptions;

/// Why an opened image cannot be audited (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The target architecture given is not a platform.
    #[error("--arch: {0}")]
    Arch(#[from] PlatformError),
    /// None of the paths stowage reads exist in the image.
    #[error(
        "--image {spec}: none of the paths stowage reads exist in it (/etc/containers, /usr/lib/containers, \
         /usr/share/containers, ...): not a bootc root filesystem"
    )]
    NotAnOsImage { spec: String },
}

/// The target architecture: `--arch` (or the configuration's `arch`), else the image config's,
/// else the host's (right for `RUN stowage check --image rootfs:/`, which runs on the target).
pub fn target_arch(
    explicit: Option<&str>,
    from_image: Option<&str>,
) -> Result<(String, &'static str), AttachError> {
    if let Some(a) = explicit {
        let p = crate::reference::platform::Platform::parse(a)?;
        return Ok((p.arch, "--arch"));
    }
    if let Some(a) = from_image {
        return Ok((crate::reference::platform::oci_arch(a).to_string(), "image config"));
    }
    Ok((crate::reference::platform::oci_arch(std::env::consts::ARCH).to_string(), "host"))
}

/// Open `spec`, take its inventory, read its sources and add everything to `facts`.
/// Errors mean the image could not be read (exit 2).
pub fn attach_image(
    facts: &mut Facts,
    opened: crate::image::OpenedImage,
    explicit_arch: Option<&str>,
    opts: &BuildOptions,
) -> Result<(), AttachError> {
    let spec = opened.spec.as_str();
    let view = &opened.view;
    if view.is_empty() {
        // Nothing of /etc/containers, /usr/lib/containers, /usr/share/containers...: not an OS
        // image (a wrong path, say), and passing it would pass anything.
        return Err(AttachError::NotAnOsImage { spec: spec.to_string() });
    }
    let (arch, arch_source) = target_arch(explicit_arch, opened.config.architecture.as_deref())?;
    let inv = inventory(view, Some(&arch));
    let mut in_image = sources::read(view, &inv, &arch, opts);
    unparsable_config(view, &inv.config.unparsable, &mut in_image);
    let source_files = in_image.sources.keys().cloned().collect();
    merge(facts, in_image);
    facts.image = Some(ImageFacts {
        spec: spec.to_string(),
        inventory: inv,
        target_arch: arch,
        arch_source,
        source_files,
        config: opened.config.clone(),
    });
    Ok(())
}

/// The configuration files the device reads but could not parse, as problems of the image's
/// sources (`unparsable-file`): a gate must not pass an image whose CRI-O cannot read its
/// storage or registries configuration.
fn unparsable_config(
    view: &crate::image::view::FileView,
    unparsable: &[crate::inventory::config::UnparsableConfig],
    facts: &mut Facts,
) {
    for u in unparsable {
        let src = sources::text_source(view, &u.file);
        let location = match (&src, u.offset) {
            (Some(src), Some(at)) => src.location(at..at),
            (Some(src), None) => src.file_location(),
            (None, _) => {
                let mut location = crate::text::location::Location::file_only(&u.file);
                location.in_image = true;
                location
            }
        };
        if let Some(src) = src {
            facts.sources.entry(u.file.clone()).or_insert_with(|| std::sync::Arc::new(src));
        }
        facts.problems.push(crate::text::Problem { message: u.message.clone(), location });
    }
}

/// Add the facts of the in-image sources to those of the repository. Every field is named, so
/// that a new kind of fact cannot be dropped here unnoticed (the kustomize build problems of
/// the image's manifests once were).
fn merge(into: &mut Facts, from: Facts) {
    let Facts {
        sources,
        references,
        problems,
        objects,
        kustomize_issues,
        manifests_not_applied,
        manifests_not_built,
        applied_kustomizations,
        embed_plan,
        image: _,
        // Asked of the registries after the image is attached, over every reference.
        online: _,
    } = from;
    into.sources.extend(sources);
    into.references.extend(references);
    into.problems.extend(problems);
    into.objects.extend(objects);
    into.kustomize_issues.extend(kustomize_issues);
    // The in-image manifests no build takes are not among the references: say why.
    into.manifests_not_applied.extend(manifests_not_applied);
    into.manifests_not_built.extend(manifests_not_built);
    into.applied_kustomizations.extend(applied_kustomizations);
    into.embed_plan.extend(embed_plan);
}
