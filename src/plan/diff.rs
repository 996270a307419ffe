//! The diff: desired records paired with the rows the database holds, in named phases,
//! then an action per record and the rows no record claims.
//!
//! 1. [`Pairing::by_state`]: a record whose address the state table knows keeps its row.
//! 2. [`Pairing::adopt_by_key`]: an unmanaged (or orphaned) row with the record's natural key.
//! 3. [`Pairing::adopt_by_match`]: an unmanaged (or orphaned) row the matcher finds, one to
//!    one, best first.
//! 4. [`actions`]: create, update (changed fields only) or no-op, each with its reason.
//! 5. [`missing`] and [`deletes`]: managed rows no record claims any more.

use std::borrow::Cow;

use crate::collections::{HashMap, HashSet};
use crate::fingerprint::{values_hash, values_hash_matches};
use crate::matching::{Matcher, Score, compare};
use crate::merge::{DesiredRecord, SourceRef};
use crate::spec::OnMissing;
use crate::spec::compiled::Compiled;
use crate::state::{CurrentState, StateRow, key_text};
use crate::value::Value;

use super::{Action, Change, Missing, Options, Reason, identity_fields, replaces_identity};

/// Which row each desired record is paired with, and why, as the phases find them.
pub struct Pairing<'a> {
    current: &'a CurrentState,
    pub rows_by_key: HashMap<String, usize>,
    /// The state entry (its index among those read) at each address.
    pub state_by_address: HashMap<&'a str, usize>,
    pub managed_keys: HashSet<&'a str>,
    /// Managed rows whose records all left the sources, with the address they had.
    pub orphan_of_row: HashMap<usize, &'a str>,
    /// Per desired record: its row and how it was paired.
    pub row_of: Vec<Option<(usize, Reason)>>,
    /// Rows already paired.
    pub taken: Vec<bool>,
}

impl<'a> Pairing<'a> {
    /// Phase 1: pairs each record with the row the state table holds for its address.
    pub fn by_state(current: &'a CurrentState, addresses: &[String]) -> Pairing<'a> {
        use rayon::prelude::*;
        let keys: Vec<String> = current.rows.par_iter().map(|r| key_text(&r.key)).collect();
        let rows_by_key: HashMap<String, usize> =
            keys.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
        let state_by_address: HashMap<&str, usize> = (current.state.iter().enumerate())
            .map(|(e, s)| (s.address.as_str(), e))
            .collect();
        let managed_keys: HashSet<&str> =
            current.state.iter().map(|s| s.row_key.as_str()).collect();
        // Each record's state entry and that entry's row, looked up on every core; then the
        // rows are taken in order, each by one record.
        let found: Vec<(Option<usize>, Option<usize>)> = addresses
            .par_iter()
            .map(|a| {
                let entry = state_by_address.get(a.as_str()).copied();
                let row = entry.and_then(|e| rows_by_key.get(&current.state[e].row_key));
                (entry, row.copied())
            })
            .collect();
        let mut row_of: Vec<Option<(usize, Reason)>> = vec![None; addresses.len()];
        let mut taken = vec![false; current.rows.len()];
        let mut claimed_entry = vec![false; current.state.len()];
        for (i, (entry, row)) in found.into_iter().enumerate() {
            if let Some(e) = entry {
                claimed_entry[e] = true;
            }
            if let Some(row) = row
                && !std::mem::replace(&mut taken[row], true)
            {
                row_of[i] = Some((row, Reason::UpToDate));
            }
        }
        // Managed rows whose records all left the sources (no record has their address). A
        // new record that matches one (by key or by the matcher) takes it over, address
        // included, instead of creating a second row: the database is the golden set.
        let orphan_of_row: HashMap<usize, &str> = (current.state.iter().enumerate())
            .filter(|(e, _)| !claimed_entry[*e])
            .filter_map(|(_, s)| {
                rows_by_key
                    .get(&s.row_key)
                    .map(|&r| (r, s.address.as_str()))
            })
            .collect();
        Pairing {
            current,
            rows_by_key,
            state_by_address,
            managed_keys,
            orphan_of_row,
            row_of,
            taken,
        }
    }

    /// The state entry at `address`, if the state table has one.
    pub fn state_at(&self, address: &str) -> Option<&'a StateRow> {
        let current = self.current;
        (self.state_by_address.get(address)).map(|&e| &current.state[e])
    }

