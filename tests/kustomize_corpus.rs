//! The kustomize corpus: for every tree under fixtures/kustomize, the images and pull
//! policies stowage resolves equal those of `kubectl kustomize` (expected.yaml, written by
//! fixtures/kustomize/regenerate.sh, and compared with a live `kubectl kustomize` when there
//! is one). Error trees give their finding at the right place.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use stowage::resolve::kustomize::fs::DiskFs;
use stowage::resolve::kustomize::{IssueKind, Resolution, resolve};
use stowage::text::SourceText;
use stowage::text::paths::normalize;
use stowage::text::yaml::{Node, parse_documents};

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

/// `(image, pull policy, kind, name, namespace)`.
type KubectlImage = (String, Option<String>, String, String, Option<String>);

/// The images of kubectl's output: `(image, pull policy, kind, name, namespace)` of each
/// container of a workload, and of each value at an `images` field spec of a `configurations:`
/// file of the tree (no pull policy).
fn kubectl_images(tree: &Path) -> Vec<KubectlImage> {
    let path = tree.join("expected.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let src = SourceText::from_str(&path.to_string_lossy(), &text);
    let m = stowage::source::manifest::parse(&src);
    assert!(m.problems.is_empty(), "{}: {:?}", path.display(), m.problems);
    let mut out: Vec<_> = m
        .references
        .iter()
        .map(|r| {
            let o = r.object.as_ref().expect("a reference of a built object names it");
            let policy = r.pull_policy.as_ref().map(|p| p.value.clone());
            (r.image.clone(), policy, o.kind.clone(), o.name.clone(), o.namespace.clone())
        })
        .collect();
    let specs = configured_specs(tree);
    let (docs, _) = parse_documents(&src);
    for doc in &docs {
        let root = &doc.root;
        let text = |n: Option<&Node>| n.and_then(Node::as_str).unwrap_or("").to_string();
        let (api, kind) = (text(root.get("apiVersion")), text(root.get("kind")));
        let (group, version) = api.split_once('/').unwrap_or(("", &api));
        let meta = root.get("metadata");
        let name = text(meta.and_then(|m| m.get("name")));
        let namespace = meta.and_then(|m| m.get("namespace")).and_then(Node::as_str).map(str::to_string);
        for spec in &specs {
            let is = |want: &str, have: &str| want.is_empty() || want == have;
            if !(is(&spec[0], group) && is(&spec[1], version) && is(&spec[2], &kind)) {
                continue;
            }
            let path: Vec<&str> = spec[3].trim_start_matches('/').split('/').collect();
            let mut found = Vec::new();
            at_path(root, &path, &mut found);
            for image in found.into_iter().filter_map(Node::as_str) {
                out.push((image.to_string(), None, kind.clone(), name.clone(), namespace.clone()));
            }
        }
    }
    out
}

/// `[group, version, kind, path]` of the `images` field specs of the tree's `configurations:`
/// files.
fn configured_specs(tree: &Path) -> Vec<[String; 4]> {
    let mut files = Vec::new();
    kustomization_files(tree, &mut files);
    let mut specs = Vec::new();
    for file in files {
        let read = |p: &Path| {
            let src = SourceText::from_str(&p.to_string_lossy(), &std::fs::read_to_string(p).unwrap());
            parse_documents(&src).0.into_iter().next().map(|d| d.root)
        };
        let Some(k) = read(&file) else { continue };
        for entry in k.get("configurations").and_then(Node::as_seq).unwrap_or(&[]) {
            let Some(conf) = entry.as_str().and_then(|c| read(&file.parent().unwrap().join(c))) else {
                continue;
            };
            for spec in conf.get("images").and_then(Node::as_seq).unwrap_or(&[]) {
                let field = |k: &str| spec.get(k).and_then(Node::as_str).unwrap_or("").to_string();
                specs.push([field("group"), field("version"), field("kind"), field("path")]);
            }
        }
    }
    specs
}

/// The values a field spec path reaches: every item of a list on the way, with or without
/// `[]` (kustomize's walk, written again here so the test does not read stowage's).
fn at_path<'n>(node: &'n Node, path: &[&str], out: &mut Vec<&'n Node>) {
    if let Some(items) = node.as_seq().filter(|_| !path.is_empty()) {
        items.iter().for_each(|item| at_path(item, path, out));
        return;
    }
    match path.split_first() {
        None => out.push(node),
        Some((key, rest)) => {
            if let Some(child) = node.get(key.trim_end_matches("[]")) {
                at_path(child, rest, out);
            }
        }
    }
}

