//! Containerfiles / Dockerfiles: stages, build-time image references (`FROM`, `COPY --from`,
//! `RUN --mount=from=`) and the embed plan revealed by `RUN` lines (`skopeo copy ... dir:`,
//! `podman pull --root`, loops over the MicroShift release files).
//!
//! Parsing is done by `parse-dockerfile` (escape directive, heredocs, byte spans); ARG/ENV
//! expansion follows BuildKit ([`crate::source::args`]). Two pre-passes keep real files
//! parseable without moving any byte:
//! - heredocs that do not start the `RUN` arguments (`RUN cat > f <<EOF`, as in MicroShift's
//!   `Containerfile.bootc-embedded-rhel9`) are not understood by parse-dockerfile 0.1.9, so
//!   their bodies are blanked (spaces, newlines kept) in a working copy and read from the
//!   original text;
//! - blanks inside template markup (`{{ .Values.x }}`) are replaced by a placeholder so that
//!   `FROM {{ .Values.base }}` stays one word (reported as unresolved, never a crash).
//!
//! Layout: `prepass` (the two pre-passes), `instructions` (what parse-dockerfile read, as owned
//! values), `interpreter` (the stages, one function per instruction, with the ARG/ENV scopes of
//! `scope`), `embed` (the embed plan of `RUN` scripts, split into words by `shell`).

use crate::reference::Reference;
use crate::source::BuildOptions;
use crate::text::location::Location;
use crate::text::{Problem, SourceText};
use std::collections::HashMap;

mod embed;
mod instructions;
mod interpreter;
mod prepass;
mod scope;
mod shell;

use instructions::{HereBody, Inst, collect, error_problem};
use interpreter::Builder;
use prepass::Prepared;

/// Everything read from one Containerfile.
#[derive(Clone, Debug, Default)]
pub struct Containerfile {
    /// Build references (`FROM`, `COPY --from`, `RUN --mount=from=`) and embed references
    /// (`skopeo copy docker://REF ...`, `podman pull REF`), in file order.
    pub references: Vec<Reference>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// What `RUN` lines copy into the image (`skopeo copy`, `podman pull`).
    pub embeds: Vec<EmbedIntent>,
    /// Appends to an image list file (`>> /usr/lib/containers/storage/image-list.txt`).
    pub image_list_writes: Vec<ImageListWrite>,
    /// Parse errors and other things that kept part of the file from being understood.
    pub problems: Vec<Problem>,
    /// The escape character (`\` unless the `escape` directive says `` ` ``).
    pub escape: char,
    /// Every `COPY` and `ADD`, in file order (see [`Containerfile::image_copies`]).
    pub copies: Vec<FileCopy>,
    /// The build context when the configuration names one (`build-contexts`); else the
    /// Containerfile's directory is.
    pub context: Option<std::path::PathBuf>,
}

/// One `COPY` or `ADD`: what it puts into its stage's filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCopy {
    /// `ADD` rather than `COPY`.
    pub add: bool,
    /// The stage it belongs to (index into [`Containerfile::stages`]).
    pub stage: usize,
    /// `--from` after substitution: the files come from that stage or image, not from the
    /// build context.
    pub from: Option<String>,
    /// `--parents`: the sources keep their path relative to the context under the destination.
    pub parents: bool,
    /// The sources after ARG/ENV substitution, in order (heredoc sources are not listed).
    pub sources: Vec<CopyPath>,
    /// The destination after substitution, made absolute against the stage's `WORKDIR`.
    pub destination: CopyPath,
    /// The destination names a directory: it ends with `/` (or is `.`), or there are several
    /// sources. Otherwise a single file source is written *as* the destination.
    pub destination_is_dir: bool,
    /// First character of the `COPY` / `ADD` keyword.
    pub location: Location,
}

/// A path of a `COPY` / `ADD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyPath {
    /// After ARG/ENV substitution (as written when it could not be substituted).
    pub value: String,
    /// Every variable it uses is defined: `value` is what the build uses.
    pub resolved: bool,
    /// First character of the path as written.
    pub location: Location,
}

impl FileCopy {
    /// Whether the files come from the build context (no `--from`); for `ADD`, the sources
    /// that are URLs or Git repositories are not from the context either.
    pub fn from_context(&self) -> bool {
        self.from.is_none()
    }
}

/// An `ADD` source fetched from the network rather than read from the context.
pub fn is_remote_source(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@")
}

impl Containerfile {
    /// The build-context copies that end up in the built image: those of the last stage and of
    /// the stages it is built `FROM` (a stage inherits its parent stage's filesystem). Copies
    /// of other stages only reach the image through `COPY --from`, which is not followed.
    pub fn image_copies(&self) -> impl Iterator<Item = &FileCopy> {
        let mut chain = Vec::new();
        let mut next = self.stages.len().checked_sub(1);
        while let Some(i) = next {
            if chain.contains(&i) {
                break;
            }
            chain.push(i);
            next = match self.stages.get(i).map(|s| s.base_kind) {
                Some(BaseKind::Stage(parent)) if parent < i => Some(parent),
                _ => None,
            };
        }
        self.copies.iter().filter(move |c| c.from_context() && chain.contains(&c.stage))
    }
}