    /// Takes row `row` for a record: false when another record has it already.
    fn take(&mut self, row: usize) -> bool {
        !std::mem::replace(&mut self.taken[row], true)
    }

    /// Whether a row may still be adopted: not paired yet, and either unmanaged or orphaned.
    fn free(&self, row: usize) -> bool {
        !self.taken[row]
            && (self.orphan_of_row.contains_key(&row)
                || !self
                    .managed_keys
                    .contains(key_text(&self.current.rows[row].key).as_str()))
    }

    /// Phase 2: adopts free rows by the natural key (`target.key`).
    pub fn adopt_by_key(&mut self, spec: &Compiled, desired: &[DesiredRecord]) {
        let Some(k) = spec.key else {
            return;
        };
        let mut by_value: HashMap<&Value, usize> = HashMap::default();
        for (ri, r) in self.current.rows.iter().enumerate() {
            if !r.values[k].is_null() && self.free(ri) {
                by_value.entry(&r.values[k]).or_insert(ri);
            }
        }
        for (i, d) in desired.iter().enumerate() {
            if self.row_of[i].is_some() || d.values[k].is_null() {
                continue;
            }
            if let Some(&ri) = by_value.get(&d.values[k])
                && self.take(ri)
            {
                self.row_of[i] = Some((ri, Reason::AdoptByKey));
            }
        }
    }

    /// Phase 3: adopts free rows by the matcher, one-to-one, best first, at or above the
    /// threshold.
    /// Whether any row is free to be adopted by match and any golden record still has no
    /// row: without both, there is nothing to match (an empty table, or one every row of
    /// which is managed), and no matcher need be built.
    pub fn can_adopt_by_match(&self) -> bool {
        self.row_of.iter().any(Option::is_none)
            && (0..self.current.rows.len()).any(|r| self.free(r))
    }

    pub fn adopt_by_match(&mut self, matcher: &Matcher<'_>, desired: &[DesiredRecord]) {
        let rows = &self.current.rows;
        let free: Vec<usize> = (0..rows.len()).filter(|&r| self.free(r)).collect();
        let open: Vec<usize> = (0..desired.len())
            .filter(|&i| self.row_of[i].is_none())
            .collect();
        if free.is_empty() || open.is_empty() {
            return;
        }
        let prior = compare::prior_bits(free.len(), open.len());
        let mut index: HashMap<String, Vec<usize>> = HashMap::default();
        let prepared_rows: HashMap<usize, Vec<compare::Prepared>> = free
            .iter()
            .map(|&r| (r, matcher.prepare(&rows[r].values)))
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
                        if s.probability >= matcher.config.threshold {
                            candidates.push((s.probability, i, r));
                        }
                    }
                }
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (score, i, r) in candidates {
            if self.row_of[i].is_none() && self.take(r) {
                self.row_of[i] = Some((r, Reason::AdoptByMatch { score }));
            }
        }
    }

    /// A record that took over an orphaned row takes its address too.
    pub fn take_orphan_addresses(&self, addresses: &mut [String]) {
        for (i, paired) in self.row_of.iter().enumerate() {
            if let Some((row, _)) = paired
                && let Some(&orphan) = self.orphan_of_row.get(row)
            {
                addresses[i] = orphan.to_string();
            }
        }
    }
}

