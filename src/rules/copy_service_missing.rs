//! `copy-service-missing`: `dir:` copies named in an image list, but nothing copies them into
//! CRI-O's store at boot: `/usr/bin/microshift-copy-images` or the `microshift.service.d`
//! drop-in that runs it is missing, or the script does not read this list.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::dircopy::{COPY_SCRIPT, DROP_IN_DIR};
use crate::rules::explain::image_path;

pub static RULE: Rule = rule!("copy-service-missing", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let service = &image.inventory.copy_service;
    image
        .inventory
        .stores
        .iter()
        .filter(|s| s.kind == "image-list" && !s.configured && s.images > 0)
        .map(|s| {
            let why = if !service.script {
                format!("{COPY_SCRIPT} is missing")
            } else if service.drop_in.is_none() {
                format!("no microshift.service drop-in ({DROP_IN_DIR} or /etc/systemd/system/microshift.service.d) runs {COPY_SCRIPT}")
            } else {
                format!("{COPY_SCRIPT} does not read {}", s.path)
            };
            finding(
                RULE.id,
                format!(
                    "{} dir: copies are listed in {}, but {why}: nothing copies them into CRI-O's store at boot",
                    s.images, s.path
                ),
                image_path(facts, &s.path),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn lists_without_the_service_fire() {
        let found = image_check(&RULE, "image-cache", &[]);
        assert_eq!(positions(&found), ["/usr/lib/containers-image-cache/mapping.txt:1:1"]);
        assert!(
            found[0].message.contains("/usr/bin/microshift-copy-images is missing"),
            "{}",
            found[0].message
        );
        assert!(image_check(&RULE, "thirty", &[]).is_empty());
    }
}
