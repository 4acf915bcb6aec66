//! The one place that builds [`Facts`]: from the PATH arguments (static mode) and from a built
//! OS image (`check --image`). Walks, parses in parallel, builds kustomizations, places files
//! through the Containerfiles' COPY, and attaches the image's inventory and in-image sources.

pub mod discover;
pub mod facts;
pub mod image;
pub mod image_sources;
pub mod parse;
pub mod placement;
mod view_fs;
pub mod walk;

pub use facts::{Facts, ImageFacts};
