//! `tag-moved` (`check --online`): a `repo:tag@digest` reference whose tag now names another
//! digest, or no longer exists. The digest still pulls what it pinned; the tag beside it no
//! longer says what that is.

use super::{Context, Rule, reference_findings};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::image::registry::lookup::{Answer, TagCheck};

pub static RULE: Rule = rule!("tag-moved", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(online) = &facts.online else { return Vec::new() };
    reference_findings(RULE.id, facts, |r| {
        let Answer::Found(found) = online.answer(r)? else { return None };
        let resolved = r.resolved.as_ref()?;
        let (tag, pinned) = (resolved.tag()?, resolved.digest()?);
        match found.tag.as_ref()? {
            TagCheck::Same => None,
            TagCheck::Moved { now } => Some(format!(
                "`{}`: the tag `{tag}` now names {now}, not the pinned {pinned}; the digest still pulls \
                 the pinned image, but the tag no longer says what it is",
                r.text()
            )),
            TagCheck::Gone => Some(format!(
                "`{}`: the tag `{tag}` no longer exists in the registry; the digest {pinned} still pulls",
                r.text()
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::registry::lookup::{Found, PlatformCheck};
    use crate::rules::test_support::{context, facts, online, positions};

    #[test]
    fn a_tag_that_names_another_digest_or_none() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let text = format!(
            "FROM r.example/a:1@{}\nFROM r.example/b:1@{}\nFROM r.example/c:1@{}\n",
            d('a'),
            d('b'),
            d('c')
        );
        let mut f = facts(&[("Containerfile", text.as_str())]);
        let with = |tag| {
            Answer::Found(Found { digest: d('0'), via: None, platform: PlatformCheck::Present, instance: None, tag: Some(tag) })
        };
        let (a, b, c) =
            (format!("r.example/a:1@{}", d('a')), format!("r.example/b:1@{}", d('b')), format!("r.example/c:1@{}", d('c')));
        f.online = Some(online(&[
            (a.as_str(), with(TagCheck::Same)),
            (b.as_str(), with(TagCheck::Moved { now: d('f') })),
            (c.as_str(), with(TagCheck::Gone)),
        ]));
        let found = check(&f, &context());
        assert_eq!(positions(&found), ["Containerfile:2:6", "Containerfile:3:6"]);
        assert!(found[0].message.contains(&format!("now names {}", d('f'))), "{}", found[0].message);
        assert!(found[1].message.contains("no longer exists"), "{}", found[1].message);
    }
}
