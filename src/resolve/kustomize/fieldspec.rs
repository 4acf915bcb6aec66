//! Transformer field specs (`configurations:` files, kustomize's `builtinpluginconsts`): the
//! objects a spec selects by group, version and kind, and the `/`-separated path it names.
//!
//! Semantics of kustomize v5.5 (api/types/fieldspec.go, api/filters/fieldspec,
//! api/internal/plugins/builtinconfig), kept exactly because they decide which images
//! `images:` rewrites:
//! - A path is walked from the object: a sequence met on the way is walked item by item with
//!   the same rest of the path (whether or not the key says `[]`), a missing field or a null
//!   ends the walk, a scalar before the end is an error, and so is an empty field name.
//! - Lists of specs are merged one spec at a time: a spec whose path equals that of a spec
//!   already there, and whose group, version and kind select it, is a restatement and is
//!   dropped — or, when the two disagree on `create`, the build fails ("conflicting
//!   fieldspecs", kustomize#658, #664). After every merge the list is sorted by kind and group,
//!   so a specific spec comes before a general one with the same path, and merging that list
//!   again (into the next accumulator) drops the general one — or fails (kustomize#5733).

use crate::text::tree::{Pos, V, Val};

/// One field spec.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
    /// Where it was written; `None` for kustomize's built-in specs.
    pub pos: Option<Pos>,
    /// The path's field names.
    segments: Vec<String>,
}

/// Kustomize's built-in `images` field specs (`builtinpluginconsts/images.go`): the container
/// lists of a pod spec and of a pod template, in objects of any kind, `create: true`.
const DEFAULT_IMAGE_PATHS: [&str; 4] = [
    "spec/containers[]/image",
    "spec/initContainers[]/image",
    "spec/template/spec/containers[]/image",
    "spec/template/spec/initContainers[]/image",
];

impl FieldSpec {
    pub fn new(
        group: String,
        version: String,
        kind: String,
        path: String,
        create: bool,
        pos: Option<Pos>,
    ) -> Self {
        let segments = split_path(&path);
        FieldSpec { group, version, kind, path, create, pos, segments }
    }

    fn builtin(path: &str) -> Self {
        FieldSpec::new(String::new(), String::new(), String::new(), path.to_string(), true, None)
    }

    /// The path's field names (kustomize's `PathSplitter`: one leading `/` is dropped, `\/`
    /// escapes a `/`).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether kustomize takes `other` for the same spec as this one (`effectivelyEquals`):
    /// the same path, and `other`'s group, version and kind, where set, equal to this one's.
    /// Not symmetric: a kindless spec restates one for a kind, not the other way round.
    fn restated_by(&self, other: &FieldSpec) -> bool {
        let selects = |mine: &str, theirs: &str| theirs.is_empty() || mine == theirs;
        self.path == other.path
            && selects(&self.group, &other.group)
            && selects(&self.version, &other.version)
            && selects(&self.kind, &other.kind)
    }

    /// Whether the spec applies to an object of this `apiVersion` and `kind`.
    pub fn selects(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
    }

    /// Kustomize's order of specs (`Gvk.IsLessThan`): by the rank of the kind, then by
    /// `group_version_kind` with an unset part written `~G`, `~V`, `~K` (after any name).
    /// The order only decides which of a spec and one restating it a later merge keeps; for
    /// such a pair the kinds kustomize ranks first change nothing (the specific spec sorts
    /// first anyway, an unset part sorting last), so only the two kinds it ranks last (after
    /// a kindless spec) are told apart here.
    fn order_key(&self) -> (u8, String) {
        let rank = match self.kind.as_str() {
            "MutatingWebhookConfiguration" => 2,
            "ValidatingWebhookConfiguration" => 3,
            _ => 1,
        };
        let or = |s: &str, unset: &str| if s.is_empty() { unset.to_string() } else { s.to_string() };
        (rank, format!("{}_{}_{}", or(&self.group, "~G"), or(&self.version, "~V"), or(&self.kind, "~K")))
    }

    /// The spec as a message shows it: its path, and the kind, group and version it is for.
    pub fn describe(&self) -> String {
        let mut gvk: Vec<String> = Vec::new();
        for (key, value) in [("kind", &self.kind), ("group", &self.group), ("version", &self.version)] {
            if !value.is_empty() {
                gvk.push(format!("{key} {value}"));
            }
        }
        if gvk.is_empty() {
            format!("`{}`", self.path)
        } else {
            format!("`{}` ({})", self.path, gvk.join(", "))
        }
    }
}

