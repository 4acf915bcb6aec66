//! The one place that builds [`Facts`]: from the PATH arguments (static mode) and from a built
//! OS image (`check --image`). Walks, parses in parallel, builds kustomizations, places files
//! through the Containerfiles' COPY, and attaches the image's inventory and in-image sources.

pub mod discover;
pub mod facts;
pub mod image;
pub mod image_sources;
pub mod not_built;
pub mod online;
pub mod parse;
pub mod placement;
mod view_fs;
pub mod walk;

pub use facts::{Facts, ImageFacts};

use crate::image::OpenedImage;
use crate::source::BuildOptions;
use crate::text::SourceText;
use image::AttachError;
use std::path::PathBuf;
use std::sync::Arc;
use walk::WalkError;

/// What one run gathers its facts from.
pub struct Inputs<'a> {
    pub paths: &'a [PathBuf],
    pub opts: &'a BuildOptions,
    /// Whether a walked file (by display path) is read: the configuration's `exclude`.
    pub keep: &'a dyn Fn(&str) -> bool,
    /// The OS image (`--image`), opened, and the architecture asked for explicitly.
    pub image: Option<(OpenedImage, Option<&'a str>)>,
    /// Files findings may point into besides the sources: the configuration and its rule files.
    pub other_sources: Vec<Arc<SourceText>>,
    /// `check --online`: ask the registries about every resolved reference.
    pub online: Option<&'a online::OnlineOptions>,
}

/// Why the facts could not be gathered: the analysis cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error(transparent)]
    Online(#[from] online::OnlineError),
}

/// The facts of one run: the sources under the paths, then the image's inventory and its
/// in-image sources, and the other files findings may point into.
pub fn gather(inputs: Inputs) -> Result<Facts, GatherError> {
    let mut facts = discover::gather_filtered(inputs.paths, inputs.opts, inputs.keep)?;
    if let Some((opened, explicit_arch)) = inputs.image {
        image::attach_image(&mut facts, opened, explicit_arch, inputs.opts)?;
    }
    if let Some(online) = inputs.online {
        online::attach_online(&mut facts, inputs.opts, online)?;
    }
    for source in inputs.other_sources {
        facts.sources.insert(source.display.clone(), source);
    }
    Ok(facts)
}
