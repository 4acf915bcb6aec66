//! The booted device, played by the real tools: the image's own copy script run by bash with
//! real skopeo, against a containers-storage configured from the image's effective
//! storage.conf, then containers/image asked for every reference.
//!
//! What is simulated and how:
//! - **No systemd runs here.** Whether MicroShift starts is read from the `microshift.service`
//!   drop-ins by systemd.service(5)'s rule: the `ExecStartPre=` commands run in order, and the
//!   first one that fails without a `-` prefix fails the unit (later ones never run). A
//!   command whose file is missing or not executable fails as systemd's exec would (203/EXEC).
//! - The command runs with **bash** (whatever its `#!`), in a private mount namespace
//!   (`unshare -m`) where the image's `/usr` is bound read-only onto itself, as bootc mounts it.
//!   The store paths in the script (`/usr/lib/containers/storage`,
//!   `/usr/lib/containers-image-cache`) are rebased into the unpacked tree; nothing else in the
//!   script changes. `skopeo` is found through a wrapper that logs each call and runs the real
//!   one with `--override-arch` of the target (so a manifest list resolves as on the device).
//! - The **storage.conf** is the image's effective one (`/etc/containers/storage.conf`, else
//!   `/usr/share/containers/storage.conf`; they do not merge; neither: the built-in defaults,
//!   whose driver is overlay on this file system) with `graphroot`/`runroot` in a temporary
//!   directory and `additionalimagestores` rebased into the unpacked tree. The driver is the
//!   image's: additional stores are read with it. Where overlay does not work (some nested
//!   containers) the writable store falls back to vfs when no additional store is listed (the
//!   driver of the writable store does not change what a copy yields); with additional stores
//!   the case cannot be judged and says so.
//! - A reference is **present** when `skopeo inspect containers-storage:REF` finds it (short
//!   names through the image's `unqualified-search-registries`, first found wins, as CRI-O
//!   looks them up locally), its architecture is the target's, and — when additional stores
//!   are configured — every layer can be read back (`skopeo copy containers-storage:REF dir:`),
//!   as creating a container needs them (what skopeo copied into the writable store during the
//!   boot is complete by construction).
//! - The writable store starts **empty**: the device after an upgrade or an unclean shutdown
//!   (a bootc image's `/var` is copied at install only, and CRI-O wipes its store after a power
//!   loss), so images carried in the image's `/var/lib/containers/storage` are not present.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The real tools the oracle needs, found once.
#[derive(Clone, Debug)]
pub struct Tools {
    pub skopeo: PathBuf,
    pub umoci: PathBuf,
    /// Whether containers/storage's overlay driver works here.
    pub overlay: bool,
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn run_quiet(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Why the oracle cannot run here.
#[derive(Debug)]
pub enum Unavailable {
    /// A tool is not installed (a failure in CI, which installs them).
    Missing(String),
    /// Installed, but not usable (not root, no mount namespaces): a SKIP everywhere.
    Unusable(String),
}

/// The tools, or why the oracle cannot run here.
pub fn tools() -> Result<Tools, Unavailable> {
    let mut missing = Vec::new();
    for tool in ["skopeo", "umoci", "unshare", "bash", "mount", "timeout"] {
        if which(tool).is_none() {
            missing.push(tool);
        }
    }
    if !missing.is_empty() {
        return Err(Unavailable::Missing(format!(
            "missing {} (.ci/run installs skopeo, umoci, util-linux)",
            missing.join(", ")
        )));
    }
    let unusable = Unavailable::Unusable;
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { geteuid() };
    if uid != 0 {
        return Err(unusable(format!(
            "needs root (containers-storage and mount namespaces), running as uid {uid}"
        )));
    }
    let probe = tempfile::tempdir().map_err(|e| unusable(e.to_string()))?;
    let dir = probe.path().join("ro");
    std::fs::create_dir(&dir).map_err(|e| unusable(e.to_string()))?;
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' && ! touch '{d}/x' 2>/dev/null",
        d = dir.display()
    );
    run_quiet(Command::new("unshare").args(["-m", "bash", "-c", &script]))
        .map_err(|e| unusable(format!("`unshare -m` with a read-only bind mount does not work here: {e}")))?;
    let skopeo = which("skopeo").unwrap();
    let umoci = which("umoci").unwrap();
    run_quiet(Command::new(&skopeo).arg("--version"))
        .map_err(|e| unusable(format!("skopeo does not run: {e}")))?;
    let overlay = overlay_works(&skopeo, probe.path());
    Ok(Tools { skopeo, umoci, overlay })
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

/// Whether skopeo can write an overlay store here (in a namespace, so no mount survives).
fn overlay_works(skopeo: &Path, dir: &Path) -> bool {
    let oci = dir.join("oci");
    let script = format!(
        "set -e; umoci init --layout '{o}'; umoci new --image '{o}:x'; \
         '{s}' copy -q 'oci:{o}:x' 'containers-storage:[overlay@{d}/g+{d}/r]localhost/probe:1'",
        o = oci.display(),
        s = skopeo.display(),
        d = dir.display()
    );
    run_quiet(Command::new("unshare").args(["-m", "bash", "-c", &script])).is_ok()
}

/// A path inside the image, symbolic links followed inside it (an absolute link target is
/// taken from the image's root, never the host's).
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<String> = path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    parts.reverse();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = parts.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = root.join(resolved.join("/")).join(&part);
        match std::fs::read_link(&candidate) {
            Ok(target) if hops < 40 => {
                hops += 1;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for p in target.split('/').filter(|p| !p.is_empty()).rev() {
                    parts.push(p.to_string());
                }
            }
            _ => resolved.push(part),
        }
    }
    root.join(resolved.join("/"))
}

