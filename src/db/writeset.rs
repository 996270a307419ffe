//! What an apply writes, decided before any I/O: from a plan, the rows to insert, the
//! updates grouped by the fields they change, the rows to restore, the state entries with
//! their members and hashes, and the delete batches; then, once the transaction has read the
//! state, which entries replace one and the digest of the state the apply leaves.
//!
//! All of it is plain computation, unit-tested here. [`WriteSet::new`] is the costly part (a
//! hash of every row written) and runs on every core, before the async runtime is entered;
//! what [`super::apply()`] does with a write set is only statements.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::rows::Arg;
use crate::error::Error;
use crate::fingerprint::{StateDigest, Sum, values_hash};
use crate::plan::shortcut::{Aside, Record};
use crate::plan::{Action, Change, Plan, Reason};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::state::{CurrentState, key_text, members_json};
use crate::value::Value;

/// Rows per delete or restore statement.
const DELETE_BATCH: usize = 1000;

/// Everything one plan writes.
#[derive(Debug)]
pub struct WriteSet<'a> {
    pub spec: &'a Compiled,
    pub plan: &'a Plan,
    /// The changes that create a row, in plan order: their new keys come back in this order.
    pub creates: Vec<&'a Change>,
    /// Updates by the fields they change, in field order.
    pub updates: Vec<UpdateGroup<'a>>,
    /// The updates, however many fields they change (some only write their state entry).
    pub updated: usize,
    /// The primary keys of rows restored from a soft delete.
    pub restores: Vec<&'a Value>,
    /// The state entries to write, in address order (the order of the state table's key).
    pub entries: Vec<Entry<'a>>,
    /// The rows to delete, and those to soft-delete.
    pub deletes: Vec<&'a Change>,
    pub soft_deletes: Vec<&'a Change>,
}

/// Updates that change the same fields: one statement per batch.
#[derive(Debug, PartialEq)]
pub struct UpdateGroup<'a> {
    /// The fields changed, by index.
    pub changed: &'a [usize],
    /// Each row's primary key and values after the update.
    pub rows: Vec<(&'a Value, &'a [Value])>,
}

/// A state entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub address: &'a str,
    pub key: EntryKey,
    /// The members as the state table's JSON list.
    pub members: String,
    /// The hash of the values as planned (references by address).
    pub hash: String,
}

/// The primary key of a state entry's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKey {
    /// A row the table holds, by its key as text.
    Row(String),
    /// The row of the `n`-th create, whose key the database gives.
    Created(usize),
}

/// The state entries an apply writes, with their row keys: those at an address the state
/// table holds replace that entry; the others are new.
#[derive(Debug, Default, PartialEq)]
pub struct StateWrites<'s> {
    pub replacing: Vec<StateEntry<'s>>,
    pub fresh: Vec<StateEntry<'s>>,
}

