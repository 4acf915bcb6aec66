//! `stowage pin`: for each reference pinned by tag only, ask the registry (through
//! [`crate::image::registry::lookup`]) for the digest the build or the device will use, and
//! plan the edits that write it where it takes effect ([`site`]): the reference itself, the
//! `ARG` default it uses whole, or the kustomization `images:` entry that set its final tag.
//! An embed copied without `--all` gets the target platform's manifest digest (the `dir:`
//! copy holds that manifest; an index digest would make the boot-time copy fail), with `--all`
//! the index digest; the `H` next to it follows. Nothing is written here: the plan holds each
//! file before and after.

pub mod containerfile;
pub mod edit;
pub mod kustomize;
pub mod site;

use crate::gather::Facts;
use crate::gather::online::platform_of;
use crate::image::registry::lookup::{self, Answer, FailureKind, Found, LookupOptions, PlatformCheck, Query};
use crate::inventory::Method;
use crate::reference::Reference;
use crate::reference::imageref::ImageRef;
use crate::reference::platform::Platform;
use crate::text::location::Location;
use edit::Edit;
use site::{Class, Site};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How pin runs.
#[derive(Clone, Debug, Default)]
pub struct PinOptions {
    pub lookup: LookupOptions,
    /// The platform a reference serves when it names none (`--arch`).
    pub platform: Platform,
    /// `--update`: re-resolve `tag@digest` references whose tag moved.
    pub update: bool,
    /// Build arguments set from outside the Containerfiles (their ARG defaults are not used).
    pub build_args: Vec<String>,
    /// The PATHs, searched for image lists (`image-list.txt`, `mapping.txt`) to keep in step.
    pub paths: Vec<PathBuf>,
}

/// A file pin changes: its text before and after (byte for byte, BOM included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub display: String,
    pub path: PathBuf,
    pub before: String,
    pub after: String,
}

/// A reference pin writes a digest for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinned {
    pub location: Location,
    pub image: String,
    pub digest: String,
}

/// A reference pin leaves as it is, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Left {
    pub location: Location,
    pub image: String,
    pub reason: String,
}

/// What pin would do.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub files: Vec<FileChange>,
    pub pinned: Vec<Pinned>,
    pub already: usize,
    pub left: Vec<Left>,
    /// HTTP requests made to the registries.
    pub requests: u64,
}

/// Why pin could not do its work (exit 2): a registry that could not be asked, a file that
/// changed or could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PinError(pub String);

/// A reference to pin, with where and how.
struct Target<'f> {
    reference: &'f Reference,
    site: Site,
    query: usize,
    /// Copied without `--all`: the platform's manifest digest is the one used.
    per_platform: bool,
    /// A `dir:` copy, whose `H` follows the reference.
    dir_copy: bool,
}

/// Plan the pinning of every reference of `facts`.
pub fn plan(facts: &Facts, opts: &PinOptions) -> Result<Plan, PinError> {
    let mut plan = Plan::default();
    let mut queries: Vec<Query> = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    for r in facts.references.iter().filter(|r| !r.location.in_image) {
        match site::classify(r, &facts.sources, &opts.build_args, opts.update) {
            Class::Already => plan.already += 1,
            Class::Left(reason) => plan.left.push(left(r, reason)),
            Class::Pin(site) => {
                let site = match shared_base(r, &facts.references) {
                    Some(Ok(entry)) => entry,
                    Some(Err(reason)) => {
                        plan.left.push(left(r, reason));
                        continue;
                    }
                    None => site,
                };
                let Some(query) = query_of(r, &opts.platform) else {
                    plan.left.push(left(r, "no tag to resolve".into()));
                    continue;
                };
                let index = queries.iter().position(|q| *q == query).unwrap_or_else(|| {
                    queries.push(query);
                    queries.len() - 1
                });
                let embed = (r.origin == crate::reference::Origin::ContainerfileEmbed)
                    .then(|| embed_of(facts, &r.location))
                    .flatten();
                let per_platform = embed.is_some_and(|e| !e.all);
                let dir_copy = embed.is_some_and(|e| e.method == Method::Dir);
                targets.push(Target { reference: r, site, query: index, per_platform, dir_copy });
            }
        }
    }
    let outcome = lookup::lookup(&queries, &opts.lookup)
        .map_err(|e| PinError(format!("cannot ask the registries: {e}")))?;
    plan.requests = outcome.requests;
    stop_on_failures(&targets, &outcome.answers)?;
    let lists = if targets.iter().any(|t| t.dir_copy) { image_lists(&opts.paths) } else { Vec::new() };
    let mut edits: Vec<Edit> = Vec::new();
    let mut written: BTreeMap<(String, usize, usize), (String, Location)> = BTreeMap::new();
    for t in &targets {
        let digest = match chosen(&outcome.answers[t.query], t.per_platform, &queries[t.query].platform) {
            Ok(d) => d,
            Err(reason) => {
                plan.left.push(left(t.reference, reason));
                continue;
            }
        };
        match target_edits(facts, t, &digest, &lists) {
            Ok(None) => plan.already += 1,
            Ok(Some(mut more)) => {
                if let Some(reason) = clash(&mut written, &more, &t.reference.location) {
                    plan.left.push(left(t.reference, reason));
                    continue;
                }
                edits.append(&mut more);
                let r = t.reference;
                plan.pinned.push(Pinned { location: r.location.clone(), image: r.text().into(), digest });
            }
            Err(reason) => plan.left.push(left(t.reference, reason)),
        }
    }
    plan.files = apply_all(facts, &lists, edits)?;
    plan.left.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(plan)
}

