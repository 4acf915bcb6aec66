//! The rules: one file per rule, each a pure function over the facts. Severities and help come
//! from the catalog (`rules/*.yaml`); the engine applies the configuration, suppressions,
//! waivers and the baseline after the rules ran.

/// Declares a rule once, with its catalog entry beside it: `rule!("latest-tag", Some(check))`
/// embeds `rules/latest-tag.yaml`. The engine's own rules (about waivers) have no check.
macro_rules! rule {
    ($id:literal, $check:expr) => {
        $crate::rules::Rule {
            id: $id,
            catalog: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $id, ".yaml")),
            check: $check,
        }
    };
}

/// The rules that run over the facts, one module each, in id order: the modules and
/// [`RULES`] come from this one list.
macro_rules! checked_rules {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every rule that runs over the facts, in id order.
        pub static RULES: &[&Rule] = &[$(&$module::RULE),*];
    };
}

checked_rules![
    additional_store_upgrade,
    base_image_unpinned,
    bound_image_needs_network,
    copy_script_fails,
    copy_script_unrecognised,
    copy_service_missing,
    embedded_arch_mismatch,
    embedded_digest_mismatch,
    embedded_in_var,
    embedded_incomplete,
    image_list_corrupt,
    image_not_found,
    invalid_reference,
    kustomization_unbuildable,
    latest_tag,
    manifests_not_applied,
    manifests_not_built,
    mutable_tag,
    not_embedded,
    not_pinned,
    pause_image_not_embedded,
    platform_missing,
    pull_policy_always,
    registry_not_allowed,
    registry_unreachable,
    release_image_not_embedded,
    remote_resource,
    short_name,
    store_lockfile_missing,
    store_not_configured,
    tag_moved,
    unparsable_file,
    unresolved_reference,
];

/// The upgrade rules (scope `upgrade`): they compare two OS images (`stowage diff`), so they
/// run over an [`Upgrade`](crate::upgrade::Upgrade), not over one image's facts.
pub mod additional_store_changed;
pub mod embedded_removed_still_referenced;
pub mod var_content_changed;

/// Every upgrade rule, in id order.
pub static UPGRADE_RULES: &[&UpgradeRule] =
    &[&additional_store_changed::RULE, &embedded_removed_still_referenced::RULE, &var_content_changed::RULE];

/// An upgrade rule: its catalog entry and the check over the two images.
pub struct UpgradeRule {
    pub rule: Rule,
    pub check: fn(&crate::upgrade::Upgrade, &Context) -> Vec<Finding>,
}

pub mod baseline;
pub mod catalog;
pub mod engine;
pub mod explain;
pub mod matching;
pub mod suppress;

use crate::config::Config;
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::text::location::Location;

/// What a rule may read besides the facts: its parameters and the configuration.
pub struct Context<'a> {
    pub config: &'a Config,
}

impl Context<'_> {
    /// A parameter of a rule from the configuration (checked against its type when the
    /// configuration was read), else the catalog default. A rule asking for a parameter its
    /// catalog entry does not declare is a defect, not a silent default: it panics in the
    /// rule's own tests.
    #[expect(clippy::panic, reason = "a rule reading an undeclared parameter is a defect of the rule")]
    pub fn param(&self, rule: &str, name: &str) -> serde_json::Value {
        let declared = catalog::entry(rule).and_then(|e| e.parameters.iter().find(|p| p.name == name));
        let Some(declared) = declared else {
            panic!("rule `{rule}` reads parameter `{name}`, which rules/{rule}.yaml does not declare")
        };
        match self.config.param(rule, name) {
            Some(node) => node_to_json(node),
            None => declared.default.clone(),
        }
    }

    /// A list-of-strings parameter.
    pub fn param_strings(&self, rule: &str, name: &str) -> Vec<String> {
        match self.param(rule, name) {
            serde_json::Value::Array(items) => {
                items.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
            }
            serde_json::Value::String(s) => vec![s],
            _ => Vec::new(),
        }
    }
}

