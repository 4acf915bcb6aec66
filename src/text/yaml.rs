//! A position-keeping YAML layer on serde-saphyr: a spanned node tree per document.
//!
//! A file is split into documents here, at `---`/`...` markers in column 0 (YAML forbids
//! them inside any scalar, so the split is sound), and every document is parsed on its own
//! slice, its byte offsets mapped back to the whole file. So one broken document does not
//! hide the others, memory stays bounded by the largest document (not the file), and every
//! document gets its own serde-saphyr [`serde_saphyr::Budget`] (alias bombs, nesting, size).
//!
//! Spans come from `serde_saphyr::Spanned` wrapped around a `deserialize_any` visitor. The
//! parser reports a quoted scalar from its opening quote; [`Node::span`] starts after it, at
//! the first character of the text. Aliases take the span of the anchored definition.
//!
//! serde deserialization recurses once per nesting level and needs ~40 KiB of stack per
//! level in a debug build, so the documents of a file are parsed on a dedicated thread with
//! a large (lazily committed) stack, and the depth budget keeps the recursion bounded.

use crate::text::location::Span;
use crate::text::{Problem, SourceText};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Deepest nesting (sequences + mappings) accepted in one document. Kubernetes objects
/// need ~10 levels; CRDs with embedded OpenAPI schemas reach ~30.
pub const MAX_DEPTH: usize = 128;
/// Largest single document parsed; a larger one is a [`Problem`], not an allocation storm.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// Most nodes (scalars + collections) in one document, aliases expanded.
pub const MAX_NODES: usize = 1_000_000;
/// Most events replayed by aliases in one document ("billion laughs" stops here).
pub const MAX_ALIAS_REPLAY: usize = 100_000;
/// Stack of the parser thread: `MAX_DEPTH` levels of debug-build recursion with room to
/// spare. Only the pages actually used are committed.
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// One YAML node and the byte range it covers in the file. For a quoted scalar the span
/// holds the text between the quotes; for a collection it runs from its first character
/// (or its `[`/`{`) to the end of its last entry (or its `]`/`}`).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number, kept as its source text (`1.20` stays `1.20`, `0x1F` stays `0x1F`).
    Number(String),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// `null`, `boolean`, `number`, `string`, `sequence` or `mapping`, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "mapping",
        }
    }
}

impl Node {
    /// The value of `key` in a mapping (keys compared as scalar text, so `1: x` is found by
    /// `get("1")`); `None` for other nodes.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.key_text() == Some(key)).map(|(_, v)| v)
    }

    /// A key's text: strings and numbers as written; other keys have none.
    fn key_text(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) | Value::Number(s) => Some(s),
            _ => None,
        }
    }

    /// The string of a string scalar (quoted or not); `None` for numbers, booleans, ...
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Any scalar where a string is expected: strings as parsed, numbers and booleans as
    /// their source text (`tag: 1.20` gives `1.20`, `x: True` gives `True`). `None` for
    /// null and collections. `source` is the text of the file the node came from.
    pub fn scalar_text<'a>(&'a self, source: &'a str) -> Option<Cow<'a, str>> {
        match &self.value {
            Value::String(s) | Value::Number(s) => Some(Cow::Borrowed(s)),
            Value::Bool(b) => {
                Some(source.get(self.span.clone()).map_or_else(|| Cow::Owned(b.to_string()), Cow::Borrowed))
            }
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The text of the file this node covers (for a quoted scalar, without the quotes).
    pub fn source<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.span.clone()).unwrap_or("")
    }

    /// Every node at a dotted path: `spec.template.spec.containers[].image`. A segment
    /// `name` descends into a mapping key, `[]` (alone or as a suffix) into every item of a
    /// sequence. Missing keys and type mismatches just yield fewer nodes. Keys that contain
    /// `.` or `[]` cannot be named.
    pub fn at_path<'a>(&'a self, path: &str) -> Vec<&'a Node> {
        let mut current = vec![self];
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (key, mut each) = match segment.strip_suffix("[]") {
                Some(key) => (key, 1),
                None => (segment, 0),
            };
            let mut key = key;
            while let Some(k) = key.strip_suffix("[]") {
                key = k;
                each += 1;
            }
            let mut next: Vec<&Node> =
                if key.is_empty() { current } else { current.iter().filter_map(|n| n.get(key)).collect() };
            for _ in 0..each {
                next = next.iter().filter_map(|n| n.as_seq()).flatten().collect();
            }
            current = next;
        }
        current
    }
}

