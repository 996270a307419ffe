//! The plan: desired records against the rows the database holds now. Pure data in, a
//! [`Plan`] out; renderers read it, `apply` executes it.
//!
//! Each desired record gets a stable address and is paired with a row: first by the state
//! table (rows this tool manages), then by the natural key, then by the matcher, so that an
//! existing row is adopted rather than duplicated. The pairing decides the action: create,
//! update (changed fields only) or no-op, each with its reason.

pub mod address;
pub mod decided;
pub mod diff;
pub mod file;
pub mod guard;
pub mod multi;
pub mod schema;
pub mod shortcut;

use serde::{Deserialize, Serialize};

use crate::exclude::Excluded;
use crate::fingerprint::value_print;
use crate::matching::{Effect, Matcher, Member};
use crate::merge::SourceRef;
use crate::pipeline::Resolved;
use crate::spec::compiled::{Compiled, MatchConfig, ModelOrigin, Origin, SoftDelete};
use crate::state::{CurrentState, key_text};
use crate::value::Value;

/// Choices made for one run, on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Delete managed rows whose record left every source, whatever `on_missing` says.
    pub prune: bool,
    /// Go on with a plan that deletes more than `max_delete`, or after a source came back
    /// empty.
    pub allow_mass_delete: bool,
    /// Apply updates that replace everything a row is known by.
    #[serde(default)]
    pub allow_replace: bool,
}

/// What will happen to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Action {
    #[serde(rename = "create")]
    Create,
    #[serde(rename = "update")]
    Update,
    #[serde(rename = "delete")]
    Delete,
    #[serde(rename = "no-op")]
    NoOp,
}

/// Why an action is planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reason {
    /// No row holds this record yet.
    New,
    /// The row this tool created was deleted outside it.
    Vanished,
    /// The sources changed since the last apply.
    SourceChanged,
    /// The row holds what was applied, and the spec maps fields to columns the apply adds
    /// to the table: only those are filled.
    NewColumn,
    /// The row was changed outside reconcile since the last apply; these fields differ from
    /// what was applied.
    Drift { fields: Vec<usize> },
    /// An existing row not yet managed, found by the natural key.
    AdoptByKey,
    /// An existing row not yet managed, found by the matcher.
    AdoptByMatch { score: f64 },
    /// Nothing to do.
    UpToDate,
    /// The row's record left every source; `on_missing: delete` or `--prune` deletes it.
    Missing,
    /// The row's record left every source; `on_missing: soft_delete` marks it.
    MissingSoft,
    /// The row holds the soft-delete value, and its record is in the sources again: the
    /// soft-delete column is cleared.
    Restored,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The key inside `resource["…"]`.
    pub address: String,
    pub action: Action,
    pub reason: Reason,
    /// The row's primary key, when a row exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_key: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
    /// Field indexes whose value changes.
    pub changed: Vec<usize>,
    /// Per field: the member the value came from, by its place in `members`.
    pub provenance: Vec<Option<u32>>,
    pub members: Vec<SourceRef>,
    /// Per member (in the order of `members`): what names the record beside its id
    /// ([`crate::review::record_name`]); never a sensitive value. Empty when the plan was made
    /// without reading the sources, or saved by an older version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<Option<String>>,
    /// The fields the members disagreed on: the value kept, by which rule, and the values
    /// that lost. A saved plan keeps them, so that `reconcile show` prints what `plan` did.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        with = "conflict_list"
    )]
    pub conflicts: crate::merge::Conflicts,
    /// The state table entry must be written (new, adopted, or its members changed).
    pub write_state: bool,
    /// An update that changes every field the row is known by (see [`replaces_identity`]):
    /// shown apart, counted with deletes by the guards, and applied only when confirmed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces: bool,
}

impl Change {
    /// The member field `f`'s value came from, when the plan knows it.
    pub fn source_of(&self, f: usize) -> Option<&SourceRef> {
        crate::merge::source_of(&self.provenance, &self.members, f)
    }

    /// What names member `m` (by its place in `members`), when the plan knows it.
    pub fn name_of(&self, m: usize) -> Option<&str> {
        self.names.get(m).and_then(Option::as_deref)
    }

