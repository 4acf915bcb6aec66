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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gather::discover::gather_in_memory;
    use crate::source::BuildOptions;

    /// The class of each reference of `files`, by `file:line:column`.
    fn classes(files: &[(&str, &str)], build_args: &[&str], update: bool) -> Vec<(String, Class)> {
        let facts = gather_in_memory(files, &BuildOptions::default());
        let args: Vec<String> = build_args.iter().map(|a| a.to_string()).collect();
        facts
            .references
            .iter()
            .map(|r| (r.location.to_string(), classify(r, &facts.sources, &args, update)))
            .collect()
    }

    fn text(file: &str, start: usize, written: &str) -> Class {
        Class::Pin(Site::Text {
            file: file.into(),
            span: start..start + written.len(),
            written: written.into(),
        })
    }

    #[test]
    fn a_containerfile_is_pinned_in_place_or_in_its_arg_line() {
        let cf = "ARG BASE=q.io/a/base:1\nARG REG=q.io\nFROM $BASE\nFROM $REG/a/b:1\nFROM q.io/a/c@sha256:0000000000000000000000000000000000000000000000000000000000000000\nFROM localhost/built:1\nFROM {{ .Values.image }}\nFROM q.io/a/d:2\n";
        let got = classes(&[("Containerfile", cf)], &[], false);
        assert_eq!(got[0], ("Containerfile:3:6".into(), text("Containerfile", 9, "q.io/a/base:1")));
        assert!(matches!(&got[1].1, Class::Left(r) if r.contains("built from variables")), "{got:?}");
        assert_eq!(got[2].1, Class::Already);
        assert!(matches!(&got[3].1, Class::Left(r) if r.contains("localhost")), "{got:?}");
        assert!(matches!(&got[4].1, Class::Left(r) if r.contains("template")), "{got:?}");
        let at = cf.find("q.io/a/d:2").unwrap();
        assert_eq!(got[5].1, text("Containerfile", at, "q.io/a/d:2"));
        let overridden = classes(&[("Containerfile", cf)], &["BASE"], false);
        assert!(matches!(&overridden[0].1, Class::Left(r) if r.contains("build argument")), "{overridden:?}");
    }

    #[test]
    fn a_kustomized_reference_is_pinned_in_the_entry_that_set_its_tag() {
        let files = [
            ("base/kustomization.yaml", "resources:\n- pod.yaml\n"),
            (
                "base/pod.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: q.io/a/app:1\n",
            ),
            (
                "prod/kustomization.yaml",
                "resources:\n- ../base\nimages:\n- name: q.io/a/app\n  newTag: \"2\"\n",
            ),
        ];
        let got = classes(&files, &[], false);
        let at = files[2].1.find("\"2\"").unwrap() + 1;
        assert_eq!(
            got,
            [(
                "base/pod.yaml:8:12".into(),
                Class::Pin(Site::ImagesEntry { file: "prod/kustomization.yaml".into(), at })
            )]
        );
    }

    #[test]
    fn update_takes_tag_and_digest_references_too() {
        let cf = "FROM q.io/a/c:1@sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
        assert_eq!(classes(&[("Containerfile", cf)], &[], false)[0].1, Class::Already);
        let written = &cf[5..cf.len() - 1];
        assert_eq!(classes(&[("Containerfile", cf)], &[], true)[0].1, text("Containerfile", 5, written));
    }
}
