//! The pairs a person is asked to decide on, as plain data: both records with their mapped
//! values, each comparison's evidence and the score. By default the pairs of the review band
//! (scored at or above `review` but not linked); on request also the weakest links and the
//! strongest pairs left unlinked, where a wrong decision of the matcher is most likely.
//!
//! Also what names a record beside its id in every listing ([`record_name`]). Pure: the
//! renderers ([`crate::render::review`]) and the command ([`crate::cli::review`]) do the rest.

use crate::collections::HashSet;
use crate::matching::{Matches, Member, Score, Scored};
use crate::merge::SourceRef;
use crate::normalize::Record;
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// A record by source index and id.
type RecordKey<'a> = (usize, &'a str);

/// Why a pair is put to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Scored in the review band, not linked.
    Band,
    /// Linked, with one of the lowest scores of all links.
    WeakLink,
    /// Not linked, with one of the highest scores of all pairs left apart.
    StrongNonLink,
}

impl Kind {
    /// The word the JSON output uses.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Band => "review",
            Kind::WeakLink => "weak_link",
            Kind::StrongNonLink => "strong_non_link",
        }
    }
}

/// One record of a pair, as a person sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    pub reference: SourceRef,
    /// What names the record ([`record_name`]); never a sensitive value.
    pub name: Option<String>,
    /// Values by target field, as the matcher compared them. Sensitive ones are masked by
    /// whatever shows them.
    pub values: Vec<Value>,
}

/// A pair to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub kind: Kind,
    /// The record of the higher-priority source (or the one a link joined).
    pub left: RecordView,
    pub right: RecordView,
    /// The score with every comparison's evidence.
    pub score: Score,
    /// Why it is listed, in words.
    pub reason: String,
}

impl Pair {
    /// The two records as `source:id`, in an order that does not depend on the sides.
    pub fn key(&self) -> (String, String) {
        let (a, b) = (
            self.left.reference.to_string(),
            self.right.reference.to_string(),
        );
        if a <= b { (a, b) } else { (b, a) }
    }
}

/// What names a record beside its id: the address field when it holds text, else the first
/// text field, else the values of the compared fields joined by ` / `. Sensitive fields are
/// never used. `None` when nothing is left.
pub fn record_name(spec: &Compiled, values: &[Value]) -> Option<String> {
    if let Some(name) = first_text(spec, values) {
        return Some(name.to_string());
    }
    let parts: Vec<String> = fallback_fields(spec)
        .filter_map(|f| match values.get(f) {
            None | Some(Value::Null) => None,
            Some(Value::Text(s)) => Some(s.clone()),
            Some(v) => Some(v.to_string()),
        })
        .filter(|s| !s.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" / "))
}

/// Whether field `f` may name a record: it is not sensitive.
fn shown(spec: &Compiled, f: usize) -> bool {
    !spec.sensitive.get(f).copied().unwrap_or(false)
}

/// The text field that names a record first ([`record_name`]): the address field when it is
/// text, else the first text field.
fn name_field(spec: &Compiled) -> Option<usize> {
    std::iter::once(spec.address_field)
        .chain(0..spec.fields.len())
        .find(|&f| {
            spec.fields
                .get(f)
                .is_some_and(|x| x.kind == FieldType::Text)
                && shown(spec, f)
        })
}

/// The record's name from its [`name_field`], when that holds text.
fn first_text<'v>(spec: &Compiled, values: &'v [Value]) -> Option<&'v str> {
    match values.get(name_field(spec)?) {
        Some(Value::Text(s)) if !s.trim().is_empty() => Some(s),
        _ => None,
    }
}

/// The fields a record without a [`first_text`] is named by: the compared ones, each once.
fn fallback_fields(spec: &Compiled) -> impl Iterator<Item = usize> + '_ {
    let mut seen = HashSet::default();
    spec.matching
        .comparisons
        .iter()
        .map(|c| c.field)
        .filter(move |&f| seen.insert(f) && shown(spec, f))
}

/// Leaves in `values` only what [`record_name`] reads of them, which then gives the same
/// name: for a plan that needs of its source records no more than their names, the rest is
/// memory (hundreds of MB at a million records).
pub fn keep_name_only(spec: &Compiled, values: &mut Vec<Value>) {
    let keep: Vec<usize> = match (first_text(spec, values), name_field(spec)) {
        (Some(_), Some(f)) => vec![f],
        _ => fallback_fields(spec).collect(),
    };
    for (f, v) in values.iter_mut().enumerate() {
        if !keep.contains(&f) {
            *v = Value::Null;
        }
    }
    while values.last() == Some(&Value::Null) {
        values.pop();
    }
    values.shrink_to_fit();
}

/// A record as shown in a pair.
pub fn view(spec: &Compiled, kept: &[Vec<Record>], m: Member) -> RecordView {
    let record = &kept[m.source][m.index];
    RecordView {
        reference: SourceRef {
            source: spec.sources[m.source].name.clone(),
            id: record.id.clone(),
        },
        name: record_name(spec, &record.values),
        values: record.values.clone(),
    }
}