    /// What the members disagreed on in field `f`, if they did.
    pub fn conflict(&self, f: usize) -> Option<&crate::merge::Conflict> {
        self.conflicts.iter().find(|c| c.field == f)
    }
}

/// A change's conflicts as a JSON list (serde reads and writes `Arc<[T]>` only with a feature
/// the rest of the crate does not need).
mod conflict_list {
    use serde::{Deserialize as _, Deserializer, Serializer};

    use crate::merge::{Conflict, Conflicts};

    pub(super) fn serialize<S: Serializer>(list: &Conflicts, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Conflicts, D::Error> {
        let list = Vec::<Conflict>::deserialize(d)?;
        Ok(if list.is_empty() {
            Conflicts::default()
        } else {
            list.into()
        })
    }
}

/// A managed row whose record left every source; kept by `on_missing: keep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    pub address: String,
    pub row_key: String,
    pub members: Vec<String>,
    /// What names the row beside its key ([`crate::review::record_name`] of what it holds);
    /// never a sensitive value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A pair listed for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub left: SourceRef,
    pub right: SourceRef,
    pub score: f64,
    pub reason: ReviewReason,
    /// What names each record beside its id ([`crate::review::record_name`]); never a
    /// sensitive value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right_name: Option<String>,
}

/// Why a pair listed for review was not linked: the setting or the record that decided. The
/// views word it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Scored at or above `match.review`, below `match.threshold`.
    ReviewBand { review: f64, threshold: f64 },
    /// Above the threshold, but the group would have grown beyond `match.max_cluster`.
    MaxCluster { max: usize },
    /// Above the threshold, but the record linked to a better match: `linked`, in the golden
    /// record at `address`, at `score`.
    BetterMatch {
        linked: SourceRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        score: f64,
    },
    /// Above the threshold, but two records of one source at different addresses: one list
    /// keeps one row per place.
    OtherPlace,
    /// Above the threshold, but `left`, in one group, and `right`, in the other, have fields
    /// that on balance count against one entity.
    Against { left: SourceRef, right: SourceRef },
    /// Above the threshold, but the golden record would hold `left` and `right`, at two
    /// house numbers, who do not match each other.
    TwoPlaces { left: SourceRef, right: SourceRef },
    /// Above the threshold, but the other record's golden record already holds `taken`, of
    /// the same source, linked to `to`: one record per source in each.
    OneToOne { taken: SourceRef, to: SourceRef },
    /// As an older version worded it, in a plan or an apply it recorded.
    #[serde(untagged)]
    Worded(String),
}

impl ReviewReason {
    /// The reason of a pair matching left apart, records named and golden records addressed.
    pub fn of(
        reason: &crate::matching::ReviewReason,
        name_of: impl Fn(Member) -> SourceRef,
        address_of: impl Fn(usize) -> Option<String>,
    ) -> ReviewReason {
        use crate::matching::ReviewReason as R;
        match *reason {
            R::ReviewBand { review, threshold } => ReviewReason::ReviewBand { review, threshold },
            R::MaxCluster { max } => ReviewReason::MaxCluster { max },
            R::BetterMatch {
                linked,
                cluster,
                score,
            } => ReviewReason::BetterMatch {
                linked: name_of(linked),
                address: address_of(cluster),
                score,
            },
            R::OtherPlace => ReviewReason::OtherPlace,
            R::Against { left, right } => ReviewReason::Against {
                left: name_of(left),
                right: name_of(right),
            },
            R::TwoPlaces { left, right } => ReviewReason::TwoPlaces {
                left: name_of(left),
                right: name_of(right),
            },
            R::OneToOne { taken, to } => ReviewReason::OneToOne {
                taken: name_of(taken),
                to: name_of(to),
            },
        }
    }

    /// A short code for machines: `review_band`, `max_cluster`, `better_match`,
    /// `other_place`, `against`, `two_places`, `one_to_one`, or `other` for a reason an
    /// older version worded.
    pub fn code(&self) -> &'static str {
        match self {
            ReviewReason::ReviewBand { .. } => "review_band",
            ReviewReason::MaxCluster { .. } => "max_cluster",
            ReviewReason::BetterMatch { .. } => "better_match",
            ReviewReason::OtherPlace => "other_place",
            ReviewReason::Against { .. } => "against",
            ReviewReason::TwoPlaces { .. } => "two_places",
            ReviewReason::OneToOne { .. } => "one_to_one",
            ReviewReason::Worded(_) => "other",
        }
    }
}

