//! The plan: desired records against the rows the database holds now. Pure data in, a
//! [`Plan`] out; renderers read it, `apply` executes it.
//!
//! Each desired record gets a stable address and is paired with a row: first by the state
//! table (rows this tool manages), then by the natural key, then by the matcher, so that an
//! existing row is adopted rather than duplicated. The pairing decides the action: create,
//! update (changed fields only) or no-op, each with its reason.

pub mod address;
pub mod file;
pub mod guard;
pub mod multi;
pub mod shortcut;

use crate::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::exclude::Excluded;
use crate::fingerprint::{value_print, values_hash};
use crate::matching::{Matcher, Member, Score, compare};
use crate::merge::SourceRef;
use crate::pipeline::Resolved;
use crate::spec::OnMissing;
use crate::spec::compiled::{Compiled, MatchConfig, ModelOrigin, SoftDelete};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A managed row whose record left every source; kept by `on_missing: keep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    pub address: String,
    pub row_key: String,
    pub members: Vec<String>,
}

/// A pair listed for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub left: SourceRef,
    pub right: SourceRef,
    pub score: f64,
    pub reason: String,
}

/// An excluded record, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExcludedItem {
    pub record: SourceRef,
    pub rule: String,
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
                crate::render::json::MASK.to_string()
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
                .map(|c| (c.name.clone(), crate::spec::compiled::method_name(c.method)))
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
    #[serde(deserialize_with = "file::in_chunks")]
    pub changes: Vec<Change>,
    pub missing: Vec<Missing>,
    pub excluded: Vec<ExcludedItem>,
    /// Source values that failed their field type, left out.
    #[serde(default)]
    pub invalid: Vec<InvalidItem>,
    pub review: Vec<ReviewItem>,
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
    /// Records up to date that the plan counts but does not hold: a saved plan keeps only
    /// the changes that write something, and its counts apart.
    #[serde(default, skip_serializing)]
    pub unlisted: usize,
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
    use std::fmt::Write as _;
    let mut out: Vec<RowPrint> = current
        .rows
        .iter()
        .map(|r| {
            let mut hash = String::with_capacity(8 * r.values.len());
            for v in &r.values {
                let _ = write!(hash, "{:08x}", value_print(v) as u32);
            }
            RowPrint {
                id: format!("row:{}", key_text(&r.key)),
                hash,
            }
        })
        .collect();
    out.extend(current.state.iter().map(|s| RowPrint {
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
    }));
    out
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
}

impl Plan {
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
        s
    }

    /// True when applying would change the table (state-only bookkeeping does not count).
    pub fn has_changes(&self) -> bool {
        self.create_table || self.changes.iter().any(|c| c.action != Action::NoOp)
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
    let desired = &resolved.desired;
    let mut addresses = address::assign(spec, desired, &current.state);

    let rows_by_key: HashMap<String, usize> = current
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (key_text(&r.key), i))
        .collect();
    let state_by_address: HashMap<&str, &crate::state::StateRow> = current
        .state
        .iter()
        .map(|s| (s.address.as_str(), s))
        .collect();
    let managed_keys: HashSet<&str> = current.state.iter().map(|s| s.row_key.as_str()).collect();

    // 1. Pair by the state table.
    let mut row_of: Vec<Option<(usize, Reason)>> = vec![None; desired.len()];
    let mut taken: HashSet<usize> = HashSet::default();
    for (i, addr) in addresses.iter().enumerate() {
        if let Some(s) = state_by_address.get(addr.as_str())
            && let Some(&row) = rows_by_key.get(&s.row_key)
            && taken.insert(row)
        {
            row_of[i] = Some((row, Reason::UpToDate));
        }
    }
    // Managed rows whose records all left the sources. A new record that matches one (by key
    // or by the matcher) takes it over, address included, instead of creating a second row:
    // the database is the golden set.
    let claimed_now: HashSet<&str> = addresses.iter().map(String::as_str).collect();
    let orphan_of_row: HashMap<usize, &str> = current
        .state
        .iter()
        .filter(|s| !claimed_now.contains(s.address.as_str()))
        .filter_map(|s| {
            rows_by_key
                .get(&s.row_key)
                .map(|&r| (r, s.address.as_str()))
        })
        .collect();
    let free_row = |row: usize, taken: &HashSet<usize>| {
        !taken.contains(&row)
            && (orphan_of_row.contains_key(&row)
                || !managed_keys.contains(key_text(&current.rows[row].key).as_str()))
    };

    // 2. Adopt unmanaged (or orphaned managed) rows by the natural key.
    if let Some(k) = spec.key {
        let mut by_value: HashMap<&Value, usize> = HashMap::default();
        for (ri, r) in current.rows.iter().enumerate() {
            if !r.values[k].is_null() && free_row(ri, &taken) {
                by_value.entry(&r.values[k]).or_insert(ri);
            }
        }
        for (i, d) in desired.iter().enumerate() {
            if row_of[i].is_some() || d.values[k].is_null() {
                continue;
            }
            if let Some(&ri) = by_value.get(&d.values[k])
                && taken.insert(ri)
            {
                row_of[i] = Some((ri, Reason::AdoptByKey));
            }
        }
    }

    // 3. Adopt unmanaged (or orphaned managed) rows by the matcher, one-to-one, best first.
    if !spec.matching.comparisons.is_empty() {
        // The model the matching stage used (estimated with `weights: auto`).
        let model = &resolved.matches.model;
        let matcher = if model.levels.len() == spec.matching.comparisons.len() {
            Matcher::with_model(&spec.matching, model.clone())
        } else {
            Matcher::new(&spec.matching)
        };
        let free: Vec<usize> = (0..current.rows.len())
            .filter(|&r| free_row(r, &taken))
            .collect();
        let open: Vec<usize> = (0..desired.len())
            .filter(|&i| row_of[i].is_none())
            .collect();
        if !free.is_empty() && !open.is_empty() {
            let prior = compare::prior_bits(free.len(), open.len());
            let mut index: HashMap<String, Vec<usize>> = HashMap::default();
            let prepared_rows: HashMap<usize, Vec<compare::Prepared>> = free
                .iter()
                .map(|&r| (r, matcher.prepare(&current.rows[r].values)))
                .collect();
            for &r in &free {
                for k in matcher.blocking_keys(&prepared_rows[&r]) {
                    index.entry(k).or_default().push(r);
                }
            }
            let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
            for &i in &open {
                let p = matcher.prepare(&desired[i].values);
                let mut seen = HashSet::default();
                for k in matcher.blocking_keys(&p) {
                    for &r in index.get(&k).map(Vec::as_slice).unwrap_or(&[]) {
                        if seen.insert(r) {
                            let s: Score = matcher.score(prior, &p, &prepared_rows[&r]);
                            if s.probability >= spec.matching.threshold {
                                candidates.push((s.probability, i, r));
                            }
                        }
                    }
                }
            }
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            for (score, i, r) in candidates {
                if row_of[i].is_none() && taken.insert(r) {
                    row_of[i] = Some((r, Reason::AdoptByMatch { score }));
                }
            }
        }
    }

    for (i, paired) in row_of.iter().enumerate() {
        if let Some((row, _)) = paired
            && let Some(&orphan) = orphan_of_row.get(row)
        {
            addresses[i] = orphan.to_string();
        }
    }

    // 4. Actions.
    let identity = identity_fields(spec);
    let mut changes = Vec::with_capacity(desired.len());
    for (i, d) in desired.iter().enumerate() {
        let address = addresses[i].clone();
        let members_text: Vec<String> = d.members.iter().map(ToString::to_string).collect();
        let state = state_by_address.get(address.as_str());
        let change = match &row_of[i] {
            None => Change {
                reason: if state.is_some() {
                    Reason::Vanished
                } else {
                    Reason::New
                },
                address,
                action: Action::Create,
                row_key: None,
                before: None,
                after: Some(d.values.clone()),
                changed: (0..d.values.len()).collect(),
                provenance: d.provenance.clone(),
                members: d.members.clone(),
                write_state: true,
                replaces: false,
            },
            Some((ri, how)) => {
                let row = &current.rows[*ri];
                // Fields under `ignore_changes` keep what the row holds, and so do fields
                // left empty only because their source values were invalid: an invalid
                // value never erases a good one.
                let after: Vec<Value> = d
                    .values
                    .iter()
                    .enumerate()
                    .map(|(f, v)| {
                        if spec.ignore_changes.get(f).copied().unwrap_or(false)
                            || d.invalid_only.contains(&f)
                        {
                            row.values[f].clone()
                        } else {
                            v.clone()
                        }
                    })
                    .collect();
                let changed: Vec<usize> = (0..after.len())
                    .filter(|&f| after[f] != row.values[f])
                    .collect();
                // A managed row whose records all left the sources, taken over by a record
                // found by key or by the matcher: usually that same record, edited (a source
                // without `id:` names its records by their content, so an edit renames the
                // record). It is judged as a managed row: unchanged values are no change.
                let orphan = orphan_of_row.contains_key(ri);
                let restored = current.soft_deleted.contains(&key_text(&row.key));
                let (action, reason, write_state) = match how {
                    _ if restored => (Action::Update, Reason::Restored, true),
                    Reason::UpToDate | Reason::AdoptByKey | Reason::AdoptByMatch { .. }
                        if *how == Reason::UpToDate || orphan =>
                    {
                        let s = state.expect("paired by the state table, or an orphan's address");
                        let stale_state = s.members != members_text;
                        if changed.is_empty() {
                            (
                                Action::NoOp,
                                Reason::UpToDate,
                                stale_state || s.hash != values_hash(&after),
                            )
                        } else if s.hash != values_hash(&row.values) {
                            // The row no longer holds what was applied: it was edited outside
                            // reconcile. The state keeps only a hash, so every differing field
                            // is reported.
                            (
                                Action::Update,
                                Reason::Drift {
                                    fields: changed.clone(),
                                },
                                true,
                            )
                        } else {
                            (Action::Update, Reason::SourceChanged, true)
                        }
                    }
                    other => (Action::Update, other.clone(), true),
                };
                // Only a row paired by the state table can be replaced: one adopted by key or
                // by the matcher agrees with its record on what it is known by.
                let replaces = action == Action::Update
                    && *how == Reason::UpToDate
                    && matches!(reason, Reason::SourceChanged | Reason::Drift { .. })
                    && replaces_identity(&identity, &row.values, &after);
                Change {
                    address,
                    action,
                    reason,
                    row_key: Some(row.key.clone()),
                    before: Some(row.values.clone()),
                    after: Some(after),
                    changed,
                    provenance: d.provenance.clone(),
                    members: d.members.clone(),
                    write_state,
                    replaces,
                }
            }
        };
        changes.push(change);
    }

    // Managed rows no source claims any more; with `owns_table`, unpaired rows too.
    let claimed: HashSet<&str> = addresses.iter().map(String::as_str).collect();
    let mut missing: Vec<Missing> = current
        .state
        .iter()
        .filter(|s| !claimed.contains(s.address.as_str()) && rows_by_key.contains_key(&s.row_key))
        .map(|s| Missing {
            address: s.address.clone(),
            row_key: s.row_key.clone(),
            members: s.members.clone(),
        })
        .collect();
    if spec.owns_table {
        for (ri, r) in current.rows.iter().enumerate() {
            let key = key_text(&r.key);
            if !taken.contains(&ri) && !managed_keys.contains(key.as_str()) {
                missing.push(Missing {
                    address: format!("#{key}"),
                    row_key: key,
                    members: Vec::new(),
                });
            }
        }
    }
    let delete = match spec.on_missing {
        OnMissing::Keep if options.prune => Some(Reason::Missing),
        OnMissing::Keep => None,
        OnMissing::Delete => Some(Reason::Missing),
        OnMissing::SoftDelete => Some(Reason::MissingSoft),
    };
    if let Some(reason) = delete {
        for m in std::mem::take(&mut missing) {
            let row = &current.rows[rows_by_key[&m.row_key]];
            changes.push(Change {
                address: m.address,
                action: Action::Delete,
                reason: reason.clone(),
                row_key: Some(row.key.clone()),
                before: Some(row.values.clone()),
                after: None,
                changed: Vec::new(),
                provenance: vec![None; row.values.len()],
                members: m
                    .members
                    .iter()
                    .map(|t| match t.split_once(':') {
                        Some((source, id)) => SourceRef {
                            source: source.to_string(),
                            id: id.to_string(),
                        },
                        None => SourceRef {
                            source: t.clone(),
                            id: String::new(),
                        },
                    })
                    .collect(),
                write_state: true,
                replaces: false,
            });
        }
    }

    let name_of = |m: Member| SourceRef {
        source: spec.sources[m.source].name.clone(),
        id: resolved.kept[m.source][m.index].id.clone(),
    };
    let review = resolved
        .matches
        .review
        .iter()
        .map(|r| ReviewItem {
            left: name_of(r.to),
            right: name_of(r.record),
            score: r.score.probability,
            reason: r.reason.clone(),
        })
        .collect();
    let excluded = resolved
        .excluded
        .iter()
        .map(
            |Excluded {
                 source, id, rule, ..
             }| ExcludedItem {
                record: SourceRef {
                    source: spec.sources[*source].name.clone(),
                    id: id.clone(),
                },
                rule: rule.clone(),
            },
        )
        .collect();

    Plan {
        resource: spec.resource.clone(),
        table: spec.table.clone(),
        fields: spec
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.column.clone()))
            .collect(),
        create_table: !current.table_exists,
        changes,
        missing,
        excluded,
        invalid: resolved
            .invalid
            .iter()
            .map(|v| InvalidItem::of(spec, v))
            .collect(),
        review,
        fingerprint: current.fingerprint.clone(),
        rows_read: current.rows.len(),
        sensitive: spec.sensitive.clone(),
        soft_delete: spec.soft_delete.clone(),
        read: row_prints(current).into(),
        inputs: None,
        shortcut: None,
        matching: MatchingModel::of(&spec.matching),
        unlisted: 0,
    }
}