/// One YAML document of a file.
#[derive(Clone, Debug)]
pub struct Document {
    pub root: Node,
    /// Position among the non-empty documents of the file, from 0 (a broken document counts).
    pub index: usize,
    /// The document's byte range in the file, markers and directives included.
    pub span: Span,
}

/// A document that could not be parsed.
#[derive(Clone, Debug)]
pub struct DocumentError {
    pub index: usize,
    pub span: Span,
    pub problem: Problem,
}

/// Parse every document of `src` in order and hand each to `f`; return the problems of the
/// documents that could not be parsed (the others are still handed over).
///
/// Only one document tree is alive at a time (unless `f` keeps them). `f` runs on the
/// parser thread, hence `Send`.
pub fn for_each_document<F>(src: &SourceText, mut f: F) -> Vec<Problem>
where
    F: FnMut(Document) + Send,
{
    let mut problems = Vec::new();
    for_each_result(src, |result| match result {
        Ok(doc) => f(doc),
        Err(e) => problems.push(e.problem),
    });
    problems
}

/// Like [`for_each_document`], but broken documents are handed to `f` too, with their range
/// (so a caller can still look at their text, e.g. a template).
pub fn for_each_result<F>(src: &SourceText, mut f: F)
where
    F: FnMut(Result<Document, DocumentError>) + Send,
{
    if has_parser_stack() {
        parse_all(src, &mut f);
        return;
    }
    let callback = &mut f;
    let spawned = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("stowage-yaml".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, move || parse_all(src, callback));
        match worker {
            Ok(handle) => match handle.join() {
                Ok(()) => Ok(()),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(e) => Err(e),
        }
    });
    if let Err(e) = spawned {
        // Out of threads or memory: parsing on this thread's small stack is not safe.
        let span = 0..src.text.len();
        f(Err(DocumentError {
            index: 0,
            span: span.clone(),
            problem: Problem {
                message: format!("could not start the YAML parser thread: {e}"),
                location: src.location(0..0),
            },
        }));
    }
}

thread_local! {
    static PARSER_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The stack size a thread needs to parse YAML in place; threads started with it (see
/// [`mark_parser_stack`]) skip the per-file parser thread.
pub const PARSER_STACK_SIZE: usize = PARSER_STACK_BYTES;

/// Declare that the current thread was started with at least [`PARSER_STACK_SIZE`] bytes of
/// stack (e.g. from a thread pool's start handler), so files are parsed on it directly.
pub fn mark_parser_stack() {
    PARSER_STACK.with(|c| c.set(true));
}

fn has_parser_stack() -> bool {
    PARSER_STACK.with(|c| c.get())
}

/// The shared pool whose threads have [`PARSER_STACK_SIZE`] of stack: files are parsed on it,
/// and kustomizations are built on it (the build recurses once per nested kustomization).
/// `None` when its threads cannot be started.
pub fn parser_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("stowage-parse-{i}"))
            .stack_size(PARSER_STACK_SIZE)
            .start_handler(|_| mark_parser_stack())
            .build()
            .ok()
    })
    .as_ref()
}

/// Parse all documents of `src` and collect them (convenient for small files and tests).
pub fn parse_documents(src: &SourceText) -> (Vec<Document>, Vec<Problem>) {
    let mut docs = Vec::new();
    let problems = for_each_document(src, |d| docs.push(d));
    (docs, problems)
}

fn parse_all<F>(src: &SourceText, f: &mut F)
where
    F: FnMut(Result<Document, DocumentError>),
{
    for (index, range) in split_documents(&src.text).into_iter().enumerate() {
        let result = parse_document(src, range.clone()).map_err(|problem| DocumentError {
            index,
            span: range.clone(),
            problem,
        });
        f(result.map(|root| Document { root, index, span: range }));
    }
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_NODES.saturating_mul(4);
    budget.max_documents = 1;
    // Commented-out blocks (a config written by `stowage init`, documented manifests) buffer
    // one event per comment line while the parser looks ahead.
    budget.max_buffered_comment_events = 100_000;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAY;
    serde_saphyr::options! {
        budget: Some(budget),
        alias_limits: alias_limits,
        with_snippet: false,
    }
}