/// Phase 4: one change per desired record, made on every core.
///
/// `listed` says whether the plan lists the records already up to date; when it does not, a
/// record up to date that writes nothing (not even its state entry) makes no change: the
/// plan counts it, and keeps the row it holds in [`Actions::unlisted_rows`]. A million of
/// them cost that much less, in memory and in time.
pub fn actions(
    spec: &Compiled,
    desired: Golden<'_>,
    addresses: &[String],
    pairing: &Pairing<'_>,
    listed: bool,
) -> Actions {
    use rayon::prelude::*;
    let identity = identity_fields(spec);
    // `None` for a record up to date that writes nothing, when the plan does not list it.
    let change = |i: usize, d: Cow<'_, DesiredRecord>| -> Option<Change> {
        let address = &addresses[i];
        match &pairing.row_of[i] {
            None => {
                let reason = if pairing.state_by_address.contains_key(address.as_str()) {
                    Reason::Vanished
                } else {
                    Reason::New
                };
                let d = d.into_owned();
                Some(Change {
                    reason,
                    address: address.clone(),
                    action: Action::Create,
                    row_key: None,
                    before: None,
                    changed: (0..d.values.len()).collect(),
                    after: Some(d.values),
                    provenance: d.provenance,
                    members: d.members,
                    names: Vec::new(),
                    conflicts: d.conflicts,
                    write_state: true,
                    replaces: false,
                })
            }
            Some((ri, how)) => paired(spec, d, address, (*ri, how), pairing, &identity, listed),
        }
    };
    let listed_change =
        |i, d| change(i, d).expect("a record listed, or without a row, makes a change");
    let n = desired.as_slice().len();
    // Only a record paired with a row can be up to date: without any (an empty table), every
    // record makes a change, as when they are listed.
    if listed || pairing.row_of.iter().all(Option::is_none) {
        // Every record makes a change, in order: written straight into place.
        let changes: Vec<Change> = match desired {
            Golden::Shared(desired) => desired
                .par_iter()
                .enumerate()
                .map(|(i, d)| listed_change(i, Cow::Borrowed(d)))
                .collect(),
            // Each golden record goes into its change, or is dropped once its change is
            // made: the two never take memory at the same time.
            Golden::Owned(desired) => desired
                .into_par_iter()
                .enumerate()
                .map(|(i, d)| listed_change(i, Cow::Owned(d)))
                .collect(),
        };
        return Actions {
            changes,
            record: (0..n).collect(),
            unlisted_rows: Vec::new(),
        };
    }
    // Made in chunks, each keeping only its changes, then moved into one vector of their
    // total length chunk by chunk: a chunk's memory is freed as the vector fills, so the
    // changes are held about once, whether few records write (a 1 % change) or all do.
    const CHUNK: usize = 16 * 1024;
    let chunks: Vec<Vec<(usize, Change)>> = match desired {
        Golden::Shared(desired) => desired
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(k, chunk)| {
                (chunk.iter().enumerate())
                    .filter_map(|(j, d)| {
                        let i = k * CHUNK + j;
                        Some((i, change(i, Cow::Borrowed(d))?))
                    })
                    .collect()
            })
            .collect(),
        Golden::Owned(desired) => desired
            .into_par_iter()
            .enumerate()
            .chunks(CHUNK)
            .map(|chunk| {
                (chunk.into_iter())
                    .filter_map(|(i, d)| Some((i, change(i, Cow::Owned(d))?)))
                    .collect()
            })
            .collect(),
    };
    let total = chunks.iter().map(Vec::len).sum();
    let (mut record, mut changes) = (Vec::with_capacity(total), Vec::with_capacity(total));
    for chunk in chunks {
        for (i, c) in chunk {
            record.push(i);
            changes.push(c);
        }
    }
    // The records left out are those up to date: each holds a row.
    let mut left_out = vec![true; n];
    for &i in &record {
        left_out[i] = false;
    }
    let unlisted_rows = (0..n)
        .filter(|&i| left_out[i])
        .filter_map(|i| pairing.row_of[i].as_ref().map(|(row, _)| *row))
        .collect();
    Actions {
        changes,
        record,
        unlisted_rows,
    }
}

/// What phase 4 made: the changes, and the records up to date a plan counts without listing.
#[derive(Debug)]
pub struct Actions {
    /// The changes, in the order of the golden records.
    pub changes: Vec<Change>,
    /// Per change, the golden record it was made from.
    pub record: Vec<usize>,
    /// Per record up to date that the plan does not list, the row (of those read) it holds.
    pub unlisted_rows: Vec<usize>,
}

/// The golden records a plan is made from: borrowed (and copied into the changes) when
/// the caller still needs them, owned (and moved into the changes) when it does not.
pub enum Golden<'a> {
    Shared(&'a [DesiredRecord]),
    Owned(Vec<DesiredRecord>),
}

impl Golden<'_> {
    pub fn as_slice(&self) -> &[DesiredRecord] {
        match self {
            Golden::Shared(d) => d,
            Golden::Owned(d) => d,
        }
    }
}