fn node_to_json(node: &crate::text::yaml::Node) -> serde_json::Value {
    use crate::text::yaml::Value;
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::from_str(n).unwrap_or_else(|_| serde_json::Value::String(n.clone())),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Seq(items) => serde_json::Value::Array(items.iter().map(node_to_json).collect()),
        Value::Map(entries) => serde_json::Value::Object(
            entries.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), node_to_json(v)))).collect(),
        ),
    }
}

/// A rule: its id, its catalog entry (`rules/<id>.yaml`, embedded: severity, help, docs and
/// parameters) and the check that finds it over the facts.
pub struct Rule {
    pub id: &'static str,
    pub catalog: &'static str,
    /// `None` for the engine's own rules, which the engine reports while applying waivers.
    pub check: Option<fn(&Facts, &Context) -> Vec<Finding>>,
}

/// Rules the engine itself reports (about waivers), in id order.
pub static ENGINE_RULES: &[&Rule] =
    &[&engine::EXPIRED_IGNORE, &engine::IGNORE_WITHOUT_REASON, &engine::UNUSED_IGNORE];

/// Every rule, checked ones first: what the catalog is made of.
pub fn all_rules() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().chain(ENGINE_RULES).copied().chain(UPGRADE_RULES.iter().map(|u| &u.rule))
}

/// A finding of `rule` with the rule's catalog severity and remediation as help.
pub fn finding(rule: &'static str, message: impl Into<String>, location: Location) -> Finding {
    let mut f = Finding::new(rule, catalog::default_severity(rule), message, location);
    f.help = catalog::entry(rule).map(|e| first_sentence(&e.remediation));
    f
}

/// One finding of `rule` at each reference `message` has something to say about, located at the
/// reference's text and naming it.
pub fn reference_findings(
    rule: &'static str,
    facts: &Facts,
    message: impl Fn(&crate::reference::Reference) -> Option<String>,
) -> Vec<Finding> {
    facts
        .references
        .iter()
        .filter_map(|r| Some(finding(rule, message(r)?, r.location.clone()).about(r)))
        .collect()
}

/// The findings of a rule over the images the built image carries (none without `--image`):
/// one for each image `message` has something to say about, at its image-list line (a `dir:`
/// copy) or its in-image path.
pub fn carried_image_findings(
    rule: &'static str,
    facts: &Facts,
    mut message: impl FnMut(&crate::inventory::EmbeddedImage) -> Option<String>,
) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    image
        .inventory
        .images
        .iter()
        .filter_map(|i| {
            let text = message(i)?;
            Some(
                finding(rule, text, crate::rules::explain::image_location(facts, i))
                    .with_image(crate::rules::explain::image_name(i)),
            )
        })
        .collect()
}

/// The findings of a rule that reports the kustomize build's issues of one kind, at the entry
/// of the kustomization each is about.
pub fn kustomize_issue_findings(
    rule: &'static str,
    facts: &Facts,
    kind: crate::resolve::kustomize::IssueKind,
) -> Vec<Finding> {
    facts
        .kustomize_issues
        .iter()
        .filter(|i| i.kind == kind)
        .map(|i| finding(rule, i.message.clone(), i.location.clone()))
        .collect()
}

/// The findings of a "not carried" rule: for each reference `which` selects that neither the
/// image nor (without `--image`) the embed plan carries, a finding at the reference, its
/// message `describe(reference, why)`, with the explanation's related locations.
pub fn missing_findings(
    rule: &'static str,
    facts: &Facts,
    which: impl Fn(&crate::reference::Reference) -> bool,
    describe: impl Fn(&crate::reference::Reference, &str) -> String,
) -> Vec<Finding> {
    facts
        .references
        .iter()
        .filter(|r| which(r))
        .filter_map(|r| {
            let missing = crate::rules::explain::missing(facts, r)?;
            let mut f = finding(rule, describe(r, &missing.text), r.location.clone()).about(r);
            f.related = missing.related;
            Some(f)
        })
        .collect()
}

fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}

