//! How CRI-O finds a reference among the images an OS image carries (DOMAIN.md §4).
//!
//! containers/image resolves a `containers-storage:` reference in two steps
//! (`storage/storage_reference.go`, `resolveImage`): an image that has the normalised
//! reference as one of its `names`; failing that, for a digest reference, an image whose
//! digest list holds the digest **and** one of whose names has the same repository
//! (`imageMatchesRepo`). A digest alone is not enough. A `name:tag@digest` reference is
//! looked up by its digest alone.
//!
//! A `dir:` copy named `REF` in an image list becomes `containers-storage:REF` at boot with
//! the copy's digests, so it is matched by the same rule once the boot-time copy step
//! ([`crate::inventory::copystep`]) copies it: the script reaches its line and `skopeo copy`
//! accepts it (`H` is used as written). What matches but cannot serve the reference
//! (incomplete, refused or never reached by the copy step, not visible to CRI-O, another
//! architecture) is reported as unusable, with the reason, so findings can say why.

use crate::inventory::copystep::{CopyFailure, LineOutcome};
use crate::inventory::plan::PlannedEmbed;
use crate::inventory::{EmbeddedImage, Inventory, Method, same_arch};
use crate::reference::imageref::ImageRef;

/// Why a carried image that matches a reference cannot serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// Something it needs is missing (its problems say what).
    Incomplete,
    /// CRI-O will not see it (its visibility says why).
    NotVisible,
    /// Built for other architectures than the OS image's.
    WrongArch,
    /// A `dir:` copy the boot-time copy step refuses (why, in the failure).
    CopyFails(CopyFailure),
    /// A `dir:` copy the copy step never reaches: the script stopped at an earlier line, or
    /// its list line is a last line without a newline.
    NotCopied(LineOutcome),
    /// In the default store under `/var`: bootc writes `/var` at install only, and CRI-O
    /// wipes that store after an unclean shutdown, so the device cannot count on it.
    InVar,
}

impl Unusable {
    pub fn describe(&self, image: &EmbeddedImage) -> String {
        match self {
            Unusable::Incomplete => format!("is incomplete ({})", image.problems.join("; ")),
            Unusable::NotVisible => format!("is not visible to CRI-O ({})", image.visibility),
            Unusable::WrongArch => format!("is built for {}", image.architectures.join(", ")),
            Unusable::CopyFails(f) => format!("is refused by `skopeo copy` at boot: {}", f.why),
            Unusable::NotCopied(LineOutcome::NotReached(0)) => {
                "is never copied: the copy script cannot run (its `ExecStartPre=` fails with 203/EXEC)".into()
            }
            Unusable::NotCopied(LineOutcome::NotReached(at)) => {
                format!("is never copied: the copy script stops at line {at} of its list, before this one")
            }
            Unusable::InVar => {
                "is only in /var/lib/containers/storage: bootc writes /var at install, never on \
                                upgrade, and CRI-O wipes that store after an unclean shutdown"
                    .into()
            }
            Unusable::NotCopied(_) => "is never copied: its list line is the last one and has no newline, \
                                       so `while read` never runs for it"
                .into(),
        }
    }
}

/// How a carried image matched a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    /// One of its names is the reference.
    Name,
    /// Its digest list holds the reference's digest and a name has the same repository.
    DigestInRepository,
}

/// The result of looking one reference up.
#[derive(Debug, Default)]
pub struct Lookup<'a> {
    /// Carried images CRI-O finds and can run for the reference.
    pub found: Vec<(&'a EmbeddedImage, MatchKind)>,
    /// Carried images that match but cannot serve it, with every reason.
    pub unusable: Vec<(&'a EmbeddedImage, Vec<Unusable>)>,
    /// Same repository, another tag or digest.
    pub near: Vec<&'a EmbeddedImage>,
    /// Carry the digest, but under no name of the same repository.
    pub digest_elsewhere: Vec<&'a EmbeddedImage>,
}

impl Lookup<'_> {
    pub fn is_embedded(&self) -> bool {
        !self.found.is_empty()
    }
}

