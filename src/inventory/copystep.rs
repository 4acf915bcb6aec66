//! The boot-time copy step as it runs (DOMAIN.md §4): MicroShift's copy script read as bash
//! runs it, started by a `microshift.service` drop-in as systemd runs it.
//!
//! Both documented recipes (MicroShift's `Containerfile.bootc-embedded-rhel9` and the test
//! blueprints' `microshift-copy-images`) are one loop:
//!
//! ```bash
//! set -eux -o pipefail
//! while IFS="," read -r img sha ; do
//!     skopeo copy --preserve-digests "dir:/usr/lib/containers/storage/${sha}" "containers-storage:${img}"
//! done < /usr/lib/containers/storage/image-list.txt
//! ```
//!
//! What decides what the device has:
//! - the lines run in file order; `read` splits each on the first comma, keeps spaces and a
//!   carriage return, strips one trailing comma from the last field, and never runs the body
//!   for a last line without a newline;
//! - under `set -e` the first failing copy ends the script; without it later lines are still
//!   copied and the loop's status is that of its last copy;
//! - systemd fails `microshift.service` when an `ExecStartPre=` command without the `-`
//!   prefix fails (systemd.service(5)): MicroShift does not start at all.
//!
//! A script of another shape is reported, and its lines are taken one by one, each copied when
//! its copy can succeed (the behaviour of a script without `set -e`).

use super::join;

/// How the image's copy script is understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptModel {
    /// The documented loop, or why the script is not one.
    pub recognised: Result<Loop, String>,
}

/// The documented `while IFS=, read -r REF H; do skopeo copy dir:DIR/$H containers-storage:$REF;
/// done < LIST` loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    /// The list it reads (absolute in-image path).
    pub list: String,
    /// The directory the `dir:` copies are read from (`dir:DIR/${H}`).
    pub store_dir: String,
    /// `set -e` (or `-o errexit`, or `bash -e` on the `#!` line) is in effect at the loop.
    pub errexit: bool,
    /// 1-based line of the `while`.
    pub line: u32,
}

impl Default for ScriptModel {
    fn default() -> Self {
        ScriptModel { recognised: Err("no copy script".into()) }
    }
}

/// The drop-in line that starts the copy script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecLine {
    /// The drop-in file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// `ExecStartPre=` (true) or `ExecStart=`.
    pub pre: bool,
    /// The `-` prefix: a failure of the command is ignored.
    pub ignore_failure: bool,
}

impl ExecLine {
    /// The `ExecStartPre=`/`ExecStart=` line of a drop-in that runs `script`, if any.
    pub fn find(file: &str, text: &str, script: &str) -> Option<ExecLine> {
        Self::scan(file, text, script, None)
    }

    /// Read one more unit file or drop-in after `found` (what the files before it decided):
    /// the first line that runs `script` is the one; an empty `ExecStartPre=` (or
    /// `ExecStart=`) clears the commands set before it, that line included (systemd.service(5)).
    pub fn scan(file: &str, text: &str, script: &str, mut found: Option<ExecLine>) -> Option<ExecLine> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => continue,
            };
            let pre = match key {
                "ExecStartPre" => true,
                "ExecStart" => false,
                _ => continue,
            };
            if value.is_empty() {
                if found.as_ref().is_some_and(|f| f.pre == pre) {
                    found = None;
                }
                continue;
            }
            // Special prefixes (systemd.service(5) "Table 1"): any of `@-:+!` before the path.
            let prefixes: String = value.chars().take_while(|c| "@-:+!".contains(*c)).collect();
            let command = &value[prefixes.len()..];
            let program = command.split_whitespace().next().unwrap_or("");
            if found.is_none()
                && (program == script || program.rsplit('/').next() == script.rsplit('/').next())
            {
                found = Some(ExecLine {
                    file: file.to_string(),
                    line: n as u32 + 1,
                    pre,
                    ignore_failure: prefixes.contains('-'),
                });
            }
        }
        found
    }
}

/// One list line as `while IFS="," read -r img sha` hands it to the loop body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadLine {
    /// 1-based line number.
    pub line: u32,
    /// The line as written (without its newline).
    pub text: String,
    /// `img`: up to the first comma, spaces and carriage returns kept.
    pub reference: String,
    /// `sha`: the rest, one trailing comma stripped when it is the only other comma.
    pub hash: String,
    /// False for a last line without a newline: `read` fails and the body never runs.
    pub runs: bool,
}

