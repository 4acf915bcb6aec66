//! Seeded mutations of a good image (`fixtures/audit/images/complete`): the ways a built image
//! goes wrong between the Containerfile and the device. Each case draws 1–3 mutations from its
//! own generator (seed and case number), so any case can be replayed alone.

use super::device::{Tools, exec_start_pre, in_root};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// SplitMix64: small, seedable, good enough to draw mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator of case `index` under `seed`.
    pub fn for_case(seed: u64, index: usize) -> Rng {
        let mut r = Rng(seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The in-image directory of the `dir:` copies and their list.
pub const STORE: &str = "usr/lib/containers/storage";
/// Where [`Mutation::ToStore`] puts an additional containers-storage store.
pub const ADDITIONAL_STORE: &str = "/usr/share/containers/storage";

/// One copy of the good image: its list line's reference and H.
#[derive(Clone, Debug)]
pub struct Entry {
    pub reference: String,
    pub h: String,
}

impl Entry {
    /// `web:1.2`, `ocp-v4.0-art-dev@sha256:74d3b8f5`: enough to tell the copies apart.
    pub fn label(&self) -> String {
        let last = self.reference.rsplit('/').next().unwrap_or(&self.reference);
        match last.split_once("@sha256:") {
            Some((name, hex)) => format!("{name}@{}", &hex[..8.min(hex.len())]),
            None => last.to_string(),
        }
    }
}

/// The good image and what the mutations draw from.
#[derive(Clone, Debug)]
pub struct Base {
    pub root: PathBuf,
    pub entries: Vec<Entry>,
    /// A state of the same image whose copies of some entries are built for another
    /// architecture (`fixtures/audit/images/wrong-arch`), and those entries.
    pub foreign: PathBuf,
    pub foreign_entries: Vec<usize>,
}

impl Base {
    pub fn new(root: &Path, foreign: &Path) -> Base {
        let list =
            std::fs::read_to_string(root.join(STORE).join("image-list.txt")).expect("the good image's list");
        let entries: Vec<Entry> = list
            .lines()
            .filter_map(|l| l.split_once(','))
            .map(|(r, h)| Entry { reference: r.to_string(), h: h.to_string() })
            .collect();
        let foreign_entries = (0..entries.len())
            .filter(|&i| {
                let manifest =
                    |r: &Path| std::fs::read(r.join(STORE).join(&entries[i].h).join("manifest.json")).ok();
                manifest(foreign).is_some() && manifest(foreign) != manifest(root)
            })
            .collect();
        Base { root: root.to_path_buf(), entries, foreign: foreign.to_path_buf(), foreign_entries }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HChange {
    /// sha256 of REF without the newline (`echo -n`); the directory keeps its name.
    NoNewline,
    /// The same, the directory renamed to match (a consistently wrong H).
    NoNewlineRenamed,
    /// The last hex digit changed (a typo).
    Typo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locks {
    Images,
    Layers,
    Both,
}

/// One way the built image differs from the good one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Delete one blob (sorted file names, manifest and version aside) of a copy.
    DropBlob {
        entry: usize,
        blob: usize,
    },
    ChangeH {
        entry: usize,
        how: HChange,
    },
    /// Replace a copy by another image's copy: its manifest is no longer the listed digest.
    RepointDigest {
        entry: usize,
        from: usize,
    },
    /// Shuffle the list's lines.
    Reorder {
        seed: u64,
    },
    /// Insert a copy of an entry's line at a position.
    Duplicate {
        entry: usize,
        at: usize,
    },
    DropFinalNewline,
    BlankLine {
        at: usize,
    },
    /// The list saved with CRLF line endings.
    CrlfLineEndings,
    /// Delete a copy's directory (a whiteout in a later layer).
    WhiteoutCopy {
        entry: usize,
    },
    /// Replace a copy by the same image built for another architecture.
    ForeignArch {
        entry: usize,
    },
    /// Remove an entry's line(s); the directory stays.
    Unlist {
        entry: usize,
    },
    /// `ExecStartPre=-/usr/bin/microshift-copy-images`.
    DashPrefix,
    /// Drop `e` from the script's `set` (or the whole `set` line).
    DropSetE {
        whole_line: bool,
    },
    ScriptNotExecutable,
    /// Delete the microshift.service drop-in.
    RemoveDropIn,
    /// Move the drop-ins to `/etc/systemd/system/microshift.service.d` (`reset`: leave them,
    /// and add `zz-reset.conf` there with an empty `ExecStartPre=`, which clears them).
    DropInInEtc {
        reset: bool,
    },
    /// Move an entry from a `dir:` copy to an additional containers-storage store written by
    /// skopeo with `driver`, listed in /etc/containers/storage.conf (the older method).
    ToStore {
        entry: usize,
        driver: &'static str,
    },
    /// Flip the driver of /etc/containers/storage.conf (overlay <-> vfs; none: write vfs).
    ChangeDriver,
    /// Empty `additionalimagestores` (or delete the storage.conf).
    UnlistStore {
        delete_conf: bool,
    },
    RemoveLocks {
        which: Locks,
    },
    /// The worker's manifest names its image by a short name (`acme/worker:2.0`), with
    /// `quay.io` first among the search registries or not at all.
    ShortName {
        search_quay: bool,
    },
    /// The worker's short name, with `quay.io` searched only by a drop-in under
    /// `/usr/share/containers/registries.conf.d`, which containers/image does not read.
    SearchInUsrShare,
    /// /etc/containers/policy.json with a global `reject` default (`allow_dir`: and a `dir`
    /// transport default that accepts anything).
    PolicyReject {
        allow_dir: bool,
    },
}

impl Mutation {
    /// The kind, for grouping disagreements.
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::DropBlob { .. } => "drop-blob",
            Mutation::ChangeH { .. } => "change-h",
            Mutation::RepointDigest { .. } => "repoint-digest",
            Mutation::Reorder { .. } => "reorder",
            Mutation::Duplicate { .. } => "duplicate-line",
            Mutation::DropFinalNewline => "no-final-newline",
            Mutation::BlankLine { .. } => "blank-line",
            Mutation::CrlfLineEndings => "crlf",
            Mutation::WhiteoutCopy { .. } => "whiteout-copy",
            Mutation::ForeignArch { .. } => "foreign-arch",
            Mutation::Unlist { .. } => "unlist-copy",
            Mutation::DashPrefix => "dash-prefix",
            Mutation::DropSetE { .. } => "drop-set-e",
            Mutation::ScriptNotExecutable => "script-not-executable",
            Mutation::RemoveDropIn => "no-drop-in",
            Mutation::DropInInEtc { .. } => "drop-in-in-etc",
            Mutation::ToStore { .. } => "to-store",
            Mutation::ChangeDriver => "change-driver",
            Mutation::UnlistStore { .. } => "unlist-store",
            Mutation::RemoveLocks { .. } => "remove-locks",
            Mutation::ShortName { .. } => "short-name",
            Mutation::SearchInUsrShare => "search-in-usr-share",
            Mutation::PolicyReject { .. } => "policy-reject",
        }
    }

    pub fn describe(&self, base: &Base) -> String {
        let e = |i: &usize| base.entries[*i].label();
        match self {
            Mutation::DropBlob { entry, blob } => format!("drop-blob({}, blob {blob})", e(entry)),
            Mutation::ChangeH { entry, how } => format!("change-h({}, {how:?})", e(entry)),
            Mutation::RepointDigest { entry, from } => {
                format!("repoint-digest({} <- copy of {})", e(entry), e(from))
            }
            Mutation::Reorder { seed } => format!("reorder({seed:#x})"),
            Mutation::Duplicate { entry, at } => format!("duplicate-line({} at {at})", e(entry)),
            Mutation::BlankLine { at } => format!("blank-line(at {at})"),
            Mutation::WhiteoutCopy { entry } => format!("whiteout-copy({})", e(entry)),
            Mutation::ForeignArch { entry } => format!("foreign-arch({})", e(entry)),
            Mutation::Unlist { entry } => format!("unlist-copy({})", e(entry)),
            Mutation::DropSetE { whole_line } => {
                format!("drop-set-e({})", if *whole_line { "whole set line" } else { "-e flag" })
            }
            Mutation::ToStore { entry, driver } => format!("to-store({}, {driver})", e(entry)),
            Mutation::UnlistStore { delete_conf } => {
                format!("unlist-store({})", if *delete_conf { "delete storage.conf" } else { "empty list" })
            }
            Mutation::RemoveLocks { which } => format!("remove-locks({which:?})"),
            Mutation::PolicyReject { allow_dir } => {
                format!("policy-reject({})", if *allow_dir { "dir: accepted" } else { "dir: by default" })
            }
            Mutation::DropInInEtc { reset } => {
                format!("drop-in-in-etc({})", if *reset { "empty ExecStartPre= after it" } else { "moved" })
            }
            Mutation::ShortName { search_quay } => {
                format!("short-name(worker{})", if *search_quay { ", quay.io searched first" } else { "" })
            }
            other => other.kind().to_string(),
        }
    }

    fn needs_store(&self) -> bool {
        matches!(self, Mutation::UnlistStore { .. } | Mutation::RemoveLocks { .. })
    }
}

/// A mutation drawn from `rng` (weights favour the brief's list; the store mutations come with
/// a store, see [`generate`]).
fn draw(rng: &mut Rng, base: &Base) -> Mutation {
    let n = base.entries.len();
    let entry = |rng: &mut Rng| rng.below(n);
    let menu: [(u32, u8); 23] = [
        (3, 0),
        (3, 1),
        (3, 2),
        (2, 3),
        (2, 4),
        (2, 5),
        (2, 6),
        (1, 7),
        (3, 8),
        (2, 9),
        (1, 10),
        (2, 11),
        (2, 12),
        (1, 13),
        (1, 14),
        (2, 15),
        (2, 16),
        (2, 17),
        (2, 18),
        (1, 19),
        (1, 20),
        (1, 21),
        (1, 22),
    ];
    let total: u32 = menu.iter().map(|m| m.0).sum();
    let mut pick = (rng.next() % u64::from(total)) as u32;
    let which = menu
        .iter()
        .find(|(w, _)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .unwrap()
        .1;
    let driver = |rng: &mut Rng| if rng.below(2) == 0 { "vfs" } else { "overlay" };
    match which {
        0 => Mutation::DropBlob { entry: entry(rng), blob: rng.below(4) },
        1 => Mutation::ChangeH {
            entry: entry(rng),
            how: [HChange::NoNewline, HChange::NoNewlineRenamed, HChange::Typo][rng.below(3)],
        },
        2 => {
            let entry = entry(rng);
            let from = (entry + 1 + rng.below(n - 1)) % n;
            Mutation::RepointDigest { entry, from }
        }
        3 => Mutation::Reorder { seed: rng.next() },
        4 => Mutation::Duplicate { entry: entry(rng), at: rng.below(n + 1) },
        5 => Mutation::DropFinalNewline,
        6 => Mutation::BlankLine { at: rng.below(n + 1) },
        7 => Mutation::CrlfLineEndings,
        8 => Mutation::WhiteoutCopy { entry: entry(rng) },
        9 if !base.foreign_entries.is_empty() => {
            Mutation::ForeignArch { entry: base.foreign_entries[rng.below(base.foreign_entries.len())] }
        }
        9 | 10 => Mutation::Unlist { entry: entry(rng) },
        11 => Mutation::DashPrefix,
        12 => Mutation::DropSetE { whole_line: rng.below(2) == 0 },
        13 => Mutation::ScriptNotExecutable,
        14 => Mutation::RemoveDropIn,
        15 => Mutation::ToStore { entry: entry(rng), driver: driver(rng) },
        16 => Mutation::ChangeDriver,
        17 => Mutation::UnlistStore { delete_conf: rng.below(2) == 0 },
        18 => Mutation::RemoveLocks { which: [Locks::Images, Locks::Layers, Locks::Both][rng.below(3)] },
        20 => Mutation::DropInInEtc { reset: rng.below(2) == 0 },
        21 => Mutation::SearchInUsrShare,
        22 => Mutation::PolicyReject { allow_dir: rng.below(2) == 0 },
        _ => Mutation::ShortName { search_quay: rng.below(2) == 0 },
    }
}

/// The mutations of case `index`: 1–3 drawn; the store is set up first (a mutation needing one
/// brings one), and every store of a case has the first one's driver.
pub fn generate(seed: u64, index: usize, base: &Base) -> Vec<Mutation> {
    let mut rng = Rng::for_case(seed, index);
    let count = 1 + rng.below(3);
    let mut drawn: Vec<Mutation> = (0..count).map(|_| draw(&mut rng, base)).collect();
    if drawn.iter().any(Mutation::needs_store) && !drawn.iter().any(|m| matches!(m, Mutation::ToStore { .. }))
    {
        let driver = if rng.below(2) == 0 { "vfs" } else { "overlay" };
        drawn.insert(0, Mutation::ToStore { entry: rng.below(base.entries.len()), driver });
    }
    let mut stores: Vec<Mutation> = Vec::new();
    let mut rest = Vec::new();
    for m in drawn {
        match m {
            Mutation::ToStore { entry, driver } => {
                let driver = match stores.first() {
                    Some(Mutation::ToStore { driver, .. }) => *driver,
                    _ => driver,
                };
                if !stores.iter().any(|s| matches!(s, Mutation::ToStore { entry: e, .. } if *e == entry)) {
                    stores.push(Mutation::ToStore { entry, driver });
                }
            }
            other => rest.push(other),
        }
    }
    stores.extend(rest);
    stores
}

/// The image list as lines, and whether the file ends with a newline.
struct List {
    lines: Vec<String>,
    final_newline: bool,
}

fn list_path(root: &Path) -> PathBuf {
    root.join(STORE).join("image-list.txt")
}

fn read_list(root: &Path) -> List {
    let text = std::fs::read_to_string(list_path(root)).unwrap_or_default();
    let final_newline = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let lines = if text.is_empty() { Vec::new() } else { body.split('\n').map(str::to_string).collect() };
    List { lines, final_newline }
}

fn write_list(root: &Path, list: &List) {
    let mut text = list.lines.join("\n");
    if list.final_newline && !list.lines.is_empty() {
        text.push('\n');
    }
    std::fs::write(list_path(root), text).expect("write the list");
}

fn line_ref(line: &str) -> &str {
    line.split_once(',').map_or(line, |(r, _)| r)
}

fn line_h(line: &str) -> Option<&str> {
    line.split_once(',').map(|(_, h)| h.trim_end_matches('\r'))
}

/// The directory of an entry's copy: named by the H of its first list line (the base's H when
/// it has none).
fn copy_dir(root: &Path, base: &Base, entry: usize) -> PathBuf {
    let list = read_list(root);
    let e = &base.entries[entry];
    let h = list.lines.iter().find(|l| line_ref(l) == e.reference).and_then(|l| line_h(l)).unwrap_or(&e.h);
    root.join(STORE).join(h)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let out = Command::new("cp").arg("-a").arg(from).arg(to).output().map_err(|e| e.to_string())?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// Replace the directory `dir` by a copy of `from`.
fn replace_dir(dir: &Path, from: &Path) -> Result<(), String> {
    std::fs::remove_dir_all(dir).map_err(|e| e.to_string())?;
    copy_tree(from, dir)
}

fn copy_script(root: &Path) -> PathBuf {
    let path = exec_start_pre(root)
        .first()
        .map_or("/usr/bin/microshift-copy-images".to_string(), |c| c.path.clone());
    in_root(root, &path)
}

fn drop_ins(root: &Path) -> Vec<PathBuf> {
    let dir = root.join("usr/lib/systemd/system/microshift.service.d");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "conf")).collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn storage_conf_path(root: &Path) -> PathBuf {
    root.join("etc/containers/storage.conf")
}

fn edit_storage_conf(root: &Path, edit: impl FnOnce(&mut toml::Table)) -> Result<(), String> {
    let path = storage_conf_path(root);
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let mut table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    edit(&mut table);
    std::fs::write(&path, toml::to_string(&table).map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Apply one mutation to the image at `root`. `Ok` says what was done ("no-op: ..." when the
/// image left nothing to mutate); `Err` when a tool failed.
pub fn apply(m: &Mutation, root: &Path, base: &Base, tools: &Tools, work: &Path) -> Result<String, String> {
    let entry = |i: &usize| &base.entries[*i];
    match m {
        Mutation::DropBlob { entry: i, blob } => {
            let dir = copy_dir(root, base, *i);
            let Ok(read) = std::fs::read_dir(&dir) else { return Ok("no-op: no copy".into()) };
            let mut blobs: Vec<PathBuf> = read
                .flatten()
                .map(|e| e.path())
                .filter(|p| !p.file_name().is_some_and(|n| n == "manifest.json" || n == "version"))
                .collect();
            blobs.sort();
            if blobs.is_empty() {
                return Ok("no-op: no blob".into());
            }
            let victim = &blobs[blob % blobs.len()];
            std::fs::remove_file(victim).map_err(|e| e.to_string())?;
            Ok(format!("removed {}", victim.file_name().unwrap().to_string_lossy()))
        }
        Mutation::ChangeH { entry: i, how } => {
            let e = entry(i);
            let mut list = read_list(root);
            let mut done = None;
            for line in list.lines.iter_mut().filter(|l| line_ref(l) == e.reference) {
                let old = line_h(line).unwrap_or("").to_string();
                let cr = if line.ends_with('\r') { "\r" } else { "" };
                let new = match how {
                    HChange::Typo => {
                        let mut h = old.clone();
                        let last = h.pop().unwrap_or('0');
                        h.push(if last == '0' { '1' } else { '0' });
                        h
                    }
                    _ => sha256_hex(&e.reference),
                };
                *line = format!("{},{new}{cr}", e.reference);
                done = Some((old, new));
            }
            let Some((old, new)) = done else { return Ok("no-op: not listed".into()) };
            write_list(root, &list);
            if *how == HChange::NoNewlineRenamed && root.join(STORE).join(&old).is_dir() {
                std::fs::rename(root.join(STORE).join(&old), root.join(STORE).join(&new))
                    .map_err(|e| e.to_string())?;
            }
            Ok(format!("H {old} -> {new}"))
        }
        Mutation::RepointDigest { entry: i, from } => {
            let dir = copy_dir(root, base, *i);
            if !dir.is_dir() {
                return Ok("no-op: no copy".into());
            }
            replace_dir(&dir, &base.root.join(STORE).join(&entry(from).h))?;
            Ok("replaced".into())
        }
        Mutation::Reorder { seed } => {
            let mut list = read_list(root);
            let mut rng = Rng::new(*seed);
            let before = list.lines.clone();
            for i in (1..list.lines.len()).rev() {
                let j = rng.below(i + 1);
                list.lines.swap(i, j);
            }
            write_list(root, &list);
            Ok(if before == list.lines { "no-op: same order".into() } else { "shuffled".into() })
        }
        Mutation::Duplicate { entry: i, at } => {
            let mut list = read_list(root);
            let Some(line) = list.lines.iter().find(|l| line_ref(l) == entry(i).reference).cloned() else {
                return Ok("no-op: not listed".into());
            };
            let at = at % (list.lines.len() + 1);
            list.lines.insert(at, line);
            write_list(root, &list);
            Ok(format!("line {} inserted", at + 1))
        }
        Mutation::DropFinalNewline => {
            let mut list = read_list(root);
            if !list.final_newline {
                return Ok("no-op: no final newline".into());
            }
            list.final_newline = false;
            write_list(root, &list);
            Ok("dropped".into())
        }
        Mutation::BlankLine { at } => {
            let mut list = read_list(root);
            let at = at % (list.lines.len() + 1);
            list.lines.insert(at, String::new());
            list.final_newline = true;
            write_list(root, &list);
            Ok(format!("blank line {}", at + 1))
        }
        Mutation::CrlfLineEndings => {
            let mut list = read_list(root);
            for l in list.lines.iter_mut().filter(|l| !l.ends_with('\r')) {
                l.push('\r');
            }
            write_list(root, &list);
            Ok("CRLF".into())
        }
        Mutation::WhiteoutCopy { entry: i } => {
            let dir = copy_dir(root, base, *i);
            if !dir.is_dir() {
                return Ok("no-op: no copy".into());
            }
            std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
            Ok("deleted".into())
        }
        Mutation::ForeignArch { entry: i } => {
            let dir = copy_dir(root, base, *i);
            if !dir.is_dir() {
                return Ok("no-op: no copy".into());
            }
            replace_dir(&dir, &base.foreign.join(STORE).join(&entry(i).h))?;
            Ok("replaced by the arm64 build".into())
        }
        Mutation::Unlist { entry: i } => {
            let mut list = read_list(root);
            let before = list.lines.len();
            list.lines.retain(|l| line_ref(l) != entry(i).reference);
            if list.lines.len() == before {
                return Ok("no-op: not listed".into());
            }
            write_list(root, &list);
            Ok("unlisted".into())
        }
        Mutation::DashPrefix => {
            let mut done = false;
            for file in drop_ins(root) {
                let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                let new: Vec<String> = text
                    .lines()
                    .map(|l| match l.strip_prefix("ExecStartPre=") {
                        Some(rest) if !rest.starts_with('-') && !rest.is_empty() => {
                            done = true;
                            format!("ExecStartPre=-{rest}")
                        }
                        _ => l.to_string(),
                    })
                    .collect();
                std::fs::write(&file, new.join("\n") + "\n").map_err(|e| e.to_string())?;
            }
            Ok(if done { "prefixed".into() } else { "no-op: no ExecStartPre".into() })
        }
        Mutation::DropSetE { whole_line } => {
            let script = copy_script(root);
            let Ok(text) = std::fs::read_to_string(&script) else { return Ok("no-op: no script".into()) };
            let mut done = false;
            let mut out = Vec::new();
            for line in text.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                let errexit = words.first() == Some(&"set")
                    && (words.iter().any(|w| {
                        w.starts_with('-') && !w.starts_with("--") && w.contains('e') && *w != "-o"
                    }) || words.windows(2).any(|p| p == ["-o", "errexit"]));
                if !errexit {
                    out.push(line.to_string());
                    continue;
                }
                done = true;
                if *whole_line {
                    continue;
                }
                let mut kept = Vec::new();
                let mut skip = false;
                for (k, w) in words.iter().enumerate() {
                    if skip {
                        skip = false;
                        continue;
                    }
                    if *w == "-o" && words.get(k + 1) == Some(&"errexit") {
                        skip = true;
                        continue;
                    }
                    if w.starts_with('-') && !w.starts_with("--") && *w != "-o" && w.contains('e') {
                        let flags = w.replace('e', "");
                        if flags != "-" {
                            kept.push(flags);
                        }
                        continue;
                    }
                    kept.push(w.to_string());
                }
                out.push(kept.join(" "));
            }
            if !done {
                return Ok("no-op: no set -e".into());
            }
            let mode = std::fs::metadata(&script).map_err(|e| e.to_string())?.permissions();
            std::fs::write(&script, out.join("\n") + "\n").map_err(|e| e.to_string())?;
            std::fs::set_permissions(&script, mode).map_err(|e| e.to_string())?;
            Ok("errexit dropped".into())
        }
        Mutation::ScriptNotExecutable => {
            let script = copy_script(root);
            if !script.is_file() {
                return Ok("no-op: no script".into());
            }
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| e.to_string())?;
            Ok("mode 0644".into())
        }
        Mutation::RemoveDropIn => {
            let files = drop_ins(root);
            for f in &files {
                std::fs::remove_file(f).map_err(|e| e.to_string())?;
            }
            Ok(if files.is_empty() { "no-op: no drop-in".into() } else { "removed".into() })
        }
        Mutation::DropInInEtc { reset } => {
            let etc = root.join("etc/systemd/system/microshift.service.d");
            std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
            if *reset {
                std::fs::write(etc.join("zz-reset.conf"), "[Service]\nExecStartPre=\n")
                    .map_err(|e| e.to_string())?;
                return Ok("zz-reset.conf added".into());
            }
            let files = drop_ins(root);
            for f in &files {
                let name = f.file_name().ok_or("a drop-in without a name")?;
                std::fs::rename(f, etc.join(name)).map_err(|e| e.to_string())?;
            }
            Ok(if files.is_empty() { "no-op: no drop-in".into() } else { "moved to /etc".into() })
        }
        Mutation::ToStore { entry: i, driver } => {
            let e = entry(i);
            let dir = copy_dir(root, base, *i);
            if !dir.is_dir() {
                return Ok("no-op: no copy".into());
            }
            let store = root.join(ADDITIONAL_STORE.trim_start_matches('/'));
            std::fs::create_dir_all(&store).map_err(|e| e.to_string())?;
            // The store's own driver, if one was written already.
            let driver = if store.join("overlay-images").is_dir() {
                "overlay"
            } else if store.join("vfs-images").is_dir() {
                "vfs"
            } else {
                driver
            };
            if driver == "overlay" && !tools.overlay {
                return Err("the overlay driver does not work here".into());
            }
            let run = work.join("to-store-run");
            let q = |p: &Path| format!("'{}'", p.display());
            // Written as the fixtures' stores are (fixtures/inventory/regenerate.sh): skopeo into
            // the store, run-time state dropped; in a namespace, so overlay's mounts go with it.
            let script = format!(
                "set -e; {skopeo} copy -q --preserve-digests dir:{dir} 'containers-storage:[{driver}@{store}+{run}]{r}'; \
                 cd {store}; rm -rf mounts tmp ./*-containers userns.lock storage.lock; \
                 find . -type d \\( -name merged -o -name work -o -name empty \\) -prune -exec rm -rf {{}} +; \
                 rm -f overlay/.has-mount-program",
                skopeo = q(&tools.skopeo),
                dir = q(&dir),
                store = q(&store),
                run = run.display(),
                r = e.reference,
            );
            let out = Command::new("unshare")
                .args(["-m", "bash", "-c", &script])
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!("to-store: {}", String::from_utf8_lossy(&out.stderr)));
            }
            std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
            let mut list = read_list(root);
            list.lines.retain(|l| line_ref(l) != e.reference);
            write_list(root, &list);
            let conf = storage_conf_path(root);
            std::fs::create_dir_all(conf.parent().unwrap()).map_err(|e| e.to_string())?;
            std::fs::write(
                &conf,
                format!(
                    "[storage]\ndriver = \"{driver}\"\nrunroot = \"/run/containers/storage\"\n\
                     graphroot = \"/var/lib/containers/storage\"\n\n[storage.options]\n\
                     additionalimagestores = [\"{ADDITIONAL_STORE}\"]\n"
                ),
            )
            .map_err(|e| e.to_string())?;
            Ok(format!("in the {driver} store {ADDITIONAL_STORE}"))
        }
        Mutation::ChangeDriver => {
            if !storage_conf_path(root).is_file() {
                std::fs::create_dir_all(root.join("etc/containers")).map_err(|e| e.to_string())?;
                std::fs::write(storage_conf_path(root), "[storage]\ndriver = \"vfs\"\n")
                    .map_err(|e| e.to_string())?;
                return Ok("storage.conf written with driver vfs (was the default, overlay)".into());
            }
            let mut note = String::new();
            edit_storage_conf(root, |t| {
                let storage = t.entry("storage").or_insert_with(|| toml::Value::Table(Default::default()));
                if let Some(s) = storage.as_table_mut() {
                    let old = s.get("driver").and_then(|d| d.as_str()).unwrap_or("overlay").to_string();
                    let new = if old == "vfs" { "overlay" } else { "vfs" };
                    s.insert("driver".into(), toml::Value::String(new.into()));
                    note = format!("driver {old} -> {new}");
                }
            })?;
            Ok(note)
        }
        Mutation::UnlistStore { delete_conf } => {
            let conf = storage_conf_path(root);
            if !conf.is_file() {
                return Ok("no-op: no storage.conf".into());
            }
            if *delete_conf {
                std::fs::remove_file(&conf).map_err(|e| e.to_string())?;
                return Ok("storage.conf deleted".into());
            }
            edit_storage_conf(root, |t| {
                if let Some(o) =
                    t.get_mut("storage").and_then(|s| s.get_mut("options")).and_then(|o| o.as_table_mut())
                {
                    o.insert("additionalimagestores".into(), toml::Value::Array(Vec::new()));
                }
            })?;
            Ok("additionalimagestores = []".into())
        }
        Mutation::RemoveLocks { which } => {
            let store = root.join(ADDITIONAL_STORE.trim_start_matches('/'));
            let mut removed = Vec::new();
            for driver in ["overlay", "vfs"] {
                let mut files = Vec::new();
                if matches!(which, Locks::Images | Locks::Both) {
                    files.push(store.join(format!("{driver}-images/images.lock")));
                }
                if matches!(which, Locks::Layers | Locks::Both) {
                    files.push(store.join(format!("{driver}-layers/layers.lock")));
                }
                for f in files.into_iter().filter(|f| f.is_file()) {
                    std::fs::remove_file(&f).map_err(|e| e.to_string())?;
                    removed.push(f.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
            Ok(if removed.is_empty() {
                "no-op: no lock file".into()
            } else {
                format!("removed {}", removed.join(", "))
            })
        }
        Mutation::ShortName { search_quay } => {
            let manifest = root.join("usr/lib/microshift/manifests.d/acme/worker.yaml");
            let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
            if !text.contains("image: quay.io/acme/worker:") {
                return Ok("no-op: no worker image".into());
            }
            std::fs::write(&manifest, text.replace("image: quay.io/acme/worker:", "image: acme/worker:"))
                .map_err(|e| e.to_string())?;
            if *search_quay {
                let conf = root.join("etc/containers/registries.conf");
                let text = std::fs::read_to_string(&conf).unwrap_or_default();
                let mut table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
                let mut list = vec![toml::Value::String("quay.io".into())];
                if let Some(old) = table.get("unqualified-search-registries").and_then(|l| l.as_array()) {
                    list.extend(old.iter().cloned());
                }
                table.insert("unqualified-search-registries".into(), toml::Value::Array(list));
                std::fs::write(&conf, toml::to_string(&table).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            Ok("acme/worker".into())
        }
        Mutation::SearchInUsrShare => {
            apply(&Mutation::ShortName { search_quay: false }, root, base, tools, work)?;
            let dir = root.join("usr/share/containers/registries.conf.d");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("50-quay.conf"), "unqualified-search-registries = [\"quay.io\"]\n")
                .map_err(|e| e.to_string())?;
            Ok("acme/worker, quay.io searched by /usr/share/containers/registries.conf.d/50-quay.conf".into())
        }
        Mutation::PolicyReject { allow_dir } => {
            let dir = root.join("etc/containers");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let policy = if *allow_dir {
                r#"{"default":[{"type":"reject"}],"transports":{"dir":{"":[{"type":"insecureAcceptAnything"}]}}}"#
            } else {
                r#"{"default":[{"type":"reject"}]}"#
            };
            std::fs::write(dir.join("policy.json"), policy).map_err(|e| e.to_string())?;
            Ok(if *allow_dir { "reject by default, dir: accepted" } else { "reject by default" }.into())
        }
    }
}
