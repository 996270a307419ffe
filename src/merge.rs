//! Merge: each cluster becomes one golden record. Per field, the first non-empty value in
//! priority order survives, and every value keeps its provenance (`source:record-id`). A
//! value that failed its field type counts as empty; a field left empty only because of such
//! values is marked, so that the plan keeps what the row holds rather than erasing it.

use std::fmt;

use crate::collections::HashMap;
use crate::error::{SourceErrors, SourceProblem};
use crate::matching::Matches;
use crate::normalize::{Invalid, Record};
use crate::source;
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
}

impl DesiredRecord {
    /// The member field `f`'s value came from.
    pub fn source_of(&self, f: usize) -> Option<&SourceRef> {
        source_of(&self.provenance, &self.members, f)
    }
}

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

/// Merges every cluster. A golden record missing a required field is a problem naming its
/// members. `invalid` lists the values set aside as invalid (positions among `kept`).
pub fn merge(
    spec: &Compiled,
    kept: &[Vec<Record>],
    matches: &Matches,
    invalid: &[Invalid],
) -> Result<Vec<DesiredRecord>, SourceErrors> {
    let mut out = Vec::with_capacity(matches.clusters.len());
    let mut problems = Vec::new();
    let invalid_at: HashMap<(usize, usize, usize), &Invalid> = invalid
        .iter()
        .map(|v| ((v.source, v.index, v.field), v))
        .collect();
    for (ci, cluster) in matches.clusters.iter().enumerate() {
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
            match records.iter().position(|r| !r.values[fi].is_null()) {
                Some(m) => {
                    values.push(records[m].values[fi].clone());
                    provenance.push(Some(m as u32));
                }
                None => {
                    let refused: Vec<&Invalid> = if invalid_at.is_empty() {
                        Vec::new()
                    } else {
                        members
                            .iter()
                            .filter_map(|m| invalid_at.get(&(m.source, m.index, fi)).copied())
                            .collect()
                    };
                    if !refused.is_empty() {
                        invalid_only.push(fi);
                    }
                    if field.required {
                        let first = records[0];
                        let source = &spec.sources[first.source];
                        problems.push(SourceProblem {
                            source_name: source.name.clone(),
                            file: source::describe(source),
                            row: Some(format!("{} (id {})", first.row, first.id)),
                            message: format!(
                                "required field `{}` is empty in every matched record ({}){}",
                                field.name,
                                refs.iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                refused
                                    .iter()
                                    .map(|v| format!(
                                        "; {} of {}:{} is {}",
                                        v.shown(spec),
                                        spec.sources[v.source].name,
                                        v.id,
                                        v.reason
                                    ))
                                    .collect::<String>()
                            ),
                            help: None,
                        });
                    }
                    values.push(Value::Null);
                    provenance.push(None);
                }
            }
        }
        out.push(DesiredRecord {
            values,
            provenance,
            members: refs,
            cluster: ci,
            invalid_only,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(SourceErrors { problems })
    }
}
