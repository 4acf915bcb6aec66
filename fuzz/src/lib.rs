//! The fuzz targets' bodies: one function per target, each feeding one input to stowage's own
//! entry points and checking what must hold whatever the input (no panic, positions inside the
//! file, round trips). `fuzz_targets/NAME.rs` calls `NAME`; `tests/fuzz_regressions.rs` (stable
//! `cargo test`) includes this file and replays `fuzz/regressions/NAME/*` and the seeds in
//! `fuzz/corpus/NAME/` through the same function, so a fixed crash stays fixed without the
//! fuzzer.
//!
//! Inputs that hold several files (a kustomize tree, an image's watched files) are *bundles*:
//! text where a line `=== PATH` starts a file (see [`bundle`]); the seeds are made from
//! `fixtures/` by `fuzz/seed.sh`, and a regression stays readable.

#![allow(clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use stowage::image::Cause;
use stowage::image::blobs::{BlobReader, BlobRef, BlobSource};
use stowage::image::view::{Entry, FileView};
use stowage::text::SourceText;
use stowage::text::location::Location;

/// A target's body: one input.
pub type Target = fn(&[u8]);

/// Every target, by name: what `fuzz/run.sh` runs and the replay test dispatches on.
pub const TARGETS: &[(&str, Target)] = &[
    ("containerfile", containerfile),
    ("manifest_yaml", manifest_yaml),
    ("kustomize_tree", kustomize_tree),
    ("source_tree", source_tree),
    ("quadlet", quadlet),
    ("release_json", release_json),
    ("crio_toml", crio_toml),
    ("microshift_config", microshift_config),
    ("stowage_config", stowage_config),
    ("copy_script", copy_script),
    ("image_ref", image_ref),
    ("image_spec", image_spec),
    ("image_list", image_list),
    ("cstorage_json", cstorage_json),
    ("image_view", image_view),
    ("oci_manifest", oci_manifest),
    ("layer_tar", layer_tar),
    ("gzip_diff", gzip_diff),
    ("toc", toc),
    ("registry_challenge", registry_challenge),
    ("registry_auth", registry_auth),
];

/// The target function of `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The files of a bundle: a line `=== PATH` starts a file, the lines up to the next such line
/// are its text (the newline before the next header belongs to the header). Text before the
/// first header is ignored.
pub fn bundle(text: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("=== ") {
            if let Some((_, content)) = files.last_mut()
                && content.ends_with('\n')
            {
                content.pop();
            }
            files.push((header.trim_end_matches(['\n', '\r']).to_string(), String::new()));
        } else if let Some((_, content)) = files.last_mut() {
            content.push_str(line);
        }
    }
    files
}

/// Lines of `text` (as a `LineIndex` counts them: one more than the newlines).
fn line_count(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count() + 1
}

/// A location in `src` must point inside it: line and column from 1, the line one of the file's,
/// the column at most one past the line's end, the span on character boundaries.
fn check_location(src: &SourceText, loc: &Location, what: &str) {
    if loc.file != src.display {
        return;
    }
    if loc.line == 0 && loc.column == 0 {
        return; // The whole file.
    }
    assert!(loc.line >= 1 && loc.column >= 1, "{what}: location {}:{} in {}", loc.line, loc.column, loc.file);
    let lines = line_count(&src.text);
    assert!(loc.line as usize <= lines, "{what}: line {} of a {lines}-line file {}", loc.line, loc.file);
    let line_text = src.text.split('\n').nth(loc.line as usize - 1).unwrap_or_default();
    let columns = line_text.chars().count() + 1;
    assert!(
        loc.column as usize <= columns,
        "{what}: column {} of line {} ({columns} columns) in {}",
        loc.column,
        loc.line,
        loc.file
    );
    if let Some(span) = &loc.span {
        assert!(
            span.start <= span.end
                && span.end <= src.text.len()
                && src.text.is_char_boundary(span.start)
                && src.text.is_char_boundary(span.end),
            "{what}: span {span:?} in a text of {} bytes",
            src.text.len()
        );
    }
}

fn source(path: &str, text: &str) -> SourceText {
    SourceText::from_str(path, text)
}

// ---------------------------------------------------------------------------------------------
// Sources

