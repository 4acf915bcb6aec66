//! The `images` field: rename, retag or pin images by name.
//!
//! Semantics of kustomize v5.5 (api/image, api/filters/imagetag): an entry's `name` is used as
//! a regular expression, anchored, followed by an optional `:tag` and an optional
//! `@sha256:...`; it is compared with the image *as written* — no normalisation, so
//! `name: busybox` does not match `docker.io/library/busybox`. A `name` may therefore carry a
//! tag or digest of its own (`nginx:1.2` matches only that tag). The value is split into
//! name, tag and digest; `newName` replaces the name; `newTag` replaces tag and digest,
//! `digest` replaces both too, and both together give `name:tag@digest`; `tagSuffix` is
//! appended to the tag and drops the digest, only when there is neither `newTag` nor `digest`
//! (then it is ignored, without an error).
//!
//! Each entry is applied in two passes over every object but CustomResourceDefinitions
//! (kustomize#890), one after the other (`ImageTagTransformer`):
//! 1. the legacy walk: every `image` of every `containers`/`initContainers` list found
//!    anywhere in an object, so CronJobs and custom resources are covered and
//!    `ephemeralContainers` are not (kept by kustomize beside field specs, kustomize#5325);
//! 2. the `images` field specs: kustomize's own (`spec/containers[]/image`,
//!    `spec/template/spec/containers[]/image` and their `initContainers`, in objects of any
//!    kind) and those of `configurations:` files ([`super::fieldspec`]).
//!
//! An image both passes reach (a Deployment's, a Pod's, a custom resource's at those paths) is
//! rewritten twice, and once more by every further spec reaching it. Replacing a name or tag
//! twice changes nothing, but `tagSuffix` is appended each time: `app:1.0` with
//! `tagSuffix: -s` becomes `app:1.0-s-s` in a Deployment and `app:1.0-s` in a CronJob
//! (kustomize#4814). The second pass only applies while the image still matches: after a
//! `newName`, or a suffix with a character a tag cannot hold (`+`), it is appended once.
//!
//! What kustomize stops on (a `containers` item or an `image` that is not what it should be, a
//! spec path reaching a string) fails `kubectl kustomize`: here it is a [`WalkError`] and the
//! rest is still applied (kustomize#5257).

use super::fieldspec::{FieldSpec, WalkError, type_name, walk_mut};
use crate::text::tree::{Change, Pos, V, Val};
use regex::Regex;

/// One `images:` entry.
#[derive(Clone, Debug, Default)]
pub struct ImageRule {
    matcher: Option<Regex>,
    pub new_name: Option<(String, Pos)>,
    pub new_tag: Option<(String, Pos)>,
    pub digest: Option<(String, Pos)>,
    pub tag_suffix: Option<(String, Pos)>,
}

impl ImageRule {
    /// A rule for the images `name` matches; set the changes on the result.
    pub fn new(name: &str) -> Self {
        // Go's RE2 and the regex crate agree on the syntax image names can contain. A name that
        // is not a valid expression matches nothing (kustomize would crash).
        let matcher =
            Regex::new(&format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$")).ok();
        ImageRule { matcher, ..ImageRule::default() }
    }

    pub fn matches(&self, image: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(image))
    }

    /// The image after this rule, with the changes to record; `None` when it does not apply.
    pub fn apply(&self, image: &str) -> Option<(String, Vec<Change>)> {
        if !self.matches(image) {
            return None;
        }
        let (mut name, mut tag, mut digest) = split(image);
        let mut changes = Vec::new();
        let mut change = |what: &str, pos: &Pos| changes.push(Change { what: what.into(), pos: pos.clone() });
        if let Some((new_name, pos)) = &self.new_name {
            name = new_name.clone();
            change("images newName", pos);
        }
        match (&self.new_tag, &self.digest, &self.tag_suffix) {
            (Some((t, tp)), Some((d, dp)), _) => {
                tag = t.clone();
                digest = d.clone();
                change("images newTag", tp);
                change("images digest", dp);
            }
            (Some((t, tp)), None, _) => {
                tag = t.clone();
                digest = String::new();
                change("images newTag", tp);
            }
            (None, Some((d, dp)), _) => {
                tag = String::new();
                digest = d.clone();
                change("images digest", dp);
            }
            (None, None, Some((suffix, sp))) => {
                tag.push_str(suffix);
                digest = String::new();
                change("images tagSuffix", sp);
            }
            (None, None, None) => {}
        }
        let mut out = name;
        if !tag.is_empty() {
            out.push(':');
            out.push_str(&tag);
        }
        if !digest.is_empty() {
            out.push('@');
            out.push_str(&digest);
        }
        Some((out, changes))
    }

