//! The command line: argument parsing, running a command, writing its output, exit status.

mod args;

pub use args::Cli;
use args::{CheckFormat, Command, FailOn, PlanFormat, RefsFormat, RulesFormat, SourceArgs};

use crate::facts::Facts;
use crate::report::{self, Summary};
use crate::rules::{self, catalog};
use crate::source::discover;
use clap::Parser;
use std::io::{IsTerminal, Write};
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
            eprintln!("stowage: error: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Check { sources, format, fail_on } => check(&sources, format, fail_on),
        Command::Refs { sources, format } => refs(&sources, format),
        Command::Plan { sources, format } => plan(&sources, format),
        Command::Rules { rule, format } => rules_command(rule.as_deref(), format),
    }
}

fn gather(sources: &SourceArgs) -> Result<Facts, String> {
    let opts = sources.build_options()?;
    discover::gather(&sources.paths(), &opts).map_err(|e| e.to_string())
}

fn check(sources: &SourceArgs, format: Option<CheckFormat>, fail_on: FailOn) -> Result<u8, String> {
    let facts = gather(sources)?;
    let findings = rules::run(&facts);
    let threshold = fail_on.threshold();
    let summary = Summary::new(facts.sources.len(), facts.references.len(), &findings, threshold);
    let stdout_tty = std::io::stdout().is_terminal();
    let format = format.unwrap_or(if stdout_tty { CheckFormat::Human } else { CheckFormat::Compact });
    let text = match format {
        CheckFormat::Human => {
            let color = stdout_tty && std::env::var_os("NO_COLOR").is_none();
            report::human::render(&findings, &facts, color)
        }
        CheckFormat::Compact => report::compact::render(&findings),
        CheckFormat::Json => report::json::render(&findings, &summary),
    };
    write_stdout(&text)?;
    if format != CheckFormat::Json || std::io::stderr().is_terminal() {
        eprintln!("{}", summary.line());
    }
    Ok(if summary.failed { EXIT_FINDINGS } else { EXIT_OK })
}

fn refs(sources: &SourceArgs, format: RefsFormat) -> Result<u8, String> {
    let facts = gather(sources)?;
    let text = match format {
        RefsFormat::Table => report::refs::table(&facts.references),
        RefsFormat::Json => report::refs::json(&facts.references),
    };
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

fn plan(sources: &SourceArgs, format: PlanFormat) -> Result<u8, String> {
    let facts = gather(sources)?;
    let text = match format {
        PlanFormat::List => report::plan::list(&facts.references),
        PlanFormat::ImageList => report::plan::image_list(&facts.references),
        PlanFormat::Json => report::plan::json(&facts.references),
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

/// Write to stdout; a closed pipe (`stowage refs | head`) is not an error.
fn write_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write the output: {e}")),
    }
}
