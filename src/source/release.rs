//! MicroShift release info: `release-<arch>.json` and `release-<component>-<arch>.json`
//! (`{"release":{"base":"4.19.0"},"images":{"<key>":"<pullspec>", ...}}`).
//!
//! JSON is read with serde-saphyr (JSON is YAML) so every pullspec keeps its position.
//! References are kept in file order.

use crate::reference::platform::uname_arch;
use crate::reference::{Origin, RefKind, Reference};
use crate::text::location::Location;
use crate::text::{Problem, SourceText};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One release file.
#[derive(Clone, Debug)]
pub struct Release {
    /// `release.base` (e.g. `4.19.0`), when present and a string.
    pub base: Option<String>,
    /// From the file name, uname form (`x86_64`, `aarch64`); `None` if the name has none.
    pub arch: Option<String>,
    /// From the file name (`olm`, `ai-model-serving`); `None` for the core file.
    pub component: Option<String>,
    /// One `release` reference per `images` entry, in file order; `within` is the key.
    pub references: Vec<Reference>,
    pub problems: Vec<Problem>,
}

/// Split a release file name into (component, arch): `release-olm-aarch64.json` →
/// `(Some("olm"), Some("aarch64"))`. The arch is given in uname form. `None` if the name is
/// not `release-*.json`.
pub fn name_parts(file_name: &str) -> Option<(Option<String>, Option<String>)> {
    let rest = file_name.strip_prefix("release-")?.strip_suffix(".json")?;
    if rest.is_empty() {
        return None;
    }
    const ARCHES: [&str; 6] = ["x86_64", "aarch64", "amd64", "arm64", "ppc64le", "s390x"];
    let (component, arch) = match rest.rsplit_once('-') {
        Some((c, a)) if ARCHES.contains(&a) => (Some(c), Some(a)),
        None if ARCHES.contains(&rest) => (None, Some(rest)),
        _ => (Some(rest), None),
    };
    Some((component.filter(|c| !c.is_empty()).map(str::to_string), arch.map(|a| uname_arch(a).to_string())))
}

/// Whether the release file `file_name` is for the architecture `arch` (any spelling:
/// `amd64`, `x86_64`...): MicroShift reads `release-<uname -m>.json` and
/// `release-<component>-<uname -m>.json` only. A name without an architecture is for none.
pub fn is_for_arch(file_name: &str, arch: &str) -> bool {
    let wanted = uname_arch(crate::reference::platform::oci_arch(arch));
    name_parts(file_name).and_then(|(_, a)| a).is_some_and(|a| a == wanted)
}

#[derive(Deserialize)]
struct RawRelease {
    #[serde(default)]
    release: Option<serde_json::Value>,
    #[serde(default)]
    images: Option<Spanned<Images>>,
}

