//! CRI-O configuration: `crio.conf` and the drop-ins `crio.conf.d/*.conf` (TOML).
//!
//! Read: `[crio.image]` `pause_image` (a runtime reference) and `pinned_images` (patterns, not
//! references); `[crio]` `root`, `runroot`, `imagestore`, `storage_driver` and
//! `storage_option` (e.g. `overlay.imagestore=PATH`, which adds a store CRI-O reads).
//! [`merge`] applies crio.conf(5)/crio.conf.d(5) precedence: `crio.conf` first, then the
//! drop-ins sorted by name; a later file's value replaces an earlier one (lists included).

use crate::reference::{Origin, RefKind, Reference};
use crate::text::location::Location;
use crate::text::{Problem, SourceText};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// CRI-O's configuration file and its drop-in directory.
pub const CRIO_CONF: &str = "/etc/crio/crio.conf";
pub const CRIO_DROP_INS: &str = "/etc/crio/crio.conf.d";

/// How CRI-O matches a `pinned_images` entry against an image name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PinKind {
    /// The whole name (`registry.k8s.io/pause:3.10`).
    Exact,
    /// `prefix*`: names starting with the text before the `*`.
    Prefix,
    /// `*keyword*`: names containing the text between the `*`s.
    Keyword,
}

/// One `pinned_images` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedPattern {
    /// As written.
    pub pattern: String,
    pub kind: PinKind,
    pub location: Location,
}

impl PinnedPattern {
    pub fn new(pattern: impl Into<String>, location: Location) -> Self {
        let pattern = pattern.into();
        let kind = if pattern.len() >= 2 && pattern.starts_with('*') && pattern.ends_with('*') {
            PinKind::Keyword
        } else if pattern.ends_with('*') {
            PinKind::Prefix
        } else {
            // A `*` anywhere else is not a wildcard for CRI-O: the pattern is compared whole.
            PinKind::Exact
        };
        PinnedPattern { pattern, kind, location }
    }

    /// Whether an image name (as stored, e.g. `quay.io/x/y:1`) is pinned by this pattern.
    pub fn matches(&self, name: &str) -> bool {
        match self.kind {
            PinKind::Exact => name == self.pattern,
            PinKind::Prefix => name.starts_with(self.pattern.trim_end_matches('*')),
            PinKind::Keyword => name.contains(self.pattern.trim_matches('*')),
        }
    }
}

/// A string setting with the location of its first character (inside the quotes).
pub type Setting = (String, Location);

/// What one CRI-O configuration file sets. `None` means "not set in this file".
#[derive(Clone, Debug, Default)]
pub struct CrioConfig {
    /// The file as shown to users.
    pub file: String,
    /// `[crio.image] pause_image`: `RefKind::Runtime`, `Origin::CrioPauseImage`.
    pub pause_image: Option<Reference>,
    pub pinned_images: Option<Vec<PinnedPattern>>,
    pub root: Option<Setting>,
    pub runroot: Option<Setting>,
    pub imagestore: Option<Setting>,
    pub storage_driver: Option<Setting>,
    pub storage_option: Option<Vec<Setting>>,
    pub problems: Vec<Problem>,
}

/// The configuration CRI-O ends up with. `pause_image: None` means CRI-O's built-in default
/// (it depends on the CRI-O version, so it is not guessed here).
#[derive(Clone, Debug, Default)]
pub struct EffectiveCrio {
    pub pause_image: Option<Reference>,
    pub pinned_images: Vec<PinnedPattern>,
    pub root: Option<Setting>,
    pub runroot: Option<Setting>,
    pub imagestore: Option<Setting>,
    pub storage_driver: Option<Setting>,
    pub storage_option: Vec<Setting>,
    /// The files in the order they were applied.
    pub files: Vec<String>,
}

