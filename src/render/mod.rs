//! Views of a plan: [`human`] text for people, [`json`] for machines, [`markdown`] for a
//! pull-request comment and [`html`] as a report to open in a browser; [`explain`] shows why records matched; and [`diagnostics`], the
//! wording of errors; [`safe`] masks sensitive values and escapes text for terminals;
//! [`evaluate`] reports how good matching is against known truth; [`review`] shows the pairs
//! put to a person. Renderers only read what
//! they are given; none changes it.

pub mod diagnostics;
pub mod evaluate;
pub mod explain;
pub mod html;
pub mod human;
pub mod json;
pub mod markdown;
pub mod review;
pub mod safe;
pub mod schema;
pub mod state;
pub mod words;

use crate::merge::{Conflict, Decision};
use crate::plan::{MatchingModel, OverrideNote, ReviewReason};
use crate::spec::compiled::ModelOrigin;

/// A probability setting as written: at least two decimals, at most four (`0.70`, `0.85`,
/// `0.9999`).
fn setting(x: f64) -> String {
    let s = format!("{x:.4}");
    let trimmed = s.trim_end_matches('0');
    let decimals = trimmed.split_once('.').map_or(0, |(_, d)| d.len());
    if decimals >= 2 {
        trimmed.to_string()
    } else {
        format!("{x:.2}")
    }
}

/// Why a pair was left for review, naming the setting or the record that decided; `address`
/// shows a golden record's key (`customers["acme"]`).
pub fn review_reason(reason: &ReviewReason, address: impl Fn(&str) -> String) -> String {
    match reason {
        ReviewReason::ReviewBand { review, threshold } => format!(
            "in the review band ({}–{}), below `match.threshold`",
            setting(*review),
            setting(*threshold)
        ),
        ReviewReason::MaxCluster { max } => {
            format!("not linked: the group would exceed `match.max_cluster` ({max})")
        }
        ReviewReason::BetterMatch {
            linked,
            address: at,
            score,
        } => format!(
            "a better match was linked instead: {} at {score:.3}",
            at.as_deref().map_or_else(|| linked.to_string(), address)
        ),
        ReviewReason::OtherPlace => {
            "one source at two addresses: one list keeps one row per place".into()
        }
        ReviewReason::Against { left, right } => format!(
            "the groups would hold {left} and {right}, whose own fields count against one entity"
        ),
        ReviewReason::TwoPlaces { left, right } => format!(
            "the golden record would hold {left} and {right}, at two house numbers, which do \
             not match each other"
        ),
        ReviewReason::OneToOne { taken, to } => {
            format!("one-to-one: {taken} already linked to {to}")
        }
        ReviewReason::Worded(text) => text.clone(),
    }
}

/// What a `same` or `distinct` pair changed for one record, naming the line that wrote it;
/// `address` shows a golden record's key.
pub fn override_note(note: &OverrideNote, address: impl Fn(&str) -> String) -> String {
    match &note.instead {
        Some(instead) => format!(
            "{} linked to {} at {:.3} instead after {}: review it",
            note.record, instead.to, instead.score, note.origin
        ),
        None => format!(
            "{} moved by {}: now in {}, {}",
            note.record,
            note.origin,
            address(&note.address),
            note.was_with
                .as_ref()
                .map_or_else(|| "was on its own".to_string(), |w| format!("was with {w}"))
        ),
    }
}

/// The rule that decided a field the members disagreed on, for people: `most_recent by
/// updated_at`, `source crm`, with `; a tie, broken by priority` when the rule found several
/// values equally good. `field` names a field by its index.
pub fn decision(conflict: &Conflict, field: impl Fn(usize) -> String) -> String {
    let rule = match &conflict.rule {
        Decision::Priority => "priority".to_string(),
        Decision::Order => "priority, in this field's own source order".to_string(),
        Decision::MostRecent { by } => format!("most_recent by {}", field(*by)),
        Decision::Source { source } => format!("source {source}"),
        other => other.code().to_string(),
    };
    if conflict.tie {
        format!("{rule}; a tie, broken by priority")
    } else {
        rule
    }
}

/// One line for people saying how records were matched, when the spec did not spell it out:
/// comparisons derived from the field types, or matching off. `None` for written comparisons.
pub fn model_note(model: &MatchingModel) -> Option<String> {
    let list = || {
        model
            .comparisons
            .iter()
            .map(|(field, method)| format!("{field} ({method})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match model.origin {
        ModelOrigin::Written => None,
        ModelOrigin::Derived => Some(format!(
            "Matching compares {}, chosen from the field types and names because the spec \
             has no `match.compare`.",
            list()
        )),
        ModelOrigin::Off => Some(
            "Matching is off (`match.compare: {}`): records of different sources are never \
             linked, and existing rows are adopted only by `target.key`."
                .to_string(),
        ),
        ModelOrigin::NothingToCompare => Some(
            "Matching is off: the spec has no `match.compare`, and no field can be compared by \
             default (the address field as a name when it is text, text fields named as \
             a street address or a postcode, `email` and `phone` fields); write \
             `match.compare`."
                .to_string(),
        ),
    }
}