/// Parse the one document in `range` of the file.
fn parse_document(src: &SourceText, range: Span) -> Result<Node, Problem> {
    let text = &src.text[range.clone()];
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(Problem {
            message: format!(
                "YAML document of {} bytes is larger than the {} MiB limit; not parsed",
                text.len(),
                MAX_DOCUMENT_BYTES >> 20
            ),
            location: src.location(range.start..range.start),
        });
    }
    let (first_line, _) = src.index.line_col(&src.text, range.start);
    match serde_saphyr::from_str_with_options::<RawNode>(text, options()) {
        Ok(raw) => {
            let mut node = raw.0;
            fix_spans(&mut node, text, range.start);
            Ok(node)
        }
        Err(err) => {
            let render = serde_saphyr::render_options! {
                snippets: serde_saphyr::SnippetMode::Off,
                line_offset: u64::from(first_line - 1),
            };
            let message = err.render_with_options(render);
            // The location is reported on its own; the parser's "at line L, column C"
            // suffixes would repeat it (and for aliases, relative to another place).
            let message = message.split(" at line ").next().unwrap_or(&message).trim_end().to_string();
            let location = match err.location() {
                Some(loc) if loc.line() > 0 => {
                    let at =
                        range.start + crate::text::location::position_offset(text, loc.line(), loc.column());
                    src.location(at..at)
                }
                _ => src.location(range.start..range.start),
            };
            Err(Problem { message: format!("invalid YAML: {message}"), location })
        }
    }
}

fn fix_spans(node: &mut Node, text: &str, base: usize) {
    let start = node.span.start.min(text.len());
    let end = node.span.end.clamp(start, text.len());
    match &mut node.value {
        Value::String(_) => {
            let bytes = text.as_bytes();
            if let Some(&q) = bytes.get(start)
                && (q == b'"' || q == b'\'')
            {
                let inner_end = if end > start + 1 && bytes.get(end - 1) == Some(&q) { end - 1 } else { end };
                node.span = base + start + 1..base + inner_end.max(start + 1);
            } else {
                node.span = base + start..base + end;
            }
        }
        Value::Number(n) => {
            if let Some(t) = text.get(start..end)
                && !t.is_empty()
            {
                *n = t.to_string();
            }
            node.span = base + start..base + end;
        }
        Value::Null | Value::Bool(_) => node.span = base + start..base + end,
        Value::Seq(items) => {
            let mut last = end;
            for item in items.iter_mut() {
                fix_spans(item, text, base);
                last = last.max(item.span.end - base);
            }
            let close = closing_bracket(text, start, last, b'[', b']');
            node.span = base + start..base + close;
        }
        Value::Map(entries) => {
            let mut last = end;
            for (k, v) in entries.iter_mut() {
                fix_spans(k, text, base);
                fix_spans(v, text, base);
                last = last.max(k.span.end - base).max(v.span.end - base);
            }
            let close = closing_bracket(text, start, last, b'{', b'}');
            node.span = base + start..base + close;
        }
    }
}

/// For a flow collection starting with `open` at `start`, the end just past its closing
/// bracket (found after `last`, skipping blanks, commas, comments and a closing quote);
/// otherwise `last`.
fn closing_bracket(text: &str, start: usize, last: usize, open: u8, close: u8) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&open) {
        return last;
    }
    let mut i = last;
    while let Some(&b) = bytes.get(i) {
        match b {
            b if b == close => return i + 1,
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b'"' | b'\'' => i += 1,
            b'#' => {
                while bytes.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
            }
            _ => return last,
        }
    }
    last
}

