//! Views of the pairs put to a person ([`crate::review`]): the screen `reconcile review` shows
//! for one pair (a pure function from the pair to lines, so it can be tested without a
//! terminal), and the JSON of `reconcile review --json`. Sensitive values are masked and text
//! from sources escaped, as everywhere.

use indexmap::IndexMap;
use serde::Serialize;

use super::safe::{self, MASK, term};
use crate::labels::Label;
use crate::matching::Score;
use crate::review::{Kind, Pair, RecordView};
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// Bumped on any breaking change to the JSON of `reconcile review --json`.
pub const FORMAT_VERSION: &str = "1";

/// The keys, as the last line of the screen says them.
pub const KEYS: &str = "[s] same   [d] distinct   [u] unsure   [b] back   [q] quit";

/// Where a pair stands in the walk, for the screen's first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// 0-based.
    pub index: usize,
    pub total: usize,
}

/// Why the pair is listed, as the screen's second line.
fn why(pair: &Pair) -> String {
    let reason = term(&pair.reason);
    match pair.kind {
        Kind::Band => format!("Not linked: {reason}"),
        Kind::WeakLink | Kind::StrongNonLink => {
            let mut chars = reason.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        }
    }
}

/// Cuts text to `width` characters, marking the cut with `…`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn sensitive(spec: &Compiled, f: usize) -> bool {
    spec.sensitive.get(f).copied().unwrap_or(false)
}

/// A value in a cell: masked when sensitive, `(empty)` when absent.
fn cell(spec: &Compiled, f: usize, v: &Value) -> String {
    if v.is_null() {
        "(empty)".to_string()
    } else {
        safe::value(v, sensitive(spec, f), false)
    }
}

/// A comparison's level as shown: its name, with the similarity when the values were not
/// equal and the method measures one.
fn level_text(t: &crate::matching::Term) -> String {
    match t.similarity {
        Some(s) if t.level.is_some_and(|l| l > 0) => format!("{} ({s:.3})", t.label),
        _ => t.label.clone(),
    }
}

/// The screen for one pair, as lines without colour, at most about `width` columns wide:
/// where it stands, why it is listed, both records side by side with every mapped value
/// (`=` where they agree, `≠` where they differ), each comparison's level and bits, the
/// score, the decision already recorded if any, and the keys.
pub fn screen(
    spec: &Compiled,
    pair: &Pair,
    place: Place,
    decided: Option<Label>,
    width: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!(
        "reconcile review · {} · pair {} of {}",
        term(&spec.resource),
        place.index + 1,
        place.total
    ));
    lines.push(why(pair));
    lines.push(String::new());

    let label_w = spec
        .fields
        .iter()
        .map(|f| f.name.chars().count())
        .chain(
            spec.matching
                .comparisons
                .iter()
                .map(|c| c.name.chars().count()),
        )
        .chain(["comparison".len()])
        .max()
        .unwrap_or(10)
        .min(24);
    // The left column is as wide as its widest value, within half of what the screen leaves.
    let room = (width.max(60).saturating_sub(2 + label_w + 2 + 5) / 2).clamp(12, 48);
    let value_w = std::iter::once(term(&pair.left.reference.to_string()).chars().count())
        .chain(
            pair.left
                .values
                .iter()
                .enumerate()
                .map(|(f, v)| cell(spec, f, v).chars().count()),
        )
        .max()
        .unwrap_or(room)
        .min(room);
    // The right column has the rest of the line.
    let right_w = width
        .max(60)
        .saturating_sub(2 + label_w + 2 + value_w + 5)
        .max(12);
    let id = |r: &RecordView, w: usize| fit(&term(&r.reference.to_string()), w);
    lines.push(format!(
        "  {:label_w$}  {:value_w$}     {}",
        "",
        id(&pair.left, value_w),
        id(&pair.right, right_w)
    ));
    for (f, field) in spec.fields.iter().enumerate() {
        let (a, b) = (&pair.left.values[f], &pair.right.values[f]);
        let marker = if a.is_null() || b.is_null() || sensitive(spec, f) {
            " "
        } else if a == b {
            "="
        } else {
            "≠"
        };
        lines.push(format!(
            "  {:label_w$}  {:value_w$}  {marker}  {}",
            fit(&term(&field.name), label_w),
            fit(&cell(spec, f, a), value_w),
            fit(&cell(spec, f, b), right_w),
        ));
    }
    lines.push(String::new());
    evidence_lines(spec, &pair.score, label_w, &mut lines);
    lines.push(String::new());
    if let Some(label) = decided {
        lines.push(format!(
            "  Decided: {label} (s, d or u records another decision)"
        ));
    }
    lines.push(KEYS.to_string());
    lines
}

