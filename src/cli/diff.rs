//! `stowage diff OLD NEW [PATH]...`: open both images (layers they share read once, `/var`
//! watched), gather each side's facts as `check --image` does (OLD with its in-image sources
//! only, NEW with PATH too), judge each side, compare them and run the upgrade rules.

use super::args::{DiffFormatSpec, FailOn, ImageArgs, SourceArgs};
use super::{
    CliError, DiffArgs, DiffFormat, EXIT_FINDINGS, EXIT_OK, Loaded, check_paths, gather_opened, load_config,
    write_atomically, write_stdout,
};
use crate::gather::facts::Facts;
use crate::report::diff::{self, DiffReport};
use crate::report::summary::readiness;
use crate::rules::engine;
use crate::upgrade::{self, Side};
use std::io::IsTerminal;

pub(super) fn diff(args: &DiffArgs) -> Result<u8, CliError> {
    let sources = SourceArgs {
        paths: args.paths.clone(),
        arch: args.arch.clone(),
        build_args: args.build_args.clone(),
        config: args.config.clone(),
        no_config: args.no_config,
        image: ImageArgs { image: Some(args.new.clone()), read: args.read.clone() },
    };
    let loaded = load_config(&sources)?;
    let config = &loaded.config;
    let fail_on = match args.fail_on {
        Some(f) => f,
        None => config.fail_on.as_deref().and_then(FailOn::parse).unwrap_or(FailOn::Error),
    };
    let mut specs: Vec<DiffFormatSpec> = args.format.clone();
    if specs.is_empty() {
        specs.push(DiffFormatSpec { format: DiffFormat::Human, file: None });
    }
    check_paths(specs.iter().map(|s| s.file.as_ref()))?;

    let arch = sources.arch.as_deref().or(config.arch.as_deref()).unwrap_or("amd64");
    let mut opts = args.read.options(arch)?;
    opts.watch.var = true;
    opts.shared = Some(crate::image::SharedLayers::default());
    // One after the other, so that the layers NEW shares with OLD come from the first read.
    let old = crate::image::open(&args.old, &opts)?;
    let new = crate::image::open(&args.new, &opts)?;
    let (old_var, new_var) = (upgrade::var::var_files(&old.view), upgrade::var::var_files(&new.view));
    let new_paths = sources.paths(config, loaded.dir.as_deref());
    let old_facts = gather_opened(&sources, &loaded, false, &[], Some(old), None)?;
    let new_facts = gather_opened(&sources, &loaded, true, &new_paths, Some(new), None)?;

    // OLD's own findings are not the diff's business: only its verdict is reported.
    let (_, old_ready) = judge(&old_facts, &loaded);
    let (new_findings, new_ready) = judge(&new_facts, &loaded);
    let upgrade =
        upgrade::compare(Side { facts: old_facts, var: old_var }, Side { facts: new_facts, var: new_var });
    let mut engine_opts = engine::Options::new(config);
    engine_opts.config_dir = loaded.dir.clone();
    let upgrade_findings = engine::run_upgrade(&upgrade, config, &engine_opts);
    let report = DiffReport {
        upgrade: &upgrade,
        findings: engine::merge_upgrade(upgrade_findings, new_findings),
        old_readiness: old_ready,
        new_readiness: new_ready,
        fail_on: fail_on.threshold(),
    };
    for spec in &specs {
        let text = match spec.format {
            DiffFormat::Human => diff::human(&report),
            DiffFormat::Json => diff::json(&report),
            DiffFormat::Markdown => diff::markdown(&report),
            DiffFormat::Html => crate::report::diff_html::render(&report),
        };
        match &spec.file {
            Some(path) => write_atomically(path, &text)?,
            None => write_stdout(&text)?,
        }
    }
    // The human format ends with the summary line; otherwise it goes to a terminal's stderr, or
    // to stderr when everything went to files.
    let human_on_stdout = specs.iter().any(|s| s.file.is_none() && s.format == DiffFormat::Human);
    if !human_on_stdout && (std::io::stderr().is_terminal() || specs.iter().all(|s| s.file.is_some())) {
        eprintln!("{}", report.line());
    }
    Ok(if report.summary().failed { EXIT_FINDINGS } else { EXIT_OK })
}

/// One side's own findings (the check engine, configuration applied) and its readiness.
fn judge(
    facts: &Facts,
    loaded: &Loaded,
) -> (Vec<crate::finding::Finding>, Option<crate::report::summary::Readiness>) {
    let mut opts = engine::Options::new(&loaded.config);
    opts.config_dir = loaded.dir.clone();
    let outcome = engine::run(facts, &loaded.config, &opts);
    let ready = readiness(facts, &outcome.findings);
    (outcome.findings, ready)
}
