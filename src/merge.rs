//! Merge: each cluster becomes one golden record. Per field, a survivorship rule chooses the
//! value among the members' (by default the first non-empty value in priority order; per
//! field `priority` with its own source order, `most_recent`, `most_frequent`, `longest`,
//! `max`, `min` or `source`), and every value keeps its provenance (`source:record-id`). An
//! empty value never wins unless every member is empty (or, under `source`, that source has
//! none). Where members disagree, the golden record keeps which value won, by which rule, and
//! which values lost ([`Conflict`]). A value that failed its field type counts as empty; a
//! field left empty only because of such values is marked, so that the plan keeps what the
//! row holds rather than erasing it.

use std::cmp::Ordering;

pub use crate::spec::compiled::MergeRule as Rule;
use std::fmt;

use crate::collections::HashMap;
use crate::error::{SourceErrors, SourceProblem};
use crate::matching::Matches;
use crate::normalize::{Invalid, Record};
use crate::source;
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// A source record, named as `source:id` in plans.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SourceRef {
    pub source: String,
    pub id: String,
}

impl SourceRef {
    /// `source:id` (as the state table and the plans write it) back into its parts; text
    /// without a colon is a source with an empty id.
    pub fn parse(text: &str) -> SourceRef {
        match text.split_once(':') {
            Some((source, id)) => SourceRef {
                source: source.to_string(),
                id: id.to_string(),
            },
            None => SourceRef {
                source: text.to_string(),
                id: String::new(),
            },
        }
    }
}

impl SourceRef {
    /// Whether `text` is this reference as written (`source:id`, see the `Display` form),
    /// told without writing it: a plan compares a million of them with the state.
    pub fn is_written(&self, text: &str) -> bool {
        text.strip_prefix(self.source.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|id| id == self.id)
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.id)
    }
}

/// A golden record: the values the target row must have, and where each came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRecord {
    pub values: Vec<Value>,
    /// Per field: the member the value came from, by its place in `members` (`None` for an
    /// empty field).
    pub provenance: Vec<Option<u32>>,
    /// Every member of the cluster, highest priority first.
    pub members: Vec<SourceRef>,
    /// Index of the cluster in the match result.
    pub cluster: usize,
    /// Fields left empty only because every value the members had failed the field's type:
    /// an update keeps what the row holds in them.
    pub invalid_only: Vec<usize>,
    /// The fields the members disagreed on, in field order; shared with the plan's change
    /// rather than copied (a million golden records hold millions of them).
    pub conflicts: Conflicts,
}

impl DesiredRecord {
    /// The member field `f`'s value came from.
    pub fn source_of(&self, f: usize) -> Option<&SourceRef> {
        source_of(&self.provenance, &self.members, f)
    }

    /// What the members disagreed on in field `f`, if they did.
    pub fn conflict(&self, f: usize) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.field == f)
    }
}

/// The conflicts of one golden record. Empty lists share one allocation.
pub type Conflicts = std::sync::Arc<[Conflict]>;

/// The member (by place in `members`) that `provenance` names for field `f`.
pub fn source_of<'a>(
    provenance: &[Option<u32>],
    members: &'a [SourceRef],
    f: usize,
) -> Option<&'a SourceRef> {
    provenance
        .get(f)
        .copied()
        .flatten()
        .and_then(|m| members.get(m as usize))
}

/// The rule that chose a value among disagreeing members, as the golden record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Priority,
    /// `priority` with the field's own source order.
    Order,
    /// `most_recent`, by this field.
    MostRecent {
        by: usize,
    },
    MostFrequent,
    Longest,
    Max,
    Min,
    /// `source`, naming it.
    Source {
        source: String,
    },
}

impl Decision {
    /// The rule as the spec spells it (`most_recent`).
    pub fn code(&self) -> &'static str {
        match self {
            Decision::Priority | Decision::Order => "priority",
            Decision::MostRecent { .. } => "most_recent",
            Decision::MostFrequent => "most_frequent",
            Decision::Longest => "longest",
            Decision::Max => "max",
            Decision::Min => "min",
            Decision::Source { .. } => "source",
        }
    }
}

