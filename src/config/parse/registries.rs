//! `registries`: the `allow` and `deny` patterns images' registries are checked against.

use super::super::Registries;
use super::{Parser, suggest};
use crate::text::yaml::{Node, Value};

impl Parser<'_> {
    pub(super) fn registries(&mut self, node: &Node) -> Registries {
        let mut out = Registries { location: Some(self.location(node)), ..Registries::default() };
        let Some(entries) = self.map(node, "`registries`") else { return out };
        for (k, v) in entries {
            let Some(name) = self.key(k) else { continue };
            let list = match name {
                "allow" => &mut out.allow,
                "deny" => &mut out.deny,
                other => {
                    self.error_at(
                        k,
                        format!(
                            "unknown key `registries.{other}` (use allow and deny){}",
                            suggest(other, &["allow", "deny"])
                        ),
                    );
                    continue;
                }
            };
            let items: Vec<Node> = match &v.value {
                Value::Seq(items) => items.clone(),
                _ => vec![v.clone()],
            };
            for item in &items {
                if let Some(p) = self.pattern(item, &format!("registries.{name}"), false) {
                    list.push(p);
                }
            }
        }
        out
    }
}
