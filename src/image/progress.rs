//! Progress on stderr while layers stream: only on a terminal, silent otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar counting `layers` layers and `bytes` stored bytes, if `wanted` and stderr is a
    /// terminal.
    pub fn start(wanted: bool, layers: usize, bytes: u64) -> Progress {
        if !wanted || layers == 0 || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("reading layers {msg} {wide_bar} {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(format!("0/{layers}"));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress { bar: Some(bar).map(|b| b.with_prefix(layers.to_string())) }
    }

    pub fn layer_done(&self, bytes_so_far: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes_so_far);
            bar.inc_length(0);
            let done = bar.message().split('/').next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0) + 1;
            bar.set_message(format!("{done}/{}", bar.prefix()));
        }
    }

    /// A line counting `total` steps of `what` (`asking registries 3/10`), if `wanted` and
    /// stderr is a terminal.
    pub fn counter(wanted: bool, total: usize, what: &str) -> Progress {
        if !wanted || total == 0 || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(&format!("{what} {{pos}}/{{len}} {{wide_bar}} {{elapsed}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// One more step of a counter.
    pub fn step(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
