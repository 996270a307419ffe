//! Explanations of matching, for people and machines: the summary of a matching run
//! (records, blocking statistics per rule, the model's levels with m/u and bits, time per
//! stage; in JSON also every link and every pair to review with each comparison's evidence)
//! and, for one golden record, its members, each link's score as a text waterfall of
//! per-comparison contributions, the pairs considered and rejected near the threshold with
//! why, what the `same` / `distinct` overrides changed, and where each value came from: where
//! the members disagreed, the rule that chose and every value that lost.
//! Renderers only read; nothing here changes the data.

use std::fmt::Write as _;

use serde_json::json;

use super::safe::{self, term};
use crate::collections::HashMap;
use crate::matching::{Matches, Member, Score};
use crate::pipeline::Resolved;
use crate::plan::{Action, Plan};
use crate::spec::compiled::Compiled;

/// How many rejected pairs an explanation lists per golden record.
const REJECTED_SHOWN: usize = 5;

/// `source:id`, as the JSON explanation gives it.
fn member_raw(spec: &Compiled, resolved: &Resolved, m: Member) -> String {
    format!(
        "{}:{}",
        spec.sources[m.source].name, resolved.kept[m.source][m.index].id
    )
}

/// `source:id`, escaped for a terminal.
fn member_name(spec: &Compiled, resolved: &Resolved, m: Member) -> String {
    term(&member_raw(spec, resolved, m)).into_owned()
}

/// A blocking key as shown: keys are made of field values, so with any sensitive field in
/// the spec they are masked rather than risk showing one.
fn shown_key<'k>(spec: &Compiled, key: &'k str) -> &'k str {
    if spec.sensitive.iter().any(|&s| s) {
        safe::MASK
    } else {
        key
    }
}

/// Whether field `f`'s values are masked.
fn sensitive(spec: &Compiled, f: usize) -> bool {
    spec.sensitive.get(f).copied().unwrap_or(false)
}