/// Parse one CRI-O TOML file. Invalid TOML is a problem (with its position) and yields no
/// settings; a setting of the wrong type is a problem and is skipped.
pub fn parse(src: &SourceText) -> CrioConfig {
    let mut out = CrioConfig { file: src.display.clone(), ..CrioConfig::default() };
    let doc = match DeTable::parse(&src.text) {
        Ok(doc) => doc,
        Err(e) => {
            let location = match e.span() {
                Some(span) => src.location(span),
                None => src.file_location(),
            };
            out.problems.push(Problem { message: format!("invalid TOML: {}", e.message()), location });
            return out;
        }
    };
    let Some(crio) = table(src, doc.get_ref(), "crio", &mut out.problems) else {
        return out;
    };
    out.root = string(src, crio, "root", &mut out.problems);
    out.runroot = string(src, crio, "runroot", &mut out.problems);
    out.imagestore = string(src, crio, "imagestore", &mut out.problems);
    out.storage_driver = string(src, crio, "storage_driver", &mut out.problems);
    out.storage_option = strings(src, crio, "storage_option", &mut out.problems);

    if let Some(image) = table(src, crio, "image", &mut out.problems) {
        if let Some((text, location)) = string(src, image, "pause_image", &mut out.problems) {
            if text.is_empty() {
                out.problems.push(Problem { message: "`pause_image` is empty".into(), location });
            } else {
                let mut r = Reference::new(RefKind::Runtime, Origin::CrioPauseImage, text, location);
                r.within = Some("pause_image".into());
                out.pause_image = Some(r.resolve());
            }
        }
        out.pinned_images = strings(src, image, "pinned_images", &mut out.problems).map(|list| {
            list.into_iter().map(|(pattern, location)| PinnedPattern::new(pattern, location)).collect()
        });
    }
    out
}

/// Apply CRI-O's precedence: the file named `crio.conf` first, then every other file sorted
/// by file name (lexical order); a later file's value replaces an earlier one.
pub fn merge(configs: &[CrioConfig]) -> EffectiveCrio {
    let mut ordered: Vec<&CrioConfig> = configs.iter().collect();
    ordered.sort_by(|a, b| {
        let key = |c: &CrioConfig| {
            let name = c.file.rsplit('/').next().unwrap_or_default().to_string();
            (name != "crio.conf" || c.file.contains("crio.conf.d/"), name)
        };
        key(a).cmp(&key(b))
    });
    let mut out = EffectiveCrio::default();
    for c in ordered {
        out.files.push(c.file.clone());
        if c.pause_image.is_some() {
            out.pause_image.clone_from(&c.pause_image);
        }
        if let Some(p) = &c.pinned_images {
            out.pinned_images.clone_from(p);
        }
        for (dst, src) in [
            (&mut out.root, &c.root),
            (&mut out.runroot, &c.runroot),
            (&mut out.imagestore, &c.imagestore),
            (&mut out.storage_driver, &c.storage_driver),
        ] {
            if src.is_some() {
                dst.clone_from(src);
            }
        }
        if let Some(o) = &c.storage_option {
            out.storage_option.clone_from(o);
        }
    }
    out
}

fn lookup<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    t.get(key)
}

fn table<'a, 'i>(
    src: &SourceText,
    t: &'a DeTable<'i>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a DeTable<'i>> {
    let v = lookup(t, key)?;
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        other => {
            problems.push(Problem {
                message: format!("`{key}` is {}, not a table", other.type_str()),
                location: src.location(v.span()),
            });
            None
        }
    }
}

fn string(src: &SourceText, t: &DeTable<'_>, key: &str, problems: &mut Vec<Problem>) -> Option<Setting> {
    let v = lookup(t, key)?;
    match v.get_ref() {
        DeValue::String(s) => Some((s.to_string(), string_location(src, v.span()))),
        other => {
            problems.push(Problem {
                message: format!("`{key}` is {}, not a string", other.type_str()),
                location: src.location(v.span()),
            });
            None
        }
    }
}

