//! `reconcile evaluate`: how good the matching of a spec is, against labelled pairs
//! (`--labels FILE`) or a column of true entity ids in the sources (`--truth`). Runs the
//! stages up to matching, scores the clusters pairwise at the spec's threshold and across a
//! sweep of thresholds, and lists the false and missed links with their evidence. Never opens
//! the target database; the true ids are read on their own, so they cannot touch matching.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{SpecArgs, load_spec};
use crate::collections::{HashMap, HashSet};
use crate::error::{Error, Result};
use crate::evaluate::{self, Truth};
use crate::matching::{self, Matches, Scored};
use crate::normalize::Record;
use crate::render::evaluate::{Evidence, Listed, Measure, PairView, Report};
use crate::source;
use crate::spec::compiled::{Compiled, Field, FieldPath, Input};
use crate::spec::{FieldType, Weights};

/// False and missed links listed without `--all`.
const SHOWN: usize = 20;

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Labelled pairs: a CSV file with the header `left,right,label` (a `time` column may
    /// follow, as in the labels file `reconcile review` writes), records written `source:id`,
    /// labels `same`, `distinct` or `unsure` (left unjudged). The last row of a pair wins.
    #[arg(long, value_name = "FILE", required_unless_present = "truth")]
    pub labels: Option<PathBuf>,
    /// Judge every pair against true entity ids: the column each source names with `truth:`
    /// in the spec, or COLUMN in every source. Read only for scoring.
    #[arg(long, value_name = "COLUMN", num_args = 0..=1, default_missing_value = "", conflicts_with = "labels")]
    pub truth: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// List every false and missed link (by default the first 20 of each).
    #[arg(long)]
    pub all: bool,
}

fn problem(message: impl Into<String>, help: Option<String>) -> Error {
    Error::Evaluate {
        message: message.into(),
        help,
    }
}

/// Whether two paths name one file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

