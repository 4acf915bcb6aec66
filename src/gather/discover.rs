//! The static facts: the PATH arguments walked ([`walk`](super::walk)) and parsed
//! ([`parse`](super::parse)), then combined — Quadlet links, MicroShift placement, the
//! kustomize builds, the embed plan — into [`Facts`].

use super::not_built::not_built;
use super::parse::{Details, ParsedFile, parse_all, parse_source};
use super::placement::{AppliedDir, manifests_not_applied, place};
use super::walk::{WalkError, discover};
use crate::gather::facts::Facts;
use crate::resolve::kustomize;
use crate::resolve::kustomize::fs::{DiskFs, Fs, MemFs};
use crate::source::microshift::KustomizePath;
use crate::source::{BuildOptions, FileKind};
use crate::text::Problem;
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::{display_path, source_from_bytes};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `dest` followed by `src`; taken over whole when `dest` is empty, so that one large file's
/// references are moved, not copied into a second vector as large.
fn append<T>(dest: &mut Vec<T>, src: Vec<T>) {
    if dest.is_empty() {
        *dest = src;
    } else {
        dest.extend(src);
    }
}

/// Combine parsed files into the facts: cross-file links (Quadlet `.image` units), the
/// kustomize builds, then every reference and problem in file order. A manifest some
/// kustomization reads is reported through that kustomization only, as it resolves it (the
/// configured `image_fields` included).
pub fn into_facts(
    parsed: Vec<ParsedFile>,
    walk_problems: Vec<Problem>,
    fs: &dyn Fs,
    image_fields: &[FieldPath],
) -> Facts {
    into_facts_with(parsed, walk_problems, fs, None, image_fields)
}

/// [`into_facts`] for the sources read from inside an image, whose MicroShift configuration
/// (the effective `kustomizePaths`) was read with the image's inventory.
pub fn into_facts_in_image(
    parsed: Vec<ParsedFile>,
    fs: &dyn Fs,
    kustomize_paths: &[String],
    image_fields: &[FieldPath],
) -> Facts {
    let paths = kustomize_paths.iter().map(|p| KustomizePath { path: p.clone(), location: None }).collect();
    into_facts_with(parsed, Vec::new(), fs, Some(paths), image_fields)
}

fn into_facts_with(
    mut parsed: Vec<ParsedFile>,
    walk_problems: Vec<Problem>,
    fs: &dyn Fs,
    kustomize_paths: Option<Vec<KustomizePath>>,
    image_fields: &[FieldPath],
) -> Facts {
    link_quadlets(&mut parsed);
    let placement = place(&parsed, kustomize_paths);
    let always_roots: BTreeSet<PathBuf> = placement.applied.keys().cloned().collect();
    let kustomize = resolve_kustomizations(&parsed, fs, &always_roots, image_fields);
    let kustomizations = readable_kustomizations(&parsed);
    // The build is done with the documents the walk kept for it.
    let documents: Vec<_> = parsed.iter_mut().filter_map(|f| f.documents.take()).collect();
    if documents.len() >= crate::source::LARGE_TREE {
        crate::source::drop_in_background(documents);
    }
    let not_applied = manifests_not_applied(&parsed, &placement, &kustomize.reached);
    let reported: HashSet<&str> = not_applied.iter().map(|n| n.location.file.as_str()).collect();
    let (not_deployed, manifests_not_built) =
        not_built(&parsed, &kustomize, &kustomizations, &reported, &placement.placed);
    let mut facts = Facts {
        manifests_not_applied: not_applied,
        manifests_not_built,
        applied_kustomizations: placement
            .applied
            .iter()
            .map(|(dir, in_image)| AppliedDir { dir: display_path(dir), in_image: in_image.clone() })
            .collect(),
        ..Facts::default()
    };
    facts.problems.extend(walk_problems);
    let mut containerfiles = Vec::new();
    let mut releases = Vec::new();
    let reached: HashSet<&Path> = kustomize.reached.iter().map(PathBuf::as_path).collect();
    // The raw references of manifests a kustomization resolves, replaced by its own.
    let mut superseded = Vec::new();
    for (i, file) in parsed.into_iter().enumerate() {
        let display = file.source.as_ref().map(|s| s.display.clone());
        match file.details {
            Details::Manifest(objects) => append(&mut facts.objects, objects),
            Details::Containerfile(c) => containerfiles.push(*c),
            // The release references were handed to the file; the plan needs them back.
            Details::Release(mut r) => {
                r.references = file.references.clone();
                releases.push((display.clone().unwrap_or_default(), r));
            }
            _ => {}
        }
        if let Some(source) = file.source {
            let reached = reached.contains(normalize(&source.path).as_path());
            facts.sources.insert(source.display.clone(), source);
            // A manifest a kustomization resolves is reported as it does; one no build takes is
            // not deployed (`manifests_not_built` says why).
            if (reached || not_deployed.contains(&i)) && file.kind == FileKind::Manifest {
                facts.problems.extend(file.problems);
                superseded.push(file.references);
                continue;
            }
        }
        append(&mut facts.references, file.references);
        facts.problems.extend(file.problems);
    }
    if superseded.len() >= crate::source::LARGE_TREE {
        crate::source::drop_in_background(superseded);
    }
    for source in kustomize.sources {
        facts.sources.entry(source.display.clone()).or_insert(source);
    }
    facts.references.extend(kustomize.references);
    facts.references.sort_by(|a, b| {
        (&a.location.file, a.location.line, a.location.column).cmp(&(
            &b.location.file,
            b.location.line,
            b.location.column,
        ))
    });
    facts.kustomize_issues = kustomize.issues;
    let containerfiles: Vec<&crate::source::containerfile::Containerfile> = containerfiles.iter().collect();
    let releases: Vec<(String, &crate::source::release::Release)> =
        releases.iter().map(|(p, r)| (p.clone(), r)).collect();
    facts.embed_plan = crate::inventory::plan::embed_plan(&containerfiles, &releases);
    facts
}

