use super::*;
use crate::reference::platform::Platform;
use crate::reference::{Origin, RefKind, Status};

fn cf_with(text: &str, opts: &BuildOptions) -> Containerfile {
    parse(&SourceText::from_str("Containerfile", text), opts)
}

fn cf(text: &str) -> Containerfile {
    cf_with(text, &BuildOptions::default())
}

fn pos(l: &Location) -> (u32, u32) {
    (l.line, l.column)
}

/// (image, expanded, line, column) of each reference.
fn refs(c: &Containerfile) -> Vec<(String, Option<String>, u32, u32)> {
    c.references
        .iter()
        .map(|r| (r.image.clone(), r.expanded.clone(), r.location.line, r.location.column))
        .collect()
}

fn unresolved(r: &Reference) -> String {
    match &r.status {
        Status::Unresolved { reason } => reason.clone(),
        other => panic!("expected unresolved, got {other:?}"),
    }
}

#[test]
fn empty_and_comment_only_files() {
    for text in ["", "\n\n", "# just a comment\n  # another\n", "# escape=`\n"] {
        let c = cf(text);
        assert!(c.references.is_empty() && c.problems.is_empty() && c.stages.is_empty(), "{text:?}");
    }
}

#[test]
fn simple_from_with_registry_port_and_digest() {
    let c = cf(
        "FROM registry:5000/app\nFROM  quay.io/x/y:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS b\n",
    );
    let r = refs(&c);
    assert_eq!(r[0], ("registry:5000/app".into(), None, 1, 6));
    assert_eq!(
        r[1].0,
        "quay.io/x/y:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    assert_eq!((r[1].2, r[1].3), (2, 7));
    assert!(c.references.iter().all(|r| r.status == Status::Resolved && r.kind == RefKind::Build));
    assert_eq!(c.references[1].within.as_deref(), Some("b"));
    assert_eq!(c.references[0].origin, Origin::ContainerfileFrom);
}

#[test]
fn escape_directive_backtick() {
    let text = "# escape=`\nFROM `\n  alpine:3 AS x\nRUN echo C:\\path `\n  && skopeo copy docker://a.io/b:1 dir:/usr/lib/containers/storage/h\n";
    let c = cf(text);
    assert_eq!(c.escape, '`');
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let r = refs(&c);
    assert_eq!(r[0], ("alpine:3".into(), None, 3, 3));
    assert_eq!(r[1], ("a.io/b:1".into(), None, 5, 27));
    assert_eq!(c.references[1].kind, RefKind::Embed);
}

#[test]
fn line_continuation_inside_from() {
    let c = cf("FROM --platform=linux/arm64 \\\n    quay.io/app:1 \\\n    AS base\n");
    assert_eq!(refs(&c)[0], ("quay.io/app:1".into(), None, 2, 5));
    assert_eq!(c.references[0].platform.as_deref(), Some("linux/arm64"));
    assert_eq!(c.stages[0].name.as_deref(), Some("base"));
    // A continuation in the middle of the image text: the text is joined, the location
    // is its first character.
    let c = cf("FROM quay.io/\\\napp:2\n");
    assert_eq!(refs(&c)[0], ("quay.io/app:2".into(), None, 1, 6));
}

#[test]
fn global_args_and_stage_scoping() {
    let text = "\
ARG REG=quay.io
ARG TAG=1.0
FROM $REG/base:${TAG} AS one
COPY --from=$REG/tool:1 /a /b
FROM scratch
ARG REG
COPY --from=$REG/tool:2 /a /b
";
    let c = cf(text);
    let r = refs(&c);
    assert_eq!(r[0], ("$REG/base:${TAG}".into(), Some("quay.io/base:1.0".into()), 3, 6));
    assert_eq!(c.references[0].status, Status::Resolved);
    // A global ARG is not visible in a stage without redeclaration.
    assert_eq!(r[1], ("$REG/tool:1".into(), None, 4, 13));
    assert_eq!(unresolved(&c.references[1]), "undefined build argument REG");
    // After a bare `ARG REG` it is.
    assert_eq!(r[2], ("$REG/tool:2".into(), Some("quay.io/tool:2".into()), 7, 13));
    assert_eq!(c.references[2].status, Status::Resolved);
    assert_eq!(c.stages[1].base_kind, BaseKind::Scratch);
    assert_eq!(c.references.len(), 3);
}

#[test]
fn build_arg_overrides_defaults_only_for_declared_args() {
    let opts = BuildOptions {
        build_args: vec![
            ("TAG".into(), "2.0".into()),
            ("OTHER".into(), "x".into()),
            ("TAG".into(), "3.0".into()),
        ],
        ..BuildOptions::default()
    };
    let c = cf_with("ARG TAG=1.0\nFROM app:$TAG\nFROM app:$OTHER\n", &opts);
    assert_eq!(c.references[0].expanded.as_deref(), Some("app:3.0"));
    assert_eq!(unresolved(&c.references[1]), "undefined build argument OTHER");
}

#[test]
fn default_for_undeclared_and_declared_without_value() {
    let c = cf("ARG BASE\nFROM ${BASE:-registry.example/os:9}\nFROM ${BASE}\nFROM ${NOPE}:${ALSO}\n");
    assert_eq!(c.references[0].expanded.as_deref(), Some("registry.example/os:9"));
    assert_eq!(c.references[0].status, Status::Resolved);
    assert_eq!(unresolved(&c.references[1]), "undefined build argument BASE");
    assert_eq!(unresolved(&c.references[2]), "undefined build arguments NOPE, ALSO");
    assert_eq!(pos(&c.references[2].location), (4, 6));
}

#[test]
fn a_global_redeclaration_keeps_the_platform_value() {
    let c = cf("ARG TARGETARCH\nFROM quay.io/base-${TARGETARCH}:1\n");
    assert_eq!(c.references[0].expanded.as_deref(), Some("quay.io/base-amd64:1"));
}

#[test]
fn platform_args() {
    let opts = BuildOptions {
        target_platform: Platform::parse("linux/arm64").unwrap(),
        build_platform: Platform::parse("linux/amd64").unwrap(),
        ..BuildOptions::default()
    };
    let text = "\
FROM --platform=$BUILDPLATFORM golang:1 AS build
RUN --mount=type=bind,from=tools-$TARGETARCH,target=/t true
FROM quay.io/base-${TARGETARCH}:1
ARG TARGETARCH
RUN --mount=type=bind,from=tools-$TARGETARCH,target=/t true
";
    let c = cf_with(text, &opts);
    assert_eq!(c.references[0].platform.as_deref(), Some("linux/amd64"));
    assert_eq!(c.stages[0].platform.as_deref(), Some("linux/amd64"));
    // Inside a stage TARGETARCH needs `ARG TARGETARCH`.
    assert_eq!(refs(&c)[1], ("tools-$TARGETARCH".into(), None, 2, 28));
    assert_eq!(unresolved(&c.references[1]), "undefined build argument TARGETARCH");
    assert_eq!(c.references[2].expanded.as_deref(), Some("quay.io/base-arm64:1"));
    assert_eq!(c.references[3].expanded.as_deref(), Some("tools-arm64"));
    assert_eq!(c.references[3].origin, Origin::ContainerfileRunMount);
}

#[test]
fn stages_are_not_images() {
    let text = "\
FROM quay.io/b:1 AS builder
FROM Builder AS second
COPY --from=BUILDER /a /b
COPY --from=0 /a /b
COPY --from=docker.io/x:1 /a /b
RUN --mount=type=bind,from=img,target=/x true
RUN --mount=type=cache,target=/c --mount=from=second,target=/y true
FROM scratch
";
    let c = cf(text);
    assert_eq!(c.stages[1].base_kind, BaseKind::Stage(0));
    assert_eq!(c.stages[2].base_kind, BaseKind::Scratch);
    let r = refs(&c);
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[1], ("docker.io/x:1".into(), None, 5, 13));
    assert_eq!(c.references[1].origin, Origin::ContainerfileCopyFrom);
    assert_eq!(c.references[1].within.as_deref(), Some("second"));
    assert_eq!(r[2], ("img".into(), None, 6, 28));
    assert_eq!(c.references[2].origin, Origin::ContainerfileRunMount);
}