/// The names CRI-O tries for a reference: a short name goes through
/// `unqualified-search-registries` (its docker.io normalisation only when there are none, or
/// docker.io is one of them); a qualified one is tried as is.
pub fn candidates(r: &ImageRef, search_registries: &[String]) -> Vec<ImageRef> {
    if !r.is_short_name() || search_registries.is_empty() {
        return vec![r.clone()];
    }
    let mut out: Vec<ImageRef> = search_registries
        .iter()
        .filter_map(|reg| ImageRef::parse(&format!("{}/{}", reg.trim_end_matches('/'), r.raw())).ok())
        .collect();
    if out.is_empty() {
        out.push(r.clone());
    }
    out
}

/// Whether a stored name is the reference, as containers/storage compares names: same
/// repository, and the same digest for a digest reference, else the same tag (no digest).
pub fn name_is(reference: &ImageRef, name: &ImageRef) -> bool {
    if reference.name() != name.name() {
        return false;
    }
    match reference.digest() {
        Some(d) => name.digest() == Some(d),
        None => name.digest().is_none() && name.effective_tag() == reference.effective_tag(),
    }
}

/// The parsed names of a carried image (names that do not parse cannot be looked up).
pub fn parsed_names(image: &EmbeddedImage) -> Vec<ImageRef> {
    image.names.iter().filter_map(|n| ImageRef::parse(n).ok()).collect()
}

/// How `image` matches `reference` by the containers-storage rule, if it does.
pub fn matches(reference: &ImageRef, image: &EmbeddedImage) -> Option<MatchKind> {
    let names = parsed_names(image);
    if names.iter().any(|n| name_is(reference, n)) {
        return Some(MatchKind::Name);
    }
    let digest = reference.digest()?;
    let same_repository = names.iter().any(|n| n.name() == reference.name());
    (same_repository && image.digests.iter().any(|d| d == digest)).then_some(MatchKind::DigestInRepository)
}

/// Why `image` cannot serve a reference on a device of `target_arch` (empty: it can).
pub fn unusable(image: &EmbeddedImage, target_arch: Option<&str>) -> Vec<Unusable> {
    let mut out = Vec::new();
    match &image.copy {
        // What the copy step does with a `dir:` copy decides whether it reaches the store.
        Some(LineOutcome::Copied) => {}
        Some(LineOutcome::Fails(f)) => out.push(Unusable::CopyFails(f.clone())),
        Some(other) => out.push(Unusable::NotCopied(other.clone())),
        None if !image.complete => out.push(Unusable::Incomplete),
        None => {}
    }
    if image.method == Method::DefaultStore {
        out.push(Unusable::InVar);
    }
    if !image.visible_to_crio {
        out.push(Unusable::NotVisible);
    }
    if let Some(target) = target_arch
        && !arch_fits(image, target)
    {
        out.push(Unusable::WrongArch);
    }
    out
}

/// Whether an image can run on `target` (unknown architectures are given the benefit of the
/// doubt; `embedded-arch-mismatch` only reports known ones).
pub fn arch_fits(image: &EmbeddedImage, target: &str) -> bool {
    image.architectures.is_empty() || image.architectures.iter().any(|a| same_arch(a, target))
}

