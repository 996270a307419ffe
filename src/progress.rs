//! Progress on stderr for the long stages. Where the amount of work is known it is a bar with
//! counts, rate and time left (`normalise [====>   ] 412,000/1,000,000 records 210,512/s
//! eta 3s`): records read per source, records normalised and blocked, pairs compared and
//! scored, rows written. Where it is not, a spinner naming the stage and its elapsed time.
//! It is drawn only when stderr is a terminal and `--quiet` was not given, so pipes, files and
//! tests see exactly the output they saw before. Stages report themselves; nothing here
//! changes data.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// The stage that work far from where it started advances with [`advance`]: the rows an
/// apply writes are counted where `db/` writes them.
static WRITING: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Turns progress off for the rest of the run (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Where progress is drawn: stderr when it is a terminal and progress is wanted, else nowhere.
fn target() -> Option<ProgressDrawTarget> {
    (!QUIET.load(Ordering::Relaxed) && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(ProgressDrawTarget::stderr)
}

/// A stage in progress: shown while it lives, cleared when dropped.
pub struct Stage(Option<ProgressBar>);

/// Starts showing a stage whose amount of work is unknown, e.g. `stage("match: block")`.
pub fn stage(name: &'static str) -> Stage {
    Stage(target().map(|t| spinner(t, name)))
}

/// Starts showing a stage of `total` units of work (`unit` names them: "records", "pairs",
/// "rows"), advanced with [`Stage::add`] or a [`Ticker`].
pub fn counted(name: &'static str, total: u64, unit: &'static str) -> Stage {
    Stage(target().map(|t| bar(t, name, total, unit)))
}

fn spinner(target: ProgressDrawTarget, name: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"),
    );
    bar.set_message(name);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn bar(
    target: ProgressDrawTarget,
    name: &'static str,
    total: u64,
    unit: &'static str,
) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:<16} [{bar:28}] {human_pos}/{human_len} {prefix} {per_sec} eta {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(name);
    bar.set_prefix(unit);
    bar
}

/// Starts showing the rows an apply writes (`total` of them), advanced by [`advance`] as
/// each batch is written.
pub fn writing(total: u64) -> Writing {
    let stage = counted("apply", total, "rows");
    *WRITING.lock().unwrap_or_else(|e| e.into_inner()) = stage.0.clone();
    Writing { _bar: stage }
}

/// The apply's rows in progress ([`writing`]), shown while it lives; no longer advanced once
/// dropped.
pub struct Writing {
    _bar: Stage,
}

impl Drop for Writing {
    fn drop(&mut self) {
        *WRITING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Counts `n` more rows written by the apply shown with [`writing`], if one is shown.
pub fn advance(n: usize) {
    if let Some(bar) = WRITING.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        bar.inc(n as u64);
    }
}

impl Stage {
    /// Counts `n` more units done.
    pub fn add(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// A counter for one worker of a parallel loop: it adds to the bar in steps, so that
    /// counting costs nothing measurable per item.
    pub fn ticker(&self) -> Ticker {
        Ticker {
            bar: self.0.clone(),
            pending: 0,
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// Counts work done by one worker; see [`Stage::ticker`].
pub struct Ticker {
    bar: Option<ProgressBar>,
    pending: u64,
}

/// Items a ticker counts before it adds them to the bar.
const TICKER_STEP: u64 = 4096;

impl Ticker {
    /// Counts one item done.
    #[inline]
    pub fn tick(&mut self) {
        if self.bar.is_some() {
            self.pending += 1;
            if self.pending == TICKER_STEP {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if let Some(bar) = &self.bar {
            bar.inc(self.pending);
        }
        self.pending = 0;
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn quiet_draws_nothing() {
        set_quiet(true);
        assert!(stage("load").0.is_none());
        assert!(counted("load", 10, "records").0.is_none());
        set_quiet(false);
    }

    /// A terminal that keeps the last line drawn.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            *self.0.lock().unwrap() = s.to_string();
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.trim().is_empty() {
                *self.0.lock().unwrap() = s.to_string();
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_counted_stage_shows_counts_and_rate() {
        let screen = Screen::default();
        let stage = Stage(Some(bar(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            "match: compare",
            1_000_000,
            "pairs",
        )));
        // Two workers, each counting in steps; what they counted reaches the bar when they
        // end.
        std::thread::scope(|s| {
            for _ in 0..2 {
                let mut ticker = stage.ticker();
                s.spawn(move || {
                    for _ in 0..10_000 {
                        ticker.tick();
                    }
                });
            }
        });
        stage.add(5_000);
        stage.0.as_ref().unwrap().tick();
        let line = screen.0.lock().unwrap().clone();
        assert!(line.contains("match: compare"), "{line}");
        assert!(line.contains("25,000/1,000,000 pairs"), "{line}");
        assert!(line.contains("/s"), "a rate: {line}");
        assert!(line.contains("eta"), "{line}");
    }
}
