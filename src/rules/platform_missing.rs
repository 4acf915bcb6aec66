//! `platform-missing` (`check --online`): a reference names an index without the target
//! platform, or a single manifest whose config is for another platform. The target is the
//! reference's own `FROM --platform`, else `--arch`, else the OS image's, else linux/amd64.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::gather::online::platform_of;
use crate::image::registry::lookup::{Answer, PlatformCheck};

pub static RULE: Rule = rule!("platform-missing", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(online) = &facts.online else { return Vec::new() };
    reference_findings(RULE.id, facts, |r| {
        let Answer::Found(found) = online.answer(r)? else { return None };
        let want = platform_of(r, &online.platform).to_oci();
        match &found.platform {
            PlatformCheck::Present => None,
            PlatformCheck::IndexWithout { have } => Some(format!(
                "`{}` is an index without {want} (it has {}), so pulling it for {want} fails{}",
                r.text(),
                if have.is_empty() { "no platform".to_string() } else { have.join(", ") },
                served_by(found.via.as_deref())
            )),
            PlatformCheck::SingleFor { platform } => Some(format!(
                "`{}` is a single {platform} image, not {want}: it would not run on the device{}",
                r.text(),
                served_by(found.via.as_deref())
            )),
        }
    })
}

/// Where the answer came from, when a mirror gave it.
fn served_by(via: Option<&str>) -> String {
    via.map(|m| format!(" (as the mirror `{m}` serves it)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::registry::lookup::Found;
    use crate::rules::test_support::{context, facts, online, positions};

    #[test]
    fn an_index_without_the_platform_or_a_manifest_for_another() {
        let files = [(
            "Containerfile",
            "FROM r.example/ok:1\nFROM r.example/index:1\nFROM r.example/single:1\nFROM --platform=linux/arm64 r.example/arm:1\n",
        )];
        let mut f = facts(&files);
        let with = |platform| Answer::Found(Found { digest: "sha256:aa".into(), via: None, platform, instance: None, tag: None });
        f.online = Some(online(&[
            ("r.example/ok:1", with(PlatformCheck::Present)),
            ("r.example/index:1", with(PlatformCheck::IndexWithout { have: vec!["linux/arm64".into()] })),
            ("r.example/single:1", with(PlatformCheck::SingleFor { platform: "linux/arm64".into() })),
        ]));
        // The FROM --platform reference is asked for linux/arm64: the answer keyed for amd64
        // does not apply to it.
        let found = check(&f, &context());
        assert_eq!(positions(&found), ["Containerfile:2:6", "Containerfile:3:6"]);
        assert!(found[0].message.contains("without linux/amd64 (it has linux/arm64)"), "{}", found[0].message);
        assert!(found[1].message.contains("single linux/arm64 image, not linux/amd64"), "{}", found[1].message);
    }
}
