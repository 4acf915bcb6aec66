//! The copy service as the image installs it: MicroShift's copy script, the
//! `microshift.service.d` drop-in that runs it, and the script's run over its list
//! ([`super::copystep`] models how bash and systemd run them).

use super::copystep::{ExecLine, LineOutcome, Loop, Run, ScriptModel, understand};
use super::join;
use crate::image::view::{Entry, FileView};

/// The list the MicroShift copy script reads.
pub const DEFAULT_LIST: &str = "/usr/lib/containers/storage/image-list.txt";
pub const COPY_SCRIPT: &str = "/usr/bin/microshift-copy-images";
pub const DROP_IN_DIR: &str = "/usr/lib/systemd/system/microshift.service.d";
/// Where systemd finds `microshift.service` and its `microshift.service.d/` drop-ins in a
/// booted image, highest precedence first (systemd.unit(5) "Unit File Load Path"; `/run` is a
/// tmpfs at boot, so what an image ships there is never read).
pub const UNIT_DIRS: [&str; 2] = ["/etc/systemd/system", "/usr/lib/systemd/system"];

/// The files systemd reads for `microshift.service`, in the order it applies them: the unit
/// (the first of [`UNIT_DIRS`] that has it), then the drop-ins of every
/// `microshift.service.d/` sorted by file name, a name in `/etc` hiding the same name in
/// `/usr/lib` (systemd.unit(5)).
pub fn unit_files(view: &FileView) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    if let Some(unit) =
        UNIT_DIRS.iter().map(|d| format!("{d}/microshift.service")).find(|p| view.read(p).is_some())
    {
        files.push(unit);
    }
    let mut drop_ins: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    for dir in UNIT_DIRS {
        let dir = format!("{dir}/microshift.service.d");
        for (name, _) in view.list_dir(&dir) {
            if name.ends_with(".conf") {
                drop_ins.entry(name).or_insert_with(|| join(&dir, name));
            }
        }
    }
    files.extend(drop_ins.into_values());
    files
}

/// The copy service that makes `dir:` copies visible to CRI-O: the script, the drop-in that
/// runs it, and how the script is understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyService {
    pub script: bool,
    /// The script's text, when captured.
    pub script_text: Option<String>,
    /// The drop-in that runs the script.
    pub drop_in: Option<String>,
    /// The drop-in line that runs it.
    pub exec: Option<ExecLine>,
    /// The script read as bash runs it.
    pub model: ScriptModel,
    /// Its run over the list it reads, when it is the documented loop.
    pub run: Option<ListRun>,
    /// Why the drop-in's command cannot run at all (a missing or non-executable script:
    /// systemd's status 203/EXEC), when a drop-in names it.
    pub cannot_run: Option<String>,
}

impl Default for CopyService {
    fn default() -> Self {
        CopyService {
            script: false,
            script_text: None,
            drop_in: None,
            exec: None,
            model: ScriptModel { recognised: Err("no copy script".into()) },
            run: None,
            cannot_run: None,
        }
    }
}

/// The copy script's run over its list, as bash and systemd run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRun {
    /// The list read.
    pub list: String,
    /// `set -e` was in effect.
    pub errexit: bool,
    /// Lines whose copy fails (1-based line, why), in file order.
    pub failed: Vec<(u32, String)>,
    /// The line whose failure ended the script, and how many later lines were never run.
    pub stopped_at: Option<(u32, usize)>,
    /// A last line without a newline: never copied.
    pub no_newline: Option<u32>,
    /// The script exits non-zero.
    pub fails: bool,
}

impl ListRun {
    /// Whether `microshift.service` starts: a failing `ExecStartPre=` without `-` fails the
    /// unit (systemd.service(5)).
    pub fn microshift_starts(&self, exec: Option<&ExecLine>) -> bool {
        !self.fails || exec.is_some_and(|e| e.ignore_failure || !e.pre)
    }
}

impl CopyService {
    pub fn find(view: &FileView) -> CopyService {
        let script = matches!(view.lookup(COPY_SCRIPT), Some(Entry::File { .. }));
        let script_text = view.read(COPY_SCRIPT).map(|b| String::from_utf8_lossy(b).into_owned());
        let mut exec = None;
        for path in unit_files(view) {
            if let Some(bytes) = view.read(&path) {
                exec = ExecLine::scan(&path, &String::from_utf8_lossy(bytes), COPY_SCRIPT, exec);
            }
        }
        let model = match &script_text {
            Some(text) => understand(text),
            None => ScriptModel { recognised: Err("no copy script".into()) },
        };
        let cannot_run = match (view.lookup(COPY_SCRIPT), &exec) {
            (_, None) => None,
            (Some(Entry::File { mode, .. }), Some(_)) if mode & 0o111 == 0 => Some(format!(
                "{COPY_SCRIPT} is not executable (mode {:04o}): systemd fails the command with status 203/EXEC \
                 before it runs",
                mode & 0o7777
            )),
            (Some(Entry::File { .. }), Some(_)) => None,
            (_, Some(_)) => {
                Some(format!("{COPY_SCRIPT} does not exist: systemd fails the command with status 203/EXEC"))
            }
        };
        CopyService {
            script,
            script_text,
            drop_in: exec.as_ref().map(|e| e.file.clone()),
            exec,
            model,
            run: None,
            cannot_run,
        }
    }

    /// Whether the service copies the copies named in `list`, and why (not).
    pub(super) fn serves(&self, list: &str) -> (bool, String) {
        if !self.script {
            return (
                false,
                format!("{COPY_SCRIPT} is missing: nothing copies it into CRI-O's store at boot"),
            );
        }
        let Some(drop_in) = &self.drop_in else {
            return (
                false,
                format!("no microshift.service drop-in runs {COPY_SCRIPT}: nothing copies it at boot"),
            );
        };
        if let Ok(l) = &self.model.recognised {
            if l.list != list {
                return (false, format!("{COPY_SCRIPT} reads {}, not {list}", l.list));
            }
            return (true, format!("copied into the default store at boot by {COPY_SCRIPT} ({drop_in})"));
        }
        let file_name = list.rsplit('/').next().unwrap_or(list);
        let named = self.script_text.as_deref().is_some_and(|t| t.contains(list) || t.contains(file_name));
        if list != DEFAULT_LIST && !named {
            return (false, format!("{COPY_SCRIPT} does not read {list}"));
        }
        (true, format!("copied into the default store at boot by {COPY_SCRIPT} ({drop_in})"))
    }

    /// The documented loop, when it reads `list` and a drop-in runs it.
    pub(super) fn loop_for(&self, list: &str) -> Option<&Loop> {
        self.model
            .recognised
            .as_ref()
            .ok()
            .filter(|l| l.list == list && self.drop_in.is_some() && self.script)
    }
}

impl ListRun {
    pub(super) fn new(list: &str, errexit: bool, run: &Run) -> ListRun {
        let not_reached = run.lines.iter().filter(|(_, o)| matches!(o, LineOutcome::NotReached(_))).count();
        ListRun {
            list: list.to_string(),
            errexit,
            failed: run
                .lines
                .iter()
                .filter_map(|(l, o)| match o {
                    LineOutcome::Fails(f) => Some((l.line, f.why.clone())),
                    _ => None,
                })
                .collect(),
            stopped_at: run.stopped_at.map(|at| (at, not_reached)),
            no_newline: run.lines.iter().find(|(_, o)| *o == LineOutcome::NoNewline).map(|(l, _)| l.line),
            fails: run.fails,
        }
    }
}