/// The change of a record paired with row `ri` (found as `how` says); `None` when it is up to
/// date, writes nothing, and the plan does not list such records.
fn paired(
    spec: &Compiled,
    d: Cow<'_, DesiredRecord>,
    address: &str,
    (ri, how): (usize, &Reason),
    pairing: &Pairing<'_>,
    identity: &[usize],
    listed: bool,
) -> Option<Change> {
    let current = pairing.current;
    let row = &current.rows[ri];
    let state = pairing.state_at(address);
    // Fields under `ignore_changes` keep what the row holds, and so do fields left empty
    // only because their source values were invalid: an invalid value never erases a good
    // one.
    // An owned golden record's parts move into the change; a borrowed one is copied.
    let DesiredRecord {
        values,
        provenance,
        members,
        invalid_only,
        conflicts,
        ..
    } = d.into_owned();
    let after: Vec<Value> = values
        .into_iter()
        .enumerate()
        .map(|(f, v)| {
            if spec.ignore_changes.get(f).copied().unwrap_or(false) || invalid_only.contains(&f) {
                row.values[f].clone()
            } else {
                v
            }
        })
        .collect();
    let changed: Vec<usize> = (0..after.len())
        .filter(|&f| after[f] != row.values[f])
        .collect();
    // A managed row whose records all left the sources, taken over by a record found by key
    // or by the matcher: usually that same record, edited (a source without `id:` names its
    // records by their content, so an edit renames the record). It is judged as a managed
    // row: unchanged values are no change.
    let orphan = pairing.orphan_of_row.contains_key(&ri);
    let restored =
        !current.soft_deleted.is_empty() && current.soft_deleted.contains(&key_text(&row.key));
    let (action, reason, write_state) = match how {
        _ if restored => (Action::Update, Reason::Restored, true),
        Reason::UpToDate | Reason::AdoptByKey | Reason::AdoptByMatch { .. }
            if *how == Reason::UpToDate || orphan =>
        {
            let s = state.expect("paired by the state table, or an orphan's address");
            let stale_state = s.members.len() != members.len()
                || s.members
                    .iter()
                    .zip(&members)
                    .any(|(s, m)| !m.is_written(s));
            if changed.is_empty() {
                (
                    Action::NoOp,
                    Reason::UpToDate,
                    stale_state || !values_hash_matches(&after, &s.hash),
                )
            } else if s.hash != applied_hash(current, &row.values)
                && changed.iter().any(|&f| !current.lacks(f))
            {
                // The row no longer holds what was applied: it was edited outside reconcile.
                // The state keeps only a hash, so every differing field is reported (but a
                // column this plan adds, which no one could have edited).
                let fields = changed.iter().copied().filter(|&f| !current.lacks(f));
                (
                    Action::Update,
                    Reason::Drift {
                        fields: fields.collect(),
                    },
                    true,
                )
            } else if changed.iter().all(|&f| current.lacks(f)) {
                // Only columns the apply adds differ: nothing the sources said before changed.
                (Action::Update, Reason::NewColumn, true)
            } else {
                (Action::Update, Reason::SourceChanged, true)
            }
        }
        other => (Action::Update, other.clone(), true),
    };
    if !listed && action == Action::NoOp && !write_state {
        return None;
    }
    // Only a row paired by the state table can be replaced: one adopted by key or by the
    // matcher agrees with its record on what it is known by.
    let replaces = action == Action::Update
        && *how == Reason::UpToDate
        && matches!(reason, Reason::SourceChanged | Reason::Drift { .. })
        && replaces_identity(identity, &row.values, &after);
    Some(Change {
        address: address.to_string(),
        action,
        reason,
        row_key: Some(row.key.clone()),
        before: Some(row.values.clone()),
        after: Some(after),
        changed,
        provenance,
        members,
        names: Vec::new(),
        conflicts,
        write_state,
        replaces,
    })
}

/// The hash a row's values had when they were applied, if no one changed them since: a
/// field whose column the table lacks was not in the spec then (its column is added by this
/// plan), so it is left out, and filling the new column is not mistaken for drift.
fn applied_hash(current: &CurrentState, values: &[Value]) -> String {
    if current.missing_columns.is_empty() {
        return values_hash(values);
    }
    let held: Vec<Value> = values
        .iter()
        .enumerate()
        .filter(|(f, _)| !current.lacks(*f))
        .map(|(_, v)| v.clone())
        .collect();
    values_hash(&held)
}

