//! `dir:` copies named in an image list (DOMAIN.md §2.A): the method MicroShift documents.
//!
//! A list line is `REF,H`; the copy is the directory `H` next to the list, written by
//! `skopeo copy --preserve-digests docker://REF dir:.../H` where `H` is the hex SHA-256 of
//! `REF` followed by a newline. At boot `/usr/bin/microshift-copy-images` (run by a
//! `microshift.service.d` drop-in) copies every listed directory into the default store.

pub use super::copyservice::{COPY_SCRIPT, CopyService, DEFAULT_LIST, DROP_IN_DIR, ListRun};
use super::copystep::{self, CopyFailure, FailKind, ReadLine, Run};
use super::manifest::{self, Descriptor, Manifest};
use super::policy::{POLICY_JSON, Policy};
use super::{EmbeddedImage, Method, StoreInfo, is_hex64, join, sha256_digest, sha256_hex, tree_size};
use crate::image::view::{Entry, FileView};
use crate::reference::imageref::ImageRef;
use std::collections::{BTreeMap, BTreeSet};

/// Where lists and copies live.
pub const COPY_ROOTS: &[&str] = &["/usr/lib/containers/storage", "/usr/lib/containers-image-cache"];
/// The `version` file of a `dir:` copy written by containers/image.
const DIR_VERSION: &[u8] = b"Directory Transport Version: 1.1\n";

/// Read every image list under [`COPY_ROOTS`] and the copies it names, plus copies no list
/// names. `target_arch` is the device's: the copy step picks its instance from a list.
/// `storage_failure` says why containers/storage cannot be opened on the device (then every
/// copy fails).
pub fn read(
    view: &FileView,
    target_arch: Option<&str>,
    storage_failure: Option<&str>,
    images: &mut Vec<EmbeddedImage>,
    stores: &mut Vec<StoreInfo>,
) -> CopyService {
    let mut service = CopyService::find(view);
    let policy = Policy::parse(view.read(POLICY_JSON));
    for base in COPY_ROOTS {
        if view.lookup(base).is_none() {
            continue;
        }
        let children = view.list_dir(base);
        let lists: Vec<String> = children
            .iter()
            .filter(|(name, e)| name.ends_with(".txt") && matches!(e, Entry::File { .. }))
            .map(|(name, _)| join(base, name))
            .collect();
        let mut listed: BTreeSet<String> = BTreeSet::new();
        for list in &lists {
            let Some(bytes) = view.read(list) else { continue };
            let text = String::from_utf8_lossy(bytes);
            let script_loop = service.loop_for(list).cloned();
            if script_loop.is_none() && !looks_like_list(&text) {
                continue;
            }
            let (visible, why) = service.serves(list);
            let mut store = StoreInfo {
                path: list.clone(),
                kind: "image-list".into(),
                method: Method::Dir,
                configured: visible,
                images: 0,
                problems: Vec::new(),
                missing_locks: Vec::new(),
                malformed_lines: Vec::new(),
            };
            if !visible {
                store.problems.push(why.clone());
            }
            let lines = match &script_loop {
                Some(_) => copystep::read_lines(&text),
                None => trimmed_lines(&text),
            };
            let ctx = ListRead {
                view,
                list,
                dir_base: script_loop.as_ref().map_or(*base, |s| s.store_dir.as_str()),
                strict: script_loop.is_some(),
                visible,
                why: &why,
                target_arch,
            };
            let line_image = ctx.images(&lines, images, &mut store, &mut listed);
            let errexit = script_loop.as_ref().is_some_and(|s| s.errexit);
            let never = service.cannot_run.is_some() && visible;
            let failing = Failing { storage: storage_failure, target_arch, policy: &policy };
            let run = failing.run(lines, errexit, never, &line_image, images);
            for (l, outcome) in &run.lines {
                let Some(&i) = line_image.get(&l.line) else { continue };
                let image = &mut images[i];
                // The first line naming a copy decides; a later one copies it again or fails
                // the same way.
                if image.copy.is_none() || image.list_line.as_ref().is_some_and(|x| x.line == l.line) {
                    image.copy = Some(outcome.clone());
                }
            }
            for &i in line_image.values() {
                settle_reused_layers(&mut images[i]);
            }
            if script_loop.is_some() && service.cannot_run.is_none() {
                service.run = Some(ListRun::new(list, errexit, &run));
            }
            stores.push(store);
        }
        // Copies that no list names: carried, but nothing copies them.
        for (name, entry) in &children {
            if !matches!(entry, Entry::Dir { .. }) || !is_hex64(name) || listed.contains(*name) {
                continue;
            }
            let dir = join(base, name);
            if view.lookup(&join(&dir, "manifest.json")).is_none() {
                continue;
            }
            let mut image = EmbeddedImage::new(Method::Dir, *base, dir.clone());
            image.visible(false, "not named in any image list: nothing copies it into CRI-O's store");
            check_copy(view, &dir, None, &mut image);
            images.push(image);
        }
    }
    service
}

