//! Podman Quadlet units (`.container`, `.image`, `.kube`, `.pod`, ...): systemd unit syntax.
//!
//! The reader follows systemd's unit-file rules as Quadlet's parser applies them: `[Section]`
//! headers, `Key=Value` assignments with whitespace trimmed around key and value, comment lines
//! starting with `#` or `;`, and a trailing `\` continuing the line on the next one (the
//! backslash becomes a space; comment lines inside a continuation are dropped). Values are not
//! unquoted: Quadlet passes `Image=` on as written.
//!
//! `Image=` of a `.container`/`.image` unit is a runtime reference. A value ending in `.image`
//! names another Quadlet unit; [`link_image_units`] replaces it by that unit's image. A value
//! holding a systemd specifier (`%n`, `%i`, ...) is unresolved: systemd expands it at run time.

use crate::reference::{Origin, RefKind, Reference, Status};
use crate::text::location::Location;
use crate::text::{Problem, SourceText};
use std::collections::HashMap;

/// Where Quadlet units are read from (the system generator's directories; `/etc` first).
pub const QUADLET_DIRS: &[&str] = &["/etc/containers/systemd", "/usr/share/containers/systemd"];

/// The kind of Quadlet unit, from the file name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitType {
    Container,
    Image,
    Kube,
    Pod,
    Volume,
    Network,
    Build,
    Artifact,
    /// Any other extension (e.g. a plain systemd `.service`).
    Other,
}

impl UnitType {
    pub fn from_file_name(name: &str) -> UnitType {
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("container") => UnitType::Container,
            Some("image") => UnitType::Image,
            Some("kube") => UnitType::Kube,
            Some("pod") => UnitType::Pod,
            Some("volume") => UnitType::Volume,
            Some("network") => UnitType::Network,
            Some("build") => UnitType::Build,
            Some("artifact") => UnitType::Artifact,
            _ => UnitType::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitType::Container => "container",
            UnitType::Image => "image",
            UnitType::Kube => "kube",
            UnitType::Pod => "pod",
            UnitType::Volume => "volume",
            UnitType::Network => "network",
            UnitType::Build => "build",
            UnitType::Artifact => "artifact",
            UnitType::Other => "other",
        }
    }
}

/// What one Quadlet file says about images.
#[derive(Clone, Debug)]
pub struct QuadletUnit {
    /// The file's name without directories (`web.container`): the name other units use.
    pub file_name: String,
    pub unit_type: UnitType,
    /// The last non-empty `Image=` of `[Container]` or `[Image]` (an empty `Image=` resets it).
    pub image: Option<(String, Location)>,
    /// `ImageTag=` of `[Image]`: the name the pulled image gets (used when a container links
    /// to this unit, as Quadlet does).
    pub image_tag: Option<(String, Location)>,
    /// `Yaml=` of `[Kube]`, in file order (an empty `Yaml=` clears the list).
    pub yaml: Vec<(String, Location)>,
    /// The `Image=` reference (at most one).
    pub references: Vec<Reference>,
    pub problems: Vec<Problem>,
}

/// One `Key=Value` assignment with the location of its value's first character.
#[derive(Clone, Debug)]
struct Entry {
    section: String,
    key: String,
    value: String,
    location: Location,
}

/// Parse a Quadlet unit file. Lines that are not unit syntax become problems and are skipped.
pub fn parse(src: &SourceText) -> QuadletUnit {
    let file_name = src
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .unwrap_or_else(|| src.display.rsplit('/').next().unwrap_or_default().to_string());
    let unit_type = UnitType::from_file_name(&file_name);
    let (entries, problems) = read_entries(src);

    let mut image = None;
    let mut image_tag = None;
    let mut yaml = Vec::new();
    for e in entries {
        match (e.section.as_str(), e.key.as_str()) {
            ("Container" | "Image", "Image") => {
                image = (!e.value.is_empty()).then_some((e.value, e.location));
            }
            ("Image", "ImageTag") => {
                image_tag = (!e.value.is_empty()).then_some((e.value, e.location));
            }
            ("Kube", "Yaml") => {
                if e.value.is_empty() {
                    yaml.clear();
                } else {
                    yaml.push((e.value, e.location));
                }
            }
            _ => {}
        }
    }

    let references = image
        .as_ref()
        .map(|(text, loc)| {
            let mut r = Reference::new(RefKind::Runtime, Origin::QuadletImage, text.clone(), loc.clone());
            r.within = Some(file_name.clone());
            finish(r)
        })
        .into_iter()
        .collect();

    QuadletUnit { file_name, unit_type, image, image_tag, yaml, references, problems }
}

