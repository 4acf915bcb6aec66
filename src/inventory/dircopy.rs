//! `dir:` copies named in an image list (DOMAIN.md §2.A): the method MicroShift documents.
//!
//! A list line is `REF,H`; the copy is the directory `H` next to the list, written by
//! `skopeo copy --preserve-digests docker://REF dir:.../H` where `H` is the hex SHA-256 of
//! `REF` followed by a newline. At boot `/usr/bin/microshift-copy-images` (run by a
//! `microshift.service.d` drop-in) copies every listed directory into the default store.

use super::copystep::{self, CopyFailure, ExecLine, FailKind, LineOutcome, Loop, ReadLine, ScriptModel};
use super::manifest::{self, Descriptor, Manifest};
use super::{EmbeddedImage, Method, StoreInfo, is_hex64, join, sha256_digest, sha256_hex, tree_size};
use crate::image::view::{Entry, FileView};
use crate::reference::imageref::ImageRef;
use std::collections::{BTreeMap, BTreeSet};

/// Where lists and copies live.
pub const COPY_ROOTS: &[&str] = &["/usr/lib/containers/storage", "/usr/lib/containers-image-cache"];
/// The list the MicroShift copy script reads.
pub const DEFAULT_LIST: &str = "/usr/lib/containers/storage/image-list.txt";
pub const COPY_SCRIPT: &str = "/usr/bin/microshift-copy-images";
pub const DROP_IN_DIR: &str = "/usr/lib/systemd/system/microshift.service.d";
/// The `version` file of a `dir:` copy written by containers/image.
const DIR_VERSION: &[u8] = b"Directory Transport Version: 1.1\n";

/// The copy service that makes `dir:` copies visible to CRI-O: the script, the drop-in that
/// runs it, and how the script is understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyService {
    pub script: bool,
    /// The script's text, when captured.
    pub script_text: Option<String>,
    /// The drop-in that runs the script.
    pub drop_in: Option<String>,
    /// The drop-in line that runs it.
    pub exec: Option<ExecLine>,
    /// The script read as bash runs it.
    pub model: ScriptModel,
    /// Its run over the list it reads, when it is the documented loop.
    pub run: Option<ListRun>,
    /// Why the drop-in's command cannot run at all (a missing or non-executable script:
    /// systemd's status 203/EXEC), when a drop-in names it.
    pub cannot_run: Option<String>,
}

impl Default for CopyService {
    fn default() -> Self {
        CopyService {
            script: false,
            script_text: None,
            drop_in: None,
            exec: None,
            model: ScriptModel { recognised: Err("no copy script".into()) },
            run: None,
            cannot_run: None,
        }
    }
}

/// The copy script's run over its list, as bash and systemd run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRun {
    /// The list read.
    pub list: String,
    /// `set -e` was in effect.
    pub errexit: bool,
    /// Lines whose copy fails (1-based line, why), in file order.
    pub failed: Vec<(u32, String)>,
    /// The line whose failure ended the script, and how many later lines were never run.
    pub stopped_at: Option<(u32, usize)>,
    /// A last line without a newline: never copied.
    pub no_newline: Option<u32>,
    /// The script exits non-zero.
    pub fails: bool,
}

impl ListRun {
    /// Whether `microshift.service` starts: a failing `ExecStartPre=` without `-` fails the
    /// unit (systemd.service(5)).
    pub fn microshift_starts(&self, exec: Option<&ExecLine>) -> bool {
        !self.fails || exec.is_some_and(|e| e.ignore_failure || !e.pre)
    }
}

impl CopyService {
    pub fn find(view: &FileView) -> CopyService {
        let script = matches!(view.lookup(COPY_SCRIPT), Some(Entry::File { .. }));
        let script_text = view.read(COPY_SCRIPT).map(|b| String::from_utf8_lossy(b).into_owned());
        let exec = view
            .list_dir(DROP_IN_DIR)
            .into_iter()
            .filter(|(name, _)| name.ends_with(".conf"))
            .map(|(name, _)| join(DROP_IN_DIR, name))
            .find_map(|path| {
                let text = String::from_utf8_lossy(view.read(&path)?).into_owned();
                ExecLine::find(&path, &text, COPY_SCRIPT)
            });
        let model = match &script_text {
            Some(text) => copystep::understand(text),
            None => ScriptModel { recognised: Err("no copy script".into()) },
        };
        let cannot_run = match (view.lookup(COPY_SCRIPT), &exec) {
            (_, None) => None,
            (Some(Entry::File { mode, .. }), Some(_)) if mode & 0o111 == 0 => Some(format!(
                "{COPY_SCRIPT} is not executable (mode {:04o}): systemd fails the command with status 203/EXEC \
                 before it runs",
                mode & 0o7777
            )),
            (Some(Entry::File { .. }), Some(_)) => None,
            (_, Some(_)) => {
                Some(format!("{COPY_SCRIPT} does not exist: systemd fails the command with status 203/EXEC"))
            }
        };
        CopyService {
            script,
            script_text,
            drop_in: exec.as_ref().map(|e| e.file.clone()),
            exec,
            model,
            run: None,
            cannot_run,
        }
    }

