//! Logically bound images (DOMAIN.md §2.D): `/usr/lib/bootc/bound-images.d/*` symlinks to
//! Quadlet `.image` / `.container` files. They are not carried — bootc pulls them at
//! upgrade/switch — but they are listed, with the errors bootc would report for them
//! (bootc-dev/bootc `crates/lib/src/boundimage.rs`: not a symlink, bad extension, missing
//! `Image=`, `AuthFile=`, systemd `%` specifiers). bootc stops at the first bad entry, so any
//! error fails the whole upgrade.

use super::{EmbeddedImage, Method, StoreInfo, join};
use crate::image::view::{Entry, FileView};
use crate::source::quadlet;
use crate::text::SourceText;

pub const BOUND_IMAGES_DIR: &str = "/usr/lib/bootc/bound-images.d";

/// Why bootc would refuse an entry of bound-images.d, worded as bootc words it. Paths are
/// shown without their leading `/`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BoundError {
    #[error("Not a symlink: {name}")]
    NotASymlink { name: String },
    #[error("cannot read {path}: no such file inside the image")]
    Unreadable { path: String },
    /// The link's target is not in the image.
    #[error("cannot read {path} -> {target}: no such file inside the image")]
    Dangling { path: String, target: String },
    #[error("Invalid file extension: {name}")]
    Extension { name: String },
    #[error("Parsing {path}: AuthFile is not supported by bound bootc images")]
    AuthFile { path: String },
    #[error("Parsing {path}: Missing Image field")]
    MissingImage { path: String },
    #[error("Parsing {path}: Invalid image value: {source}")]
    ImageValue { path: String, source: SpecifierError },
}

/// A systemd specifier in an `Image=` value, which bootc does not expand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecifierError {
    #[error("Systemd specifiers are not supported by bound bootc images: {value}")]
    Specifier { value: String },
    #[error("Unterminated %")]
    Unterminated,
}

pub fn read(
    view: &FileView,
    images: &mut Vec<EmbeddedImage>,
    stores: &mut Vec<StoreInfo>,
    problems: &mut Vec<String>,
) {
    if view.lookup(BOUND_IMAGES_DIR).is_none() {
        return;
    }
    let mut info = StoreInfo {
        path: BOUND_IMAGES_DIR.into(),
        kind: "bound-images.d".into(),
        method: Method::Bound,
        configured: true,
        images: 0,
        problems: Vec::new(),
        missing_locks: Vec::new(),
        malformed_lines: Vec::new(),
    };
    for (name, entry) in view.list_dir(BOUND_IMAGES_DIR) {
        let path = join(BOUND_IMAGES_DIR, name);
        let mut image = EmbeddedImage::new(Method::Bound, BOUND_IMAGES_DIR, path.clone());
        image.complete = false;
        image
            .problems
            .push("logically bound: pulled by bootc at upgrade/switch, not carried in the image".into());
        image.visible(false, "not carried: bootc pulls it into its own store when the image is deployed");
        match bound_image(view, name, entry, &path) {
            Ok(value) => image.names.push(value),
            Err(e) => {
                image.problems.push(format!("bootc: {e}"));
                info.problems.push(format!("{name}: {e}"));
            }
        }
        images.push(image);
        info.images += 1;
    }
    if let Some(first) = info.problems.first() {
        problems.push(format!(
            "bootc will refuse this image's bound images (it stops at the first bad entry of {BOUND_IMAGES_DIR}): {first}"
        ));
    }
    stores.push(info);
}

/// The image one entry names, or the error bootc gives for it.
fn bound_image(view: &FileView, name: &str, entry: &Entry, path: &str) -> Result<String, BoundError> {
    if !matches!(entry, Entry::Symlink { .. }) {
        return Err(BoundError::NotASymlink { name: name.to_string() });
    }
    match image_value(view, name, path)? {
        Some(v) => Ok(v),
        None => Err(BoundError::MissingImage { path: path.trim_start_matches('/').to_string() }),
    }
}

/// `Image=` of the unit the link points at, as bootc reads it: from `[Image]` for `.image`,
/// from `[Container]` for `.container`, `%%` unescaped, any other `%` rejected.
fn image_value(view: &FileView, name: &str, path: &str) -> Result<Option<String>, BoundError> {
    let shown = || path.trim_start_matches('/').to_string();
    let Some(bytes) = view.read(path) else {
        return Err(match view.entry(path) {
            Some(Entry::Symlink { target }) => BoundError::Dangling { path: shown(), target: target.clone() },
            _ => BoundError::Unreadable { path: shown() },
        });
    };
    let section = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("image") => "Image",
        Some("container") => "Container",
        _ => return Err(BoundError::Extension { name: name.to_string() }),
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    let resolved = view.resolve(path).unwrap_or_else(|| path.to_string());
    let src = SourceText::new(&resolved, &resolved, text);
    let unit = quadlet::parse(&src);
    if section == "Image" && section_keys(&src.text, "Image").iter().any(|k| k == "AuthFile") {
        return Err(BoundError::AuthFile { path: shown() });
    }
    let Some((value, location)) = unit.image else { return Ok(None) };
    if section_at(&src.text, location.line) != Some(section) {
        return Ok(None);
    }
    spec_value(&value).map(Some).map_err(|source| BoundError::ImageValue { path: shown(), source })
}

/// systemd specifier handling as bootc does it: `%%` → `%`, any other `%` is an error.
pub fn spec_value(value: &str) -> Result<String, SpecifierError> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(_) => {
                return Err(SpecifierError::Specifier { value: value.to_string() });
            }
            None => return Err(SpecifierError::Unterminated),
        }
    }
    Ok(out)
}

/// The `[Section]` a 1-based line belongs to.
fn section_at(text: &str, line: u32) -> Option<&str> {
    text.lines()
        .take(line as usize)
        .filter_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .last()
}

/// Keys assigned in a section.
fn section_keys(text: &str, section: &str) -> Vec<String> {
    let mut current = None;
    let mut out = Vec::new();
    for l in text.lines().map(str::trim) {
        if let Some(s) = l.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(s.to_string());
        } else if current.as_deref() == Some(section)
            && let Some((k, _)) = l.split_once('=')
        {
            out.push(k.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_as_bootc_parses_them() {
        assert_eq!(spec_value("quay.io/foo/%%foo:latest").as_deref(), Ok("quay.io/foo/%foo:latest"));
        assert_eq!(spec_value("quay.io/foo/%%%%foo:latest").as_deref(), Ok("quay.io/foo/%%foo:latest"));
        assert_eq!(
            spec_value("quay.io/foo/%foo:latest").unwrap_err().to_string(),
            "Systemd specifiers are not supported by bound bootc images: quay.io/foo/%foo:latest"
        );
        assert!(spec_value("quay.io/foo/%%%foo:latest").is_err());
        assert_eq!(spec_value("quay.io/foo/foo:latest%").unwrap_err().to_string(), "Unterminated %");
    }

    #[test]
    fn sections() {
        let t = "[Unit]\nA=1\n[Image]\nImage=x\nAuthFile=/a\n";
        assert_eq!(section_at(t, 4), Some("Image"));
        assert_eq!(section_keys(t, "Image"), ["Image", "AuthFile"]);
    }
}