/// One `ExecStartPre=` of microshift.service, as systemd would run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecStartPre {
    /// A `-` prefix: a failure is ignored.
    pub ignore_failure: bool,
    pub path: String,
    pub args: Vec<String>,
    /// The unit file or drop-in it comes from.
    pub from: String,
}

/// Split a systemd command line into words (double and single quotes, backslash escapes).
fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The `ExecStartPre=` commands of microshift.service in the image, in the order systemd runs
/// them: the unit file (first of /etc, /run, /usr/lib), then the drop-ins of
/// `microshift.service.d/` sorted by file name, a name in /etc hiding the same name in /run and
/// /usr/lib. An empty `ExecStartPre=` clears the list.
pub fn exec_start_pre(root: &Path) -> Vec<ExecStartPre> {
    const DIRS: [&str; 3] = ["/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system"];
    let mut files: Vec<String> = Vec::new();
    if let Some(unit) =
        DIRS.iter().map(|d| format!("{d}/microshift.service")).find(|p| in_root(root, p).is_file())
    {
        files.push(unit);
    }
    let mut drop_ins: BTreeMap<String, String> = BTreeMap::new();
    for dir in DIRS {
        let dir = format!("{dir}/microshift.service.d");
        let Ok(entries) = std::fs::read_dir(in_root(root, &dir)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".conf") {
                drop_ins.entry(name.clone()).or_insert(format!("{dir}/{name}"));
            }
        }
    }
    files.extend(drop_ins.into_values());
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(in_root(root, &file)) else { continue };
        let mut section = String::new();
        let mut logical = String::new();
        for raw in text.lines() {
            // A trailing backslash continues the line.
            if let Some(stripped) = raw.strip_suffix('\\') {
                logical.push_str(stripped);
                logical.push(' ');
                continue;
            }
            logical.push_str(raw);
            let line = std::mem::take(&mut logical);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            if section != "[Service]" {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            if key.trim() != "ExecStartPre" {
                continue;
            }
            let value = value.trim();
            if value.is_empty() {
                out.clear();
                continue;
            }
            let mut ignore_failure = false;
            let mut rest = value;
            while let Some(c) = rest.chars().next().filter(|c| "-@:+!".contains(*c)) {
                ignore_failure |= c == '-';
                rest = &rest[1..];
            }
            let mut words = split_words(rest);
            if words.is_empty() {
                continue;
            }
            let path = words.remove(0);
            out.push(ExecStartPre { ignore_failure, path, args: words, from: file.clone() });
        }
    }
    out
}

