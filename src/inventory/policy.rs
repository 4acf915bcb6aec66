//! The signature policy skopeo applies to the copy step's `dir:` sources
//! (containers-policy.json(5)): a copy the policy rejects fails like any other.
//!
//! Scopes of the `dir` transport are absolute directories matching the copy and everything
//! below them; the most specific scope wins, then the transport's `""`, then the mandatory
//! global `default`. Every requirement of the chosen list must hold: `insecureAcceptAnything`
//! accepts, `reject` rejects, and `signedBy` / `sigstoreSigned` need signatures stowage does not
//! verify, so they are taken as failing (the conservative side). The file is parsed strictly,
//! as containers/image parses it: one it refuses fails every copy.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The policy file skopeo reads as root on the device (`$HOME/.config` is `/var/roothome`,
/// which an image does not set).
pub const POLICY_JSON: &str = "/etc/containers/policy.json";

/// The policy as the device would apply it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Policy {
    /// No policy file in the image: the distribution's default (containers-common installs
    /// one accepting `dir:` sources) is assumed.
    Absent,
    /// containers/image refuses the file: every copy fails.
    Refused(String),
    Parsed(PolicyFile),
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    default: Vec<Requirement>,
    #[serde(default)]
    transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
struct Requirement {
    #[serde(rename = "type")]
    kind: String,
}

const KNOWN: [&str; 5] =
    ["insecureAcceptAnything", "reject", "signedBy", "sigstoreSigned", "signedBaseLayer"];

impl Policy {
    pub fn parse(bytes: Option<&[u8]>) -> Policy {
        let Some(bytes) = bytes else { return Policy::Absent };
        let file: PolicyFile = match serde_json::from_slice(bytes) {
            Ok(f) => f,
            Err(e) => {
                return Policy::Refused(format!(
                    "{POLICY_JSON} is not a policy containers/image accepts: {e}"
                ));
            }
        };
        let lists = std::iter::once(&file.default).chain(file.transports.values().flat_map(|t| t.values()));
        for list in lists {
            if list.is_empty() {
                return Policy::Refused(format!("{POLICY_JSON} has an empty list of requirements"));
            }
            if let Some(r) = list.iter().find(|r| !KNOWN.contains(&r.kind.as_str())) {
                return Policy::Refused(format!(
                    "{POLICY_JSON} has an unknown requirement type `{}`",
                    r.kind
                ));
            }
        }
        Policy::Parsed(file)
    }

    /// Why skopeo refuses `dir:PATH` as a copy source, or `None` when the policy accepts it.
    pub fn refuses_dir(&self, path: &str) -> Option<String> {
        let file = match self {
            Policy::Absent => return None,
            Policy::Refused(why) => return Some(why.clone()),
            Policy::Parsed(file) => file,
        };
        let dir = file.transports.get("dir");
        let scoped = dir.and_then(|scopes| {
            scopes
                .iter()
                .filter(|(scope, _)| {
                    !scope.is_empty()
                        && (path == scope.as_str()
                            || path
                                .strip_prefix(scope.trim_end_matches('/'))
                                .is_some_and(|r| r.starts_with('/')))
                })
                .max_by_key(|(scope, _)| scope.len())
        });
        let (scope, list) = match (scoped, dir.and_then(|s| s.get(""))) {
            (Some((scope, list)), _) => (format!("its `dir` scope `{scope}`"), list),
            (None, Some(list)) => ("its `dir` default".to_string(), list),
            (None, None) => ("its global default".to_string(), &file.default),
        };
        let failing = list.iter().find(|r| r.kind != "insecureAcceptAnything")?;
        Some(match failing.kind.as_str() {
            "reject" => {
                format!("{POLICY_JSON} rejects it ({scope} is `reject`): skopeo refuses the source image")
            }
            kind => format!(
                "{POLICY_JSON} requires a signature for it ({scope} is `{kind}`), which stowage does not verify: \
                 skopeo refuses an unsigned copy"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        Policy::parse(Some(text.as_bytes()))
    }

    #[test]
    fn the_most_specific_dir_scope_then_the_transport_default_then_the_global_one() {
        let p = policy(
            r#"{"default":[{"type":"reject"}],
                "transports":{"dir":{"":[{"type":"insecureAcceptAnything"}],
                                     "/usr/lib/containers/storage/locked":[{"type":"reject"}]},
                              "docker":{"quay.io":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}}}"#,
        );
        assert_eq!(p.refuses_dir("/usr/lib/containers/storage/abc"), None);
        let why = p.refuses_dir("/usr/lib/containers/storage/locked").unwrap();
        assert!(why.contains("`/usr/lib/containers/storage/locked` is `reject`"), "{why}");
        assert!(p.refuses_dir("/usr/lib/containers/storage/locked/x").is_some());
        assert_eq!(p.refuses_dir("/usr/lib/containers/storage/lockedx"), None, "a scope is a directory");
        let global = policy(r#"{"default":[{"type":"reject"}]}"#);
        assert!(global.refuses_dir("/usr/lib/containers/storage/abc").unwrap().contains("global default"));
        let signed = policy(
            r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"dir":{"":[{"type":"sigstoreSigned","keyPath":"/k"}]}}}"#,
        );
        assert!(signed.refuses_dir("/x/y").unwrap().contains("requires a signature"));
        let open = policy(r#"{"default":[{"type":"insecureAcceptAnything"}]}"#);
        assert_eq!(open.refuses_dir("/usr/lib/containers/storage/abc"), None);
    }

    #[test]
    fn a_file_containers_image_refuses_fails_every_copy() {
        for text in [
            "{",
            r#"{"transports":{}}"#,
            r#"{"default":[]}"#,
            r#"{"default":[{"type":"acceptEverything"}]}"#,
            r#"{"default":[{"type":"insecureAcceptAnything"}],"extra":1}"#,
        ] {
            assert!(matches!(policy(text), Policy::Refused(_)), "{text}");
            assert!(policy(text).refuses_dir("/a").is_some(), "{text}");
        }
        assert_eq!(Policy::parse(None).refuses_dir("/a"), None);
    }
}
