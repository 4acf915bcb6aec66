//! The clap definition of the command line (DESIGN.md, "Command-line contract").

use super::CliError;
use crate::config::Config;
use crate::finding::Severity;
use crate::reference::platform::Platform;
pub use crate::report::rules::RulesFormat;
use crate::source::BuildOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// `0.1.0 (1a2b3c4d5e6f)`: the package version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("STOWAGE_COMMIT"), ")");

/// Checks that every container image a bootc / MicroShift device will run is carried inside
/// its OS image, in a form CRI-O will find — offline, after power loss, after upgrades.
///
/// stowage reads Containerfiles, Kubernetes manifests, kustomizations, Quadlets, MicroShift
/// release files and CRI-O configuration, resolves every image reference exactly (build
/// arguments, normalisation), and reports offline-readiness problems with file:line:column.
#[derive(Debug, Parser)]
#[command(name = "stowage", version = VERSION, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report offline-readiness findings; exits 1 when one is at or above --fail-on.
    ///
    /// Exit status: 0 no finding at or above --fail-on, 1 findings at or above it, 2 the
    /// analysis could not be done (bad arguments or configuration, an unreadable path or image).
    Check {
        #[command(flatten)]
        sources: SourceArgs,
        /// Output format, to stdout or to FILE (repeatable: `--format human --format
        /// sarif=out.sarif`; files are written atomically, at most one format goes to stdout):
        /// human, compact, json, sarif, junit, github, gitlab, markdown, html, cyclonedx (the
        /// image's inventory as a CycloneDX 1.6 SBOM; needs --image) [default: human on a
        /// terminal, compact otherwise].
        #[arg(long, value_name = "FMT[=FILE]", env = "STOWAGE_FORMAT", value_parser = FormatSpec::parse)]
        format: Vec<FormatSpec>,
        /// Lowest severity that makes the command exit 1 [default: error, or `fail-on` in
        /// the configuration].
        #[arg(long, value_enum, env = "STOWAGE_FAIL_ON")]
        fail_on: Option<FailOn>,
        /// Ignore `# stowage:ignore` comments and `stowage.io/ignore` annotations (strict
        /// gates); waivers in the configuration still apply.
        #[arg(long, env = "STOWAGE_NO_INLINE_IGNORES")]
        no_inline_ignores: bool,
        /// Report only findings that are not in this baseline file.
        #[arg(long, value_name = "FILE", env = "STOWAGE_BASELINE")]
        baseline: Option<PathBuf>,
        /// Write the findings of this run as a baseline file (then exit 0).
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
        #[command(flatten)]
        online: OnlineArgs,
    },
    /// Compare two OS images: what `bootc upgrade` from OLD to NEW changes, and the upgrade gate.
    ///
    /// Embedded images added, removed and changed, device references new and dropped, the
    /// readiness verdict of each side, and the upgrade rules (scope `upgrade`). PATH, when given,
    /// is the source tree NEW is built from; OLD's references are its in-image sources.
    ///
    /// Exit status: 0 no upgrade finding at or above --fail-on and NEW ready, 1 otherwise, 2 an
    /// image or the configuration could not be read.
    Diff(DiffArgs),
    /// List every image reference found, with kind, origin, location and resolved form.
    Refs {
        #[command(flatten)]
        sources: SourceArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RefsFormat::Table)]
        format: RefsFormat,
    },
    /// Write the digest each tag-only reference resolves to where it takes effect: the
    /// reference, the ARG default it uses, the kustomization `images:` entry that set its tag.
    ///
    /// Prints a unified diff; --write edits the files, --check exits 1 when something could
    /// be pinned. Exit status: 0 done (or, with --check, nothing to pin), 1 something to pin
    /// under --check, 2 a registry that could not be reached or refused the lookup, or bad
    /// arguments.
    Pin(super::pin::PinArgs),
    /// Write a commented stowage.yaml in the working directory.
    Init {
        /// Overwrite an existing stowage.yaml.
        #[arg(long)]
        force: bool,
    },
    /// List every image the OS image carries: how, where, complete or not, seen by CRI-O or not.
    ///
    /// Exit status: 0 when the image could be read (a broken store inside is reported, not
    /// an error), 2 when it could not.
    Inventory {
        #[command(flatten)]
        image: ImageArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
        format: InventoryFormat,
        /// The OS image's architecture, to flag embedded images built for another one
        /// (amd64, arm64, x86_64, aarch64) [default: from the image config when known].
        #[arg(long, value_name = "ARCH")]
        arch: Option<String>,
    },
    /// Print a shell completion script (`stowage completions bash > /etc/bash_completion.d/stowage`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (`stowage man > stowage.1`).
    Man,
    /// List the watched files of a built image after merging its layers (for debugging what
    /// stowage sees inside an image).
    Ls {
        /// Only entries at or below this in-image path.
        #[arg(value_name = "PATH", default_value = "/")]
        path: String,
        #[command(flatten)]
        image: ImageArgs,
        /// Target platform chosen in a multi-platform image: amd64, arm64 or OS/ARCH[/VARIANT].
        #[arg(long, value_name = "ARCH", default_value = "amd64")]
        arch: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RefsFormat::Table)]
        format: RefsFormat,
    },
    /// Print what must be embedded: the sorted, unique, fully qualified runtime and release
    /// images (after build arguments and kustomize).
    Plan {
        #[command(flatten)]
        sources: SourceArgs,
        /// `list`: one image per line; `image-list`: `REF,H` lines of MicroShift's
        /// image-list.txt (H = sha256 of REF and a newline); `json`.
        #[arg(long, value_enum, default_value_t = PlanFormat::List)]
        format: PlanFormat,
    },
    /// List the rules, or explain one (`stowage rules latest-tag`).
    Rules {
        /// A rule id to explain.
        rule: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The OS image devices run now (any --image transport: oci:DIR, oci-archive:FILE,
    /// docker://REF, containers-storage:REF, rootfs:DIR...).
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The OS image they upgrade to.
    #[arg(value_name = "NEW")]
    pub new: String,
    /// The source tree NEW is built from [default: `paths` in the configuration, else only
    /// the sources inside NEW].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format, to stdout or to FILE (repeatable): human, json, markdown, html [default:
    /// human].
    #[arg(long, value_name = "FMT[=FILE]", value_parser = DiffFormatSpec::parse)]
    pub format: Vec<DiffFormatSpec>,
    /// Lowest severity of an upgrade finding that makes the command exit 1 (NEW not ready
    /// always does) [default: error, or `fail-on` in the configuration].
    #[arg(long, value_enum, env = "STOWAGE_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Target architecture: the platform chosen in a multi-platform OLD or NEW, and for NEW's
    /// build arguments (amd64, arm64 or OS/ARCH[/VARIANT]) [default: linux/amd64].
    #[arg(long, value_name = "ARCH", env = "STOWAGE_ARCH")]
    pub arch: Option<String>,
    /// Set a Containerfile build argument of NEW's sources (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// The configuration file [default: stowage.yaml or .stowage.yaml found upward].
    #[arg(long, value_name = "FILE", env = "STOWAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use no configuration file, only the built-in defaults.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// The changes, the verdicts and the findings, as text.
    Human,
    /// The machine contract (docs/diff.schema.json).
    Json,
    /// Markdown, for a PR comment.
    Markdown,
    /// "Changes since OLD", a self-contained page in the readiness report's style.
    Html,
}

/// One `diff --format FMT[=FILE]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffFormatSpec {
    pub format: DiffFormat,
    pub file: Option<PathBuf>,
}