/// How one image list is read: where its copies are, and whether bash's `read` decides.
struct ListRead<'a> {
    view: &'a FileView,
    list: &'a str,
    /// The directory `H` is taken in.
    dir_base: &'a str,
    /// The documented loop reads the list: empty and comment lines are lines too.
    strict: bool,
    visible: bool,
    why: &'a str,
    target_arch: Option<&'a str>,
}

impl ListRead<'_> {
    /// One image per distinct `REF,H` line (checked), appended to `images`; malformed lines on
    /// the store. Returns the image index of each line that names one.
    fn images(
        &self,
        lines: &[ReadLine],
        images: &mut Vec<EmbeddedImage>,
        store: &mut StoreInfo,
        listed: &mut BTreeSet<String>,
    ) -> BTreeMap<u32, usize> {
        let list = self.list;
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut line_image: BTreeMap<u32, usize> = BTreeMap::new();
        for l in lines {
            if !l.text.contains(',') || l.reference.is_empty() {
                if self.strict || !l.text.trim().is_empty() {
                    let shown = if l.text.trim().is_empty() { "(an empty line)" } else { l.text.as_str() };
                    store.problems.push(format!("line {}: `{shown}` is not REF,H", l.line));
                    store.malformed_lines.push((l.line, l.text.clone()));
                }
                continue;
            }
            let key = (l.reference.clone(), l.hash.clone());
            if let Some(&first) = seen.get(&key) {
                if let Some(image) = images.get_mut(first) {
                    image.warnings.push(format!("listed again on line {} of {list}", l.line));
                }
                line_image.insert(l.line, first);
                continue;
            }
            seen.insert(key, images.len());
            line_image.insert(l.line, images.len());
            listed.insert(l.hash.clone());
            let mut image = EmbeddedImage::new(Method::Dir, list, join(self.dir_base, &l.hash));
            image.names.push(l.reference.clone());
            image.visible(self.visible, self.why);
            image.list_line = Some(super::ListLine {
                line: l.line,
                hash: l.hash.clone(),
                expected_hash: sha256_hex(format!("{}\n", l.reference).as_bytes()),
            });
            check_line(self.view, self.dir_base, &l.reference, &l.hash, self.target_arch, &mut image);
            images.push(image);
            store.images += 1;
        }
        line_image
    }
}

/// What makes the copy of a line fail on the device, besides the line and its copy.
struct Failing<'a> {
    /// Why containers/storage cannot be opened at all.
    storage: Option<&'a str>,
    target_arch: Option<&'a str>,
    /// The signature policy skopeo checks each `dir:` source against.
    policy: &'a Policy,
}

impl Failing<'_> {
    /// Run the copy step over the lines (`never`: the script cannot run at all).
    fn run(
        &self,
        lines: Vec<ReadLine>,
        errexit: bool,
        never: bool,
        line_image: &BTreeMap<u32, usize>,
        images: &[EmbeddedImage],
    ) -> Run {
        if never {
            return copystep::never_runs(lines);
        }
        // Layers the copies so far put in the store: containers/image reuses a layer the
        // destination already has instead of reading the source's blob (`TryReusingBlob`), so a
        // later copy missing that blob still succeeds (seen with skopeo by the device oracle).
        let mut stored: BTreeSet<String> = BTreeSet::new();
        copystep::run(lines, errexit, |l| match line_image.get(&l.line) {
            Some(_) if self.storage.is_some() => {
                Err(CopyFailure::new(FailKind::StoreBroken, self.storage.unwrap_or_default()))
            }
            Some(&i) => {
                let image = &images[i];
                let failure = match self.policy.refuses_dir(&image.path) {
                    Some(why) => Some(CopyFailure::new(FailKind::Policy, why)),
                    None => copy_failure(image, self.target_arch, &stored),
                };
                if failure.is_none() {
                    stored.extend(image.layer_blobs.iter().map(|(d, _)| d.clone()));
                }
                failure.map_or(Ok(()), Err)
            }
            None if l.text.is_empty() => Err(CopyFailure::new(
                FailKind::BadLine,
                "an empty line gives skopeo an empty image reference",
            )),
            None => Err(CopyFailure::new(
                FailKind::BadLine,
                format!("`{}` is not REF,H: skopeo is given no image to copy", l.text.escape_debug()),
            )),
        })
    }
}