#[test]
fn template_markup_is_unresolved_not_a_crash() {
    let c = cf("FROM {{ .Values.base }}:{{ .Values.tag }} AS x\nRUN echo hi\n");
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(refs(&c)[0], ("{{ .Values.base }}:{{ .Values.tag }}".into(), None, 1, 6));
    assert_eq!(unresolved(&c.references[0]), "contains template markup");
}

#[test]
fn invalid_containerfile_is_a_problem_with_position() {
    let c = cf("FROM a:1\nBOGUS thing\nFROM b:2\n");
    assert_eq!(c.problems.len(), 1);
    assert_eq!(pos(&c.problems[0].location), (2, 1));
    assert!(c.problems[0].message.contains("unknown instruction"), "{}", c.problems[0].message);
    // What came before the error is kept.
    assert_eq!(refs(&c).len(), 1);

    let c = cf("RUN echo\n");
    assert_eq!(c.problems.len(), 1);
    let c = cf("ARG X=1\n");
    assert_eq!(c.problems[0].message, "expected at least one FROM instruction");
    let c = cf("FROM a AS x\nFROM b AS X\n");
    assert_eq!(c.problems.len(), 1);
    assert_eq!(pos(&c.problems[0].location), (2, 11));
}

#[test]
fn bom_does_not_shift_columns() {
    let c = cf("\u{feff}FROM alpine:3\n");
    assert_eq!(pos(&c.references[0].location), (1, 7));
    assert_eq!(c.references[0].image, "alpine:3");
}