impl DiffFormatSpec {
    pub fn parse(text: &str) -> Result<DiffFormatSpec, CliError> {
        let (name, file) = match text.split_once('=') {
            Some((name, "")) => return Err(CliError::EmptyFileName(name.to_string())),
            Some((name, file)) => (name, Some(PathBuf::from(file))),
            None => (text, None),
        };
        let format =
            <DiffFormat as ValueEnum>::from_str(name, true).map_err(|_| CliError::UnknownFormat {
                name: name.to_string(),
                known: DiffFormat::value_variants()
                    .iter()
                    .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                    .collect(),
            })?;
        Ok(DiffFormatSpec { format, file })
    }
}

#[derive(Clone, Debug, Args)]
pub struct SourceArgs {
    /// Files or directories to analyse, walked respecting .gitignore [default: `paths` in the
    /// configuration, else .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Target architecture for platform build arguments (TARGETARCH...) and, when given, the
    /// only one whose MicroShift release files are read (without it, every release-*.json
    /// found is): amd64, arm64, x86_64, aarch64 or OS/ARCH[/VARIANT] [default: linux/amd64].
    #[arg(long, value_name = "ARCH", env = "STOWAGE_ARCH")]
    pub arch: Option<String>,
    /// Set a Containerfile build argument, as `podman build --build-arg` does (repeatable;
    /// wins over `build-args` in the configuration).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// The configuration file [default: stowage.yaml or .stowage.yaml in the working
    /// directory or a parent].
    #[arg(long, value_name = "FILE", env = "STOWAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use no configuration file, only the built-in defaults.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    #[command(flatten)]
    pub image: ImageArgs,
}