fn expected(tree: &Path) -> Images {
    kubectl_images(tree).into_iter().map(|(image, policy, ..)| (image, policy)).collect()
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
        let want: Objects = kubectl_images(&tree)
            .into_iter()
            .map(|(image, _, kind, name, ns)| (image, kind, name, ns))
            .collect();
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

/// What kubectl kustomize refuses in a `configurations:` file, or when `images` meets a
/// field that is not a string, is a finding where it was written.
#[test]
fn configurations_kubectl_refuses_are_findings_where_written() {
    let at = |tree: &str| -> Vec<(String, String)> {
        issues(tree)
            .into_iter()
            .map(|(kind, location, message)| {
                assert_eq!(kind, IssueKind::Unbuildable, "{message}");
                (location, message)
            })
            .collect()
    };
    let conflict = at("error-configurations-conflict");
    assert_eq!(conflict.len(), 1, "{conflict:?}");
    assert_eq!(conflict[0].0, "fixtures/kustomize/error-configurations-conflict/image-fields.yaml:3:3");
    assert!(conflict[0].1.contains("conflicting fieldspecs"), "{}", conflict[0].1);

    let unknown = at("error-configurations-unknown-field");
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert_eq!(unknown[0].0, "fixtures/kustomize/error-configurations-unknown-field/image-fields.yaml:3:10");
    assert!(unknown[0].1.starts_with("unknown field `kinds` in `images`"), "{}", unknown[0].1);

    let missing = at("error-configurations-missing");
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].0, "fixtures/kustomize/error-configurations-missing/kustomization.yaml:6:3");
    assert!(missing[0].1.contains("missing.yaml` cannot be read"), "{}", missing[0].1);

    let mapping = at("error-images-field-not-a-string");
    assert_eq!(mapping.len(), 1, "{mapping:?}");
    assert_eq!(mapping[0].0, "fixtures/kustomize/error-images-field-not-a-string/runners.yaml:9:7");
    assert!(
        mapping[0].1.starts_with("`spec/runners/image` (an `images` field spec) is a mapping"),
        "{}",
        mapping[0].1
    );
}