/// The lines of a list read by something other than the documented loop: trimmed, blank and
/// `#` lines skipped, each split on its first comma.
fn trimmed_lines(text: &str) -> Vec<ReadLine> {
    text.lines()
        .enumerate()
        .filter(|(_, raw)| !raw.trim().is_empty() && !raw.trim().starts_with('#'))
        .map(|(n, raw)| {
            let line = raw.trim();
            let (reference, hash) = match line.split_once(',') {
                Some((r, h)) => (r.trim().to_string(), h.trim().to_string()),
                None => (line.to_string(), String::new()),
            };
            ReadLine { line: n as u32 + 1, text: line.to_string(), reference, hash, runs: true }
        })
        .collect()
}

/// Why `skopeo copy --preserve-digests dir:DIR/H containers-storage:REF` refuses this copy on a
/// device of `target_arch`, or `None` when it succeeds.
fn copy_failure(
    image: &EmbeddedImage,
    target_arch: Option<&str>,
    stored: &BTreeSet<String>,
) -> Option<CopyFailure> {
    let reference = image.names.first().map(String::as_str).unwrap_or_default();
    let parsed = match ImageRef::parse(reference) {
        Ok(r) if reference.trim() == reference => r,
        _ => {
            return Some(CopyFailure::new(
                FailKind::BadLine,
                format!("`{}` is not an image reference skopeo accepts", reference.escape_debug()),
            ));
        }
    };
    let reused = reused_layer_problems(image, stored);
    if image.problems.len() > reused.len() {
        return Some(CopyFailure::new(
            FailKind::Incomplete,
            format!("the copy is incomplete ({})", image.problems.join("; ")),
        ));
    }
    if let (Some(want), Some(has)) = (parsed.digest(), image.digest.as_deref())
        && want != has
    {
        return Some(CopyFailure::new(
            FailKind::DigestMismatch,
            format!(
                "its manifest.json is {has}, not the {want} the line names: skopeo refuses it (\"Digest of source \
             image's manifest would not match destination reference\")"
            ),
        ));
    }
    if let Some(target) = target_arch
        && image.index
        && !image.architectures.is_empty()
        && !image.architectures.iter().any(|a| super::same_arch(a, target))
    {
        return Some(CopyFailure::new(
            FailKind::NoPlatform,
            format!(
                "it is a manifest list with no copied instance for {target}: skopeo copies the device's \
                 platform only"
            ),
        ));
    }
    None
}

/// The problems of a copy that are layer blobs it misses but the store already has from an
/// earlier copy (`stored`): skopeo reuses those layers and the copy succeeds.
fn reused_layer_problems(image: &EmbeddedImage, stored: &BTreeSet<String>) -> Vec<String> {
    image
        .layer_blobs
        .iter()
        .filter(|(digest, held)| !held && stored.contains(digest))
        .map(|(digest, _)| missing_blob("layer", digest))
        .filter(|p| image.problems.contains(p))
        .collect()
}

/// A copy the step copied although it misses layer blobs (reused from the store): complete on
/// the device, with the missing blobs as warnings.
fn settle_reused_layers(image: &mut EmbeddedImage) {
    if !matches!(image.copy, Some(copystep::LineOutcome::Copied)) || image.problems.is_empty() {
        return;
    }
    let missing: Vec<String> =
        image.layer_blobs.iter().filter(|(_, held)| !held).map(|(d, _)| missing_blob("layer", d)).collect();
    let (reused, rest): (Vec<String>, Vec<String>) =
        std::mem::take(&mut image.problems).into_iter().partition(|p| missing.contains(p));
    image.problems = rest;
    image.complete = image.problems.is_empty();
    image.warnings.extend(reused.into_iter().map(|p| {
        format!("{p} from the copy: skopeo reuses the layer an earlier line of the list put in the store")
    }));
}

