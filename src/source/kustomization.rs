//! Kustomization files. The walk checks that the file is valid YAML and keeps its documents
//! for the kustomize build (`resolve::kustomize`), so it is parsed once.

use crate::text::tree::Val;
use crate::text::{Problem, SourceText};
use std::sync::Arc;

/// The file names MicroShift and kustomize recognise as a kustomization, in kustomize's order.
pub const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The documents of a kustomization file (`None` when one cannot be parsed: the build then
/// parses the file itself and reports it), and the problems that keep it from being read.
pub fn parse(source: &Arc<SourceText>) -> (Option<Vec<Val>>, Vec<Problem>) {
    let mut docs = Vec::new();
    let problems =
        crate::text::yaml::for_each_document(source, |d| docs.push(Val::from_node(&d.root, source)));
    (problems.is_empty().then_some(docs), problems)
}