fn strings(
    src: &SourceText,
    t: &DeTable<'_>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Setting>> {
    let v = lookup(t, key)?;
    let DeValue::Array(items) = v.get_ref() else {
        problems.push(Problem {
            message: format!("`{key}` is {}, not a list of strings", v.get_ref().type_str()),
            location: src.location(v.span()),
        });
        return None;
    };
    let mut out = Vec::new();
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(s) => out.push((s.to_string(), string_location(src, item.span()))),
            other => problems.push(Problem {
                message: format!("an entry of `{key}` is {}, not a string", other.type_str()),
                location: src.location(item.span()),
            }),
        }
    }
    Some(out)
}

/// The location of a TOML string's text: after the opening quote(s), and for a multi-line
/// string after the newline that directly follows the opening delimiter (TOML trims it).
fn string_location(src: &SourceText, span: std::ops::Range<usize>) -> Location {
    let text = src.text.as_str();
    let Some(raw) = text.get(span.clone()) else {
        return src.location(span);
    };
    let (open, close) = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        (3, 3)
    } else if raw.starts_with('"') || raw.starts_with('\'') {
        (1, 1)
    } else {
        (0, 0)
    };
    let mut start = span.start + open;
    if open == 3 {
        if text[start..].starts_with("\r\n") {
            start += 2;
        } else if text[start..].starts_with('\n') {
            start += 1;
        }
    }
    let end = span.end.saturating_sub(close).max(start);
    src.location(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(path: &str, text: &str) -> CrioConfig {
        parse(&SourceText::from_str(path, text))
    }

    fn lc(l: &Location) -> (u32, u32) {
        (l.line, l.column)
    }

    #[test]
    fn pause_image_and_pins_with_positions() {
        let text = "[crio]\nroot = \"/var/lib/containers/storage\"\nstorage_option = [ \"overlay.imagestore=/usr/lib/containers/storage\" ]\n\n[crio.image]\npause_image = \"quay.io/openshift/pause@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"\npinned_images = [\n  'quay.io/a/b:1',\n  \"quay.io/c/*\",\n  \"*keep*\",\n]\n";
        let c = conf("etc/crio/crio.conf", text);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let p = c.pause_image.as_ref().unwrap();
        assert_eq!(
            p.image,
            "quay.io/openshift/pause@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        );
        crate::reference::assert_found(p, text, RefKind::Runtime, Origin::CrioPauseImage);
        assert_eq!(lc(&p.location), (6, 16));
        let pins: Vec<_> = c
            .pinned_images
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| (p.pattern.as_str(), p.kind, lc(&p.location)))
            .collect();
        assert_eq!(
            pins,
            [
                ("quay.io/a/b:1", PinKind::Exact, (8, 4)),
                ("quay.io/c/*", PinKind::Prefix, (9, 4)),
                ("*keep*", PinKind::Keyword, (10, 4)),
            ]
        );
        let (root, loc) = c.root.as_ref().unwrap();
        assert_eq!((root.as_str(), lc(loc)), ("/var/lib/containers/storage", (2, 9)));
        let opts = c.storage_option.as_ref().unwrap();
        assert_eq!(opts[0].0, "overlay.imagestore=/usr/lib/containers/storage");
        assert_eq!(lc(&opts[0].1), (3, 21));
    }

    #[test]
    fn pattern_matching() {
        let l = Location::file_only("x");
        assert!(PinnedPattern::new("a/b:1", l.clone()).matches("a/b:1"));
        assert!(!PinnedPattern::new("a/b:1", l.clone()).matches("a/b:12"));
        assert!(PinnedPattern::new("quay.io/c/*", l.clone()).matches("quay.io/c/d:1"));
        assert!(PinnedPattern::new("*keep*", l.clone()).matches("quay.io/x/keepme:1"));
        assert!(PinnedPattern::new("*", l.clone()).matches("anything"));
        assert_eq!(PinnedPattern::new("*", l.clone()).kind, PinKind::Prefix);
        assert_eq!(PinnedPattern::new("*x", l).kind, PinKind::Exact);
    }

    #[test]
    fn literal_multiline_and_dotted_keys() {
        let text = "crio.image.pause_image = '''\nré/pause:1'''\n";
        let c = conf("crio.conf.d/10-x.conf", text);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let p = c.pause_image.unwrap();
        assert_eq!(p.image, "ré/pause:1");
        assert_eq!(lc(&p.location), (2, 1));

        let c = conf("crio.conf", "[crio.image]\n  pause_image=\"é\"  \n");
        assert_eq!(lc(&c.pause_image.unwrap().location), (2, 16));
    }

    #[test]
    fn invalid_toml_and_wrong_types_are_problems() {
        let c = conf("crio.conf", "[crio.image]\npause_image = \"x\npinned_images = []\n");
        assert_eq!(c.problems.len(), 1);
        assert!(c.problems[0].message.starts_with("invalid TOML"));
        assert_eq!(c.problems[0].location.line, 2);
        assert!(c.pause_image.is_none());

        let c = conf(
            "crio.conf",
            "[crio]\nstorage_option = \"x\"\n[crio.image]\npause_image = 3\npinned_images = [\"a\", 1]\n",
        );
        let got: Vec<_> = c.problems.iter().map(|p| lc(&p.location)).collect();
        assert_eq!(got, [(2, 18), (4, 15), (5, 23)]);
        assert_eq!(c.pinned_images.unwrap().len(), 1);
        assert!(c.storage_option.is_none());

        let c = conf("crio.conf", "crio = 1\n");
        assert_eq!(c.problems.len(), 1);
        assert_eq!(lc(&c.problems[0].location), (1, 8));

        let c = conf("crio.conf", "");
        assert!(c.problems.is_empty() && c.pause_image.is_none());
    }

    #[test]
    fn merge_applies_drop_ins_in_lexical_order() {
        let main = conf(
            "etc/crio/crio.conf",
            "[crio]\nroot = \"/r\"\n[crio.image]\npause_image = \"main/pause:1\"\npinned_images = [\"a\"]\n",
        );
        let d20 = conf("etc/crio/crio.conf.d/20-b.conf", "[crio.image]\npause_image = \"b/pause:1\"\n");
        let d10 = conf(
            "etc/crio/crio.conf.d/10-a.conf",
            "[crio.image]\npause_image = \"a/pause:1\"\npinned_images = [\"x*\", \"y\"]\n",
        );
        let d30 = conf("etc/crio/crio.conf.d/30-c.conf", "[crio]\nstorage_driver = \"overlay\"\n");
        // Given out of order on purpose.
        let eff = merge(&[d20, d30, main, d10]);
        assert_eq!(
            eff.files,
            [
                "etc/crio/crio.conf",
                "etc/crio/crio.conf.d/10-a.conf",
                "etc/crio/crio.conf.d/20-b.conf",
                "etc/crio/crio.conf.d/30-c.conf"
            ]
        );
        let p = eff.pause_image.unwrap();
        assert_eq!(p.image, "b/pause:1");
        assert_eq!(p.location.file, "etc/crio/crio.conf.d/20-b.conf");
        assert_eq!(lc(&p.location), (2, 16));
        // Lists are replaced, not appended.
        let pins: Vec<_> = eff.pinned_images.iter().map(|p| p.pattern.as_str()).collect();
        assert_eq!(pins, ["x*", "y"]);
        assert_eq!(eff.root.unwrap().0, "/r");
        assert_eq!(eff.storage_driver.unwrap().0, "overlay");
        assert!(merge(&[]).pause_image.is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[\\[\\]=\"' \na-cé.*_,#]{0,60}") {
            let c = conf("crio.conf", &s);
            for p in c.pinned_images.iter().flatten() {
                let span = p.location.span.clone().unwrap_or_default();
                proptest::prop_assert!(s.get(span).is_some());
            }
        }

        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,80}") {
            let _ = conf("crio.conf", &s);
        }
    }
}
