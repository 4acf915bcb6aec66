//! The static embed plan: from Containerfiles alone (no built image), which images the build
//! will carry and how — so `stowage check` without `--image` can already say what will be
//! missing. Literal `skopeo copy` / `podman pull` sources are known; a loop over the MicroShift
//! release files expands to the images of the release files found among the sources; anything
//! else that depends on shell variables stays unknown, with the reason.

use super::Method;
use crate::source::containerfile::{Containerfile, EmbedIntent, EmbedMethod};
use crate::source::release::Release;
use crate::text::location::Location;
use serde::Serialize;

/// One embed the build performs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedEmbed {
    /// The images it carries (without transport), in source order; empty when unknown.
    pub images: Vec<String>,
    /// Why `images` is not known statically.
    pub unknown: Option<String>,
    /// A loop over MicroShift release files (`release-*.json`): it embeds every release
    /// image, CRI-O's pause image (the release's `pod` image) included.
    pub release_loop: bool,
    /// How the built image will carry them (the inventory method they will show up as).
    pub method: Method,
    /// The directory (for `dir:` copies) or store root the copies go to; `None` for the
    /// default store.
    pub store: Option<String>,
    /// The image list the same `RUN` appends to.
    pub image_list: Option<String>,
    /// `skopeo copy --all`.
    pub all: bool,
    /// The `skopeo` / `podman` word.
    pub location: Location,
}

/// The embed plan of some Containerfiles. `releases` are the release files among the sources,
/// by path; a loop over `.../release-*.json` expands to those whose file name matches.
pub fn embed_plan(containerfiles: &[&Containerfile], releases: &[(String, &Release)]) -> Vec<PlannedEmbed> {
    containerfiles.iter().flat_map(|c| c.embeds.iter()).map(|e| planned(e, releases)).collect()
}

fn planned(e: &EmbedIntent, releases: &[(String, &Release)]) -> PlannedEmbed {
    let method = match e.method {
        EmbedMethod::Dir => Method::Dir,
        EmbedMethod::ContainersStorage => match e.store_root.as_deref().map(super::config::normalize_dir) {
            None => Method::DefaultStore,
            Some(r) if r == super::config::DEFAULT_GRAPHROOT => Method::DefaultStore,
            Some(_) => Method::ContainersStorage,
        },
        EmbedMethod::Oci => Method::OciLayout,
        EmbedMethod::OciArchive | EmbedMethod::DockerArchive => Method::Archive,
    };
    let store = match e.method {
        EmbedMethod::Dir => {
            let path = e.destination.split_once(':').map_or(e.destination.as_str(), |(_, p)| p);
            path.rsplit_once('/').map(|(dir, _)| dir.to_string())
        }
        EmbedMethod::ContainersStorage => e.store_root.clone(),
        _ => e.destination.split_once(':').map(|(_, p)| p.split(':').next().unwrap_or(p).to_string()),
    };
    let mut out = PlannedEmbed {
        images: Vec::new(),
        unknown: None,
        release_loop: e.release_images.is_some(),
        method,
        store,
        image_list: e.image_list.clone(),
        all: e.all,
        location: e.location.clone(),
    };
    match (&e.source, &e.release_images) {
        (Some(source), _) => match registry_image(source) {
            Some(image) => out.images.push(image.to_string()),
            None => out.unknown = Some(format!("copies from `{source}`, not from a registry")),
        },
        (None, Some(glob)) => {
            let pattern = glob.rsplit('/').next().unwrap_or(glob);
            let matcher = globset::Glob::new(pattern).map(|g| g.compile_matcher());
            let matched: Vec<&Release> = releases
                .iter()
                .filter(|(path, _)| {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    matcher.as_ref().is_ok_and(|m| m.is_match(name))
                })
                .map(|(_, r)| *r)
                .collect();
            if matched.is_empty() {
                out.unknown =
                    Some(format!("every image of {glob}, and no such release file is among the sources"));
            }
            for r in matched {
                for reference in &r.references {
                    let text = reference.text().to_string();
                    if !out.images.contains(&text) {
                        out.images.push(text);
                    }
                }
            }
        }
        (None, None) => {
            out.unknown =
                Some(format!("the source `{}` depends on shell variables or command output", e.source_text))
        }
    }
    out
}