    /// Rewrite one image value when the rule applies to it; a value that does not change
    /// records nothing.
    fn set(&self, image: &mut Val) {
        let Some((new, changes)) = image.as_str().and_then(|text| self.apply(text)) else { return };
        if image.as_str() == Some(new.as_str()) {
            return;
        }
        let mut changes = changes.into_iter();
        if let Some(first) = changes.next() {
            image.rewrite(new, first);
            image.changes.extend(changes);
        }
    }
}

/// Split an image as kustomize does: the first `:` or `@` after the first `/` (or anywhere
/// when there is no `/`) ends the name.
pub fn split(image: &str) -> (String, String, String) {
    let offset = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => {
            (image[..a].to_string(), String::new(), image[a + 1..].to_string())
        }
        (Some(c), Some(a)) => {
            (image[..c].to_string(), image[c + 1..a].to_string(), image[a + 1..].to_string())
        }
        (Some(c), None) => (image[..c].to_string(), image[c + 1..].to_string(), String::new()),
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

/// Apply one rule to an object: the legacy walk, then each field spec that selects the object
/// (see the module doc). What would stop kustomize is returned.
pub fn apply_to_object(rule: &ImageRule, specs: &[FieldSpec], object: &mut Val) -> Vec<WalkError> {
    let api = object.str_at(&["apiVersion"]).unwrap_or("");
    let kind = object.str_at(&["kind"]).unwrap_or("");
    if kind == "CustomResourceDefinition" {
        return Vec::new();
    }
    let selected: Vec<&FieldSpec> = specs.iter().filter(|s| s.selects(api, kind)).collect();
    let mut errors = Vec::new();
    legacy(rule, object, &mut errors);
    for spec in selected {
        let mut at = |image: &mut Val| match image.v {
            V::Scalar(_) | V::Null => {
                rule.set(image);
                None
            }
            _ => Some(not_a_string(image, &format!("`{}` (an `images` field spec)", spec.path))),
        };
        walk_mut(object, spec.segments(), &spec.path, &mut at, &mut errors);
    }
    errors
}

/// The legacy walk: the `image` of each item of every `containers` and `initContainers` list.
fn legacy(rule: &ImageRule, node: &mut Val, errors: &mut Vec<WalkError>) {
    match &mut node.v {
        V::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                legacy(rule, value, errors);
                if key != "containers" && key != "initContainers" {
                    continue;
                }
                let V::Seq(items) = &mut value.v else { continue };
                for item in items.iter_mut() {
                    match &mut item.v {
                        V::Map(_) => {}
                        V::Null => continue,
                        _ => {
                            let message = format!(
                                "an item of `{key}` is a {}, not a mapping: kubectl kustomize fails on it when it applies `images`",
                                type_name(item)
                            );
                            errors.push(WalkError { message, pos: item.pos.clone() });
                            continue;
                        }
                    }
                    match item.get_mut("image") {
                        Some(image) if matches!(image.v, V::Scalar(_) | V::Null) => rule.set(image),
                        Some(image) => {
                            errors.push(not_a_string(image, &format!("the `image` of a `{key}` item")))
                        }
                        None => {}
                    }
                }
            }
        }
        V::Seq(items) => items.iter_mut().for_each(|i| legacy(rule, i, errors)),
        _ => {}
    }
}