/// The image's effective storage.conf: (in-image path, text), or `None` for the defaults.
pub fn effective_storage_conf(root: &Path) -> Option<(String, String)> {
    ["/etc/containers/storage.conf", "/usr/share/containers/storage.conf"].iter().find_map(|p| {
        let file = in_root(root, p);
        file.is_file().then(|| (p.to_string(), std::fs::read_to_string(&file).unwrap_or_default()))
    })
}

/// The storage configuration of one boot.
#[derive(Clone, Debug)]
pub struct Storage {
    /// The rebased storage.conf skopeo reads.
    pub conf: String,
    /// The driver of the image's configuration.
    pub driver: String,
    /// The additional image stores, as the image names them.
    pub stores: Vec<String>,
}

/// The image's effective storage.conf with graphroot/runroot under `work` and additional
/// stores rebased into `root`. `Err` when it cannot be judged here.
pub fn storage(root: &Path, work: &Path, overlay: bool) -> Result<Storage, String> {
    let mut table: toml::Table = match effective_storage_conf(root) {
        Some((path, text)) => text.parse().map_err(|e| format!("{path} is not TOML ({e}): not judged"))?,
        None => toml::Table::new(),
    };
    let storage =
        table.entry("storage").or_insert_with(|| toml::Value::Table(toml::Table::new())).as_table_mut();
    let Some(storage) = storage else { return Err("[storage] is not a table: not judged".into()) };
    let driver =
        storage.get("driver").and_then(|d| d.as_str()).filter(|d| !d.is_empty()).unwrap_or("overlay");
    let driver = driver.to_string();
    let mut stores = Vec::new();
    if let Some(options) = storage.get_mut("options").and_then(|o| o.as_table_mut())
        && let Some(list) = options.get_mut("additionalimagestores").and_then(|l| l.as_array_mut())
    {
        for item in list.iter_mut() {
            if let Some(path) = item.as_str() {
                stores.push(path.to_string());
                if path.starts_with('/') {
                    *item = toml::Value::String(in_root(root, path).to_string_lossy().into_owned());
                }
            }
        }
    }
    let graph_driver = if driver == "overlay" && !overlay {
        if !stores.is_empty() {
            return Err("the overlay driver does not work here and the image reads additional stores with it: not judged".into());
        }
        "vfs".to_string()
    } else {
        driver.clone()
    };
    storage.insert("driver".into(), toml::Value::String(graph_driver));
    storage
        .insert("graphroot".into(), toml::Value::String(work.join("graph").to_string_lossy().into_owned()));
    storage.insert("runroot".into(), toml::Value::String(work.join("run").to_string_lossy().into_owned()));
    storage.remove("rootless_storage_path");
    if let Some(imagestore) = storage.get("imagestore").and_then(|i| i.as_str()).map(str::to_string) {
        storage.insert(
            "imagestore".into(),
            toml::Value::String(in_root(root, &imagestore).to_string_lossy().into()),
        );
    }
    let conf = toml::to_string(&table).map_err(|e| e.to_string())?;
    Ok(Storage { conf, driver, stores })
}

