//! The command line: argument parsing, configuration, running a command, writing its output,
//! exit status.

mod args;
mod diff;
mod pin;

pub use args::Cli;
use args::{
    CheckFormat, Command, DiffArgs, DiffFormat, FailOn, FormatSpec, ImageArgs, InventoryFormat, OnlineArgs,
    PlanFormat, ReadArgs, RefsFormat, RulesFormat, SourceArgs,
};

use crate::config::{self, Config};
use crate::gather::facts::Facts;
use crate::gather::online::OnlineOptions;
use crate::gather::{GatherError, Inputs};
use crate::image::ImageError;
use crate::reference::platform::PlatformError;
use crate::report::{self, ConfigSummary, Report, RunInfo, Summary};
use crate::rules::{baseline, catalog, engine};
use crate::text::paths::normalize;
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit statuses (DESIGN.md): 0 nothing at or above `--fail-on`, 1 findings at or above it,
/// 2 the analysis could not be done.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Why a command could not be done: exit 2, with `stowage: error: MESSAGE` on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("--config {}: no such file", .0.display())]
    NoConfigFile(PathBuf),
    /// The configuration has errors; they were printed with excerpts before.
    #[error("{file}: {count} configuration {}", if *.count == 1 { "error" } else { "errors" })]
    Config { file: String, count: usize },
    #[error("--arch: {0}")]
    Arch(#[from] PlatformError),
    #[error("--os: `{0}` is not an OS name (linux, windows...)")]
    Os(String),
    #[error("--variant: `{0}` is not a variant (v8, v7...)")]
    Variant(String),
    #[error("--build-arg `{0}`: expected NAME=VALUE")]
    BuildArg(String),
    /// `--format FMT=` with nothing after the `=`.
    #[error("`{0}=`: the file name is empty")]
    EmptyFileName(String),
    #[error("unknown format `{name}` (one of {})", .known.join(", "))]
    UnknownFormat { name: String, known: Vec<String> },
    #[error("--format: at most one format can go to stdout; give the others a file (FMT=FILE)")]
    StdoutTwice,
    #[error("--format: {} is named twice", .0.display())]
    NamedTwice(PathBuf),
    #[error(transparent)]
    Gather(#[from] GatherError),
    #[error(transparent)]
    Image(#[from] ImageError),
    /// `stowage pin` could not do its work: a registry not reached, a file that changed.
    #[error(transparent)]
    Pin(#[from] crate::pin::PinError),
    /// A baseline that cannot be used; the message names the file.
    #[error("{0}")]
    Baseline(String),
    #[error("stowage.yaml exists already; use --force to overwrite it")]
    ConfigExists,
    /// `check --format cyclonedx` without an image: the SBOM lists what an image carries.
    #[error(
        "--format cyclonedx needs --image IMAGE: there is no inventory without an image (the SBOM lists \
         the images an OS image carries)"
    )]
    NoInventory,
    /// `--creds` with `--online` but without a `docker://` image: no registry it is meant for.
    #[error(
        "--creds is sent only to the registry of --image docker://REF; for --online lookups put each \
         registry's credentials in an auth file (--authfile, containers-auth.json(5))"
    )]
    CredsWithoutRegistry,
    /// A registries.conf that containers/image would refuse; the message names the file.
    #[error("{0}")]
    RegistriesConf(String),
    /// A command that only reads an image was given none.
    #[error("`stowage {0}` needs --image IMAGE")]
    NeedsImage(&'static str),
    #[error("unknown rule `{id}`; the rules are: {}", .known.join(", "))]
    UnknownRule { id: String, known: Vec<String> },
    #[error("cannot render the manual page: {0}")]
    Man(#[source] std::io::Error),
    /// A file that could not be written.
    #[error("{}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// Standard output could not be written (a closed pipe is not an error).
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let message = e.to_string();
            if !message.is_empty() {
                eprintln!("stowage: error: {message}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Check { sources, format, fail_on, no_inline_ignores, baseline, write_baseline, online } => {
            let options =
                CheckOptions { format, fail_on, no_inline_ignores, baseline, write_baseline, online };
            check(&sources, &options)
        }
        Command::Diff(args) => diff::diff(&args),
        Command::Refs { sources, format } => refs(&sources, format),
        Command::Pin(args) => pin::pin(&args),
        Command::Init { force } => init(force),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "stowage",
                &mut out,
            );
            write_stdout(&String::from_utf8_lossy(&out))?;
            Ok(EXIT_OK)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(CliError::Man)?;
            write_stdout(&String::from_utf8_lossy(&out))?;
            Ok(EXIT_OK)
        }
        Command::Inventory { image, format, arch } => inventory(&image, format, arch.as_deref()),
        Command::Plan { sources, format } => plan(&sources, format),
        Command::Rules { rule, format } => rules_command(rule.as_deref(), format),
        Command::Ls { path, image, arch, format } => ls(&path, &image, &arch, format),
    }
}

