//! A resource in a kustomize build and the selectors that pick resources (patch targets,
//! replacement sources and targets).

use crate::text::tree::Val;
use regex::Regex;

/// One object of the build. Kustomize matches patches against every name a resource had
/// (its original id and its current one), so renames (`namePrefix`, `namespace`) are kept.
#[derive(Clone, Debug)]
pub struct Resource {
    pub obj: Val,
    /// Names the resource had, the original first.
    pub names: Vec<String>,
    /// Namespaces it had, the original first (`None`: none set).
    pub namespaces: Vec<Option<String>>,
}

impl Resource {
    pub fn new(obj: Val) -> Self {
        let name = obj.str_at(&["metadata", "name"]).unwrap_or("").to_string();
        let namespace = obj.str_at(&["metadata", "namespace"]).map(str::to_string);
        Resource { obj, names: vec![name], namespaces: vec![namespace] }
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
        self.names.last().map_or("", String::as_str)
    }

    pub fn set_name(&mut self, name: String) {
        if let Some(meta) = self.obj.get_mut("metadata") {
            meta.set("name", Val::scalar(name.clone(), None));
        }
        self.names.push(name);
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
        self.names.iter().any(|n| n == name)
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

    pub fn matches(&self, r: &Resource) -> bool {
        let (group, version) = r.group_version();
        self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
            && self.kind.as_ref().is_none_or(|k| k.is_match(r.kind()))
            && self.name.as_ref().is_none_or(|n| r.names.iter().any(|name| n.is_match(name)))
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| r.namespaces.iter().any(|ns| n.is_match(ns.as_deref().unwrap_or("default"))))
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

    #[test]
    fn label_selectors() {
        let req = parse_requirements("app=web, tier in (a,b),!legacy,debug,x!=y").unwrap();
        assert!(satisfied(&req, &[("app", "web"), ("tier", "b"), ("debug", "")]));
        assert!(!satisfied(&req, &[("app", "web"), ("tier", "c"), ("debug", "")]));
        assert!(!satisfied(&req, &[("app", "web"), ("tier", "a"), ("debug", ""), ("legacy", "1")]));
    }
}
