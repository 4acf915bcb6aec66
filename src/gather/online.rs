//! `check --online`: every resolved reference looked up once, the answers kept as facts for
//! the rules (`image-not-found`, `platform-missing`, `tag-moved`, `registry-unreachable`).
//! Fail closed: a registry that cannot be reached or refuses the lookup stops the analysis,
//! unless `--online-skip-unreachable` makes unreachable ones findings.

use super::facts::Facts;
use crate::image::registry::lookup::{self, Answer, FailureKind, LookupOptions, Query};
use crate::reference::Reference;
use crate::reference::platform::Platform;
use crate::source::BuildOptions;
use crate::source::registries_conf::{self, Registries};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How `--online` runs.
#[derive(Clone, Debug, Default)]
pub struct OnlineOptions {
    pub lookup: LookupOptions,
    /// `--online-skip-unreachable`: an unreachable registry is an info finding, not exit 2.
    pub skip_unreachable: bool,
}

/// What the registries said.
#[derive(Clone, Debug, Default)]
pub struct OnlineFacts {
    /// The platform asked for when a reference names none (`--arch`, else the image's, else
    /// linux/amd64).
    pub platform: Platform,
    /// By resolved reference and platform (`linux/amd64`).
    pub answers: BTreeMap<(String, String), Answer>,
    /// HTTP requests made.
    pub requests: u64,
}

impl OnlineFacts {
    /// The answer about a reference, if it was looked up.
    pub fn answer(&self, r: &Reference) -> Option<&Answer> {
        let resolved = r.resolved.as_ref()?;
        self.answers.get(&(resolved.to_string(), platform_of(r, &self.platform).to_oci()))
    }

    /// `stowage: --online: 12 unique references looked up in 15 requests (2 through mirrors,
    /// unreachable: registry.example)`.
    pub fn summary_line(&self) -> String {
        let through_mirrors =
            self.answers.values().filter(|a| matches!(a, Answer::Found(f) if f.via.is_some())).count();
        let mut unreachable: Vec<&str> = self
            .answers
            .values()
            .filter_map(|a| match a {
                Answer::Failed(f) => Some(f.registry.as_str()),
                _ => None,
            })
            .collect();
        unreachable.sort_unstable();
        unreachable.dedup();
        let mut extra = Vec::new();
        if through_mirrors > 0 {
            extra.push(format!("{through_mirrors} through mirrors"));
        }
        if !unreachable.is_empty() {
            extra.push(format!("unreachable: {}", unreachable.join(", ")));
        }
        let plural =
            |n: usize, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
        format!(
            "stowage: --online: {} looked up in {}{}",
            plural(self.answers.len(), "unique reference", "unique references"),
            plural(self.requests as usize, "request", "requests"),
            if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) }
        )
    }
}

/// Why the lookups stopped the analysis (exit 2); the message names the registries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OnlineError(pub String);

/// The platform a reference must serve: its `FROM --platform`, else `default`.
pub fn platform_of(r: &Reference, default: &Platform) -> Platform {
    r.platform.as_deref().and_then(|p| Platform::parse(p).ok()).unwrap_or_else(|| default.clone())
}

/// Whether a reference is asked about: resolved, and not `localhost/NAME`, which podman keeps
/// for images built on the host.
fn asked(r: &Reference) -> bool {
    r.resolved.as_ref().is_some_and(|i| i.registry() != "localhost")
}

