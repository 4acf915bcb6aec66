//! Where the `COPY` / `ADD` instructions of a Containerfile put repository files inside the
//! built image, so that a repository directory is judged at its in-image path
//! (`COPY manifests/ /usr/lib/microshift/manifests.d/acme/` makes `manifests/` an
//! application directory of MicroShift).
//!
//! Semantics followed (Dockerfile reference, `COPY`/`ADD`):
//! - a source is relative to the build context; a leading `/` and `..` cannot leave it;
//! - a directory source copies its *contents* into the destination, with or without a
//!   trailing `/` on the source (`COPY dir /d/` and `COPY dir/ /d/` are the same);
//! - a file source goes to `DEST/NAME` when the destination is a directory (it ends with `/`,
//!   or there are several sources), and is written *as* `DEST` otherwise;
//! - wildcards (`*`, `?`, `[...]`, one path component each, as Go's `filepath.Match`) match
//!   files and directories at their depth; a matched directory copies its contents (so
//!   `COPY apps/* /d/` merges the contents of every `apps/X` into `/d/`);
//! - `--parents` keeps each source's path relative to the context under the destination;
//! - only build-context copies of the stages that make the final image count
//!   ([`Containerfile::image_copies`]); `COPY --from` is not followed.
//!
//! Assumptions: the build context is the directory holding the Containerfile (what
//! `podman build -f DIR/Containerfile DIR` and `podman build DIR` use) unless the
//! configuration's `build-contexts` names another; `--build-context`,
//! other context directories and `.containerignore` / `.dockerignore` are not taken into
//! account; the base image's filesystem is not known, so a destination without a trailing `/`
//! that receives one file is taken as a file name (as when it does not exist yet); `ADD`
//! sources that are URLs or Git repositories, and paths that use undefined build arguments,
//! are skipped.

use crate::source::containerfile::{Containerfile, FileCopy, absolute_path, is_remote_source};
use crate::text::paths::absolute_from;
use std::path::{Component, Path, PathBuf};

/// The copies of one Containerfile that reach its final image, with its build context.
#[derive(Clone, Debug)]
pub struct ImageCopies {
    /// The build context (the configured one, else the Containerfile's directory), absolute
    /// and normalised.
    pub context: PathBuf,
    pub copies: Vec<FileCopy>,
    /// The working directory, read once: every source file is placed against the context.
    cwd: Option<PathBuf>,
}

impl ImageCopies {
    /// The copies of the Containerfile at `path` (as walked).
    pub fn new(path: &Path, containerfile: &Containerfile) -> Self {
        let cwd = std::env::current_dir().ok();
        let dir = containerfile.context.as_deref().unwrap_or(path.parent().unwrap_or(Path::new("")));
        let context = absolute_from(cwd.as_deref(), dir);
        ImageCopies { context, copies: containerfile.image_copies().cloned().collect(), cwd }
    }

