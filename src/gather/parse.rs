//! Reading each source once and parsing it with its format's parser, in parallel.

use super::walk::Discovered;
use crate::reference::Reference;
use crate::source::{BuildOptions, FileKind};
use crate::text::paths::normalize;
use crate::text::source::read_source;
use crate::text::tree::Val;
use crate::text::yaml::parser_pool;
use crate::text::{Problem, SourceText};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// One source after parsing.
#[derive(Debug)]
pub struct ParsedFile {
    pub kind: FileKind,
    pub source: Option<Arc<SourceText>>,
    pub references: Vec<Reference>,
    pub problems: Vec<Problem>,
    pub details: Details,
    /// A manifest's documents as kustomize values, kept when a kustomization may read it
    /// (see [`parse_source_keeping`]), so the kustomize build does not parse it again.
    pub documents: Option<Arc<Vec<Val>>>,
}

/// What a parser found beyond references, for the facts of later stages.
#[derive(Debug)]
pub enum Details {
    None,
    Containerfile(Box<crate::source::containerfile::Containerfile>),
    Manifest(Vec<crate::source::manifest::K8sObject>),
    Quadlet(crate::source::quadlet::QuadletUnit),
    Release(crate::source::release::Release),
    Crio(Box<crate::source::crio::CrioConfig>),
    Microshift(crate::source::microshift::MicroshiftConfig),
}

/// Parse one source of a known kind.
pub fn parse_source(kind: FileKind, source: SourceText, opts: &BuildOptions) -> ParsedFile {
    parse_source_keeping(kind, source, opts, false)
}

/// [`parse_source`]; with `keep_documents`, a manifest's documents are kept for the
/// kustomize build (its directory holds a kustomization).
pub fn parse_source_keeping(
    kind: FileKind,
    source: SourceText,
    opts: &BuildOptions,
    keep_documents: bool,
) -> ParsedFile {
    if kind == FileKind::Manifest
        && crate::source::manifest::is_json_file(&source.path)
        && !crate::source::manifest::is_json_manifest(&source.text)
    {
        // Not a Kubernetes object: not a source at all (a kustomization that lists it reads it
        // itself, and says what is wrong with it).
        return ParsedFile {
            kind,
            source: None,
            references: Vec::new(),
            problems: Vec::new(),
            details: Details::None,
            documents: None,
        };
    }
    let source = Arc::new(source);
    let mut documents = None;
    let (references, problems, details) = match kind {
        FileKind::Containerfile => {
            let mut c = crate::source::containerfile::parse(&source, opts);
            (
                std::mem::take(&mut c.references),
                std::mem::take(&mut c.problems),
                Details::Containerfile(Box::new(c)),
            )
        }
        FileKind::Manifest if keep_documents => {
            let m = crate::source::manifest::parse_keeping_documents(&source, &opts.image_fields);
            documents = m.documents.map(Arc::new);
            (m.references, m.problems, Details::Manifest(m.objects))
        }
        FileKind::Manifest => {
            let m = crate::source::manifest::parse_with_fields(&source, &opts.image_fields);
            (m.references, m.problems, Details::Manifest(m.objects))
        }
        FileKind::Kustomization => {
            let (docs, problems) = crate::source::kustomization::parse(&source);
            documents = docs.map(Arc::new);
            (Vec::new(), problems, Details::None)
        }
        FileKind::Quadlet => {
            // References stay in the unit until `into_facts` has linked `.image` units.
            let mut q = crate::source::quadlet::parse(&source);
            (Vec::new(), std::mem::take(&mut q.problems), Details::Quadlet(q))
        }
        FileKind::MicroshiftRelease => {
            let mut r = crate::source::release::parse(&source);
            (std::mem::take(&mut r.references), std::mem::take(&mut r.problems), Details::Release(r))
        }
        FileKind::CrioConfig => {
            let mut c = crate::source::crio::parse(&source);
            (
                c.pause_image.iter().cloned().collect(),
                std::mem::take(&mut c.problems),
                Details::Crio(Box::new(c)),
            )
        }
        FileKind::MicroshiftConfig => {
            let mut m = crate::source::microshift::parse(&source);
            (Vec::new(), std::mem::take(&mut m.problems), Details::Microshift(m))
        }
    };
    ParsedFile { kind, source: Some(source), references, problems, details, documents }
}

/// Read and parse every discovered file in parallel; the result keeps the input order.
///
/// The work runs on a pool whose threads have the stack the YAML parser needs, so it does not
/// start a thread per file.
pub fn parse_all(files: &[Discovered], opts: &BuildOptions) -> Vec<ParsedFile> {
    match parser_pool() {
        Some(pool) => pool.install(|| parse_files(files, opts)),
        None => parse_files(files, opts),
    }
}

fn parse_files(files: &[Discovered], opts: &BuildOptions) -> Vec<ParsedFile> {
    let kustomized = resource_files(files);
    files
        .par_iter()
        .map(|f| match read_source(&f.path, &f.display) {
            Ok(source) => {
                let keep = f.kind == FileKind::Manifest && kustomized.contains(&normalize(&f.path));
                parse_source_keeping(f.kind, source, opts, keep)
            }
            Err(problem) => ParsedFile {
                kind: f.kind,
                source: None,
                references: Vec::new(),
                problems: vec![problem],
                details: Details::None,
                documents: None,
            },
        })
        .collect()
}

/// The files the kustomizations among `files` name in `resources` or `bases`: their
/// documents are kept when they are parsed, for the kustomize build (a hint only: the build
/// parses whatever else it reads).
fn resource_files(files: &[Discovered]) -> BTreeSet<PathBuf> {
    files
        .par_iter()
        .filter(|f| f.kind == FileKind::Kustomization)
        .flat_map_iter(|f| {
            let mut named = Vec::new();
            let (Ok(source), Some(dir)) = (read_source(&f.path, &f.display), f.path.parent()) else {
                return named;
            };
            crate::text::yaml::for_each_document(&source, |d| {
                for field in ["resources", "bases"] {
                    let entries = d.root.get(field).and_then(|n| n.as_seq()).unwrap_or(&[]);
                    named.extend(entries.iter().filter_map(|e| e.as_str()).map(|e| normalize(&dir.join(e))));
                }
            });
            named
        })
        .collect()
}
