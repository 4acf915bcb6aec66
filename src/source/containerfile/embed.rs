//! The embed plan revealed by `RUN` scripts: `skopeo copy` and `podman pull` into the OS image,
//! appends to an image list file, and loops over the MicroShift release files.

use super::interpreter::Builder;
use super::scope::Scope;
use super::shell::{ShTok, ShWord, is_assignment, unquote};
use super::{EmbedIntent, EmbedMethod, EmbedTool, ImageListWrite};
use crate::reference::{Origin, RefKind};
use crate::source::args::Expanded;
use crate::source::microshift::RELEASE_DIR;

/// `skopeo` global options (before the subcommand) that take a value.
const SKOPEO_GLOBAL_VALUED: &[&str] = &[
    "--command-timeout",
    "--override-arch",
    "--override-os",
    "--override-variant",
    "--policy",
    "--registries.d",
    "--registries-conf",
    "--tmpdir",
    "--user-agent-prefix",
];

/// `skopeo copy` options that take a value.
const SKOPEO_COPY_VALUED: &[&str] = &[
    "--additional-tag",
    "--authfile",
    "--decryption-key",
    "--dest-authfile",
    "--dest-cert-dir",
    "--dest-compress-format",
    "--dest-compress-level",
    "--dest-creds",
    "--dest-daemon-host",
    "--dest-registry-token",
    "--dest-shared-blob-dir",
    "--dest-username",
    "--dest-password",
    "--digestfile",
    "--encrypt-layer",
    "--encryption-key",
    "--format",
    "-f",
    "--image-parallel-copies",
    "--multi-arch",
    "--retry-delay",
    "--retry-times",
    "--sign-by",
    "--sign-by-sigstore",
    "--sign-by-sigstore-private-key",
    "--sign-identity",
    "--sign-passphrase-file",
    "--src-authfile",
    "--src-cert-dir",
    "--src-creds",
    "--src-daemon-host",
    "--src-registry-token",
    "--src-shared-blob-dir",
    "--src-username",
    "--src-password",
];

/// `podman` options (global or of `pull`) that take a value.
const PODMAN_VALUED: &[&str] = &[
    "--root",
    "--runroot",
    "--storage-driver",
    "--storage-opt",
    "--log-level",
    "--url",
    "--connection",
    "--identity",
    "--cgroup-manager",
    "--events-backend",
    "--tmpdir",
    "--imagestore",
    "--network-cmd-path",
    "--runtime",
    "--runtime-flag",
    "--hooks-dir",
    "--module",
    "--conmon",
    "--volumepath",
    "--config",
    "--arch",
    "--os",
    "--variant",
    "--platform",
    "--authfile",
    "--cert-dir",
    "--creds",
    "--decryption-key",
    "--retry",
    "--retry-delay",
    "--policy",
];

