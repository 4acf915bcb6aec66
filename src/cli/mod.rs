//! The command line: argument parsing, configuration, running a command, writing its output,
//! exit status.

mod args;

pub use args::Cli;
use args::{CheckFormat, Command, FailOn, InventoryFormat, RefsFormat, RulesFormat, SourceArgs};

use crate::config::{self, Config};
use crate::facts::Facts;
use crate::report::{self, Summary};
use crate::rules::{baseline, catalog, engine};
use crate::source::discover;
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit statuses (DESIGN.md): 0 nothing at or above `--fail-on`, 1 findings at or above it,
/// 2 the analysis could not be done.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

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
        Err(message) => {
            if !message.is_empty() {
                eprintln!("stowage: error: {message}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Check { sources, format, fail_on, no_inline_ignores, baseline, write_baseline } => {
            let options = CheckOptions { format, fail_on, no_inline_ignores, baseline, write_baseline };
            check(&sources, &options)
        }
        Command::Refs { sources, format } => refs(&sources, format),
        Command::Init { force } => init(force),
        Command::Inventory { image, format, arch } => inventory(&image, format, arch.as_deref()),
        Command::Rules { rule, format } => rules_command(rule.as_deref(), format),
    }
}

/// The configuration in effect and where it lives.
struct Loaded {
    config: Config,
    dir: Option<PathBuf>,
}

/// `--config FILE`, else stowage.yaml / .stowage.yaml found upward, else the defaults.
/// Errors in the file are printed with excerpts, and the run stops (exit 2).
fn load_config(sources: &SourceArgs) -> Result<Loaded, String> {
    if sources.no_config {
        return Ok(Loaded { config: Config::default(), dir: None });
    }
    let path = match &sources.config {
        Some(path) => {
            if !path.is_file() {
                return Err(format!("--config {}: no such file", path.display()));
            }
            Some(path.clone())
        }
        None => config::discover(Path::new(".")),
    };
    let Some(path) = path else { return Ok(Loaded { config: Config::default(), dir: None }) };
    match config::load(&path) {
        Ok(config) => Ok(Loaded { config, dir: path.parent().map(Path::to_path_buf) }),
        Err(errors) => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            eprint!("{}", report::human::render_config_errors(&errors, color));
            let n = errors.errors.len();
            let noun = if n == 1 { "error" } else { "errors" };
            let shown =
                errors.source.as_ref().map_or_else(|| path.display().to_string(), |s| s.display.clone());
            Err(format!("{shown}: {n} configuration {noun}"))
        }
    }
}

fn gather(sources: &SourceArgs, loaded: &Loaded) -> Result<Facts, String> {
    let opts = sources.build_options(&loaded.config)?;
    let paths = sources.paths(&loaded.config, loaded.dir.as_deref());
    let exclude = &loaded.config.exclude;
    let dir = loaded.dir.clone();
    let keep = |display: &str| {
        !exclude.iter().any(|p| {
            p.matches(display)
                || dir.as_deref().and_then(|d| relative(d, display)).is_some_and(|r| p.matches(&r))
        })
    };
    let mut facts = discover::gather_filtered(&paths, &opts, &keep).map_err(|e| e.to_string())?;
    if let Some(image) = &sources.image {
        let arch = sources.arch.as_deref().or(loaded.config.arch.as_deref());
        crate::audit::attach_image(&mut facts, image, arch, &opts)?;
    }
    Ok(facts)
}