/// A field whose members held different values: the value kept, the rule that chose it, and
/// every value that lost with the member it came from. The member the kept value came from is
/// the field's provenance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    pub field: usize,
    pub rule: Decision,
    /// The rule found several different values equally good (as recent, as frequent, as
    /// long), and priority order chose among them.
    pub tie: bool,
    /// The value kept: empty only under `source`, when that source had none.
    pub value: Value,
    /// The values that lost, in member order; values equal to the one kept are not listed.
    pub lost: Vec<Lost>,
}

/// A value that lost, and the member (by its place in `members`) that held it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lost {
    pub member: u32,
    pub value: Value,
}

/// The member a rule chose for one field, and whether priority broke a tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub winner: Option<usize>,
    pub tie: bool,
}

/// Chooses field `f` among `records` (the members, highest priority first) by `rule`; `kind`
/// is the field's type (for `max` and `min`). An empty value never wins; ties go to the
/// member that comes first.
pub fn choose(rule: &Rule, kind: FieldType, records: &[&Record], f: usize) -> Choice {
    let value = |i: usize| &records[i].values[f];
    let present = |i: &usize| !value(*i).is_null();
    let first = |only: &dyn Fn(usize) -> bool| Choice {
        winner: (0..records.len()).filter(present).find(|&i| only(i)),
        tie: false,
    };
    match rule {
        Rule::Priority => Choice {
            winner: records.iter().position(|r| !r.values[f].is_null()),
            tie: false,
        },
        Rule::Source(s) => first(&|i| records[i].source == *s),
        Rule::Order(rank) => {
            // Priority within a source is member order; the field's order ranks sources.
            let place = |i: usize| rank.get(records[i].source).copied().unwrap_or(usize::MAX);
            let winner = (0..records.len()).filter(present).min_by_key(|&i| place(i));
            Choice { winner, tie: false }
        }
        Rule::MostRecent { by } => best(records, f, |a, b| {
            later(&records[a].values[*by], &records[b].values[*by])
        }),
        Rule::MostFrequent => {
            // Clusters are small (bounded by `max_cluster` per source): counting pairs is
            // cheaper than hashing.
            let count = |i: usize| (0..records.len()).filter(|&j| value(j) == value(i)).count();
            best(records, f, |a, b| count(a).cmp(&count(b)))
        }
        Rule::Longest => best(records, f, |a, b| length(value(a)).cmp(&length(value(b)))),
        Rule::Max => best(records, f, |a, b| order(kind, value(a), value(b))),
        Rule::Min => best(records, f, |a, b| order(kind, value(b), value(a))),
    }
}

/// The first non-empty member that no later one beats (`better(a, b)` is `Greater` when `a`
/// is better than `b`), and whether another member with a different value was as good.
fn best(records: &[&Record], f: usize, better: impl Fn(usize, usize) -> Ordering) -> Choice {
    let mut candidates = (0..records.len()).filter(|&i| !records[i].values[f].is_null());
    let Some(mut winner) = candidates.next() else {
        return Choice {
            winner: None,
            tie: false,
        };
    };
    for i in candidates {
        if better(i, winner) == Ordering::Greater {
            winner = i;
        }
    }
    let kept = &records[winner].values[f];
    let tie = (0..records.len()).any(|i| {
        let v = &records[i].values[f];
        i != winner && !v.is_null() && v != kept && better(i, winner) == Ordering::Equal
    });
    Choice {
        winner: Some(winner),
        tie,
    }
}

/// Text length in characters (other values by their written form).
fn length(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.chars().count(),
        other => other.to_string().chars().count(),
    }
}

/// Dates and timestamps in their canonical form (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`): a longer
/// year is later, then the text decides. An empty value is older than any date.
fn later(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => {
            let year = |s: &str| s.find('-').unwrap_or(s.len());
            year(x).cmp(&year(y)).then_with(|| x.cmp(y))
        }
        _ => a.cmp(b),
    }
}

/// Values of one field type in their natural order: numbers by size (decimals held as their
/// canonical text), dates and timestamps in time.
fn order(kind: FieldType, a: &Value, b: &Value) -> Ordering {
    match (kind, a, b) {
        (FieldType::Decimal, Value::Text(x), Value::Text(y)) => {
            crate::types::cmp_decimal(x, y).unwrap_or_else(|| x.cmp(y))
        }
        (FieldType::Date | FieldType::Timestamp, _, _) => later(a, b),
        _ => a.cmp(b),
    }
}

