//! The leaf layer: locations, paths, source text and its decoding, and the spanned YAML layer
//! with field paths. Imports nothing else from the crate.

pub mod fieldpath;
pub mod location;
pub mod paths;
pub mod pattern;
pub mod source;
pub mod tree;
pub mod yaml;

pub use location::{LineIndex, Location, Span};
pub use source::{Problem, SourceText};
