//! containers-registries.conf(5): `unqualified-search-registries`, `short-name-mode` and the
//! `[[registry]]` tables (`prefix`, `location`, `insecure`, `blocked`, `mirror-by-digest-only`,
//! `[[registry.mirror]]` with `pull-from-mirror`), checked and merged as containers/image does
//! (pkg/sysregistriesv2): prefixes default to the location, the first table of a prefix in a
//! file wins, a drop-in replaces the tables of the prefixes it names, and a reference is
//! matched by the longest prefix of its name. [`Registries::pull_sources`] lists where a pull
//! of a reference goes: the mirrors that apply, in order, then the primary location.

use serde::Deserialize;

/// The merged configuration of a registries.conf and its drop-ins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registries {
    /// The files applied, in order.
    pub files: Vec<String>,
    /// `None` when no file sets it.
    pub unqualified_search_registries: Option<Vec<String>>,
    pub short_name_mode: Option<String>,
    /// One table per prefix, sorted by prefix (as containers/image keeps them).
    pub registries: Vec<RegistryTable>,
}

/// One `[[registry]]` table after containers/image's checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryTable {
    pub prefix: String,
    /// Empty only for a `*.example.com` prefix: the reference is used as it is.
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirror_by_digest_only: bool,
    pub mirrors: Vec<Mirror>,
    /// The file the table comes from.
    pub file: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mirror {
    pub location: String,
    pub insecure: bool,
    /// `all` (or unset), `digest-only`, `tag-only`.
    pub pull_from_mirror: Option<String>,
}

/// Where one pull attempt goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullSource {
    /// The reference rewritten for this endpoint (`mirror.example:5000/quay/app:1`).
    pub reference: String,
    pub insecure: bool,
    pub mirror: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    #[serde(default)]
    registry: Vec<RawRegistry>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    pull_from_mirror: String,
    #[serde(default)]
    mirror: Vec<RawMirror>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    pull_from_mirror: String,
}

/// A location or prefix without trailing slashes; URI schemes are refused.
fn location(input: &str) -> Result<String, String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!("invalid location `{input}`: URI schemes are not supported"));
    }
    Ok(trimmed.to_string())
}

/// One file's text (`file` names it in tables and messages); the error says why containers/image
/// would refuse it.
pub fn parse(text: &str, file: &str) -> Result<Registries, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut tables: Vec<RegistryTable> = Vec::new();
    for r in raw.registry {
        let location = location(&r.location)?;
        let prefix = if r.prefix.is_empty() {
            if location.is_empty() {
                return Err("a [[registry]] table sets neither location nor prefix".into());
            }
            location.clone()
        } else {
            let prefix = self::location(&r.prefix)?;
            if !prefix.starts_with("*.") && location.is_empty() {
                return Err(format!(
                    "[[registry]] `{prefix}`: location is unset and prefix is not *.example.com"
                ));
            }
            if prefix.starts_with("*.") && prefix.contains(['/', '@', ':']) {
                return Err(format!("wildcarded prefix `{prefix}` must be *.example.com"));
            }
            prefix
        };
        if !r.pull_from_mirror.is_empty() {
            return Err(format!("pull-from-mirror must not be set for a non-mirror registry `{prefix}`"));
        }
        let mut mirrors = Vec::new();
        for m in r.mirror {
            let mirror_location = self::location(&m.location)?;
            if mirror_location.is_empty() {
                return Err(format!("[[registry]] `{prefix}`: a mirror has no location"));
            }
            if r.mirror_by_digest_only && !m.pull_from_mirror.is_empty() {
                return Err(format!(
                    "[[registry]] `{prefix}`: mirror-by-digest-only and the pull-from-mirror of mirror \
                     `{mirror_location}` cannot both be set"
                ));
            }
            if !["", "all", "digest-only", "tag-only"].contains(&m.pull_from_mirror.as_str()) {
                return Err(format!(
                    "unsupported pull-from-mirror value `{}` for mirror `{mirror_location}`",
                    m.pull_from_mirror
                ));
            }
            mirrors.push(Mirror {
                location: mirror_location,
                insecure: m.insecure,
                pull_from_mirror: Some(m.pull_from_mirror).filter(|p| !p.is_empty()),
            });
        }
        // The first table of a prefix wins; later ones with the same prefix are ignored.
        if tables.iter().any(|t| t.prefix == prefix) {
            continue;
        }
        tables.push(RegistryTable {
            prefix,
            location,
            insecure: r.insecure,
            blocked: r.blocked,
            mirror_by_digest_only: r.mirror_by_digest_only,
            mirrors,
            file: file.to_string(),
        });
    }
    tables.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    Ok(Registries {
        files: vec![file.to_string()],
        unqualified_search_registries: raw.unqualified_search_registries,
        short_name_mode: raw.short_name_mode,
        registries: tables,
    })
}

