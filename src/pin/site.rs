//! Where a reference's digest is written: the place whose text decides the image the build
//! or the device pulls — the reference itself, the `ARG` default it uses whole, or the
//! kustomization entry that set its final name or tag — or why it cannot be pinned.

use super::containerfile::{arg_default, whole_arg};
use crate::reference::{Origin, Reference, Status};
use crate::text::SourceText;
use crate::text::location::Span;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// The reference text itself, or (for a kustomize patch or replacement) the value that
    /// became it: `span` of `file` holds `written`.
    Text { file: String, span: Span, written: String },
    /// The `images:` entry of a kustomization holding byte `at` of `file`.
    ImagesEntry { file: String, at: usize },
    /// A new `images:` entry in the kustomization `file`, for the image `name` (as written,
    /// without tag or digest) and `tag`.
    NewEntry { file: String, name: String, tag: String },
}

/// What pin does with one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    /// Pinned by digest (and not to be updated).
    Already,
    /// Cannot be pinned; why.
    Left(String),
    Pin(Site),
}

/// Decide for one reference. `build_args` are the names set from outside the file (an `ARG`
/// they set does not use its default); `update` asks for `tag@digest` references too.
pub fn classify(
    r: &Reference,
    sources: &BTreeMap<String, Arc<SourceText>>,
    build_args: &[String],
    update: bool,
) -> Class {
    let Some(resolved) = &r.resolved else {
        return Class::Left(match &r.status {
            Status::Invalid { reason } => format!("not a valid reference: {reason}"),
            status => status.unresolved_reason().unwrap_or("not resolved").to_string(),
        });
    };
    if resolved.digest().is_some() && !(update && resolved.tag().is_some()) {
        return Class::Already;
    }
    if resolved.registry() == "localhost" {
        return Class::Left("`localhost/` names an image built on this host, not one in a registry".into());
    }
    if let Some(change) = r.changed_by.last() {
        let loc = &change.location;
        if change.what.starts_with("images ") {
            return match &loc.span {
                Some(span) => Class::Pin(Site::ImagesEntry { file: loc.file.clone(), at: span.start }),
                None => Class::Left(format!("set by `{}` at {loc}, whose position is unknown", change.what)),
            };
        }
        return match text_at(sources, &loc.file, loc.span.as_ref(), r.text()) {
            Some(site) => Class::Pin(site),
            None => Class::Left(format!("set by {} at {loc}: pin the value there by hand", change.what)),
        };
    }
    if let Some(expanded) = &r.expanded {
        if r.image.strip_suffix(expanded.as_str()) == Some("docker://") {
            let span = r.location.span.as_ref().map(|s| s.start + "docker://".len()..s.end);
            return match text_at(sources, &r.location.file, span.as_ref(), expanded) {
                Some(site) => Class::Pin(site),
                None => {
                    Class::Left("the text at its position is not the reference as read (escaped?)".into())
                }
            };
        }
        if r.origin == Origin::QuadletImage && r.image.ends_with(".image") {
            return Class::Left(format!(
                "resolved through the Quadlet unit `{}`: pinned in that unit's `Image=`",
                r.image
            ));
        }
        return argument(r, sources, build_args);
    }
    match text_at(sources, &r.location.file, r.location.span.as_ref(), &r.image) {
        Some(site) => Class::Pin(site),
        None => Class::Left("the text at its position is not the reference as read (escaped?)".into()),
    }
}

/// A reference substituted from an `ARG`: pinned in the `ARG` line when used whole.
fn argument(r: &Reference, sources: &BTreeMap<String, Arc<SourceText>>, build_args: &[String]) -> Class {
    let containerfile = matches!(
        r.origin,
        Origin::ContainerfileFrom
            | Origin::ContainerfileCopyFrom
            | Origin::ContainerfileRunMount
            | Origin::ContainerfileEmbed
    );
    let Some(name) = whole_arg(&r.image).filter(|_| containerfile) else {
        return Class::Left(format!("built from variables (`{}`): pin the values by hand", r.image));
    };
    if build_args.iter().any(|a| a == name) {
        return Class::Left(format!(
            "`{name}` is set by a build argument (--build-arg or build-args), not its ARG default"
        ));
    }
    let (Some(source), Some(span)) = (sources.get(&r.location.file), r.location.span.as_ref()) else {
        return Class::Left("its file was not read".into());
    };
    match arg_default(&source.text, name, span.start, r.text()) {
        Some(at) => {
            Class::Pin(Site::Text { file: r.location.file.clone(), span: at, written: r.text().into() })
        }
        None => Class::Left(format!(
            "the value of `{name}` is not a literal ARG default (ENV, or an ARG built from others)"
        )),
    }
}

/// The site at `span` of `file` when it holds exactly `expected` (a closing quote the span
/// takes in, as a shell word's does, is left out).
fn text_at(
    sources: &BTreeMap<String, Arc<SourceText>>,
    file: &str,
    span: Option<&Span>,
    expected: &str,
) -> Option<Site> {
    let span = span?;
    let text = sources.get(file)?.text.get(span.clone())?;
    let rest = text.strip_prefix(expected)?;
    if !rest.chars().all(|c| c == '"' || c == '\'') {
        return None;
    }
    let span = span.start..span.start + expected.len();
    Some(Site::Text { file: file.into(), span, written: expected.into() })
}