/// `check --online`: asking the registries before the build does.
#[derive(Debug, Args)]
pub struct OnlineArgs {
    /// Look every resolved reference up in its registry (once per run): a tag or digest that
    /// does not exist (image-not-found), an image without the target platform
    /// (platform-missing), a `tag@digest` whose tag moved (tag-moved). Uses --tls-verify,
    /// --cert-dir, --authfile and the proxy environment; --creds goes only to the --image
    /// docker:// registry. A registry that cannot be reached or refuses the lookup (401/403)
    /// is exit 2. Off by default: without it (and without a docker:// image) stowage makes no
    /// network request.
    #[arg(long, env = "STOWAGE_ONLINE")]
    pub online: bool,
    /// With --online: report each unreachable registry as one info finding
    /// (registry-unreachable) instead of exit 2.
    #[arg(long, requires = "online")]
    pub online_skip_unreachable: bool,
    /// With --online: the registries.conf whose [[registry]] prefixes, locations and mirrors
    /// decide where lookups go, as containers/image decides [default:
    /// $CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf if it exists,
    /// else /etc/containers/registries.conf; plus the registries.conf.d drop-ins]. The build
    /// host's, not the image's.
    #[arg(long, value_name = "FILE", requires = "online")]
    pub registries_conf: Option<PathBuf>,
    /// With --online: lookups in flight at most.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "online", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub online_jobs: u16,
    /// With --online: seconds one registry request may take, its answer included.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "online", value_parser = clap::value_parser!(u16).range(1..))]
    pub online_timeout: u16,
}

/// Where the built bootc image is, and how to read it (skopeo's option names).
#[derive(Clone, Debug, Args)]
pub struct ImageArgs {
    /// The built bootc image to check: oci:DIR[:TAG], oci-archive:FILE[:TAG],
    /// docker-archive:FILE, docker://REF, containers-storage:[DRIVER@ROOT+RUNROOT]REF or
    /// rootfs:DIR. Its embedded images are checked against every reference, and the sources
    /// inside it (MicroShift manifests, Quadlets, release files, CRI-O's pause image) are
    /// analysed too; without PATH only those.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How to read images (skopeo's option names): cache, verification, registry access, platform.
#[derive(Clone, Debug, Args)]
pub struct ReadArgs {
    /// Do not use or fill the per-layer cache ($XDG_CACHE_HOME/stowage).
    #[arg(long)]
    pub no_cache: bool,
    /// Read every layer in full even when a table of contents would do.
    #[arg(long)]
    pub verify: bool,
    /// Require HTTPS and verify certificates when talking to a registry.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Registry certificates: *.crt CA certificates, NAME.cert + NAME.key client certificates.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Registry credentials USERNAME[:PASSWORD] (default: the containers/docker auth files).
    #[arg(long, value_name = "USER[:PASSWORD]")]
    pub creds: Option<String>,
    /// Registry auth file (default: $REGISTRY_AUTH_FILE, then the containers and docker ones).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// The OS of the platform to choose in a multi-platform image, like skopeo
    /// --override-os [default: linux, or the OS of --arch OS/ARCH].
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// The variant of the platform to choose in a multi-platform image, like skopeo
    /// --override-variant: v8 for arm64 (also matches an entry without a variant), v7 or v6
    /// for arm [default: the variant of --arch OS/ARCH/VARIANT, else any].
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
}

impl ImageArgs {
    pub fn options(&self, arch: &str) -> Result<crate::image::ImageOptions, CliError> {
        self.read.options(arch)
    }
}

impl ReadArgs {
    pub fn options(&self, arch: &str) -> Result<crate::image::ImageOptions, CliError> {
        let mut platform = Platform::parse(arch)?;
        if let Some(os) = &self.os {
            if os.is_empty() || os.contains('/') {
                return Err(CliError::Os(os.clone()));
            }
            platform.os = os.clone();
        }
        if let Some(variant) = &self.variant {
            if variant.is_empty() || variant.contains('/') {
                return Err(CliError::Variant(variant.clone()));
            }
            platform.variant = Some(variant.clone());
        }
        Ok(crate::image::ImageOptions {
            platform,
            use_cache: !self.no_cache,
            cache_dir: None,
            verify: self.verify,
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            creds: self.creds.clone(),
            auth_file: self.authfile.clone(),
            progress: true,
            watch: Default::default(),
            shared: None,
        })
    }
}

impl SourceArgs {
    /// PATHs: the command line's, else the configuration's (relative to its directory), else `.`.
    pub fn paths(&self, config: &Config, config_dir: Option<&Path>) -> Vec<PathBuf> {
        if !self.paths.is_empty() {
            return self.paths.clone();
        }
        if self.image.image.is_some() && config.paths.is_empty() {
            // `RUN stowage check --image rootfs:/` must not walk `/` as a repository.
            return Vec::new();
        }
        if !config.paths.is_empty() {
            return config
                .paths
                .iter()
                .map(|p| match config_dir {
                    Some(dir) if p.is_relative() && dir != Path::new("") => dir.join(p),
                    _ => p.clone(),
                })
                .collect();
        }
        vec![PathBuf::from(".")]
    }