/// The configuration in effect and where it lives.
struct Loaded {
    config: Config,
    dir: Option<PathBuf>,
}

/// `--config FILE`, else stowage.yaml / .stowage.yaml found upward, else the defaults.
/// Errors in the file are printed with excerpts, and the run stops (exit 2).
fn load_config(sources: &SourceArgs) -> Result<Loaded, CliError> {
    if sources.no_config {
        return Ok(Loaded { config: Config::default(), dir: None });
    }
    let path = match &sources.config {
        Some(path) => {
            if !path.is_file() {
                return Err(CliError::NoConfigFile(path.clone()));
            }
            Some(path.clone())
        }
        None => config::discover(Path::new(".")),
    };
    let Some(path) = path else { return Ok(Loaded { config: Config::default(), dir: None }) };
    match config::load(&path, &catalog::known_rules()) {
        Ok(config) => Ok(Loaded { config, dir: path.parent().map(Path::to_path_buf) }),
        Err(errors) => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            eprint!("{}", report::human::render_config_errors(&errors, color));
            let file =
                errors.source.as_ref().map_or_else(|| path.display().to_string(), |s| s.display.clone());
            Err(CliError::Config { file, count: errors.errors.len() })
        }
    }
}

/// The facts of the run; `with_config` adds the configuration files (for findings about them).
fn gather(
    sources: &SourceArgs,
    loaded: &Loaded,
    with_config: bool,
    online: Option<&OnlineOptions>,
) -> Result<Facts, CliError> {
    // Bad build arguments are reported before the image is opened.
    sources.build_options(&loaded.config)?;
    let explicit_arch = sources.arch.as_deref().or(loaded.config.arch.as_deref());
    // Fail closed: an unreadable image stops the analysis (exit 2).
    let opened = open_image(&sources.image, explicit_arch.unwrap_or("amd64"))?;
    let paths = sources.paths(&loaded.config, loaded.dir.as_deref());
    gather_opened(sources, loaded, with_config, &paths, opened, online)
}

/// The facts of the sources under `paths` and of an image already opened.
fn gather_opened(
    sources: &SourceArgs,
    loaded: &Loaded,
    with_config: bool,
    paths: &[PathBuf],
    opened: Option<crate::image::OpenedImage>,
    online: Option<&OnlineOptions>,
) -> Result<Facts, CliError> {
    let opts = sources.build_options(&loaded.config)?;
    let explicit_arch = sources.arch.as_deref().or(loaded.config.arch.as_deref());
    let exclude = &loaded.config.exclude;
    let dir = loaded.dir.clone();
    let keep = |display: &str| {
        !exclude.iter().any(|p| {
            p.matches(display)
                || dir.as_deref().and_then(|d| relative(d, display)).is_some_and(|r| p.matches(&r))
        })
    };
    let config = &loaded.config;
    let other_sources = if with_config {
        config.source.iter().chain(&config.rule_sources).cloned().collect()
    } else {
        Vec::new()
    };
    let image = opened.map(|opened| (opened, explicit_arch));
    Ok(crate::gather::gather(Inputs { paths, opts: &opts, keep: &keep, image, other_sources, online })?)
}

/// `file` relative to `dir`, when it is below it.
fn relative(dir: &Path, file: &str) -> Option<String> {
    let abs = std::env::current_dir().ok()?.join(file);
    let dir = std::env::current_dir().ok()?.join(dir);
    let (abs, dir) = (normalize(&abs), normalize(&dir));
    abs.strip_prefix(&dir).ok().map(|p| p.to_string_lossy().replace('\\', "/"))
}