/// The lines of a list as bash's `read` loop sees them, in file order.
pub fn read_lines(text: &str) -> Vec<ReadLine> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut n = 0u32;
    while !rest.is_empty() {
        n += 1;
        let (line, runs, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], true, &rest[i + 1..]),
            None => (rest, false, ""),
        };
        let (reference, hash) = match line.split_once(',') {
            Some((r, h)) => {
                let h = match h.strip_suffix(',') {
                    Some(stripped) if !stripped.contains(',') => stripped,
                    _ => h,
                };
                (r.to_string(), h.to_string())
            }
            None => (line.to_string(), String::new()),
        };
        out.push(ReadLine { line: n, text: line.to_string(), reference, hash, runs });
        rest = next;
    }
    out
}

/// Why `skopeo copy` refuses a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailKind {
    /// The line is not `REF,H` with a reference skopeo accepts.
    BadLine,
    /// The copy directory, its manifest or a blob is missing or damaged.
    Incomplete,
    /// `REF` pins a digest its copy's manifest does not hash to.
    DigestMismatch,
    /// A manifest list without an instance for the device's architecture.
    NoPlatform,
    /// containers/storage cannot be opened on the device: every copy fails.
    StoreBroken,
    /// The signature policy (policy.json) refuses the `dir:` source.
    Policy,
}

/// A failing copy: what kind of failure, and the sentence that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFailure {
    pub kind: FailKind,
    pub why: String,
}

impl CopyFailure {
    pub fn new(kind: FailKind, why: impl Into<String>) -> Self {
        CopyFailure { kind, why: why.into() }
    }
}

/// What happened to one list line at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// `skopeo copy` succeeded: the image is in CRI-O's store.
    Copied,
    /// `skopeo copy` fails, and why.
    Fails(CopyFailure),
    /// The script stopped at an earlier failing line (its number) before reaching this one;
    /// 0 when the script never ran.
    NotReached(u32),
    /// The last line has no newline: `read` fails on it and the body never runs.
    NoNewline,
}

/// The run of the copy script over one list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// Per line, in file order: the line and what happened to it.
    pub lines: Vec<(ReadLine, LineOutcome)>,
    /// The line whose failure ended the script (`set -e`).
    pub stopped_at: Option<u32>,
    /// The script's exit status is non-zero.
    pub fails: bool,
}

/// Run the documented loop over `lines`: `copy(line)` says whether that line's copy succeeds
/// (`Err(why)` when skopeo refuses it).
pub fn run(
    lines: Vec<ReadLine>,
    errexit: bool,
    mut copy: impl FnMut(&ReadLine) -> Result<(), CopyFailure>,
) -> Run {
    let mut out = Run::default();
    let mut last_status_ok = true;
    for line in lines {
        let outcome = if let Some(at) = out.stopped_at {
            LineOutcome::NotReached(at)
        } else if !line.runs {
            LineOutcome::NoNewline
        } else {
            match copy(&line) {
                Ok(()) => {
                    last_status_ok = true;
                    LineOutcome::Copied
                }
                Err(why) => {
                    last_status_ok = false;
                    if errexit {
                        out.stopped_at = Some(line.line);
                    }
                    LineOutcome::Fails(why)
                }
            }
        };
        out.lines.push((line, outcome));
    }
    // Under `set -e` a failure ends the script with its status; without it the loop (the
    // script's last command) has the status of its last copy.
    out.fails = out.stopped_at.is_some() || !last_status_ok;
    out
}

/// The lines of a list whose script never runs (systemd cannot execute it): none is copied.
pub fn never_runs(lines: Vec<ReadLine>) -> Run {
    Run {
        lines: lines.into_iter().map(|l| (l, LineOutcome::NotReached(0))).collect(),
        stopped_at: None,
        fails: true,
    }
}

/// Read a copy script: the documented loop, or why it is not one.
pub fn understand(text: &str) -> ScriptModel {
    ScriptModel { recognised: find_loop(text) }
}

/// Simple `NAME=value` assignments seen so far (the last one of a name wins), for `$NAME` /
/// `${NAME}` / `${NAME:-default}`.
#[derive(Default)]
struct Vars(std::collections::HashMap<String, Option<String>>);

/// The longest value an expansion may produce: paths are far shorter (`PATH_MAX` is 4096), and
/// a script whose variables each double the previous one would otherwise need terabytes.
const MAX_EXPANSION: usize = 4096;