    /// Build arguments and platform: command line (and STOWAGE_ARCH) over the configuration
    /// over the defaults.
    pub fn build_options(&self, config: &Config) -> Result<BuildOptions, CliError> {
        let asked = self.arch.as_deref().or(config.arch.as_deref());
        let target = Platform::parse(asked.unwrap_or("amd64"))?;
        let mut build_args = config.build_args.clone();
        for arg in &self.build_args {
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name, value.to_string()),
                // `--build-arg NAME` takes the value from the environment, like podman.
                None => match std::env::var(arg) {
                    Ok(value) => (arg.as_str(), value),
                    Err(_) => continue,
                },
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(CliError::BuildArg(arg.clone()));
            }
            build_args.push((name.to_string(), value));
        }
        Ok(BuildOptions {
            build_args,
            release_arch: asked.map(|_| target.arch.clone()),
            target_platform: target,
            build_platform: Platform::default(),
            image_fields: config.image_fields.clone(),
            build_contexts: config
                .build_contexts
                .iter()
                .map(|b| (crate::text::paths::absolute(&b.containerfile), b.context.clone()))
                .collect(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Source excerpts with a caret at the column and a help line.
    Human,
    /// One line per finding: file:line:col: severity[rule] message.
    Compact,
    /// {"findings":[...],"summary":{...}}.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML: one test case per reference.
    Junit,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// Markdown, for PR comments and job summaries.
    Markdown,
    /// A self-contained HTML readiness report.
    Html,
    /// CycloneDX 1.6 JSON: the images the OS image carries, as an SBOM (needs --image).
    Cyclonedx,
}

impl CheckFormat {
    /// Formats meant for programs: on stdout, they get no summary line on a non-terminal stderr.
    pub fn is_machine(self) -> bool {
        matches!(
            self,
            CheckFormat::Json
                | CheckFormat::Sarif
                | CheckFormat::Junit
                | CheckFormat::Gitlab
                | CheckFormat::Cyclonedx
        )
    }
}

/// One `--format FMT[=FILE]`: a format and where it goes (stdout when no file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatSpec {
    pub format: CheckFormat,
    pub file: Option<PathBuf>,
}

impl FormatSpec {
    pub fn parse(text: &str) -> Result<FormatSpec, CliError> {
        let (name, file) = match text.split_once('=') {
            Some((name, "")) => {
                return Err(CliError::EmptyFileName(name.to_string()));
            }
            Some((name, file)) => (name, Some(PathBuf::from(file))),
            None => (text, None),
        };
        let format = <CheckFormat as ValueEnum>::from_str(name, true).map_err(|_| {
            let known: Vec<String> = CheckFormat::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                .collect();
            CliError::UnknownFormat { name: name.to_string(), known }
        })?;
        Ok(FormatSpec { format, file })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RefsFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// One row per image, then the problems found and a summary line.
    Table,
    /// The JSON contract (docs/inventory.schema.json).
    Json,
    /// CycloneDX 1.6 JSON: the OS image as `metadata.component`, each image it carries (and
    /// each bound image, marked as not carried) as a `container` component with a `pkg:oci`
    /// purl and stowage's facts as `stowage:` properties. Deterministic: the serial number
    /// derives from the image digest, the timestamp is SOURCE_DATE_EPOCH or the image's
    /// creation time.
    Cyclonedx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    List,
    ImageList,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    /// Always exit 0 unless the analysis could not be done.
    Never,
}

impl FailOn {
    pub fn parse(text: &str) -> Option<FailOn> {
        <FailOn as ValueEnum>::from_str(text, false).ok()
    }

    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn format_specs_name_a_format_and_maybe_a_file() {
        assert_eq!(
            FormatSpec::parse("sarif").ok(),
            Some(FormatSpec { format: CheckFormat::Sarif, file: None })
        );
        assert_eq!(
            FormatSpec::parse("junit=out/junit.xml").ok(),
            Some(FormatSpec { format: CheckFormat::Junit, file: Some(PathBuf::from("out/junit.xml")) })
        );
        assert_eq!(FormatSpec::parse("html=").unwrap_err().to_string(), "`html=`: the file name is empty");
        assert_eq!(
            FormatSpec::parse("pdf=x.pdf").unwrap_err().to_string(),
            "unknown format `pdf` (one of human, compact, json, sarif, junit, github, gitlab, markdown, html, \
             cyclonedx)"
        );
    }
}