#[test]
fn heredoc_run_at_start() {
    let text = "\
FROM quay.io/base:1
ARG APP=quay.io/org/app:2
RUN <<EOT
set -e
skopeo copy --all --preserve-digests docker://${APP} \\
    dir:/usr/lib/containers/storage/app
EOT
";
    let c = cf(text);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let e = &c.embeds[0];
    assert_eq!(e.tool, EmbedTool::SkopeoCopy);
    assert_eq!(e.method, EmbedMethod::Dir);
    assert!(e.all && e.preserve_digests);
    assert_eq!(e.source.as_deref(), Some("docker://quay.io/org/app:2"));
    assert_eq!(e.destination, "dir:/usr/lib/containers/storage/app");
    assert_eq!(pos(&e.location), (5, 1));
    let r = &c.references[1];
    assert_eq!((r.image.as_str(), r.expanded.as_deref()), ("${APP}", Some("quay.io/org/app:2")));
    assert_eq!(pos(&r.location), (5, 47));
    assert_eq!((r.kind, r.origin), (RefKind::Embed, Origin::ContainerfileEmbed));
    assert_eq!(r.status, Status::Resolved);
}

#[test]
fn skopeo_copy_shell_form_with_quotes_and_containers_storage() {
    let text = "\
FROM quay.io/base:1 AS os
RUN skopeo --insecure-policy copy \"docker://quay.io/a/b:1\" dir:/usr/lib/containers/storage/x && \\
    skopeo copy docker://quay.io/c/d@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \\
      'containers-storage:[overlay@/usr/lib/containers/storage+/run/x]quay.io/c/d' ; \\
    skopeo copy docker://quay.io/mirror/me:1 docker://other.io/me:1
";
    let c = cf(text);
    assert_eq!(c.embeds.len(), 2, "{:?}", c.embeds);
    assert_eq!(c.embeds[1].method, EmbedMethod::ContainersStorage);
    assert_eq!(c.embeds[1].store_root.as_deref(), Some("/usr/lib/containers/storage"));
    assert_eq!(c.embeds[0].within.as_deref(), Some("os"));
    let r = refs(&c);
    assert_eq!(r[1], ("quay.io/a/b:1".into(), None, 2, 45));
    assert_eq!((r[2].2, r[2].3), (3, 26));
    assert_eq!(r.len(), 3);
}