/// A path's field names, as kustomize's `PathSplitter` splits it.
fn split_path(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut out: Vec<String> = Vec::new();
    for part in parts {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

/// Two specs for the same path that disagree on `create`: `kubectl kustomize` fails.
#[derive(Clone, Debug)]
pub struct Conflict {
    pub existing: FieldSpec,
    pub incoming: FieldSpec,
}

impl Conflict {
    /// Where to report it: the spec written last that was written at all.
    pub fn pos(&self) -> Option<&Pos> {
        self.incoming.pos.as_ref().or(self.existing.pos.as_ref())
    }

    pub fn message(&self) -> String {
        let other = match &self.existing.pos {
            Some(p) if self.incoming.pos.is_some() => format!("the one at {}", p.location()),
            Some(_) => format!("kustomize's built-in spec {}", self.incoming.describe()),
            None => "kustomize's built-in one".to_string(),
        };
        let written = if self.incoming.pos.is_some() { &self.incoming } else { &self.existing };
        format!(
            "`images` field spec {} conflicts with {other} (`create` differs): kubectl kustomize fails with \"conflicting fieldspecs\"",
            written.describe()
        )
    }
}

/// The `images` field specs an accumulation of resources carries (kustomize's
/// `TransformerConfig.Images`).
#[derive(Clone, Debug, Default)]
pub struct ImageFieldSpecs {
    pub specs: Vec<FieldSpec>,
}

impl ImageFieldSpecs {
    pub fn builtin() -> Self {
        ImageFieldSpecs { specs: DEFAULT_IMAGE_PATHS.iter().map(|p| FieldSpec::builtin(p)).collect() }
    }

    /// `incoming` merged into these specs, then sorted (`FsSlice.MergeAll`, then `sortFields`);
    /// a spec that conflicts is left out and returned.
    pub fn merge(&mut self, incoming: &[FieldSpec]) -> Vec<Conflict> {
        let mut conflicts = Vec::new();
        for spec in incoming {
            match self.specs.iter().find(|s| s.restated_by(spec)) {
                Some(s) if s.create != spec.create => {
                    conflicts.push(Conflict { existing: s.clone(), incoming: spec.clone() })
                }
                Some(_) => {}
                None => self.specs.push(spec.clone()),
            }
        }
        self.sort();
        conflicts
    }

    /// Sorted as kustomize sorts a list it read (`makeTransformerConfigFromBytes`).
    pub fn sort(&mut self) {
        self.specs.sort_by_cached_key(FieldSpec::order_key);
    }

    /// The specs a `configurations:` file wrote (not kustomize's own).
    pub fn written(&self) -> impl Iterator<Item = &FieldSpec> {
        self.specs.iter().filter(|s| s.pos.is_some())
    }
}

/// What stops kustomize's walk of a field spec (the build fails).
#[derive(Clone, Debug)]
pub struct WalkError {
    pub message: String,
    pub pos: Option<Pos>,
}

/// The type of a value, as messages name it.
pub fn type_name(v: &Val) -> &'static str {
    match v.v {
        V::Null => "null",
        V::Scalar(_) => "string",
        V::Seq(_) => "list",
        V::Map(_) => "mapping",
    }
}

/// Call `at` on every value `segments` reach from `node` (see the module doc); what stops
/// kustomize is returned (the walk goes on elsewhere).
pub fn walk_mut(
    node: &mut Val,
    segments: &[String],
    path: &str,
    at: &mut dyn FnMut(&mut Val) -> Option<WalkError>,
    errors: &mut Vec<WalkError>,
) {
    let Some((first, rest)) = segments.split_first() else {
        errors.extend(at(node));
        return;
    };
    match &mut node.v {
        V::Null => {}
        V::Seq(items) => items.iter_mut().for_each(|item| walk_mut(item, segments, path, at, errors)),
        V::Map(_) => {
            let name = first.strip_suffix("[]").unwrap_or(first);
            if name.is_empty() {
                errors.push(WalkError { message: empty_name(path), pos: node.pos.clone() });
            } else if let Some(child) = node.get_mut(name) {
                walk_mut(child, rest, path, at, errors);
            }
        }
        V::Scalar(_) => {
            errors.push(WalkError { message: not_a_container(path, node), pos: node.pos.clone() })
        }
    }
}

/// The values `segments` reach from `node`, as [`walk_mut`] finds them (errors left out: the
/// build reports them).
pub fn select<'v>(node: &'v Val, segments: &[String], out: &mut Vec<&'v Val>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(node);
        return;
    };
    match &node.v {
        V::Seq(items) => items.iter().for_each(|item| select(item, segments, out)),
        V::Map(_) => {
            let name = first.strip_suffix("[]").unwrap_or(first);
            if let Some(child) = node.get(name).filter(|_| !name.is_empty()) {
                select(child, rest, out);
            }
        }
        V::Null | V::Scalar(_) => {}
    }
}