impl Vars {
    /// `Some(None)`: assigned a value that could not be worked out.
    fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0.get(name).map(Option::as_deref)
    }

    fn set(&mut self, name: &str, value: Option<String>) {
        self.0.insert(name.to_string(), value);
    }

    /// Expand the variables of a word (quotes removed); `None` when one is unknown or the
    /// result would be longer than [`MAX_EXPANSION`].
    fn expand(&self, word: &str) -> Option<String> {
        let word: String = word.chars().filter(|c| *c != '"' && *c != '\'').collect();
        let mut out = String::new();
        let mut rest = word.as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            let (name, default, after) = if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}')?;
                let body = &inner[..end];
                let (name, default) = match body.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (body, None),
                };
                (name.to_string(), default, &inner[end + 1..])
            } else {
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                (rest[..end].to_string(), None, &rest[end..])
            };
            let value = match (self.get(&name), default) {
                (Some(None), _) => return None,
                (Some(Some(v)), _) if !v.is_empty() => v.to_string(),
                (_, Some(d)) => self.expand(d)?,
                (Some(Some(v)), None) => v.to_string(),
                (None, None) => return None,
            };
            if out.len() + value.len() > MAX_EXPANSION {
                return None;
            }
            out.push_str(&value);
            rest = after;
        }
        out.push_str(rest);
        (out.len() <= MAX_EXPANSION).then_some(out)
    }
}

/// Whether a `set` command (or the `#!` line) turns errexit on (`Some(true)`), off
/// (`Some(false)`), or does not touch it.
fn errexit_change(line: &str) -> Option<bool> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let options: &[&str] = if line.starts_with("#!") {
        words.get(1..).unwrap_or(&[])
    } else if words.first() == Some(&"set") {
        &words[1..]
    } else {
        return None;
    };
    let mut change = None;
    let mut iter = options.iter().peekable();
    while let Some(word) = iter.next() {
        let (on, flags) = if let Some(f) = word.strip_prefix('-') {
            (true, f)
        } else if let Some(f) = word.strip_prefix('+') {
            (false, f)
        } else {
            continue;
        };
        if flags.ends_with('o') && iter.peek().is_some_and(|n| **n == "errexit") {
            change = Some(on);
        }
        if flags.chars().all(|c| c.is_ascii_alphabetic()) && flags.contains('e') {
            change = Some(on);
        }
    }
    change
}

fn find_loop(text: &str) -> Result<Loop, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut vars = Vars::default();
    let mut errexit = false;
    let mut found: Option<Loop> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(change) = errexit_change(line)
            && (i == 0 || !line.starts_with("#!"))
        {
            errexit = change;
        }
        if let Some((name, value)) = assignment(line) {
            // A value that cannot be worked out (an unknown variable, past the bound) leaves
            // the variable unknown: a word using it cannot be worked out either.
            vars.set(name, vars.expand(value));
        }
        if let Some((img, sha)) = while_read(line) {
            if found.is_some() {
                return Err("it has more than one `while read` loop".into());
            }
            // The body, up to `done < LIST`; backslash continuations joined.
            let mut body = String::new();
            let mut j = i + 1;
            let mut list = None;
            while j < lines.len() {
                let l = lines[j].trim();
                if let Some(target) = l.strip_prefix("done") {
                    let target = target.trim().strip_prefix('<').map(str::trim);
                    list = target.map(|t| vars.expand(t));
                    break;
                }
                match l.strip_suffix('\\') {
                    Some(cont) => {
                        body.push_str(cont);
                        body.push(' ');
                    }
                    None => {
                        body.push_str(l);
                        body.push('\n');
                    }
                }
                j += 1;
            }
            let list = match list {
                Some(Some(l)) if l.starts_with('/') => l,
                Some(_) => return Err("the loop reads a list whose path stowage cannot work out".into()),
                None => return Err("the `while read` loop does not end with `done < LIST`".into()),
            };
            let store_dir = copy_source(&body, &img, &sha, &vars)?;
            found = Some(Loop { list, store_dir, errexit, line: i as u32 + 1 });
            i = j;
        }
        i += 1;
    }
    found.ok_or_else(|| "it has no `while IFS=, read -r REF H; do skopeo copy ...; done < LIST` loop".into())
}

/// `NAME=value` (no command after it).
fn assignment(line: &str) -> Option<(&str, &str)> {
    let line = line.strip_prefix("export ").unwrap_or(line).trim();
    let (name, value) = line.split_once('=')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    (valid && !value.contains(char::is_whitespace) || valid && value.starts_with('"') && value.ends_with('"'))
        .then_some((name, value))
}