/// Resolve `Image=` values that name another Quadlet unit (`Image=web.image`): the reference's
/// `expanded` becomes that unit's `ImageTag=` (or, without one, its `Image=`), as Quadlet does.
/// A named unit that is not among `units` leaves the reference unresolved; it is never read as
/// a short name (`docker.io/library/web.image`). When several units share a file name the
/// first one in `units` wins: pass them in Quadlet's precedence order (`/run`, `/etc`, `/usr`).
pub fn link_image_units(units: &mut [QuadletUnit]) {
    let mut targets: HashMap<String, Option<String>> = HashMap::new();
    for u in units.iter().filter(|u| u.unit_type == UnitType::Image) {
        let name = u.image_tag.as_ref().or(u.image.as_ref()).map(|(text, _)| text.clone());
        targets.entry(u.file_name.clone()).or_insert(name);
    }
    for unit in units.iter_mut() {
        for r in unit.references.iter_mut().filter(|r| r.origin == Origin::QuadletImage) {
            let Some(unit_name) = linked_unit_name(&r.image) else { continue };
            if !unit_name.ends_with(".image") {
                continue;
            }
            let linked = match targets.get(unit_name) {
                None => continue, // keeps the "was not found" reason set by `parse`
                Some(None) => {
                    r.clone().unresolved(format!("names Quadlet unit {unit_name}, which has no Image="))
                }
                Some(Some(name)) => {
                    let mut linked = r.clone();
                    linked.expanded = Some(name.clone());
                    linked.status = Status::Pending;
                    finish(linked)
                }
            };
            *r = linked;
        }
    }
}

/// The unit a value names (`web.image`, `app.build`), if it names one.
fn linked_unit_name(text: &str) -> Option<&str> {
    (text.ends_with(".image") || text.ends_with(".build")).then_some(text)
}

/// Decide the status of a reference from its (expanded) text.
fn finish(mut r: Reference) -> Reference {
    let text = r.text().to_string();
    if let Some(spec) = specifier(&text) {
        return r.unresolved(format!("contains the systemd specifier `%{spec}`, expanded only at run time"));
    }
    if r.expanded.is_none() {
        if text.ends_with(".image") {
            return r.unresolved(format!("names Quadlet unit {text}, which was not found"));
        }
        if text.ends_with(".build") {
            return r.unresolved(format!(
                "names Quadlet unit {text}: the image is built on the device, not pulled"
            ));
        }
    }
    let mut expanded = text.replace("%%", "%");
    if let Some(rest) = expanded.strip_prefix("docker://") {
        expanded = rest.to_string();
    } else if let Some(transport) = local_transport(&expanded) {
        return r.unresolved(format!(
            "reads the image through the `{transport}:` transport, not from a registry"
        ));
    }
    if expanded != r.image {
        r.expanded = Some(expanded);
    }
    r.resolve()
}

/// The first systemd specifier character in `text` (`%%` is an escaped `%`, not a specifier).
fn specifier(text: &str) -> Option<char> {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => {}
                Some(other) => return Some(other),
                None => return Some(' '),
            }
        }
    }
    None
}

/// A containers-transports(5) prefix that does not name a registry image.
fn local_transport(text: &str) -> Option<&str> {
    const LOCAL: [&str; 6] =
        ["oci", "oci-archive", "docker-archive", "dir", "containers-storage", "docker-daemon"];
    let (prefix, _) = text.split_once(':')?;
    LOCAL.contains(&prefix).then_some(prefix)
}