struct CheckOptions {
    format: Vec<FormatSpec>,
    fail_on: Option<FailOn>,
    no_inline_ignores: bool,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
    online: OnlineArgs,
}

fn check(sources: &SourceArgs, options: &CheckOptions) -> Result<u8, CliError> {
    if sources.image.image.is_none() && options.format.iter().any(|s| s.format == CheckFormat::Cyclonedx) {
        return Err(CliError::NoInventory);
    }
    let loaded = load_config(sources)?;
    let config = &loaded.config;
    let fail_on = match options.fail_on {
        Some(f) => f,
        None => config.fail_on.as_deref().and_then(FailOn::parse).unwrap_or(FailOn::Error),
    };
    let online = online_options(&options.online, &sources.image)?;
    let mut facts = gather(sources, &loaded, true, online.as_ref())?;
    let mut engine_opts = engine::Options::new(config);
    engine_opts.config_dir = loaded.dir.clone();
    if options.no_inline_ignores {
        engine_opts.inline_ignores = false;
    }
    if let Some(path) = &options.baseline {
        engine_opts.baseline = Some(baseline::load(path).map_err(CliError::Baseline)?);
    }
    let outcome = engine::run(&facts, config, &engine_opts);
    if let Some(path) = &options.write_baseline {
        write_atomically(path, &baseline::to_json(&baseline::build(&outcome.findings)))?;
        eprintln!("stowage: wrote {} findings to the baseline {}", outcome.findings.len(), path.display());
        return Ok(EXIT_OK);
    }
    let threshold = fail_on.threshold();
    let summary = Summary::new(facts.sources.len(), facts.references.len(), &outcome.findings, threshold)
        .with_images(&facts.references);
    let mut summary = Summary { waived: outcome.waived.len(), ..summary };
    summary.readiness = crate::report::summary::readiness(&facts, &outcome.findings);
    if let Some(r) = summary.readiness.as_ref().filter(|r| r.mode == crate::report::summary::Mode::Image) {
        summary.embedded = Some(r.embedded);
        summary.missing = Some(r.missing);
    }
    let config_summary = ConfigSummary {
        file: config.display_path().map(str::to_string),
        paths: sources.paths(config, loaded.dir.as_deref()).iter().map(|p| p.display().to_string()).collect(),
        fail_on: summary.fail_on.clone(),
        arch: sources.arch.clone().or_else(|| config.arch.clone()).unwrap_or_else(|| "amd64".into()),
        build_args: sources
            .build_options(config)?
            .build_args
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect(),
        inline_ignores: engine_opts.inline_ignores,
        baseline: options.baseline.as_ref().map(|p| p.display().to_string()),
        waivers: config.ignore.len(),
        rules: ConfigSummary::rule_set(config),
    };
    let report = Report {
        findings: outcome.findings,
        waived: outcome.waived,
        verdicts: crate::rules::explain::verdicts(&facts),
        references: std::mem::take(&mut facts.references),
        summary,
        inventory: facts.image.as_ref().map(|i| i.inventory.clone()),
        image: facts.image.as_ref().map(|i| crate::report::ImageInfo {
            reference: i.spec.clone(),
            digest: i.config.digest.clone(),
            architecture: Some(i.target_arch.clone()),
            created: i.config.created.clone(),
            labels: i.config.labels.clone(),
            os_size: None,
        }),
        config: config_summary,
        run: RunInfo::now(),
        online: facts.online.take(),
    };
    let stdout_tty = std::io::stdout().is_terminal();
    let mut specs = options.format.clone();
    if specs.is_empty() {
        let format = if stdout_tty { CheckFormat::Human } else { CheckFormat::Compact };
        specs.push(FormatSpec { format, file: None });
    }
    check_outputs(&specs)?;
    let mut stdout_format = None;
    for spec in &specs {
        let color = spec.file.is_none() && stdout_tty && std::env::var_os("NO_COLOR").is_none();
        let text = render(spec.format, &report, &facts, color)?;
        match &spec.file {
            Some(path) => write_atomically(path, &text)?,
            None => {
                stdout_format = Some(spec.format);
                write_stdout(&text)?;
            }
        }
    }
    if !stdout_format.is_some_and(CheckFormat::is_machine) || std::io::stderr().is_terminal() {
        eprintln!("{}", report.summary.line());
        if let Some(online) = &report.online {
            eprintln!("{}", online.summary_line());
        }
    }
    Ok(if report.summary.failed { EXIT_FINDINGS } else { EXIT_OK })
}