fn not_a_string(image: &Val, what: &str) -> WalkError {
    let message = format!(
        "{what} is a {}, not a string: kubectl kustomize fails on it when it applies `images` (\"wrong node kind\")",
        type_name(image)
    );
    WalkError { message, pos: image.pos.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, new_name: Option<&str>, tag: Option<&str>, digest: Option<&str>) -> ImageRule {
        let file = std::sync::Arc::new(crate::text::SourceText::from_str("k.yaml", ""));
        let p = |s: Option<&str>| s.map(|s| (s.to_string(), Pos::new(&file, 0..0)));
        let mut r = ImageRule::new(name);
        (r.new_name, r.new_tag, r.digest) = (p(new_name), p(tag), p(digest));
        r
    }

    fn run(r: &ImageRule, image: &str) -> Option<String> {
        r.apply(image).map(|(s, _)| s)
    }

    #[test]
    fn matches_the_name_as_written_like_kubectl() {
        let r = rule("quay.io/x/app", None, Some("9"), None);
        assert_eq!(run(&r, "quay.io/x/app:1@sha256:aaaa").as_deref(), Some("quay.io/x/app:9"));
        // The name is a regular expression: `.` matches any character, as in kustomize.
        assert_eq!(run(&r, "quayXio/x/app:2").as_deref(), Some("quayXio/x/app:9"));
        let busybox = rule("busybox", None, Some("v"), Some("sha256:cccc"));
        assert_eq!(run(&busybox, "docker.io/library/busybox:1"), None);
        assert_eq!(run(&busybox, "busybox@sha256:bbbb").as_deref(), Some("busybox:v@sha256:cccc"));
        assert_eq!(run(&rule("nginx", Some("NN"), None, None), "nginx@sha512:abc"), None);
        assert_eq!(run(&rule("foo/bar+x", None, Some("2"), None), "foo/bar+x:1"), None);
        assert_eq!(
            run(&rule("reg:5000/app", None, Some("5"), None), "reg:5000/app").as_deref(),
            Some("reg:5000/app:5")
        );
    }

    #[test]
    fn a_name_with_a_tag_matches_only_that_tag() {
        let r = rule("nginx:1.2", Some("mirror/nginx"), None, None);
        assert_eq!(run(&r, "nginx:1.2").as_deref(), Some("mirror/nginx:1.2"));
        assert_eq!(run(&r, "nginx:1.3"), None);
        let r = rule("alpine@sha256:x", Some("A"), None, None);
        assert_eq!(run(&r, "alpine@sha256:x:y").as_deref(), Some("A@sha256:x:y"));
        assert_eq!(run(&r, "alpine:3@sha256:x"), None);
    }

    fn suffix(name: &str, suffix: &str) -> ImageRule {
        let file = std::sync::Arc::new(crate::text::SourceText::from_str("k.yaml", ""));
        let mut r = ImageRule::new(name);
        r.tag_suffix = Some((suffix.to_string(), Pos::new(&file, 0..0)));
        r
    }

    #[test]
    fn tag_suffix_appends_to_the_tag_and_drops_the_digest() {
        let r = suffix("app", "-s");
        assert_eq!(run(&r, "app:1.0").as_deref(), Some("app:1.0-s"));
        assert_eq!(run(&r, "app").as_deref(), Some("app:-s"));
        assert_eq!(run(&r, "app@sha256:aa").as_deref(), Some("app:-s"));
        assert_eq!(run(&r, "app:1.0@sha256:aa").as_deref(), Some("app:1.0-s"));
        // Ignored beside `newTag` or `digest`.
        let mut r = rule("app", None, Some("2"), None);
        r.tag_suffix = suffix("app", "-s").tag_suffix;
        assert_eq!(run(&r, "app:1.0").as_deref(), Some("app:2"));
        let changes: Vec<String> = r.apply("app:1.0").unwrap().1.into_iter().map(|c| c.what).collect();
        assert_eq!(changes, ["images newTag"]);
    }

    fn object(text: &str) -> Val {
        crate::resolve::kustomize::build::documents("o.yaml", text).remove(0)
    }

    fn images_of(v: &Val, out: &mut Vec<String>) {
        match &v.v {
            V::Map(entries) => {
                for (k, v) in entries {
                    match v.as_str() {
                        Some(s) if k == "image" => out.push(s.to_string()),
                        _ => images_of(v, out),
                    }
                }
            }
            V::Seq(items) => items.iter().for_each(|i| images_of(i, out)),
            _ => {}
        }
    }

    fn after(rule: &ImageRule, specs: &[FieldSpec], text: &str) -> (Vec<String>, Vec<String>) {
        let mut obj = object(text);
        let errors = apply_to_object(rule, specs, &mut obj).into_iter().map(|e| e.message).collect();
        let mut images = Vec::new();
        images_of(&obj, &mut images);
        (images, errors)
    }

    /// The two passes of kubectl kustomize v5.5 (kustomize#4814): twice where the walk of
    /// `containers` lists and a field spec both reach the image, once elsewhere, never in a
    /// CustomResourceDefinition.
    #[test]
    fn tag_suffix_is_appended_once_per_pass_reaching_the_image() {
        let builtin = super::super::fieldspec::ImageFieldSpecs::builtin().specs;
        let r = suffix("app", "-s");
        let deploy = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers: [{name: i, image: 'app:1'}]\n      containers: [{name: c, image: 'app:1'}]\n      ephemeralContainers: [{name: e, image: 'app:1'}]\n";
        assert_eq!(after(&r, &builtin, deploy).0, ["app:1-s-s", "app:1-s-s", "app:1"]);
        let cron = "apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: 'app:1'}]\n";
        assert_eq!(after(&r, &builtin, cron).0, ["app:1-s"]);
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  containers: [{name: c, image: 'app:1'}]\n";
        assert_eq!(after(&r, &builtin, crd).0, ["app:1"]);
        // A suffix the tag pattern cannot hold stops the second match, and so does a `name`
        // written with the tag it suffixes.
        assert_eq!(after(&suffix("app", "+x"), &builtin, deploy).0, ["app:1+x", "app:1+x", "app:1"]);
        assert_eq!(after(&suffix("app:1", "-s"), &builtin, deploy).0, ["app:1-s", "app:1-s", "app:1"]);
    }

    /// What stops kubectl kustomize is returned, and the rest is still applied.
    #[test]
    fn what_kustomize_stops_on_is_returned() {
        let builtin = super::super::fieldspec::ImageFieldSpecs::builtin().specs;
        let r = rule("app", None, Some("2"), None);
        let (images, errors) = after(
            &r,
            &builtin,
            "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: {x: 1}}, 'text', null, {name: b, image: 'app:1'}]\n",
        );
        assert_eq!(images, ["app:2"]);
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("the `image` of a `containers` item is a mapping"), "{errors:?}");
        assert!(errors[1].starts_with("an item of `containers` is a string"), "{errors:?}");
        assert!(
            errors[2].starts_with("`spec/containers[]/image` (an `images` field spec) is a mapping"),
            "{errors:?}"
        );
        assert!(errors[3].contains("reaches a string before its end"), "{errors:?}");
        let (_, errors) =
            after(&r, &builtin, "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template: text\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("reaches a string before its end"), "{errors:?}");
    }

    #[test]
    fn split_like_kustomize() {
        let s = |i: &str| {
            let (a, b, c) = split(i);
            (a, b, c)
        };
        assert_eq!(s("reg:5000/app:1"), ("reg:5000/app".into(), "1".into(), String::new()));
        assert_eq!(s("a@sha256:x"), ("a".into(), String::new(), "sha256:x".into()));
        assert_eq!(s("a/b:t@sha256:x"), ("a/b".into(), "t".into(), "sha256:x".into()));
    }
}