/// Look every reference up and attach the answers; the target platform comes from `--arch`,
/// else from the image attached before, else linux/amd64.
pub fn attach_online(
    facts: &mut Facts,
    build: &BuildOptions,
    opts: &OnlineOptions,
) -> Result<(), OnlineError> {
    let platform = match (&build.release_arch, &facts.image) {
        (None, Some(image)) => {
            Platform::parse(&image.target_arch).unwrap_or_else(|_| build.target_platform.clone())
        }
        _ => build.target_platform.clone(),
    };
    let mut queries: Vec<Query> = Vec::new();
    for r in facts.references.iter().filter(|r| asked(r)) {
        let Some(reference) = r.resolved.clone() else { continue };
        let q = Query { reference, platform: platform_of(r, &platform) };
        if !queries.contains(&q) {
            queries.push(q);
        }
    }
    let outcome = lookup::lookup(&queries, &opts.lookup)
        .map_err(|e| OnlineError(format!("cannot ask the registries: {e}")))?;
    let mut online = OnlineFacts { platform, answers: BTreeMap::new(), requests: outcome.requests };
    for (q, answer) in queries.iter().zip(outcome.answers) {
        online.answers.insert((q.reference.to_string(), q.platform.to_oci()), answer);
    }
    let failures = stopping_failures(facts, &online, opts.skip_unreachable);
    if !failures.is_empty() {
        return Err(OnlineError(failures.join("; ")));
    }
    facts.online = Some(online);
    Ok(())
}

/// One message per registry that stops the analysis: every one that refused a lookup or
/// gave an answer that cannot be used, and the unreachable ones unless they are to be findings.
fn stopping_failures(facts: &Facts, online: &OnlineFacts, skip_unreachable: bool) -> Vec<String> {
    // (registry, kind) → (message, first reference, how many references)
    let mut by_registry: BTreeMap<(String, u8), (String, String, usize)> = BTreeMap::new();
    for r in &facts.references {
        let Some(Answer::Failed(f)) = online.answer(r) else { continue };
        let skippable = matches!(f.kind, FailureKind::Unreachable | FailureKind::Blocked);
        if skippable && skip_unreachable {
            continue;
        }
        let kind = match f.kind {
            FailureKind::Unreachable => 0,
            FailureKind::Denied => 1,
            FailureKind::BadAnswer => 2,
            FailureKind::Blocked => 3,
        };
        let entry = by_registry
            .entry((f.registry.clone(), kind))
            .or_insert_with(|| (f.message.clone(), format!("`{}` at {}", r.text(), r.location), 0));
        entry.2 += 1;
    }
    by_registry
        .into_iter()
        .map(|((registry, kind), (message, first, count))| {
            let refs = if count == 1 { "1 reference".to_string() } else { format!("{count} references") };
            match kind {
                1 => format!(
                    "registry {registry} refused the lookup of {refs} (first {first}): {message} (registries \
                     answer 401/403 for a repository that does not exist too; give credentials with --authfile)"
                ),
                2 => format!(
                    "registry {registry} gave an answer that cannot be used for {refs} (first {first}): {message}"
                ),
                3 => format!(
                    "registry {registry} is blocked, so {refs} cannot be looked up (first {first}): {message} \
                     (--online-skip-unreachable reports it as a finding instead)"
                ),
                _ => format!(
                    "registry {registry} could not be reached to look up {refs} (first {first}): {message} \
                     (--online-skip-unreachable reports it as a finding instead)"
                ),
            }
        })
        .collect()
}

/// The build host's registries configuration, found as containers/image finds it: `explicit`
/// (`--registries-conf`) or `$CONTAINERS_REGISTRIES_CONF` (must exist), else
/// `~/.config/containers/registries.conf` when it exists (then only the user's drop-ins), else
/// `/etc/containers/registries.conf` (may be missing); drop-ins are the `*.conf` files of
/// `/etc/containers/registries.conf.d` and `~/.config/containers/registries.conf.d`, in name
/// order. The error names the file.
pub fn host_registries(explicit: Option<&Path>) -> Result<Registries, String> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let from_env =
        std::env::var_os("CONTAINERS_REGISTRIES_CONF").filter(|v| !v.is_empty()).map(PathBuf::from);
    let explicit = explicit.map(Path::to_path_buf).or(from_env);
    registries_in(&config_files(explicit, home.as_deref(), Path::new("/etc/containers")))
}

