//! `registry-not-allowed`: an image from a registry the configuration does not allow
//! (`registries.allow` / `registries.deny`). Patterns match `registry/repository`; a pattern
//! without `/` matches the registry alone. Deny wins over allow; with an allow list, anything
//! not on it is reported. Without `registries` in the configuration the rule is silent.

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::text::pattern::Pattern;

pub static RULE: Rule = rule!("registry-not-allowed", Some(check));

fn matches(pattern: &Pattern, registry: &str, name: &str) -> bool {
    if pattern.as_str().contains('/') { pattern.matches(name) } else { pattern.matches(registry) }
}

fn check(facts: &Facts, ctx: &Context) -> Vec<Finding> {
    let registries = &ctx.config.registries;
    if registries.allow.is_empty() && registries.deny.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for r in &facts.references {
        let Some(resolved) = &r.resolved else { continue };
        let (registry, name) = (resolved.registry(), resolved.name());
        let why = if let Some(p) = registries.deny.iter().find(|p| matches(p, registry, &name)) {
            format!("matches the denied pattern `{}`", p.as_str())
        } else if !registries.allow.is_empty()
            && !registries.allow.iter().any(|p| matches(p, registry, &name))
        {
            "matches no allowed pattern".to_string()
        } else {
            continue;
        };
        let mut f = finding(
            RULE.id,
            format!("`{}` comes from `{registry}`, which {why}", r.text()),
            r.location.clone(),
        )
        .about(r)
        .with_label("registry");
        if let Some(loc) = &registries.location {
            f = f.with_related("registries configured here", loc.clone());
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{check, check_with, config, positions};

    const FILE: &str = "FROM quay.io/acme/app:1\nFROM docker.io/library/nginx:1\nFROM registry.redhat.io/ubi9/ubi:9\nFROM quay.io/other/x:1\n";

    #[test]
    fn allow_and_deny_lists() {
        let cfg = config(
            "registries:\n  allow: [\"quay.io/acme/*\", registry.redhat.io]\n  deny: [{regex: \"docker\\\\.io\"}]\n",
        );
        let found = check_with(&RULE, &[("Containerfile", FILE)], &cfg);
        assert_eq!(positions(&found), ["Containerfile:2:6", "Containerfile:4:6"]);
        assert!(found[0].message.contains("denied pattern `docker\\.io`"), "{}", found[0].message);
        assert!(found[1].message.contains("no allowed pattern"), "{}", found[1].message);
        assert_eq!(found[0].related[0].location.file, "stowage.yaml");
    }

    #[test]
    fn silent_without_configuration() {
        assert!(check(&RULE, &[("Containerfile", FILE)]).is_empty());
    }
}
