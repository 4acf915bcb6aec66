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
fn bound_image(view: &FileView, name: &str, entry: &Entry, path: &str) -> Result<String, String> {
    if !matches!(entry, Entry::Symlink { .. }) {
        return Err(format!("Not a symlink: {name}"));
    }
    match image_value(view, name, path)? {
        Some(v) => Ok(v),
        None => Err(format!("Parsing {}: Missing Image field", path.trim_start_matches('/'))),
    }
}

/// `Image=` of the unit the link points at, as bootc reads it: from `[Image]` for `.image`,
/// from `[Container]` for `.container`, `%%` unescaped, any other `%` rejected.
fn image_value(view: &FileView, name: &str, path: &str) -> Result<Option<String>, String> {
    let Some(bytes) = view.read(path) else {
        let target = match view.entry(path) {
            Some(Entry::Symlink { target }) => format!(" -> {target}"),
            _ => String::new(),
        };
        return Err(format!(
            "cannot read {}{target}: no such file inside the image",
            path.trim_start_matches('/')
        ));
    };
    let section = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("image") => "Image",
        Some("container") => "Container",
        _ => return Err(format!("Invalid file extension: {name}")),
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    let resolved = view.resolve(path).unwrap_or_else(|| path.to_string());
    let src = SourceText::new(&resolved, &resolved, text);
    let unit = quadlet::parse(&src);
    let context = |e: String| format!("Parsing {}: {e}", path.trim_start_matches('/'));
    if section == "Image" && section_keys(&src.text, "Image").iter().any(|k| k == "AuthFile") {
        return Err(context("AuthFile is not supported by bound bootc images".into()));
    }
    let Some((value, location)) = unit.image else { return Ok(None) };
    if section_at(&src.text, location.line) != Some(section) {
        return Ok(None);
    }
    spec_value(&value).map(Some).map_err(|e| context(format!("Invalid image value: {e}")))
}

/// systemd specifier handling as bootc does it: `%%` → `%`, any other `%` is an error.
pub fn spec_value(value: &str) -> Result<String, String> {
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
                return Err(format!("Systemd specifiers are not supported by bound bootc images: {value}"));
            }
            None => return Err("Unterminated %".into()),
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
        assert!(spec_value("quay.io/foo/%foo:latest").is_err());
        assert!(spec_value("quay.io/foo/%%%foo:latest").is_err());
        assert_eq!(spec_value("quay.io/foo/foo:latest%"), Err("Unterminated %".into()));
    }

    #[test]
    fn sections() {
        let t = "[Unit]\nA=1\n[Image]\nImage=x\nAuthFile=/a\n";
        assert_eq!(section_at(t, 4), Some("Image"));
        assert_eq!(section_keys(t, "Image"), ["Image", "AuthFile"]);
    }
}
