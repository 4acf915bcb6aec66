//! `copy-script-fails`: the boot-time copy script refuses an image list line, and what that
//! does to the lines after it and to `microshift.service` (the copy step as bash and systemd
//! run it: [`crate::inventory::copystep`]).

use super::{Context, Rule, finding};
use crate::finding::Finding;
use crate::gather::facts::Facts;
use crate::inventory::dircopy::COPY_SCRIPT;
use crate::rules::explain::{image_path, line_of};
use crate::text::location::Location;

pub static RULE: Rule = rule!("copy-script-fails", Some(check));

fn check(facts: &Facts, _ctx: &Context) -> Vec<Finding> {
    let Some(image) = &facts.image else { return Vec::new() };
    let service = &image.inventory.copy_service;
    let exec = service.exec.as_ref();
    let at = |file: &str, line: u32| match facts.sources.get(file) {
        Some(src) => line_of(src, line),
        None => Location { line, ..image_path(facts, file) },
    };
    if let (Some(why), Some(e)) = (&service.cannot_run, exec) {
        let starts = e.ignore_failure || !e.pre;
        let consequence = if starts {
            "the drop-in ignores the failure (`ExecStartPre=-`): MicroShift starts, with no image copied"
        } else {
            "nothing is copied, and microshift.service does not start: its `ExecStartPre=` fails, and without \
             the `-` prefix systemd fails the unit (systemd.service(5))"
        };
        return vec![finding(RULE.id, format!("{why}; {consequence}"), at(&e.file, e.line))];
    }
    let Some(run) = &service.run else { return Vec::new() };
    let starts = run.microshift_starts(exec);
    let last_failed = run.failed.last().map(|(l, _)| *l);
    run.failed
        .iter()
        .map(|(line, why)| {
            let mut text = format!("`skopeo copy` of this line fails at boot: {why}. ");
            match run.stopped_at {
                Some((stop, later)) if stop == *line => text.push_str(&format!(
                    "{COPY_SCRIPT} runs under `set -e`, so it stops here: {later} later line(s) are never copied. "
                )),
                _ if !run.errexit && run.fails && last_failed == Some(*line) => text.push_str(&format!(
                    "It is the script's last copy, and without `set -e` {COPY_SCRIPT} exits with its status. "
                )),
                _ => text.push_str(&format!("{COPY_SCRIPT} goes on (no `set -e`). ")),
            }
            let ends_script = run.stopped_at.is_some_and(|(s, _)| s == *line)
                || (!run.errexit && run.fails && last_failed == Some(*line));
            if ends_script {
                text.push_str(if starts {
                    "The drop-in ignores the failure (`ExecStartPre=-`): MicroShift starts without the images \
                     not copied."
                } else {
                    "microshift.service does not start: its `ExecStartPre=` fails, and without the `-` prefix \
                     systemd fails the unit (systemd.service(5))."
                });
            }
            let mut f = finding(RULE.id, text.trim_end().to_string(), at(&run.list, *line));
            if ends_script && let Some(e) = exec {
                f = f.with_related("runs the copy script", at(&e.file, e.line));
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{image_check, positions};

    #[test]
    fn failing_lines_fire_with_their_consequences() {
        // dir-copies: no `set -e`, and the last lines name a copy with a missing blob and no
        // directory at all.
        let found = image_check(&RULE, "dir-copies", &[]);
        assert_eq!(
            positions(&found),
            [
                "/usr/lib/containers/storage/image-list.txt:5:1",
                "/usr/lib/containers/storage/image-list.txt:7:1"
            ]
        );
        assert!(found[0].message.contains("goes on (no `set -e`)"), "{}", found[0].message);
        assert!(image_check(&RULE, "thirty", &[]).is_empty());
    }
}