/// A Containerfile, parsed and its ARGs resolved. Lines before a line `%%` are build arguments
/// (`NAME=VALUE`, as `--build-arg`); without `%%` the whole input is the Containerfile.
pub fn containerfile(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let (args, file) = match text.split_once("\n%%\n") {
        Some((args, file)) => (args, file),
        None => ("", text),
    };
    let mut opts = stowage::source::BuildOptions::default();
    for line in args.lines() {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        opts.build_args.push((name.to_string(), value.to_string()));
    }
    let src = source("Containerfile", file);
    let parsed = stowage::source::containerfile::parse(&src, &opts);
    for r in &parsed.references {
        check_location(&src, &r.location, "reference");
    }
    for p in &parsed.problems {
        check_location(&src, &p.location, "problem");
    }
    let _ = parsed.image_copies().count();
}

/// A Kubernetes YAML stream. A first line `# fields: PATH...` adds `image-fields` paths.
pub fn manifest_yaml(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let fields: Vec<stowage::text::fieldpath::FieldPath> = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# fields:"))
        .map(|l| {
            l.split_whitespace().filter_map(|p| stowage::text::fieldpath::FieldPath::parse(p).ok()).collect()
        })
        .unwrap_or_default();
    let src = Arc::new(source("manifests/app.yaml", text));
    let parsed = stowage::source::manifest::parse_keeping_documents(&src, &fields);
    for r in &parsed.references {
        check_location(&src, &r.location, "reference");
    }
    for p in &parsed.problems {
        check_location(&src, &p.location, "problem");
    }
    let plain = stowage::source::manifest::parse(&src);
    // A configured field may add problems (one that holds a mapping, not an image), never
    // take one away.
    assert!(plain.problems.len() <= parsed.problems.len(), "image-fields hid a problem");
}

/// Files of a repository, gathered (parsed, placed, kustomizations built), checked by every
/// rule and rendered; every position must lie inside its file.
fn gather_and_check(files: &[(String, String)]) {
    // As written to disk in order: a later file of the same path replaces an earlier one; only
    // plain relative paths (one spelling per file).
    let files: BTreeMap<&str, &str> = files
        .iter()
        .filter(|(p, _)| p.split('/').all(|c| !matches!(c, "" | "." | "..") && !c.contains('\\')))
        .take(64)
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let files: Vec<(&str, &str)> = files.into_iter().collect();
    let opts = stowage::source::BuildOptions::default();
    let facts = stowage::gather::discover::gather_in_memory(&files, &opts);
    for src in facts.sources.values() {
        for r in facts.references.iter().filter(|r| r.location.file == src.display) {
            check_location(src, &r.location, "reference");
        }
        for p in facts.problems.iter().filter(|p| p.location.file == src.display) {
            check_location(src, &p.location, "problem");
        }
    }
    let config = stowage::config::Config::default();
    let mut engine_opts = stowage::rules::engine::Options::new(&config);
    if let Some(day) = stowage::config::date::Date::parse("2026-01-01") {
        engine_opts.today = day;
    }
    let outcome = stowage::rules::engine::run(&facts, &config, &engine_opts);
    for f in &outcome.findings {
        if let Some(src) = facts.sources.get(&f.location.file) {
            check_location(src, &f.location, &format!("finding {}", f.rule));
        }
    }
    let _ = stowage::report::human::render(&outcome.findings, &facts, false);
}

/// A kustomize tree as a bundle: `=== base/kustomization.yaml`, `=== base/deploy.yaml`, ...
/// built through the same path as `stowage check DIR`.
pub fn kustomize_tree(data: &[u8]) {
    let Some(text) = text(data) else { return };
    gather_and_check(&bundle(text))
}

/// A repository of any kind of source as a bundle (Containerfiles, Quadlets, CRI-O and
/// MicroShift configuration, release files, manifests).
pub fn source_tree(data: &[u8]) {
    let Some(text) = text(data) else { return };
    gather_and_check(&bundle(text))
}

