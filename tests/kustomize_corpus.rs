//! The kustomize corpus: for every tree under fixtures/kustomize, the images and pull
//! policies stowage resolves equal those of `kubectl kustomize` (expected.yaml, written by
//! fixtures/kustomize/regenerate.sh). Error trees give their finding at the right place.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use stowage::resolve::kustomize::fs::DiskFs;
use stowage::resolve::kustomize::{IssueKind, Resolution, resolve};
use stowage::text::SourceText;
use stowage::text::paths::normalize;

const CORPUS: &str = "fixtures/kustomize";

fn kustomization_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            kustomization_files(&path, out);
        } else if matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
        ) {
            out.push(normalize(&path));
        }
    }
}

fn build(tree: &Path) -> Resolution {
    let mut files = Vec::new();
    kustomization_files(tree, &mut files);
    resolve(&DiskFs, &files, &BTreeSet::new(), &HashMap::new())
}

type Images = BTreeSet<(String, Option<String>)>;

fn resolved(r: &Resolution) -> Images {
    r.references
        .iter()
        .map(|r| (r.text().to_string(), r.pull_policy.as_ref().map(|p| p.value.clone())))
        .collect()
}

fn expected(tree: &Path) -> Images {
    let path = tree.join("expected.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let m = stowage::source::manifest::parse(&SourceText::from_str(&path.to_string_lossy(), &text));
    assert!(m.problems.is_empty(), "{}: {:?}", path.display(), m.problems);
    m.references.iter().map(|r| (r.image.clone(), r.pull_policy.as_ref().map(|p| p.value.clone()))).collect()
}

fn trees() -> Vec<PathBuf> {
    let mut trees: Vec<PathBuf> =
        std::fs::read_dir(CORPUS).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    trees.sort();
    trees
}

#[test]
fn every_tree_resolves_to_what_kubectl_kustomize_deploys() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for tree in trees() {
        if tree.file_name().unwrap().to_string_lossy().starts_with("error-") {
            continue;
        }
        let r = build(&tree);
        let (got, want) = (resolved(&r), expected(&tree));
        if !r.issues.is_empty() {
            failures.push(format!("{}: unexpected issues {:?}", tree.display(), r.issues));
        }
        if got != want {
            failures.push(format!("{}:\n  stowage: {got:?}\n  kubectl: {want:?}", tree.display()));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 40, "only {checked} trees");
}

type Objects = BTreeSet<(String, String, String, Option<String>)>;

/// `(image, kind, name, namespace)` of each reference.
fn objects<'r>(refs: impl Iterator<Item = (&'r str, Option<&'r stowage::reference::ObjectRef>)>) -> Objects {
    refs.map(|(image, o)| {
        let o = o.expect("a reference of a built object names it");
        (image.to_string(), o.kind.clone(), o.name.clone(), o.namespace.clone())
    })
    .collect()
}

/// The objects holding the images are the ones kubectl builds: names with every prefix and
/// suffix of the overlays above them, in the namespace the last one set.
#[test]
fn every_image_is_in_the_object_kubectl_kustomize_names() {
    let mut failures = Vec::new();
    for tree in trees() {
        if tree.file_name().unwrap().to_string_lossy().starts_with("error-") {
            continue;
        }
        let r = build(&tree);
        let got = objects(r.references.iter().map(|r| (r.text(), r.object.as_ref())));
        let path = tree.join("expected.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let m = stowage::source::manifest::parse(&SourceText::from_str(&path.to_string_lossy(), &text));
        let want = objects(m.references.iter().map(|r| (r.image.as_str(), r.object.as_ref())));
        if got != want {
            failures.push(format!("{}:\n  stowage: {got:?}\n  kubectl: {want:?}", tree.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_resolved_reference_keeps_where_it_was_written() {
    let r = build(Path::new("fixtures/kustomize/overlay-of-overlay"));
    let web = r.references.iter().find(|r| r.within.as_deref() == Some("web")).unwrap();
    assert_eq!(web.image, "quay.io/acme/web:1.0");
    assert_eq!(
        format!("{}", web.location),
        "fixtures/kustomize/overlay-of-overlay/base/deployment.yaml:18:16"
    );
    let changes: Vec<String> = web.changed_by.iter().map(|c| format!("{} {}", c.location, c.what)).collect();
    assert_eq!(
        changes,
        [
            "fixtures/kustomize/overlay-of-overlay/staging/kustomization.yaml:8:12 images newTag",
            "fixtures/kustomize/overlay-of-overlay/kustomization.yaml:8:11 images digest",
        ]
    );
    let r = build(Path::new("fixtures/kustomize/smp-inline"));
    let proxy = r.references.iter().find(|r| r.within.as_deref() == Some("proxy")).unwrap();
    let change = &proxy.changed_by[0];
    assert_eq!(
        format!("{} {}", change.location, change.what),
        "fixtures/kustomize/smp-inline/kustomization.yaml:16:20 patch"
    );
    assert_eq!(
        format!("{}", proxy.pull_policy.as_ref().unwrap().location),
        "fixtures/kustomize/smp-inline/kustomization.yaml:17:30"
    );
    let r = build(Path::new("fixtures/kustomize/replacements-generator"));
    let whats: Vec<String> =
        r.references[0].changed_by.iter().map(|c| format!("{} {}", c.location, c.what)).collect();
    assert_eq!(
        whats,
        [
            "fixtures/kustomize/replacements-generator/kustomization.yaml:10:3 replacements",
            "fixtures/kustomize/replacements-generator/kustomization.yaml:8:15 value from ConfigMap/versions data.WEB_IMAGE",
        ]
    );
}

fn issues(tree: &str) -> Vec<(IssueKind, String, String)> {
    build(&Path::new(CORPUS).join(tree))
        .issues
        .into_iter()
        .map(|i| (i.kind, i.location.to_string(), i.message))
        .collect()
}

#[test]
fn remote_resources_are_findings_at_their_entry() {
    let found = issues("error-remote");
    let at: Vec<(IssueKind, &str)> = found.iter().map(|(k, l, _)| (*k, l.as_str())).collect();
    assert_eq!(
        at,
        [
            (IssueKind::Remote, "fixtures/kustomize/error-remote/kustomization.yaml:4:3"),
            (IssueKind::Remote, "fixtures/kustomize/error-remote/kustomization.yaml:5:3"),
        ]
    );
    assert!(found[0].2.contains("https://github.com/acme/deploy//base?ref=v1.0"), "{}", found[0].2);
}

#[test]
fn helm_charts_missing_files_and_cycles_are_findings_at_their_entry() {
    let helm = issues("error-helm");
    assert_eq!(helm.len(), 1, "{helm:?}");
    assert_eq!(helm[0].1, "fixtures/kustomize/error-helm/kustomization.yaml:4:3");
    assert!(helm[0].2.contains("--enable-helm"), "{}", helm[0].2);

    let missing = issues("error-missing-file");
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].1, "fixtures/kustomize/error-missing-file/kustomization.yaml:5:3");
    assert!(missing[0].2.contains("missing.yaml` does not exist"), "{}", missing[0].2);

    let cycle = issues("error-cycle");
    assert_eq!(cycle.len(), 1, "{cycle:?}");
    assert_eq!(cycle[0].0, IssueKind::Unbuildable);
    assert_eq!(cycle[0].1, "fixtures/kustomize/error-cycle/b/kustomization.yaml:4:3");
    assert!(cycle[0].2.starts_with("kustomization cycle: "), "{}", cycle[0].2);
}