/// At most one format on stdout, and no file written twice.
fn check_outputs(specs: &[FormatSpec]) -> Result<(), CliError> {
    check_paths(specs.iter().map(|s| s.file.as_ref()))
}

/// The outputs of `--format FMT[=FILE]...` (`None`: stdout): stdout at most once, and no file
/// named twice.
fn check_paths<'a>(outputs: impl Iterator<Item = Option<&'a PathBuf>> + Clone) -> Result<(), CliError> {
    if outputs.clone().filter(Option::is_none).count() > 1 {
        return Err(CliError::StdoutTwice);
    }
    let mut files = std::collections::BTreeSet::new();
    for file in outputs.flatten() {
        if !files.insert(normalize(&std::env::current_dir().unwrap_or_default().join(file))) {
            return Err(CliError::NamedTwice(file.clone()));
        }
    }
    Ok(())
}

fn render(format: CheckFormat, report: &Report, facts: &Facts, color: bool) -> Result<String, CliError> {
    Ok(match format {
        CheckFormat::Human => report::human::render(&report.findings, facts, color),
        CheckFormat::Compact => report::compact::render(&report.findings),
        CheckFormat::Json => report::json::render(report),
        CheckFormat::Sarif => report::sarif::render(report),
        CheckFormat::Junit => report::junit::render(report),
        CheckFormat::Github => report::github::render(report),
        CheckFormat::Gitlab => report::gitlab::render(report),
        CheckFormat::Markdown => report::markdown::render(report),
        CheckFormat::Html => report::html::render(report),
        CheckFormat::Cyclonedx => match (&report.image, &report.inventory) {
            (Some(image), Some(inv)) => report::cyclonedx::render(image, inv, report::source_date_epoch()),
            _ => return Err(CliError::NoInventory),
        },
    })
}

fn refs(sources: &SourceArgs, format: RefsFormat) -> Result<u8, CliError> {
    let loaded = load_config(sources)?;
    let facts = gather(sources, &loaded, false, None)?;
    match format {
        RefsFormat::Table => write_stdout(&report::refs::table(&facts.references))?,
        RefsFormat::Json => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let verdicts = crate::rules::explain::verdicts(&facts);
            let written =
                report::refs::write_json(&facts.references, &verdicts, &mut out).and_then(|_| out.flush());
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(CliError::Output(e));
                }
                _ => {}
            }
        }
    }
    Ok(EXIT_OK)
}

fn init(force: bool) -> Result<u8, CliError> {
    let path = Path::new("stowage.yaml");
    if path.exists() && !force {
        return Err(CliError::ConfigExists);
    }
    write_atomically(path, &config::init_template(&catalog::known_rules()))?;
    eprintln!("stowage: wrote stowage.yaml");
    Ok(EXIT_OK)
}