/// The decision a rule records, its settings named.
fn decision(spec: &Compiled, rule: &Rule) -> Decision {
    match rule {
        Rule::Priority => Decision::Priority,
        Rule::Order(_) => Decision::Order,
        Rule::MostRecent { by } => Decision::MostRecent { by: *by },
        Rule::MostFrequent => Decision::MostFrequent,
        Rule::Longest => Decision::Longest,
        Rule::Max => Decision::Max,
        Rule::Min => Decision::Min,
        Rule::Source(s) => Decision::Source {
            source: spec.sources[*s].name.clone(),
        },
    }
}

/// Merges every cluster. A golden record missing a required field is a problem naming its
/// members. `invalid` lists the values set aside as invalid (positions among `kept`).
pub fn merge(
    spec: &Compiled,
    kept: &[Vec<Record>],
    matches: &Matches,
    invalid: &[Invalid],
) -> Result<Vec<DesiredRecord>, SourceErrors> {
    use rayon::prelude::*;
    let invalid_at: HashMap<(usize, usize, usize), &Invalid> = invalid
        .iter()
        .map(|v| ((v.source, v.index, v.field), v))
        .collect();
    // Clusters merge independently, on every core; the few problems are put back in cluster
    // order.
    let problems = std::sync::Mutex::new(Vec::new());
    let out: Vec<DesiredRecord> = matches
        .clusters
        .par_iter()
        .enumerate()
        .map_init(Vec::new, |found, (ci, cluster)| {
            let mut mine = Vec::new();
            let d = merge_one(spec, kept, &invalid_at, (ci, cluster), found, &mut mine);
            if !mine.is_empty() {
                let mut all = problems.lock().unwrap_or_else(|e| e.into_inner());
                all.extend(mine.into_iter().map(|p| (ci, p)));
            }
            d
        })
        .collect();
    let mut problems = problems.into_inner().unwrap_or_else(|e| e.into_inner());
    // Stable: one cluster's problems keep their field order.
    problems.sort_by_key(|(ci, _)| *ci);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(SourceErrors {
            problems: problems.into_iter().map(|(_, p)| p).collect(),
        })
    }
}

/// The golden record of cluster `ci`, and any required field it leaves empty as a problem.
/// `found` is scratch space for its conflicts, reused from one cluster to the next.
fn merge_one(
    spec: &Compiled,
    kept: &[Vec<Record>],
    invalid_at: &HashMap<(usize, usize, usize), &Invalid>,
    (ci, cluster): (usize, &crate::matching::Cluster),
    found: &mut Vec<Conflict>,
    problems: &mut Vec<SourceProblem>,
) -> DesiredRecord {
    let priority = Rule::Priority;
    let mut members = cluster.members.clone();
    members.sort();
    let records: Vec<&Record> = members.iter().map(|m| &kept[m.source][m.index]).collect();
    let refs: Vec<SourceRef> = records
        .iter()
        .map(|r| SourceRef {
            source: spec.sources[r.source].name.clone(),
            id: r.id.clone(),
        })
        .collect();
    let mut values = Vec::with_capacity(spec.fields.len());
    let mut provenance = Vec::with_capacity(spec.fields.len());
    let mut invalid_only = Vec::new();
    for (fi, field) in spec.fields.iter().enumerate() {
        let rule = spec.merge.get(fi).unwrap_or(&priority);
        let choice = choose(rule, field.kind, &records, fi);
        let kept_value = match choice.winner {
            Some(m) => {
                values.push(records[m].values[fi].clone());
                provenance.push(Some(m as u32));
                &records[m].values[fi]
            }
            None => {
                // Under `source`, only that source's records could have given a value.
                let eligible = |m: &&crate::matching::Member| match rule {
                    Rule::Source(s) => m.source == *s,
                    _ => true,
                };
                let refused: Vec<&Invalid> = if invalid_at.is_empty() {
                    Vec::new()
                } else {
                    members
                        .iter()
                        .filter(eligible)
                        .filter_map(|m| invalid_at.get(&(m.source, m.index, fi)).copied())
                        .collect()
                };
                if !refused.is_empty() {
                    invalid_only.push(fi);
                }
                if field.required {
                    problems.push(required_problem(spec, rule, fi, &records, &refs, &refused));
                }
                values.push(Value::Null);
                provenance.push(None);
                &Value::Null
            }
        };
        if records.len() > 1 {
            let lost = lost(&records, fi, choice.winner);
            if !lost.is_empty() {
                found.push(Conflict {
                    field: fi,
                    rule: decision(spec, rule),
                    tie: choice.tie,
                    value: kept_value.clone(),
                    lost,
                });
            }
        }
    }
    DesiredRecord {
        values,
        provenance,
        members: refs,
        cluster: ci,
        invalid_only,
        conflicts: if found.is_empty() {
            Conflicts::default()
        } else {
            found.drain(..).collect()
        },
    }
}