/// The directories of the walked kustomization files that parsed without a problem, each
/// with where its `resources` list is written (else the start of the file).
fn readable_kustomizations(parsed: &[ParsedFile]) -> BTreeMap<PathBuf, Location> {
    parsed
        .iter()
        .filter(|f| f.kind == FileKind::Kustomization && f.problems.is_empty())
        .filter_map(|f| {
            let (source, docs) = (f.source.as_ref()?, f.documents.as_ref()?);
            let at = docs
                .first()
                .and_then(|k| k.get("resources").and_then(|r| r.location()).or_else(|| k.location()))
                .unwrap_or_else(|| source.file_location());
            Some((normalize(source.path.parent()?), at))
        })
        .collect()
}

/// Build every kustomization among the parsed files (on the parser pool, whose threads have
/// the stack the YAML parser and the nested builds need); `always_roots` are
/// built on their own; the images at the configured `image_fields` are taken from the built
/// objects.
fn resolve_kustomizations(
    parsed: &[ParsedFile],
    fs: &dyn Fs,
    always_roots: &BTreeSet<PathBuf>,
    image_fields: &[FieldPath],
) -> kustomize::Resolution {
    let mut files = Vec::new();
    let mut known = HashMap::new();
    let mut documents = HashMap::new();
    for file in parsed {
        if let Some(source) = &file.source {
            let path = normalize(&source.path);
            if file.kind == FileKind::Kustomization {
                files.push(path.clone());
            }
            if let Some(docs) = &file.documents {
                documents.insert(path.clone(), Arc::clone(docs));
            }
            known.insert(path, Arc::clone(source));
        }
    }
    if files.is_empty() {
        return kustomize::Resolution::default();
    }
    let request = kustomize::Request {
        fs,
        kustomization_files: &files,
        always_roots,
        known: &known,
        parsed: &documents,
        image_fields,
        parallel: true,
    };
    request.resolve()
}

/// Resolve `Image=NAME.image` through the unit of that name, then hand the Quadlet
/// references to their files.
fn link_quadlets(parsed: &mut [ParsedFile]) {
    let mut units: Vec<crate::source::quadlet::QuadletUnit> = Vec::new();
    let mut owners = Vec::new();
    for (i, file) in parsed.iter_mut().enumerate() {
        if let Details::Quadlet(unit) = &mut file.details {
            owners.push(i);
            units.push(unit.clone());
        }
    }
    crate::source::quadlet::link_image_units(&mut units);
    for (i, mut unit) in owners.into_iter().zip(units) {
        parsed[i].references = std::mem::take(&mut unit.references);
        parsed[i].details = Details::Quadlet(unit);
    }
}

/// Discover, read and parse: the facts of the PATH arguments.
pub fn gather(paths: &[PathBuf], opts: &BuildOptions) -> Result<Facts, WalkError> {
    gather_filtered(paths, opts, &|_| true)
}

