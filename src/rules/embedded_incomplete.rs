//! `embedded-incomplete`: an image carried inside the OS image misses something it needs (a
//! blob, a layer, its manifest, its `dir:` directory). CRI-O cannot run it; the copy service
//! fails on it.

use super::{Context, Rule, carried_image_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::rules::explain::image_name;

pub static RULE: Rule = rule!("embedded-incomplete", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    carried_image_findings(RULE.id, facts, |i| {
        (i.method != Method::Bound && !i.complete).then(|| {
            format!(
                "the {} copy `{}` is incomplete: {}",
                i.method.as_str(),
                image_name(i),
                i.problems.join("; ")
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn broken_copies_fire_complete_ones_do_not() {
        let found = image_check(&RULE, "dir-copies", &[]);
        assert_eq!(
            positions(&found),
            [
                "/usr/lib/containers/storage/image-list.txt:5:1",
                "/usr/lib/containers/storage/image-list.txt:7:1"
            ]
        );
        assert!(image_check(&RULE, "thirty", &[]).is_empty());
    }
}