/// What a `same` or `distinct` pair changed in the matching, for one record, against
/// matching without any override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideNote {
    /// Where the pair was written.
    pub origin: Origin,
    pub record: SourceRef,
    /// The golden record it is in now (the key inside `resource["…"]`).
    pub address: String,
    /// The highest-priority record it was grouped with without overrides; none when it was
    /// on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was_with: Option<SourceRef>,
    /// After a `distinct` split its group: the record it linked to by score instead, a link
    /// nobody decided on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instead: Option<Instead>,
}

/// The link a record made after a `distinct` split its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instead {
    pub to: SourceRef,
    pub score: f64,
}

/// The notes of a matching run's override effects, records named and golden records
/// addressed (`address_of` gives a cluster's address).
pub fn override_notes(
    spec: &Compiled,
    resolved: &Resolved,
    address_of: impl Fn(usize) -> Option<String>,
) -> Vec<OverrideNote> {
    let name_of = |m: Member| SourceRef {
        source: spec.sources[m.source].name.clone(),
        id: resolved.kept[m.source][m.index].id.clone(),
    };
    resolved
        .matches
        .overrides
        .iter()
        .map(|e| OverrideNote {
            origin: e.origin.clone(),
            record: name_of(e.record),
            address: address_of(e.cluster).unwrap_or_default(),
            was_with: e.was_with.map(name_of),
            instead: match e.effect {
                Effect::Moved => None,
                Effect::LinkedInstead { to, score } => Some(Instead {
                    to: name_of(to),
                    score,
                }),
            },
        })
        .collect()
}

/// The address of each cluster's golden record in `plan`, made from `resolved`: its first
/// changes are the golden records, in order.
pub fn cluster_addresses(resolved: &Resolved, plan: &Plan) -> Vec<Option<String>> {
    let mut out = vec![None; resolved.matches.clusters.len()];
    for (d, c) in resolved.desired.iter().zip(&plan.changes) {
        if let Some(slot) = out.get_mut(d.cluster) {
            *slot = Some(c.address.clone());
        }
    }
    out
}

/// Review items for a matching run's pairs left apart, in the same order.
pub fn review_items(
    spec: &Compiled,
    resolved: &Resolved,
    address_of: impl Fn(usize) -> Option<String>,
) -> Vec<ReviewItem> {
    let name_of = |m: Member| SourceRef {
        source: spec.sources[m.source].name.clone(),
        id: resolved.kept[m.source][m.index].id.clone(),
    };
    let name_shown =
        |m: Member| crate::review::record_name(spec, &resolved.kept[m.source][m.index].values);
    resolved
        .matches
        .review
        .iter()
        .map(|r| ReviewItem {
            left: name_of(r.to),
            right: name_of(r.record),
            score: r.score.probability,
            reason: ReviewReason::of(&r.reason, name_of, &address_of),
            left_name: name_shown(r.to),
            right_name: name_shown(r.record),
        })
        .collect()
}

/// An excluded record, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExcludedItem {
    pub record: SourceRef,
    pub rule: String,
    /// What names the record beside its id ([`crate::review::record_name`]); never a
    /// sensitive value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A source value that failed its field type, listed and left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidItem {
    pub record: SourceRef,
    /// Where the record is in its source (`line 14`).
    pub row: String,
    /// Index of the field.
    pub field: usize,
    /// The value as the source wrote it; for a sensitive field, the mask, so that a plan saved
    /// or recorded never holds it.
    pub value: String,
    /// Why it was refused (`not a phone number ...`).
    pub reason: String,
}

impl InvalidItem {
    /// From a value the pipeline set aside.
    pub fn of(spec: &Compiled, v: &crate::normalize::Invalid) -> InvalidItem {
        let sensitive = spec.sensitive.get(v.field).copied().unwrap_or(false);
        InvalidItem {
            record: SourceRef {
                source: spec.sources[v.source].name.clone(),
                id: v.id.clone(),
            },
            row: v.row.clone(),
            field: v.field,
            value: if sensitive {
                crate::value::MASK.to_string()
            } else {
                v.text.clone()
            },
            reason: v.reason.clone(),
        }
    }
}