/// One `FROM` and what it builds on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// 0-based position (what `COPY --from=0` names).
    pub index: usize,
    /// `AS name` as written.
    pub name: Option<String>,
    /// The base as written.
    pub base: String,
    /// The base after ARG substitution, when it differs.
    pub base_expanded: Option<String>,
    /// `--platform` after substitution.
    pub platform: Option<String>,
    pub base_kind: BaseKind,
    /// First character of the base text.
    pub location: Location,
}

/// What a stage's `FROM` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseKind {
    /// A container image (there is a [`Reference`] for it).
    Image,
    /// An earlier stage, by index.
    Stage(usize),
    /// `scratch`: no image.
    Scratch,
}

/// The tool a `RUN` line uses to put an image into the OS image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedTool {
    SkopeoCopy,
    PodmanPull,
}

/// Where the embedded copy goes (the destination transport).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedMethod {
    Dir,
    ContainersStorage,
    Oci,
    OciArchive,
    DockerArchive,
}

/// One `skopeo copy` / `podman pull` in a `RUN` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedIntent {
    pub tool: EmbedTool,
    pub method: EmbedMethod,
    /// The source after ARG/ENV substitution (`docker://quay.io/x:1`); `None` when it depends
    /// on shell variables or command output (a loop over images).
    pub source: Option<String>,
    /// The source as written (quotes removed, continuations joined).
    pub source_text: String,
    /// The destination after ARG/ENV substitution; shell variables stay as written
    /// (`dir:/usr/lib/containers/storage/${sha}`). For `podman pull`, `containers-storage:`
    /// followed by `[ROOT]` when `--root` is given.
    pub destination: String,
    /// The containers-storage root: `podman --root DIR`, or `[driver@ROOT+RUNROOT]` of a
    /// `containers-storage:` destination. `None` means the default store.
    pub store_root: Option<String>,
    /// `skopeo copy --all` (or `--multi-arch all`).
    pub all: bool,
    /// `skopeo copy --preserve-digests`.
    pub preserve_digests: bool,
    /// The MicroShift release files the source images come from
    /// (`/usr/share/microshift/release/release-*.json`): "all release images".
    pub release_images: Option<String>,
    /// The image list file the same `RUN` appends to.
    pub image_list: Option<String>,
    /// First character of the tool name (`skopeo`, `podman`).
    pub location: Location,
    /// Stage name.
    pub within: Option<String>,
}

/// A `>>` (or `>`) redirection to an image list file in a `RUN` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageListWrite {
    /// The file after ARG/ENV substitution.
    pub path: String,
    pub append: bool,
    /// First character of the file name.
    pub location: Location,
}

/// Parse a Containerfile. Never fails: what cannot be read becomes a [`Problem`].
pub fn parse(src: &SourceText, opts: &BuildOptions) -> Containerfile {
    let text = src.text.as_str();
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let body = &text[bom..];
    let mut out =
        Containerfile { escape: '\\', context: opts.context_of(&src.path), ..Containerfile::default() };

    let Prepared { work, heredocs, problems } = prepass::prepare(body, src, bom);

    let parsed = collect(&work);
    out.problems = problems;
    let insts = match parsed {
        Err(e) => {
            out.problems.push(error_problem(src, bom, &e));
            return out;
        }
        Ok((insts, escape, err)) => {
            out.escape = escape;
            if let Some(e) = err {
                // "expected at least one FROM instruction" on a file with nothing in it.
                if !(e.line() == 0 && insts.is_empty()) {
                    out.problems.push(error_problem(src, bom, &e));
                }
            }
            insts
        }
    };
    let insts: Vec<Inst> = insts.into_iter().map(|i| i.shift(bom, text)).collect();
    let mut heredocs_abs: HashMap<usize, Vec<HereBody>> = HashMap::new();
    for (k, v) in heredocs {
        heredocs_abs.insert(
            k + bom,
            v.into_iter().map(|b| HereBody { body: b.body.start + bom..b.body.end + bom, ..b }).collect(),
        );
    }
    Builder::new(src, opts, &mut out, heredocs_abs).interpret(&insts);
    out
}

/// `path` made absolute against `base` (a `WORKDIR` or `COPY` destination), `.` and `..`
/// resolved lexically, without a trailing `/` (except for `/` itself).
pub fn absolute_path(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') { path.to_string() } else { format!("{base}/{path}") };
    format!("/{}", crate::text::paths::lexical_parts(&joined).join("/"))
}

#[cfg(test)]
mod tests;