/// `unqualified-search-registries` of the image's registries.conf and its drop-ins (a later
/// file's value wins), as containers/image reads them.
pub fn search_registries(root: &Path) -> Vec<String> {
    let mut files = vec![in_root(root, "/etc/containers/registries.conf")];
    if let Ok(entries) = std::fs::read_dir(in_root(root, "/etc/containers/registries.conf.d")) {
        let mut more: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        more.sort();
        files.extend(more);
    }
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let Ok(table) = text.parse::<toml::Table>() else { continue };
        let list = table.get("unqualified-search-registries").or_else(|| {
            table.get("registries").and_then(|r| r.get("search")).and_then(|s| s.get("registries"))
        });
        if let Some(list) = list.and_then(|l| l.as_array()) {
            out = list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        }
    }
    out
}

/// Whether a reference as written is a short name (its first component is no registry).
pub fn is_short_name(reference: &str) -> bool {
    match reference.split_once('/') {
        None => true,
        Some((first, _)) => !(first.contains('.') || first.contains(':') || first == "localhost"),
    }
}

/// The names CRI-O tries in the store for a reference: a short name through the search
/// registries, in order; else the resolved name.
pub fn candidates(written: &str, resolved: &str, search: &[String]) -> Vec<String> {
    if is_short_name(written) && !search.is_empty() {
        search.iter().map(|r| format!("{}/{}", r.trim_end_matches('/'), written)).collect()
    } else {
        vec![resolved.to_string()]
    }
}

/// skopeo's architecture names.
pub fn go_arch(arch: &str) -> &str {
    let arch = arch.rsplit_once('/').map_or(arch, |(os_arch, _)| os_arch);
    let arch = arch.split('/').next_back().unwrap_or(arch);
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// One command the boot ran (or could not run), and its exit status.
#[derive(Clone, Debug)]
pub struct CommandRun {
    pub command: String,
    pub ignore_failure: bool,
    pub status: i32,
}

/// One skopeo call of the copy script.
#[derive(Clone, Debug)]
pub struct CopyRun {
    pub source: String,
    pub destination: String,
    pub status: i32,
}

/// Whether a reference is in the booted device's store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Found, the target's architecture, its layers readable: under this name, this digest.
    Present { name: String, digest: String },
    /// Not usable, and why.
    Absent(String),
}

impl Presence {
    pub fn is_present(&self) -> bool {
        matches!(self, Presence::Present { .. })
    }
}

/// The booted device.
#[derive(Clone, Debug, Default)]
pub struct Boot {
    pub commands: Vec<CommandRun>,
    /// systemd.service(5): no `ExecStartPre=` without `-` failed.
    pub microshift_starts: bool,
    pub copies: Vec<CopyRun>,
    /// resolved reference -> presence.
    pub lookups: BTreeMap<String, Presence>,
    /// What the commands printed (bash -x traces, skopeo errors).
    pub log: String,
    pub storage_driver: String,
    pub additional_stores: Vec<String>,
}