/// How records were matched: the comparisons used and where they came from, so that a plan
/// made with comparisons derived from the field types, or with matching off, says so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchingModel {
    pub origin: ModelOrigin,
    /// `(field, method)` per comparison, in order.
    pub comparisons: Vec<(String, String)>,
}

impl MatchingModel {
    pub fn of(config: &MatchConfig) -> MatchingModel {
        MatchingModel {
            origin: config.origin,
            comparisons: config
                .comparisons
                .iter()
                .map(|c| (c.name.clone(), c.method.name()))
                .collect(),
        }
    }
}

/// Strict mode for a plan made without resolving (the no-change shortcut, a saved plan):
/// the invalid values it lists are errors, worded as when resolving.
pub fn strict(spec: &Compiled, plan: &Plan) -> crate::error::Result<()> {
    if !spec.strict || plan.invalid.is_empty() {
        return Ok(());
    }
    let problems = plan
        .invalid
        .iter()
        .map(|v| {
            let source = spec.sources.iter().find(|s| s.name == v.record.source);
            let masked = plan.sensitive.get(v.field).copied().unwrap_or(false);
            crate::error::SourceProblem {
                source_name: v.record.source.clone(),
                file: source.map(crate::source::describe).unwrap_or_default(),
                row: Some(format!("{} (id {})", v.row, v.record.id)),
                message: format!(
                    "field `{}`: {} is {}",
                    plan.fields.get(v.field).map_or("?", |f| f.0.as_str()),
                    if masked {
                        v.value.clone()
                    } else {
                        format!("{:?}", v.value)
                    },
                    v.reason
                ),
                help: None,
            }
        })
        .collect();
    Err(crate::error::InvalidValues { problems }.into())
}

/// The whole plan for one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub resource: String,
    pub table: String,
    /// Field names and their columns, in order.
    pub fields: Vec<(String, String)>,
    /// The target table does not exist and will be created.
    pub create_table: bool,
    /// What the plan does to the table's structure (columns to add, the constraints of a
    /// table to create) and notes on it; empty in plans saved by older versions.
    #[serde(default)]
    pub schema: schema::Schema,
    #[serde(deserialize_with = "file::in_chunks")]
    pub changes: Vec<Change>,
    pub missing: Vec<Missing>,
    pub excluded: Vec<ExcludedItem>,
    /// Source values that failed their field type, left out.
    #[serde(default)]
    pub invalid: Vec<InvalidItem>,
    pub review: Vec<ReviewItem>,
    /// What each `same` / `distinct` pair changed in the matching (absent from plans saved
    /// by older versions).
    #[serde(default)]
    pub overrides: Vec<OverrideNote>,
    /// Fingerprint of everything read from the database.
    pub fingerprint: String,
    /// Number of rows the table holds now.
    pub rows_read: usize,
    /// Per field: values are masked when the plan is shown.
    #[serde(default)]
    pub sensitive: Vec<bool>,
    /// The column and value a soft delete writes.
    #[serde(default)]
    pub soft_delete: Option<SoftDelete>,
    /// A fingerprint of each row and state entry read, so a stale plan can name what changed.
    #[serde(default)]
    pub read: Prints,
    /// The inputs fingerprint the plan was made from ([`shortcut::inputs_fingerprint`]);
    /// apply records it so that the next plan may skip resolving. `None` when the plan
    /// cannot be fingerprinted (several resources together, `--target`, a query source).
    #[serde(default)]
    pub inputs: Option<String>,
    /// Set when the plan was made without resolving the sources, because nothing changed
    /// since the last apply.
    #[serde(default)]
    pub shortcut: Option<shortcut::Shortcut>,
    /// How records were matched.
    #[serde(default)]
    pub matching: MatchingModel,
    /// The prints of what the writes rest on, which an apply reads back instead of the whole
    /// table; `None` when it must read the whole table (and for plans saved by older
    /// versions).
    #[serde(default)]
    pub decided: Option<decided::Decided>,
    /// The rows the plan read, summed by their canonical prints, from which an apply tells
    /// the sum of the rows it leaves; `None` where it cannot ([`decided::row_sums`]).
    #[serde(default)]
    pub row_sums: Option<decided::RowSums>,
    /// Records up to date that the plan counts but does not hold: a saved plan keeps only
    /// the changes that write something, and its counts apart.
    #[serde(default, skip_serializing)]
    pub unlisted: usize,
    /// The rows (indices into the rows the plan read) held by the records up to date that
    /// the plan counts in `unlisted` but does not hold, when it was made from the sources:
    /// the guard on `target.key` still sees their keys.
    #[serde(skip)]
    pub unlisted_rows: Vec<usize>,
}