/// Two references that want different text at the same place (an `ARG` used by `FROM`s of
/// different platforms): the later one is left, naming the first.
fn clash(
    written: &mut BTreeMap<(String, usize, usize), (String, Location)>,
    edits: &[Edit],
    at: &Location,
) -> Option<String> {
    for e in edits {
        if let Some((text, first)) = written.get(&(e.file.clone(), e.range.start, e.range.end))
            && *text != e.text
        {
            return Some(format!("the reference at {first} wants another digest in the same text"));
        }
    }
    for e in edits {
        written
            .entry((e.file.clone(), e.range.start, e.range.end))
            .or_insert_with(|| (e.text.clone(), at.clone()));
    }
    None
}

fn left(r: &Reference, reason: String) -> Left {
    Left { location: r.location.clone(), image: r.text().into(), reason }
}

/// The tag to look up: `name:tag` (the digest of `--update`'s `tag@digest` dropped).
fn query_of(r: &Reference, default: &Platform) -> Option<Query> {
    let resolved = r.resolved.as_ref()?;
    let tag = resolved.tag().or(if resolved.digest().is_some() { None } else { Some("latest") })?;
    let reference = ImageRef::parse(&format!("{}:{tag}", resolved.name())).ok()?;
    Some(Query { reference, platform: platform_of(r, default) })
}

/// The embed a `skopeo copy` / `podman pull` reference belongs to: the closest one before it.
fn embed_of<'f>(facts: &'f Facts, at: &Location) -> Option<&'f crate::inventory::plan::PlannedEmbed> {
    facts
        .embed_plan
        .iter()
        .filter(|e| e.location.file == at.file && e.location <= *at)
        .max_by(|a, b| a.location.cmp(&b.location))
}

/// A base manifest whose text another kustomization re-tags: the digest goes into a new
/// `images:` entry of the kustomization that builds this reference, not into the shared base.
fn shared_base(r: &Reference, all: &[Reference]) -> Option<Result<Site, String>> {
    let here = r.kustomization.as_ref()?;
    if !r.changed_by.is_empty() {
        return None;
    }
    all.iter().find(|o| {
        o.location == r.location
            && o.location.span == r.location.span
            && o.changed_by.iter().any(|c| c.what == "images newTag" || c.what == "images digest")
    })?;
    if r.expanded.is_some() {
        return Some(Err(
            "the manifest is shared with a kustomization that re-tags it, and its text is substituted".into(),
        ));
    }
    let Ok(written) = ImageRef::parse(&r.image) else {
        return Some(Err("not a reference where it is written".into()));
    };
    let name = r.image[..written.repository_span().end].to_string();
    let tag = written.tag().unwrap_or_default().to_string();
    Some(Ok(Site::NewEntry { file: here.file.clone(), name, tag }))
}