/// Where containers/image finds the configuration (see [`host_registries`]), `etc` standing for
/// `/etc/containers`.
struct ConfigFiles {
    main: PathBuf,
    /// Whether a missing main file is an error (it was named, or the user's exists).
    must_exist: bool,
    drop_in_dirs: Vec<PathBuf>,
}

fn config_files(explicit: Option<PathBuf>, home: Option<&Path>, etc: &Path) -> ConfigFiles {
    let user_file = home.map(|h| h.join(".config/containers/registries.conf"));
    let user_dir = home.map(|h| h.join(".config/containers/registries.conf.d"));
    let system_dir = etc.join("registries.conf.d");
    match explicit {
        Some(main) => ConfigFiles {
            main,
            must_exist: true,
            drop_in_dirs: [Some(system_dir), user_dir].into_iter().flatten().collect(),
        },
        None => match user_file.filter(|f| f.exists()) {
            Some(main) => {
                ConfigFiles { main, must_exist: true, drop_in_dirs: user_dir.into_iter().collect() }
            }
            None => ConfigFiles {
                main: etc.join("registries.conf"),
                must_exist: false,
                drop_in_dirs: [Some(system_dir), user_dir].into_iter().flatten().collect(),
            },
        },
    }
}

/// The merged configuration of the files.
fn registries_in(files: &ConfigFiles) -> Result<Registries, String> {
    let must_exist = files.must_exist;
    let read = |path: &Path| -> Result<Option<Registries>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => registries_conf::parse(&text, &path.display().to_string())
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(format!("{}: no such file", path.display()))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    };
    let mut merged = read(&files.main)?.unwrap_or_default();
    for dir in &files.drop_in_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "conf"))
            .collect();
        files.sort();
        for file in files {
            if let Some(conf) = read(&file)? {
                merged.merge(conf);
            }
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn the_files_containers_image_reads_and_their_merge() {
        let tmp = tempfile::tempdir().unwrap();
        let (etc, home) = (tmp.path().join("etc"), tmp.path().join("home"));
        write(&etc.join("registries.conf"), "[[registry]]\nlocation = \"a.example\"\n");
        write(&etc.join("registries.conf.d/50-b.conf"), "[[registry]]\nlocation = \"b.example\"\n");
        write(&etc.join("registries.conf.d/ignored.txt"), "not toml [");
        write(
            &home.join(".config/containers/registries.conf.d/60-a.conf"),
            "[[registry]]\nlocation = \"a.example\"\nblocked = true\n",
        );
        let system = registries_in(&config_files(None, Some(&home), &etc)).unwrap();
        assert!(system.find("a.example/x").is_some_and(|t| t.blocked), "the user's drop-in comes last");
        assert!(system.find("b.example/x").is_some());
        // A user registries.conf replaces the system one and its drop-ins.
        write(&home.join(".config/containers/registries.conf"), "[[registry]]\nlocation = \"c.example\"\n");
        let user = registries_in(&config_files(None, Some(&home), &etc)).unwrap();
        assert!(user.find("c.example/x").is_some() && user.find("b.example/x").is_none());
        // A named file replaces both main files; the drop-ins still apply (as skopeo
        // --registries-conf does); it must exist.
        let named = tmp.path().join("named.conf");
        write(&named, "[[registry]]\nlocation = \"d.example\"\n");
        let r = registries_in(&config_files(Some(named), Some(&home), &etc)).unwrap();
        assert!(
            r.find("d.example/x").is_some()
                && r.find("b.example/x").is_some()
                && r.find("c.example/x").is_none()
        );
        let err = registries_in(&config_files(Some(tmp.path().join("none.conf")), None, &etc)).unwrap_err();
        assert!(err.contains("none.conf: no such file"), "{err}");
        // No file at all: no configuration.
        let empty = registries_in(&config_files(None, None, &tmp.path().join("nothing"))).unwrap();
        assert!(empty.registries.is_empty());
    }
}
