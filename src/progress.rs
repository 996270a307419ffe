//! Progress on stderr for the long stages (load, normalise, block, compare, score, cluster,
//! read table, diff, apply): a spinner naming the stage and its elapsed time. It is drawn only
//! when stderr is a terminal and `--quiet` was not given, so pipes, files and tests see
//! exactly the output they saw before. Stages report themselves; nothing here changes data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns progress off for the rest of the run (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A stage in progress: shown while it lives, cleared when dropped.
pub struct Stage(Option<ProgressBar>);

/// Starts showing a stage, e.g. `stage("match: block")`.
pub fn stage(name: &'static str) -> Stage {
    if QUIET.load(Ordering::Relaxed) || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return Stage(None);
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"),
    );
    bar.set_message(name);
    bar.enable_steady_tick(Duration::from_millis(120));
    Stage(Some(bar))
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_draws_nothing() {
        set_quiet(true);
        assert!(stage("load").0.is_none());
        set_quiet(false);
    }
}