/// The evidence of a score: the prior, each comparison's level and bits, and the total.
fn evidence_lines(spec: &Compiled, score: &Score, label_w: usize, lines: &mut Vec<String>) {
    let m = &spec.matching;
    let band = format!(
        "score {:.3} (threshold {}, review from {})",
        score.probability, m.threshold, m.review
    );
    if score.terms.is_empty() {
        lines.push(format!(
            "  linked by a `same` decision, whatever the evidence; {band}"
        ));
        return;
    }
    let level_w = score
        .terms
        .iter()
        .map(|t| level_text(t).chars().count())
        .chain(["level".len()])
        .max()
        .unwrap_or(5)
        .min(32);
    lines.push(format!(
        "  {:label_w$}  {:level_w$}  {:>7}",
        "comparison", "level", "bits"
    ));
    lines.push(format!(
        "  {:label_w$}  {:level_w$}  {:>7}",
        "prior",
        "",
        format!("{:+.2}", score.prior_bits)
    ));
    for t in &score.terms {
        let name = m.comparisons.get(t.comparison).map_or("?", |c| &c.name);
        lines.push(format!(
            "  {:label_w$}  {:level_w$}  {:>7}",
            fit(&term(name), label_w),
            fit(&level_text(t), level_w),
            format!("{:+.2}", t.bits)
        ));
    }
    lines.push(format!(
        "  {:label_w$}  {:level_w$}  {:>7}  → {band}",
        "total",
        "",
        format!("{:+.2}", score.bits())
    ));
}

/// What one comparison contributed to a score.
#[derive(Debug, Serialize)]
pub struct JsonEvidence {
    /// The comparison, named by its field.
    pub comparison: String,
    pub method: String,
    /// The level reached, or `missing` when a value was absent.
    pub level: String,
    /// Similarity (0–1) or distance, where the method measures one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Evidence in bits (log2 of the likelihood ratio), weight and term frequency included.
    pub bits: f64,
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Every comparison's evidence in a score (empty for a link the spec forced).
pub fn evidence(spec: &Compiled, score: &Score) -> Vec<JsonEvidence> {
    score
        .terms
        .iter()
        .map(|t| JsonEvidence {
            comparison: spec
                .matching
                .comparisons
                .get(t.comparison)
                .map_or_else(String::new, |c| c.name.clone()),
            method: t.method.name(),
            level: t.label.clone(),
            similarity: t.similarity.map(round),
            bits: round(t.bits),
        })
        .collect()
}

/// The pairs to decide, as `reconcile review --json` prints them. Fill in each `label` and
/// give the file to `reconcile review --apply`.
#[derive(Debug, Serialize)]
pub struct JsonToDecide {
    pub format_version: &'static str,
    pub resource: String,
    /// The labels file decisions are appended to.
    pub labels: String,
    /// Whether the spec reads that file (`match.labels`); until it does, decisions recorded
    /// there change nothing.
    pub labels_in_spec: bool,
    pub threshold: f64,
    pub review: f64,
    pub pairs: Vec<JsonPair>,
}

/// One pair to decide.
#[derive(Debug, Serialize)]
pub struct JsonPair {
    /// `review` (in the review band), `weak_link` or `strong_non_link`.
    pub kind: &'static str,
    pub left: String,
    pub right: String,
    pub left_name: Option<String>,
    pub right_name: Option<String>,
    /// Every mapped value by target field; `"(sensitive value)"` for a sensitive one.
    pub left_values: IndexMap<String, serde_json::Value>,
    pub right_values: IndexMap<String, serde_json::Value>,
    pub score: f64,
    pub prior_bits: f64,
    pub evidence: Vec<JsonEvidence>,
    pub reason: String,
    /// `null` until decided: `same`, `distinct` or `unsure`.
    pub label: Option<&'static str>,
}

fn values(spec: &Compiled, r: &RecordView) -> IndexMap<String, serde_json::Value> {
    spec.fields
        .iter()
        .zip(&r.values)
        .enumerate()
        .map(|(f, (field, v))| {
            let shown = if sensitive(spec, f) && !v.is_null() {
                serde_json::Value::String(MASK.into())
            } else {
                v.to_json()
            };
            (field.name.clone(), shown)
        })
        .collect()
}

/// The JSON of the pairs to decide.
pub fn to_json(spec: &Compiled, labels: String, labels_in_spec: bool, pairs: &[Pair]) -> String {
    let doc = JsonToDecide {
        format_version: FORMAT_VERSION,
        resource: spec.resource.clone(),
        labels,
        labels_in_spec,
        threshold: spec.matching.threshold,
        review: spec.matching.review,
        pairs: pairs
            .iter()
            .map(|p| JsonPair {
                kind: p.kind.code(),
                left: p.left.reference.to_string(),
                right: p.right.reference.to_string(),
                left_name: p.left.name.clone(),
                right_name: p.right.name.clone(),
                left_values: values(spec, &p.left),
                right_values: values(spec, &p.right),
                score: round(p.score.probability),
                prior_bits: round(p.score.prior_bits),
                evidence: evidence(spec, &p.score),
                reason: p.reason.clone(),
                label: None,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("review JSON serialises");
    s.push('\n');
    s
}

/// A pair's reason as the plan words it, records named by `source:id`.
pub fn reason_words(
    spec: &crate::spec::compiled::Compiled,
    kept: &[Vec<crate::normalize::Record>],
    r: &crate::matching::ReviewReason,
) -> String {
    let name_of = |m: crate::matching::Member| crate::merge::SourceRef {
        source: spec.sources[m.source].name.clone(),
        id: kept[m.source][m.index].id.clone(),
    };
    let reason = crate::plan::ReviewReason::of(r, name_of, |_| None);
    crate::render::review_reason(&reason, |a| a.to_string())
}