/// Quadlet units as a bundle (`=== web.container`, `=== web.image`), parsed and linked. A bare
/// input (no header) is one `app.container`.
pub fn quadlet(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut files = bundle(text);
    if files.is_empty() {
        files.push(("app.container".into(), text.to_string()));
    }
    let sources: Vec<SourceText> = files.iter().take(16).map(|(p, t)| source(p, t)).collect();
    let mut units: Vec<_> = sources.iter().map(stowage::source::quadlet::parse).collect();
    for (src, unit) in sources.iter().zip(&units) {
        for r in &unit.references {
            check_location(src, &r.location, "reference");
        }
        for p in &unit.problems {
            check_location(src, &p.location, "problem");
        }
    }
    stowage::source::quadlet::link_image_units(&mut units);
}

/// A MicroShift release file (`release-x86_64.json`).
pub fn release_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let src = source("usr/share/microshift/release/release-x86_64.json", text);
    let release = stowage::source::release::parse(&src);
    for r in &release.references {
        check_location(&src, &r.location, "reference");
    }
    for p in &release.problems {
        check_location(&src, &p.location, "problem");
    }
    let first = text.lines().next().unwrap_or_default();
    let _ = stowage::source::release::name_parts(first);
}

/// CRI-O configuration as a bundle (`=== etc/crio/crio.conf`, `=== etc/crio/crio.conf.d/10.conf`),
/// each parsed, then merged in CRI-O's order. A bare input is `crio.conf`.
pub fn crio_toml(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut files = bundle(text);
    if files.is_empty() {
        files.push(("etc/crio/crio.conf".into(), text.to_string()));
    }
    let sources: Vec<SourceText> = files.iter().take(16).map(|(p, t)| source(p, t)).collect();
    let configs: Vec<_> = sources.iter().map(stowage::source::crio::parse).collect();
    for (src, c) in sources.iter().zip(&configs) {
        for p in &c.problems {
            check_location(src, &p.location, "problem");
        }
        if let Some(pause) = &c.pause_image {
            check_location(src, &pause.location, "pause_image");
        }
    }
    let merged = stowage::source::crio::merge(&configs);
    for pattern in &merged.pinned_images {
        let _ = pattern.matches("quay.io/acme/app:1");
        let _ = pattern.matches("");
    }
}

/// MicroShift configuration as a bundle (`=== etc/microshift/config.yaml`,
/// `=== etc/microshift/config.d/10-a.yaml`); a bare input is `config.yaml`.
pub fn microshift_config(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut files = bundle(text);
    if files.is_empty() {
        files.push(("etc/microshift/config.yaml".into(), text.to_string()));
    }
    let sources: Vec<SourceText> = files.iter().take(16).map(|(p, t)| source(p, t)).collect();
    let configs: Vec<_> = sources.iter().map(stowage::source::microshift::parse).collect();
    for (src, c) in sources.iter().zip(&configs) {
        for p in &c.problems {
            check_location(src, &p.location, "problem");
        }
        for (_, loc) in c.kustomize_paths.iter().flatten() {
            check_location(src, loc, "kustomize path");
        }
    }
    let _ = stowage::source::microshift::effective_kustomize_paths(&configs);
}

/// `stowage.yaml`, checked against the real rule catalog.
pub fn stowage_config(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let known = stowage::rules::catalog::known_rules();
    let src = source("stowage.yaml", text);
    match stowage::config::parse_text(src, &known) {
        Ok(config) => {
            for id in known.ids() {
                let _ = config.level(id);
            }
        }
        Err(errors) => {
            for e in &errors.errors {
                if let Some(src) = errors.source_of(e) {
                    check_location(src, &e.location, "config error");
                }
            }
        }
    }
}

/// The copy script, its drop-in and its list: a bundle of `=== script` (the
/// `microshift-copy-images` text), `=== drop-in` (a `microshift.service.d/*.conf`) and
/// `=== list` (the image list); a bare input is the script.
pub fn copy_script(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut files = bundle(text);
    if files.is_empty() {
        files.push(("script".into(), text.to_string()));
    }
    let get = |name: &str| files.iter().find(|(p, _)| p == name).map(|(_, t)| t.as_str());
    let model = stowage::inventory::copystep::understand(get("script").unwrap_or_default());
    if let Some(drop_in) = get("drop-in") {
        let _ = stowage::inventory::copystep::ExecLine::find(
            "/usr/lib/systemd/system/microshift.service.d/copy.conf",
            drop_in,
            stowage::inventory::dircopy::COPY_SCRIPT,
        );
    }
    let list = get("list").unwrap_or_default();
    let lines = stowage::inventory::copystep::read_lines(list);
    let count = lines.len();
    let errexit = model.recognised.as_ref().is_ok_and(|l| l.errexit);
    let run = stowage::inventory::copystep::run(lines, errexit, |l| {
        if l.hash.len() == 64 {
            Ok(())
        } else {
            Err(stowage::inventory::copystep::CopyFailure::new(
                stowage::inventory::copystep::FailKind::BadLine,
                "not REF,H",
            ))
        }
    });
    assert_eq!(run.lines.len(), count, "the run lost or added lines");
}

