//! `latest-tag`: an image referenced by `latest`, written or implied (no tag, no digest).
//! A reference pinned by digest passes even when it also says `latest`.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;

pub static RULE: Rule = rule!("latest-tag", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &facts.references {
        let Some(resolved) = &r.resolved else { continue };
        if resolved.digest().is_some() {
            continue;
        }
        let text = r.text();
        let found = match resolved.tag() {
            Some("latest") => finding(
                RULE.id,
                format!("`{text}` uses the `latest` tag, which names whatever the registry served last"),
                resolved.tag_span().map_or_else(|| r.location.clone(), |s| r.component_location(s)),
            )
            .with_label("tag"),
            None => finding(
                RULE.id,
                format!("`{text}` has neither tag nor digest, so it means `latest`"),
                r.location.clone(),
            )
            .with_label("no tag, no digest"),
            Some(_) => continue,
        };
        out.push(found.about(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, fires_at};

    #[test]
    fn catches_written_and_implied_latest() {
        assert_eq!(fires_at(&RULE, &[("Containerfile", "FROM quay.io/x/a:latest AS a\nFROM quay.io/x/b\n")]), ["Containerfile:1:18", "Containerfile:2:6"]);
    }

    #[test]
    fn passes_tags_digests_and_ports() {
        let text = "FROM quay.io/x/a:1.0\nFROM quay.io/x/b:latest@sha256:0000000000000000000000000000000000000000000000000000000000000000\nFROM registry:5000/app:2\n";
        assert!(check(&RULE, &[("Containerfile", text)]).is_empty());
    }

    #[test]
    fn a_port_is_not_a_tag() {
        assert_eq!(fires_at(&RULE, &[("Containerfile", "FROM registry:5000/app\n")]), ["Containerfile:1:6"]);
    }
}