    /// Every in-image path the file at `file` (a path as walked, like the Containerfile's) is
    /// copied to, sorted and without duplicates.
    pub fn in_image(&self, file: &Path) -> Vec<String> {
        let file = absolute_from(self.cwd.as_deref(), file);
        let Some(rel) = relative_to(&file, &self.context) else { return Vec::new() };
        let rel: Vec<&str> = rel.iter().map(String::as_str).collect();
        let mut out: Vec<String> = self.copies.iter().flat_map(|c| map_copy(c, &rel)).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The components of `file` below `context`, when it is inside it.
fn relative_to(file: &Path, context: &Path) -> Option<Vec<String>> {
    let rest = file.strip_prefix(context).ok()?;
    let parts: Vec<String> = rest
        .components()
        .map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then_some(parts)
}

fn is_pattern(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

fn component_matches(pattern: &str, name: &str) -> bool {
    if !is_pattern(pattern) {
        return pattern == name;
    }
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(name))
}

/// Where one copy puts the context file whose components are `rel`, if it copies it.
pub fn map_copy(copy: &FileCopy, rel: &[&str]) -> Vec<String> {
    if !copy.from_context() || !copy.destination.resolved || rel.is_empty() {
        return Vec::new();
    }
    let dest = copy.destination.value.as_str();
    let mut out = Vec::new();
    for source in &copy.sources {
        if !source.resolved || (copy.add && is_remote_source(&source.value)) {
            continue;
        }
        // Inside the context: `.`, `..` and a leading `/` removed, `..` never leaving it;
        // empty means the whole context.
        let pattern = crate::text::paths::lexical_parts(&source.value);
        if pattern.len() > rel.len() || !pattern.iter().zip(rel).all(|(p, r)| component_matches(p, r)) {
            continue;
        }
        let target = if copy.parents {
            absolute_path(dest, &rel.join("/"))
        } else if pattern.len() == rel.len() {
            // The source is this file.
            if copy.destination_is_dir { absolute_path(dest, rel[rel.len() - 1]) } else { dest.to_string() }
        } else {
            // The source is a directory holding the file: its contents are copied.
            absolute_path(dest, &rel[pattern.len()..].join("/"))
        };
        out.push(target);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{BuildOptions, containerfile};
    use crate::text::SourceText;

    fn copies(text: &str) -> Containerfile {
        containerfile::parse(&SourceText::from_str("repo/Containerfile", text), &BuildOptions::default())
    }

    fn mapped(text: &str, file: &str) -> Vec<String> {
        let c = copies(text);
        ImageCopies::new(Path::new("repo/Containerfile"), &c).in_image(Path::new(file))
    }

    const BASE: &str = "FROM quay.io/fedora/fedora-bootc:42\n";

    #[test]
    fn parses_copy_and_add_with_locations() {
        let c = copies(
            "ARG D=/usr/lib/microshift/manifests.d\nFROM quay.io/x/y:1 AS build\nWORKDIR /src\nCOPY . .\nFROM quay.io/fedora/fedora-bootc:42\nARG D\nCOPY --chown=0:0 manifests/ a.yaml ${D}/acme/\nADD https://x.example/a.tar.gz /opt/\nCOPY --from=build /src/out /usr/bin/\nCOPY [\"b c.yaml\", \"/etc/x.yaml\"]\nCOPY <<EOF /etc/hello\nhi\nEOF\n",
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        type Row<'a> = (bool, usize, Option<&'a str>, Vec<&'a str>, &'a str, bool);
        let all: Vec<Row> = c
            .copies
            .iter()
            .map(|k| {
                (
                    k.add,
                    k.stage,
                    k.from.as_deref(),
                    k.sources.iter().map(|s| s.value.as_str()).collect(),
                    k.destination.value.as_str(),
                    k.destination_is_dir,
                )
            })
            .collect();
        assert_eq!(
            all,
            [
                (false, 0, None, vec!["."], "/src", true),
                (false, 1, None, vec!["manifests/", "a.yaml"], "/usr/lib/microshift/manifests.d/acme", true),
                (true, 1, None, vec!["https://x.example/a.tar.gz"], "/opt", true),
                (false, 1, Some("build"), vec!["/src/out"], "/usr/bin", true),
                (false, 1, None, vec!["b c.yaml"], "/etc/x.yaml", false),
                (false, 1, None, vec![], "/etc/hello", false),
            ]
        );
        let k = &c.copies[1];
        assert_eq!((k.location.line, k.location.column), (7, 1));
        assert_eq!((k.sources[1].location.line, k.sources[1].location.column), (7, 29));
        assert_eq!((k.destination.location.line, k.destination.location.column), (7, 36));
        // Only the final stage's build-context copies reach the image.
        let image: Vec<&str> = c.image_copies().map(|k| k.destination.value.as_str()).collect();
        assert_eq!(image, ["/usr/lib/microshift/manifests.d/acme", "/opt", "/etc/x.yaml", "/etc/hello"]);
    }

    #[test]
    fn stages_built_from_stages_keep_their_copies() {
        let c = copies(
            "FROM quay.io/fedora/fedora-bootc:42 AS base\nCOPY m/ /etc/microshift/manifests/\nFROM quay.io/x/y:1 AS other\nCOPY o/ /o/\nFROM base\nWORKDIR /usr/lib\nCOPY n/ microshift/manifests.d/n\n",
        );
        let image: Vec<&str> = c.image_copies().map(|k| k.destination.value.as_str()).collect();
        assert_eq!(image, ["/etc/microshift/manifests", "/usr/lib/microshift/manifests.d/n"]);
    }

    #[test]
    fn unresolved_paths_are_not_mapped() {
        let text = format!("{BASE}COPY manifests/ /usr/lib/microshift/manifests.d/${{APP}}/\n");
        assert!(mapped(&text, "repo/manifests/a.yaml").is_empty());
    }

    #[test]
    fn a_directory_copies_its_contents_with_or_without_a_slash() {
        for src in ["manifests", "manifests/", "./manifests", "/manifests/."] {
            for dest in ["/usr/lib/microshift/manifests.d/acme", "/usr/lib/microshift/manifests.d/acme/"] {
                let text = format!("{BASE}COPY {src} {dest}\n");
                assert_eq!(
                    mapped(&text, "repo/manifests/sub/d.yaml"),
                    ["/usr/lib/microshift/manifests.d/acme/sub/d.yaml"],
                    "COPY {src} {dest}"
                );
            }
        }
        let text = format!("{BASE}COPY manifests/ /usr/lib/microshift/manifests.d/acme/\n");
        assert!(mapped(&text, "repo/other/d.yaml").is_empty());
        assert!(mapped(&text, "elsewhere/manifests/d.yaml").is_empty());
        assert!(mapped(&text, "repo/manifests-old/d.yaml").is_empty());
    }

    #[test]
    fn a_file_goes_into_a_directory_or_becomes_the_destination() {
        let into = format!("{BASE}COPY app/kustomization.yaml /etc/microshift/manifests/\n");
        assert_eq!(
            mapped(&into, "repo/app/kustomization.yaml"),
            ["/etc/microshift/manifests/kustomization.yaml"]
        );
        let as_file = format!("{BASE}COPY app/k.yaml /etc/microshift/manifests/kustomization.yaml\n");
        assert_eq!(mapped(&as_file, "repo/app/k.yaml"), ["/etc/microshift/manifests/kustomization.yaml"]);
        let several = format!("{BASE}COPY a.yaml b.yaml /etc/microshift/manifests\n");
        assert_eq!(mapped(&several, "repo/b.yaml"), ["/etc/microshift/manifests/b.yaml"]);
        let relative = format!("{BASE}WORKDIR /etc/microshift\nCOPY a.yaml manifests/\n");
        assert_eq!(mapped(&relative, "repo/a.yaml"), ["/etc/microshift/manifests/a.yaml"]);
    }

    #[test]
    fn wildcards_match_one_component() {
        let text = format!("{BASE}COPY app/*.yaml /usr/lib/microshift/manifests.d/app/\n");
        assert_eq!(mapped(&text, "repo/app/d.yaml"), ["/usr/lib/microshift/manifests.d/app/d.yaml"]);
        assert!(mapped(&text, "repo/app/d.yml").is_empty());
        assert!(mapped(&text, "repo/app/sub/d.yaml").is_empty());
        // A matched directory copies its contents, not itself (`COPY apps/* /d/` flattens).
        let dirs = format!("{BASE}COPY apps/* /usr/lib/microshift/manifests.d/\n");
        assert_eq!(mapped(&dirs, "repo/apps/web/d.yaml"), ["/usr/lib/microshift/manifests.d/d.yaml"]);
        let class = format!("{BASE}COPY ap?/[a-c]*.yaml /x/\n");
        assert_eq!(mapped(&class, "repo/app/b1.yaml"), ["/x/b1.yaml"]);
        assert!(mapped(&class, "repo/app/d1.yaml").is_empty());
    }

    #[test]
    fn parents_keep_the_context_path() {
        let text = format!("{BASE}COPY --parents apps/*/kustomization.yaml /usr/lib/microshift/\n");
        assert_eq!(
            mapped(&text, "repo/apps/web/kustomization.yaml"),
            ["/usr/lib/microshift/apps/web/kustomization.yaml"]
        );
    }

    #[test]
    fn the_whole_context_and_several_copies() {
        let text = format!("{BASE}COPY . /srv/\nCOPY rootfs/ /\nADD https://example.com/x.yaml /opt/\n");
        assert_eq!(
            mapped(&text, "repo/rootfs/usr/lib/microshift/manifests/a.yaml"),
            ["/srv/rootfs/usr/lib/microshift/manifests/a.yaml", "/usr/lib/microshift/manifests/a.yaml"]
        );
        let c = copies("FROM x\nCOPY m/ /etc/microshift/manifests/\n");
        assert_eq!(
            ImageCopies::new(Path::new("Containerfile"), &c).in_image(Path::new("m/a.yaml")),
            ["/etc/microshift/manifests/a.yaml"]
        );
    }
}