/// `file` relative to `dir`, when it is below it.
fn relative(dir: &Path, file: &str) -> Option<String> {
    let abs = std::env::current_dir().ok()?.join(file);
    let dir = std::env::current_dir().ok()?.join(dir);
    let (abs, dir) = (normalize(&abs), normalize(&dir));
    abs.strip_prefix(&dir).ok().map(|p| p.to_string_lossy().replace('\\', "/"))
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

struct CheckOptions {
    format: Option<CheckFormat>,
    fail_on: Option<FailOn>,
    no_inline_ignores: bool,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
}

fn check(sources: &SourceArgs, options: &CheckOptions) -> Result<u8, String> {
    let loaded = load_config(sources)?;
    let config = &loaded.config;
    let fail_on = match options.fail_on {
        Some(f) => f,
        None => config.fail_on.as_deref().and_then(FailOn::parse).unwrap_or(FailOn::Error),
    };
    let mut facts = gather(sources, &loaded)?;
    if let Some(source) = &config.source {
        facts.sources.insert(source.display.clone(), source.clone());
    }
    let mut engine_opts = engine::Options::new(config);
    engine_opts.config_dir = loaded.dir.clone();
    if options.no_inline_ignores {
        engine_opts.inline_ignores = false;
    }
    if let Some(path) = &options.baseline {
        engine_opts.baseline = Some(baseline::load(path)?);
    }
    let outcome = engine::run(&facts, config, &engine_opts);
    if let Some(path) = &options.write_baseline {
        write_atomically(path, &baseline::to_json(&baseline::build(&outcome.findings)))?;
        eprintln!("stowage: wrote {} findings to the baseline {}", outcome.findings.len(), path.display());
        return Ok(EXIT_OK);
    }
    let findings = &outcome.findings;
    let threshold = fail_on.threshold();
    let mut summary = Summary::new(facts.sources.len(), facts.references.len(), findings, threshold);
    summary.waived = outcome.waived.len();
    summary.readiness = crate::audit::summary::readiness(&facts, findings);
    let stdout_tty = std::io::stdout().is_terminal();
    let format = options.format.unwrap_or(if stdout_tty { CheckFormat::Human } else { CheckFormat::Compact });
    let text = match format {
        CheckFormat::Human => {
            let color = stdout_tty && std::env::var_os("NO_COLOR").is_none();
            report::human::render(findings, &facts, color)
        }
        CheckFormat::Compact => report::compact::render(findings),
        CheckFormat::Json => report::json::render(findings, &outcome.waived, &summary),
    };
    write_stdout(&text)?;
    if format != CheckFormat::Json || std::io::stderr().is_terminal() {
        eprintln!("{}", summary.line());
    }
    Ok(if summary.failed { EXIT_FINDINGS } else { EXIT_OK })
}

fn refs(sources: &SourceArgs, format: RefsFormat) -> Result<u8, String> {
    let loaded = load_config(sources)?;
    let facts = gather(sources, &loaded)?;
    match format {
        RefsFormat::Table => write_stdout(&report::refs::table(&facts.references))?,
        RefsFormat::Json => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = report::refs::write_json(&facts.references, &mut out).and_then(|_| out.flush());
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(format!("cannot write the output: {e}"));
                }
                _ => {}
            }
        }
    }
    Ok(EXIT_OK)
}

fn init(force: bool) -> Result<u8, String> {
    let path = Path::new("stowage.yaml");
    if path.exists() && !force {
        return Err("stowage.yaml exists already; use --force to overwrite it".into());
    }
    write_atomically(path, &config::init_template())?;
    eprintln!("stowage: wrote stowage.yaml");
    Ok(EXIT_OK)
}

fn inventory(image: &str, format: InventoryFormat, arch: Option<&str>) -> Result<u8, String> {
    // Until the image reader (issue 4) lands, only unpacked trees are read, through the
    // inventory's private loader; at merge this becomes `image::open`.
    let Some(dir) = image.strip_prefix("rootfs:") else {
        return Err(format!("--image {image}: only rootfs:DIR is supported by this build"));
    };
    let view = crate::inventory::fromdir::load(std::path::Path::new(dir))
        .map_err(|e| format!("--image {image}: {e}"))?;
    let inv = crate::inventory::inventory(&view, arch);
    let text = match format {
        InventoryFormat::Table => report::inventory::table(&inv),
        InventoryFormat::Json => report::inventory::json(&inv),
    };
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

fn rules_command(rule: Option<&str>, format: RulesFormat) -> Result<u8, String> {
    let text = match rule {
        Some(id) => {
            let entry = catalog::entry(id).ok_or_else(|| {
                let ids: Vec<&str> = catalog::entries().iter().map(|e| e.id.as_str()).collect();
                format!("unknown rule `{id}`; the rules are: {}", ids.join(", "))
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
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", path.display()))?;
    tmp.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    tmp.persist(path).map_err(|e| format!("{}: {}", path.display(), e.error))?;
    Ok(())
}

/// Write to stdout; a closed pipe (`stowage refs | head`) is not an error.
fn write_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write the output: {e}")),
    }
}