/// Read the sections and assignments of a unit file.
fn read_entries(src: &SourceText) -> (Vec<Entry>, Vec<Problem>) {
    let lines = physical_lines(&src.text);
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut section: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let (off, raw) = lines[i];
        i += 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let logical = LogicalLine::join(&lines, &mut i, trimmed, off + raw.len() - trimmed.len());
        let at_start = || src.location(logical.source_offset(0)..logical.source_offset(0));
        if logical.text.starts_with('[') {
            match logical.text.trim_end().strip_suffix(']') {
                Some(name) => section = Some(name[1..].to_string()),
                None => problems.push(Problem {
                    message: "section header is not closed with `]`".into(),
                    location: at_start(),
                }),
            }
            continue;
        }
        let Some(eq) = logical.text.find('=') else {
            let message = format!("`{}` is not a `Key=Value` assignment", logical.text.trim_end());
            problems.push(Problem { message, location: at_start() });
            continue;
        };
        let Some(section) = section.clone() else {
            problems.push(Problem {
                message: "assignment outside of any [Section]".into(),
                location: at_start(),
            });
            continue;
        };
        entries.push(logical.entry(src, section, eq));
    }
    (entries, problems)
}

/// Physical lines as (byte offset, content without the line break), a leading BOM skipped.
fn physical_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let content = piece.strip_suffix('\n').unwrap_or(piece);
        let content = content.strip_suffix('\r').unwrap_or(content);
        lines.push((start, content));
        start += piece.len();
    }
    if let Some((off, first)) = lines.first_mut()
        && let Some(rest) = first.strip_prefix('\u{feff}')
    {
        *off += '\u{feff}'.len_utf8();
        *first = rest;
    }
    lines
}

/// One logical line: physical lines joined at a trailing `\`, with where each piece came from.
struct LogicalLine {
    text: String,
    /// (logical offset, source offset) per joined segment.
    map: Vec<(usize, usize)>,
}

impl LogicalLine {
    /// Join `first` (at source offset `at`) with its continuation lines, from `lines[*i]` on;
    /// comment lines inside the continuation are skipped. Advances `*i` past what was joined.
    fn join(lines: &[(usize, &str)], i: &mut usize, first: &str, at: usize) -> LogicalLine {
        let mut text = String::new();
        let mut map: Vec<(usize, usize)> = vec![(0, at)];
        let mut current = first;
        loop {
            match current.strip_suffix('\\') {
                Some(body) if *i < lines.len() => {
                    text.push_str(body);
                    text.push(' ');
                    while *i < lines.len() {
                        let t = lines[*i].1.trim_start();
                        if t.starts_with('#') || t.starts_with(';') {
                            *i += 1;
                        } else {
                            break;
                        }
                    }
                    if *i >= lines.len() {
                        break;
                    }
                    let (next_off, next) = lines[*i];
                    *i += 1;
                    map.push((text.len(), next_off));
                    current = next;
                }
                Some(body) => {
                    text.push_str(body);
                    break;
                }
                None => {
                    text.push_str(current);
                    break;
                }
            }
        }
        LogicalLine { text, map }
    }

    fn source_offset(&self, logical_at: usize) -> usize {
        let seg = self.map.partition_point(|&(l, _)| l <= logical_at).saturating_sub(1);
        let (l, s) = self.map[seg];
        s + (logical_at - l)
    }

