//! `stowage pin`: the command line of [`crate::pin`].

use super::args::{ImageArgs, ReadArgs, SourceArgs};
use super::{
    CliError, EXIT_FINDINGS, EXIT_OK, gather, load_config, lookup_options, write_atomically, write_stdout,
};
use crate::pin::PinOptions;
use crate::report;
use clap::Args;
use std::path::PathBuf;

/// `stowage pin` arguments.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Files or directories whose references to pin, walked respecting .gitignore [default:
    /// `paths` in the configuration, else .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Edit the files in place (each through a temporary file and a rename) instead of
    /// printing the diff.
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Exit 1 when something pin could pin is not pinned (the diff is printed), or a file
    /// could not be read; references it cannot pin (built from variables or templates) are
    /// listed and do not fail it.
    #[arg(long)]
    pub check: bool,
    /// Also re-resolve `tag@digest` references, and write the new digest where the tag moved.
    #[arg(long)]
    pub update: bool,
    /// Target platform: the manifest digest of a copy without --all, and the platform every
    /// looked-up image must have: amd64, arm64 or OS/ARCH[/VARIANT] [default: linux/amd64].
    #[arg(long, value_name = "ARCH", env = "STOWAGE_ARCH")]
    pub arch: Option<String>,
    /// Set a Containerfile build argument (repeatable); an ARG set so is not pinned in its
    /// default.
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// The configuration file [default: stowage.yaml or .stowage.yaml in the working
    /// directory or a parent].
    #[arg(long, value_name = "FILE", env = "STOWAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use no configuration file.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Require HTTPS and verify certificates when talking to a registry.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Registry certificates: *.crt CA certificates, NAME.cert + NAME.key client certificates.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Registry auth file (default: $REGISTRY_AUTH_FILE, then the containers and docker ones).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Credentials USERNAME[:PASSWORD], sent only to --creds-registry.
    #[arg(long, value_name = "USER[:PASSWORD]", requires = "creds_registry")]
    pub creds: Option<String>,
    /// The registry (HOST[:PORT]) --creds is for, as requests reach it (a registries.conf
    /// `location` or mirror); every other one gets the auth files' entry.
    #[arg(long, value_name = "HOST", requires = "creds")]
    pub creds_registry: Option<String>,
    /// The registries.conf deciding where lookups go (locations, mirrors) [default:
    /// $CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf if it exists,
    /// else /etc/containers/registries.conf; plus the registries.conf.d drop-ins].
    #[arg(long, value_name = "FILE")]
    pub registries_conf: Option<PathBuf>,
    /// Lookups in flight at most.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub online_jobs: u16,
    /// Seconds one registry request may take, its answer included.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..))]
    pub online_timeout: u16,
}

impl PinArgs {
    fn sources(&self) -> SourceArgs {
        SourceArgs {
            paths: self.paths.clone(),
            arch: self.arch.clone(),
            build_args: self.build_args.clone(),
            config: self.config.clone(),
            no_config: self.no_config,
            image: ImageArgs {
                image: None,
                read: ReadArgs {
                    no_cache: true,
                    verify: false,
                    tls_verify: self.tls_verify,
                    cert_dir: self.cert_dir.clone(),
                    creds: None,
                    authfile: self.authfile.clone(),
                    os: None,
                    variant: None,
                },
            },
        }
    }
}

/// Print the diff (or write the files), the references left, the summary; exit 1 under
/// `--check` when something would change.
pub(super) fn pin(args: &PinArgs) -> Result<u8, CliError> {
    let sources = args.sources();
    let loaded = load_config(&sources)?;
    let build = sources.build_options(&loaded.config)?;
    let facts = gather(&sources, &loaded, false, None)?;
    let lookup = lookup_options(
        &sources.image.read,
        args.creds_registry.clone().zip(args.creds.clone()),
        args.registries_conf.as_deref(),
        args.online_jobs,
        args.online_timeout,
    )?;
    let opts = PinOptions {
        lookup,
        platform: build.target_platform.clone(),
        update: args.update,
        build_args: build.build_args.iter().map(|(name, _)| name.clone()).collect(),
        paths: sources.paths(&loaded.config, loaded.dir.as_deref()),
    };
    let plan = crate::pin::plan(&facts, &opts)?;
    if args.write {
        for f in &plan.files {
            write_atomically(&f.path, &f.after)?;
        }
    } else {
        write_stdout(&report::pin::diff(&plan))?;
    }
    // Fail closed in what is said: references in a file that could not be read are not pinned.
    for p in &facts.problems {
        eprintln!("{}: not read, its references are not pinned: {}", p.location, p.message);
    }
    eprint!("{}", report::pin::left(&plan));
    eprintln!("stowage: {}", report::pin::summary(&plan, args.write));
    let unsure = !plan.files.is_empty() || !facts.problems.is_empty();
    Ok(if args.check && unsure { EXIT_FINDINGS } else { EXIT_OK })
}
