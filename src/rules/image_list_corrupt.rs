//! `image-list-corrupt`: an image list line that is not `REF,H` with `H` = sha256(REF +
//! newline), as the documented recipe writes it. A line without a comma (or an empty one)
//! makes the copy fail; a wrong `H` means the list and the directories were not written
//! together; a last line without a newline is never read by the copy loop.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::rules::explain::{image_path, line_of};

pub static RULE: Rule = rule!("image-list-corrupt", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let inv = &image.inventory;
    let at = |file: &str, line: u32| match facts.sources.get(file) {
        Some(src) => line_of(src, line),
        None => image_path(facts, file),
    };
    let mut out = Vec::new();
    for s in inv.stores.iter().filter(|s| s.kind == "image-list") {
        for (line, text) in &s.malformed_lines {
            out.push(finding(
                RULE.id,
                if text.is_empty() {
                    "an empty line is not `REF,H`: the copy script runs `skopeo copy` with an empty reference"
                        .to_string()
                } else {
                    format!("`{text}` is not `REF,H`: the copy script cannot read this line")
                },
                at(&s.path, *line),
            ));
        }
    }
    if let Some(run) = &inv.copy_service.run
        && let Some(line) = run.no_newline
    {
        out.push(finding(
            RULE.id,
            "the last line has no newline: `while read` never runs the copy for it, so this image is never \
             copied, and the script still succeeds"
                .to_string(),
            at(&run.list, line),
        ));
    }
    for i in &inv.images {
        let Some(l) = i.list_line.as_ref().filter(|l| !l.hash_valid()) else { continue };
        let name = i.names.first().cloned().unwrap_or_default();
        out.push(
            finding(
                RULE.id,
                format!(
                    "the H of `{name}` is {}, not sha256(REF + newline) = {}: the list was not written by \
                     the documented recipe",
                    l.hash, l.expected_hash
                ),
                at(&i.store, l.line),
            )
            .with_image(name),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn wrong_hashes_fire() {
        assert_eq!(
            positions(&image_check(&RULE, "dir-copies", &[])),
            ["/usr/lib/containers/storage/image-list.txt:6:1"]
        );
        assert!(image_check(&RULE, "thirty", &[]).is_empty());
    }
}