/// Byte ranges of the non-empty documents of a YAML stream. A document runs from its `---`
/// line (or the start of the stream, after a byte-order mark) to the next `---` line, or
/// through its `...` line. Directives, comments and blank lines before a `---` belong to
/// the document it starts. Ranges with nothing but markers, comments, directives and blank
/// lines are left out.
pub fn split_documents(text: &str) -> Vec<Span> {
    let start_of_stream = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let mut docs = Vec::new();
    let mut start = start_of_stream;
    let mut has_content = false;
    let mut prologue = true;
    let mut pos = start_of_stream;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = text[pos..line_end].trim_end_matches(['\n', '\r']);
        if is_marker(line, "---") {
            if has_content {
                docs.push(start..pos);
                start = pos;
            } else if !prologue {
                // An earlier `---` with nothing after it: an empty document, dropped.
                start = pos;
            }
            has_content = !is_blank_or_comment(&line[3..]);
            prologue = false;
        } else if is_marker(line, "...") {
            if has_content {
                docs.push(start..line_end);
            }
            start = line_end;
            has_content = false;
            prologue = true;
        } else if prologue && line.starts_with('%') {
            // A directive: part of the next document's prologue.
        } else if !is_blank_or_comment(line) {
            has_content = true;
            prologue = false;
        }
        pos = line_end;
    }
    if has_content {
        docs.push(start..text.len());
    }
    docs
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_blank_or_comment(text: &str) -> bool {
    let t = text.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

/// A node as deserialized, spans still relative to the document slice.
struct RawNode(Node);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<RawValue>::deserialize(deserializer)?;
        // `defined` is where the text is: for an alias, the anchored node.
        let span = spanned.defined.span();
        let start = span.byte_offset().and_then(|o| usize::try_from(o).ok()).unwrap_or(0);
        let len = span.byte_len().and_then(|l| usize::try_from(l).ok()).unwrap_or(0);
        Ok(RawNode(Node { value: spanned.value.0, span: start..start.saturating_add(len) }))
    }
}