fn inventory(image: &ImageArgs, format: InventoryFormat, arch: Option<&str>) -> Result<u8, CliError> {
    let opened = open_image(image, arch.unwrap_or("amd64"))?.ok_or(CliError::NeedsImage("inventory"))?;
    // The OS image's own architecture, unless --arch says otherwise.
    let target = arch.map(str::to_string).or_else(|| opened.config.architecture.clone());
    let inv = crate::inventory::inventory(&opened.view, target.as_deref());
    let text = match format {
        InventoryFormat::Table => report::inventory::table(&inv),
        InventoryFormat::Json => report::inventory::json(&inv),
        InventoryFormat::Cyclonedx => {
            let image = crate::report::ImageInfo {
                reference: opened.spec.clone(),
                digest: opened.config.digest.clone(),
                architecture: inv.target_arch.clone(),
                created: opened.config.created.clone(),
                labels: opened.config.labels.clone(),
                os_size: None,
            };
            report::cyclonedx::render(&image, &inv, report::source_date_epoch())
        }
    };
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

fn plan(sources: &SourceArgs, format: PlanFormat) -> Result<u8, CliError> {
    let loaded = load_config(sources)?;
    let facts = gather(sources, &loaded, false, None)?;
    let text = match format {
        PlanFormat::List => report::plan::list(&facts.references),
        PlanFormat::ImageList => report::plan::image_list(&facts.references),
        PlanFormat::Json => report::plan::json(&facts.references),
    };
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

fn rules_command(rule: Option<&str>, format: RulesFormat) -> Result<u8, CliError> {
    let text = match rule {
        Some(id) => {
            let entry = catalog::entry(id).ok_or_else(|| CliError::UnknownRule {
                id: id.to_string(),
                known: catalog::entries().iter().map(|e| e.id.clone()).collect(),
            })?;
            report::rules::explain(entry, format)
        }
        None => report::rules::list(catalog::entries(), format),
    };
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

/// Write a file through a temporary file in the same directory and a rename, so a reader
/// never sees it half-written.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let failed = |source| CliError::Write { path: path.to_path_buf(), source };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    tmp.write_all(text.as_bytes()).map_err(failed)?;
    // The temporary file is private (0600); a report is an artifact others read, so give it
    // the mode of the file it replaces, or the usual 0644.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(failed)?;
    }
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// `--online` and the image options it shares: TLS, certificates, auth file, `--creds` for the
/// `--image docker://` registry only.
fn online_options(args: &OnlineArgs, image: &ImageArgs) -> Result<Option<OnlineOptions>, CliError> {
    if !args.online {
        return Ok(None);
    }
    let creds_registry = image
        .image
        .as_deref()
        .and_then(|spec| spec.strip_prefix("docker://"))
        .and_then(|r| crate::reference::imageref::ImageRef::parse(r).ok())
        .map(|r| r.registry().to_string());
    let creds = match (&image.read.creds, creds_registry) {
        (Some(creds), Some(registry)) => Some((registry, creds.clone())),
        (Some(_), None) => return Err(CliError::CredsWithoutRegistry),
        (None, _) => None,
    };
    let lookup = lookup_options(
        &image.read,
        creds,
        args.registries_conf.as_deref(),
        args.online_jobs,
        args.online_timeout,
    )?;
    Ok(Some(OnlineOptions { lookup, skip_unreachable: args.online_skip_unreachable }))
}

/// How `--online` and `pin` ask the registries: the image options' TLS, certificates and auth
/// file, `creds` for one registry, the build host's registries.conf, parallelism and timeout.
fn lookup_options(
    read: &ReadArgs,
    creds: Option<(String, String)>,
    registries_conf: Option<&Path>,
    jobs: u16,
    timeout: u16,
) -> Result<crate::image::registry::lookup::LookupOptions, CliError> {
    let registries =
        crate::gather::online::host_registries(registries_conf).map_err(CliError::RegistriesConf)?;
    Ok(crate::image::registry::lookup::LookupOptions {
        tls_verify: read.tls_verify,
        cert_dir: read.cert_dir.clone(),
        auth_file: read.authfile.clone(),
        creds,
        registries,
        parallel: usize::from(jobs),
        timeout: std::time::Duration::from_secs(u64::from(timeout)),
        progress: true,
    })
}

fn open_image(args: &ImageArgs, arch: &str) -> Result<Option<crate::image::OpenedImage>, CliError> {
    let Some(spec) = &args.image else { return Ok(None) };
    let opts = args.options(arch)?;
    Ok(Some(crate::image::open(spec, &opts)?))
}

fn ls(path: &str, args: &ImageArgs, arch: &str, format: RefsFormat) -> Result<u8, CliError> {
    let image = open_image(args, arch)?.ok_or(CliError::NeedsImage("ls"))?;
    let text = match format {
        RefsFormat::Table => {
            eprintln!("{}", report::image::ls_summary(&image));
            report::image::ls_table(&image, path)
        }
        RefsFormat::Json => report::image::ls_json(&image, path),
    };
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

/// Write to stdout; a closed pipe (`stowage refs | head`) is not an error.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e)),
    }
}