/// The values that lost to the one `winner` holds in field `f` (or to an empty value, when
/// no member won): every other member's non-empty value that differs from it.
fn lost(records: &[&Record], f: usize, winner: Option<usize>) -> Vec<Lost> {
    let kept = winner.map_or(&Value::Null, |w| &records[w].values[f]);
    let lost = |m: usize| {
        let v = &records[m].values[f];
        Some(m) != winner && !v.is_null() && v != kept
    };
    // Most fields lose nothing: one pass finds that. The others usually lose one value; the
    // list is then allocated once, at its size.
    let n = records.len();
    let Some(first) = (0..n).position(lost) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(1 + (first + 1..n).filter(|&m| lost(m)).count());
    out.extend((first..n).filter(|&m| lost(m)).map(|m| Lost {
        member: m as u32,
        value: records[m].values[f].clone(),
    }));
    out
}

/// A required field the rule left empty: every member was empty (or, under `source`, that
/// source's records were), naming the members and the values refused as invalid.
fn required_problem(
    spec: &Compiled,
    rule: &Rule,
    fi: usize,
    records: &[&Record],
    refs: &[SourceRef],
    refused: &[&Invalid],
) -> SourceProblem {
    let field = &spec.fields[fi];
    let first = records[0];
    let source = &spec.sources[first.source];
    let members = refs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let invalid = refused
        .iter()
        .map(|v| {
            format!(
                "; {} of {}:{} is {}",
                v.shown(spec),
                spec.sources[v.source].name,
                v.id,
                v.reason
            )
        })
        .collect::<String>();
    let (message, help) = match rule {
        Rule::Source(s) => (
            format!(
                "required field `{}` takes its value from source `{}` only \
                 (`merge.fields.{}`), and no matched record of it has one ({members}){invalid}",
                field.name, spec.sources[*s].name, field.name
            ),
            Some(format!(
                "give `{}` a rule that may use other sources, or make it optional",
                field.name
            )),
        ),
        _ => (
            format!(
                "required field `{}` is empty in every matched record ({members}){invalid}",
                field.name
            ),
            None,
        ),
    };
    SourceProblem {
        source_name: source.name.clone(),
        file: source::describe(source),
        row: Some(format!("{} (id {})", first.row, first.id)),
        message,
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_told_from_its_written_form_as_writing_it_would() {
        let r = SourceRef {
            source: "crm".into(),
            id: "a:1".into(),
        };
        for text in [
            "crm:a:1", "crm:a:", "crm:a:12", "crm", "crm:", "cr:a:1", "crma:1", "",
        ] {
            assert_eq!(r.is_written(text), text == r.to_string(), "{text:?}");
        }
        let empty = SourceRef::parse("lonely");
        assert!(empty.is_written("lonely:"));
        assert!(!empty.is_written("lonely"));
    }

    /// One field's values, one member per (source rank, value); `None` is empty.
    fn members(values: &[(usize, Option<&str>)]) -> Vec<Record> {
        values
            .iter()
            .enumerate()
            .map(|(i, (source, v))| Record {
                source: *source,
                id: i.to_string(),
                row: format!("record {}", i + 1),
                values: vec![v.map_or(Value::Null, |t| Value::Text(t.into()))],
            })
            .collect()
    }

    /// The winner's place and whether priority broke a tie, for field 0 of `records`.
    fn pick(rule: Rule, kind: FieldType, records: &[Record]) -> (Option<usize>, bool) {
        let refs: Vec<&Record> = records.iter().collect();
        let c = choose(&rule, kind, &refs, 0);
        (c.winner, c.tie)
    }

    #[test]
    fn priority_takes_the_first_non_empty_value() {
        let r = members(&[(0, None), (1, Some("b")), (2, Some("c"))]);
        assert_eq!(pick(Rule::Priority, FieldType::Text, &r), (Some(1), false));
        let empty = members(&[(0, None), (1, None)]);
        assert_eq!(pick(Rule::Priority, FieldType::Text, &empty), (None, false));
    }

    #[test]
    fn a_fields_own_order_ranks_sources() {
        let r = members(&[(0, Some("a")), (1, Some("b")), (2, Some("c"))]);
        // Order [2, 0]: source 2 first, then 0, then the rest (1) in priority order.
        let order = Rule::Order(vec![1, 3, 0]);
        assert_eq!(pick(order.clone(), FieldType::Text, &r), (Some(2), false));
        let r = members(&[(0, Some("a")), (1, Some("b")), (2, None)]);
        assert_eq!(pick(order.clone(), FieldType::Text, &r), (Some(0), false));
        let r = members(&[(0, None), (1, Some("b")), (2, None)]);
        assert_eq!(pick(order, FieldType::Text, &r), (Some(1), false));
    }

    /// Records with a value (field 0) and a date (field 1).
    fn dated(rows: &[(Option<&str>, Option<&str>)]) -> Vec<Record> {
        rows.iter()
            .enumerate()
            .map(|(i, (v, d))| Record {
                source: i,
                id: i.to_string(),
                row: String::new(),
                values: vec![
                    v.map_or(Value::Null, |t| Value::Text(t.into())),
                    d.map_or(Value::Null, |t| Value::Text(t.into())),
                ],
            })
            .collect()
    }

    #[test]
    fn most_recent_takes_the_latest_dated_member() {
        let rule = || Rule::MostRecent { by: 1 };
        let r = dated(&[
            (Some("old"), Some("2024-01-10 00:00:00")),
            (Some("new"), Some("2024-03-01 08:00:00")),
            (Some("undated"), None),
        ]);
        assert_eq!(pick(rule(), FieldType::Text, &r), (Some(1), false));
        // The latest member with an empty value does not win; the next latest does.
        let r = dated(&[
            (Some("old"), Some("2024-01-10")),
            (None, Some("2024-03-01")),
            (Some("mid"), Some("2024-02-01")),
        ]);
        assert_eq!(pick(rule(), FieldType::Text, &r), (Some(2), false));
        // Equally recent, different values: priority breaks the tie.
        let r = dated(&[
            (Some("a"), Some("2024-03-01")),
            (Some("b"), Some("2024-03-01")),
        ]);
        assert_eq!(pick(rule(), FieldType::Text, &r), (Some(0), true));
        // No member has a date: all tie, priority decides.
        let r = dated(&[(Some("a"), None), (Some("b"), None)]);
        assert_eq!(pick(rule(), FieldType::Text, &r), (Some(0), true));
        // The same value twice is no tie.
        let r = dated(&[
            (Some("a"), Some("2024-03-01")),
            (Some("a"), Some("2024-03-01")),
        ]);
        assert_eq!(pick(rule(), FieldType::Text, &r), (Some(0), false));
        // A year of five digits is later than one of four.
        let r = dated(&[
            (Some("a"), Some("9999-12-31")),
            (Some("b"), Some("10000-01-01")),
        ]);
        assert_eq!(pick(rule(), FieldType::Text, &r), (Some(1), false));
    }

    #[test]
    fn most_frequent_counts_values() {
        let r = members(&[
            (0, Some("Pretoria")),
            (1, Some("Tshwane")),
            (2, Some("Tshwane")),
            (3, None),
        ]);
        assert_eq!(
            pick(Rule::MostFrequent, FieldType::Text, &r),
            (Some(1), false)
        );
        let tie = members(&[(0, None), (1, Some("x")), (2, Some("y"))]);
        assert_eq!(
            pick(Rule::MostFrequent, FieldType::Text, &tie),
            (Some(1), true)
        );
    }

    #[test]
    fn longest_counts_characters() {
        let r = members(&[(0, Some("Menlyn")), (1, Some("Menlyn Park")), (2, None)]);
        assert_eq!(pick(Rule::Longest, FieldType::Text, &r), (Some(1), false));
        // Characters, not bytes: "Zoë" and "Zoe" are as long.
        let tie = members(&[(0, Some("Zoë")), (1, Some("Zoe"))]);
        assert_eq!(pick(Rule::Longest, FieldType::Text, &tie), (Some(0), true));
    }

    #[test]
    fn max_and_min_compare_numbers_and_dates() {
        let ints = |xs: &[Option<i64>]| -> Vec<Record> {
            xs.iter()
                .enumerate()
                .map(|(i, x)| Record {
                    source: i,
                    id: i.to_string(),
                    row: String::new(),
                    values: vec![x.map_or(Value::Null, Value::Int)],
                })
                .collect()
        };
        let r = ints(&[Some(9), None, Some(12), Some(-3)]);
        assert_eq!(pick(Rule::Max, FieldType::Integer, &r), (Some(2), false));
        assert_eq!(pick(Rule::Min, FieldType::Integer, &r), (Some(3), false));
        // Decimals by value, not as text: "980" < "1200.5".
        let d = members(&[(0, Some("980")), (1, Some("1200.5")), (2, Some("-7.25"))]);
        assert_eq!(pick(Rule::Max, FieldType::Decimal, &d), (Some(1), false));
        assert_eq!(pick(Rule::Min, FieldType::Decimal, &d), (Some(2), false));
        let dates = members(&[
            (0, Some("2024-02-01 10:00:00")),
            (1, Some("2024-02-01 09:59:59.5")),
        ]);
        assert_eq!(
            pick(Rule::Max, FieldType::Timestamp, &dates),
            (Some(0), false)
        );
        assert_eq!(
            pick(Rule::Min, FieldType::Timestamp, &dates),
            (Some(1), false)
        );
        // Equal values are no tie.
        let same = ints(&[Some(5), Some(5)]);
        assert_eq!(pick(Rule::Max, FieldType::Integer, &same), (Some(0), false));
    }

    #[test]
    fn source_takes_only_that_source() {
        let r = members(&[(0, Some("a")), (1, None), (1, Some("b2")), (2, Some("c"))]);
        assert_eq!(pick(Rule::Source(1), FieldType::Text, &r), (Some(2), false));
        // That source has no value: the field is empty, whatever the others hold.
        let r = members(&[(0, Some("a")), (1, None)]);
        assert_eq!(pick(Rule::Source(1), FieldType::Text, &r), (None, false));
        let r = members(&[(0, Some("a"))]);
        assert_eq!(pick(Rule::Source(1), FieldType::Text, &r), (None, false));
    }

    fn spec(merge: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    \
                 name: {{ type: text, required: true }}\n    city: {{ type: text }}\n    \
                 seen: {{ type: date }}\nsources:\n  a:\n    id: id\n    inline: [{{ id: 1 }}]\n    \
                 fields: {{ name: name, city: city, seen: seen }}\n  b:\n    id: id\n    \
                 inline: [{{ id: 1 }}]\n    fields: {{ name: name, city: city, seen: seen }}\n\
                 match: {{ compare: {{ name: {{ method: exact }} }} }}\nmerge:\n{merge}"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    /// Records of sources `a` (rank 0) and `b` (rank 1), merged as one cluster.
    fn merged(
        spec: &Compiled,
        a: [Option<&str>; 3],
        b: [Option<&str>; 3],
    ) -> Result<DesiredRecord, SourceErrors> {
        let record = |source: usize, values: [Option<&str>; 3]| Record {
            source,
            id: "1".into(),
            row: "record 1".into(),
            values: values
                .iter()
                .map(|v| v.map_or(Value::Null, |t| Value::Text(t.into())))
                .collect(),
        };
        let kept = vec![vec![record(0, a)], vec![record(1, b)]];
        let matches = Matches {
            clusters: vec![crate::matching::Cluster {
                members: vec![
                    crate::matching::Member {
                        source: 1,
                        index: 0,
                    },
                    crate::matching::Member {
                        source: 0,
                        index: 0,
                    },
                ],
                links: Vec::new(),
            }],
            ..Matches::default()
        };
        merge(spec, &kept, &matches, &[]).map(|mut d| d.remove(0))
    }

    #[test]
    fn conflicts_keep_the_rule_the_winner_and_what_lost() {
        let spec = spec("  fields:\n    city: { rule: most_recent, by: seen }\n");
        let d = merged(
            &spec,
            [Some("Acme"), Some("Pretoria"), Some("2024-01-01")],
            [Some("Acme Ltd"), Some("Tshwane"), Some("2024-06-01")],
        )
        .unwrap();
        assert_eq!(d.values[1], Value::Text("Tshwane".into()));
        assert_eq!(d.source_of(1).unwrap().to_string(), "b:1");
        let city = d.conflict(1).expect("the cities differ");
        assert_eq!(city.rule, Decision::MostRecent { by: 2 });
        assert!(!city.tie);
        assert_eq!(
            city.lost,
            vec![Lost {
                member: 0,
                value: Value::Text("Pretoria".into())
            }]
        );
        let name = d.conflict(0).expect("the names differ");
        assert_eq!(name.rule, Decision::Priority);
        assert_eq!(name.value, Value::Text("Acme".into()));
        assert_eq!(name.lost[0].value, Value::Text("Acme Ltd".into()));
        assert_eq!(d.conflicts.len(), 3, "{:?}", d.conflicts);

        // Members that agree, or where one is empty, are no conflict.
        let d = merged(
            &spec,
            [Some("Acme"), None, Some("2024-01-01")],
            [Some("Acme"), Some("Tshwane"), None],
        )
        .unwrap();
        assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
    }

    #[test]
    fn the_source_rule_leaves_a_field_empty_and_says_what_lost() {
        let spec = spec("  fields:\n    city: { source: b }\n");
        let d = merged(
            &spec,
            [Some("Acme"), Some("Pretoria"), None],
            [Some("Acme"), None, None],
        )
        .unwrap();
        assert_eq!(d.values[1], Value::Null);
        let city = d.conflict(1).unwrap();
        assert_eq!(city.rule, Decision::Source { source: "b".into() });
        assert_eq!(city.value, Value::Null);
        assert_eq!(city.lost[0].member, 0);

        // A required field only one source may give, which has none, is a problem that says
        // so.
        let spec = self::spec("  fields:\n    name: { source: b }\n");
        let err = merged(&spec, [Some("Acme"), None, None], [None, None, None]).unwrap_err();
        assert!(
            err.problems[0]
                .message
                .contains("takes its value from source `b` only"),
            "{:?}",
            err.problems
        );
    }

    proptest::proptest! {
        /// Whatever the rule, the value kept is one of the members' non-empty values, and
        /// empty only when every member is (or, under `source`, every member of that source
        /// is); every other value, unless empty or equal to the one kept, is listed as lost.
        #[test]
        fn the_winner_is_a_members_value(
            values in proptest::collection::vec(
                (0usize..3, proptest::option::of(0i64..4), proptest::option::of(0i64..3)),
                1..6,
            ),
            rule in 0usize..8,
        ) {
            let records: Vec<Record> = values
                .iter()
                .enumerate()
                .map(|(i, (source, v, when))| Record {
                    source: *source,
                    id: i.to_string(),
                    row: String::new(),
                    values: vec![
                        v.map_or(Value::Null, Value::Int),
                        when.map_or(Value::Null, |d| Value::Text(format!("2024-01-0{}", d + 1))),
                    ],
                })
                .collect();
            let rule = match rule {
                0 => Rule::Priority,
                1 => Rule::Order(vec![2, 0, 1]),
                2 => Rule::MostRecent { by: 1 },
                3 => Rule::MostFrequent,
                4 => Rule::Longest,
                5 => Rule::Max,
                6 => Rule::Min,
                _ => Rule::Source(1),
            };
            let refs: Vec<&Record> = records.iter().collect();
            let choice = choose(&rule, FieldType::Integer, &refs, 0);
            let eligible = |r: &Record| match rule {
                Rule::Source(s) => r.source == s,
                _ => true,
            };
            match choice.winner {
                Some(w) => {
                    proptest::prop_assert!(!records[w].values[0].is_null());
                    proptest::prop_assert!(eligible(&records[w]));
                }
                None => proptest::prop_assert!(
                    records.iter().filter(|r| eligible(r)).all(|r| r.values[0].is_null())
                ),
            }
            let kept = choice.winner.map_or(Value::Null, |w| records[w].values[0].clone());
            let lost = lost(&refs, 0, choice.winner);
            for (m, r) in records.iter().enumerate() {
                let listed = lost.iter().any(|l| l.member as usize == m && l.value == r.values[0]);
                let differs = !r.values[0].is_null() && r.values[0] != kept;
                proptest::prop_assert_eq!(listed, differs, "member {}", m);
            }
        }
    }
}