/// The fingerprint of one thing a plan read: a row of the table or an entry of the state
/// table. Short hashes, made to tell what changed, not to prove that nothing did (the plan's
/// `fingerprint` does that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPrint {
    /// `row:<primary key>` or `state:<address>`.
    pub id: String,
    /// For a row, 8 hex digits per field, in field order; for a state entry, 16 hex digits.
    pub hash: String,
}

/// The fingerprints of what a plan read. A saved plan keeps them as the file's JSON text,
/// taken apart only when the plan turns out stale: a million-row table has two million of
/// them, parsing them took a second, and a plan that applies needs none.
#[derive(Debug, Clone)]
pub enum Prints {
    List(Vec<RowPrint>),
    Json(Box<serde_json::value::RawValue>),
}

impl Default for Prints {
    fn default() -> Self {
        Prints::List(Vec::new())
    }
}

impl From<Vec<RowPrint>> for Prints {
    fn from(list: Vec<RowPrint>) -> Self {
        Prints::List(list)
    }
}

impl Prints {
    /// The fingerprints, parsed when they are still text. Text that is not a list of them
    /// (a saved plan edited by hand) gives none: a stale plan is then refused without
    /// naming the rows that changed.
    pub fn list(&self) -> std::borrow::Cow<'_, [RowPrint]> {
        match self {
            Prints::List(list) => std::borrow::Cow::Borrowed(list),
            Prints::Json(text) => {
                std::borrow::Cow::Owned(serde_json::from_str(text.get()).unwrap_or_default())
            }
        }
    }
}

impl PartialEq for Prints {
    fn eq(&self, other: &Self) -> bool {
        self.list() == other.list()
    }
}

impl Serialize for Prints {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Prints::List(list) => list.serialize(s),
            Prints::Json(text) => text.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Prints {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Box::<serde_json::value::RawValue>::deserialize(d)?;
        if !text.get().starts_with('[') {
            return Err(serde::de::Error::custom(
                "`read` must be a list of fingerprints",
            ));
        }
        Ok(Prints::Json(text))
    }
}

/// The fingerprints of everything in `current`.
pub fn row_prints(current: &CurrentState) -> Vec<RowPrint> {
    let mut out: Vec<RowPrint> = current.rows.iter().map(table_row_print).collect();
    out.extend(current.state.iter().map(state_row_print));
    out
}

/// The fingerprint of a row of the table: 8 hex digits per field.
pub fn table_row_print(r: &crate::state::CurrentRow) -> RowPrint {
    use std::fmt::Write as _;
    let mut hash = String::with_capacity(8 * r.values.len());
    for v in &r.values {
        let _ = write!(hash, "{:08x}", value_print(v) as u32);
    }
    RowPrint {
        id: format!("row:{}", key_text(&r.key)),
        hash,
    }
}

/// The fingerprint of a state entry: 16 hex digits.
pub fn state_row_print(s: &crate::state::StateRow) -> RowPrint {
    RowPrint {
        id: format!("state:{}", s.address),
        hash: format!(
            "{:016x}",
            value_print(&Value::Text(format!(
                "{}\u{0}{}\u{0}{}",
                s.row_key,
                s.members.join(","),
                s.hash
            )))
        ),
    }
}

/// Counts per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    /// Updates, replacements included.
    pub update: usize,
    pub delete: usize,
    pub no_op: usize,
    /// Updates that replace everything a row is known by.
    pub replace: usize,
    /// Columns added to the existing table.
    pub add_column: usize,
}