/// Run every rule with the default configuration and return the findings in report order
/// (the engine's suppressions and waivers are not applied).
pub fn run(facts: &Facts) -> Vec<Finding> {
    let config = Config::default();
    let ctx = Context { config: &config };
    let mut findings: Vec<Finding> =
        RULES.iter().filter_map(|r| r.check).flat_map(|check| check(facts, &ctx)).collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    findings
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::config::Config;
    use crate::finding::Finding;
    use crate::gather::discover::gather_in_memory;
    use crate::gather::facts::Facts;
    use crate::source::BuildOptions;

    /// Facts from in-memory files, as `stowage check` would gather them from disk.
    pub fn facts(files: &[(&str, &str)]) -> Facts {
        gather_in_memory(files, &BuildOptions::default())
    }

    /// The findings of one rule on in-memory files.
    pub fn check(rule: &super::Rule, files: &[(&str, &str)]) -> Vec<Finding> {
        check_with(rule, files, &Config::default())
    }

    /// The findings of one rule with a configuration.
    pub fn check_with(rule: &super::Rule, files: &[(&str, &str)], config: &Config) -> Vec<Finding> {
        let check = rule.check.expect("a rule with a check");
        check(&facts(files), &super::Context { config })
    }

    /// A configuration from YAML text (panics on errors: test input).
    pub fn config(yaml: &str) -> Config {
        match crate::config::parse_text(
            crate::text::SourceText::from_str("stowage.yaml", yaml),
            &crate::rules::catalog::known_rules(),
        ) {
            Ok(c) => c,
            Err(e) => panic!("config errors: {:?}", e.errors),
        }
    }

    /// The findings of one rule with `--image rootfs:fixtures/inventory/<fixture>` (target
    /// amd64) and in-memory repository files.
    pub fn image_check(rule: &super::Rule, fixture: &str, files: &[(&str, &str)]) -> Vec<Finding> {
        let mut facts = facts(files);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory").join(fixture);
        let spec = format!("rootfs:{}", root.display());
        let opts = crate::image::ImageOptions { use_cache: false, ..Default::default() };
        let opened = crate::image::open(&spec, &opts).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) =
            crate::gather::image::attach_image(&mut facts, opened, Some("amd64"), &BuildOptions::default())
        {
            panic!("{e}");
        }
        let check = rule.check.expect("a rule with a check");
        check(&facts, &super::Context { config: &Config::default() })
    }

    /// The default rule context.
    pub fn context() -> super::Context<'static> {
        super::Context { config: Box::leak(Box::new(Config::default())) }
    }

    /// Online facts answering each (resolved reference, answer) for linux/amd64.
    pub fn online(
        answers: &[(&str, crate::image::registry::lookup::Answer)],
    ) -> crate::gather::online::OnlineFacts {
        let mut online = crate::gather::online::OnlineFacts::default();
        for (reference, answer) in answers {
            let resolved = crate::reference::imageref::ImageRef::parse(reference).unwrap().to_string();
            online.answers.insert((resolved, "linux/amd64".into()), answer.clone());
        }
        online
    }

    /// A found manifest for the platform, its tag not checked.
    pub fn found(digest: &str) -> crate::image::registry::lookup::Answer {
        use crate::image::registry::lookup::{Answer, Found, PlatformCheck};
        Answer::Found(Found {
            digest: digest.into(),
            via: None,
            platform: PlatformCheck::Present,
            instance: None,
            tag: None,
        })
    }

    pub fn positions(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(|f| format!("{}", f.location)).collect()
    }

    /// Where `rule` fires over `files` with the default configuration.
    pub fn fires_at(rule: &super::Rule, files: &[(&str, &str)]) -> Vec<String> {
        positions(&check(rule, files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(
        expected = "rule `mutable-tag` reads parameter `kind`, which rules/mutable-tag.yaml does not declare"
    )]
    fn a_parameter_the_catalog_does_not_declare_is_a_defect() {
        let config = Config::default();
        Context { config: &config }.param("mutable-tag", "kind");
    }

    #[test]
    fn registry_and_catalog_agree() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "RULES must be sorted by id and unique");
        let mut all: Vec<&str> = all_rules().map(|r| r.id).collect();
        all.sort();
        let catalog: Vec<&str> = catalog::entries().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(all, catalog, "every rule needs a catalog entry and every entry a rule");
    }
}