#[test]
fn podman_pull_root() {
    let text = "\
FROM quay.io/base:1
ARG IMG=quay.io/x/y:3
RUN podman pull --root /usr/lib/containers/storage registry.example/app:1 && \\
    podman --root=/usr/lib/containers/storage pull --arch amd64 docker://$IMG && \\
    podman pull quay.io/default/store:1
";
    let c = cf(text);
    assert_eq!(c.embeds.len(), 3);
    assert!(c.embeds.iter().all(|e| e.tool == EmbedTool::PodmanPull));
    assert_eq!(c.embeds[0].store_root.as_deref(), Some("/usr/lib/containers/storage"));
    assert_eq!(c.embeds[0].destination, "containers-storage:[/usr/lib/containers/storage]");
    assert_eq!(c.embeds[1].store_root.as_deref(), Some("/usr/lib/containers/storage"));
    assert_eq!(c.embeds[2].store_root, None);
    let r = refs(&c);
    assert_eq!(r[1], ("registry.example/app:1".into(), None, 3, 52));
    assert_eq!(r[2], ("$IMG".into(), Some("quay.io/x/y:3".into()), 4, 74));
    assert_eq!(pos(&c.embeds[0].location), (3, 5));
}

#[test]
fn microshift_release_loop() {
    // As in openshift/microshift docs/config/Containerfile.bootc-embedded-rhel9.
    let text = r#"ARG USHIFT_BASE_IMAGE_NAME
ARG USHIFT_BASE_IMAGE_TAG
FROM $USHIFT_BASE_IMAGE_NAME:$USHIFT_BASE_IMAGE_TAG

ENV IMAGE_STORAGE_DIR=/usr/lib/containers/storage
ENV IMAGE_LIST_FILE=${IMAGE_STORAGE_DIR}/image-list.txt

# hadolint ignore=DL4006
RUN --mount=type=secret,id=pullsecret,dst=/run/secrets/pull-secret.json \
    images="$(jq -r ".images[]" /usr/share/microshift/release/release-"$(uname -m)".json)" ; \
    mkdir -p "${IMAGE_STORAGE_DIR}" ; \
    for img in ${images} ; do \
        sha="$(echo "${img}" | sha256sum | awk '{print $1}')" ; \
        skopeo copy --all --preserve-digests \
            --authfile /run/secrets/pull-secret.json \
            "docker://${img}" "dir:$IMAGE_STORAGE_DIR/${sha}" ; \
        echo "${img},${sha}" >> "${IMAGE_LIST_FILE}" ; \
    done

RUN cat > /usr/bin/microshift-copy-images <<EOF
#!/bin/bash
set -eux -o pipefail
while IFS="," read -r img sha ; do
    skopeo copy --preserve-digests \
        "dir:${IMAGE_STORAGE_DIR}/\${sha}" \
        "containers-storage:\${img}"
done < "${IMAGE_LIST_FILE}"
EOF

RUN chmod 755 /usr/bin/microshift-copy-images && \
    mkdir -p /usr/lib/systemd/system/microshift.service.d
"#;
    let c = cf(text);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.references.len(), 1, "{:?}", refs(&c));
    assert_eq!(
        unresolved(&c.references[0]),
        "undefined build arguments USHIFT_BASE_IMAGE_NAME, USHIFT_BASE_IMAGE_TAG"
    );
    assert_eq!(pos(&c.references[0].location), (3, 6));
    // The heredoc written by `cat` is data, not an embed.
    assert_eq!(c.embeds.len(), 1, "{:?}", c.embeds);
    let e = &c.embeds[0];
    assert_eq!(e.source, None);
    assert_eq!(e.source_text, "docker://${img}");
    assert_eq!(e.destination, "dir:/usr/lib/containers/storage/${sha}");
    assert_eq!(e.release_images.as_deref(), Some("/usr/share/microshift/release/release-*.json"));
    assert_eq!(e.image_list.as_deref(), Some("/usr/lib/containers/storage/image-list.txt"));
    assert!(e.all && e.preserve_digests);
    assert_eq!(pos(&e.location), (14, 9));
    assert_eq!(c.image_list_writes.len(), 1);
    assert_eq!(pos(&c.image_list_writes[0].location), (17, 33));
    assert_eq!(c.stages.len(), 1);
}

