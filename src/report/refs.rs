//! `stowage refs`: every reference found, as a table or as the JSON contract.

use crate::reference::{Reference, Status};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

#[derive(Serialize)]
struct RefsOutput<'a> {
    schema_version: u32,
    references: &'a [Reference],
}

/// Write the JSON contract to `out`, streaming (a tree of 10,000 files yields tens of MB).
pub fn write_json(references: &[Reference], out: &mut impl std::io::Write) -> std::io::Result<()> {
    let doc = RefsOutput { schema_version: super::json::SCHEMA_VERSION, references };
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