impl Boot {
    /// One line on why MicroShift does (not) start.
    pub fn startup(&self) -> String {
        if self.commands.is_empty() {
            return "no ExecStartPre= in microshift.service".into();
        }
        let runs: Vec<String> = self
            .commands
            .iter()
            .map(|c| format!("{}{} -> {}", if c.ignore_failure { "-" } else { "" }, c.command, c.status))
            .collect();
        format!(
            "{} (ExecStartPre: {})",
            if self.microshift_starts { "starts" } else { "fails" },
            runs.join(", ")
        )
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The store paths a copy script names, rebased into the unpacked tree.
const SCRIPT_PATHS: [&str; 2] = ["/usr/lib/containers/storage", "/usr/lib/containers-image-cache"];

/// Boot the image at `root` for `arch` in `work` and look up every `(written, resolved)`
/// reference. `Err` when the harness cannot judge the case.
pub fn boot(
    tools: &Tools,
    root: &Path,
    arch: &str,
    references: &[(String, String)],
    work: &Path,
) -> Result<Boot, String> {
    let arch = go_arch(arch).to_string();
    let root = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
    std::fs::create_dir_all(work.join("bin")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(work.join("tmp")).map_err(|e| e.to_string())?;
    let storage = storage(&root, work, tools.overlay)?;
    let conf = work.join("storage.conf");
    std::fs::write(&conf, &storage.conf).map_err(|e| e.to_string())?;

    // The ExecStartPre= commands, each a small script running the image's file with bash.
    let mut plan = String::new();
    let mut commands = Vec::new();
    for (n, cmd) in exec_start_pre(&root).iter().enumerate() {
        let ignore = u8::from(cmd.ignore_failure);
        let file = in_root(&root, &cmd.path);
        let meta = std::fs::metadata(&file);
        let display =
            std::iter::once(cmd.path.clone()).chain(cmd.args.iter().cloned()).collect::<Vec<_>>().join(" ");
        commands.push(CommandRun { command: display, ignore_failure: cmd.ignore_failure, status: -1 });
        match meta {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {
                let text = std::fs::read(&file).map_err(|e| e.to_string())?;
                let mut text = String::from_utf8(text)
                    .map_err(|_| format!("{} is not a text script: not judged", cmd.path))?;
                for p in SCRIPT_PATHS {
                    text = text.replace(p, &format!("{}{p}", root.display()));
                }
                let script = work.join(format!("script-{n}"));
                std::fs::write(&script, text).map_err(|e| e.to_string())?;
                let mut line = format!("exec bash {}", shell_quote(&script.to_string_lossy()));
                for a in &cmd.args {
                    line.push(' ');
                    line.push_str(&shell_quote(a));
                }
                std::fs::write(work.join(format!("cmd-{n}.sh")), line + "\n").map_err(|e| e.to_string())?;
                writeln!(plan, "run {n} {ignore}").unwrap();
            }
            // systemd cannot execute it: 203/EXEC.
            _ => writeln!(plan, "fail {n} 203 {ignore}").unwrap(),
        }
    }
    std::fs::write(work.join("commands"), plan).map_err(|e| e.to_string())?;

    // The names to look up, short names through the image's search registries.
    let search = search_registries(&root);
    let mut names: Vec<(String, Vec<String>)> = Vec::new();
    let mut refs_file = String::new();
    let mut id = 0;
    for (written, resolved) in references {
        if names.iter().any(|(r, _)| r == resolved) {
            continue;
        }
        let mut ids = Vec::new();
        for c in candidates(written, resolved, &search) {
            writeln!(refs_file, "{id} {c}").unwrap();
            ids.push(c);
            id += 1;
        }
        names.push((resolved.clone(), ids));
    }
    std::fs::write(work.join("refs"), refs_file).map_err(|e| e.to_string())?;

    let log = work.join("skopeo.log");
    let wrapper = format!(
        "#!/bin/bash\n# The real skopeo, for the target architecture, each call logged.\n\
         {s} --override-arch {arch} \"$@\"\nstatus=$?\n\
         {{ printf '%s' \"$status\"; for a in \"$@\"; do printf '\\x1f%s' \"$a\"; done; printf '\\n'; }} >> {l}\n\
         exit $status\n",
        s = shell_quote(&tools.skopeo.to_string_lossy()),
        l = shell_quote(&log.to_string_lossy()),
    );
    let wrapper_path = work.join("bin/skopeo");
    std::fs::write(&wrapper_path, wrapper).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&wrapper_path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;

    let boot_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/boot.sh");
    let out = Command::new("timeout")
        .arg("600")
        .args(["unshare", "-m", "bash"])
        .arg(&boot_sh)
        .arg(&root)
        .arg(work)
        .arg(&arch)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                work.join("bin").display()
            ),
        )
        .env("HOME", work)
        .env("TMPDIR", work.join("tmp"))
        .env("CONTAINERS_STORAGE_CONF", &conf)
        .env("SKOPEO_REAL", &tools.skopeo)
        .env("READ_LAYERS", if storage.stores.is_empty() { "0" } else { "1" })
        .output()
        .map_err(|e| format!("boot.sh: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "boot.sh exited {:?}: {}{}",
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut boot = Boot {
        log: std::fs::read_to_string(work.join("boot.log")).unwrap_or_default(),
        storage_driver: storage.driver,
        additional_stores: storage.stores,
        ..Boot::default()
    };
    let mut ref_status: BTreeMap<usize, (i32, Option<i32>)> = BTreeMap::new();
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["exec", n, status] => {
                let n: usize = n.parse().unwrap();
                commands[n].status = status.parse().unwrap();
                boot.commands.push(commands[n].clone());
            }
            ["ref", id, inspect, copy] => {
                ref_status.insert(id.parse().unwrap(), (inspect.parse().unwrap(), copy.parse().ok()));
            }
            _ => return Err(format!("boot.sh printed {line:?}")),
        }
    }
    boot.microshift_starts = boot.commands.iter().all(|c| c.status == 0 || c.ignore_failure);
    boot.copies = read_copy_log(&log);

    let mut id = 0;
    for (resolved, candidates) in names {
        let mut presence: Option<Presence> = None;
        for name in candidates {
            let this = id;
            id += 1;
            if presence.as_ref().is_some_and(Presence::is_present) {
                continue;
            }
            let p = presence_of(work, this, &name, &arch, ref_status.get(&this).copied());
            if presence.is_none() || p.is_present() {
                presence = Some(p);
            }
        }
        boot.lookups.insert(resolved, presence.unwrap_or(Presence::Absent("nothing to look up".into())));
    }
    Ok(boot)
}

/// The gist of skopeo's last error line: its message, without the reference it repeats.
fn gist(text: &str) -> String {
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let msg = line.split_once("msg=\"").map_or(line, |(_, m)| m.trim_end_matches('"'));
    let msg = msg.replace("\\\"", "\"");
    if msg.contains("does not resolve to an image ID") {
        return "no such image".into();
    }
    let msg = match msg.find("\": ") {
        Some(i) if msg.starts_with("Error parsing image name") => msg[i + 3..].to_string(),
        _ => msg,
    };
    if msg.len() > 200 { format!("{}…", &msg[..msg.floor_char_boundary(200)]) } else { msg }
}

fn presence_of(
    work: &Path,
    id: usize,
    name: &str,
    arch: &str,
    status: Option<(i32, Option<i32>)>,
) -> Presence {
    let Some((inspect, copy)) = status else { return Presence::Absent("not looked up".into()) };
    if inspect != 0 {
        let err = std::fs::read_to_string(work.join(format!("inspect-{id}.err"))).unwrap_or_default();
        return Presence::Absent(format!("not found: {}", gist(&err)));
    }
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(work.join(format!("inspect-{id}.json"))).unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    let found_arch = json["Architecture"].as_str().unwrap_or("");
    let digest = json["Digest"].as_str().unwrap_or("").to_string();
    if go_arch(found_arch) != arch {
        return Presence::Absent(format!("found, but built for {found_arch}"));
    }
    if copy != Some(0) {
        let err = std::fs::read_to_string(work.join(format!("copy-{id}.err"))).unwrap_or_default();
        return Presence::Absent(format!("found, but its layers cannot be read ({})", gist(&err)));
    }
    Presence::Present { name: name.to_string(), digest }
}

fn read_copy_log(path: &Path) -> Vec<CopyRun> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split('\x1f');
        let status: i32 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
        let args: Vec<&str> = fields.collect();
        let Some(pos) = args.iter().position(|a| *a == "copy") else { continue };
        let positional: Vec<&str> = args[pos + 1..].iter().copied().filter(|a| !a.starts_with('-')).collect();
        if positional.len() >= 2 {
            out.push(CopyRun {
                source: positional[positional.len() - 2].to_string(),
                destination: positional[positional.len() - 1].to_string(),
                status,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"/usr/bin/x copy "a b" 'c' d\ e"#),
            ["/usr/bin/x", "copy", "a b", "c", "d e"]
        );
    }
}