// ---------------------------------------------------------------------------------------------
// References

/// The image reference grammar: parse never panics, spans cut the text on character
/// boundaries, and the normalised form (`Display`) parses back to an equal reference whose
/// display is the same (normalisation is idempotent).
pub fn image_ref(data: &[u8]) {
    use stowage::reference::imageref::ImageRef;
    let Some(text) = text(data) else { return };
    let parsed = match ImageRef::parse(text) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.offset() <= text.len() && text.is_char_boundary(e.offset()), "error offset {e:?}");
            return;
        }
    };
    for span in
        [parsed.registry_span(), Some(parsed.repository_span()), parsed.tag_span(), parsed.digest_span()]
            .into_iter()
            .flatten()
    {
        assert!(text.get(span.clone()).is_some(), "span {span:?} of {text:?}");
    }
    assert_eq!(parsed.raw(), text);
    let shown = parsed.to_string();
    let again =
        ImageRef::parse(&shown).unwrap_or_else(|e| panic!("{text:?} → {shown:?} does not parse: {e}"));
    assert_eq!(again, parsed, "{text:?} → {shown:?} names another image");
    assert_eq!(again.to_string(), shown, "normalising {text:?} twice differs");
    assert_eq!(again.registry(), parsed.registry());
    assert_eq!(again.repository(), parsed.repository());
    assert!(again.has_explicit_registry());
    // The familiar name names the same repository (a bare 64-hex name does not parse at all,
    // as in containers/image: it reads as an image ID).
    let familiar = parsed.familiar_name();
    match ImageRef::parse(&familiar) {
        Ok(r) => assert_eq!(r.name(), parsed.name(), "{text:?}: familiar name {familiar:?}"),
        Err(e) if e.kind() == stowage::reference::imageref::ParseErrorKind::HexIdentifier => {}
        Err(e) => panic!("{text:?}: familiar name {familiar:?}: {e}"),
    }
    let _ = parsed.lookup_key();
    let _ = stowage::reference::platform::Platform::parse(text);
}

/// `--image` transport specs (`oci:DIR:TAG`, `docker://REF`, ...).
pub fn image_spec(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = stowage::image::Transport::parse(text);
    let _ = stowage::inventory::bound::spec_value(text);
}

// ---------------------------------------------------------------------------------------------
// Image contents

/// An image's watched files from a bundle: `=== PATH` a file with the text as content,
/// `=== dir PATH` a directory, `=== link PATH -> TARGET` a symlink, `=== big PATH SIZE` a file
/// whose content was not captured. Relative paths are made absolute.
fn view_of(files: &[(String, String)]) -> FileView {
    let mut view = FileView::new();
    let abs = |p: &str| if p.starts_with('/') { p.to_string() } else { format!("/{p}") };
    for (header, content) in files.iter().take(256) {
        if let Some(path) = header.strip_prefix("dir ") {
            view.insert(abs(path.trim()), Entry::Dir { mode: 0o755 });
        } else if let Some(rest) = header.strip_prefix("link ") {
            let (path, target) = rest.split_once(" -> ").unwrap_or((rest, ""));
            view.insert(abs(path.trim()), Entry::Symlink { target: target.trim().to_string() });
        } else if let Some(rest) = header.strip_prefix("big ") {
            let (path, size) = rest.rsplit_once(' ').unwrap_or((rest, "0"));
            let size = size.trim().parse().unwrap_or(0);
            view.insert(abs(path.trim()), Entry::File { size, mode: 0o644, content: None });
        } else {
            let bytes = content.as_bytes();
            view.insert(
                abs(header.trim()),
                Entry::File { size: bytes.len() as u64, mode: 0o644, content: Some(Arc::from(bytes)) },
            );
        }
    }
    // Parent directories, as a layer would record them.
    let paths: Vec<String> = view.iter().map(|(p, _)| p.to_string()).collect();
    for p in paths {
        let mut dir = p.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            if view.entry(parent).is_none() {
                view.insert(parent.to_string(), Entry::Dir { mode: 0o755 });
            }
            dir = parent;
        }
    }
    view
}

