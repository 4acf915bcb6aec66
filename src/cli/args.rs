//! The clap definition of the command line (DESIGN.md, "Command-line contract").

use crate::finding::Severity;
pub use crate::report::rules::RulesFormat;
use crate::source::{BuildOptions, Platform};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
        #[arg(long, value_enum)]
        format: Option<CheckFormat>,
        /// Lowest severity that makes the command exit 1.
        #[arg(long, value_enum, default_value_t = FailOn::Error)]
        fail_on: FailOn,
    },
    /// List every image reference found, with kind, origin, location and resolved form.
    Refs {
        #[command(flatten)]
        sources: SourceArgs,
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
pub struct SourceArgs {
    /// Files or directories to analyse, walked respecting .gitignore [default: .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Target architecture for platform build arguments (TARGETARCH...): amd64, arm64,
    /// x86_64, aarch64 or OS/ARCH[/VARIANT].
    #[arg(long, value_name = "ARCH", default_value = "amd64")]
    pub arch: String,
    /// Set a Containerfile build argument, as `podman build --build-arg` does (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
}

impl SourceArgs {
    pub fn paths(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() { vec![PathBuf::from(".")] } else { self.paths.clone() }
    }

    pub fn build_options(&self) -> Result<BuildOptions, String> {
        let target = Platform::parse(&self.arch).map_err(|e| format!("--arch: {e}"))?;
        let mut build_args = Vec::new();
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
        Ok(BuildOptions { build_args, target_platform: target, build_platform: Platform::default() })
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