    /// Whether the service copies the copies named in `list`, and why (not).
    fn serves(&self, list: &str) -> (bool, String) {
        if !self.script {
            return (
                false,
                format!("{COPY_SCRIPT} is missing: nothing copies it into CRI-O's store at boot"),
            );
        }
        let Some(drop_in) = &self.drop_in else {
            return (
                false,
                format!("no drop-in in {DROP_IN_DIR} runs {COPY_SCRIPT}: nothing copies it at boot"),
            );
        };
        if let Ok(l) = &self.model.recognised {
            if l.list != list {
                return (false, format!("{COPY_SCRIPT} reads {}, not {list}", l.list));
            }
            return (true, format!("copied into the default store at boot by {COPY_SCRIPT} ({drop_in})"));
        }
        let file_name = list.rsplit('/').next().unwrap_or(list);
        let named = self.script_text.as_deref().is_some_and(|t| t.contains(list) || t.contains(file_name));
        if list != DEFAULT_LIST && !named {
            return (false, format!("{COPY_SCRIPT} does not read {list}"));
        }
        (true, format!("copied into the default store at boot by {COPY_SCRIPT} ({drop_in})"))
    }

    /// The documented loop, when it reads `list` and a drop-in runs it.
    fn loop_for(&self, list: &str) -> Option<&Loop> {
        self.model
            .recognised
            .as_ref()
            .ok()
            .filter(|l| l.list == list && self.drop_in.is_some() && self.script)
    }
}

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
            // The image each line names (a line naming the same copy again shares it).
            let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
            let mut line_image: BTreeMap<u32, usize> = BTreeMap::new();
            for l in &lines {
                let malformed = !l.text.contains(',') || l.reference.is_empty();
                if malformed {
                    if script_loop.is_some() || !l.text.trim().is_empty() {
                        let shown =
                            if l.text.trim().is_empty() { "(an empty line)" } else { l.text.as_str() };
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
                let dir_base = script_loop.as_ref().map_or(*base, |s| s.store_dir.as_str());
                listed.insert(l.hash.clone());
                let mut image = EmbeddedImage::new(Method::Dir, list.clone(), join(dir_base, &l.hash));
                image.names.push(l.reference.clone());
                image.visible(visible, why.clone());
                image.list_line = Some(super::ListLine {
                    line: l.line,
                    hash: l.hash.clone(),
                    expected_hash: sha256_hex(format!("{}\n", l.reference).as_bytes()),
                });
                check_line(view, dir_base, &l.reference, &l.hash, target_arch, &mut image);
                images.push(image);
                store.images += 1;
            }
            let errexit = script_loop.as_ref().is_some_and(|s| s.errexit);
            let run = if service.cannot_run.is_some() && visible {
                copystep::never_runs(lines)
            } else {
                copystep::run(lines, errexit, |l| match line_image.get(&l.line) {
                    Some(_) if storage_failure.is_some() => {
                        Err(CopyFailure::new(FailKind::StoreBroken, storage_failure.unwrap_or_default()))
                    }
                    Some(&i) => copy_failure(&images[i], target_arch).map_or(Ok(()), Err),
                    None if l.text.is_empty() => Err(CopyFailure::new(
                        FailKind::BadLine,
                        "an empty line gives skopeo an empty image reference",
                    )),
                    None => Err(CopyFailure::new(
                        FailKind::BadLine,
                        format!("`{}` is not REF,H: skopeo is given no image to copy", l.text.escape_debug()),
                    )),
                })
            };
            for (l, outcome) in &run.lines {
                let Some(&i) = line_image.get(&l.line) else { continue };
                let image = &mut images[i];
                // The first line naming a copy decides; a later one copies it again or fails
                // the same way.
                if image.copy.is_none() || image.list_line.as_ref().is_some_and(|x| x.line == l.line) {
                    image.copy = Some(outcome.clone());
                }
            }
            if script_loop.is_some() && service.cannot_run.is_none() {
                service.run = Some(ListRun {
                    list: list.clone(),
                    errexit,
                    failed: run
                        .lines
                        .iter()
                        .filter_map(|(l, o)| match o {
                            LineOutcome::Fails(f) => Some((l.line, f.why.clone())),
                            _ => None,
                        })
                        .collect(),
                    stopped_at: run.stopped_at.map(|at| {
                        (
                            at,
                            run.lines.iter().filter(|(_, o)| matches!(o, LineOutcome::NotReached(_))).count(),
                        )
                    }),
                    no_newline: run
                        .lines
                        .iter()
                        .find(|(_, o)| *o == LineOutcome::NoNewline)
                        .map(|(l, _)| l.line),
                    fails: run.fails,
                });
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
fn copy_failure(image: &EmbeddedImage, target_arch: Option<&str>) -> Option<CopyFailure> {
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
    if !image.problems.is_empty() {
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
            image.problem(format!("{what} blob {} is missing", d.digest));
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