struct RawValue(Value);

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue(Value::Bool(v)))
    }

    // Numbers get their source text in `fix_spans`; this is only a fallback.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Number(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Number(v.to_string())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawValue, E> {
        Ok(RawValue(Value::Number(v.to_string())))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        Ok(RawValue(Value::Number(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Number(v.to_string())))
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<RawValue, E> {
        Ok(RawValue(Value::String(v.to_string())))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue(Value::String(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue(Value::String(v)))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue(Value::String(String::from_utf8_lossy(v).into_owned())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawValue, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawValue, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<RawNode>()? {
            items.push(item.0);
        }
        Ok(RawValue(Value::Seq(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key::<RawNode>()? {
            let value = map.next_value::<RawNode>()?;
            entries.push((key.0, value.0));
        }
        Ok(RawValue(Value::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceText {
        SourceText::from_str("t.yaml", text)
    }

    fn one(text: &str) -> (SourceText, Node) {
        let s = src(text);
        let (mut docs, problems) = parse_documents(&s);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(docs.len(), 1);
        let root = docs.remove(0).root;
        (s, root)
    }

    /// (line, column) of a node's start.
    fn lc(s: &SourceText, n: &Node) -> (u32, u32) {
        let l = s.location(n.span.clone());
        (l.line, l.column)
    }

    #[test]
    fn scalars_keep_positions_and_text() {
        let text =
            "a: \"x y\"\nb: 'it''s'\nc: 1.20\nd: plain text\ne: True\nf:\ng: ~\nh: |\n  block\ni: 0x1F\n";
        let (s, root) = one(text);
        let a = root.get("a").unwrap();
        assert_eq!(a.as_str(), Some("x y"));
        assert_eq!(lc(&s, a), (1, 5));
        assert_eq!(a.source(&s.text), "x y");
        let b = root.get("b").unwrap();
        assert_eq!(b.as_str(), Some("it's"));
        assert_eq!(lc(&s, b), (2, 5));
        assert_eq!(b.source(&s.text), "it''s");
        let c = root.get("c").unwrap();
        assert_eq!(c.value, Value::Number("1.20".into()));
        assert_eq!(c.as_str(), None);
        assert_eq!(c.scalar_text(&s.text).as_deref(), Some("1.20"));
        assert_eq!(lc(&s, c), (3, 4));
        let d = root.get("d").unwrap();
        assert_eq!((d.as_str(), lc(&s, d)), (Some("plain text"), (4, 4)));
        let e = root.get("e").unwrap();
        assert_eq!(e.as_bool(), Some(true));
        assert_eq!(e.scalar_text(&s.text).as_deref(), Some("True"));
        assert!(root.get("f").unwrap().is_null());
        assert!(root.get("g").unwrap().is_null());
        assert_eq!(root.get("g").unwrap().scalar_text(&s.text), None);
        let h = root.get("h").unwrap();
        assert_eq!((h.as_str(), lc(&s, h)), (Some("block\n"), (9, 3)));
        assert_eq!(root.get("i").unwrap().value, Value::Number("0x1F".into()));
        assert_eq!(lc(&s, &root), (1, 1));
        assert!(root.get("missing").is_none());
    }

    #[test]
    fn flow_style_spans() {
        let text = "spec: {image: \"q:1\", args: [a, 'b', 2]}\n";
        let (s, root) = one(text);
        let spec = root.get("spec").unwrap();
        assert_eq!(lc(&s, spec), (1, 7));
        assert_eq!(spec.source(&s.text), "{image: \"q:1\", args: [a, 'b', 2]}");
        let image = spec.get("image").unwrap();
        assert_eq!((image.as_str(), lc(&s, image)), (Some("q:1"), (1, 16)));
        let args = spec.get("args").unwrap();
        assert_eq!(args.source(&s.text), "[a, 'b', 2]");
        let items = args.as_seq().unwrap();
        assert_eq!(items.iter().map(|n| lc(&s, n)).collect::<Vec<_>>(), [(1, 29), (1, 33), (1, 37)]);
        assert_eq!(items[2].value, Value::Number("2".into()));
    }

    #[test]
    fn columns_count_code_points_and_aliases_point_at_the_anchor() {
        let text = "名前: &img \"é/app:1\"\nother: *img\n";
        let (s, root) = one(text);
        let n = root.get("名前").unwrap();
        assert_eq!((n.as_str(), lc(&s, n)), (Some("é/app:1"), (1, 11)));
        let alias = root.get("other").unwrap();
        assert_eq!((alias.as_str(), lc(&s, alias)), (Some("é/app:1"), (1, 11)));
    }

    #[test]
    fn paths_descend_maps_and_sequences() {
        let text = "spec:\n  containers:\n  - image: a\n  - image: b\n  - name: c\n";
        let (_, root) = one(text);
        let found: Vec<_> =
            root.at_path("spec.containers[].image").iter().filter_map(|n| n.as_str()).collect();
        assert_eq!(found, ["a", "b"]);
        assert!(root.at_path("spec.nothing[].image").is_empty());
        assert_eq!(root.at_path("").len(), 1);
    }

    #[test]
    fn splits_documents_at_markers_only() {
        let text = "\u{feff}# c\na: 1\n---\nb: |\n  ---x\n  --- not a marker inside\n----: 5\n--- # empty\n---\n...\n%YAML 1.2\n---\nc: 3\n...\n--- {d: 4}\n";
        let docs = split_documents(text);
        let parts: Vec<&str> = docs.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(
            parts,
            [
                "# c\na: 1\n",
                "---\nb: |\n  ---x\n  --- not a marker inside\n----: 5\n",
                "%YAML 1.2\n---\nc: 3\n...\n",
                "--- {d: 4}\n"
            ]
        );
        let s = src(text);
        let (docs, problems) = parse_documents(&s);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(docs[1].root.get("b").and_then(Node::as_str), Some("---x\n--- not a marker inside\n"));
        assert_eq!(docs[1].root.get("----").map(|n| n.value.clone()), Some(Value::Number("5".into())));
        let c = docs[2].root.get("c").unwrap();
        assert_eq!(lc(&s, c), (13, 4));
        let d = docs[3].root.get("d").unwrap();
        assert_eq!(lc(&s, d), (15, 9));
        // The byte-order mark counts as a code point of line 1 (as LineIndex counts it).
        assert_eq!(lc(&s, docs[0].root.get("a").unwrap()), (2, 4));
    }

    #[test]
    fn a_broken_document_is_a_problem_at_file_position_and_others_survive() {
        let text = "a: 1\n---\nb: [unclosed\nc: d\n---\ne: \"ok\"\n";
        let s = src(text);
        let (docs, problems) = parse_documents(&s);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].index, 0);
        assert_eq!(docs[1].index, 2);
        assert_eq!(lc(&s, docs[1].root.get("e").unwrap()), (6, 5));
        assert_eq!(problems.len(), 1);
        let p = &problems[0];
        assert_eq!((p.location.line, p.location.column), (4, 2), "{p:?}");
        assert!(p.message.starts_with("invalid YAML: "), "{}", p.message);
        assert!(!p.message.contains("at line"), "the location is not repeated: {}", p.message);
    }

    #[test]
    fn error_line_is_mapped_to_the_file() {
        let text = "a: 1\n---\nx: y\n  bad: indent: here\n";
        let s = src(text);
        let (_, problems) = parse_documents(&s);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location.line, 4, "{:?}", problems[0]);
        assert!(!problems[0].message.contains("line 1"), "{}", problems[0].message);
    }

    #[test]
    fn an_error_after_lone_carriage_returns_stays_in_the_file() {
        // YAML ends a line at a lone `\r`; the file has 4 lines as editors and LineIndex count
        // them, 11 as the parser counts them (fuzz/regressions/manifest_yaml).
        let text = "a: 1\nb:\n  \r\r\r\r\r\r\r- c\n  d: [x\n";
        let s = src(text);
        let (_, problems) = parse_documents(&s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0].location;
        assert!(p.line <= 5, "line {} of a 4-line file", p.line);
        let (line, column) = s.index.line_col(&s.text, p.span.clone().expect("a span").start);
        assert_eq!((p.line, p.column), (line, column));
    }

    #[test]
    fn template_markup_does_not_crash() {
        let text = "image: {{ .Values.image }}\n---\nimage: {{ .Values.repo }}:{{ .Values.tag }}\n---\n{{- if .Values.x }}\na: b\n{{- end }}\n";
        let s = src(text);
        let mut n = 0;
        let problems = for_each_document(&s, |_| n += 1);
        assert_eq!(n + problems.len(), 3);
    }

    fn assert_fails_fast(text: &str, what: &str) {
        let s = src(text);
        let t0 = std::time::Instant::now();
        let (docs, problems) = parse_documents(&s);
        assert!(docs.is_empty(), "{what}");
        assert_eq!(problems.len(), 1, "{what}");
        assert!(t0.elapsed().as_secs() < 20, "{what} took {:?}", t0.elapsed());
        eprintln!("{what}: {} ({:?})", problems[0].message, t0.elapsed());
    }

    #[test]
    fn deep_flow_nesting_is_a_problem_not_a_stack_overflow() {
        assert_fails_fast(&format!("a: {}", "[".repeat(100_000)), "flow seq");
        assert_fails_fast(&"{a: ".repeat(100_000), "flow map");
    }

    #[test]
    fn deep_block_nesting_is_a_problem_not_a_stack_overflow() {
        assert_fails_fast(&format!("{}x\n", "- ".repeat(100_000)), "compact block seq");
        let mut indented = String::new();
        for i in 0..2_000 {
            indented.push_str(&" ".repeat(i));
            indented.push_str("k:\n");
        }
        assert_fails_fast(&indented, "indented block map");
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let depth = MAX_DEPTH - 1;
        let text = format!("{}x{}", "[".repeat(depth), "]".repeat(depth));
        let (_, root) = one(&text);
        assert!(root.as_seq().is_some());
        let text = format!("{}x\n", "- ".repeat(depth));
        let (_, root) = one(&text);
        assert!(root.as_seq().is_some());
    }

    #[test]
    fn alias_bomb_is_a_problem() {
        let mut bomb =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (i, c) in "bcdefghi".chars().enumerate() {
            let p = (b'a' + i as u8) as char;
            bomb.push_str(&format!("{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"));
        }
        assert_fails_fast(&bomb, "billion laughs");
    }

    #[test]
    fn oversized_document_is_refused_before_parsing() {
        let text = format!("a: {}\n", "x".repeat(MAX_DOCUMENT_BYTES));
        assert_fails_fast(&text, "huge document");
    }

    #[test]
    fn empty_input_has_no_documents() {
        for text in ["", "\n# only a comment\n", "---\n", "---\n...\n"] {
            let (docs, problems) = parse_documents(&src(text));
            assert!(docs.is_empty() && problems.is_empty(), "{text:?}");
        }
    }
}