/// Phase 5: managed rows no source claims any more; with `owns_table`, unpaired rows too.
pub fn missing(spec: &Compiled, addresses: &[String], pairing: &Pairing<'_>) -> Vec<Missing> {
    let current = pairing.current;
    let claimed: HashSet<&str> = addresses.iter().map(String::as_str).collect();
    let mut missing: Vec<Missing> = current
        .state
        .iter()
        .filter(|s| {
            !claimed.contains(s.address.as_str()) && pairing.rows_by_key.contains_key(&s.row_key)
        })
        .map(|s| Missing {
            address: s.address.clone(),
            row_key: s.row_key.clone(),
            members: s.members.clone(),
            name: row_name(spec, current, pairing.rows_by_key[&s.row_key]),
        })
        .collect();
    if spec.owns_table {
        for (ri, r) in current.rows.iter().enumerate() {
            let key = key_text(&r.key);
            if !pairing.taken[ri] && !pairing.managed_keys.contains(key.as_str()) {
                missing.push(Missing {
                    address: format!("#{key}"),
                    row_key: key,
                    members: Vec::new(),
                    name: row_name(spec, current, ri),
                });
            }
        }
    }
    missing
}

/// What names row `ri` of the table beside its key.
fn row_name(spec: &Compiled, current: &CurrentState, ri: usize) -> Option<String> {
    crate::review::record_name(spec, &current.rows[ri].values)
}