impl Registries {
    /// Apply a drop-in over this configuration: its tables replace those of the same prefix,
    /// its settings replace those it sets.
    pub fn merge(&mut self, later: Registries) {
        for table in later.registries {
            match self.registries.iter_mut().find(|t| t.prefix == table.prefix) {
                Some(existing) => *existing = table,
                None => self.registries.push(table),
            }
        }
        self.registries.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        if later.unqualified_search_registries.is_some() {
            self.unqualified_search_registries = later.unqualified_search_registries;
        }
        if later.short_name_mode.is_some() {
            self.short_name_mode = later.short_name_mode;
        }
        self.files.extend(later.files);
    }

    /// The table with the longest prefix matching `name` (`registry/repository`), if any.
    pub fn find(&self, name: &str) -> Option<&RegistryTable> {
        let mut best: Option<&RegistryTable> = None;
        for t in &self.registries {
            if matching_prefix(name, &t.prefix).is_some()
                && best.is_none_or(|b| t.prefix.len() > b.prefix.len())
            {
                best = Some(t);
            }
        }
        best
    }

    /// Where a pull of `reference` (fully qualified, `name:tag` or `name@digest`, `name` its
    /// repository) is sent, in order: the mirrors that apply, then the primary location.
    pub fn pull_sources(&self, name: &str, reference: &str) -> Vec<PullSource> {
        let Some(table) = self.find(name) else {
            return vec![PullSource { reference: reference.to_string(), insecure: false, mirror: false }];
        };
        let digested = reference.contains('@');
        let mut out = Vec::new();
        for m in &table.mirrors {
            let applies = if table.mirror_by_digest_only {
                digested
            } else {
                match m.pull_from_mirror.as_deref() {
                    Some("digest-only") => digested,
                    Some("tag-only") => !digested,
                    _ => true,
                }
            };
            if applies {
                out.push(PullSource {
                    reference: rewrite(reference, &table.prefix, &m.location),
                    insecure: m.insecure,
                    mirror: true,
                });
            }
        }
        out.push(PullSource {
            reference: rewrite(reference, &table.prefix, &table.location),
            insecure: table.insecure,
            mirror: false,
        });
        out
    }
}

/// `location` + what follows `prefix` in `reference`; an empty location (a wildcard prefix)
/// keeps the reference.
fn rewrite(reference: &str, prefix: &str, location: &str) -> String {
    match matching_prefix(reference, prefix) {
        Some(len) if !location.is_empty() => format!("{location}{}", &reference[len..]),
        _ => reference.to_string(),
    }
}

