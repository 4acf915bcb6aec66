//! `not-embedded`: an image the device runs (a pod container, a Quadlet `Image=`) that no
//! complete, CRI-O-visible carried image satisfies, by CRI-O's lookup rules (DOMAIN.md §4).
//! Without `--image` the static embed plan of the Containerfiles stands in for the image.
//! Release and pause images have their own rules; bound images are pulled by bootc.

use super::{Context, Rule, missing_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::{Origin, RefKind};

pub static RULE: Rule = rule!("not-embedded", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    missing_findings(
        RULE.id,
        facts,
        |r| r.kind == RefKind::Runtime && r.origin != Origin::CrioPauseImage,
        |r, why| format!("`{}` {why}", r.text()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, image_check, positions};

    const EMBEDS: &str = "FROM quay.io/fedora/fedora-bootc:42\n\
        RUN skopeo copy --all --preserve-digests docker://quay.io/stowage/app:1 dir:/usr/lib/containers/storage/x\n";

    #[test]
    fn static_mode_uses_the_embed_plan() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: quay.io/stowage/app:2\n    - name: b\n      image: quay.io/stowage/app:1\n";
        let found = check(&RULE, &[("Containerfile", EMBEDS), ("pod.yaml", pod)]);
        assert_eq!(positions(&found), ["pod.yaml:7:14"]);
        assert!(found[0].message.contains("embed plan"), "{}", found[0].message);
        assert!(found[0].message.contains("the plan embeds quay.io/stowage/app:1"), "{}", found[0].message);
        // No Containerfile embeds anything: nothing to compare with, no finding.
        assert!(check(&RULE, &[("pod.yaml", pod)]).is_empty());
    }

    #[test]
    fn image_mode_follows_crio_lookup() {
        let q = "[Container]\nImage=quay.io/stowage/app:1\n";
        assert!(image_check(&RULE, "dir-copies", &[("app.container", q)]).is_empty());
        let missing = "[Container]\nImage=quay.io/stowage/app:2\n";
        let found = image_check(&RULE, "dir-copies", &[("app.container", missing)]);
        assert_eq!(positions(&found), ["app.container:2:7"]);
        assert!(found[0].message.contains("carries quay.io/stowage/app:1"), "{}", found[0].message);
        // A broken copy explains, and the reference is still not embedded.
        let broken = "[Container]\nImage=quay.io/stowage/missing-blob:1\n";
        let found = image_check(&RULE, "dir-copies", &[("b.container", broken)]);
        assert!(found[0].message.contains("is incomplete (layer blob"), "{}", found[0].message);
        assert_eq!(
            found[0].related[0].location.to_string(),
            "/usr/lib/containers/storage/image-list.txt:5:1"
        );
    }
}