/// Exit 2 on a registry that could not be asked (fail closed), naming each one.
fn stop_on_failures(targets: &[Target], answers: &[Answer]) -> Result<(), PinError> {
    let mut by_registry: BTreeMap<String, String> = BTreeMap::new();
    for t in targets {
        let Answer::Failed(f) = &answers[t.query] else { continue };
        let what = match f.kind {
            FailureKind::Denied => "refused the lookup",
            FailureKind::Unreachable => "could not be reached",
            FailureKind::Blocked => "is blocked",
            FailureKind::BadAnswer => "gave an answer that cannot be used",
        };
        by_registry.entry(f.registry.clone()).or_insert_with(|| {
            format!(
                "registry {} {what} (first for `{}` at {}): {}",
                f.registry,
                t.reference.text(),
                t.reference.location,
                f.message
            )
        });
    }
    if by_registry.is_empty() {
        return Ok(());
    }
    Err(PinError(by_registry.into_values().collect::<Vec<_>>().join("; ")))
}

/// The digest to write, or why there is none.
fn chosen(answer: &Answer, per_platform: bool, platform: &Platform) -> Result<String, String> {
    let found: &Found = match answer {
        Answer::Found(f) => f,
        Answer::NotFound { message } => return Err(format!("the registry does not have it: {message}")),
        Answer::Failed(f) => return Err(f.message.clone()),
    };
    match &found.platform {
        PlatformCheck::Present => {}
        PlatformCheck::IndexWithout { have } => {
            return Err(format!("the index has no {} (it has {})", platform.to_oci(), have.join(", ")));
        }
        PlatformCheck::SingleFor { platform: p } => {
            return Err(format!("the image is for {p}, not {}", platform.to_oci()));
        }
    }
    Ok(match (&found.instance, per_platform) {
        (Some(instance), true) => instance.clone(),
        _ => found.digest.clone(),
    })
}

/// The edits of one target; `None` when its text already names `digest`.
fn target_edits(
    facts: &Facts,
    t: &Target,
    digest: &str,
    lists: &[Extra],
) -> Result<Option<Vec<Edit>>, String> {
    let r = t.reference;
    if r.resolved.as_ref().and_then(|i| i.digest()) == Some(digest) {
        return Ok(None);
    }
    let source = |file: &str| facts.sources.get(file).ok_or_else(|| format!("{file} was not read"));
    match &t.site {
        Site::ImagesEntry { file, at } => {
            let tag = r.resolved.as_ref().and_then(|i| i.tag()).filter(|t| *t != "latest");
            kustomize::entry_edits(file, &source(file)?.text, *at, tag, digest).map(Some)
        }
        Site::NewEntry { file, name, tag } => {
            kustomize::new_entry_edits(file, &source(file)?.text, name, tag, digest).map(Some)
        }
        Site::Text { file, span, written } => {
            let new = edit::pinned_text(written, digest).ok_or("not a reference where it is written")?;
            if new == *written {
                return Ok(None);
            }
            let mut edits = vec![Edit { file: file.clone(), range: span.clone(), text: new.clone() }];
            if t.dir_copy && written == r.text() {
                // H is the hash of this very text: wherever the Containerfile writes it (the
                // `dir:` path, an `echo "REF,H"`, in a heredoc or not), it names this copy.
                let cf = source(&r.location.file)?;
                edits.extend(containerfile::hash_edits(&r.location.file, &cf.text, written, &new));
                for list in lists {
                    edits.extend(containerfile::list_edits(&list.display, &list.text, written, &new));
                }
            }
            Ok(Some(edits))
        }
    }
}

/// A file read besides the sources: an image list of the repository.
struct Extra {
    display: String,
    path: PathBuf,
    text: String,
}

/// The image lists under the PATHs (`image-list.txt`, `mapping.txt`), walked like the sources.
fn image_lists(paths: &[PathBuf]) -> Vec<Extra> {
    let mut out = Vec::new();
    for root in paths {
        let walker = ignore::WalkBuilder::new(root).follow_links(true).require_git(false).build();
        for entry in walker.flatten() {
            let name = entry.file_name().to_string_lossy();
            if !(name == "image-list.txt" || name == "mapping.txt")
                || !entry.file_type().is_some_and(|t| t.is_file())
            {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                let display = crate::text::source::display_path(entry.path());
                out.push(Extra { display, path: entry.path().to_path_buf(), text });
            }
        }
    }
    out.sort_by(|a, b| a.display.cmp(&b.display));
    out.dedup_by(|a, b| a.display == b.display);
    out
}