fn missing_blob(what: &str, digest: &str) -> String {
    format!("{what} blob {digest} is missing")
}

/// A text file is an image list when its first non-empty line is `something,<64 hex>`.
fn looks_like_list(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_once(','))
        .is_some_and(|(r, h)| !r.trim().is_empty() && is_hex64(h.trim()))
}

fn check_line(
    view: &FileView,
    base: &str,
    reference: &str,
    hash: &str,
    target_arch: Option<&str>,
    image: &mut EmbeddedImage,
) {
    let expected = sha256_hex(format!("{reference}\n").as_bytes());
    if hash.is_empty() || hash.contains('/') || hash == "." || hash == ".." {
        image.problem(format!("`{hash}` is not a directory name (expected {expected})"));
        return;
    }
    if hash != expected {
        let cause = if hash == sha256_hex(reference.as_bytes()) {
            " (it was computed without the trailing newline, as `echo -n` does)"
        } else {
            ""
        };
        image.warnings.push(format!(
            "H {hash} is not sha256(REF + newline) = {expected}{cause}; the copy script uses H as written"
        ));
    }
    let dir = join(base, hash);
    if !matches!(view.lookup(&dir), Some(Entry::Dir { .. })) {
        let elsewhere = join(base, &expected);
        if hash != expected && matches!(view.lookup(&elsewhere), Some(Entry::Dir { .. })) {
            image.problem(format!("no directory {dir} (a copy exists at {elsewhere}, the correct H)"));
        } else {
            image.problem(format!("no directory {dir}: the copy was never written"));
        }
        return;
    }
    check_copy(view, &dir, target_arch, image);
}

/// Check one `dir:` copy: manifest, per-platform manifests, blobs, architectures, size.
/// With `target_arch`, only the instance of a manifest list for that architecture is among
/// the digests: the boot-time copy (without `--all`) stores that one under the list's digest.
fn check_copy(view: &FileView, dir: &str, target_arch: Option<&str>, image: &mut EmbeddedImage) {
    image.size = tree_size(view, dir);
    match view.read(&join(dir, "version")) {
        Some(v) if v == DIR_VERSION => {}
        Some(v) => image.warnings.push(format!(
            "version file says `{}`, not `Directory Transport Version: 1.1`",
            String::from_utf8_lossy(v).trim()
        )),
        None => image.warnings.push("no `version` file: not written by skopeo/containers-image".into()),
    }
    let manifest_path = join(dir, "manifest.json");
    let Some(bytes) = view.read(&manifest_path) else {
        if view.lookup(&manifest_path).is_some() {
            image.problem("manifest.json is too large to read");
        } else {
            image.problem("no manifest.json");
        }
        return;
    };
    let digest = sha256_digest(bytes);
    image.digests.push(digest.clone());
    image.digest = Some(digest);
    match manifest::parse(bytes) {
        Err(e) => image.problem(format!("manifest.json is {e}")),
        Ok(Manifest::Image { config, layers, architecture }) => {
            let arch = check_image(view, dir, config.as_ref(), &layers, architecture, None, image);
            image.architectures.extend(arch);
            image.layer_blobs = layer_blobs(view, dir, &layers);
        }
        Ok(Manifest::Index { manifests }) => {
            image.index = true;
            let mut missing = Vec::new();
            let mut copied = 0;
            for entry in &manifests {
                let label = entry.platform.clone().unwrap_or_else(|| entry.digest.clone());
                let Some(hex) = manifest::sha256_hex_of(&entry.digest) else {
                    image.warnings.push(format!("index entry {} is not a sha256 digest", entry.digest));
                    continue;
                };
                let path = join(dir, &format!("{hex}.manifest.json"));
                let Some(instance) = view.read(&path) else {
                    missing.push(label);
                    continue;
                };
                if sha256_hex(instance) != hex {
                    image.problem(format!("{hex}.manifest.json does not match its digest"));
                    continue;
                }
                let copied_at_boot = match (target_arch, entry.platform.as_deref()) {
                    (Some(target), Some(platform)) => super::same_arch(platform, target),
                    _ => true,
                };
                copied += 1;
                if copied_at_boot {
                    image.digests.push(entry.digest.clone());
                }
                match manifest::parse(instance) {
                    Ok(Manifest::Image { config, layers, architecture }) => {
                        // What an instance the device does not copy lacks is a warning only.
                        let mut scratch = EmbeddedImage::new(Method::Dir, "", "");
                        let arch = check_image(
                            view,
                            dir,
                            config.as_ref(),
                            &layers,
                            architecture,
                            entry.platform.clone(),
                            &mut scratch,
                        );
                        if copied_at_boot {
                            for p in scratch.problems {
                                image.problem(p);
                            }
                        } else {
                            image
                                .warnings
                                .extend(scratch.problems.into_iter().map(|p| format!("{label}: {p}")));
                        }
                        image.warnings.extend(scratch.warnings);
                        image.architectures.extend(arch);
                    }
                    Ok(Manifest::Index { .. }) => {
                        image.warnings.push(format!("{hex}.manifest.json is a nested index (not followed)"))
                    }
                    Err(e) => image.problem(format!("{hex}.manifest.json is {e}")),
                }
            }
            if copied == 0 && !manifests.is_empty() {
                image.problem(format!(
                    "only the index was copied: no per-platform manifest for {}",
                    missing.join(", ")
                ));
            } else if !missing.is_empty() {
                image.warnings.push(format!("platforms not copied: {}", missing.join(", ")));
            }
        }
    }
}