impl Builder<'_> {
    /// Look for embedding commands in one script's tokens.
    pub(super) fn script(&mut self, toks: &[ShTok], scope: &Scope, within: Option<String>) {
        let release = release_glob(toks);
        let mut list: Option<String> = None;
        for t in toks {
            if let ShTok::Redir { op, target: Some(w) } = t
                && (op.ends_with(">>") || op.ends_with('>'))
                && is_image_list(&w.value)
            {
                list = Some(w.value.clone());
                self.out.image_list_writes.push(ImageListWrite {
                    path: w.value.clone(),
                    append: op.ends_with(">>"),
                    location: self.src.location(w.start..w.end),
                });
            }
        }
        let first = self.out.embeds.len();
        for cmd in toks.split(|t| matches!(t, ShTok::Sep)) {
            let words: Vec<&ShWord> = cmd
                .iter()
                .filter_map(|t| match t {
                    ShTok::Word(w) => Some(w),
                    _ => None,
                })
                .collect();
            let mut k = 0;
            while k < words.len()
                && (matches!(
                    words[k].value.as_str(),
                    "do" | "then"
                        | "else"
                        | "elif"
                        | "if"
                        | "while"
                        | "until"
                        | "!"
                        | "{"
                        | "time"
                        | "exec"
                        | "sudo"
                ) || (words[k].is_literal() && is_assignment(&words[k].value)))
            {
                k += 1;
            }
            let Some(name) = words.get(k) else { continue };
            let base = name.value.rsplit('/').next().unwrap_or("");
            let rest = &words[k + 1..];
            match base {
                "skopeo" => self.skopeo(name, rest, scope, within.clone()),
                "podman" => self.podman(name, rest, scope, within.clone()),
                _ => {}
            }
        }
        for e in &mut self.out.embeds[first..] {
            if e.source.is_none() {
                e.release_images.clone_from(&release);
            }
            if e.image_list.is_none() {
                e.image_list.clone_from(&list);
            }
        }
    }

    fn skopeo(&mut self, name: &ShWord, rest: &[&ShWord], scope: &Scope, within: Option<String>) {
        let Some(SkopeoCopy { all, preserve_digests, positional }) = skopeo_copy(rest) else {
            return;
        };
        let [src, dest, ..] = positional[..] else { return };
        let Some(method) = embed_method(&dest.value) else { return };
        let store_root = match method {
            EmbedMethod::ContainersStorage => storage_root(&dest.value),
            _ => None,
        };
        let intent = EmbedIntent {
            tool: EmbedTool::SkopeoCopy,
            method,
            source: src.is_literal().then(|| src.value.clone()),
            source_text: src.unquoted(&self.src.text),
            destination: dest.value.clone(),
            store_root,
            all,
            preserve_digests,
            release_images: None,
            image_list: None,
            location: self.src.location(name.start..name.end),
            within: within.clone(),
        };
        self.out.embeds.push(intent);
        self.embed_reference(src, scope, within);
    }

    fn podman(&mut self, name: &ShWord, rest: &[&ShWord], scope: &Scope, within: Option<String>) {
        let Some(PodmanPull { root, images }) = podman_pull(rest) else { return };
        for img in images {
            let destination = match &root {
                Some(r) => format!("containers-storage:[{r}]"),
                None => "containers-storage:".to_string(),
            };
            self.out.embeds.push(EmbedIntent {
                tool: EmbedTool::PodmanPull,
                method: EmbedMethod::ContainersStorage,
                source: img.is_literal().then(|| img.value.clone()),
                source_text: img.unquoted(&self.src.text),
                destination,
                store_root: root.clone(),
                all: false,
                preserve_digests: false,
                release_images: None,
                image_list: None,
                location: self.src.location(name.start..name.end),
                within: within.clone(),
            });
            self.embed_reference(img, scope, within.clone());
        }
    }

    /// A `Reference` for the image in an embed source, when it does not depend on shell
    /// variables or command output.
    fn embed_reference(&mut self, w: &ShWord, scope: &Scope, within: Option<String>) {
        if w.dynamic || w.shell_vars.iter().any(|v| !scope.declared(v)) {
            return;
        }
        let value = w.value.as_str();
        let skip = if let Some(r) = value.strip_prefix("docker://") {
            value.len() - r.len()
        } else if let Some(r) = value.strip_prefix("docker-daemon:") {
            value.len() - r.len()
        } else if let Some(r) = value.strip_prefix("containers-storage:") {
            let r2 = match r.strip_prefix('[') {
                Some(x) => x.split_once(']').map_or(x, |(_, after)| after),
                None => r,
            };
            value.len() - r2.len()
        } else if value.contains(':') && value.split(':').next().is_some_and(is_local_transport) {
            return;
        } else {
            0
        };
        let chars_skipped = value[..skip].chars().count();
        let Some(at) = w.offset_of(chars_skipped) else { return };
        let end = w.end;
        let image = unquote(self.src.text.get(at..end).unwrap_or(""));
        let e = Expanded { value: value[skip..].to_string(), undefined: w.shell_vars.clone(), error: None };
        let mut r = self.reference(
            RefKind::Embed,
            Origin::ContainerfileEmbed,
            &image,
            &e,
            self.src.location(at..end),
        );
        r.within = within;
        self.out.references.push(r);
    }
}

/// The options and operands of `skopeo [global options] copy [options] SRC DEST`.
struct SkopeoCopy<'w> {
    /// `--all` (or `--multi-arch all`).
    all: bool,
    /// `--preserve-digests`.
    preserve_digests: bool,
    /// The operands (source and destination), in order.
    positional: Vec<&'w ShWord>,
}

/// Read the arguments after `skopeo`; `None` unless the subcommand is `copy`.
fn skopeo_copy<'w>(rest: &[&'w ShWord]) -> Option<SkopeoCopy<'w>> {
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        if !w.value.starts_with('-') {
            break;
        }
        i += if SKOPEO_GLOBAL_VALUED.contains(&w.value.as_str()) { 2 } else { 1 };
    }
    if rest.get(i).map(|w| w.value.as_str()) != Some("copy") {
        return None;
    }
    i += 1;
    let (mut all, mut preserve) = (false, false);
    let mut positional: Vec<&ShWord> = Vec::new();
    while let Some(w) = rest.get(i) {
        let v = w.value.as_str();
        i += 1;
        if v == "--" {
            positional.extend(rest[i..].iter().copied());
            break;
        }
        if v.starts_with('-') && v.len() > 1 {
            let (flag, inline) = match v.split_once('=') {
                Some((f, val)) => (f, Some(val)),
                None => (v, None),
            };
            match flag {
                "--all" | "-a" => all = inline != Some("false"),
                "--preserve-digests" => preserve = inline != Some("false"),
                "--multi-arch" => {
                    let val = inline.map(str::to_string).or_else(|| rest.get(i).map(|w| w.value.clone()));
                    all |= val.as_deref() == Some("all");
                }
                _ => {}
            }
            if inline.is_none() && SKOPEO_COPY_VALUED.contains(&flag) {
                i += 1;
            }
            continue;
        }
        positional.push(*w);
    }
    Some(SkopeoCopy { all, preserve_digests: preserve, positional })
}