fn inventory_of(view: &FileView) {
    for arch in [Some("amd64"), None] {
        let inv = stowage::inventory::inventory(view, arch);
        let _ = stowage::report::inventory::json(&inv);
        let _ = stowage::report::inventory::table(&inv);
        let _ = stowage::report::inventory::summary_line(&inv);
    }
}

/// An image's watched files (any of them: storage.conf, registries.conf, CRI-O and MicroShift
/// configuration, bound images, copies, stores) and its inventory.
pub fn image_view(data: &[u8]) {
    let Some(text) = text(data) else { return };
    inventory_of(&view_of(&bundle(text)));
}

/// `dir:` copies: the input is the image list
/// (`/usr/lib/containers/storage/image-list.txt`), or a bundle of the list, the copy script,
/// its drop-in and the copies' files (`=== usr/lib/containers/storage/H/manifest.json`).
pub fn image_list(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut files = bundle(text);
    if files.is_empty() {
        files.push(("usr/lib/containers/storage/image-list.txt".into(), text.to_string()));
    }
    inventory_of(&view_of(&files));
}

/// A containers-storage store: the input is `overlay-images/images.json` of the default store,
/// or a bundle of store files (`images.json`, `layers.json`, locks, `storage.conf`).
pub fn cstorage_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut files = bundle(text);
    if files.is_empty() {
        let root = "usr/lib/containers/storage";
        files.push((format!("{root}/overlay-images/images.json"), text.to_string()));
        files.push((format!("{root}/overlay-layers/layers.json"), text.to_string()));
        files.push((format!("{root}/overlay-images/images.lock"), String::new()));
        files.push((format!("{root}/overlay-layers/layers.lock"), String::new()));
        files.push((
            "etc/containers/storage.conf".into(),
            format!(
                "[storage]\ndriver = \"overlay\"\n[storage.options]\nadditionalimagestores = [\"/{root}\"]\n"
            ),
        ));
    }
    inventory_of(&view_of(&files));
}

/// OCI / Docker manifests, indexes and image configs.
pub fn oci_manifest(data: &[u8]) {
    use stowage::image::manifest::{Manifest, RawConfig, select_platform};
    if let Ok(m) = Manifest::parse(data, "sha256:fuzz") {
        for platform in ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"] {
            if let Ok(p) = stowage::reference::platform::Platform::parse(platform) {
                let _ = select_platform(&m, &p);
            }
        }
        let _ = m.is_index();
    }
    if let Ok(c) = RawConfig::parse(data) {
        let _ = c.into_config(Some("sha256:fuzz".into()));
    }
}

