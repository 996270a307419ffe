//! The pipeline on one screen: spec → records → normalise → exclude → set aside invalid
//! values → match → merge. Each stage takes plain data and returns plain data; only the
//! source readers do I/O. The time each stage took is kept with the result, for `explain`.
//! The plan stage (desired state against the database) follows in [`crate::plan`].

use std::time::Instant;

use crate::error::Result;
use crate::exclude::{self, Excluded};
use crate::matching::{self, Matches};
use crate::merge::{self, DesiredRecord};
use crate::normalize::{self, Invalid, Record};
use crate::progress;
use crate::source;
use crate::spec::compiled::Compiled;

/// Seconds per named stage, in the order the stages ran.
pub type Timings = Vec<(String, f64)>;

/// Everything the spec and its sources say the target should hold, with the evidence.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Records that passed exclusion, per source in priority order.
    pub kept: Vec<Vec<Record>>,
    pub excluded: Vec<Excluded>,
    /// Values of kept records that failed their field type, set aside (empty in `kept`).
    pub invalid: Vec<Invalid>,
    pub matches: Matches,
    /// One golden record per cluster (same order as `matches.clusters`).
    pub desired: Vec<DesiredRecord>,
    /// Each stage's wall time (`load`, `normalise`, `exclude`, `match` and its own steps as
    /// `  match: …`, `merge`), then `total`.
    pub timings: Timings,
}

impl Resolved {
    /// Drops of each source record what a plan no longer reads once the golden records are
    /// made: of its values, only those that name it ([`crate::review::keep_name_only`]), and
    /// where it was in its source. Called before the table is read, so that the two do not
    /// take memory at the same time; the golden records and everything said of the records
    /// (excluded, invalid, for review) are untouched.
    pub fn keep_names_only(&mut self, spec: &Compiled) {
        use rayon::prelude::*;
        for records in &mut self.kept {
            records.par_iter_mut().for_each(|r| {
                crate::review::keep_name_only(spec, &mut r.values);
                r.row = String::new();
            });
        }
    }
}

/// Times the stages and shows each one in progress while it runs.
struct Clock {
    start: Instant,
    lap: Instant,
    timings: Timings,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: Instant::now(),
            lap: Instant::now(),
            timings: Vec::new(),
        }
    }

    /// Runs one stage, timing it; `shown` names it in the progress display when it is long
    /// enough to show (matching shows its own steps).
    fn stage<T>(&mut self, name: &str, shown: Option<&'static str>, f: impl FnOnce() -> T) -> T {
        let progress = shown.map(progress::stage);
        let out = f();
        drop(progress);
        self.timings
            .push((name.to_string(), self.lap.elapsed().as_secs_f64()));
        self.lap = Instant::now();
        out
    }
}

/// Runs every stage up to the desired state, every link with its evidence. Touches no
/// database.
pub fn resolve(spec: &Compiled) -> Result<Resolved> {
    resolve_with(spec, matching::Evidence::Terms)
}

/// [`resolve`], each link's score holding what `evidence` says: a plan that explains no
/// link needs only their probabilities.
pub fn resolve_with(spec: &Compiled, evidence: matching::Evidence) -> Result<Resolved> {
    let mut clock = Clock::new();
    let raw = clock.stage("load", None, || source::load_all(spec))?;
    let normalised = clock.stage("normalise", None, || normalize::normalize_all(spec, raw));
    let (kept, excluded, invalid) = clock.stage("exclude", None, || {
        let (mut kept, excluded) = exclude::exclude(spec, normalised.records);
        let invalid = normalize::set_aside(
            &mut kept,
            excluded.iter().map(|e| (e.source, e.index)),
            normalised.invalid,
        );
        (kept, excluded, invalid)
    });
    normalize::strict(spec, &invalid)?;
    let matches = clock.stage("match", None, || {
        let view = normalize::matching_view(spec, &kept, &invalid);
        matching::cluster_with(&spec.matching, view.as_deref().unwrap_or(&kept), evidence)
    })?;
    clock.timings.extend(
        matches
            .timings
            .iter()
            .map(|(n, s)| (format!("  match: {n}"), *s)),
    );
    let desired = clock.stage("merge", Some("merge"), || {
        merge::merge(spec, &kept, &matches, &invalid)
    })?;
    let mut timings = clock.timings;
    timings.push(("total".into(), clock.start.elapsed().as_secs_f64()));
    Ok(Resolved {
        kept,
        excluded,
        invalid,
        matches,
        desired,
        timings,
    })
}

/// The records as the matcher sees them, for commands that score pairs themselves
/// (`evaluate`, `review`): kept records with the digits of invalid phone numbers restored
/// for comparison, with what was excluded and set aside.
pub struct MatchingInput {
    pub kept: Vec<Vec<Record>>,
    pub excluded: Vec<Excluded>,
    pub invalid: Vec<Invalid>,
}

/// Reads, normalises and excludes, as [`resolve`] does, stopping before matching.
pub fn matching_input(spec: &Compiled) -> Result<MatchingInput> {
    let raw = source::load_all(spec)?;
    let normalised = normalize::normalize_all(spec, raw);
    let (mut kept, excluded) = exclude::exclude(spec, normalised.records);
    let invalid = normalize::set_aside(
        &mut kept,
        excluded.iter().map(|e| (e.source, e.index)),
        normalised.invalid,
    );
    normalize::strict(spec, &invalid)?;
    let kept = normalize::matching_view(spec, &kept, &invalid).unwrap_or(kept);
    Ok(MatchingInput {
        kept,
        excluded,
        invalid,
    })
}
