//! `embedded-in-var`: an image carried in the default store under /var
//! (`/var/lib/containers/storage`). bootc copies /var only at install, never on upgrade, and
//! CRI-O wipes that store after an unclean shutdown.

use super::{Context, Rule, carried_image_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::Method;
use crate::rules::explain::image_name;

pub static RULE: Rule = rule!("embedded-in-var", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    carried_image_findings(RULE.id, facts, |i| {
        (i.method == Method::DefaultStore).then(|| {
            format!(
                "`{}` is in the default store {}: bootc copies /var only at install (never on upgrade) and \
                 CRI-O wipes it after an unclean shutdown",
                image_name(i),
                i.store
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::image_check;

    #[test]
    fn images_under_var_fire() {
        let found = image_check(&RULE, "var-only", &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].location.file.starts_with("/var/lib/containers/storage/vfs-images/"));
        assert!(image_check(&RULE, "dir-copies", &[]).is_empty());
    }
}