fn empty_name(path: &str) -> String {
    format!("field spec `{path}` has an empty field name: kubectl kustomize fails on it")
}

fn not_a_container(path: &str, node: &Val) -> String {
    format!(
        "field spec `{path}` reaches a {} before its end, not a mapping or list: kubectl kustomize fails on it (\"expected sequence or mapping node\")",
        type_name(node)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str, group: &str, path: &str, create: bool) -> FieldSpec {
        let file = std::sync::Arc::new(crate::text::SourceText::from_str("conf.yaml", ""));
        FieldSpec::new(
            group.into(),
            String::new(),
            kind.into(),
            path.into(),
            create,
            Some(Pos::new(&file, 0..0)),
        )
    }

    fn paths(s: &ImageFieldSpecs) -> Vec<String> {
        s.specs.iter().map(|s| format!("{}:{}", s.kind, s.path)).collect()
    }

    /// What `kubectl kustomize` v5.5 does with a `configurations:` file (checked on
    /// fixtures/kustomize/configurations-*): a general spec after a specific one for the same
    /// path is dropped, the other way round both stay.
    #[test]
    fn merges_like_kustomize() {
        const P: &str = "spec/template/spec/containers/image";
        // Written kindless then for Deployment: read and sorted, Deployment first, so the
        // kindless one restates it and is dropped.
        let mut file =
            ImageFieldSpecs { specs: vec![spec("", "", P, false), spec("Deployment", "", P, false)] };
        file.sort();
        let mut loaded = ImageFieldSpecs::default();
        assert!(loaded.merge(&file.specs).is_empty());
        assert_eq!(paths(&loaded), [format!("Deployment:{P}")]);
        // Kindless first and never sorted before the merge: both stay.
        let mut both = ImageFieldSpecs { specs: vec![spec("", "", P, false)] };
        assert!(both.merge(&[spec("Deployment", "", P, false)]).is_empty());
        assert_eq!(both.specs.len(), 2);
        // The built-in kindless spec restated without `create`: a conflict.
        let mut own = ImageFieldSpecs::builtin();
        let conflicts = own.merge(&[spec("", "", "spec/template/spec/containers[]/image", false)]);
        assert_eq!(conflicts.len(), 1);
        assert!(conflicts[0].message().contains("built-in"), "{}", conflicts[0].message());
        // For a kind, it is added; merged again into an empty accumulator, the kindless
        // built-in one now comes second and conflicts.
        let mut own = ImageFieldSpecs::builtin();
        assert!(
            own.merge(&[spec("Deployment", "", "spec/template/spec/containers[]/image", false)]).is_empty()
        );
        let mut ra = ImageFieldSpecs::default();
        let conflicts = ra.merge(&own.specs);
        assert_eq!(conflicts.len(), 1, "{:?}", paths(&ra));
        // A group makes a spec more specific (kustomize#5733).
        let mut base = ImageFieldSpecs { specs: vec![spec("Agent", "x.io", "spec/a", false)] };
        assert_eq!(base.merge(&[spec("Agent", "", "spec/a", true)]).len(), 1);
        // Webhook configurations sort after a kindless spec.
        let mut hooks = ImageFieldSpecs { specs: vec![spec("", "", "a", true)] };
        hooks.merge(&[
            spec("ValidatingWebhookConfiguration", "", "a", true),
            spec("Deployment", "", "a", true),
        ]);
        assert_eq!(paths(&hooks), ["Deployment:a", ":a", "ValidatingWebhookConfiguration:a"]);
    }

    #[test]
    fn splits_paths_like_kustomize() {
        let s = |p: &str| spec("", "", p, false).segments().to_vec();
        assert_eq!(s("/spec/a[]/image"), ["spec", "a[]", "image"]);
        assert_eq!(s("metadata/annotations/a.io\\/x"), ["metadata", "annotations", "a.io/x"]);
        assert_eq!(s(""), [""]);
        assert_eq!(s("a//b"), ["a", "", "b"]);
    }

    #[test]
    fn selects_by_group_version_and_kind() {
        let mut s = spec("MyKind", "acme.io", "spec", false);
        assert!(s.selects("acme.io/v1", "MyKind"));
        assert!(!s.selects("other.io/v1", "MyKind"));
        assert!(!s.selects("acme.io/v1", "Other"));
        s.version = "v2".into();
        assert!(!s.selects("acme.io/v1", "MyKind"));
        assert!(spec("", "", "spec", false).selects("v1", "Pod"));
        assert!(!spec("", "apps", "spec", false).selects("v1", "Pod"));
    }
}