/// `while IFS="," read -r IMG SHA ; do` → (IMG, SHA).
fn while_read(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("while")?.trim_start();
    let rest = rest.strip_prefix("IFS=")?;
    let rest =
        ["\",\"", "',' ", "','", ", "].iter().find_map(|sep| rest.strip_prefix(sep.trim_end()))?.trim_start();
    let rest = rest.strip_prefix("read")?.trim_start();
    let rest = rest.strip_prefix("-r").unwrap_or(rest).trim_start();
    let rest = rest.split(';').next()?.trim();
    let rest = rest.strip_suffix("do").unwrap_or(rest).trim();
    let names: Vec<&str> = rest.split_whitespace().collect();
    match names.as_slice() {
        [img, sha] => Some((img.to_string(), sha.to_string())),
        _ => None,
    }
}

/// The directory of `dir:DIR/${SHA}` in the body's `skopeo copy ... containers-storage:${IMG}`.
fn copy_source(body: &str, img: &str, sha: &str, vars: &Vars) -> Result<String, String> {
    let copies: Vec<&str> = body.lines().filter(|l| l.split_whitespace().any(|w| w == "copy")).collect();
    let [command] = copies.as_slice() else {
        return Err("the loop body is not one `skopeo copy`".into());
    };
    if command.split_whitespace().next().is_none_or(|p| p.rsplit('/').next() != Some("skopeo")) {
        return Err("the loop body does not run `skopeo copy`".into());
    }
    let words: Vec<String> = command.split_whitespace().map(|w| w.replace(['"', '\''], "")).collect();
    let names = |name: &str| [format!("${{{name}}}"), format!("${name}")];
    let dest_ok = words.iter().any(|w| names(img).iter().any(|n| *w == format!("containers-storage:{n}")));
    if !dest_ok {
        return Err(format!("its `skopeo copy` does not write `containers-storage:${{{img}}}`"));
    }
    for w in &words {
        let Some(src) = w.strip_prefix("dir:") else { continue };
        for n in names(sha) {
            if let Some(dir) = src.strip_suffix(&n) {
                let dir =
                    vars.expand(dir).ok_or("its `dir:` source uses a variable stowage cannot work out")?;
                let dir = dir.trim_end_matches('/');
                if !dir.starts_with('/') {
                    return Err("its `dir:` source is not an absolute directory".into());
                }
                return Ok(dir.to_string());
            }
        }
    }
    Err(format!("its `skopeo copy` does not read `dir:DIR/${{{sha}}}`"))
}