pub fn run(args: EvaluateArgs) -> Result<ExitCode> {
    let mut spec = load_spec(&args.spec)?;
    // Measured against the labels file the spec obeys, the labelled pairs would be linked or
    // split because they are labelled: set aside, the scores are what is measured.
    let measuring_own_labels = match (&args.labels, &spec.matching.labels) {
        (Some(given), Some(named)) => same_file(given, named),
        _ => false,
    };
    if measuring_own_labels {
        spec.matching.same.retain(|o| !o.origin.label);
        spec.matching.distinct.retain(|o| !o.origin.label);
    }
    // Scored as the plan's matching sees them (invalid phone numbers' digits included).
    let crate::pipeline::MatchingInput { kept, excluded, .. } =
        crate::pipeline::matching_input(&spec)?;
    let scored = matching::score_pairs(&spec.matching, &kept)?;
    let matches = scored.link(&kept);

    let excluded_ids: HashSet<(usize, &str)> =
        excluded.iter().map(|e| (e.source, e.id.as_str())).collect();
    let (truth, against, unjudged, reason) = match (&args.labels, &args.truth) {
        (Some(file), _) => {
            let (labels, left_out) = read_labels(&spec, &kept, &excluded_ids, file)?;
            (
                Truth::Labels(labels),
                if measuring_own_labels {
                    format!(
                        "the labelled pairs of {} (the spec's labels file: its decisions were \
                         set aside while matching, so the scores are what is measured)",
                        file.display()
                    )
                } else {
                    format!("the labelled pairs of {}", file.display())
                },
                left_out,
                "labelled pairs naming an excluded record".to_string(),
            )
        }
        (None, Some(column)) => {
            let column = Some(column.as_str()).filter(|c| !c.is_empty());
            let ids = truth_ids(&spec, &kept, column)?;
            let unknown = ids.iter().filter(|i| i.is_none()).count();
            let against = match column {
                Some(c) => format!("the true ids in column `{c}`"),
                None => "the true ids in the columns the sources name with `truth:`".to_string(),
            };
            (
                Truth::Ids(ids),
                against,
                unknown,
                "records without a true id".to_string(),
            )
        }
        (None, None) => unreachable!("clap requires --labels or --truth"),
    };
    let report = build_report(&spec, &kept, &scored, &matches, &truth, args.all);
    let report = Report {
        against,
        unjudged,
        unjudged_reason: reason,
        ..report
    };
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&crate::render::evaluate::json(&report))
            .map_err(|e| Error::Io(format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        crate::render::evaluate::text(&report)
    };
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write the report: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// The cluster of every record (global index) in a clustering.
fn cluster_of(scored: &Scored<'_>, m: &Matches) -> Vec<usize> {
    let mut out = vec![usize::MAX; scored.flat.len()];
    for (c, cluster) in m.clusters.iter().enumerate() {
        for &member in &cluster.members {
            out[scored.flat.global(member)] = c;
        }
    }
    out
}

/// Scores the clustering and the sweep, and picks the pairs to show.
pub fn build_report(
    spec: &Compiled,
    kept: &[Vec<Record>],
    scored: &Scored<'_>,
    matches: &Matches,
    truth: &Truth,
    all: bool,
) -> Report {
    let clusters = cluster_of(scored, matches);
    let at = evaluate::counts(&clusters, truth);
    let sweep: Vec<Measure> = evaluate::sweep_thresholds(spec.matching.threshold)
        .into_iter()
        .map(|t| {
            let m = if (t - spec.matching.threshold).abs() < 1e-9 {
                at
            } else {
                evaluate::counts(
                    &cluster_of(
                        scored,
                        &scored.link_at(kept, t, crate::matching::Evidence::Probability),
                    ),
                    truth,
                )
            };
            Measure::new(t, m)
        })
        .collect();
    let candidates: HashSet<(u32, u32)> = scored
        .pairs
        .iter()
        .map(|&(a, b)| (a.min(b), a.max(b)))
        .collect();
    let compared = |a: usize, b: usize| candidates.contains(&(a as u32, b as u32));
    let never = evaluate::true_pairs(truth)
        .into_iter()
        .filter(|&(a, b)| !compared(a, b))
        .count() as u64;
    let limit = if all { usize::MAX } else { SHOWN };
    let listed = |pairs: Vec<(usize, usize)>| {
        let total = pairs.len();
        let mut views: Vec<PairView> = pairs
            .into_iter()
            .map(|(a, b)| view(spec, kept, scored, a, b, compared(a, b)))
            .collect();
        // Most probable first: near misses and confident mistakes are the ones to read.
        views.sort_by(|x, y| {
            y.probability
                .total_cmp(&x.probability)
                .then_with(|| (&x.left, &x.right).cmp(&(&y.left, &y.right)))
        });
        views.truncate(limit);
        Listed {
            total,
            pairs: views,
        }
    };
    Report {
        spec: spec.file.display().to_string(),
        against: String::new(),
        records: scored.flat.len(),
        unjudged: 0,
        unjudged_reason: String::new(),
        threshold: spec.matching.threshold,
        at_threshold: Measure::new(spec.matching.threshold, at),
        candidate_pairs: scored.pairs.len(),
        true_pairs_never_compared: never,
        sweep,
        false_links: listed(evaluate::false_links(&clusters, truth)),
        missed_links: listed(evaluate::missed_links(&clusters, truth)),
        model: describe_model(spec, &matches.model),
    }
}

/// How the weights in force were set, in one line.
pub fn describe_model(spec: &Compiled, model: &matching::Model) -> String {
    let notes: String = model.notes.iter().map(|n| format!("; {n}")).collect();
    let base = match (spec.matching.weights, model.lambda) {
        (Weights::Auto, Some(lambda)) => format!(
            "weights estimated from the data (share of matches among candidate pairs {:.4}, \
             {} EM iterations, u from {} random pairs)",
            lambda, model.iterations, model.u_samples
        ),
        (Weights::Auto, None) => "weights: auto, but each method's defaults in force".to_string(),
        (Weights::Labels, Some(lambda)) => format!(
            "weights trained on {} labelled `same` pairs, u from {} random pairs (share of \
             matches among candidate pairs {:.4})",
            model.labelled, model.u_samples, lambda
        ),
        (Weights::Labels, None) => {
            "weights: labels, but each method's defaults in force".to_string()
        }
        (Weights::Given, _) => {
            "given weights (each method's defaults, or m/u written in the spec)".to_string()
        }
    };
    base + &notes
}

fn name_of(spec: &Compiled, kept: &[Vec<Record>], scored: &Scored<'_>, g: usize) -> String {
    let m = scored.flat.member(g);
    format!(
        "{}:{}",
        spec.sources[m.source].name, kept[m.source][m.index].id
    )
}

fn view(
    spec: &Compiled,
    kept: &[Vec<Record>],
    scored: &Scored<'_>,
    a: usize,
    b: usize,
    compared: bool,
) -> PairView {
    let score = scored.score(a, b);
    let record = |g: usize| {
        let m = scored.flat.member(g);
        &kept[m.source][m.index]
    };
    let value = |g: usize, field: usize| {
        if spec.sensitive.get(field).copied().unwrap_or(false) {
            "(sensitive)".to_string()
        } else {
            match &record(g).values[field] {
                crate::value::Value::Null => "(empty)".to_string(),
                v => v.to_string(),
            }
        }
    };
    PairView {
        left: name_of(spec, kept, scored, a),
        right: name_of(spec, kept, scored, b),
        probability: score.probability,
        compared,
        prior_bits: score.prior_bits,
        comparisons: score
            .terms
            .iter()
            .map(|t| Evidence {
                field: spec.matching.comparisons[t.comparison].name.clone(),
                left: value(a, t.field),
                right: value(b, t.field),
                level: t.label.clone(),
                similarity: t.similarity,
                bits: t.bits,
            })
            .collect(),
    }
}

/// Global index of each kept record, by (source, id).
fn index_of(kept: &[Vec<Record>]) -> HashMap<(usize, &str), usize> {
    kept.iter()
        .flatten()
        .enumerate()
        .map(|(g, r)| ((r.source, r.id.as_str()), g))
        .collect()
}

/// Labelled pairs of global indexes: `(a, b, same)`.
type Labels = Vec<(usize, usize, bool)>;

/// Reads labelled pairs (a labels file, as `reconcile review` writes it: the header
/// `left,right,label`, and `time` or other columns as may be); the last row of a pair wins,
/// and an `unsure` one leaves the pair unjudged. Pairs naming an excluded record are counted
/// and left out.
fn read_labels(
    spec: &Compiled,
    kept: &[Vec<Record>],
    excluded: &HashSet<(usize, &str)>,
    file: &Path,
) -> Result<(Labels, usize)> {
    let where_ = |line: usize| format!("{}, line {line}", file.display());
    let text = match crate::labels::read(file) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Err(problem(
                format!("cannot read {}: it does not exist", file.display()),
                Some("`reconcile review` writes a labels file as you decide pairs".into()),
            ));
        }
        Err(e) => {
            return Err(problem(
                format!("cannot read {}: {e}", file.display()),
                None,
            ));
        }
    };
    let rows = crate::labels::parse(&text).map_err(|problems| {
        let first = &problems[0];
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more bad lines)", n - 1),
        };
        problem(
            format!("{}: {}{more}", where_(first.line), first.message),
            first.help.clone().or_else(|| {
                Some(format!(
                    "the header must be `{}`, e.g. `crm:17,import:4,same`",
                    crate::labels::HEADER
                ))
            }),
        )
    })?;
    let index = index_of(kept);
    let names: Vec<&str> = spec.sources.iter().map(|s| s.name.as_str()).collect();
    let resolve = |text: &str, line: usize| -> Result<Option<usize>> {
        let (source, id) = text.split_once(':').unwrap_or((text, ""));
        let Some(s) = names.iter().position(|n| *n == source) else {
            let help = crate::suggest::did_you_mean(source, names.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("sources: {}", names.join(", ")));
            return Err(problem(
                format!("{}: `{source}` is not a source of the spec", where_(line)),
                Some(help),
            ));
        };
        if let Some(&g) = index.get(&(s, id)) {
            return Ok(Some(g));
        }
        if excluded.contains(&(s, id)) {
            return Ok(None);
        }
        Err(problem(
            format!("{}: source `{source}` has no record `{id}`", where_(line)),
            Some("records are named by the source's `id` column, else their row number".into()),
        ))
    };
    let mut out = Vec::new();
    let mut left_out = 0;
    for row in crate::labels::in_force(&rows) {
        let same = match row.label {
            crate::labels::Label::Same => true,
            crate::labels::Label::Distinct => false,
            crate::labels::Label::Unsure => continue,
        };
        match (
            resolve(&row.left, row.line)?,
            resolve(&row.right, row.line)?,
        ) {
            (Some(a), Some(b)) => out.push((a, b, same)),
            _ => left_out += 1,
        }
    }
    Ok((out, left_out))
}