impl Plan {
    /// A plan of `spec` that changes nothing and has read nothing: what the spec alone says
    /// (resource, table, fields, sensitive fields, soft deletes, the matching model).
    pub fn of_spec(spec: &Compiled) -> Plan {
        Plan {
            resource: spec.resource.clone(),
            table: spec.table.clone(),
            fields: spec
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.column.clone()))
                .collect(),
            create_table: false,
            schema: schema::Schema::default(),
            changes: Vec::new(),
            missing: Vec::new(),
            excluded: Vec::new(),
            invalid: Vec::new(),
            review: Vec::new(),
            fingerprint: String::new(),
            rows_read: 0,
            sensitive: spec.sensitive.clone(),
            soft_delete: spec.soft_delete.clone(),
            overrides: Vec::new(),
            read: Prints::default(),
            decided: None,
            row_sums: None,
            inputs: None,
            shortcut: None,
            matching: MatchingModel::of(&spec.matching),
            unlisted: 0,
            unlisted_rows: Vec::new(),
        }
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => {
                    s.update += 1;
                    s.replace += usize::from(c.replaces);
                }
                Action::Delete => s.delete += 1,
                Action::NoOp => s.no_op += 1,
            }
        }
        s.no_op += self.shortcut.as_ref().map_or(0, |q| q.unlisted) + self.unlisted;
        s.add_column = self.schema.add_columns.len();
        s
    }

    /// True when applying would change the table (state-only bookkeeping does not count).
    pub fn has_changes(&self) -> bool {
        self.create_table
            || self.schema.alters()
            || self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    /// Whether apply has anything to write, bookkeeping included.
    pub fn has_writes(&self) -> bool {
        self.has_changes() || self.changes.iter().any(|c| c.write_state)
    }

    pub fn address(&self, key: &str) -> String {
        address::display(&self.resource, key)
    }
}

/// The fields a row is known by: the compared fields and `target.key`; the address field
/// when there are none.
pub fn identity_fields(spec: &Compiled) -> Vec<usize> {
    let mut out: Vec<usize> = spec.matching.comparisons.iter().map(|c| c.field).collect();
    out.extend(spec.key);
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        out.push(spec.address_field);
    }
    out
}

/// Whether writing `after` over `before` replaces everything the row is known by: the row
/// holds at least two of the `identity` fields, and every one it holds would change (to
/// another value or to nothing). Such an update is far more likely a record that took over
/// another's row (an id reused, a list re-sorted under row-number ids) than an edit, so it is
/// shown as a replacement and written only when confirmed. A row known by one value alone
/// (a name) is renamed, not replaced: a rename is the normal update.
pub fn replaces_identity(identity: &[usize], before: &[Value], after: &[Value]) -> bool {
    let held: Vec<usize> = identity
        .iter()
        .copied()
        .filter(|&f| !before[f].is_null())
        .collect();
    held.len() >= 2 && held.iter().all(|&f| after[f] != before[f])
}

/// Gives the changes of the golden records (the first ones, in the order of
/// `resolved.desired`, whose clusters are `clusters`) what names each member beside its id.
fn name_members(spec: &Compiled, resolved: &Resolved, clusters: &[usize], changes: &mut [Change]) {
    for (c, &d) in changes.iter_mut().zip(clusters) {
        let Some(cluster) = resolved.matches.clusters.get(d) else {
            continue;
        };
        // Members in the order the golden record lists them.
        let mut members = cluster.members.clone();
        members.sort();
        c.names = members
            .iter()
            .map(|m| crate::review::record_name(spec, &resolved.kept[m.source][m.index].values))
            .collect();
    }
}

/// Builds the plan from the resolved desired state and what the database holds, with the
/// default options.
pub fn plan(spec: &Compiled, resolved: &Resolved, current: &CurrentState) -> Plan {
    plan_with(spec, resolved, current, Options::default())
}

/// Builds the plan from the resolved desired state and what the database holds.
pub fn plan_with(
    spec: &Compiled,
    resolved: &Resolved,
    current: &CurrentState,
    options: Options,
) -> Plan {
    build(
        spec,
        resolved,
        diff::Golden::Shared(&resolved.desired),
        current,
        options,
        true,
        None,
    )
}