impl<'a> WriteSet<'a> {
    /// What `plan` writes. The members and hash of every entry are computed on every core:
    /// call it outside the async runtime.
    pub fn new(spec: &'a Compiled, plan: &'a Plan) -> WriteSet<'a> {
        use rayon::prelude::*;
        let prepared: Vec<Option<(String, String)>> = plan
            .changes
            .par_iter()
            .map(|c| {
                let writes = match c.action {
                    Action::Create | Action::Update => true,
                    Action::NoOp => c.write_state,
                    Action::Delete => false,
                };
                let values = c.after.as_ref().filter(|_| writes)?;
                Some((members_json(&c.members), values_hash(values)))
            })
            .collect();
        let mut set = WriteSet {
            spec,
            plan,
            creates: Vec::new(),
            updates: Vec::new(),
            updated: 0,
            restores: Vec::new(),
            entries: Vec::new(),
            deletes: Vec::new(),
            soft_deletes: Vec::new(),
        };
        let mut updates: BTreeMap<&[usize], Vec<(&Value, &[Value])>> = BTreeMap::new();
        for (c, prepared) in plan.changes.iter().zip(prepared) {
            let key = match c.action {
                Action::Create => {
                    set.creates.push(c);
                    Some(EntryKey::Created(set.creates.len() - 1))
                }
                Action::Update => {
                    let row_key = c.row_key.as_ref().expect("an update has a row");
                    if !c.changed.is_empty() {
                        let after = c.after.as_deref().expect("an update has values");
                        updates
                            .entry(&c.changed)
                            .or_default()
                            .push((row_key, after));
                    }
                    set.updated += 1;
                    Some(EntryKey::Row(key_text(row_key)))
                }
                Action::NoOp if c.write_state => {
                    c.row_key.as_ref().map(|k| EntryKey::Row(key_text(k)))
                }
                Action::NoOp => None,
                Action::Delete if spec.soft_delete.is_some() && c.reason == Reason::MissingSoft => {
                    set.soft_deletes.push(c);
                    None
                }
                Action::Delete => {
                    set.deletes.push(c);
                    None
                }
            };
            if let (Some(key), Some((members, hash))) = (key, prepared) {
                set.entries.push(Entry {
                    address: &c.address,
                    key,
                    members,
                    hash,
                });
            }
            if spec.soft_delete.is_some()
                && c.reason == Reason::Restored
                && let Some(key) = &c.row_key
            {
                set.restores.push(key);
            }
        }
        set.updates = updates
            .into_iter()
            .map(|(changed, rows)| UpdateGroup { changed, rows })
            .collect();
        set.entries
            .sort_unstable_by(|a, b| a.address.cmp(b.address));
        set
    }

    /// Whether the spec's rows point to others' by their keys, which the apply must then
    /// know for every managed row.
    pub fn has_references(&self) -> bool {
        self.spec.fields.iter().any(|f| f.reference.is_some())
    }

    /// Deletes in batches, one statement each: the rows to delete, then those to soft-delete
    /// (`true`).
    pub fn delete_batches(&self) -> impl Iterator<Item = (bool, &[&'a Change])> {
        let hard = self.deletes.chunks(DELETE_BATCH).map(|c| (false, c));
        hard.chain(self.soft_deletes.chunks(DELETE_BATCH).map(|c| (true, c)))
    }

    /// Restores in batches.
    pub fn restore_batches(&self) -> impl Iterator<Item = &[&'a Value]> {
        self.restores.chunks(DELETE_BATCH)
    }

    /// The state entries with their row keys, `created` being the keys the creates got; split
    /// by whether `current` (the state read in the apply's transaction) holds their address.
    pub fn state_writes<'s>(
        &'s self,
        current: &CurrentState,
        created: &'s [String],
    ) -> StateWrites<'s> {
        let entries = self.entries.iter().map(|e| StateEntry {
            address: e.address,
            row_key: match &e.key {
                EntryKey::Row(k) => k,
                EntryKey::Created(n) => &created[*n],
            },
            members: &e.members,
            hash: &e.hash,
        });
        if current.state.is_empty() {
            return StateWrites {
                replacing: Vec::new(),
                fresh: entries.collect(),
            };
        }
        let held: HashSet<&str> = current.state.iter().map(|s| s.address.as_str()).collect();
        let (replacing, fresh) = entries.partition(|e| held.contains(e.address));
        StateWrites { replacing, fresh }
    }

    /// What the inputs table records for this plan once `writes` are written: the inputs
    /// fingerprint, and the digest of the state entries the apply leaves (those of `current`
    /// neither rewritten nor deleted, and those written). `None` when the plan has no inputs
    /// fingerprint: the old record is then only removed.
    ///
    /// With `all`, `current` holds only the entries at the addresses the plan writes or
    /// deletes, and `all` is the digest of every entry: the kept ones are then `all` without
    /// those the apply replaces or deletes.
    ///
    /// `rows_left` is what the table's rows sum to once the apply is done, when it could tell
    /// ([`crate::plan::decided::RowSums`]); it is recorded unless the spec owns the table and
    /// a row would be left that no entry manages.
    pub fn inputs_record(
        &self,
        current: &CurrentState,
        all: Option<StateDigest>,
        writes: &StateWrites<'_>,
        applied_at: &str,
        rows_left: Option<Sum>,
    ) -> Option<Record> {
        let inputs = self.plan.inputs.as_ref()?;
        let written = writes.replacing.iter().chain(&writes.fresh);
        let gone: HashSet<&str> = if current.state.is_empty() {
            HashSet::new()
        } else {
            let deleted = self.deletes.iter().chain(&self.soft_deletes);
            written
                .clone()
                .map(|e| e.address)
                .chain(deleted.map(|c| c.address.as_str()))
                .collect()
        };
        let kept = match all {
            None => (current.state.iter())
                .filter(|s| !gone.contains(s.address.as_str()))
                .fold(StateDigest::default(), |d, s| d.with(s.print)),
            Some(all) => (current.state.iter())
                .filter(|s| gone.contains(s.address.as_str()))
                .fold(all, |d, s| d.without(s.print)),
        };
        let digest = written
            .map(|e| StateDigest::written(e.address, e.row_key, e.members, e.hash))
            .fold(kept, StateDigest::with);
        let rows_left = rows_left.filter(|r| !self.spec.owns_table || r.count == digest.count());
        Some(Record {
            inputs: inputs.clone(),
            state: digest.text(),
            applied_at: applied_at.to_string(),
            aside: Aside {
                rows_left,
                ..Aside::of(self.plan)
            },
        })
    }
}

