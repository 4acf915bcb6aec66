//! Kustomization files. Until kustomize resolution exists, a kustomization's resources are
//! read as plain manifests by the walk; here the file is only checked to be valid YAML.

use super::{Problem, SourceText};

/// Problems that keep the kustomization from being read.
pub fn check(source: &SourceText) -> Vec<Problem> {
    super::yaml::for_each_document(source, |_| {})
}
