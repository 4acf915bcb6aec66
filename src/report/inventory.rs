//! `stowage inventory`: every image the OS image carries, as a table or as the JSON contract
//! (`{"images":[{"names","digest","digests","method","store","architectures","size",
//! "complete"}]}` plus extra fields; shape in `docs/inventory.schema.json`).

use crate::inventory::config::EffectiveConfig;
use crate::inventory::{EmbeddedImage, Inventory, StoreInfo};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    target_arch: Option<&'a str>,
    images: &'a [EmbeddedImage],
    stores: &'a [StoreInfo],
    config: &'a EffectiveConfig,
    problems: &'a [String],
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    images: usize,
    size: u64,
    complete: usize,
    incomplete: usize,
    visible_to_crio: usize,
    by_method: std::collections::BTreeMap<&'static str, usize>,
}

fn summary(inv: &Inventory) -> Summary {
    let complete = inv.images.iter().filter(|i| i.complete).count();
    Summary {
        images: inv.images.len(),
        size: inv.total_size(),
        complete,
        incomplete: inv.images.len() - complete,
        visible_to_crio: inv.images.iter().filter(|i| i.visible_to_crio).count(),
        by_method: inv.count_by_method().into_iter().map(|(m, n)| (m.as_str(), n)).collect(),
    }
}

pub fn json(inv: &Inventory) -> String {
    let out = Output {
        schema_version: super::json::SCHEMA_VERSION,
        target_arch: inv.target_arch.as_deref(),
        images: &inv.images,
        stores: &inv.stores,
        config: &inv.config,
        problems: &inv.problems,
        summary: summary(inv),
    };
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

/// One row per image, then store problems, then the summary line.
pub fn table(inv: &Inventory) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(["NAMES", "METHOD", "DIGEST", "ARCH", "SIZE", "STATUS", "CRI-O", "STORE"]);
    for i in &inv.images {
        let names = if i.names.is_empty() { format!("({})", i.path) } else { i.names.join(", ") };
        let digest = i.digest.as_deref().map(short_digest).unwrap_or_else(|| "-".into());
        let arch = if i.architectures.is_empty() { "?".to_string() } else { i.architectures.join(",") };
        let mut status = match i.problems.first() {
            None => "complete".to_string(),
            Some(p) => format!("incomplete: {p}"),
        };
        if i.problems.len() > 1 {
            status.push_str(&format!(" (+{} more)", i.problems.len() - 1));
        }
        if !i.warnings.is_empty() {
            status.push_str(&format!(
                " [{} warning{}]",
                i.warnings.len(),
                if i.warnings.len() == 1 { "" } else { "s" }
            ));
        }
        table.add_row([
            names,
            i.method.as_str().to_string(),
            digest,
            arch,
            human_size(i.size),
            status,
            if i.visible_to_crio { "yes" } else { "no" }.to_string(),
            i.store.clone(),
        ]);
    }
    let mut text = table.to_string();
    text.push('\n');
    let notes: Vec<String> = inv
        .images
        .iter()
        .flat_map(|i| {
            let name = i.names.first().cloned().unwrap_or_else(|| i.path.clone());
            i.warnings.iter().map(move |w| format!("warning: {name}: {w}"))
        })
        .chain(
            inv.stores.iter().flat_map(|s| s.problems.iter().map(move |p| format!("store {}: {p}", s.path))),
        )
        .chain(inv.config.problems.iter().map(|p| format!("config: {p}")))
        .chain(inv.problems.iter().map(|p| format!("problem: {p}")))
        .collect();
    if !notes.is_empty() {
        text.push('\n');
        for n in notes {
            text.push_str(&n);
            text.push('\n');
        }
    }
    text.push_str(&summary_line(inv));
    text.push('\n');
    text
}

/// `31 images, 1.2 MiB: 25 dir, 5 containers-storage, 1 bound; 2 incomplete; 28 visible to CRI-O`
pub fn summary_line(inv: &Inventory) -> String {
    let s = summary(inv);
    let by: Vec<String> =
        inv.count_by_method().into_iter().map(|(m, n)| format!("{n} {}", m.as_str())).collect();
    let mut line =
        format!("{} image{}, {}", s.images, if s.images == 1 { "" } else { "s" }, human_size(s.size));
    if !by.is_empty() {
        line.push_str(&format!(": {}", by.join(", ")));
    }
    line.push_str(&format!("; {} incomplete; {} visible to CRI-O", s.incomplete, s.visible_to_crio));
    line
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", hex.get(..12).unwrap_or(hex)),
        None => d.to_string(),
    }
}

/// `1.5 MiB`: binary units with one decimal, bytes as they are.
pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_digests() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(short_digest("sha256:0123456789abcdef"), "sha256:0123456789ab");
    }
}