/// The length of the part of `reference` that `prefix` matches: the whole prefix followed by
/// the end, `/`, `:` or `@`; `*.example.com` matches any subdomain of the first component.
fn matching_prefix(reference: &str, prefix: &str) -> Option<usize> {
    let ends_a_component =
        |at: usize| at == reference.len() || matches!(reference.as_bytes()[at], b':' | b'/' | b'@');
    if let Some(domain) = prefix.strip_prefix('*') {
        let index = reference.find(domain)?;
        if reference[..index].contains('/') {
            return None;
        }
        let end = index + domain.len();
        return ends_a_component(end).then_some(end);
    }
    (reference.starts_with(prefix) && ends_a_component(prefix.len())).then_some(prefix.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
unqualified-search-registries = ["quay.io"]
[[registry]]
prefix = "quay.io/acme"
location = "mirror.example:5000/acme-primary"
[[registry.mirror]]
location = "mirror.example:5000/quay-acme"
[[registry.mirror]]
location = "tags.example/acme"
pull-from-mirror = "tag-only"

[[registry]]
location = "registry.example"
mirror-by-digest-only = true
[[registry.mirror]]
location = "digests.example/r"

[[registry]]
prefix = "*.wild.example"
blocked = true

[[registry]]
prefix = "quay.io/acme"
location = "ignored.example"
"#;

    fn sources(r: &Registries, name: &str, reference: &str) -> Vec<String> {
        r.pull_sources(name, reference).into_iter().map(|s| s.reference).collect()
    }

    #[test]
    fn mirrors_then_the_primary_with_the_prefix_rewritten() {
        let r = parse(CONF, "registries.conf").unwrap();
        assert_eq!(r.registries.len(), 3, "the second quay.io/acme table is ignored");
        assert_eq!(
            sources(&r, "quay.io/acme/app", "quay.io/acme/app:1"),
            [
                "mirror.example:5000/quay-acme/app:1",
                "tags.example/acme/app:1",
                "mirror.example:5000/acme-primary/app:1"
            ]
        );
        // tag-only mirrors are not asked for digests.
        assert_eq!(
            sources(&r, "quay.io/acme/app", "quay.io/acme/app@sha256:ab"),
            ["mirror.example:5000/quay-acme/app@sha256:ab", "mirror.example:5000/acme-primary/app@sha256:ab"]
        );
        // mirror-by-digest-only: tags go to the primary.
        assert_eq!(sources(&r, "registry.example/x", "registry.example/x:1"), ["registry.example/x:1"]);
        assert_eq!(
            sources(&r, "registry.example/x", "registry.example/x@sha256:ab"),
            ["digests.example/r/x@sha256:ab", "registry.example/x@sha256:ab"]
        );
        // No table: the reference itself. A prefix is a whole component.
        assert_eq!(sources(&r, "quay.io/acmeco/app", "quay.io/acmeco/app:1"), ["quay.io/acmeco/app:1"]);
        assert!(r.find("a.b.wild.example/x").is_some_and(|t| t.blocked));
        assert!(r.find("wild.example/x").is_none());
        assert!(r.find("evil.example/a.wild.example/x").is_none());
    }

    #[test]
    fn drop_ins_replace_tables_by_prefix_and_settings_they_set() {
        let mut r = parse(CONF, "registries.conf").unwrap();
        let drop_in =
            parse("[[registry]]\nlocation = \"registry.example\"\ninsecure = true\n", "50-x.conf").unwrap();
        r.merge(drop_in);
        let t = r.find("registry.example/x").unwrap();
        assert!(t.insecure && t.mirrors.is_empty() && t.file == "50-x.conf");
        assert_eq!(r.unqualified_search_registries.as_deref(), Some(&["quay.io".to_string()][..]));
        assert_eq!(r.files, ["registries.conf", "50-x.conf"]);
    }

    #[test]
    fn what_containers_image_refuses() {
        for (text, says) in [
            ("[[registry]]\nlocation = \"https://x.example\"\n", "URI schemes"),
            ("[[registry]]\ninsecure = true\n", "neither location nor prefix"),
            ("[[registry]]\nprefix = \"x.example\"\n", "location is unset"),
            ("[[registry]]\nprefix = \"*.x.example/a\"\n", "wildcarded prefix"),
            ("[[registry]]\nlocation = \"x\"\npull-from-mirror = \"all\"\n", "non-mirror"),
            ("[[registry]]\nlocation = \"x\"\n[[registry.mirror]]\ninsecure = true\n", "no location"),
            (
                "[[registry]]\nlocation = \"x\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"all\"\n",
                "cannot both",
            ),
            (
                "[[registry]]\nlocation = \"x\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"some\"\n",
                "unsupported",
            ),
            ("[[registry]\n", "unclosed"),
        ] {
            let err = parse(text, "f").unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
