//! `--format github`: GitHub Actions workflow commands, which the runner turns into
//! annotations on the pull request: `::error file=F,line=L,col=C,title=T::message`.
//!
//! Escaping follows the runner: in the message `%`, `\r` and `\n` are percent-encoded; in
//! property values `:` and `,` are too, since they delimit properties.

use super::Report;
use crate::finding::{Finding, Severity};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&command(f));
        out.push('\n');
    }
    out
}

fn command(f: &Finding) -> String {
    let name = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut props = Vec::new();
    let mut message = f.message.clone();
    if f.location.in_image {
        // A path inside the built image is not a file of the repository: annotating it would
        // point at nothing, so it goes into the message.
        message = format!("{} (in the image: {}:{})", message, f.location.file, f.location.line);
    } else {
        props.push(format!("file={}", escape_property(&f.location.file)));
        props.push(format!("line={}", f.location.line));
        props.push(format!("col={}", f.location.column));
    }
    props.push(format!("title={}", escape_property(&format!("{} ({})", f.rule, f.severity))));
    if let Some(help) = &f.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    for r in &f.related {
        let _ = write!(message, "\n{}: {}", r.location, r.message);
    }
    format!("::{name} {}::{}", props.join(","), escape_data(&message))
}

/// The message after `::`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value (`file=`, `title=`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::location::Location;

    #[test]
    fn properties_and_messages_are_escaped() {
        let mut loc = Location::file_only("dir,a/b:c.yaml");
        loc.line = 3;
        loc.column = 7;
        let f =
            Finding::new("latest-tag", Severity::Warning, "100% `x:latest`\r\nnext", loc).with_help("pin it");
        assert_eq!(
            command(&f),
            "::warning file=dir%2Ca/b%3Ac.yaml,line=3,col=7,title=latest-tag (warning)::100%25 `x:latest`%0D%0Anext%0Ahelp: pin it"
        );
    }

    #[test]
    fn in_image_paths_go_into_the_message() {
        let mut loc = Location::file_only("/etc/crio/crio.conf");
        loc.in_image = true;
        let f = Finding::new("short-name", Severity::Info, "short", loc);
        assert_eq!(
            command(&f),
            "::notice title=short-name (info)::short (in the image: /etc/crio/crio.conf:1)"
        );
    }
}
