//! `stowage refs`: every reference found, as a table or as the JSON contract.

use crate::reference::{Reference, Status};
use crate::rules::explain::{Embedded, MissingReason, RefVerdict};
use comfy_table::{ContentArrangement, Table, presets};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

/// One reference of the JSON contract: the reference, and in image mode the verdict on it.
#[derive(Serialize)]
struct ReferenceOut<'a> {
    #[serde(flatten)]
    reference: &'a Reference,
    /// The copy CRI-O finds first.
    #[serde(skip_serializing_if = "Option::is_none")]
    embedded: Option<&'a Embedded>,
    /// Why the device will not find it.
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<MissingOut>,
    /// With `check --online`: what the registries said.
    #[serde(skip_serializing_if = "Option::is_none")]
    online: Option<&'a crate::image::registry::lookup::Answer>,
}

#[derive(Serialize)]
struct MissingOut {
    reason: MissingReason,
    message: String,
}

/// References with their verdicts (`verdicts` is empty, or one per reference).
pub struct WithVerdicts<'a> {
    pub references: &'a [Reference],
    pub verdicts: &'a [Option<RefVerdict>],
    pub online: Option<&'a crate::gather::online::OnlineFacts>,
}

impl Serialize for WithVerdicts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.references.len()))?;
        for (i, reference) in self.references.iter().enumerate() {
            let verdict = self.verdicts.get(i).and_then(Option::as_ref);
            seq.serialize_element(&ReferenceOut {
                reference,
                embedded: verdict.and_then(|v| v.as_ref().ok()),
                missing: verdict.and_then(|v| v.as_ref().err()).map(|m| MissingOut {
                    reason: m.reason,
                    message: format!("`{}` {}", reference.text(), m.text),
                }),
                online: self.online.and_then(|o| o.answer(reference)),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct RefsOutput<'a> {
    schema_version: u32,
    references: WithVerdicts<'a>,
}

/// Write the JSON contract to `out`, streaming (a tree of 10,000 files yields tens of MB).
pub fn write_json(
    references: &[Reference],
    verdicts: &[Option<RefVerdict>],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let doc = RefsOutput {
        schema_version: super::json::SCHEMA_VERSION,
        references: WithVerdicts { references, verdicts, online: None },
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

pub fn table(references: &[Reference]) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(["LOCATION", "KIND", "ORIGIN", "IMAGE", "RESOLVED"]);
    for r in references {
        let resolved = match (&r.resolved, &r.status) {
            (Some(resolved), _) => resolved.to_string(),
            (None, Status::Invalid { reason }) => format!("(invalid: {reason})"),
            (None, Status::Resolved) => String::new(),
            (None, status) => format!("(unresolved: {})", status.unresolved_reason().unwrap_or_default()),
        };
        table.add_row([
            r.location.to_string(),
            r.kind.as_str().into(),
            r.origin.as_str().into(),
            r.image.clone(),
            resolved,
        ]);
    }
    let mut text = table.to_string();
    text.push('\n');
    let noun = if references.len() == 1 { "reference" } else { "references" };
    text.push_str(&format!("{} {noun}\n", references.len()));
    text
}