/// `stowage refs --format json` reports the images at `configurations:` field specs where
/// they were written, once each (a spec reaching a container's image does not report it
/// again), with the `images` entries that changed them.
#[test]
fn configured_field_images_are_references_where_written() {
    let out = assert_cmd::Command::cargo_bin("stowage")
        .expect("the stowage binary is built")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["refs", "--format", "json", "fixtures/kustomize/configurations-base"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let refs: Vec<String> = json["references"]
        .as_array()
        .expect("references")
        .iter()
        .map(|r| {
            let at = |l: &serde_json::Value| {
                format!("{}:{}:{}", l["file"].as_str().unwrap_or(""), l["line"], l["column"])
            };
            let changes: Vec<String> = r["changed_by"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|c| format!("{} {}", c["what"].as_str().unwrap_or(""), at(&c["location"])))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} {} {} -> {} {}/{} {} [{}]",
                at(&r["location"]),
                r["origin"].as_str().unwrap_or(""),
                r["image"].as_str().unwrap_or(""),
                r["resolved"].as_str().unwrap_or(""),
                r["object"]["kind"].as_str().unwrap_or(""),
                r["object"]["name"].as_str().unwrap_or(""),
                r["within"].as_str().unwrap_or(""),
                changes.join(", "),
            )
        })
        .collect();
    const T: &str = "fixtures/kustomize/configurations-base";
    assert_eq!(
        refs,
        [
            format!(
                "{T}/more-runners/runners.yaml:8:12 configured-field quay.io/acme/runner:1.0 -> quay.io/acme/runner:2.0 \
                 RunnerSet/testers spec/runners[]/image [images newTag {T}/kustomization.yaml:10:12]"
            ),
            format!(
                "{T}/more-runners/runners.yaml:10:12 configured-field quay.io/acme/linter:1.0 -> quay.io/acme/linter:1.0-fips \
                 RunnerSet/testers spec/runners[]/image [images tagSuffix {T}/kustomization.yaml:12:14]"
            ),
            format!(
                "{T}/runners/runners.yaml:8:12 configured-field quay.io/acme/runner:1.0 -> quay.io/acme/runner:2.0 \
                 RunnerSet/builders spec/runners[]/image [images newTag {T}/runners/kustomization.yaml:9:12, \
                 images newTag {T}/kustomization.yaml:10:12]"
            ),
        ]
    );

    let r = build(Path::new("fixtures/kustomize/configurations-duplicate"));
    let got: Vec<(String, &str, Option<&str>, usize)> = r
        .references
        .iter()
        .map(|r| (r.location.to_string(), r.text(), r.within.as_deref(), r.changed_by.len()))
        .collect();
    const D: &str = "fixtures/kustomize/configurations-duplicate/workloads.yaml";
    assert_eq!(
        got,
        [
            (format!("{D}:16:16"), "quay.io/acme/web:1.0-s-s-s", Some("web"), 3),
            (format!("{D}:34:16"), "quay.io/acme/web:1.0-s-s", Some("db"), 2),
        ]
    );
}

/// expected.yaml is what the `kubectl kustomize` on this machine gives (and the error trees
/// still fail), when there is one of the version the corpus was written with.
#[test]
fn expected_outputs_are_what_kubectl_kustomize_gives() {
    let version = std::process::Command::new("kubectl").args(["version", "--client"]).output();
    let Some(version) = version.ok().filter(|o| o.status.success()) else {
        eprintln!("SKIP: no kubectl on PATH");
        return;
    };
    let want = std::fs::read_to_string(Path::new(CORPUS).join("KUSTOMIZE_VERSION")).unwrap();
    let have = String::from_utf8_lossy(&version.stdout).replace("Kustomize Version: ", "kustomize ");
    if !have.lines().any(|l| l.trim() == want.trim()) {
        eprintln!("SKIP: kubectl is not {}", want.trim());
        return;
    }
    let trees: Vec<PathBuf> = trees().into_iter().filter(|t| !t.ends_with("error-remote")).collect();
    let failures: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = trees
            .chunks(trees.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    let mut failures = Vec::new();
                    for tree in chunk {
                        let root = if tree.ends_with("error-cycle") { tree.join("a") } else { tree.clone() };
                        let out = std::process::Command::new("kubectl")
                            .arg("kustomize")
                            .arg(&root)
                            .output()
                            .unwrap();
                        let is_error = tree.file_name().unwrap().to_string_lossy().starts_with("error-");
                        if is_error {
                            if out.status.success() {
                                failures.push(format!("{}: kubectl builds it", tree.display()));
                            }
                        } else if !out.status.success() {
                            failures.push(format!(
                                "{}: {}",
                                tree.display(),
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        } else if out.stdout != std::fs::read(tree.join("expected.yaml")).unwrap() {
                            failures
                                .push(format!("{}: expected.yaml is not kubectl's output", tree.display()));
                        }
                    }
                    failures
                })
            })
            .collect();
        runs.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
