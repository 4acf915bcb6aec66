//! The `images` field: rename, retag or pin images by name.
//!
//! Semantics of kustomize v5 (api/image, api/filters/imagetag): an entry's `name` is used as
//! a regular expression, anchored, followed by an optional `:tag` and an optional
//! `@sha256:...`; it is compared with the image *as written* — no normalisation, so
//! `name: busybox` does not match `docker.io/library/busybox`. A `name` may therefore carry a
//! tag or digest of its own (`nginx:1.2` matches only that tag). The value is split into
//! name, tag and digest; `newName` replaces the name; `newTag` replaces tag and digest,
//! `digest` replaces both too, and both together give `name:tag@digest`. Entries apply one
//! after the other, each to every `image` of every `containers`/`initContainers` list found
//! anywhere in an object (kustomize's legacy walk), so CronJobs and custom resources are
//! covered and `ephemeralContainers` are not.

use crate::text::tree::{Change, Pos, V, Val};
use regex::Regex;

/// One `images:` entry.
#[derive(Clone, Debug)]
pub struct ImageRule {
    matcher: Option<Regex>,
    pub new_name: Option<(String, Pos)>,
    pub new_tag: Option<(String, Pos)>,
    pub digest: Option<(String, Pos)>,
}

impl ImageRule {
    pub fn new(
        name: String,
        new_name: Option<(String, Pos)>,
        new_tag: Option<(String, Pos)>,
        digest: Option<(String, Pos)>,
    ) -> Self {
        // Go's RE2 and the regex crate agree on the syntax image names can contain. A name that
        // is not a valid expression matches nothing (kustomize would crash).
        let matcher =
            Regex::new(&format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$")).ok();
        ImageRule { matcher, new_name, new_tag, digest }
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
        if let Some((new_name, pos)) = &self.new_name {
            name = new_name.clone();
            changes.push(Change { what: "images newName".into(), pos: pos.clone() });
        }
        match (&self.new_tag, &self.digest) {
            (Some((t, tp)), Some((d, dp))) => {
                tag = t.clone();
                digest = d.clone();
                changes.push(Change { what: "images newTag".into(), pos: tp.clone() });
                changes.push(Change { what: "images digest".into(), pos: dp.clone() });
            }
            (Some((t, tp)), None) => {
                tag = t.clone();
                digest = String::new();
                changes.push(Change { what: "images newTag".into(), pos: tp.clone() });
            }
            (None, Some((d, dp))) => {
                tag = String::new();
                digest = d.clone();
                changes.push(Change { what: "images digest".into(), pos: dp.clone() });
            }
            (None, None) => {}
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

/// Apply one rule to every container image of an object.
pub fn apply_to_object(rule: &ImageRule, object: &mut Val) {
    match &mut object.v {
        V::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                if (key == "containers" || key == "initContainers")
                    && let V::Seq(items) = &mut value.v
                {
                    for item in items.iter_mut() {
                        if let Some(image) = item.get_mut("image")
                            && let Some(text) = image.as_str()
                            && let Some((new, changes)) = rule.apply(text)
                        {
                            let mut changes = changes.into_iter();
                            if let Some(first) = changes.next() {
                                image.rewrite(new, first);
                                image.changes.extend(changes);
                            }
                        }
                    }
                }
                apply_to_object(rule, value);
            }
        }
        V::Seq(items) => items.iter_mut().for_each(|i| apply_to_object(rule, i)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, new_name: Option<&str>, tag: Option<&str>, digest: Option<&str>) -> ImageRule {
        let file = std::sync::Arc::new(crate::text::SourceText::from_str("k.yaml", ""));
        let p = |s: Option<&str>| s.map(|s| (s.to_string(), Pos::new(&file, 0..0)));
        ImageRule::new(name.into(), p(new_name), p(tag), p(digest))
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