/// The registry reference of a copy source (`docker://REF`, or a bare `REF` for
/// `podman pull`); `None` for local transports.
fn registry_image(source: &str) -> Option<&str> {
    if let Some(r) = source.strip_prefix("docker://") {
        return Some(r);
    }
    let transport = source.split_once(':').map(|(t, _)| t);
    match transport {
        Some(
            "dir" | "oci" | "oci-archive" | "docker-archive" | "containers-storage" | "docker-daemon" | "sif"
            | "tarball",
        ) => None,
        _ => Some(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{BuildOptions, containerfile, release};
    use crate::text::SourceText;

    fn plan(containerfile: &str, releases: &[(&str, &str)]) -> Vec<PlannedEmbed> {
        let c = containerfile::parse(
            &SourceText::from_str("Containerfile", containerfile),
            &BuildOptions::default(),
        );
        let parsed: Vec<(String, Release)> = releases
            .iter()
            .map(|(path, text)| (path.to_string(), release::parse(&SourceText::from_str(path, text))))
            .collect();
        let refs: Vec<(String, &Release)> = parsed.iter().map(|(p, r)| (p.clone(), r)).collect();
        embed_plan(&[&c], &refs)
    }

    #[test]
    fn literal_copies_and_pulls() {
        let p = plan(
            "FROM base:1\n\
             RUN skopeo copy --all --preserve-digests docker://quay.io/a/b:1 dir:/usr/lib/containers/storage/abc\n\
             RUN podman pull --root /usr/lib/containers/storage quay.io/c/d:2\n\
             RUN podman pull quay.io/e/f:3\n\
             RUN skopeo copy docker://quay.io/g:4 oci-archive:/usr/share/img/g.tar\n\
             RUN skopeo copy oci:/src/layout:x containers-storage:[vfs@/usr/lib/s+/run/s]q.io/x:1\n",
            &[],
        );
        let got: Vec<(Vec<String>, Method, Option<String>)> =
            p.iter().map(|e| (e.images.clone(), e.method, e.store.clone())).collect();
        assert_eq!(
            got,
            vec![
                (
                    vec!["quay.io/a/b:1".to_string()],
                    Method::Dir,
                    Some("/usr/lib/containers/storage".to_string())
                ),
                (
                    vec!["quay.io/c/d:2".to_string()],
                    Method::ContainersStorage,
                    Some("/usr/lib/containers/storage".to_string())
                ),
                (vec!["quay.io/e/f:3".to_string()], Method::DefaultStore, None),
                (vec!["quay.io/g:4".to_string()], Method::Archive, Some("/usr/share/img/g.tar".to_string())),
                (vec![], Method::ContainersStorage, Some("/usr/lib/s".to_string())),
            ]
        );
        assert!(p[0].all);
        assert_eq!(p[4].unknown.as_deref(), Some("copies from `oci:/src/layout:x`, not from a registry"));
        assert_eq!((p[1].location.line, p[1].location.column), (3, 5));
    }

    #[test]
    fn a_release_loop_expands_to_the_release_images() {
        let containerfile = "FROM base:1\n\
            RUN for img in $(jq -r '.images[]' /usr/share/microshift/release/release-*.json); do \\\n\
                  sha=$(echo \"$img\" | sha256sum | awk '{print $1}'); \\\n\
                  skopeo copy --all --preserve-digests docker://$img dir:/usr/lib/containers/storage/$sha; \\\n\
                  echo \"$img,$sha\" >> /usr/lib/containers/storage/image-list.txt; \\\n\
                done\n";
        let release = r#"{"release":{"base":"4.19.0"},"images":{"pod":"quay.io/o/pod@sha256:1111111111111111111111111111111111111111111111111111111111111111","dns":"quay.io/o/dns:1"}}"#;
        let p = plan(containerfile, &[("assets/release-x86_64.json", release), ("assets/notes.json", "{}")]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0].images,
            [
                "quay.io/o/pod@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                "quay.io/o/dns:1"
            ]
        );
        assert_eq!(p[0].image_list.as_deref(), Some("/usr/lib/containers/storage/image-list.txt"));
        assert_eq!(p[0].method, Method::Dir);

        let none = plan(containerfile, &[]);
        assert_eq!(
            none[0].unknown.as_deref(),
            Some(
                "every image of /usr/share/microshift/release/release-*.json, and no such release file is among the sources"
            )
        );
    }
}
