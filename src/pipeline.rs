//! The pipeline on one screen: spec → records → normalise → exclude → set aside invalid
//! values → match → merge. Each stage takes plain data and returns plain data; only the
//! source readers do I/O.
//! The plan stage (desired state against the database) follows in [`crate::plan`].

use crate::error::Result;
use crate::exclude::{self, Excluded};
use crate::matching::{self, Matches};
use crate::merge::{self, DesiredRecord};
use crate::normalize::{self, Invalid, Record};
use crate::progress;
use crate::source;
use crate::spec::compiled::Compiled;

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
}

/// Runs every stage up to the desired state. Touches no database.
pub fn resolve(spec: &Compiled) -> Result<Resolved> {
    let stage = progress::stage("load");
    let raw = source::load_all(spec)?;
    drop(stage);
    let stage = progress::stage("normalise");
    let normalised = normalize::normalize_all(spec, raw);
    drop(stage);
    let (mut kept, excluded) = exclude::exclude(spec, normalised.records);
    let invalid = normalize::set_aside(
        &mut kept,
        excluded.iter().map(|e| (e.source, e.index)),
        normalised.invalid,
    );
    normalize::strict(spec, &invalid)?;
    let view = normalize::matching_view(spec, &kept, &invalid);
    let matches = matching::cluster(&spec.matching, view.as_deref().unwrap_or(&kept));
    drop(view);
    let stage = progress::stage("merge");
    let desired = merge::merge(spec, &kept, &matches, &invalid)?;
    drop(stage);
    Ok(Resolved {
        kept,
        excluded,
        invalid,
        matches,
        desired,
    })
}
