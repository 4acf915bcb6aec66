//! Turning text into image references: the reference grammar, ARG expansion.

pub mod applied;
pub mod args;
pub mod copies;
pub mod imageref;
pub mod kustomize;