/// Turns the missing rows into deletes when `on_missing` (or `--prune`) says so; the rows
/// kept stay listed as missing.
pub fn deletes(
    spec: &Compiled,
    options: Options,
    missing: &mut Vec<Missing>,
    pairing: &Pairing<'_>,
) -> Vec<Change> {
    let reason = match spec.on_missing {
        OnMissing::Keep if options.prune => Reason::Missing,
        OnMissing::Keep => return Vec::new(),
        OnMissing::Delete => Reason::Missing,
        OnMissing::SoftDelete => Reason::MissingSoft,
    };
    std::mem::take(missing)
        .into_iter()
        .map(|m| {
            let row = &pairing.current.rows[pairing.rows_by_key[&m.row_key]];
            Change {
                address: m.address,
                action: Action::Delete,
                reason: reason.clone(),
                row_key: Some(row.key.clone()),
                before: Some(row.values.clone()),
                after: None,
                changed: Vec::new(),
                provenance: vec![None; row.values.len()],
                members: m.members.iter().map(|t| SourceRef::parse(t)).collect(),
                names: Vec::new(),
                conflicts: Default::default(),
                write_state: true,
                replaces: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::CurrentRow;

    /// A spec with a natural key (`email`) and the given `on_missing`.
    fn spec(on_missing: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\non_missing: {on_missing}\ntarget:\n  table: t\n  \
                 key: email\n  fields:\n    name: {{ type: text }}\n    email: {{ type: \
                 email }}\nsources:\n  s:\n    id: name\n    inline: [{{ name: x }}]\n    \
                 fields: {{ name: name, email: email }}\n"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn record(name: &str, email: &str) -> DesiredRecord {
        DesiredRecord {
            values: vec![text(name), text(email)],
            provenance: vec![None, None],
            members: vec![SourceRef {
                source: "s".into(),
                id: name.into(),
            }],
            cluster: 0,
            invalid_only: Vec::new(),
            conflicts: Default::default(),
        }
    }

    /// Rows 1 (managed as `r["ann"]`), 2 (unmanaged, Bob's email) and 3 (managed as
    /// `r["gone"]`, no record claims it).
    fn current() -> CurrentState {
        let row = |key: i64, name: &str, email: &str| CurrentRow {
            key: Value::Int(key),
            values: vec![text(name), text(email)],
            digest: None,
        };
        let ann = vec![text("Ann"), text("ann@x.example")];
        CurrentState {
            table_exists: true,
            rows: vec![
                row(1, "Ann", "ann@x.example"),
                row(2, "Robert", "bob@x.example"),
                row(3, "Gone", "gone@x.example"),
            ],
            state: vec![
                StateRow::new(["ann", "1", "[\"s:Ann\"]", &values_hash(&ann)], true),
                StateRow::new(["gone", "3", "[\"s:Gone\"]", "h"], true),
            ],
            ..CurrentState::default()
        }
    }

    #[test]
    fn phases_pair_by_state_then_by_key_and_leave_the_rest_missing() {
        let spec = spec("delete");
        let current = current();
        let desired = [
            record("Ann", "ann@x.example"),
            record("Bob", "bob@x.example"),
        ];
        let addresses = vec!["ann".to_string(), "bob".to_string()];
        let mut pairing = Pairing::by_state(&current, &addresses);
        assert_eq!(pairing.row_of[0], Some((0, Reason::UpToDate)));
        assert_eq!(pairing.row_of[1], None);
        assert!(
            pairing.can_adopt_by_match(),
            "Bob's row is free and Bob has none"
        );
        pairing.adopt_by_key(&spec, &desired);
        assert_eq!(pairing.row_of[1], Some((1, Reason::AdoptByKey)));
        assert!(!pairing.can_adopt_by_match(), "every record has its row");

        let listed = actions(&spec, Golden::Shared(&desired), &addresses, &pairing, true);
        assert_eq!(listed.record, [0, 1]);
        assert!(listed.unlisted_rows.is_empty());
        let changes = listed.changes;
        let moved = |listed| {
            actions(
                &spec,
                Golden::Owned(desired.to_vec()),
                &addresses,
                &pairing,
                listed,
            )
        };
        // Moving the golden records into the changes makes the same changes as copying them.
        assert_eq!(moved(true).changes, changes);
        assert_eq!(changes[0].action, Action::NoOp, "Ann is up to date");
        assert!(!changes[0].write_state);
        assert_eq!(changes[0].before, changes[0].after);
        assert_eq!(changes[1].action, Action::Update, "Bob's row is adopted");
        assert_eq!(changes[1].changed, vec![0], "only the name differs");
        // Not listed, a record up to date that writes nothing makes no change: its row is
        // kept aside, and the change that writes is the same.
        let unlisted = moved(false);
        assert_eq!(unlisted.changes, changes[1..]);
        assert_eq!(unlisted.record, [1], "Bob's change is of the second record");
        assert_eq!(unlisted.unlisted_rows, [0], "Ann holds the first row");

        let mut missing = missing(&spec, &addresses, &pairing);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].address, "gone");
        let deletes = deletes(&spec, Options::default(), &mut missing, &pairing);
        assert_eq!(deletes.len(), 1);
        assert_eq!(deletes[0].reason, Reason::Missing);
        assert_eq!(deletes[0].members[0].id, "Gone");
        assert!(
            missing.is_empty(),
            "a deleted row is no longer listed as missing"
        );
    }

    #[test]
    fn a_claimed_managed_row_is_never_adopted_but_an_orphan_is() {
        let spec = spec("keep");
        let current = current();
        // Ann keeps her row; a second record with her email does not take it.
        let desired = [
            record("Ann", "ann@x.example"),
            record("Ann B", "ann@x.example"),
        ];
        let addresses = vec!["ann".to_string(), "ann-b".to_string()];
        let mut pairing = Pairing::by_state(&current, &addresses);
        pairing.adopt_by_key(&spec, &desired);
        assert_eq!(pairing.row_of[1], None);

        // Without Ann, her row is an orphan: the record with her email takes it over, and
        // her address with it.
        let desired = [record("Ann B", "ann@x.example")];
        let mut addresses = vec!["ann-b".to_string()];
        let mut pairing = Pairing::by_state(&current, &addresses);
        pairing.adopt_by_key(&spec, &desired);
        assert_eq!(pairing.row_of[0], Some((0, Reason::AdoptByKey)));
        pairing.take_orphan_addresses(&mut addresses);
        assert_eq!(addresses, ["ann"]);
        let changes = actions(&spec, Golden::Shared(&desired), &addresses, &pairing, true).changes;
        assert_eq!(
            changes[0].reason,
            Reason::SourceChanged,
            "judged as its own row"
        );
    }

    /// Over several chunks of records, a plan that does not list the records up to date
    /// keeps the changes that write, in order and each with its record, and the rows of the
    /// others: moved or copied alike.
    #[test]
    fn unlisted_records_up_to_date_leave_only_the_changes_that_write_across_chunks() {
        let spec = spec("keep");
        let n = 40_000;
        let name = |i: usize| {
            if i.is_multiple_of(997) {
                format!("Renamed {i}")
            } else {
                format!("N{i}")
            }
        };
        let desired: Vec<DesiredRecord> = (0..n)
            .map(|i| {
                let mut r = record(&name(i), &format!("{i}@x.example"));
                r.members[0].id = format!("N{i}");
                r
            })
            .collect();
        let addresses: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        // Row `i` holds record `i` as it was applied, under the name `N{i}`.
        let rows: Vec<Vec<Value>> = (0..n)
            .map(|i| vec![text(&format!("N{i}")), text(&format!("{i}@x.example"))])
            .collect();
        let current = CurrentState {
            table_exists: true,
            state: (0..n)
                .map(|i| {
                    let members = format!("[\"s:N{i}\"]");
                    let parts = [
                        &addresses[i],
                        &i.to_string(),
                        &members,
                        &values_hash(&rows[i]),
                    ];
                    StateRow::new(parts.map(String::as_str), true)
                })
                .collect(),
            rows: (rows.into_iter().enumerate())
                .map(|(i, values)| CurrentRow {
                    key: Value::Int(i as i64),
                    values,
                    digest: None,
                })
                .collect(),
            ..CurrentState::default()
        };
        let pairing = Pairing::by_state(&current, &addresses);
        let renamed: Vec<usize> = (0..n).filter(|i| i.is_multiple_of(997)).collect();
        let copied = actions(&spec, Golden::Shared(&desired), &addresses, &pairing, false);
        let moved = actions(
            &spec,
            Golden::Owned(desired.clone()),
            &addresses,
            &pairing,
            false,
        );
        for made in [&copied, &moved] {
            assert_eq!(made.record, renamed);
            assert!(made.changes.iter().all(|c| c.action == Action::Update));
            let addressed: Vec<&str> = made.changes.iter().map(|c| c.address.as_str()).collect();
            let expected: Vec<String> = renamed.iter().map(|&i| format!("n{i}")).collect();
            assert_eq!(addressed, expected);
            assert_eq!(made.unlisted_rows.len(), n - renamed.len());
            assert!(made.unlisted_rows.iter().all(|r| !r.is_multiple_of(997)));
        }
        assert_eq!(copied.changes, moved.changes);
        let listed = actions(&spec, Golden::Shared(&desired), &addresses, &pairing, true);
        assert_eq!(
            listed.changes.len(),
            n,
            "listed, every record makes a change"
        );
    }

    #[test]
    fn golden_records_moved_into_creates_make_the_same_changes_as_copied() {
        let spec = spec("keep");
        let current = current();
        let desired = [record("Cy", "cy@x.example"), record("Di", "di@x.example")];
        let addresses = vec!["cy".to_string(), "di".to_string()];
        let pairing = Pairing::by_state(&current, &addresses);
        let copied = actions(&spec, Golden::Shared(&desired), &addresses, &pairing, true).changes;
        assert!(copied.iter().all(|c| c.action == Action::Create));
        assert_eq!(copied[1].after.as_deref(), Some(&desired[1].values[..]));
        let moved = actions(
            &spec,
            Golden::Owned(desired.to_vec()),
            &addresses,
            &pairing,
            true,
        )
        .changes;
        assert_eq!(moved, copied);
    }

    #[test]
    fn on_missing_keep_deletes_nothing_unless_pruned() {
        let spec = spec("keep");
        let current = current();
        let pairing = Pairing::by_state(&current, &[]);
        let mut missing = missing(&spec, &[], &pairing);
        assert_eq!(missing.len(), 2);
        assert!(deletes(&spec, Options::default(), &mut missing, &pairing).is_empty());
        assert_eq!(missing.len(), 2, "kept rows stay listed as missing");
        let pruned = Options {
            prune: true,
            ..Options::default()
        };
        assert_eq!(deletes(&spec, pruned, &mut missing, &pairing).len(), 2);
    }
}
