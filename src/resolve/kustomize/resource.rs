//! A resource in a kustomize build and the selectors that pick resources (patch targets,
//! replacement sources and targets).

use crate::text::tree::Val;
use regex::Regex;

/// One object of the build. Kustomize matches patches against every name a resource had
/// (its original id and its current one), so renames (`namePrefix`, `namespace`) are kept.
///
/// The names are kept as the current name and the lengths of each rename's prefix and suffix:
/// a rename wraps the name before it, so every earlier name is a slice of the current one. A
/// resource renamed at each of N nested overlays keeps N pairs of lengths, not N names of up
/// to N prefixes each (which grew with the square of the depth, and with its cube over a
/// chain adding a resource at each level).
#[derive(Clone, Debug)]
pub struct Resource {
    pub obj: Val,
    /// The current name.
    name: String,
    /// The byte lengths of the prefix and suffix each rename added, oldest first.
    renames: Vec<(usize, usize)>,
    /// Namespaces it had, the original first (`None`: none set).
    pub namespaces: Vec<Option<String>>,
}

impl Resource {
    pub fn new(obj: Val) -> Self {
        let name = obj.str_at(&["metadata", "name"]).unwrap_or("").to_string();
        let namespace = obj.str_at(&["metadata", "namespace"]).map(str::to_string);
        Resource { obj, name, renames: Vec::new(), namespaces: vec![namespace] }
    }

    pub fn kind(&self) -> &str {
        self.obj.str_at(&["kind"]).unwrap_or("")
    }

    /// (group, version) of `apiVersion`.
    pub fn group_version(&self) -> (&str, &str) {
        let api = self.obj.str_at(&["apiVersion"]).unwrap_or("");
        api.split_once('/').unwrap_or(("", api))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name the resource was written with.
    pub fn original_name(&self) -> &str {
        self.names().next().unwrap_or("")
    }

    /// Every name the resource had, the original first, the current one last.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let (mut start, mut end) =
            self.renames.iter().fold((0, self.name.len()), |(s, e), (p, x)| (s + p, e - x));
        std::iter::once(&self.name[start..end]).chain(self.renames.iter().map(move |(p, x)| {
            start -= p;
            end += x;
            &self.name[start..end]
        }))
    }

    /// Rename to `prefix` + the current name + `suffix` (`namePrefix`, `nameSuffix`).
    pub fn add_prefix_suffix(&mut self, prefix: &str, suffix: &str) {
        self.name = format!("{prefix}{}{suffix}", self.name);
        if let Some(meta) = self.obj.get_mut("metadata") {
            meta.set("name", Val::scalar(self.name.clone(), None));
        }
        self.renames.push((prefix.len(), suffix.len()));
    }

    pub fn set_namespace(&mut self, namespace: String) {
        if self.obj.get("metadata").is_none() {
            self.obj.set("metadata", Val::new(crate::text::tree::V::Map(Vec::new()), None));
        }
        if let Some(meta) = self.obj.get_mut("metadata") {
            meta.set("namespace", Val::scalar(namespace.clone(), None));
        }
        self.namespaces.push(Some(namespace));
    }

    /// Whether the resource is (or was) known by this name and namespace; a patch without
    /// a namespace matches a resource whose namespace was unset or `default` at some point.
    pub fn known_as(&self, name: &str, namespace: Option<&str>) -> bool {
        self.names().any(|n| n == name)
            && match namespace {
                Some(ns) => self.namespaces.iter().any(|n| n.as_deref().unwrap_or("default") == ns),
                None => self.namespaces.iter().any(|n| matches!(n.as_deref(), None | Some("default"))),
            }
    }
}

/// Kinds that have no namespace, so `namespace:` leaves them alone.
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "PriorityClass"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "CSIDriver"
            | "CSINode"
            | "IngressClass"
            | "RuntimeClass"
            | "Node"
            | "SecurityContextConstraints"
    )
}

/// A patch target or replacement selector that cannot be read.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SelectorError {
    /// `kind`, `name` or `namespace` is not a regular expression.
    #[error("target {field} `{pattern}`: {source}")]
    Regex { field: &'static str, pattern: String, source: regex::Error },
    /// A label or annotation selector that is not in the Kubernetes syntax.
    #[error("selector `{text}` cannot be read")]
    Requirements { text: String },
}

/// A patch target / replacement selector: every field optional, `kind`, `name` and
/// `namespace` are anchored regular expressions (as in kustomize), label and annotation
/// selectors use the Kubernetes selector syntax.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<Vec<Requirement>>,
    annotations: Option<Vec<Requirement>>,
}

impl Selector {
    /// Read a selector mapping; an invalid expression is an error.
    pub fn from_val(v: &Val) -> Result<Selector, SelectorError> {
        let text = |k: &str| v.get(k).and_then(Val::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let regex = |field: &'static str| -> Result<Option<Regex>, SelectorError> {
            text(field)
                .map(|pattern| {
                    Regex::new(&format!("^(?:{pattern})$")).map_err(|source| SelectorError::Regex {
                        field,
                        pattern,
                        source,
                    })
                })
                .transpose()
        };
        let mut s = Selector {
            group: text("group"),
            version: text("version"),
            kind: regex("kind")?,
            name: regex("name")?,
            namespace: regex("namespace")?,
            labels: text("labelSelector").map(|t| parse_requirements(&t)).transpose()?,
            annotations: text("annotationSelector").map(|t| parse_requirements(&t)).transpose()?,
        };
        // `apiVersion: apps/v1` in replacement sources is shorthand for group and version.
        if let Some(api) = text("apiVersion") {
            let (g, ver) = api.split_once('/').unwrap_or(("", &api));
            s.group.get_or_insert(g.to_string());
            s.version.get_or_insert(ver.to_string());
        }
        Ok(s)
    }

