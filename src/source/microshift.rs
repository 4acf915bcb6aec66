//! MicroShift configuration: `/etc/microshift/config.yaml` and `config.d/*.yaml`.
//!
//! Only what decides which manifests MicroShift applies is read: `manifests.kustomizePaths`.
//! A key that is absent (or `null`) keeps the default; an empty list disables manifest
//! loading. Drop-ins are merged over `config.yaml` in lexical order and lists are replaced,
//! not merged (openshift/microshift docs/user/howto_config.md, "Drop-in configuration
//! directory"; defaults from pkg/config/manifests.go).

use crate::source::release::{node_location, scalar_location, yaml_error_problem};
use crate::text::location::Location;
use crate::text::{Problem, SourceText};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// MicroShift's configuration file and its drop-in directory.
pub const MICROSHIFT_CONF: &str = "/etc/microshift/config.yaml";
pub const MICROSHIFT_DROP_INS: &str = "/etc/microshift/config.d";

/// Where MicroShift's release files (`release-<arch>.json`, `release-<name>-<arch>.json`) live.
pub const RELEASE_DIR: &str = "/usr/share/microshift/release";

/// The paths MicroShift scans when no configuration sets `manifests.kustomizePaths`, in
/// MicroShift's order. Entries may be globs.
pub const DEFAULT_KUSTOMIZE_PATHS: [&str; 4] = [
    "/usr/lib/microshift/manifests",
    "/usr/lib/microshift/manifests.d/*",
    "/etc/microshift/manifests",
    "/etc/microshift/manifests.d/*",
];

/// What one MicroShift configuration file sets.
#[derive(Clone, Debug, Default)]
pub struct MicroshiftConfig {
    /// The file as shown to users.
    pub file: String,
    /// `manifests.kustomizePaths`: `None` when absent or `null` (the default applies),
    /// `Some(vec![])` when set to an empty list (manifest loading disabled).
    pub kustomize_paths: Option<Vec<(String, Location)>>,
    /// Where the `kustomizePaths` value starts (the list itself).
    pub kustomize_paths_location: Option<Location>,
    pub problems: Vec<Problem>,
}

/// One effective kustomize path (possibly a glob).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KustomizePath {
    pub path: String,
    /// Where it was set; `None` for MicroShift's built-in defaults.
    pub location: Option<Location>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    manifests: Option<RawManifests>,
}

#[derive(Deserialize)]
struct RawManifests {
    #[serde(default, rename = "kustomizePaths")]
    kustomize_paths: Option<Spanned<Vec<Spanned<String>>>>,
}

/// Parse one MicroShift configuration file. Invalid YAML, or a `manifests.kustomizePaths`
/// that is not a list of strings, is a problem and yields no settings.
pub fn parse(src: &SourceText) -> MicroshiftConfig {
    let mut out = MicroshiftConfig { file: src.display.clone(), ..MicroshiftConfig::default() };
    // An empty document (`""`, `---`, only comments) sets nothing.
    let raw: Raw = match serde_saphyr::from_str::<Option<Raw>>(&src.text) {
        Ok(raw) => raw.unwrap_or(Raw { manifests: None }),
        Err(e) => {
            out.problems.push(yaml_error_problem(src, &e));
            return out;
        }
    };
    if let Some(paths) = raw.manifests.and_then(|m| m.kustomize_paths) {
        out.kustomize_paths_location = Some(node_location(src, &paths.defined));
        out.kustomize_paths = Some(
            paths
                .value
                .into_iter()
                .map(|p| {
                    let location = scalar_location(src, &p.defined);
                    (p.value, location)
                })
                .collect(),
        );
    }
    out
}

/// Whether MicroShift reads this file, and in which position: `config.yaml` first (0), then
/// the `config.d/*.yaml` drop-ins (1) by name. Other files (e.g. `config.d/x.yml`) are not
/// read by MicroShift.
fn merge_rank(file: &str) -> Option<(u8, &str)> {
    let name = file.rsplit('/').next().unwrap_or(file);
    let in_drop_in_dir = file.contains("config.d/") && file.rsplit('/').nth(1) == Some("config.d");
    if in_drop_in_dir { name.ends_with(".yaml").then_some((1, name)) } else { Some((0, name)) }
}

