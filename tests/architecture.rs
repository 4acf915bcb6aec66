//! The shape of the crate: its top-level modules form a pipeline and imports point down only
//! (DESIGN.md "Architecture"). Every `crate::` path of non-test code is checked against the
//! table below — `use` lines and inline paths alike, and `super::` paths that climb out of a
//! top-level module. When this fails, the code that needs the upward import is in the wrong
//! place: move it down, or pass what it needs in from above.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import the ones before it, never the ones after.
const LAYERS: &[(&str, &str)] = &[
    ("text", "locations, paths, source text and decoding, the spanned YAML layer, field paths"),
    ("reference", "the image reference grammar, Reference, Platform"),
    ("finding", "the one Finding type and Severity"),
    ("config", "stowage.yaml, checked against the rules it is given"),
    ("source", "one parser per format, the pod-spec walker"),
    ("resolve", "kustomize, COPY placement, MicroShift-applied directories"),
    ("image", "transports, layers, the merged view, the layer cache"),
    ("inventory", "the image stores read from the merged view, the embed plan"),
    ("gather", "the one orchestrator that builds the facts"),
    ("upgrade", "two images' facts compared: what `bootc upgrade` from one to the other changes"),
    ("pin", "the edits that write resolved digests into the sources"),
    ("rules", "one file per rule, the catalog, the engine"),
    ("report", "one renderer per format, the readiness summary"),
    ("cli", "the command line"),
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(m, _)| *m == module)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text before the file's `#[cfg(test)]` module, with comments blanked (line numbers kept).
fn non_test_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal is rare in this crate and only hides a path.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path of a source file: `src/source/containerfile/mod.rs` → `[source, containerfile]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The top-level modules named by the paths of `code` (`crate::x`, `use crate::{x, y}`, and
/// `super::` chains that leave the file's top-level module), with their line numbers.
fn imports(code: &str, module: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut at = 0;
    while let Some(found) = code[at..].find("crate::") {
        let start = at + found;
        at = start + "crate::".len();
        if start > 0 && is_ident(code[..start].chars().next_back().unwrap()) {
            continue;
        }
        let rest = &code[at..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() {
                    out.push((name, line_of(start)));
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            out.push((name, line_of(start)));
        }
    }
    let mut at = 0;
    while let Some(found) = code[at..].find("super::") {
        let start = at + found;
        if start > 0 && is_ident(code[..start].chars().next_back().unwrap()) {
            at = start + 1;
            continue;
        }
        let mut depth = 0;
        let mut cursor = start;
        while code[cursor..].starts_with("super::") {
            depth += 1;
            cursor += "super::".len();
        }
        at = cursor;
        if depth >= module.len() {
            let name: String = code[cursor..].chars().take_while(|c| is_ident(*c)).collect();
            out.push((name, line_of(start)));
        }
    }
    out
}

#[test]
fn imports_point_down_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let module = module_path(&src, file);
        let Some(top) = module.first() else { continue };
        let Some(from) = rank(top) else {
            unknown.insert(top.clone());
            continue;
        };
        let code = non_test_code(&std::fs::read_to_string(file).unwrap());
        for (target, line) in imports(&code, &module) {
            if target == *top {
                continue;
            }
            match rank(&target) {
                Some(to) if to < from => {}
                Some(_) => upward.push(format!(
                    "{}:{line}: `{top}` imports `{target}`, which is above it",
                    file.strip_prefix(src.parent().unwrap()).unwrap().display()
                )),
                None => {
                    unknown.insert(target);
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "top-level modules missing from LAYERS in tests/architecture.rs: {unknown:?}"
    );
    assert!(upward.is_empty(), "imports that point up the pipeline:\n{}", upward.join("\n"));
}

#[test]
fn the_checker_sees_every_form_of_path() {
    let module = vec!["source".to_string(), "manifest".to_string()];
    let code = "use crate::text::Location;\nuse crate::{finding, rules::x};\nfn f() { crate::cli::main() }\n\
                use super::super::gather::Facts;\nuse super::yaml;";
    let found: Vec<(String, usize)> = imports(code, &module);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["text", "finding", "rules", "cli", "gather"]);
    assert_eq!(found[3].1, 3);
    assert_eq!(
        module_path(Path::new("src"), Path::new("src/source/containerfile/mod.rs")),
        ["source", "containerfile"]
    );
    assert!(
        non_test_code("use crate::a;\n#[cfg(test)]\nmod tests { use crate::cli; }").find("cli").is_none()
    );
}