/// Check the blobs of one image manifest in a `dir:` copy; its architecture (config first,
/// then the index's platform).
fn check_image(
    view: &FileView,
    dir: &str,
    config: Option<&Descriptor>,
    layers: &[Descriptor],
    schema1_arch: Option<String>,
    platform: Option<String>,
    image: &mut EmbeddedImage,
) -> Option<String> {
    let mut arch = schema1_arch;
    if let Some(c) = config
        && let Some(path) = check_blob(view, dir, c, "config", image)
    {
        let bytes = view.read(&path);
        // The config is small and read anyway: a damaged one fails the copy ("Download
        // config.json digest ... does not match expected"). Layer blobs are not hashed here.
        if let Some(b) = bytes
            && manifest::sha256_hex_of(&c.digest).is_some_and(|hex| sha256_hex(b) != hex)
        {
            image.problem(format!("config blob {} does not match its digest", c.digest));
        }
        arch = bytes.and_then(manifest::config_architecture).or(arch);
    }
    for l in layers {
        check_blob(view, dir, l, "layer", image);
    }
    match (arch, platform) {
        (Some(a), Some(p)) if a != p && a.split('/').next() != p.split('/').next() => {
            image.warnings.push(format!("the index says {p} but the config says {a}"));
            Some(a)
        }
        (Some(a), _) => Some(a),
        (None, p) => {
            if p.is_none() {
                image.warnings.push("architecture unknown: the config blob was not captured".into());
            }
            p
        }
    }
}

/// Each layer blob of a copy, with whether the copy holds it.
fn layer_blobs(view: &FileView, dir: &str, layers: &[Descriptor]) -> Vec<(String, bool)> {
    layers
        .iter()
        .map(|l| {
            let held = manifest::sha256_hex_of(&l.digest)
                .is_some_and(|hex| matches!(view.lookup(&join(dir, hex)), Some(Entry::File { .. })));
            (l.digest.clone(), held)
        })
        .collect()
}

/// The path of a present blob, or a problem on the image.
fn check_blob(
    view: &FileView,
    dir: &str,
    d: &Descriptor,
    what: &str,
    image: &mut EmbeddedImage,
) -> Option<String> {
    let Some(hex) = manifest::sha256_hex_of(&d.digest) else {
        image.problem(format!("{what} {} is not a sha256 digest", d.digest));
        return None;
    };
    let path = join(dir, hex);
    match view.lookup(&path) {
        Some(Entry::File { size, .. }) => {
            if let Some(want) = d.size.filter(|w| w != size) {
                image.problem(format!("{what} blob {} is {size} bytes, the manifest says {want}", d.digest));
            }
            Some(path)
        }
        _ => {
            image.problem(missing_blob(what, &d.digest));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_detection() {
        let h = "a".repeat(64);
        assert!(looks_like_list(&format!("\nquay.io/x:1,{h}\n")));
        assert!(!looks_like_list("just some notes, really\n"));
        assert!(!looks_like_list(""));
    }
}