/// Look a reference up among the images `inventory` carries (bound images are named, not
/// carried, and never match).
pub fn lookup<'a>(reference: &ImageRef, inventory: &'a Inventory, target_arch: Option<&str>) -> Lookup<'a> {
    let search = &inventory.config.registries.unqualified_search_registries;
    let tries = candidates(reference, search);
    let mut out = Lookup::default();
    // Unusable images matched by name come first: they are what the reference names.
    let mut by_digest = Vec::new();
    for image in inventory.images.iter().filter(|i| i.method != Method::Bound) {
        let matched = tries.iter().find_map(|c| matches(c, image));
        match matched {
            Some(kind) => {
                let why = unusable(image, target_arch);
                if why.is_empty() {
                    out.found.push((image, kind));
                } else if kind == MatchKind::Name {
                    out.unusable.push((image, why));
                } else {
                    by_digest.push((image, why));
                }
            }
            None => {
                let names = parsed_names(image);
                if tries.iter().any(|c| names.iter().any(|n| n.name() == c.name())) {
                    out.near.push(image);
                } else if let Some(d) = reference.digest()
                    && image.digests.iter().any(|x| x == d)
                {
                    out.digest_elsewhere.push(image);
                }
            }
        }
    }
    out.unusable.extend(by_digest);
    out
}

/// The result of looking a reference up in the static embed plan.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanLookup {
    /// The plan embeds it (as written in the plan).
    pub planned: Option<String>,
    /// Planned images of the same repository, another tag or digest.
    pub near: Vec<String>,
    /// Embeds whose images stowage cannot know statically (shell variables...).
    pub unknown: usize,
}