/// One row of the state table as an apply writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateEntry<'a> {
    pub address: &'a str,
    pub row_key: &'a str,
    /// The members as the state table's JSON list.
    pub members: &'a str,
    pub hash: &'a str,
}

impl<'a> StateEntry<'a> {
    /// Its columns in the order the state table's INSERT binds them.
    pub(crate) fn columns(&self, resource: &'a str, now: &'a str) -> [&'a str; 6] {
        [
            resource,
            self.address,
            self.row_key,
            self.members,
            self.hash,
            now,
        ]
    }

    /// Its columns as an INSERT binds them.
    pub(crate) fn args(&self, resource: &'a str, now: &'a str) -> [Arg<'a>; 6] {
        self.columns(resource, now).map(Arg::Text)
    }

    /// About how many bytes its columns take.
    pub(crate) fn bytes(&self) -> usize {
        self.address.len() + self.row_key.len() + self.members.len() + self.hash.len()
    }
}

/// Primary keys (as text) by full address, `customers["barchefz"]`: of rows in the state
/// table, and of rows created earlier in the apply.
pub type KeyMap = HashMap<String, String>;

/// A row's values with each reference (planned as the referenced record's address) replaced
/// by that record's primary key.
pub fn resolve_references<'v>(
    spec: &Compiled,
    values: &'v [Value],
    keys: &KeyMap,
) -> Result<Cow<'v, [Value]>, Error> {
    if spec.fields.iter().all(|f| f.reference.is_none()) {
        return Ok(Cow::Borrowed(values));
    }
    let mut out = values.to_vec();
    for (f, field) in spec.fields.iter().enumerate() {
        let (Some(_), Value::Text(address)) = (&field.reference, &values[f]) else {
            continue;
        };
        let Some(key) = keys.get(address) else {
            return Err(Error::Plan {
                message: format!(
                    "field `{}` of {} points to {address}, which has no row",
                    field.name, spec.resource
                ),
                help: Some("plan and apply the referenced resource together with this one".into()),
            });
        };
        out[f] = match (field.kind, key.parse::<i64>()) {
            (FieldType::Integer, Ok(i)) => Value::Int(i),
            _ => Value::Text(key.clone()),
        };
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::state_print;
    use crate::state::{CurrentRow, StateRow};

    const SPEC: &str = r#"
version: 1
resource: people
target:
  table: people
  key: email
  fields:
    name: {}
    email: { type: email }
sources:
  s:
    id: id
    inline:
      - { id: 1, name: Ann, email: ann@x.org }
      - { id: 2, name: Bob, email: bob@x.org }
      - { id: 3, name: Cy, email: cy@x.org }
    fields: { name: name, email: email }
on_missing: delete
max_delete: "100%"
"#;

    fn spec() -> (tempfile::TempDir, Compiled) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.yaml");
        std::fs::write(&path, SPEC).unwrap();
        let spec = crate::spec::load::load(&path).unwrap();
        (dir, spec)
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// Ann as planned, Bob under an older name, and a row whose record left the sources.
    fn current() -> CurrentState {
        let rows = [
            (10, "ann", "Ann", "ann@x.org", "1"),
            (11, "bob", "Robert", "bob@x.org", "2"),
            (12, "old", "Old", "old@x.org", "9"),
        ];
        let mut current = CurrentState {
            table_exists: true,
            state_table_exists: true,
            integer_key: true,
            ..CurrentState::default()
        };
        for (key, address, name, email, id) in rows {
            let values = vec![text(name), text(email)];
            let hash = values_hash(&values);
            let members = format!(r#"["s:{id}"]"#);
            let key_text = key.to_string();
            current
                .state
                .push(StateRow::new([address, &key_text, &members, &hash], true));
            current.rows.push(CurrentRow {
                key: Value::Int(key),
                values,
                digest: None,
            });
        }
        current
    }

    #[test]
    fn a_plan_becomes_creates_grouped_updates_entries_and_deletes() {
        let (_dir, spec) = spec();
        let resolved = crate::pipeline::resolve(&spec).unwrap();
        let current = current();
        let mut plan = crate::plan::plan_with(&spec, &resolved, &current, Default::default());
        let set = WriteSet::new(&spec, &plan);
        let addresses = |cs: &[&Change]| cs.iter().map(|c| c.address.clone()).collect::<Vec<_>>();
        assert_eq!(addresses(&set.creates), ["cy"]);
        assert_eq!(addresses(&set.deletes), ["old"]);
        assert!(set.soft_deletes.is_empty() && set.restores.is_empty());
        assert_eq!(set.updated, 1);
        let bob = [text("Bob"), text("bob@x.org")];
        assert_eq!(
            set.updates,
            [UpdateGroup {
                changed: &[0],
                rows: vec![(&Value::Int(11), &bob[..])]
            }]
        );
        // Ann is up to date: her entry is not written again.
        let keys: Vec<(&str, &EntryKey)> =
            set.entries.iter().map(|e| (e.address, &e.key)).collect();
        assert_eq!(
            keys,
            [
                ("bob", &EntryKey::Row("11".into())),
                ("cy", &EntryKey::Created(0))
            ]
        );
        assert_eq!(set.entries[0].hash, values_hash(&bob));
        assert_eq!(set.entries[1].members, r#"["s:3"]"#);
        assert_eq!(
            set.delete_batches()
                .map(|(soft, b)| (soft, b.len()))
                .collect::<Vec<_>>(),
            [(false, 1)]
        );

        // Bob's entry replaces the one the table holds; Cy's is new, with the key it got.
        let created = ["13".to_string()];
        let writes = set.state_writes(&current, &created);
        fn entry_addresses<'s>(es: &[StateEntry<'s>]) -> Vec<&'s str> {
            es.iter().map(|e| e.address).collect()
        }
        assert_eq!(entry_addresses(&writes.replacing), ["bob"]);
        assert_eq!(entry_addresses(&writes.fresh), ["cy"]);
        assert_eq!(writes.fresh[0].row_key, "13");

        assert_eq!(
            set.inputs_record(&current, None, &writes, "now", None),
            None
        );
        plan.inputs = Some("inputs".into());
        let set = WriteSet::new(&spec, &plan);
        let writes = set.state_writes(&current, &created);
        let record = set
            .inputs_record(&current, None, &writes, "now", None)
            .unwrap();
        // The digest of the state the apply leaves: Ann kept, Bob and Cy written, Old gone.
        let left = [
            current.state[0].print,
            state_print(["bob", "11", r#"["s:2"]"#, &values_hash(&bob)]),
            state_print(["cy", "13", r#"["s:3"]"#, &set.entries[1].hash]),
        ];
        let digest = left
            .into_iter()
            .fold(StateDigest::default(), StateDigest::with);
        assert_eq!(record.state, digest.text());
        assert_eq!(
            (record.inputs.as_str(), record.applied_at.as_str()),
            ("inputs", "now")
        );

        // The same digest from the entries the plan's writes rest on and the digest of all:
        // what an apply that reads back only those entries records.
        let decided = plan
            .decided
            .expect("an existing table's plan keeps its prints");
        let all = StateDigest::of_sum(decided.all_state.count, decided.all_state.sum);
        let addresses = crate::plan::decided::addresses(&plan);
        let mut partial = current.clone();
        partial
            .state
            .retain(|s| addresses.contains(&s.address.as_str()));
        assert_eq!(partial.state.len(), 2, "Bob's and Old's entries");
        let writes = set.state_writes(&partial, &created);
        let record = set
            .inputs_record(&partial, Some(all), &writes, "now", None)
            .unwrap();
        assert_eq!(record.state, digest.text());
    }

    #[test]
    fn into_an_empty_state_every_entry_is_new() {
        let (_dir, spec) = spec();
        let resolved = crate::pipeline::resolve(&spec).unwrap();
        let empty = CurrentState::empty();
        let plan = crate::plan::plan_with(&spec, &resolved, &empty, Default::default());
        let set = WriteSet::new(&spec, &plan);
        assert_eq!(set.creates.len(), 3);
        let created: Vec<String> = (1..=3).map(|k| k.to_string()).collect();
        let writes = set.state_writes(&empty, &created);
        assert!(writes.replacing.is_empty());
        let keys: Vec<&str> = writes.fresh.iter().map(|e| e.row_key).collect();
        assert_eq!(keys.len(), 3);
        assert!(created.iter().all(|k| keys.contains(&k.as_str())));
    }

    #[test]
    fn references_become_the_keys_of_their_rows() {
        let (_dir, mut spec) = spec();
        spec.fields[0].kind = FieldType::Integer;
        spec.fields[0].reference = Some(crate::spec::compiled::Reference {
            resource: "companies".into(),
            by: None,
        });
        let keys: KeyMap = [("companies[\"acme\"]".to_string(), "7".to_string())].into();
        let values = [text("companies[\"acme\"]"), text("a@x.org")];
        assert_eq!(
            resolve_references(&spec, &values, &keys).unwrap().as_ref(),
            [Value::Int(7), text("a@x.org")]
        );
        let missing = [text("companies[\"gone\"]"), Value::Null];
        let err = resolve_references(&spec, &missing, &keys).unwrap_err();
        assert!(err.to_string().contains("which has no row"), "{err}");
        // Without references, the values are borrowed as they are.
        spec.fields[0].reference = None;
        assert!(matches!(
            resolve_references(&spec, &values, &keys).unwrap(),
            Cow::Borrowed(_)
        ));
    }
}
