//! The report of `reconcile evaluate`, for people and machines: precision, recall and F1 of
//! the links at the spec's threshold, a threshold sweep, how many true pairs blocking never
//! offered, and the false and missed links with each comparison's evidence. The report is
//! plain data ([`Report`]); the text view and the JSON view only read it.

use std::fmt::Write as _;

use serde::Serialize;

use crate::evaluate::Counts;

/// What `evaluate` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub spec: String,
    /// What the links were judged against, e.g. "true ids in column `True Id`".
    pub against: String,
    /// Records matched (kept after exclusion).
    pub records: usize,
    /// Records left out of every count: no true id, or (labels) excluded by a rule.
    pub unjudged: usize,
    pub unjudged_reason: String,
    pub threshold: f64,
    pub at_threshold: Measure,
    /// Candidate pairs blocking offered for scoring.
    pub candidate_pairs: usize,
    /// True pairs blocking never offered for scoring: no threshold can link them directly.
    pub true_pairs_never_compared: u64,
    pub sweep: Vec<Measure>,
    pub false_links: Listed,
    pub missed_links: Listed,
    /// How the weights were set (given, or estimated and how).
    pub model: String,
}

/// Pair counts and scores at one threshold.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub threshold: f64,
    pub links: u64,
    pub right: u64,
    pub true_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Measure {
    pub fn new(threshold: f64, c: Counts) -> Measure {
        Measure {
            threshold,
            links: c.links,
            right: c.right,
            true_pairs: c.true_pairs,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
        }
    }
}

/// Some of a list of pairs, and how many there are in all.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub total: usize,
    pub pairs: Vec<PairView>,
}

/// One pair with its records' compared values and the evidence of each comparison.
#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    pub left: String,
    pub right: String,
    pub probability: f64,
    /// Blocking offered the pair for scoring.
    pub compared: bool,
    pub prior_bits: f64,
    pub comparisons: Vec<Evidence>,
}

/// One comparison of a pair.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub field: String,
    pub left: String,
    pub right: String,
    /// The level reached, or `missing`.
    pub level: String,
    pub similarity: Option<f64>,
    pub bits: f64,
}

fn f(x: f64) -> String {
    format!("{x:.4}")
}

/// The report as text.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Evaluated {} against {}: {} records matched{}.",
        r.spec,
        r.against,
        r.records,
        if r.unjudged > 0 {
            format!(
                ", {} left out of the counts ({})",
                r.unjudged, r.unjudged_reason
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "Model: {}", r.model);
    let m = &r.at_threshold;
    let _ = writeln!(
        out,
        "\nAt the threshold {}: precision {}  recall {}  F1 {}",
        r.threshold,
        f(m.precision),
        f(m.recall),
        f(m.f1)
    );
    let _ = writeln!(
        out,
        "  {} links, {} right, {} false; {} true pairs, {} missed",
        m.links,
        m.right,
        m.links - m.right,
        m.true_pairs,
        m.true_pairs - m.right
    );
    let _ = writeln!(
        out,
        "  blocking offered {} candidate pairs; {} true pairs were never compared",
        r.candidate_pairs, r.true_pairs_never_compared
    );
    let _ = writeln!(out, "\nThreshold sweep:");
    let _ = writeln!(
        out,
        "  {:>9}  {:>9}  {:>7}  {:>7}  {:>8}  {:>6}  {:>6}",
        "threshold", "precision", "recall", "F1", "links", "false", "missed"
    );
    for s in &r.sweep {
        let mark = if (s.threshold - r.threshold).abs() < 1e-9 {
            "  ← spec"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:>9}  {:>9}  {:>7}  {:>7}  {:>8}  {:>6}  {:>6}{mark}",
            s.threshold,
            f(s.precision),
            f(s.recall),
            f(s.f1),
            s.links,
            s.links - s.right,
            s.true_pairs - s.right
        );
    }
    list(&mut out, "False links", &r.false_links);
    list(&mut out, "Missed links", &r.missed_links);
    out
}

fn list(out: &mut String, title: &str, l: &Listed) {
    let shown = if l.pairs.len() < l.total {
        format!(", the first {} (--all lists every one)", l.pairs.len())
    } else {
        String::new()
    };
    let _ = writeln!(out, "\n{title} ({}{shown}):", l.total);
    if l.total == 0 {
        let _ = writeln!(out, "  none");
    }
    for p in &l.pairs {
        let _ = writeln!(
            out,
            "\n  {} ~ {}  probability {:.4}{}",
            p.left,
            p.right,
            p.probability,
            if p.compared {
                ""
            } else {
                "  (never compared: blocking did not offer this pair)"
            }
        );
        let width = p
            .comparisons
            .iter()
            .map(|e| e.field.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            out,
            "    {:<width$}  {:>7}",
            "prior",
            format!("{:+.2}", p.prior_bits)
        );
        for e in &p.comparisons {
            let level = match e.similarity {
                Some(s) if e.level != "exact" && e.level != "missing" => {
                    format!("{} ({s:.3})", e.level)
                }
                _ => e.level.clone(),
            };
            let _ = writeln!(
                out,
                "    {:<width$}  {:>7}  {:<24} {} | {}",
                e.field,
                format!("{:+.2}", e.bits),
                level,
                e.left,
                e.right
            );
        }
    }
}

/// The report as JSON.
pub fn json(r: &Report) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or(serde_json::Value::Null)
}