/// The `--root` and the images of `podman [options] pull [options] IMAGE...`.
struct PodmanPull<'w> {
    root: Option<String>,
    images: Vec<&'w ShWord>,
}

/// Read the arguments after `podman`; `None` unless the subcommand is `pull`.
fn podman_pull<'w>(rest: &[&'w ShWord]) -> Option<PodmanPull<'w>> {
    let mut root: Option<String> = None;
    let mut sub: Option<&str> = None;
    let mut images: Vec<&ShWord> = Vec::new();
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        let v = w.value.as_str();
        i += 1;
        if v.starts_with('-') && v.len() > 1 {
            let (flag, inline) = match v.split_once('=') {
                Some((f, val)) => (f, Some(val.to_string())),
                None => (v, None),
            };
            let value = if inline.is_none() && PODMAN_VALUED.contains(&flag) {
                i += 1;
                rest.get(i - 1).map(|w| w.value.clone())
            } else {
                inline
            };
            if flag == "--root" {
                root = value;
            }
            continue;
        }
        match sub {
            None => sub = Some(v),
            Some(_) => images.push(*w),
        }
    }
    if sub != Some("pull") {
        return None;
    }
    Some(PodmanPull { root, images })
}

fn is_local_transport(t: &str) -> bool {
    matches!(t, "dir" | "oci" | "oci-archive" | "docker-archive" | "sif" | "tarball")
}

fn embed_method(dest: &str) -> Option<EmbedMethod> {
    let (t, _) = dest.split_once(':')?;
    Some(match t {
        "dir" => EmbedMethod::Dir,
        "containers-storage" => EmbedMethod::ContainersStorage,
        "oci" => EmbedMethod::Oci,
        "oci-archive" => EmbedMethod::OciArchive,
        "docker-archive" => EmbedMethod::DockerArchive,
        _ => return None,
    })
}

/// ROOT of `containers-storage:[driver@ROOT+RUNROOT:options]REF`.
fn storage_root(dest: &str) -> Option<String> {
    let spec = dest.strip_prefix("containers-storage:[")?.split_once(']')?.0;
    let spec = spec.split_once('@').map_or(spec, |(_, r)| r);
    let root = spec.split(['+', ':']).next().unwrap_or("");
    (!root.is_empty()).then(|| root.to_string())
}

fn is_image_list(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "image-list.txt" || name == "mapping.txt" || (name.contains("image") && name.ends_with(".txt"))
}

/// The MicroShift release files a script reads (`.../release-$(uname -m).json` →
/// `/usr/share/microshift/release/release-*.json`).
fn release_glob(toks: &[ShTok]) -> Option<String> {
    for t in toks {
        let ShTok::Word(w) = t else { continue };
        // The release directory followed by a `/`.
        let Some(at) = w
            .value
            .match_indices(RELEASE_DIR)
            .map(|(at, _)| at)
            .find(|&at| w.value[at + RELEASE_DIR.len()..].starts_with('/'))
        else {
            continue;
        };
        let mut path = String::new();
        let mut depth = 0usize;
        let mut chars = w.value[at..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '$' if chars.peek() == Some(&'(') => {
                    depth += 1;
                    path.push(c);
                }
                '(' => path.push(c),
                ')' if depth == 0 => break,
                ')' => {
                    depth -= 1;
                    path.push(c);
                }
                c if depth == 0 && (c.is_whitespace() || c == ';' || c == '|') => break,
                '"' | '\'' => {}
                c => path.push(c),
            }
        }
        let glob = globify(&path);
        if glob.ends_with(".json") {
            return Some(glob);
        }
    }
    None
}

/// Replace `$(...)`, `${...}`, `$NAME` and `` `...` `` by `*`.
fn globify(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => {
                match chars.peek() {
                    Some('(') => {
                        let mut depth = 0;
                        for n in chars.by_ref() {
                            match n {
                                '(' => depth += 1,
                                ')' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    Some('{') => {
                        for n in chars.by_ref() {
                            if n == '}' {
                                break;
                            }
                        }
                    }
                    _ => {
                        while chars.peek().is_some_and(|n| n.is_alphanumeric() || *n == '_') {
                            chars.next();
                        }
                    }
                }
                if !out.ends_with('*') {
                    out.push('*');
                }
            }
            '`' => {
                for n in chars.by_ref() {
                    if n == '`' {
                        break;
                    }
                }
                out.push('*');
            }
            c => out.push(c),
        }
    }
    out
}