/// The copy directory a line names: `DIR/H` as the script builds it.
pub fn copy_dir(store_dir: &str, hash: &str) -> String {
    join(store_dir, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &str = "#!/bin/bash\nset -eux -o pipefail\nwhile IFS=\",\" read -r img sha ; do\n    skopeo copy --preserve-digests \"dir:/usr/lib/containers/storage/${sha}\" \"containers-storage:${img}\"\ndone < /usr/lib/containers/storage/image-list.txt\n";

    #[test]
    fn the_documented_loop_is_recognised() {
        let l = understand(DOCUMENTED).recognised.expect("recognised");
        assert_eq!(l.list, "/usr/lib/containers/storage/image-list.txt");
        assert_eq!(l.store_dir, "/usr/lib/containers/storage");
        assert!(l.errexit);
        assert_eq!(l.line, 3);
        let no_e = DOCUMENTED.replace("set -eux -o pipefail\n", "");
        assert!(!understand(&no_e).recognised.unwrap().errexit);
        let off = DOCUMENTED.replace("set -eux -o pipefail\n", "set -e\nset +e\n");
        assert!(!understand(&off).recognised.unwrap().errexit);
    }

    #[test]
    fn variables_that_double_stop_at_the_expansion_bound() {
        // Forty doublings of 16 bytes: 16 TiB if expanded (fuzz/regressions/copy_script).
        let mut script = String::from("#!/bin/bash\nv0=xxxxxxxxxxxxxxxx\n");
        for i in 1..=40 {
            script.push_str(&format!("v{i}=$v{}$v{}\n", i - 1, i - 1));
        }
        let list = |var: &str| DOCUMENTED.replace("image-list.txt", &format!("${{{var}}}"));
        let model = understand(&format!("{script}{}", list("v40")));
        assert!(model.recognised.is_err(), "{model:?}");
        // Below the bound the same variables still expand: v8 is 4096 bytes.
        let l = understand(&format!("{script}{}", list("v7"))).recognised.expect("recognised");
        assert_eq!(l.list, format!("/usr/lib/containers/storage/{}", "x".repeat(2048)));
    }

    #[test]
    fn the_last_assignment_of_a_variable_wins() {
        let script = DOCUMENTED
            .replace("set -eux -o pipefail\n", "D=/a\nD=/usr/lib/containers/storage\n")
            .replace("/usr/lib/containers/storage/image-list.txt", "$D/list.txt");
        assert_eq!(
            understand(&script).recognised.expect("recognised").list,
            "/usr/lib/containers/storage/list.txt"
        );
    }

    #[test]
    fn the_test_blueprint_shape_with_variables_and_a_function() {
        let script = r#"#!/bin/bash
set -euo pipefail
STORAGE_DIR=/usr/lib/containers/storage
IMAGE_LIST_FILE="${STORAGE_DIR}/image-list.txt"

copy_images() {
    while IFS="," read -r img sha ; do
        skopeo copy --retry-times 3 --preserve-digests \
            "dir:${STORAGE_DIR}/${sha}" \
            "containers-storage:${img}"
    done < "${IMAGE_LIST_FILE}"
}

case "$1" in
    copy) copy_images ;;
    *) exit 1 ;;
esac
"#;
        let l = understand(script).recognised.expect("recognised");
        assert_eq!(l.list, "/usr/lib/containers/storage/image-list.txt");
        assert_eq!(l.store_dir, "/usr/lib/containers/storage");
        assert!(l.errexit);
    }

    #[test]
    fn other_shapes_say_why() {
        assert!(
            understand("#!/bin/sh\nfor d in /usr/lib/containers/storage/*; do :; done\n").recognised.is_err()
        );
        let other_dest = DOCUMENTED.replace("containers-storage:${img}", "docker://x/${img}");
        assert!(understand(&other_dest).recognised.unwrap_err().contains("containers-storage"));
    }

    #[test]
    fn read_keeps_what_bash_keeps() {
        let lines = read_lines("a,b\n\nx,y,z\n c , d \nnocomma\na,b,\nh,i\r\nlast,h");
        let pairs: Vec<(&str, &str, bool)> =
            lines.iter().map(|l| (l.reference.as_str(), l.hash.as_str(), l.runs)).collect();
        assert_eq!(
            pairs,
            [
                ("a", "b", true),
                ("", "", true),
                ("x", "y,z", true),
                (" c ", " d ", true),
                ("nocomma", "", true),
                ("a", "b", true),
                ("h", "i\r", true),
                ("last", "h", false),
            ]
        );
        assert!(read_lines("").is_empty());
    }

    #[test]
    fn errexit_stops_at_the_first_failure() {
        let lines = read_lines("a,1\nb,2\nc,3\n");
        let no = || Err(CopyFailure::new(FailKind::Incomplete, "no"));
        let fail_b = |l: &ReadLine| if l.reference == "b" { no() } else { Ok(()) };
        let r = run(lines.clone(), true, fail_b);
        assert_eq!(r.stopped_at, Some(2));
        assert!(r.fails);
        assert_eq!(r.lines[2].1, LineOutcome::NotReached(2));
        // Without errexit the loop goes on, and ends with the status of its last copy.
        let r = run(lines.clone(), false, fail_b);
        assert_eq!((r.stopped_at, r.fails), (None, false));
        assert_eq!(r.lines[2].1, LineOutcome::Copied);
        let fail_c = |l: &ReadLine| if l.reference == "c" { no() } else { Ok(()) };
        assert!(run(lines, false, fail_c).fails);
        // A last line without a newline is never copied, and the script still succeeds.
        let r = run(read_lines("a,1\nb,2"), true, |_| Ok(()));
        assert_eq!(r.lines[1].1, LineOutcome::NoNewline);
        assert!(!r.fails);
    }

    #[test]
    fn drop_in_prefixes() {
        let d = "[Service]\nExecStartPre=-/usr/bin/microshift-copy-images copy\n";
        let e = ExecLine::find("x.conf", d, "/usr/bin/microshift-copy-images").unwrap();
        assert!(e.ignore_failure && e.pre);
        assert_eq!(e.line, 2);
        let d = "[Service]\nExecStartPre=/usr/bin/microshift-copy-images\n";
        assert!(!ExecLine::find("x.conf", d, "/usr/bin/microshift-copy-images").unwrap().ignore_failure);
        assert!(
            ExecLine::find(
                "x.conf",
                "[Service]\nExecStartPre=/bin/true\n",
                "/usr/bin/microshift-copy-images"
            )
            .is_none()
        );
    }

    #[test]
    fn errexit_forms() {
        assert_eq!(errexit_change("set -e"), Some(true));
        assert_eq!(errexit_change("set -euo pipefail"), Some(true));
        assert_eq!(errexit_change("set -o errexit"), Some(true));
        assert_eq!(errexit_change("set +e"), Some(false));
        assert_eq!(errexit_change("set -x"), None);
        assert_eq!(errexit_change("#!/bin/bash -e"), Some(true));
        assert_eq!(errexit_change("echo set -e"), None);
    }
}
