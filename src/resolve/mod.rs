//! From parsed sources to what the device gets: kustomize builds, where repository files land
//! in the image (COPY), which directories MicroShift applies.

pub mod applied;
pub mod copies;
pub mod kustomize;