#[test]
fn heredoc_fed_to_a_shell_is_a_script() {
    let text =
        "FROM a:1\nRUN bash -ex <<'EOS'\nskopeo copy docker://q.io/z:1 oci:/usr/lib/img/z\nEOS\nRUN true\n";
    let c = cf(text);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.embeds[0].method, EmbedMethod::Oci);
    assert_eq!(refs(&c)[1], ("q.io/z:1".into(), None, 3, 22));
}

#[test]
fn unterminated_heredoc_is_a_problem() {
    let c = cf("FROM a:1\nRUN cat > /x <<EOT\nline\n");
    assert_eq!(c.problems.len(), 1);
    assert_eq!(pos(&c.problems[0].location), (2, 1));
}

#[test]
fn exec_form_run() {
    let c =
        cf("FROM a:1\nRUN [\"skopeo\", \"copy\", \"docker://q.io/e:1\", \"oci-archive:/usr/lib/e.tar\"]\n");
    assert_eq!(c.embeds[0].method, EmbedMethod::OciArchive);
    assert_eq!(refs(&c)[1], ("q.io/e:1".into(), None, 2, 34));
}

#[test]
fn env_is_inherited_by_child_stages_and_wins_over_arg() {
    let text = "FROM a:1 AS base\nENV R=quay.io\nFROM base\nARG R=ignored.io\nCOPY --from=$R/x:1 /a /b\n";
    let c = cf(text);
    assert_eq!(c.references[1].expanded.as_deref(), Some("quay.io/x:1"));
}

#[test]
fn comment_lines_inside_run_continuations() {
    let text = "FROM a:1\nRUN true && \\\n    # a comment with skopeo copy docker://no.io/x dir:/y\n    skopeo copy docker://yes.io/x:1 dir:/usr/lib/x\n";
    let c = cf(text);
    assert_eq!(c.embeds.len(), 1);
    assert_eq!(refs(&c)[1], ("yes.io/x:1".into(), None, 4, 26));
}

#[test]
fn unicode_columns_count_code_points() {
    let c = cf("# é\nFROM --platform=linux/amd64 «x»/é:1\n");
    assert_eq!(pos(&c.references[0].location), (2, 29));
}

/// `KW N0=xxxxxxxx`, then `KW N{i}=${N{i-1}}${N{i-1}}` up to `levels`: each line doubles.
fn doubling(keyword: &str, name: &str, levels: usize) -> String {
    let mut text = format!("{keyword} {name}0=xxxxxxxx\n");
    for i in 1..=levels {
        text.push_str(&format!("{keyword} {name}{i}=${{{name}{p}}}${{{name}{p}}}\n", p = i - 1));
    }
    text
}

#[test]
fn doubling_build_arguments_stop_with_a_problem_where_they_overflow() {
    // Issue 17: forty doublings of 8 bytes are 8 TiB; stowage allocated until it was killed.
    // Twenty here (8 MiB, should the bound go), the forty in tests/regressions.rs.
    let text = format!("{}FROM quay.io/x/${{A20}}\n", doubling("ARG", "A", 20));
    let c = cf(&text);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    // `ARG A18` (line 19) is the first over 1 MiB: A17 is exactly 1 MiB.
    assert_eq!(pos(&c.problems[0].location), (19, 5));
    assert!(
        c.problems[0].message.starts_with(
            "variable substitution stopped: substitutions would insert more than 1 MiB into one word"
        ),
        "{}",
        c.problems[0].message
    );
    let r = &c.references[0];
    assert_eq!((pos(&r.location), r.expanded.as_deref()), ((22, 6), None));
    assert_eq!(
        unresolved(r),
        "variable substitution stopped: substitutions would insert more than 1 MiB into one word"
    );
}

#[test]
fn a_word_of_exactly_the_limit_is_expanded() {
    let text = format!("{}FROM quay.io/x/${{A17}}\n", doubling("ARG", "A", 17));
    let c = cf(&text);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let expanded = c.references[0].expanded.as_deref().unwrap();
    assert_eq!(expanded.len(), "quay.io/x/".len() + crate::source::args::MAX_WORD_EXPANSION);
}