/// Look a reference up in the embed plan. A planned `repo:tag` is taken to satisfy a
/// `repo:tag@digest` reference: which digest the tag will have is only known once the image is
/// built (`check --image` verifies it).
pub fn lookup_plan(reference: &ImageRef, plan: &[PlannedEmbed]) -> PlanLookup {
    let mut out = PlanLookup::default();
    for embed in plan {
        if embed.unknown.is_some() {
            out.unknown += 1;
        }
        for text in &embed.images {
            let Ok(planned) = ImageRef::parse(text) else { continue };
            let same_tag_unpinned = reference.digest().is_some()
                && planned.digest().is_none()
                && planned.name() == reference.name()
                && reference.tag().is_some()
                && planned.effective_tag() == reference.tag();
            let pinned_same = reference.digest().is_some() && planned.digest() == reference.digest();
            if (name_is(reference, &planned) || (pinned_same && planned.name() == reference.name()))
                || same_tag_unpinned
            {
                out.planned.get_or_insert_with(|| text.clone());
            } else if planned.name() == reference.name() && !out.near.contains(text) {
                out.near.push(text.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::ListLine;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

    fn r(text: &str) -> ImageRef {
        ImageRef::parse(text).expect("test reference")
    }

    fn image(method: Method, names: &[&str], digests: &[&str]) -> EmbeddedImage {
        EmbeddedImage {
            names: names.iter().map(|n| n.to_string()).collect(),
            digest: digests.first().map(|d| d.to_string()),
            digests: digests.iter().map(|d| d.to_string()).collect(),
            method,
            store: "/usr/lib/containers/storage".into(),
            path: "/usr/lib/containers/storage/x".into(),
            architectures: vec!["amd64".into()],
            size: 1,
            complete: true,
            problems: Vec::new(),
            warnings: Vec::new(),
            visible_to_crio: true,
            visibility: "configured".into(),
            id: None,
            list_line: None,
            copy: None,
            index: false,
            layer_blobs: Vec::new(),
        }
    }

    fn inv(images: Vec<EmbeddedImage>) -> Inventory {
        Inventory {
            target_arch: Some("amd64".into()),
            images,
            stores: Vec::new(),
            config: Default::default(),
            problems: Vec::new(),
            copy_service: Default::default(),
        }
    }

    fn found(reference: &str, images: Vec<EmbeddedImage>) -> bool {
        look(reference, images, Some("amd64")).embedded
    }

    /// What a lookup found, owned.
    struct Look {
        embedded: bool,
        unusable: Vec<Vec<Unusable>>,
        near: usize,
        digest_elsewhere: usize,
    }

    fn look(reference: &str, images: Vec<EmbeddedImage>, arch: Option<&str>) -> Look {
        let inventory = inv(images);
        let l = lookup(&r(reference), &inventory, arch);
        Look {
            embedded: l.is_embedded(),
            unusable: l.unusable.iter().map(|(_, u)| u.clone()).collect(),
            near: l.near.len(),
            digest_elsewhere: l.digest_elsewhere.len(),
        }
    }

    #[test]
    fn exact_names_after_normalisation() {
        let cs = |names: &[&str]| vec![image(Method::ContainersStorage, names, &[D1])];
        assert!(found("nginx", cs(&["docker.io/library/nginx:latest"])));
        assert!(found("docker.io/nginx:latest", cs(&["docker.io/library/nginx:latest"])));
        assert!(found("index.docker.io/library/nginx", cs(&["docker.io/library/nginx:latest"])));
        assert!(found("quay.io/a/b:1", cs(&["quay.io/a/b:1"])));
        assert!(!found("quay.io/a/b:2", cs(&["quay.io/a/b:1"])));
        assert!(!found("quay.io/a/b", cs(&["quay.io/a/b:1"])), "no tag means latest");
        assert!(!found("quay.io/a/c:1", cs(&["quay.io/a/b:1"])));
        // A port is not a tag.
        assert!(found("registry:5000/app:2", cs(&["registry:5000/app:2"])));
        assert!(!found("registry:5000/app", cs(&["registry:5000/app:5000"])));
    }

    #[test]
    fn digest_references_need_the_digest_and_the_repository() {
        let cs = |names: &[&str], digests: &[&str]| vec![image(Method::ContainersStorage, names, digests)];
        // In the digest list under a name of the same repository (another tag): found.
        assert!(found(&format!("quay.io/a/b@{D1}"), cs(&["quay.io/a/b:1"], &[D1])));
        // A manifest-list digest is in the list too.
        assert!(found(&format!("quay.io/a/b@{D2}"), cs(&["quay.io/a/b:1"], &[D1, D2])));
        // The digest alone is not enough.
        let l = look(&format!("quay.io/a/other@{D1}"), cs(&["quay.io/a/b:1"], &[D1]), None);
        assert!(!l.embedded);
        assert_eq!(l.digest_elsewhere, 1);
        // An exact digested name matches even when the digest list does not hold it.
        assert!(found(&format!("quay.io/a/b@{D3}"), cs(&[&format!("quay.io/a/b@{D3}")], &[D1])));
        // Another digest of the same repository is a near match, not a match.
        let l = look(&format!("quay.io/a/b@{D3}"), cs(&["quay.io/a/b:1"], &[D1]), None);
        assert!(!l.embedded);
        assert_eq!(l.near, 1);
    }

    #[test]
    fn tag_and_digest_is_looked_up_by_the_digest_alone() {
        let cs = |names: &[&str], digests: &[&str]| vec![image(Method::ContainersStorage, names, digests)];
        assert!(found(&format!("quay.io/a/b:1@{D1}"), cs(&["quay.io/a/b:1"], &[D1])));
        // The tag does not matter once the digest is there...
        assert!(found(&format!("quay.io/a/b:9@{D1}"), cs(&["quay.io/a/b:1"], &[D1])));
        // ...and a re-pointed tag does not satisfy the pinned digest.
        let l = look(&format!("quay.io/a/b:1@{D2}"), cs(&["quay.io/a/b:1"], &[D1]), None);
        assert!(!l.embedded);
        assert_eq!(l.near, 1);
    }

    #[test]
    fn dir_copies_need_the_copy_step_to_copy_them_and_the_copy_service() {
        let mut copy = image(Method::Dir, &["quay.io/a/b:1"], &[D1, D2]);
        let hash = crate::inventory::sha256_hex(b"quay.io/a/b:1\n");
        copy.list_line = Some(ListLine { line: 1, hash: hash.clone(), expected_hash: hash.clone() });
        // `repo@sha256:X` is met by a line `repo:tag` whose copy has digest X.
        assert!(found(&format!("quay.io/a/b@{D2}"), vec![copy.clone()]));
        assert!(found("quay.io/a/b:1", vec![copy.clone()]));

        // The script uses H as written: a copy at an unexpected H is still copied.
        let mut other_h = copy.clone();
        other_h.list_line = Some(ListLine { line: 1, hash: "0".repeat(64), expected_hash: hash });
        other_h.copy = Some(LineOutcome::Copied);
        assert!(found("quay.io/a/b:1", vec![other_h]));
        // What the copy step does decides.
        let refused = CopyFailure::new(crate::inventory::copystep::FailKind::DigestMismatch, "digest");
        let mut fails = copy.clone();
        fails.copy = Some(LineOutcome::Fails(refused.clone()));
        let l = look("quay.io/a/b:1", vec![fails], Some("amd64"));
        assert_eq!(l.unusable[0], [Unusable::CopyFails(refused)]);
        let mut not_reached = copy.clone();
        not_reached.copy = Some(LineOutcome::NotReached(1));
        let l = look("quay.io/a/b:1", vec![not_reached], Some("amd64"));
        assert_eq!(l.unusable[0], [Unusable::NotCopied(LineOutcome::NotReached(1))]);

        let mut incomplete = copy.clone();
        incomplete.complete = false;
        incomplete.visible_to_crio = false;
        let l = look("quay.io/a/b:1", vec![incomplete], Some("amd64"));
        assert!(!l.embedded);
        assert_eq!(l.unusable[0], [Unusable::Incomplete, Unusable::NotVisible]);
    }

    #[test]
    fn the_target_architecture_counts() {
        let mut arm = image(Method::ContainersStorage, &["quay.io/a/b:1"], &[D1]);
        arm.architectures = vec!["arm64".into()];
        let l = look("quay.io/a/b:1", vec![arm.clone()], Some("amd64"));
        assert_eq!(l.unusable[0], [Unusable::WrongArch]);
        assert!(look("quay.io/a/b:1", vec![arm.clone()], Some("aarch64")).embedded);
        arm.architectures = vec!["amd64".into(), "arm64/v8".into()];
        assert!(look("quay.io/a/b:1", vec![arm], Some("arm64")).embedded);
    }

    #[test]
    fn bound_images_are_not_carried() {
        assert!(!found("quay.io/a/b:1", vec![image(Method::Bound, &["quay.io/a/b:1"], &[])]));
    }

    #[test]
    fn short_names_go_through_the_search_registries() {
        let mut i = inv(vec![image(Method::ContainersStorage, &["quay.io/a/b:1"], &[D1])]);
        assert!(!lookup(&r("a/b:1"), &i, None).is_embedded());
        i.config.registries.unqualified_search_registries =
            vec!["registry.example.com".into(), "quay.io".into()];
        assert!(lookup(&r("a/b:1"), &i, None).is_embedded());
        assert_eq!(candidates(&r("quay.io/a/b:1"), &["x.io".into()]).len(), 1);
    }

    #[test]
    fn the_static_plan() {
        let plan = |images: &[&str]| {
            vec![PlannedEmbed {
                images: images.iter().map(|s| s.to_string()).collect(),
                unknown: None,
                release_loop: false,
                method: Method::Dir,
                store: None,
                image_list: None,
                all: true,
                location: crate::text::location::Location::file_only("Containerfile"),
            }]
        };
        assert!(lookup_plan(&r("quay.io/a/b:1"), &plan(&["quay.io/a/b:1"])).planned.is_some());
        assert!(lookup_plan(&r(&format!("quay.io/a/b:1@{D1}")), &plan(&["quay.io/a/b:1"])).planned.is_some());
        assert!(
            lookup_plan(&r(&format!("quay.io/a/b@{D1}")), &plan(&[&format!("quay.io/a/b:1@{D1}")]))
                .planned
                .is_some()
        );
        let miss = lookup_plan(&r("quay.io/a/b:2"), &plan(&["quay.io/a/b:1"]));
        assert_eq!((miss.planned, miss.near), (None, vec!["quay.io/a/b:1".to_string()]));
    }
}
