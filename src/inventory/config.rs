//! The configuration inside the image that decides who sees an embedded image: the effective
//! `storage.conf`, `registries.conf` (with drop-ins), CRI-O's config, MicroShift's config and
//! release files. Parsing reuses the source parsers; this module only finds the files and
//! applies each tool's precedence.

use crate::image::view::{Entry, FileView};
use crate::source::crio::{self, EffectiveCrio};
use crate::source::crio::{CRIO_CONF, CRIO_DROP_INS};
use crate::source::microshift;
use crate::source::microshift::{MICROSHIFT_CONF, MICROSHIFT_DROP_INS, RELEASE_DIR};
use crate::source::registries_conf;
use crate::source::release::{self, Release};
use crate::text::SourceText;
use serde::Serialize;

pub const STORAGE_CONF: &[&str] = &["/etc/containers/storage.conf", "/usr/share/containers/storage.conf"];
pub const DEFAULT_GRAPHROOT: &str = "/var/lib/containers/storage";
const REGISTRIES_CONF: &str = "/etc/containers/registries.conf";
/// containers/image reads drop-ins from `/etc` only (`systemRegistriesConfDirPath`;
/// containers-registries.conf.d(5)): unlike storage.conf, nothing under `/usr/share` counts.
const REGISTRIES_DROP_INS: &str = "/etc/containers/registries.conf.d";

/// The effective `storage.conf`: the first of [`STORAGE_CONF`] that exists (they do not
/// merge), plus what CRI-O's own storage settings change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StorageConf {
    pub file: Option<String>,
    /// `[storage] driver` (CRI-O's `storage_driver` wins); `None`: auto-detected at run time.
    pub driver: Option<String>,
    /// The default store CRI-O uses (`[storage] graphroot`, CRI-O's `root` wins).
    pub graphroot: String,
    /// `[storage.options] additionalimagestores` plus CRI-O's
    /// `storage_option = ["<driver>.additionalimagestores=..."]` / `imagestore`.
    pub additional_image_stores: Vec<String>,
}

