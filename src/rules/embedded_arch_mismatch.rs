//! `embedded-arch-mismatch`: an image carried inside the OS image is built for other
//! architectures than the OS image's (from its config; `--arch` overrides).

use super::{Context, Rule, carried_image_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::rules::explain::image_name;
use crate::rules::matching::arch_fits;

pub static RULE: Rule = rule!("embedded-arch-mismatch", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let target = &image.target_arch;
    carried_image_findings(RULE.id, facts, |i| {
        (i.method != Method::Bound && !arch_fits(i, target)).then(|| {
            format!(
                "`{}` is built for {}, but the OS image is {target} ({}): it cannot run on the device",
                image_name(i),
                i.architectures.join(", "),
                image.arch_source
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn foreign_architectures_fire() {
        assert_eq!(
            positions(&image_check(&RULE, "dir-copies", &[])),
            ["/usr/lib/containers/storage/image-list.txt:4:1"]
        );
        assert!(image_check(&RULE, "thirty", &[]).is_empty());
    }
}
