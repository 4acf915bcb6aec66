//! `ignore`: waivers, each matching findings by rule, path or image, with a reason and an
//! expiry date.

use super::super::Ignore;
use super::super::custom::CustomRule;
use super::super::date::Date;
use super::{Parser, suggest};
use crate::text::yaml::Node;

impl Parser<'_> {
    pub(super) fn ignores(&mut self, node: &Node, custom: &[CustomRule]) -> Vec<Ignore> {
        let mut out = Vec::new();
        let Some(items) = self.seq(node, "ignore") else { return out };
        for item in items {
            let Some(fields) = self.map(item, "an `ignore` entry") else { continue };
            let mut ignore = Ignore {
                rules: Vec::new(),
                path: None,
                image: None,
                reason: None,
                expires: None,
                location: self.location(item),
            };
            for (k, v) in fields {
                let Some(name) = self.key(k) else { continue };
                match name {
                    "rule" | "rules" => {
                        for (id, id_node) in self.strings(v, "ignore.rule") {
                            if self.check_rule_id(id_node, &id, custom) {
                                ignore.rules.push(id);
                            }
                        }
                    }
                    "path" => ignore.path = self.pattern(v, "ignore.path", true),
                    "image" => ignore.image = self.pattern(v, "ignore.image", false),
                    "reason" => {
                        ignore.reason = self.string(v, "ignore.reason").filter(|r| !r.trim().is_empty())
                    }
                    "expires" => {
                        if let Some(text) = self.string(v, "ignore.expires") {
                            match Date::parse(&text) {
                                Some(d) => ignore.expires = Some(d),
                                None => self.error_at(
                                    v,
                                    format!("`expires` must be a date YYYY-MM-DD, not `{text}`"),
                                ),
                            }
                        }
                    }
                    other => {
                        let keys = ["rule", "path", "image", "reason", "expires"];
                        self.error_at(
                            k,
                            format!("unknown key `{other}` in an ignore entry{}", suggest(other, &keys)),
                        );
                    }
                }
            }
            if ignore.rules.is_empty() && ignore.path.is_none() && ignore.image.is_none() {
                self.error_at(item, "an ignore entry needs at least one of `rule`, `path`, `image`");
                continue;
            }
            out.push(ignore);
        }
        out
    }
}