#[test]
fn env_defaults_and_run_scripts_are_bounded_as_args_are() {
    // ENV doubling in a stage; the reference that needs it is unresolved, not 8 TiB long.
    let text = format!("FROM a:1\n{}COPY --from=quay.io/x/${{E20}} /a /b\n", doubling("ENV", "E", 20));
    let c = cf(&text);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert_eq!(pos(&c.problems[0].location), (20, 5));
    assert!(unresolved(&c.references[1]).contains("more than 1 MiB"));

    // `${X:-...}` / `${X:+...}` forms double too.
    let mut text = "ARG A0=xxxxxxxx\n".to_string();
    for i in 1..=20 {
        text.push_str(&format!("ARG A{i}=${{UNSET:-$A{p}}}${{A{p}:+${{A{p}}}}}\n", p = i - 1));
    }
    text.push_str("FROM quay.io/x/$A20\n");
    let c = cf(&text);
    assert_eq!(pos(&c.problems[0].location), (19, 5));

    // A RUN script naming a 1 MiB value again and again stops at the file's 16 MiB.
    let text = format!(
        "FROM a:1\n{}RUN skopeo copy docker://q.io/{} dir:/x\n",
        doubling("ARG", "A", 17),
        "$A17".repeat(24)
    );
    let c = cf(&text);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert_eq!(pos(&c.problems[0].location), (20, 1));
    assert!(c.problems[0].message.contains("more than 16 MiB into this file's words in all"));
}

#[test]
fn deep_nesting_is_a_problem_not_a_stack_overflow() {
    let depth = 200_000;
    let text = format!("FROM {}alpine{}\n", "${X:-".repeat(depth), "}".repeat(depth));
    let c = cf(&text);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert_eq!(pos(&c.problems[0].location), (1, 6));
    assert!(c.problems[0].message.contains("more than 64 nested"), "{}", c.problems[0].message);
}

#[test]
fn after_the_limit_nothing_more_is_substituted() {
    let text = format!(
        "{}ARG OK=fine\nFROM quay.io/x/$OK\nARG A16\nARG B=${{A16}}${{A16}}${{A16}}\nFROM quay.io/y/$OK\nFROM \"quay.io/z\":1\n",
        doubling("ARG", "A", 16)
    );
    let c = cf(&text);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert_eq!(pos(&c.problems[0].location), (21, 5));
    assert_eq!(c.references[0].expanded.as_deref(), Some("quay.io/x/fine"));
    assert_eq!(c.references[1].expanded, None);
    assert!(unresolved(&c.references[1]).starts_with("variable substitution stopped"));
    // A word with nothing to substitute still reads.
    assert_eq!(c.references[2].expanded.as_deref(), Some("quay.io/z:1"));
    assert_eq!(c.references[2].status, Status::Resolved);
}

#[test]
fn embed_sources_from_expansions_point_at_their_dollar() {
    let text = "FROM a:1\nARG IMG=q.io/a:1\nARG SRC=docker://q.io/b:2\nRUN skopeo copy docker://$IMG dir:/x && skopeo copy \"$SRC\" dir:/y\n";
    let c = cf(text);
    let r = refs(&c);
    assert_eq!((r[1].2, r[1].3, r[1].1.as_deref()), (4, 26, Some("q.io/a:1")));
    assert_eq!((r[2].2, r[2].3, r[2].1.as_deref()), (4, 54, Some("q.io/b:2")));
}

#[test]
fn chained_stages_each_name_the_first_stage_of_that_name() {
    // Names are case-insensitive; a later stage reusing a name does not shadow the first.
    let mut text = String::from("FROM alpine AS S0\n");
    for i in 1..2000 {
        text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
    }
    text.push_str("FROM alpine AS s5\nFROM S5\n");
    let c = cf(&text);
    assert_eq!(c.stages.len(), 2002);
    for (i, stage) in c.stages.iter().enumerate().skip(1).take(1999) {
        assert_eq!(stage.base_kind, BaseKind::Stage(i - 1), "stage {i}");
    }
    assert_eq!(c.stages[2001].base_kind, BaseKind::Stage(5));
    assert_eq!(refs(&c).len(), 2, "alpine twice, no stage name as an image");
}