    /// Whether the resource matches by any name and namespace it had (replacement sources and
    /// targets, like kustomize's `GetMatchingResourcesByAnyId`).
    pub fn matches(&self, r: &Resource) -> bool {
        self.matches_ids(r, false)
    }

    /// Whether a patch `target` selects the resource: by its original or its current name and
    /// namespace only, not one it had in between (kustomize's `Select` compares `OrgId` and
    /// `CurId`).
    pub fn targets(&self, r: &Resource) -> bool {
        self.matches_ids(r, true)
    }

    fn matches_ids(&self, r: &Resource, ends_only: bool) -> bool {
        let in_namespace = |n: &Regex, ns: &Option<String>| n.is_match(ns.as_deref().unwrap_or("default"));
        let (group, version) = r.group_version();
        self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
            && self.kind.as_ref().is_none_or(|k| k.is_match(r.kind()))
            && self.name.as_ref().is_none_or(|n| match ends_only {
                true => n.is_match(r.original_name()) || n.is_match(r.name()),
                false => r.names().any(|name| n.is_match(name)),
            })
            && self.namespace.as_ref().is_none_or(|n| match ends_only {
                true => [r.namespaces.first(), r.namespaces.last()]
                    .into_iter()
                    .flatten()
                    .any(|ns| in_namespace(n, ns)),
                false => r.namespaces.iter().any(|ns| in_namespace(n, ns)),
            })
            && self.labels.as_ref().is_none_or(|req| satisfied(req, &r.obj.metadata_pairs("labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|req| satisfied(req, &r.obj.metadata_pairs("annotations")))
    }
}

#[derive(Clone, Debug)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn satisfied(reqs: &[Requirement], pairs: &[(&str, &str)]) -> bool {
    let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    reqs.iter().all(|r| match r {
        Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
        Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
        Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    })
}

/// `app=web,tier!=db,env in (a,b),!legacy,debug`.
fn parse_requirements(text: &str) -> Result<Vec<Requirement>, SelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let set = |s: &str| -> Vec<String> {
        s.trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(|v| v.trim().to_string())
            .collect()
    };
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            if let Some((k, v)) = p.split_once("!=") {
                Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Ok(Requirement::Equals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = p.split_once(" notin ") {
                Ok(Requirement::NotIn(k.trim().into(), set(v)))
            } else if let Some((k, v)) = p.split_once(" in ") {
                Ok(Requirement::In(k.trim().into(), set(v)))
            } else if let Some(k) = p.strip_prefix('!') {
                Ok(Requirement::NotExists(k.trim().into()))
            } else if p.contains(char::is_whitespace) {
                Err(SelectorError::Requirements { text: text.to_string() })
            } else {
                Ok(Requirement::Exists(p.into()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(name: &str) -> Resource {
        let docs = crate::resolve::kustomize::build::documents(
            "r.yaml",
            &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"),
        );
        Resource::new(docs.into_iter().next().unwrap())
    }

    /// Every earlier name is a slice of the current one; patches still find each of them.
    #[test]
    fn every_name_a_resource_had_is_kept() {
        let mut r = resource("app");
        assert_eq!(r.names().collect::<Vec<_>>(), ["app"]);
        for (prefix, suffix) in [("a-", ""), ("", "-z"), ("", ""), ("é-", "-ü"), ("b-", "-y")] {
            r.add_prefix_suffix(prefix, suffix);
        }
        assert_eq!(
            r.names().collect::<Vec<_>>(),
            ["app", "a-app", "a-app-z", "a-app-z", "é-a-app-z-ü", "b-é-a-app-z-ü-y"]
        );
        assert_eq!(r.name(), "b-é-a-app-z-ü-y");
        assert_eq!(r.obj.str_at(&["metadata", "name"]), Some("b-é-a-app-z-ü-y"));
        assert!(r.known_as("a-app-z", None) && r.known_as("app", None));
        assert!(!r.known_as("a-app-ü", None));
        // A patch target selects by the original or the current name only; a replacement by any.
        let selector = |pattern: &str| {
            let doc =
                &crate::resolve::kustomize::build::documents("t.yaml", &format!("name: \"{pattern}\"\n"))[0];
            Selector::from_val(doc).unwrap()
        };
        for pattern in ["app", "b-é-a-app-z-ü-y", "b-.*-y", "a.*"] {
            assert!(selector(pattern).targets(&r) && selector(pattern).matches(&r), "{pattern}");
        }
        for pattern in ["a-app-z", "é-a-.*-ü"] {
            assert!(!selector(pattern).targets(&r) && selector(pattern).matches(&r), "{pattern}");
        }
        assert!(!selector("b-a.*").matches(&r));
    }

    #[test]
    fn label_selectors() {
        let req = parse_requirements("app=web, tier in (a,b),!legacy,debug,x!=y").unwrap();
        assert!(satisfied(&req, &[("app", "web"), ("tier", "b"), ("debug", "")]));
        assert!(!satisfied(&req, &[("app", "web"), ("tier", "c"), ("debug", "")]));
        assert!(!satisfied(&req, &[("app", "web"), ("tier", "a"), ("debug", ""), ("legacy", "1")]));
    }
}
