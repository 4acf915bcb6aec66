//! `bound-image-needs-network`: a logically bound image (a Quadlet linked from
//! `/usr/lib/bootc/bound-images.d`). bootc pulls it at `upgrade` / `switch`, so upgrades need a
//! registry or mirror the device can reach.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::reference::RefKind;

pub static RULE: Rule = rule!("bound-image-needs-network", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    reference_findings(RULE.id, facts, |r| {
        (r.kind == RefKind::Bound).then(|| {
            format!(
                "`{}` is a logically bound image: bootc pulls it at every upgrade or switch, which fails \
                 without a reachable registry or mirror",
                r.text()
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn bound_quadlets_fire_plain_ones_do_not() {
        let found = image_check(&RULE, "bound", &[]);
        assert_eq!(
            positions(&found),
            [
                "/usr/share/containers/systemd/db.image:2:7",
                "/usr/share/containers/systemd/percent.container:2:7",
                "/usr/share/containers/systemd/spec.container:2:7",
                "/usr/share/containers/systemd/web.container:2:7"
            ]
        );
        assert!(
            image_check(&RULE, "dir-copies", &[("web.container", "[Container]\nImage=quay.io/x/y:1\n")])
                .is_empty()
        );
    }
}
