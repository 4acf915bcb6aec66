//! Discovery and per-format parsing of source files.
//!
//! Every parser takes a [`SourceText`] and returns its facts plus the [`Problem`]s that made
//! part of the file unreadable; a problem becomes an `unparsable-file` finding, never a panic.

pub mod args;
pub mod containerfile;
pub mod crio;
pub mod kustomization;
pub mod manifest;
pub mod microshift;
pub mod podspec;
pub mod quadlet;
pub mod registries_conf;
pub mod release;

use crate::reference::platform::Platform;
use std::path::Path;

/// The build settings that ARG expansion depends on.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// `--build-arg NAME=VALUE`, in command-line order (a later one wins).
    pub build_args: Vec<(String, String)>,
    /// Target platform `os/arch[/variant]`, e.g. `linux/amd64`.
    pub target_platform: Platform,
    /// Build platform, the same as the target unless told otherwise.
    pub build_platform: Platform,
    /// The architecture whose MicroShift release files are read (`release-<arch>.json`,
    /// `release-<name>-<arch>.json`): set when one is asked for (`--arch`, the configuration's
    /// `arch`). `None` reads every release file found, whatever its architecture.
    pub release_arch: Option<String>,
    /// Extra Kubernetes field paths that hold images (`image-fields` in the configuration).
    pub image_fields: Vec<crate::text::fieldpath::FieldPath>,
    /// `(Containerfile, build context)` pairs (`build-contexts` in the configuration), the
    /// Containerfile's path absolute and normalised.
    pub build_contexts: Vec<(std::path::PathBuf, std::path::PathBuf)>,
}

impl BuildOptions {
    /// The configured build context of the Containerfile at `path`, if any.
    pub fn context_of(&self, path: &std::path::Path) -> Option<std::path::PathBuf> {
        let path = crate::text::paths::absolute(path);
        self.build_contexts.iter().find(|(file, _)| *file == path).map(|(_, context)| context.clone())
    }
}

/// Free a large tree (the documents or built resources of thousands of files) on a thread
/// of its own: freeing it takes tens of milliseconds the serial steps after it need not wait
/// for. Should the thread not start, the value is freed here.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().name("stowage-drop".into()).spawn(move || drop(value));
}

/// Sizes from which [`drop_in_background`] is worth a thread.
pub const LARGE_TREE: usize = 1000;

/// What a file is, decided from its name alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Containerfile,
    /// Kubernetes YAML (documents without `apiVersion` and `kind` are ignored), or a `.json`
    /// file, which is one only when it is a JSON object with `apiVersion` and `kind` (see
    /// [`manifest::is_json_manifest`]; other JSON files are ignored).
    Manifest,
    Kustomization,
    Quadlet,
    MicroshiftRelease,
    CrioConfig,
    MicroshiftConfig,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Containerfile => "containerfile",
            FileKind::Manifest => "kubernetes",
            FileKind::Kustomization => "kustomization",
            FileKind::Quadlet => "quadlet",
            FileKind::MicroshiftRelease => "microshift-release",
            FileKind::CrioConfig => "crio-config",
            FileKind::MicroshiftConfig => "microshift-config",
        }
    }

    /// Classify a path by its name (and, for configs, its parent directory names).
    pub fn classify(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_str()?;
        let parent = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
        let grandparent = path
            .parent()
            .and_then(|p| p.parent())
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let lower = name.to_ascii_lowercase();
        let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let ext = ext.as_str();

        if kustomization::KUSTOMIZATION_FILES.contains(&name) {
            return Some(FileKind::Kustomization);
        }
        let is_yaml = matches!(ext, "yaml" | "yml");
        if is_yaml
            && ((parent == "microshift" && (name == "config.yaml" || name == "config.yml"))
                || (parent == "config.d" && grandparent == "microshift"))
        {
            return Some(FileKind::MicroshiftConfig);
        }
        if is_yaml {
            return Some(FileKind::Manifest);
        }
        if name.starts_with("release-") && ext == "json" {
            return Some(FileKind::MicroshiftRelease);
        }
        if ext == "json" {
            return Some(FileKind::Manifest);
        }
        if name == "crio.conf" || (parent == "crio.conf.d" && ext == "conf") {
            return Some(FileKind::CrioConfig);
        }
        if matches!(ext, "container" | "image" | "kube" | "pod") {
            return Some(FileKind::Quadlet);
        }
        if ext == "containerfile" || ext == "dockerfile" {
            return Some(FileKind::Containerfile);
        }
        let not_a_containerfile = lower.ends_with("ignore")
            || matches!(ext, "md" | "txt" | "json" | "sh" | "py" | "orig" | "rej" | "bak" | "swp");
        if (lower.starts_with("containerfile") || lower.starts_with("dockerfile")) && !not_a_containerfile {
            return Some(FileKind::Containerfile);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name() {
        let cases = [
            ("Containerfile", Some(FileKind::Containerfile)),
            ("Dockerfile.prod", Some(FileKind::Containerfile)),
            ("build/app.containerfile", Some(FileKind::Containerfile)),
            ("x.Dockerfile", Some(FileKind::Containerfile)),
            ("app.dockerfile", Some(FileKind::Containerfile)),
            ("Containerfile.dockerignore", None),
            ("Dockerfile.md", None),
            ("deploy/web.yaml", Some(FileKind::Manifest)),
            ("deploy/web.yml", Some(FileKind::Manifest)),
            ("deploy/kustomization.yaml", Some(FileKind::Kustomization)),
            ("deploy/Kustomization", Some(FileKind::Kustomization)),
            ("etc/microshift/config.yaml", Some(FileKind::MicroshiftConfig)),
            ("etc/microshift/config.d/10-x.yaml", Some(FileKind::MicroshiftConfig)),
            ("etc/other/config.yaml", Some(FileKind::Manifest)),
            ("usr/share/microshift/release/release-x86_64.json", Some(FileKind::MicroshiftRelease)),
            ("release/release-olm-aarch64.json", Some(FileKind::MicroshiftRelease)),
            ("deploy/web.json", Some(FileKind::Manifest)),
            ("package.json", Some(FileKind::Manifest)),
            ("etc/crio/crio.conf", Some(FileKind::CrioConfig)),
            ("etc/crio/crio.conf.d/10-microshift.conf", Some(FileKind::CrioConfig)),
            ("etc/other.conf", None),
            ("q/app.container", Some(FileKind::Quadlet)),
            ("q/app.image", Some(FileKind::Quadlet)),
            ("q/app.kube", Some(FileKind::Quadlet)),
            ("q/app.pod", Some(FileKind::Quadlet)),
            ("README.md", None),
        ];
        for (path, want) in cases {
            assert_eq!(FileKind::classify(Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn platforms_parse_and_map_names() {
        assert_eq!(Platform::parse("x86_64").unwrap().to_oci(), "linux/amd64");
        assert_eq!(Platform::parse("linux/aarch64").unwrap().to_oci(), "linux/arm64");
        assert_eq!(Platform::parse("linux/arm/v7").unwrap().to_oci(), "linux/arm/v7");
        assert!(Platform::parse("a/b/c/d").is_err());
        assert!(Platform::parse("/amd64").is_err());
    }
}