/// The matching summary as text.
pub fn summary(spec: &Compiled, resolved: &Resolved) -> String {
    let timings = &resolved.timings;
    let mut out = String::new();
    let m = &resolved.matches;
    let _ = writeln!(out, "Matching");
    if let Some(note) = super::model_note(&crate::plan::MatchingModel::of(&spec.matching)) {
        let _ = writeln!(out, "  {note}");
    }
    for (s, recs) in resolved.kept.iter().enumerate() {
        let dedupe = if spec.matching.dedupes(s) {
            " (deduplicated)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  source {:<12} {:>8} records{dedupe}",
            term(&spec.sources[s].name),
            recs.len()
        );
    }
    let _ = writeln!(out, "\nBlocking: {} candidate pairs", m.candidate_pairs);
    for r in &m.blocking.rules {
        let _ = writeln!(
            out,
            "  {:<40} {:>10} pairs  {:>10} new",
            term(&r.name),
            r.pairs,
            r.new_pairs
        );
    }
    for o in &m.blocking.oversized {
        let _ = write!(
            out,
            "  key {:?} of rule {} is shared by {} records (max_block {}): ",
            shown_key(spec, &o.key),
            term(&o.rule),
            o.records,
            spec.matching.max_block
        );
        let _ = if o.narrowed_pairs > 0 {
            writeln!(
                out,
                "narrowed to {} pairs that also agree on another compared field",
                o.narrowed_pairs
            )
        } else {
            writeln!(out, "skipped")
        };
    }
    if let Some(p) = &m.partitioned {
        use crate::matching::memory::show_size;
        let _ = writeln!(
            out,
            "  in partitions: the records' prepared values would take about {}, over the \
             matching memory of {} (`match.memory`); keys spread over {} files per rule, {} \
             records prepared at a time, {} spilled to disk; same result, only slower",
            show_size(p.estimate),
            show_size(p.budget),
            p.partitions,
            p.chunk,
            show_size(p.spilled)
        );
    }
    let _ = writeln!(
        out,
        "\nModel ({}):",
        match (m.model.lambda, m.model.labelled) {
            (Some(_), 0) => "weights estimated from the data",
            (Some(_), _) => "weights trained on labelled pairs",
            (None, _) => "weights as given",
        }
    );
    if let (Some(prior), Some(lambda)) = (m.model.prior_bits, m.model.lambda) {
        let _ = writeln!(
            out,
            "  prior {prior:+.2} bits; {:.2}% of candidate pairs are matches; {} EM iterations; u from {} random pairs",
            lambda * 100.0,
            m.model.iterations,
            m.model.u_samples
        );
    }
    for note in &m.model.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    for (c, levels) in spec.matching.comparisons.iter().zip(&m.model.levels) {
        let _ = writeln!(
            out,
            "  {} ({}{}{})",
            c.name,
            c.method.name(),
            if c.weight == 1.0 {
                String::new()
            } else {
                format!(", weight {}", c.weight)
            },
            if c.term_frequency {
                ", term frequencies"
            } else {
                ""
            }
        );
        for l in levels {
            let _ = writeln!(
                out,
                "    {:<24} m {:<10.6} u {:<10.6} {:+7.2} bits",
                l.name,
                l.m,
                l.u,
                l.bits() * c.weight
            );
        }
    }
    let linked = m.clusters.iter().filter(|c| c.members.len() > 1).count();
    let _ = writeln!(
        out,
        "\nClusters: {} golden records, {} of them with several members; {} pairs to review",
        m.clusters.len(),
        linked,
        m.review.len()
    );
    if m.guard_refusals > 0 {
        let _ = writeln!(
            out,
            "  {} links refused: the group would have exceeded `match.max_cluster` ({})",
            m.guard_refusals, spec.matching.max_cluster
        );
    }
    let notes = override_notes(spec, resolved);
    if !notes.is_empty() {
        let _ = writeln!(out, "\nChanged by `same` / `distinct`:");
        for n in &notes {
            let _ = writeln!(
                out,
                "  {}",
                term(&super::override_note(n, |a| a.to_string()))
            );
        }
    }
    let _ = writeln!(out, "\nTime:");
    for (name, secs) in timings {
        let _ = writeln!(out, "  {name:<20} {:>9.1} ms", secs * 1000.0);
    }
    out
}