/// Reads the true id of every kept record, from each source's `truth:` column or `column`.
/// Only that column is read, through a spec of one field, so the ids never reach matching.
fn truth_ids(
    spec: &Compiled,
    kept: &[Vec<Record>],
    column: Option<&str>,
) -> Result<Vec<Option<u32>>> {
    let mut only = spec.clone();
    only.fields = vec![Field {
        name: "truth".into(),
        column: "truth".into(),
        kind: FieldType::Text,
        required: false,
        region: None,
        multiline: false,
        reference: None,
    }];
    for s in &mut only.sources {
        let path = match (column, &s.truth) {
            (Some(c), _) if matches!(s.input, Input::Sql { .. }) => FieldPath::column(c),
            (Some(c), _) => FieldPath::parse(c),
            (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err(problem(
                    format!("source `{}` names no column of true ids", s.name),
                    Some(
                        "add `truth: COLUMN` to the source in the spec, or pass \
                         `--truth COLUMN`"
                            .into(),
                    ),
                ));
            }
        };
        s.mapping = vec![(0, path)];
        s.computed.clear();
    }
    let raw = source::load_all(&only)?;
    let mut by_record: HashMap<(usize, &str), String> = HashMap::default();
    for (s, records) in raw.iter().enumerate() {
        let mut any = false;
        for r in records {
            let text = match &r.fields[0] {
                serde_json::Value::String(t) => t.trim().to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            any |= !text.is_empty();
            by_record.insert((s, r.id.as_str()), text);
        }
        if !any && !records.is_empty() {
            let c = only.sources[s].mapping[0].1.raw.clone();
            return Err(problem(
                format!(
                    "column `{c}` holds no true id in source `{}`",
                    only.sources[s].name
                ),
                Some("name the column that holds each record's true entity id".into()),
            ));
        }
    }
    let ids = kept.iter().flatten().map(|r| {
        by_record
            .get(&(r.source, r.id.as_str()))
            .map(String::as_str)
    });
    Ok(evaluate::intern_ids(ids))
}