/// [`gather`], keeping only the files whose display path `keep` accepts (`exclude` globs).
pub fn gather_filtered(
    paths: &[PathBuf],
    opts: &BuildOptions,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Facts, WalkError> {
    let (mut files, walk_problems) = discover(paths)?;
    files.retain(|f| keep(&f.display) && is_for_release_arch(f, opts));
    Ok(into_facts(parse_all(&files, opts), walk_problems, &DiskFs, &opts.image_fields))
}

/// Whether a walked file is read for the release architecture asked for: a MicroShift release
/// file of another architecture is not (as in an image, where only the target's are read).
fn is_for_release_arch(file: &super::walk::Discovered, opts: &BuildOptions) -> bool {
    let (FileKind::MicroshiftRelease, Some(arch)) = (file.kind, opts.release_arch.as_deref()) else {
        return true;
    };
    let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    crate::source::release::is_for_arch(name, arch)
}

/// The same as [`gather`] over in-memory files `(path, text)`, for tests.
pub fn gather_in_memory(files: &[(&str, &str)], opts: &BuildOptions) -> Facts {
    let parsed = files
        .iter()
        .filter_map(|(path, text)| {
            let kind = FileKind::classify(Path::new(path))?;
            let walked =
                super::walk::Discovered { display: path.to_string(), path: PathBuf::from(path), kind };
            if !is_for_release_arch(&walked, opts) {
                return None;
            }
            Some(match source_from_bytes(Path::new(path), path, text.as_bytes().to_vec()) {
                Ok(source) => parse_source(kind, source, opts),
                Err(problem) => ParsedFile {
                    kind,
                    source: None,
                    references: Vec::new(),
                    problems: vec![problem],
                    details: Details::None,
                    documents: None,
                },
            })
        })
        .collect();
    let fs = MemFs { files: files.iter().map(|(p, t)| (normalize(Path::new(p)), t.to_string())).collect() };
    into_facts(parsed, Vec::new(), &fs, &opts.image_fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - d.yaml\n";
    const D: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: quay.io/a/b:1\n";

    #[test]
    fn a_copied_config_sets_the_kustomize_paths() {
        let facts = gather_in_memory(
            &[
                (
                    "repo/Containerfile",
                    "FROM quay.io/fedora/fedora-bootc:42\nCOPY conf/paths.yaml /etc/microshift/config.d/10-paths.yaml\nCOPY app/ /opt/apps/app/\nCOPY other/ /usr/lib/microshift/manifests.d/other/\n",
                ),
                ("repo/conf/paths.yaml", "manifests:\n  kustomizePaths:\n    - /opt/apps/*\n"),
                ("repo/app/kustomization.yaml", K),
                ("repo/app/d.yaml", D),
                ("repo/other/kustomization.yaml", K),
                ("repo/other/d.yaml", D),
            ],
            &BuildOptions::default(),
        );
        let applied: Vec<(&str, &str)> =
            facts.applied_kustomizations.iter().map(|a| (a.dir.as_str(), a.in_image.as_str())).collect();
        assert_eq!(applied, [("repo/app", "/opt/apps/app")]);
        let skipped: Vec<(&str, &str)> = facts
            .manifests_not_applied
            .iter()
            .map(|n| (n.location.file.as_str(), n.setting.as_ref().map_or("", |s| s.file.as_str())))
            .collect();
        assert_eq!(skipped, [("repo/other/d.yaml", "")]);
        assert!(
            facts.manifests_not_applied[0].reason.contains("/opt/apps/*"),
            "{:?}",
            facts.manifests_not_applied
        );
    }

    /// A `.json` file is a source only as a manifest (or a MicroShift release file); the
    /// release files of another architecture than the one asked for are not read.
    #[test]
    fn json_files_are_manifests_release_files_or_nothing() {
        let release = |image: &str| format!("{{\"images\": {{\"pod\": \"{image}\"}}}}");
        let (x86, arm) = (release("q.io/pod:x86"), release("q.io/pod:arm"));
        let files = [
            (
                "r/web.json",
                r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "q.io/a:1"}]}}"#,
            ),
            ("r/package.json", r#"{"name": "x", "kind": "y"}"#),
            ("r/broken.json", "{"),
            ("rel/release-x86_64.json", x86.as_str()),
            ("rel/release-aarch64.json", arm.as_str()),
        ];
        let sources_and_images = |opts: &BuildOptions| {
            let facts = gather_in_memory(&files, opts);
            let sources: Vec<String> = facts.sources.keys().cloned().collect();
            let images: Vec<String> =
                facts.references.iter().map(|r| format!("{} {}", r.kind.as_str(), r.image)).collect();
            (sources, images, facts.problems.len())
        };
        let (sources, images, problems) = sources_and_images(&BuildOptions::default());
        assert_eq!(sources, ["r/web.json", "rel/release-aarch64.json", "rel/release-x86_64.json"]);
        assert_eq!(images, ["runtime q.io/a:1", "release q.io/pod:arm", "release q.io/pod:x86"]);
        assert_eq!(problems, 0);
        let arm64 = BuildOptions { release_arch: Some("arm64".into()), ..BuildOptions::default() };
        let (sources, images, _) = sources_and_images(&arm64);
        assert_eq!(sources, ["r/web.json", "rel/release-aarch64.json"]);
        assert_eq!(images, ["runtime q.io/a:1", "release q.io/pod:arm"]);
    }

    #[test]
    fn copies_win_over_the_mirror_and_the_mirror_still_counts() {
        let facts = gather_in_memory(
            &[
                ("repo/Containerfile", "FROM x\nCOPY m/ /etc/microshift/manifests.d/m/\n"),
                ("repo/m/d.yaml", D),
                ("repo/usr/lib/microshift/manifests/kustomization.yaml", K),
                ("repo/usr/lib/microshift/manifests/d.yaml", D),
            ],
            &BuildOptions::default(),
        );
        let applied: Vec<&str> = facts.applied_kustomizations.iter().map(|a| a.in_image.as_str()).collect();
        assert_eq!(applied, ["/usr/lib/microshift/manifests"]);
        let skipped: Vec<&str> =
            facts.manifests_not_applied.iter().map(|n| n.location.file.as_str()).collect();
        assert_eq!(skipped, ["repo/m/d.yaml"]);
    }

    const OPERATOR: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: op
  namespace: ops