/// Apply the edits file by file, against the bytes on disk (which must still be what was read).
fn apply_all(facts: &Facts, lists: &[Extra], edits: Vec<Edit>) -> Result<Vec<FileChange>, PinError> {
    let mut by_file: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    for e in edits {
        by_file.entry(e.file.clone()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (file, mut edits) in by_file {
        let (path, text) = match (facts.sources.get(&file), lists.iter().find(|l| l.display == file)) {
            (Some(s), _) => (s.path.clone(), s.text.clone()),
            (None, Some(l)) => (l.path.clone(), l.text.clone()),
            (None, None) => return Err(PinError(format!("{file}: not among the files read"))),
        };
        let raw = std::fs::read_to_string(&path).map_err(|e| PinError(format!("{file}: {e}")))?;
        let bom = if raw.starts_with('\u{feff}') { "\u{feff}" } else { "" };
        if raw[bom.len()..] != text {
            return Err(PinError(format!("{file}: changed while pin was running; run it again")));
        }
        let after = edit::apply(&text, &mut edits).map_err(|c| {
            PinError(format!(
                "{}: two references want different text at bytes {}..{}",
                c.file, c.range.start, c.range.end
            ))
        })?;
        if after != text {
            out.push(FileChange { display: file, path, before: raw.clone(), after: format!("{bom}{after}") });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::registry::lookup::Failure;

    fn found(platform: PlatformCheck, instance: Option<&str>) -> Answer {
        Answer::Found(Found {
            digest: "sha256:index".into(),
            via: None,
            platform,
            instance: instance.map(str::to_string),
            tag: None,
        })
    }

    #[test]
    fn a_copy_of_one_platform_gets_its_manifest_and_the_rest_the_index() {
        let amd64 = Platform::default();
        let index = found(PlatformCheck::Present, Some("sha256:amd64"));
        assert_eq!(chosen(&index, false, &amd64).unwrap(), "sha256:index");
        assert_eq!(chosen(&index, true, &amd64).unwrap(), "sha256:amd64");
        let single = found(PlatformCheck::Present, None);
        assert_eq!(chosen(&single, true, &amd64).unwrap(), "sha256:index");
        let without = found(PlatformCheck::IndexWithout { have: vec!["linux/arm64".into()] }, None);
        assert_eq!(
            chosen(&without, false, &amd64).unwrap_err(),
            "the index has no linux/amd64 (it has linux/arm64)"
        );
        let missing = Answer::NotFound { message: "manifest unknown".into() };
        assert!(chosen(&missing, false, &amd64).unwrap_err().contains("does not have it"));
        let failed = Answer::Failed(Failure {
            kind: FailureKind::Unreachable,
            registry: "r".into(),
            message: "down".into(),
        });
        assert_eq!(chosen(&failed, false, &amd64).unwrap_err(), "down");
    }

    #[test]
    fn a_base_another_overlay_retags_gets_an_entry_in_the_overlay_that_keeps_its_tag() {
        let files = [
            ("base/kustomization.yaml", "resources:\n- pod.yaml\n"),
            (
                "base/pod.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: q.io/a/app:1\n",
            ),
            ("dev/kustomization.yaml", "resources:\n- ../base\n"),
            (
                "prod/kustomization.yaml",
                "resources:\n- ../base\nimages:\n- name: q.io/a/app\n  newTag: \"2\"\n",
            ),
        ];
        let facts =
            crate::gather::discover::gather_in_memory(&files, &crate::source::BuildOptions::default());
        let dev = facts.references.iter().find(|r| r.changed_by.is_empty()).expect("the dev build");
        let site = shared_base(dev, &facts.references).expect("shared").unwrap();
        let file = "dev/kustomization.yaml".to_string();
        assert_eq!(site, Site::NewEntry { file, name: "q.io/a/app".into(), tag: "1".into() });
        let prod = facts.references.iter().find(|r| !r.changed_by.is_empty()).unwrap();
        assert!(shared_base(prod, &facts.references).is_none());
    }
}
