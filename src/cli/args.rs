//! The clap definition of the command line (DESIGN.md, "Command-line contract").

use crate::config::Config;
use crate::finding::Severity;
pub use crate::report::rules::RulesFormat;
use crate::source::{BuildOptions, Platform};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// Checks that every container image a bootc / MicroShift device will run is carried inside
/// its OS image, in a form CRI-O will find — offline, after power loss, after upgrades.
///
/// stowage reads Containerfiles, Kubernetes manifests, kustomizations, Quadlets, MicroShift
/// release files and CRI-O configuration, resolves every image reference exactly (build
/// arguments, normalisation), and reports offline-readiness problems with file:line:column.
#[derive(Debug, Parser)]
#[command(name = "stowage", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report offline-readiness findings; exits 1 when one is at or above --fail-on.
    ///
    /// Exit status: 0 no finding at or above --fail-on, 1 findings at or above it, 2 the
    /// analysis could not be done (bad arguments, unreadable path).
    Check {
        #[command(flatten)]
        sources: SourceArgs,
        /// Output format [default: human on a terminal, compact otherwise].
        #[arg(long, value_enum, env = "STOWAGE_FORMAT")]
        format: Option<CheckFormat>,
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
    },
    /// List every image reference found, with kind, origin, location and resolved form.
    Refs {
        #[command(flatten)]
        sources: SourceArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RefsFormat::Table)]
        format: RefsFormat,
    },
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
        /// The bootc image to read. For now only `rootfs:DIR` (an unpacked tree).
        #[arg(long, value_name = "IMAGE")]
        image: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
        format: InventoryFormat,
        /// The OS image's architecture, to flag embedded images built for another one
        /// (amd64, arm64, x86_64, aarch64) [default: from the image config when known].
        #[arg(long, value_name = "ARCH")]
        arch: Option<String>,
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
pub struct SourceArgs {
    /// Files or directories to analyse, walked respecting .gitignore [default: `paths` in the
    /// configuration, else .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Target architecture for platform build arguments (TARGETARCH...): amd64, arm64,
    /// x86_64, aarch64 or OS/ARCH[/VARIANT] [default: linux/amd64].
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
    /// The built bootc image to check (`rootfs:DIR` for now): its embedded images, and the
    /// sources inside it (MicroShift manifests, Quadlets, release files, CRI-O's pause image).
    /// Without PATH only the sources inside the image are analysed.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

impl SourceArgs {
    /// PATHs: the command line's, else the configuration's (relative to its directory), else `.`.
    pub fn paths(&self, config: &Config, config_dir: Option<&Path>) -> Vec<PathBuf> {
        if !self.paths.is_empty() {
            return self.paths.clone();
        }
        if self.image.is_some() && config.paths.is_empty() {
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
    pub fn build_options(&self, config: &Config) -> Result<BuildOptions, String> {
        let arch = self.arch.as_deref().or(config.arch.as_deref()).unwrap_or("amd64");
        let target = Platform::parse(arch).map_err(|e| format!("--arch: {e}"))?;
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
                return Err(format!("--build-arg `{arg}`: expected NAME=VALUE"));
            }
            build_args.push((name.to_string(), value));
        }
        Ok(BuildOptions {
            build_args,
            target_platform: target,
            build_platform: Platform::default(),
            image_fields: config.image_fields.clone(),
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RefsFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Table,
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
}