/// One layer blob through the streaming reader (gzip, zstd or plain tar, sniffed), then
/// applied to a view. The first byte chooses what is verified: nothing, the blob digest (the
/// right one), or the uncompressed digest (a wrong one).
pub fn layer_tar(data: &[u8]) {
    use stowage::image::layer::{Expect, apply, read_layer};
    let Some((&mode, blob)) = data.split_first() else { return };
    let expect = match mode % 3 {
        0 => Expect::Nothing,
        1 => {
            use sha2::Digest;
            Expect::Blob(format!("sha256:{}", hex_encode(&sha2::Sha256::digest(blob))))
        }
        _ => Expect::Uncompressed(format!("sha256:{}", "0".repeat(64))),
    };
    let read = AtomicU64::new(0);
    let result = read_layer(blob, &expect, &read);
    if let Ok(changes) = &result
        && mode % 3 != 2
    {
        let mut view = FileView::new();
        apply(&mut view, changes);
        apply(&mut view, changes);
        inventory_of(&view);
    }
    assert!(
        !matches!(result, Err(Cause::DigestMismatch { .. })) || mode % 3 == 2,
        "the blob's own digest did not match"
    );
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Differential: our multi-member gzip reader against flate2's `MultiGzDecoder`. Whenever
/// flate2 succeeds, ours gives the same bytes. When flate2 fails, ours may succeed only where
/// flate2 is stricter by design: a CRC-32 mismatch (ours skips the CRC; the digest covers it)
/// or bytes after the last member that are not a gzip member.
pub fn gzip_diff(data: &[u8]) {
    const LIMIT: u64 = 16 << 20;
    let ours = read_limited(stowage::image::gzip::GzReader::new(BufReader::new(data)), LIMIT);
    let theirs = read_limited(flate2::bufread::MultiGzDecoder::new(data), LIMIT);
    match (&ours, &theirs) {
        (_, Ok(t)) if t.len() as u64 >= LIMIT => {}
        (Ok(o), _) if o.len() as u64 >= LIMIT => {}
        (Ok(o), Ok(t)) => assert!(o == t, "outputs differ: ours {} bytes, flate2 {} bytes", o.len(), t.len()),
        (Err(e), Ok(t)) => {
            // Our reader refuses what flate2 accepts: only an empty input (flate2 reads it as
            // an empty stream, we call it not gzip) is allowed.
            assert!(data.is_empty() && t.is_empty(), "ours fails ({e}) where flate2 reads {} bytes", t.len());
        }
        (Ok(o), Err(e)) => {
            // Where flate2 fails, ours may succeed only on a CRC-32 mismatch or trailing bytes.
            let why = e.to_string();
            let crc = is_crc_error(&why);
            let explained = crc || trailing_garbage(data, o);
            assert!(explained, "ours reads {} bytes where flate2 fails: {why}", o.len());
        }
        (Err(_), Err(_)) => {}
    }
}

/// Whether `data` is gzip members that inflate to `out` followed by bytes flate2 would take
/// for a member: decoded member by member with flate2's single-member decoder, ignoring the
/// CRC error it may raise (ours does not check it).
fn trailing_garbage(data: &[u8], out: &[u8]) -> bool {
    let mut rest = data;
    let mut produced = Vec::new();
    while !rest.is_empty() && rest.starts_with(&[0x1f, 0x8b]) {
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let mut buf = Vec::new();
        // A bad CRC is reported at the end of the member, after all its bytes.
        if let Err(e) = decoder.read_to_end(&mut buf)
            && !is_crc_error(&e.to_string())
        {
            break;
        }
        let consumed = rest.len() - decoder.into_inner().len();
        produced.extend_from_slice(&buf);
        if consumed == 0 {
            break;
        }
        rest = &rest[consumed..];
        if produced.len() >= out.len() {
            break;
        }
    }
    produced == out
}

/// flate2's error for a member whose CRC-32 does not match ("... does not have a matching
/// checksum").
fn is_crc_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("crc") || m.contains("checksum")
}

fn read_limited(r: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(limit).read_to_end(&mut out)?;
    Ok(out)
}

/// One in-memory blob with random access.
struct MemBlob<'a> {
    bytes: &'a [u8],
}

impl BlobSource for MemBlob<'_> {
    fn open(&self, _blob: &BlobRef) -> Result<BlobReader<'_>, Cause> {
        Ok(Box::new(self.bytes))
    }

    fn read_range(&self, _blob: &BlobRef, offset: u64, length: u64) -> Result<Option<Vec<u8>>, Cause> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        let end = start.saturating_add(usize::try_from(length).unwrap_or(usize::MAX)).min(self.bytes.len());
        Ok(Some(self.bytes[start..end].to_vec()))
    }
}