/// The kustomize paths MicroShift uses: the last file (in merge order) that sets
/// `manifests.kustomizePaths` wins; without one, [`DEFAULT_KUSTOMIZE_PATHS`]. An empty result
/// means manifest loading is disabled. Configs may be given in any order.
pub fn effective_kustomize_paths(configs: &[MicroshiftConfig]) -> Vec<KustomizePath> {
    let mut ordered: Vec<(u8, &str, &MicroshiftConfig)> =
        configs.iter().filter_map(|c| merge_rank(&c.file).map(|(rank, name)| (rank, name, c))).collect();
    ordered.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let winner = ordered.iter().rev().find_map(|(_, _, c)| c.kustomize_paths.as_ref());
    match winner {
        Some(paths) => paths
            .iter()
            .map(|(path, location)| KustomizePath { path: path.clone(), location: Some(location.clone()) })
            .collect(),
        None => DEFAULT_KUSTOMIZE_PATHS
            .iter()
            .map(|p| KustomizePath { path: (*p).to_string(), location: None })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &str, text: &str) -> MicroshiftConfig {
        parse(&SourceText::from_str(path, text))
    }

    fn paths(c: &MicroshiftConfig) -> Vec<(&str, u32, u32)> {
        c.kustomize_paths
            .as_ref()
            .map(|v| v.iter().map(|(p, l)| (p.as_str(), l.line, l.column)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn reads_kustomize_paths_with_positions() {
        let c = config(
            "etc/microshift/config.yaml",
            "dns:\n  baseDomain: example.com\nmanifests:\n  kustomizePaths:\n    - /opt/apps\n    - \"/usr/lib/é/*\"\n    - '/x'\n",
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(paths(&c), [("/opt/apps", 5, 7), ("/usr/lib/é/*", 6, 8), ("/x", 7, 8)]);
        assert_eq!(c.kustomize_paths.as_ref().unwrap()[1].1.file, "etc/microshift/config.yaml");
    }

    #[test]
    fn absent_null_and_empty_are_distinct() {
        let absent = config("config.yaml", "manifests: {}\n");
        assert!(absent.kustomize_paths.is_none());
        let null = config("config.yaml", "manifests:\n  kustomizePaths: null\n");
        assert!(null.kustomize_paths.is_none());
        for text in ["", "# only a comment\n", "---\n"] {
            let none = config("config.yaml", text);
            assert!(
                none.kustomize_paths.is_none() && none.problems.is_empty(),
                "{text:?}: {:?}",
                none.problems
            );
        }
        let empty = config("config.yaml", "manifests:\n  kustomizePaths: []\n");
        assert_eq!(empty.kustomize_paths, Some(vec![]));
        let loc = empty.kustomize_paths_location.clone().unwrap();
        assert_eq!((loc.line, loc.column), (2, 19));
        assert!(effective_kustomize_paths(&[empty]).is_empty());
    }

    #[test]
    fn defaults_when_nothing_sets_it() {
        let c = config("etc/microshift/config.yaml", "dns:\n  baseDomain: x\n");
        let eff = effective_kustomize_paths(&[c]);
        let got: Vec<_> = eff.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(got, DEFAULT_KUSTOMIZE_PATHS);
        assert!(eff.iter().all(|p| p.location.is_none()));
        assert_eq!(effective_kustomize_paths(&[]).len(), 4);
    }

    #[test]
    fn drop_ins_override_in_lexical_order() {
        let base = config("etc/microshift/config.yaml", "manifests:\n  kustomizePaths: [/base]\n");
        let d10 =
            config("etc/microshift/config.d/10-a.yaml", "manifests:\n  kustomizePaths: [/ten, /ten2]\n");
        let d20 = config("etc/microshift/config.d/20-b.yaml", "manifests:\n  kustomizePaths: [/twenty]\n");
        let d30 = config("etc/microshift/config.d/30-c.yaml", "dns:\n  baseDomain: x\n");
        let yml = config("etc/microshift/config.d/99-z.yml", "manifests:\n  kustomizePaths: [/ignored]\n");
        let eff = effective_kustomize_paths(&[d20.clone(), yml, d30, d10.clone(), base.clone()]);
        assert_eq!(eff.len(), 1);
        assert_eq!(eff[0].path, "/twenty");
        let loc = eff[0].location.as_ref().unwrap();
        assert_eq!((loc.file.as_str(), loc.line, loc.column), ("etc/microshift/config.d/20-b.yaml", 2, 20));

        let eff = effective_kustomize_paths(&[d10, base.clone()]);
        let got: Vec<_> = eff.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(got, ["/ten", "/ten2"]);
        assert_eq!(effective_kustomize_paths(&[base])[0].path, "/base");
    }

    #[test]
    fn bad_yaml_and_wrong_types_are_problems() {
        let c = config("config.yaml", "manifests:\n  kustomizePaths: [a\n");
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].location.line, 2);
        let c = config("config.yaml", "manifests:\n  kustomizePaths: /just/a/string\n");
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].location.line, 2);
        assert!(c.kustomize_paths.is_none());
        let c = config("config.yaml", "- a\n- b\n");
        assert_eq!(c.problems.len(), 1);
    }

    #[test]
    fn aliases_point_at_the_definition() {
        let c = config("config.yaml", "x: &p /opt/a\nmanifests:\n  kustomizePaths:\n    - *p\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(paths(&c), [("/opt/a", 1, 7)]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[\\[\\]:\"' \n\\-a-cé&*{},#]{0,60}") {
            let _ = config("config.yaml", &s);

        }

        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,80}") {
            let _ = config("config.yaml", &s);
        }
    }
}