    /// The `Key=Value` entry of this line, `eq` the offset of its `=`; the location spans the
    /// value as written.
    fn entry(&self, src: &SourceText, section: String, eq: usize) -> Entry {
        let key = self.text[..eq].trim().to_string();
        let after = &self.text[eq + 1..];
        let value = after.trim();
        let value_at = eq + 1 + (after.len() - after.trim_start().len());
        let begin = self.source_offset(value_at);
        let end = match value.chars().next_back() {
            Some(last) => self.source_offset(value_at + value.len() - last.len_utf8()) + last.len_utf8(),
            None => begin,
        };
        Entry { section, key, value: value.to_string(), location: src.location(begin..end.max(begin)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(path: &str, text: &str) -> QuadletUnit {
        parse(&SourceText::from_str(path, text))
    }

    fn reason(r: &Reference) -> &str {
        match &r.status {
            Status::Unresolved { reason } => reason,
            _ => "",
        }
    }

    #[test]
    fn container_image_with_position() {
        let u = unit(
            "q/web.container",
            "# comment\n[Unit]\nDescription=web\n\n[Container]\n  Image = quay.io/acme/web:1.2\nExec=x\n",
        );
        assert_eq!(u.file_name, "web.container");
        assert_eq!(u.unit_type, UnitType::Container);
        assert!(u.problems.is_empty());
        let (img, loc) = u.image.as_ref().unwrap();
        assert_eq!(img, "quay.io/acme/web:1.2");
        assert_eq!((loc.line, loc.column), (6, 11));
        assert_eq!(u.references.len(), 1);
        let r = &u.references[0];
        assert_eq!(r.image, "quay.io/acme/web:1.2");
        assert_eq!(r.kind, RefKind::Runtime);
        assert_eq!(r.origin, Origin::QuadletImage);
        assert_eq!(r.within.as_deref(), Some("web.container"));
        assert_eq!((r.location.line, r.location.column), (6, 11));
        assert_eq!(r.location.file, "q/web.container");
        assert_eq!(r.status, Status::Resolved);
    }

    #[test]
    fn last_image_wins_and_other_sections_are_ignored() {
        let u = unit(
            "a.container",
            "[Service]\nImage=not/this\n[Container]\nImage=first\n; note\nImage=second:2\n",
        );
        assert_eq!(u.references.len(), 1);
        let r = &u.references[0];
        assert_eq!(r.image, "second:2");
        assert_eq!((r.location.line, r.location.column), (6, 7));
    }

    #[test]
    fn empty_image_resets() {
        let u = unit("a.container", "[Container]\nImage=x:1\nImage=\n");
        assert!(u.image.is_none());
        assert!(u.references.is_empty());
    }

    #[test]
    fn continuation_lines_and_unicode_columns() {
        // The value starts on the continuation line; comment lines inside are skipped.
        let u = unit("é.image", "[Image]\nImage=\\\n# c\n  ré.io/x:1\n");
        let r = &u.references[0];
        assert_eq!(r.image, "ré.io/x:1");
        assert_eq!((r.location.line, r.location.column), (4, 3));
        assert_eq!(u.unit_type, UnitType::Image);
        assert_eq!(r.within.as_deref(), Some("é.image"));

        let u = unit("a.container", "[Container]\nLabel=a=b \\\n c\nImage=«x»/y\n");
        assert_eq!(u.references[0].image, "«x»/y");
        assert_eq!((u.references[0].location.line, u.references[0].location.column), (4, 7));
    }

    #[test]
    fn specifiers_are_unresolved() {
        let u = unit("a.container", "[Container]\nImage=quay.io/x/%i:1\n");
        let r = &u.references[0];
        assert!(matches!(r.status, Status::Unresolved { .. }));
        assert!(reason(r).contains("%i"), "{}", reason(r));
        assert!(r.resolved.is_none());
        // `%%` is an escaped percent sign, not a specifier.
        let u = unit("a.container", "[Container]\nImage=x%%y\n");
        assert_eq!(u.references[0].expanded.as_deref(), Some("x%y"));
    }

    #[test]
    fn transports() {
        let u = unit("a.image", "[Image]\nImage=docker://quay.io/x:1\n");
        assert_eq!(u.references[0].expanded.as_deref(), Some("quay.io/x:1"));
        assert_eq!(u.references[0].status, Status::Resolved);
        let u = unit("a.image", "[Image]\nImage=oci-archive:/opt/x.tar\nImageTag=quay.io/x:1\n");
        assert!(reason(&u.references[0]).contains("oci-archive"));
        assert_eq!(u.image_tag.as_ref().map(|t| t.0.as_str()), Some("quay.io/x:1"));
    }

    #[test]
    fn kube_yaml_entries() {
        let u = unit("app.kube", "[Kube]\nYaml=one.yaml\nYaml= /etc/two.yaml\n");
        assert_eq!(u.unit_type, UnitType::Kube);
        assert!(u.references.is_empty());
        let got: Vec<_> = u.yaml.iter().map(|(p, l)| (p.as_str(), l.line, l.column)).collect();
        assert_eq!(got, [("one.yaml", 2, 6), ("/etc/two.yaml", 3, 7)]);
    }

    #[test]
    fn malformed_lines_are_problems() {
        let u = unit("a.container", "Image=x\n[Container\n[Container]\njust words\nImage=ok\n");
        let got: Vec<_> = u.problems.iter().map(|p| (p.location.line, p.location.column)).collect();
        assert_eq!(got, [(1, 1), (2, 1), (4, 1)]);
        assert_eq!(u.references[0].image, "ok");
    }

    #[test]
    fn crlf_and_bom() {
        let u = unit("a.container", "\u{feff}[Container]\r\nImage=x:1\r\n");
        assert!(u.problems.is_empty());
        let r = &u.references[0];
        assert_eq!(r.image, "x:1");
        assert_eq!((r.location.line, r.location.column), (2, 7));
    }

    #[test]
    fn links_image_units() {
        let mut units = vec![
            unit("q/web.container", "[Container]\nImage=web.image\n"),
            unit("q/gone.container", "[Container]\nImage=gone.image\n"),
            unit("q/web.image", "[Image]\nImage=quay.io/acme/web:1\n"),
            unit("q/built.container", "[Container]\nImage=app.build\n"),
        ];
        // Before linking, a unit name is never taken as an image name.
        assert!(reason(&units[0].references[0]).contains("was not found"));
        link_image_units(&mut units);

        let r = &units[0].references[0];
        assert_eq!(r.image, "web.image");
        assert_eq!(r.expanded.as_deref(), Some("quay.io/acme/web:1"));
        assert_eq!(r.status, Status::Resolved);
        assert_eq!((r.location.line, r.location.column), (2, 7));
        assert_eq!(r.within.as_deref(), Some("web.container"));

        let r = &units[1].references[0];
        assert_eq!(reason(r), "names Quadlet unit gone.image, which was not found");
        assert!(r.resolved.is_none());

        assert!(reason(&units[3].references[0]).contains("built on the device"));
        // The .image unit's own reference is untouched.
        assert_eq!(units[2].references[0].status, Status::Resolved);
    }

    #[test]
    fn linking_prefers_image_tag_and_propagates_specifiers() {
        let mut units = vec![
            unit("a.container", "[Container]\nImage=a.image\n"),
            unit("a.image", "[Image]\nImage=docker-archive:/x.tar\nImageTag=quay.io/x:2\n"),
            unit("b.container", "[Container]\nImage=b.image\n"),
            unit("b.image", "[Image]\nImage=quay.io/%u/x\n"),
            unit("c.container", "[Container]\nImage=c.image\n"),
            unit("c.image", "[Image]\nAllTags=true\n"),
        ];
        link_image_units(&mut units);
        assert_eq!(units[0].references[0].expanded.as_deref(), Some("quay.io/x:2"));
        assert_eq!(units[0].references[0].status, Status::Resolved);
        assert!(reason(&units[2].references[0]).contains("%u"));
        assert!(reason(&units[4].references[0]).contains("has no Image="));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(parts in proptest::collection::vec(proptest::sample::select(vec![
            "[Container]", "[Image]", "[Kube]", "Image=", " Image = ", "ImageTag=", "Yaml=", "\\", "\n",
            "\r\n", " ", "\t", "#", ";", "x.image", "é", "%", "%%", "q.io/a:1", "docker://", "[",
        ]), 0..24)) {
            let s: String = parts.concat();
            let u = unit("fuzz.container", &s);
            // Every value's span is a valid slice of the text holding exactly the value.
            for (value, loc) in u.image.iter().chain(u.yaml.iter()) {
                let span = loc.span.clone().unwrap_or_default();
                proptest::prop_assert!(s.get(span.clone()).is_some(), "{span:?}");
                proptest::prop_assert!(s[span].starts_with(value.split(' ').next().unwrap_or_default()));
            }
            let mut v = vec![unit("x.container", &s), unit("x.image", &s)];
            link_image_units(&mut v);
        }

        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,80}") {
            let _ = unit("fuzz.container", &s);
        }
    }
}