/// A layer read through its table of contents: eStargz (first byte even) or zstd:chunked (odd).
/// The manifest's checksum is the right one for the blob's TOC (computed here from the
/// footer), so the reader gets past the check and reads the entries and contents.
pub fn toc(data: &[u8]) {
    use sha2::Digest;
    use stowage::image::toc::{TocFormat, TocHint, estargz, zstd_chunked};
    let Some((&mode, blob)) = data.split_first() else { return };
    let _ = estargz::parse_footer(blob);
    let _ = zstd_chunked::parse_footer(blob);
    if let Ok(text) = std::str::from_utf8(blob) {
        let _ = zstd_chunked::TocPosition::parse(text);
    }
    let size = blob.len() as u64;
    let hint = if mode % 2 == 0 {
        // The TOC JSON's digest, found as the reader will find it.
        let checksum = estargz::parse_footer(blob)
            .and_then(|(offset, footer)| {
                let end = size.checked_sub(footer)?;
                let toc = blob.get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)?;
                let gz = flate2::read::MultiGzDecoder::new(toc).take(16 << 20);
                let mut archive = tar::Archive::new(gz);
                let mut entries = archive.entries().ok()?;
                entries.find_map(|e| {
                    let mut e = e.ok()?;
                    if e.path_bytes().as_ref() != b"stargz.index.json" {
                        return None;
                    }
                    let mut json = Vec::new();
                    e.by_ref().take(16 << 20).read_to_end(&mut json).ok()?;
                    Some(json)
                })
            })
            .map(|json| format!("sha256:{}", hex_encode(&sha2::Sha256::digest(&json))));
        TocHint { format: TocFormat::Estargz, position: None, checksum: Some(checksum.unwrap_or_default()) }
    } else {
        let position = zstd_chunked::parse_footer(blob);
        let checksum = position.as_ref().and_then(|p| {
            let start = usize::try_from(p.offset).ok()?;
            let toc = blob.get(start..start.checked_add(usize::try_from(p.length).ok()?)?)?;
            Some(format!("sha256:{}", hex_encode(&sha2::Sha256::digest(toc))))
        });
        // Half the time the position comes from the manifest's annotation instead.
        let position = if mode & 2 == 0 { position } else { None };
        TocHint { format: TocFormat::ZstdChunked, position, checksum: Some(checksum.unwrap_or_default()) }
    };
    let layer = stowage::image::LayerDesc {
        blob: BlobRef::Digest(format!("sha256:{}", "0".repeat(64))),
        expect: stowage::image::layer::Expect::Nothing,
        size: if mode & 4 == 0 { size } else { 0 },
        toc: Some(hint),
    };
    let (read, requests) = (AtomicU64::new(0), AtomicU64::new(0));
    if let Ok(Some(changes)) =
        stowage::image::toc::read_layer(&MemBlob { bytes: blob }, &layer, &read, &requests)
    {
        let mut view = FileView::new();
        stowage::image::layer::apply(&mut view, &changes);
        inventory_of(&view);
    }
    let mut annotations = BTreeMap::new();
    if let Ok(text) = std::str::from_utf8(blob) {
        annotations
            .insert("io.github.containers.zstd-chunked.manifest-position".to_string(), text.to_string());
        annotations.insert(estargz::TOC_DIGEST.to_string(), text.to_string());
        let _ = TocHint::from_layer(Some("application/vnd.oci.image.layer.v1.tar+gzip"), &annotations);
    }
}

// ---------------------------------------------------------------------------------------------
// Registry

/// `WWW-Authenticate` header values; several challenges may share one.
pub fn registry_challenge(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let challenges = stowage::image::registry::challenge::parse(text);
    for c in &challenges {
        assert_eq!(c.scheme, c.scheme.to_ascii_lowercase());
        assert!(!c.scheme.is_empty());
        let _ = c.param("realm");
    }
    let _ = stowage::image::registry::token_from_body(data);
}

/// An auth file (`auth.json`, `~/.docker/config.json`) looked up for a few references. Files
/// naming a credential helper are skipped: looking them up runs a program.
pub fn registry_auth(data: &[u8]) {
    fn names_helper(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(o) => {
                o.keys().any(|k| k == "credsStore" || k == "credHelpers") || o.values().any(names_helper)
            }
            serde_json::Value::Array(a) => a.iter().any(names_helper),
            _ => false,
        }
    }
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(v) if !names_helper(&v) => {}
        _ => return,
    }
    for reference in ["quay.io/acme/app:1", "nginx", "localhost:5000/a/b/c", "index.docker.io/x/y"] {
        let Ok(image) = stowage::reference::imageref::ImageRef::parse(reference) else { continue };
        let _ = stowage::image::registry::auth_file_credentials(data, &image, Path::new("auth.json"));
    }
}