/// The pairs to decide: every pair of the review band, then the `weakest` links with the
/// lowest scores (links the spec forced are left out), then the `strongest` pairs left
/// unlinked with the highest scores (pairs of the band, and pairs the spec keeps apart, are
/// not repeated). `kept` are the records as the matcher saw them; `word` words the reason
/// of a pair of the band.
pub fn pairs(
    spec: &Compiled,
    kept: &[Vec<Record>],
    scored: &Scored<'_>,
    matches: &Matches,
    weakest: usize,
    strongest: usize,
    word: &dyn Fn(&crate::matching::ReviewReason) -> String,
) -> Vec<Pair> {
    let view = |m: Member| view(spec, kept, m);
    let mut out: Vec<Pair> = matches
        .review
        .iter()
        .map(|r| Pair {
            kind: Kind::Band,
            left: view(r.to),
            right: view(r.record),
            score: r.score.clone(),
            reason: word(&r.reason),
        })
        .collect();

    let mut links: Vec<&crate::matching::Link> = matches
        .clusters
        .iter()
        .flat_map(|c| &c.links)
        .filter(|l| !l.forced)
        .collect();
    links.sort_by(|a, b| a.score.probability.total_cmp(&b.score.probability));
    out.extend(links.into_iter().take(weakest).map(|l| Pair {
        kind: Kind::WeakLink,
        left: view(l.to),
        right: view(l.record),
        score: l.score.clone(),
        reason: format!(
            "linked: at or above the threshold ({}), among the lowest scores of all links",
            spec.matching.threshold
        ),
    }));

    if strongest > 0 {
        let unordered = |a: Member, b: Member| if a <= b { (a, b) } else { (b, a) };
        let in_band: HashSet<(Member, Member)> = matches
            .review
            .iter()
            .map(|r| unordered(r.record, r.to))
            .collect();
        let reference = |m: Member| (m.source, kept[m.source][m.index].id.as_str());
        let kept_apart: HashSet<(RecordKey<'_>, RecordKey<'_>)> = spec
            .matching
            .distinct
            .iter()
            .flat_map(|o| {
                let (a, b) = ((o.a.source, o.a.id.as_str()), (o.b.source, o.b.id.as_str()));
                [(a, b), (b, a)]
            })
            .collect();
        let mut rejected: Vec<&crate::matching::Rejected> = matches
            .rejected
            .iter()
            .filter(|r| !in_band.contains(&unordered(r.a, r.b)))
            .filter(|r| !kept_apart.contains(&(reference(r.a), reference(r.b))))
            .collect();
        rejected.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        let global = |m: Member| scored.flat.offsets[m.source] + m.index;
        out.extend(rejected.into_iter().take(strongest).map(|r| {
            let (left, right) = if r.a <= r.b { (r.a, r.b) } else { (r.b, r.a) };
            Pair {
                kind: Kind::StrongNonLink,
                left: view(left),
                right: view(right),
                score: scored.score(global(left), global(right)),
                reason: format!(
                    "not linked, though among the highest scores of the pairs left apart \
                     (threshold {})",
                    spec.matching.threshold
                ),
            }
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fields: &str, compare: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n{fields}\
                 sources:\n  s:\n    id: id\n    inline: [{{ id: 1, n: x }}]\n    fields: {{ name: n }}\n\
                 match:\n  compare:\n{compare}"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    #[test]
    fn a_record_keeping_its_name_only_is_named_as_before() {
        let spec = spec(
            "    code: { type: integer }\n    name: { type: text }\n    email: { type: email }\n    \
             city: { type: text }\n",
            "    email: { method: exact }\n    code: { method: exact }\n",
        );
        let text = |s: &str| Value::Text(s.into());
        let cases = [
            vec![
                Value::Int(7),
                text("Acme"),
                text("a@acme.example"),
                text("Durban"),
            ],
            // No name: the compared fields name it, and only they are kept.
            vec![
                Value::Int(7),
                Value::Null,
                text("a@acme.example"),
                text("Durban"),
            ],
            vec![Value::Int(7), text("  "), Value::Null, text("Durban")],
            vec![Value::Null, Value::Null, Value::Null, text("Durban")],
        ];
        let kept_len = [2, 3, 1, 0];
        // Trailing empty values go: a missing value names nothing either.
        for (values, len) in cases.into_iter().zip(kept_len) {
            let mut shed = values.clone();
            keep_name_only(&spec, &mut shed);
            assert_eq!(record_name(&spec, &shed), record_name(&spec, &values));
            assert_eq!(shed.len(), len, "{values:?} kept {shed:?}");
        }
        let mut named = vec![
            Value::Int(7),
            text("Acme"),
            text("a@x.example"),
            text("Durban"),
        ];
        keep_name_only(&spec, &mut named);
        assert_eq!(named, [Value::Null, text("Acme")], "the name alone is kept");
    }
}