/// The `images` value: an ordered list of entries, or "something that is not an object".
enum Images {
    Map(Vec<(Spanned<String>, Spanned<serde_json::Value>)>),
    NotAnObject(&'static str),
}

impl<'de> Deserialize<'de> for Images {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Images;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of image pullspecs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Images, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Images::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Images, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Images::NotAnObject("a list"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Images, E> {
                Ok(Images::NotAnObject("a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Images, E> {
                Ok(Images::NotAnObject("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Images, E> {
                Ok(Images::NotAnObject("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Images, E> {
                Ok(Images::NotAnObject("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Images, E> {
                Ok(Images::NotAnObject("a number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Images, E> {
                Ok(Images::NotAnObject("null"))
            }
            fn visit_none<E: de::Error>(self) -> Result<Images, E> {
                Ok(Images::NotAnObject("null"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parse a release file. Invalid JSON, a missing `images` object or a non-string pullspec
/// are problems; the readable entries are still returned.
pub fn parse(src: &SourceText) -> Release {
    let file_name = src.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let (component, arch) = name_parts(file_name).unwrap_or((None, None));
    let mut out = Release { base: None, arch, component, references: Vec::new(), problems: Vec::new() };

    let raw: RawRelease = match serde_saphyr::from_str(&src.text) {
        Ok(raw) => raw,
        Err(e) => {
            out.problems.push(yaml_error_problem(src, &e));
            return out;
        }
    };
    out.base = raw.release.as_ref().and_then(|r| r.get("base")).and_then(|b| b.as_str()).map(str::to_string);
    let images = match raw.images {
        None => {
            out.problems.push(Problem {
                message: "release file has no `images` object".into(),
                location: src.file_location(),
            });
            return out;
        }
        Some(images) => images,
    };
    let entries = match images.value {
        Images::Map(entries) => entries,
        Images::NotAnObject(what) => {
            out.problems.push(Problem {
                message: format!("`images` is {what}, not an object of pullspecs"),
                location: node_location(src, &images.defined),
            });
            return out;
        }
    };
    for (key, value) in entries {
        let location = scalar_location(src, &value.defined);
        match value.value.as_str() {
            Some(pullspec) if !pullspec.is_empty() => {
                let mut r = Reference::new(RefKind::Release, Origin::MicroshiftRelease, pullspec, location);
                r.within = Some(key.value);
                out.references.push(r.resolve());
            }
            Some(_) => out
                .problems
                .push(Problem { message: format!("image `{}` has an empty pullspec", key.value), location }),
            None => out.problems.push(Problem {
                message: format!("image `{}` is not a string pullspec", key.value),
                location,
            }),
        }
    }
    out
}

/// Byte offset of a serde-saphyr location (byte info when present, else line/column).
fn byte_offset(src: &SourceText, loc: &serde_saphyr::Location) -> usize {
    match loc.span().byte_offset() {
        Some(b) if (b as usize) <= src.text.len() => b as usize,
        _ => crate::text::location::position_offset(&src.text, loc.line(), loc.column()),
    }
}

/// Location of a YAML/JSON node as serde-saphyr reports it.
pub(crate) fn node_location(src: &SourceText, loc: &serde_saphyr::Location) -> Location {
    if loc.line() == 0 {
        return src.file_location();
    }
    let at = byte_offset(src, loc);
    src.location(at..at)
}

/// Location of a scalar's text: for a quoted scalar, the first character inside the quotes.
/// The span covers the scalar's text (without quotes) when serde-saphyr gives its length.
pub(crate) fn scalar_location(src: &SourceText, loc: &serde_saphyr::Location) -> Location {
    if loc.line() == 0 {
        return src.file_location();
    }
    let mut start = byte_offset(src, loc);
    let mut end = loc.span().byte_len().map_or(start, |len| (start + len as usize).min(src.text.len()));
    let quoted = matches!(src.text.as_bytes().get(start), Some(b'"' | b'\''));
    if quoted {
        start += 1;
        end = end.saturating_sub(1).max(start);
    }
    src.location(start..end.max(start))
}

/// A serde-saphyr error as a problem at its position, without the rendered snippet.
pub(crate) fn yaml_error_problem(src: &SourceText, e: &serde_saphyr::Error) -> Problem {
    let rendered = e.without_snippet().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // Drop the "line N column M: " prefix: the location carries it.
    let message = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => first,
    };
    // ... and a trailing " at line N, column M".
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    };
    let location = match e.location() {
        Some(loc) if loc.line() > 0 => {
            let at = crate::text::location::position_offset(&src.text, loc.line(), loc.column());
            src.location(at..at)
        }
        _ => src.file_location(),
    };
    Problem { message: message.to_string(), location }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(path: &str, text: &str) -> Release {
        parse(&SourceText::from_str(path, text))
    }

    #[test]
    fn file_names() {
        let n = |s| name_parts(s);
        assert_eq!(n("release-x86_64.json"), Some((None, Some("x86_64".into()))));
        assert_eq!(n("release-olm-aarch64.json"), Some((Some("olm".into()), Some("aarch64".into()))));
        assert_eq!(
            n("release-ai-model-serving-x86_64.json"),
            Some((Some("ai-model-serving".into()), Some("x86_64".into())))
        );
        assert_eq!(n("release-amd64.json"), Some((None, Some("x86_64".into()))));
        assert_eq!(n("release-olm.json"), Some((Some("olm".into()), None)));
        assert_eq!(n("other.json"), None);
    }

    #[test]
    fn files_for_an_architecture_in_any_spelling() {
        for arch in ["amd64", "x86_64", "linux/amd64"] {
            let arch = arch.rsplit('/').next().unwrap_or(arch);
            assert!(is_for_arch("release-x86_64.json", arch), "{arch}");
            assert!(is_for_arch("release-olm-x86_64.json", arch), "{arch}");
            assert!(!is_for_arch("release-aarch64.json", arch), "{arch}");
            assert!(!is_for_arch("release-olm-aarch64.json", arch), "{arch}");
            assert!(!is_for_arch("release-olm.json", arch), "{arch}");
        }
        assert!(is_for_arch("release-aarch64.json", "arm64"));
        assert!(is_for_arch("release-arm64.json", "aarch64"));
    }

    #[test]
    fn core_release_in_file_order() {
        let text = r#"{
  "release": {"base": "4.19.0"},
  "images": {
    "pod": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "haproxy-router":   "quay.io/r/router:4.19",
    "cli": "quay.io/r/cli@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  }
}"#;
        let r = release("usr/share/microshift/release/release-x86_64.json", text);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.base.as_deref(), Some("4.19.0"));
        assert_eq!(r.arch.as_deref(), Some("x86_64"));
        assert_eq!(r.component, None);
        let got: Vec<_> = r
            .references
            .iter()
            .map(|x| (x.within.as_deref().unwrap_or(""), x.location.line, x.location.column))
            .collect();
        assert_eq!(got, [("pod", 4, 13), ("haproxy-router", 5, 26), ("cli", 6, 13)]);
        let first = &r.references[0];
        assert_eq!(
            first.image,
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        crate::reference::assert_found(first, text, RefKind::Release, Origin::MicroshiftRelease);
        assert_eq!(first.location.file, "usr/share/microshift/release/release-x86_64.json");
    }

    #[test]
    fn component_file_and_unicode_columns() {
        let r = release("release-olm-aarch64.json", "{\"images\":{\"é\":\"q.io/é:1\",\"b\":\"x:1\"}}");
        assert_eq!(r.component.as_deref(), Some("olm"));
        assert_eq!(r.arch.as_deref(), Some("aarch64"));
        assert_eq!(r.base, None);
        let got: Vec<_> = r.references.iter().map(|x| (x.location.line, x.location.column)).collect();
        assert_eq!(got, [(1, 17), (1, 32)]);
    }

    #[test]
    fn invalid_json_is_a_problem_with_position() {
        let r = release("release-x86_64.json", "{\"images\": {\n  \"a\": \"x\",\n  \"b\": [1,}\n}");
        assert!(r.references.is_empty());
        assert_eq!(r.problems.len(), 1);
        let p = &r.problems[0];
        assert_eq!((p.location.line, p.location.column), (3, 8));
        assert_eq!(p.message, "mismatched bracket '[' closed by '}'");
    }

    #[test]
    fn images_missing_or_not_an_object() {
        let r = release("release-x86_64.json", "{\"release\":{\"base\":\"4.19.0\"}}");
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].message.contains("no `images`"));
        assert_eq!(r.base.as_deref(), Some("4.19.0"));

        let r = release("release-x86_64.json", "{\n \"images\": [\"a\"]}");
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].message.contains("a list"), "{}", r.problems[0].message);
        assert_eq!((r.problems[0].location.line, r.problems[0].location.column), (2, 12));

        let r = release("release-x86_64.json", "");
        assert_eq!(r.problems.len(), 1);
    }

    #[test]
    fn non_string_values_are_problems_and_others_survive() {
        let r = release("release-x86_64.json", "{\"images\":{\"a\":1,\"b\":\"x:1\",\"c\":\"\",\"d\":null}}");
        assert_eq!(r.references.len(), 1);
        assert_eq!(r.references[0].within.as_deref(), Some("b"));
        let got: Vec<_> = r.problems.iter().map(|p| p.location.column).collect();
        assert_eq!(got, [16, 33, 39]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[{}\\[\\]:,\"\\\\ \na-cé0-9'-]{0,60}") {
            let _ = release("release-x86_64.json", &s);

        }

        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,80}") {
            let _ = release("release-x86_64.json", &s);
        }
    }
}