spec:
  template:
    spec:
      containers:
        - name: manager
          image: quay.io/x/op:1.0
          env:
            - name: RELATED_IMAGE_DB
              value: quay.io/x/db:1.0
            - name: LOG_LEVEL
              value: debug
";

    /// (file:line:column, origin, image, object kind/name/namespace, within, kustomization) of
    /// every reference.
    fn described(facts: &Facts) -> Vec<String> {
        facts
            .references
            .iter()
            .map(|r| {
                let object = r.object.as_ref().map_or(String::new(), |o| {
                    format!("{}/{}/{}", o.kind, o.name, o.namespace.as_deref().unwrap_or(""))
                });
                format!(
                    "{}:{}:{} {} {} {:?} {} {} {}",
                    r.location.file,
                    r.location.line,
                    r.location.column,
                    r.kind.as_str(),
                    r.origin.as_str(),
                    r.status,
                    r.image,
                    object,
                    r.within.as_deref().unwrap_or("-"),
                ) + &r.kustomization.as_ref().map_or(String::new(), |k| format!(" via {}", k.file))
            })
            .collect()
    }

    /// A configured `image-fields` path gives its reference whether or not a kustomization
    /// lists the manifest, at the same place and once.
    #[test]
    fn configured_fields_of_a_kustomize_resource_are_kept() {
        let field = "spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value";
        let opts = BuildOptions {
            image_fields: vec![crate::text::fieldpath::FieldPath::parse(field).unwrap()],
            ..BuildOptions::default()
        };
        let plain = gather_in_memory(&[("app/deployment.yaml", OPERATOR)], &opts);
        let want_plain = [
            "app/deployment.yaml:11:18 runtime kubernetes-container Resolved quay.io/x/op:1.0 Deployment/op/ops manager".to_string(),
            format!("app/deployment.yaml:14:22 runtime configured-field Resolved quay.io/x/db:1.0 Deployment/op/ops {field}"),
        ];
        assert_eq!(described(&plain), want_plain);

        let kustomized = gather_in_memory(
            &[
                ("app/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
                ("app/deployment.yaml", OPERATOR),
            ],
            &opts,
        );
        let want: Vec<String> =
            want_plain.iter().map(|r| format!("{r} via app/kustomization.yaml")).collect();
        assert_eq!(described(&kustomized), want);

        // Without the configured field, only the container.
        let without = gather_in_memory(
            &[
                ("app/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
                ("app/deployment.yaml", OPERATOR),
            ],
            &BuildOptions::default(),
        );
        assert_eq!(described(&without), want[..1]);
    }
}