/// One configuration file of [`EffectiveConfig::unparsable`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnparsableConfig {
    pub file: String,
    pub message: String,
    /// Byte offset of the error in the file, when the parser says.
    pub offset: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Registries {
    /// The files applied, in order.
    pub files: Vec<String>,
    pub unqualified_search_registries: Vec<String>,
    pub short_name_mode: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CrioSummary {
    pub files: Vec<String>,
    pub pause_image: Option<String>,
    pub pinned_images: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MicroshiftSummary {
    pub files: Vec<String>,
    pub kustomize_paths: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReleaseSummary {
    pub file: String,
    pub base: Option<String>,
    pub arch: Option<String>,
    pub component: Option<String>,
    pub images: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EffectiveConfig {
    pub storage: StorageConf,
    pub registries: Registries,
    pub crio: CrioSummary,
    pub microshift: MicroshiftSummary,
    pub releases: Vec<ReleaseSummary>,
    /// What could not be read or understood, as `file: message`.
    pub problems: Vec<String>,
    /// The configuration files the device reads (storage.conf, registries.conf and its
    /// drop-ins, MicroShift's config.yaml and its drop-ins) that could not be parsed:
    /// containers/storage, containers/image and MicroShift refuse them, so the device does
    /// not work as the rest of the inventory assumes.
    #[serde(skip)]
    pub unparsable: Vec<UnparsableConfig>,
    /// The parsed CRI-O configuration, for rules.
    #[serde(skip)]
    pub crio_effective: EffectiveCrio,
    /// The parsed release files with their in-image paths, for rules.
    #[serde(skip)]
    pub release_files: Vec<(String, Release)>,
}

fn source(view: &FileView, path: &str) -> Option<SourceText> {
    let bytes = view.read(path)?;
    let mut src = SourceText::new(path, path, String::from_utf8_lossy(bytes).into_owned());
    src.in_image = true;
    Some(src)
}

/// Regular files in `dir` whose name ends with `ext`, sorted by name.
fn files_in(view: &FileView, dir: &str, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = view
        .list_dir(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(ext))
        .filter(|(name, _)| matches!(view.lookup(&super::join(dir, name)), Some(Entry::File { .. })))
        .map(|(name, _)| super::join(dir, name))
        .collect();
    out.sort();
    out
}

pub fn read(view: &FileView) -> EffectiveConfig {
    let mut out = EffectiveConfig::default();
    read_crio(view, &mut out);
    read_storage(view, &mut out);
    read_registries(view, &mut out);
    read_microshift(view, &mut out);
    for path in files_in(view, RELEASE_DIR, ".json")
        .into_iter()
        .filter(|p| p.rsplit('/').next().is_some_and(|n| n.starts_with("release-")))
    {
        let Some(src) = source(view, &path) else { continue };
        let r = release::parse(&src);
        out.problems.extend(r.problems.iter().map(|p| format!("{path}: {}", p.message)));
        out.releases.push(ReleaseSummary {
            file: path.clone(),
            base: r.base.clone(),
            arch: r.arch.clone(),
            component: r.component.clone(),
            images: r.references.len(),
        });
        out.release_files.push((path, r));
    }
    out
}

/// A configuration file and its drop-ins (`DIR/*EXT`, in name order), each parsed; their
/// problems are the inventory's, prefixed with the file.
fn read_with_drop_ins<T>(
    view: &FileView,
    main: &str,
    drop_ins: &str,
    ext: &str,
    problems: &mut Vec<String>,
    parse: impl Fn(&SourceText) -> T,
    problems_of: impl Fn(&T) -> &[crate::text::Problem],
) -> Vec<T> {
    let mut paths = vec![main.to_string()];
    paths.extend(files_in(view, drop_ins, ext));
    paths
        .iter()
        .filter_map(|p| source(view, p))
        .map(|src| {
            let parsed = parse(&src);
            problems.extend(problems_of(&parsed).iter().map(|p| format!("{}: {}", src.display, p.message)));
            parsed
        })
        .collect()
}

fn read_crio(view: &FileView, out: &mut EffectiveConfig) {
    let configs =
        read_with_drop_ins(view, CRIO_CONF, CRIO_DROP_INS, ".conf", &mut out.problems, crio::parse, |c| {
            &c.problems
        });
    let effective = crio::merge(&configs);
    out.crio = CrioSummary {
        files: effective.files.clone(),
        pause_image: effective.pause_image.as_ref().map(|r| r.text().to_string()),
        pinned_images: effective.pinned_images.iter().map(|p| p.pattern.clone()).collect(),
    };
    out.crio_effective = effective;
}

#[derive(serde::Deserialize, Default)]
struct RawStorageFile {
    #[serde(default)]
    storage: RawStorage,
}

#[derive(serde::Deserialize, Default)]
struct RawStorage {
    driver: Option<String>,
    graphroot: Option<String>,
    #[serde(default)]
    options: RawOptions,
}

#[derive(serde::Deserialize, Default)]
struct RawOptions {
    #[serde(default)]
    additionalimagestores: Vec<String>,
}

fn read_storage(view: &FileView, out: &mut EffectiveConfig) {
    let mut conf = StorageConf { graphroot: DEFAULT_GRAPHROOT.into(), ..StorageConf::default() };
    if let Some(path) = STORAGE_CONF.iter().find(|p| view.lookup(p).is_some()) {
        conf.file = Some((*path).to_string());
        match view.read(path).map(|b| toml::from_str::<RawStorageFile>(&String::from_utf8_lossy(b))) {
            Some(Ok(raw)) => {
                conf.driver = raw.storage.driver.filter(|d| !d.is_empty());
                if let Some(g) = raw.storage.graphroot.filter(|g| !g.is_empty()) {
                    conf.graphroot = g;
                }
                conf.additional_image_stores = raw.storage.options.additionalimagestores;
            }
            Some(Err(e)) => {
                out.problems.push(format!("{path}: {}", e.message()));
                out.unparsable.push(UnparsableConfig {
                    file: (*path).to_string(),
                    message: format!(
                        "invalid TOML: {}; containers/storage refuses it, so CRI-O cannot open its image store",
                        e.message()
                    ),
                    offset: e.span().map(|s| s.start),
                });
            }
            None => {
                out.problems.push(format!("{path}: not readable"));
                out.unparsable.push(UnparsableConfig {
                    file: (*path).to_string(),
                    message: "cannot be read from the image (too large, or not a regular file)".into(),
                    offset: None,
                });
            }
        }
    }
    let crio = &out.crio_effective;
    if let Some((d, _)) = crio.storage_driver.as_ref().filter(|(d, _)| !d.is_empty()) {
        conf.driver = Some(d.clone());
    }
    if let Some((r, _)) = crio.root.as_ref().filter(|(r, _)| !r.is_empty()) {
        conf.graphroot = r.clone();
    }
    if let Some((s, _)) = crio.imagestore.as_ref().filter(|(s, _)| !s.is_empty()) {
        conf.additional_image_stores.push(s.clone());
    }
    for (option, _) in &crio.storage_option {
        let Some((key, value)) = option.split_once('=') else { continue };
        let key = key.rsplit('.').next().unwrap_or(key);
        if key == "additionalimagestores" || key == "imagestore" {
            conf.additional_image_stores
                .extend(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
        }
    }
    conf.additional_image_stores =
        conf.additional_image_stores.iter().map(|s| normalize_dir(s)).fold(Vec::new(), |mut acc, s| {
            if !acc.contains(&s) {
                acc.push(s);
            }
            acc
        });
    conf.graphroot = normalize_dir(&conf.graphroot);
    out.storage = conf;
}

/// `/usr/lib/containers/storage/` → `/usr/lib/containers/storage`.
pub(crate) fn normalize_dir(path: &str) -> String {
    crate::image::view::normalize_path(path).unwrap_or_else(|| "/".into())
}

/// The image's registries.conf and its drop-ins, merged as containers/image merges them
/// ([`crate::source::registries_conf`]).
fn read_registries(view: &FileView, out: &mut EffectiveConfig) {
    let mut paths = vec![REGISTRIES_CONF.to_string()];
    // Drop-ins in file-name order.
    paths.extend(files_in(view, REGISTRIES_DROP_INS, ".conf"));
    let mut merged = registries_conf::Registries::default();
    for path in paths {
        let Some(bytes) = view.read(&path) else { continue };
        match registries_conf::parse(&String::from_utf8_lossy(bytes), &path) {
            Ok(conf) => merged.merge(conf),
            Err(e) => {
                out.problems.push(format!("{path}: {e}"));
                let message =
                    format!("{e}; containers/image refuses it, so CRI-O cannot resolve image names");
                out.unparsable.push(UnparsableConfig { file: path.clone(), message, offset: None });
            }
        }
    }
    out.registries.files = merged.files;
    out.registries.unqualified_search_registries = merged.unqualified_search_registries.unwrap_or_default();
    out.registries.short_name_mode = merged.short_name_mode;
}

fn read_microshift(view: &FileView, out: &mut EffectiveConfig) {
    let configs = read_with_drop_ins(
        view,
        MICROSHIFT_CONF,
        MICROSHIFT_DROP_INS,
        ".yaml",
        &mut out.problems,
        microshift::parse,
        |c| &c.problems,
    );
    // MicroShift refuses a configuration it cannot parse and does not start.
    for c in &configs {
        out.unparsable.extend(c.problems.iter().map(|p| UnparsableConfig {
            file: c.file.clone(),
            message: format!("{}; MicroShift refuses it and does not start", p.message),
            offset: p.location.span.as_ref().map(|s| s.start),
        }));
    }
    out.microshift = MicroshiftSummary {
        files: configs.iter().map(|c| c.file.clone()).collect(),
        kustomize_paths: microshift::effective_kustomize_paths(&configs)
            .into_iter()
            .map(|k| k.path)
            .collect(),
    };
}