/// The matching summary as JSON, with every cluster of several records (as `source:id`).
pub fn summary_json(spec: &Compiled, resolved: &Resolved) -> serde_json::Value {
    let timings = &resolved.timings;
    let m: &Matches = &resolved.matches;
    let clusters: Vec<Vec<String>> = m
        .clusters
        .iter()
        .filter(|c| c.members.len() > 1)
        .map(|c| {
            c.members
                .iter()
                .map(|&x| member_raw(spec, resolved, x))
                .collect()
        })
        .collect();
    let name =
        |m: Member| crate::review::record_name(spec, &resolved.kept[m.source][m.index].values);
    // Every link of those clusters: which record joined which, and on what evidence.
    let links: Vec<serde_json::Value> = m
        .clusters
        .iter()
        .flat_map(|c| &c.links)
        .map(|l| {
            json!({
                "record": member_raw(spec, resolved, l.record),
                "to": member_raw(spec, resolved, l.to),
                "record_name": name(l.record),
                "to_name": name(l.to),
                "score": l.score.probability,
                "forced": l.forced,
                "prior_bits": l.score.prior_bits,
                "evidence": super::review::evidence(spec, &l.score),
            })
        })
        .collect();
    let mut out = json!({
        "format_version": "1",
        "records": spec.sources.iter().zip(&resolved.kept).map(|(s, r)| (s.name.clone(), json!(r.len()))).collect::<serde_json::Map<_, _>>(),
        "excluded": resolved.excluded.len(),
        "blocking": {
            "candidate_pairs": m.candidate_pairs,
            "rules": m.blocking.rules.iter().map(|r| json!({"rule": r.name, "pairs": r.pairs, "new_pairs": r.new_pairs})).collect::<Vec<_>>(),
            "oversized": m.blocking.oversized.iter().map(|o| json!({"rule": o.rule, "key": shown_key(spec, &o.key), "records": o.records, "narrowed_pairs": o.narrowed_pairs})).collect::<Vec<_>>(),
        },
        "model": {
            "origin": spec.matching.origin,
            "estimated": m.model.lambda.is_some(),
            "prior_bits": m.model.prior_bits,
            "lambda": m.model.lambda,
            "iterations": m.model.iterations,
            "u_samples": m.model.u_samples,
            "notes": m.model.notes,
            "comparisons": spec.matching.comparisons.iter().zip(&m.model.levels).map(|(c, levels)| json!({
                "field": c.name,
                "method": c.method.name(),
                "levels": levels.iter().map(|l| json!({"name": l.name, "m": l.m, "u": l.u, "bits": l.bits() * c.weight})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "golden_records": resolved.desired.len(),
        "clusters": clusters,
        "links": links,
        "review": crate::plan::review_items(spec, resolved, |_| None).iter().zip(&m.review).map(|(r, raw)| json!({
            "left": r.left.to_string(),
            "right": r.right.to_string(),
            "score": r.score,
            "reason": super::review_reason(&r.reason, |a| a.to_string()),
            "code": r.reason.code(),
            "left_name": r.left_name,
            "right_name": r.right_name,
            "prior_bits": raw.score.prior_bits,
            "evidence": super::review::evidence(spec, &raw.score),
        })).collect::<Vec<_>>(),
        "overrides": override_notes(spec, resolved).iter().map(|n| json!({
            "kind": n.origin.kind,
            "file": n.origin.file,
            "line": n.origin.line,
            "record": n.record.to_string(),
            "effect": if n.instead.is_some() { "linked_instead" } else { "moved" },
            "note": super::override_note(n, |a| a.to_string()),
        })).collect::<Vec<_>>(),
        "guard_refusals": m.guard_refusals,
        "timings": timings.iter().map(|(n, s)| (n.clone(), json!(s))).collect::<serde_json::Map<_, _>>(),
    });
    if let (Some(p), Some(object)) = (&m.partitioned, out.as_object_mut()) {
        object.insert(
            "partitioned".into(),
            json!({
                "budget_bytes": p.budget,
                "estimate_bytes": p.estimate,
                "partitions": p.partitions,
                "chunk_records": p.chunk,
                "spilled_bytes": p.spilled,
            }),
        );
    }
    out
}

/// What the overrides changed, without a plan: a golden record is named by its first record.
fn override_notes(spec: &Compiled, resolved: &Resolved) -> Vec<crate::plan::OverrideNote> {
    let clusters = &resolved.matches.clusters;
    crate::plan::override_notes(spec, resolved, |c| {
        clusters
            .get(c)
            .and_then(|c| c.members.first())
            .map(|&m| format!("the group of {}", member_raw(spec, resolved, m)))
    })
}

/// One bit of evidence is one character of bar, up to this many.
const BAR: usize = 24;

fn bar(bits: f64) -> String {
    let n = (bits.abs().round() as usize).min(BAR);
    if bits >= 0.0 {
        "█".repeat(n)
    } else {
        "░".repeat(n)
    }
}

/// A score as a waterfall: the prior, then every comparison's bits, then the total.
pub fn waterfall(spec: &Compiled, score: &Score, out: &mut String, indent: &str) {
    if score.terms.is_empty() {
        let _ = writeln!(
            out,
            "{indent}linked by a `same` override in the spec, whatever the score"
        );
        return;
    }
    let width = spec
        .matching
        .comparisons
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{indent}{:<width$}  {:<26} {:>7}",
        "prior",
        "",
        format!("{:+.2}", score.prior_bits),
    );
    for t in &score.terms {
        let c = &spec.matching.comparisons[t.comparison];
        let level = match t.similarity {
            Some(s) if t.level.is_some_and(|l| l > 0) => format!("{} ({s:.3})", t.label),
            _ => t.label.clone(),
        };
        let tf = if t.tf_bits != 0.0 {
            format!("  (term frequency {:+.2})", t.tf_bits)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{indent}{:<width$}  {:<26} {:>7}  {}{tf}",
            c.name,
            level,
            format!("{:+.2}", t.bits),
            bar(t.bits),
        );
    }
    let _ = writeln!(
        out,
        "{indent}{:<width$}  {:<26} {:>7}  → probability {:.4}",
        "total",
        "",
        format!("{:+.2}", score.bits()),
        score.probability
    );
}

/// The explanation of one golden record (the change at `index` of the plan). To explain many,
/// build one [`Explainer`]: this builds one for a single record.
pub fn record(spec: &Compiled, resolved: &Resolved, plan: &Plan, index: usize) -> String {
    Explainer::new(spec, resolved, plan).record(index)
}

/// What explaining golden records reads of the whole run, looked up once: the pairs to
/// review with their reasons, and each record's pairs considered and not linked. Explaining
/// every golden record then costs what they hold, not what the run holds.
pub struct Explainer<'a> {
    spec: &'a Compiled,
    resolved: &'a Resolved,
    plan: &'a Plan,
    reviews: Vec<crate::plan::ReviewItem>,
    /// The review item of each pair, either way round.
    review_of: HashMap<(Member, Member), usize>,
    /// Each record's rejected pairs, by index into the run's rejected pairs.
    rejected_of: HashMap<Member, Vec<usize>>,
}

impl<'a> Explainer<'a> {
    pub fn new(spec: &'a Compiled, resolved: &'a Resolved, plan: &'a Plan) -> Self {
        let addresses = crate::plan::cluster_addresses(resolved, plan);
        let reviews =
            crate::plan::review_items(spec, resolved, |c| addresses.get(c).cloned().flatten());
        let mut review_of = HashMap::default();
        for (i, r) in resolved.matches.review.iter().enumerate() {
            review_of.entry((r.record, r.to)).or_insert(i);
            review_of.entry((r.to, r.record)).or_insert(i);
        }
        let mut rejected_of: HashMap<Member, Vec<usize>> = HashMap::default();
        for (i, r) in resolved.matches.rejected.iter().enumerate() {
            rejected_of.entry(r.a).or_default().push(i);
            if r.b != r.a {
                rejected_of.entry(r.b).or_default().push(i);
            }
        }
        Self {
            spec,
            resolved,
            plan,
            reviews,
            review_of,
            rejected_of,
        }
    }

    /// The explanation of the golden record that is the change at `index` of the plan.
    pub fn record(&self, index: usize) -> String {
        explain_record(self, index)
    }
}

fn explain_record(ctx: &Explainer<'_>, index: usize) -> String {
    let (spec, resolved, plan) = (ctx.spec, ctx.resolved, ctx.plan);
    let mut out = String::new();
    let change = &plan.changes[index];
    let desired = &resolved.desired[index];
    let cluster = &resolved.matches.clusters[desired.cluster];
    let action = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated",
        Action::Delete => "will be deleted",
        Action::NoOp => "is up to date",
    };
    let _ = writeln!(out, "{} {action}", term(&plan.address(&change.address)));
    let _ = writeln!(out, "  members:");
    let address_field = spec.address_field;
    for &m in &cluster.members {
        let rec = &resolved.kept[m.source][m.index];
        let _ = writeln!(
            out,
            "    {:<24} {}",
            member_name(spec, resolved, m),
            safe::value(
                &rec.values[address_field],
                sensitive(spec, address_field),
                false
            )
        );
    }
    if cluster.links.is_empty() {
        let _ = writeln!(out, "  links: none (a record of its own)");
    }
    for l in &cluster.links {
        let _ = writeln!(
            out,
            "  link {} → {}  probability {:.4}",
            member_name(spec, resolved, l.record),
            member_name(spec, resolved, l.to),
            l.score.probability
        );
        waterfall(spec, &l.score, &mut out, "      ");
    }
    rejected_near(ctx, cluster, &mut out);
    // What the overrides changed here: records that came in, and records that left.
    let notes: Vec<&crate::plan::OverrideNote> = plan
        .overrides
        .iter()
        .filter(|n| {
            change.members.contains(&n.record)
                || n.was_with
                    .as_ref()
                    .is_some_and(|w| change.members.contains(w))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "  changed by `same` / `distinct`:");
        for n in notes {
            let _ = writeln!(
                out,
                "    {}",
                term(&super::override_note(n, |a| plan.address(a)))
            );
        }
    }
    let _ = writeln!(out, "  values:");
    let width = plan.fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (fi, (name, _)) in plan.fields.iter().enumerate() {
        let value = &desired.values[fi];
        let conflict = desired.conflict(fi);
        let from = match (desired.source_of(fi), conflict) {
            (Some(p), _) => format!("from {}", term(&p.to_string())),
            (None, Some(_)) => "from no member".to_string(),
            (None, None) => "no source has a value".to_string(),
        };
        let shown = if value.is_null() {
            "(empty)".to_string()
        } else {
            safe::value(value, sensitive(spec, fi), false)
        };
        let name = term(name);
        let rule = conflict.map_or_else(String::new, |c| {
            format!(
                " (rule: {})",
                term(&super::decision(c, |f| spec.fields[f].name.clone()))
            )
        });
        let _ = writeln!(out, "    {name:<width$} = {shown}  {from}{rule}");
        // The values the rule passed over, each with the record that held it.
        for lost in conflict.iter().flat_map(|c| &c.lost) {
            let member = desired
                .members
                .get(lost.member as usize)
                .map_or_else(String::new, |m| term(&m.to_string()).into_owned());
            let _ = writeln!(
                out,
                "    {:width$}   over {}  from {member}",
                "",
                safe::value(&lost.value, sensitive(spec, fi), false)
            );
        }
    }
    out
}

/// The pairs of a cluster's members considered and not linked, best first, each with why.
fn rejected_near(ctx: &Explainer<'_>, cluster: &crate::matching::Cluster, out: &mut String) {
    let (spec, resolved, plan) = (ctx.spec, ctx.resolved, ctx.plan);
    let reviews = &ctx.reviews;
    let in_cluster = |m: Member| cluster.members.contains(&m);
    let mut near: Vec<usize> = cluster
        .members
        .iter()
        .filter_map(|m| ctx.rejected_of.get(m))
        .flatten()
        .copied()
        .collect();
    near.sort_unstable();
    near.dedup();
    let mut rejected: Vec<_> = near
        .into_iter()
        .map(|i| &resolved.matches.rejected[i])
        .collect();
    rejected.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    if !rejected.is_empty() {
        let _ = writeln!(
            *out,
            "  considered and not linked (threshold {}):",
            spec.matching.threshold
        );
        for r in rejected.iter().take(REJECTED_SHOWN) {
            let (inside, outside) = if in_cluster(r.a) {
                (r.a, r.b)
            } else {
                (r.b, r.a)
            };
            let review = ctx.review_of.get(&(inside, outside)).copied();
            let refs = |m: Member| (m.source, resolved.kept[m.source][m.index].id.as_str());
            let apart = spec.matching.distinct.iter().find(|o| {
                let (a, b) = ((o.a.source, o.a.id.as_str()), (o.b.source, o.b.id.as_str()));
                (a, b) == (refs(inside), refs(outside)) || (b, a) == (refs(inside), refs(outside))
            });
            let why = match (review.and_then(|i| reviews.get(i)), apart) {
                (Some(x), _) => format!(
                    ": {}",
                    term(&super::review_reason(&x.reason, |a| plan.address(a)))
                ),
                (None, Some(o)) => format!(": kept apart by {}", term(&o.origin.to_string())),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                *out,
                "    {} ~ {}  probability {:.4}{why}",
                member_name(spec, resolved, inside),
                member_name(spec, resolved, outside),
                r.probability,
            );
        }
    }
}