/// [`plan_with`], moving the golden records into the plan's changes rather than copying
/// them, for a caller that needs them no more: `resolved.desired` is left empty. At a
/// million golden records the copy is hundreds of MB.
///
/// `listed` says whether the records already up to date are listed with their values (as
/// `plan --json` lists them); when not, their changes hold those values once.
pub fn plan_taking(
    spec: &Compiled,
    resolved: &mut Resolved,
    current: &CurrentState,
    options: Options,
    listed: bool,
) -> Plan {
    let desired = std::mem::take(&mut resolved.desired);
    // The model's term-frequency counts serve only to adopt rows by match, within the diff:
    // the plan hands them over and keeps the model without them.
    let without = resolved.matches.model.without_counts();
    let model = std::mem::replace(&mut resolved.matches.model, without);
    build(
        spec,
        resolved,
        diff::Golden::Owned(desired),
        current,
        options,
        listed,
        Some(model),
    )
}

fn build(
    spec: &Compiled,
    resolved: &Resolved,
    golden: diff::Golden<'_>,
    current: &CurrentState,
    options: Options,
    listed: bool,
    model: Option<crate::matching::Model>,
) -> Plan {
    let desired = golden.as_slice();
    // The cluster of every golden record, which outlives the records moved into changes.
    let clusters: Vec<usize> = desired.iter().map(|d| d.cluster).collect();
    let mut addresses = address::assign(spec, desired, &current.state);
    let mut pairing = diff::Pairing::by_state(current, &addresses);
    pairing.adopt_by_key(spec, desired);
    // The matcher (a copy of the model, term-frequency counts and all) is built only when a
    // row may be adopted.
    if !spec.matching.comparisons.is_empty() && pairing.can_adopt_by_match() {
        // The model the matching stage used (estimated with `weights: auto`).
        let model = model.unwrap_or_else(|| resolved.matches.model.clone());
        let matcher = if model.levels.len() == spec.matching.comparisons.len() {
            Matcher::with_model(&spec.matching, model)
        } else {
            Matcher::new(&spec.matching)
        };
        pairing.adopt_by_match(&matcher, desired);
    } else {
        drop(model);
    }
    pairing.take_orphan_addresses(&mut addresses);
    let diff::Actions {
        mut changes,
        record,
        unlisted_rows,
    } = diff::actions(spec, golden, &addresses, &pairing, listed);
    let changed_clusters: Vec<usize> = record.iter().map(|&i| clusters[i]).collect();
    name_members(spec, resolved, &changed_clusters, &mut changes);
    let mut missing = diff::missing(spec, &addresses, &pairing);
    changes.extend(diff::deletes(spec, options, &mut missing, &pairing));

    // Golden records by cluster, for the notes that name one.
    let mut desired_of = vec![usize::MAX; resolved.matches.clusters.len()];
    for (i, &c) in clusters.iter().enumerate() {
        if let Some(slot) = desired_of.get_mut(c) {
            *slot = i;
        }
    }
    let address_of = |c: usize| desired_of.get(c).and_then(|&i| addresses.get(i)).cloned();
    let review = review_items(spec, resolved, address_of);
    let overrides = override_notes(spec, resolved, address_of);
    let excluded = resolved
        .excluded
        .iter()
        .map(
            |Excluded {
                 source,
                 id,
                 rule,
                 name,
                 ..
             }| ExcludedItem {
                record: SourceRef {
                    source: spec.sources[*source].name.clone(),
                    id: id.clone(),
                },
                rule: rule.clone(),
                name: name.clone(),
            },
        )
        .collect();

    let mut plan = Plan {
        create_table: !current.table_exists,
        schema: schema::of(spec, current),
        changes,
        missing,
        excluded,
        invalid: resolved
            .invalid
            .iter()
            .map(|v| InvalidItem::of(spec, v))
            .collect(),
        review,
        overrides,
        fingerprint: current.fingerprint.clone(),
        rows_read: current.rows.len(),
        unlisted: unlisted_rows.len(),
        unlisted_rows,
        ..Plan::of_spec(spec)
    };
    plan.decided = decided::of(spec, &plan, current);
    plan.row_sums = decided::row_sums(spec, &plan, current);
    plan.read = decided::read_prints(&plan, current).into();
    plan
}
