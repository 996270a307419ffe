//! The state, as Terraform users know it: what it holds ([`list`], [`show`], [`show_all`]),
//! and repairs of it ([`rm`], [`mv`], [`refresh`] then [`write_refresh`]; importing a row
//! is [`super::import`]).
//!
//! The state table records, per resource, each golden record's address, the primary key of
//! the row it manages, its member records (`source:id`) and a hash of the values last written.
//! A repair decides what to change from one read of the table and the state, then writes it
//! in one transaction under each table's lock ([`crate::db::state_edit`]), which refuses to
//! go on when either changed since. The target table is never written; the resource's
//! no-change shortcut record is removed, so the next plan reads everything.

use std::collections::HashMap;
use std::time::Duration;

use crate::db::lock::LockRequest;
use crate::db::state_edit::{self, NewEntry, StateEdit};
use crate::db::{Database, Failed, read};
use crate::error::{Error, Result};
use crate::fingerprint::{values_hash, values_hash_matches};
use crate::plan::address;
use crate::spec::compiled::Compiled;
use crate::state::{CurrentState, StateRow, key_text};
use crate::value::Value;

use super::runtime;

/// One resource's state entries, in address order.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceState {
    pub resource: String,
    pub table: String,
    /// The field names, in order: what the values of a row are.
    pub fields: Vec<String>,
    /// Per field: its values are masked wherever they are shown.
    pub sensitive: Vec<bool>,
    pub entries: Vec<Entry>,
}

impl ResourceState {
    /// `resource["key"]`.
    pub fn address(&self, key: &str) -> String {
        address::display(&self.resource, key)
    }
}

/// One state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key inside `resource["…"]`.
    pub address: String,
    /// The managed row's primary key, as text.
    pub row_key: String,
    /// Its member records, `source:id`.
    pub members: Vec<String>,
    pub row: Row,
}

/// The managed row, as the table holds it now.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// Not read (`state list`).
    NotRead,
    /// The table holds no row with the entry's key: deleted outside reconcile.
    Gone,
    Held {
        values: Vec<Value>,
        /// The values hash to what the state says was last written: not changed outside
        /// reconcile since.
        as_written: bool,
    },
}

/// Where the state lives: the specs (one resource each) and the database.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub specs: &'a [Compiled],
    pub url: &'a str,
}

/// The entries of every resource of the specs, or of `resource` alone; the rows as the table
/// holds them now when `values` is set.
pub fn list(scope: Scope<'_>, resource: Option<&str>, values: bool) -> Result<Vec<ResourceState>> {
    let wanted: Vec<usize> = match resource {
        None => (0..scope.specs.len()).collect(),
        Some(r) => vec![spec_named(scope.specs, r)?],
    };
    let reads = read_all(scope, &wanted)?;
    Ok(wanted
        .iter()
        .zip(&reads)
        .map(|(&i, current)| resource_state(&scope.specs[i], current, values, |_| true))
        .collect())
}

/// Every entry of every resource with its row as the table holds it now: what `show`
/// without a saved plan prints.
pub fn show_all(scope: Scope<'_>) -> Result<Vec<ResourceState>> {
    list(scope, None, true)
}

/// One entry, by its address, with its row as the table holds it now (the only entry of the
/// resource state returned).
pub fn show(scope: Scope<'_>, wanted: &str) -> Result<ResourceState> {
    let (i, key) = locate(scope.specs, wanted)?;
    let current = read_all(scope, &[i])?.remove(0);
    entry_of(&scope.specs[i], &current, &key)?;
    Ok(resource_state(&scope.specs[i], &current, true, |a| {
        a == key
    }))
}

/// What the next plan does with a row whose entry was removed, as far as the row tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// The row was already gone.
    RowGone,
    /// Adopted again by its `target.key` value, while a record with that value is in the
    /// sources (`field`, its value, whether that is sensitive).
    ByKey {
        field: String,
        value: Value,
        sensitive: bool,
    },
    /// Adopted again only if the matcher finds it; otherwise a new row is planned beside it.
    ByMatcher,
    /// Nothing finds it again: a new row is planned for its record, beside it.
    Nothing,
}

/// What `state rm` removed from one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub state: ResourceState,
    /// Per entry of `state`: what the next plan does with its row.
    pub next: Vec<Next>,
}

/// Removes entries from the state; their rows stay in the table, no longer managed.
pub fn rm(scope: Scope<'_>, addresses: &[String], lock_timeout: Duration) -> Result<Vec<Removed>> {
    // Which entries of which resource, in the order given, each once.
    let mut by_spec: Vec<(usize, Vec<String>)> = Vec::new();
    for text in addresses {
        let (i, key) = locate(scope.specs, text)?;
        match by_spec.iter_mut().find(|(s, _)| *s == i) {
            Some((_, keys)) if !keys.contains(&key) => keys.push(key),
            Some(_) => {}
            None => by_spec.push((i, vec![key])),
        }
    }
    let indexes: Vec<usize> = by_spec.iter().map(|(i, _)| *i).collect();
    let reads = read_all(scope, &indexes)?;
    let mut edits = Vec::new();
    let mut removed = Vec::new();
    for ((i, keys), current) in by_spec.iter().zip(&reads) {
        let spec = &scope.specs[*i];
        for key in keys {
            entry_of(spec, current, key)?;
        }
        let state = resource_state(spec, current, true, |a| keys.iter().any(|k| k == a));
        let next = state
            .entries
            .iter()
            .map(|e| next_of(spec, &e.row))
            .collect();
        removed.push(Removed { state, next });
        edits.push(StateEdit {
            spec,
            remove: keys.clone(),
            write: Vec::new(),
            fingerprint: current.fingerprint.clone(),
        });
    }
    write_edits(scope, &edits, lock_timeout, "state rm")?;
    Ok(removed)
}

/// What `state mv` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub resource: String,
    pub from: String,
    pub to: String,
    pub row_key: String,
    pub members: Vec<String>,
}

/// Gives an entry another address of the same resource: one no entry holds.
pub fn mv(scope: Scope<'_>, from: &str, to: &str, lock_timeout: Duration) -> Result<Moved> {
    let (i, from_key) = locate(scope.specs, from)?;
    let spec = &scope.specs[i];
    let (j, to_key) = locate(scope.specs, to)?;
    if i != j {
        return Err(refused(
            format!(
                "{to} is an address of resource `{}`, and {from} of `{}`: an entry moves \
                 within its resource",
                scope.specs[j].resource, spec.resource
            ),
            Some(format!(
                "write the new address as {}",
                address::display(&spec.resource, &to_key)
            )),
        ));
    }
    valid_key(&spec.resource, &to_key)?;
    let current = read_all(scope, &[i])?.remove(0);
    let entry = entry_of(spec, &current, &from_key)?;
    if from_key == to_key {
        return Err(refused(
            format!("{from} and {to} are the same address"),
            None,
        ));
    }
    if let Some(taken) = current.state.iter().find(|s| s.address == to_key) {
        return Err(taken_error(spec, taken));
    }
    let edit = StateEdit {
        spec,
        remove: vec![from_key.clone()],
        write: vec![NewEntry {
            address: to_key.clone(),
            row_key: entry.row_key.clone(),
            members: members_text(&entry.members),
            hash: entry.hash.clone(),
        }],
        fingerprint: current.fingerprint.clone(),
    };
    write_edits(scope, &[edit], lock_timeout, "state mv")?;
    Ok(Moved {
        resource: spec.resource.clone(),
        from: from_key,
        to: to_key,
        row_key: entry.row_key.clone(),
        members: entry.members.clone(),
    })
}

/// A state change of `--refresh-only`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub address: String,
    pub row_key: String,
    pub members: Vec<String>,
    pub kind: RefreshKind,
}

/// What `--refresh-only` does to an entry.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshKind {
    /// The row was deleted outside reconcile: the entry is dropped.
    Forget,
    /// The row was changed outside reconcile: the entry takes the hash of what it holds now.
    Accept { hash: String },
}

/// What `--refresh-only` would do to one resource's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Refresh {
    pub resource: String,
    pub table: String,
    pub changes: Vec<Refreshed>,
    /// Entries whose rows hold what was last written.
    pub unchanged: usize,
    /// The fingerprint of what was read: the write is refused when it changed since.
    pub fingerprint: String,
}

/// What `plan --refresh-only` shows: per resource, the entries whose rows were deleted or
/// changed outside reconcile. Reads the table and the state; never the sources.
pub fn refresh(scope: Scope<'_>) -> Result<Vec<Refresh>> {
    let all: Vec<usize> = (0..scope.specs.len()).collect();
    let reads = read_all(scope, &all)?;
    Ok(scope
        .specs
        .iter()
        .zip(&reads)
        .map(|(spec, current)| refresh_of(spec, current))
        .collect())
}

/// One resource's refresh: entries whose row is gone, or holds other values than written.
fn refresh_of(spec: &Compiled, current: &CurrentState) -> Refresh {
    use rayon::prelude::*;
    let rows = rows_by_key(current);
    let changes: Vec<Option<Refreshed>> = current
        .state
        .par_iter()
        .map(|s| {
            let kind = match rows.get(s.row_key.as_str()) {
                None => RefreshKind::Forget,
                Some(&ri) => {
                    let values = &current.rows[ri].values;
                    if values_hash_matches(values, &s.hash) {
                        return None;
                    }
                    RefreshKind::Accept {
                        hash: values_hash(values),
                    }
                }
            };
            Some(Refreshed {
                address: s.address.clone(),
                row_key: s.row_key.clone(),
                members: s.members.clone(),
                kind,
            })
        })
        .collect();
    let changes: Vec<Refreshed> = changes.into_iter().flatten().collect();
    Refresh {
        resource: spec.resource.clone(),
        table: spec.table.clone(),
        unchanged: current.state.len() - changes.len(),
        changes,
        fingerprint: current.fingerprint.clone(),
    }
}

/// Writes what [`refresh`] found, to the state table alone; refused when the table or the
/// state changed since it was read.
pub fn write_refresh(
    scope: Scope<'_>,
    refreshes: &[Refresh],
    lock_timeout: Duration,
) -> Result<()> {
    let edits: Vec<StateEdit<'_>> = scope
        .specs
        .iter()
        .zip(refreshes)
        .map(|(spec, r)| {
            let mut edit = StateEdit {
                spec,
                remove: Vec::new(),
                write: Vec::new(),
                fingerprint: r.fingerprint.clone(),
            };
            for c in &r.changes {
                match &c.kind {
                    RefreshKind::Forget => edit.remove.push(c.address.clone()),
                    RefreshKind::Accept { hash } => edit.write.push(NewEntry {
                        address: c.address.clone(),
                        row_key: c.row_key.clone(),
                        members: members_text(&c.members),
                        hash: hash.clone(),
                    }),
                }
            }
            edit
        })
        .collect();
    write_edits(scope, &edits, lock_timeout, "apply --refresh-only")
}

// ---- shared by the repairs and `import` ----

/// Reads the table and the state of each spec named by index, on one connection. A
/// reference column is read as the address of the row it points to, as plans read it (and as
/// the state's hashes were taken): a resource with references has every spec read, parents
/// first.
pub(super) fn read_all(scope: Scope<'_>, which: &[usize]) -> Result<Vec<CurrentState>> {
    let specs = scope.specs;
    let parents = which
        .iter()
        .any(|&i| !crate::plan::multi::dependencies(&specs[i]).is_empty());
    let order = if parents {
        crate::plan::multi::order(specs)?
    } else {
        which.to_vec()
    };
    let mut read: Vec<Option<CurrentState>> = vec![None; specs.len()];
    runtime()?.block_on(async {
        let db = Database::open_read(scope.url).await?;
        for &i in &order {
            let mut current = match read::read(&db, &specs[i]).await {
                Ok(current) => current,
                Err(e) => {
                    db.close().await;
                    return Err(e);
                }
            };
            let done: Vec<(&str, &CurrentState)> = read
                .iter()
                .enumerate()
                .filter_map(|(j, c)| c.as_ref().map(|c| (specs[j].resource.as_str(), c)))
                .collect();
            crate::plan::multi::map_current(&specs[i], &mut current, &done);
            read[i] = Some(current);
        }
        db.close().await;
        Ok(())
    })?;
    Ok(which
        .iter()
        .map(|&i| read[i].take().expect("every spec asked for is read"))
        .collect())
}

/// Writes the edits that change something in one transaction, holding each table's lock.
pub(super) fn write_edits(
    scope: Scope<'_>,
    edits: &[StateEdit<'_>],
    lock_timeout: Duration,
    command: &'static str,
) -> Result<()> {
    let edits: Vec<StateEdit<'_>> = edits.iter().filter(|e| !e.is_empty()).cloned().collect();
    if edits.is_empty() {
        return Ok(());
    }
    let mut locks: Vec<LockRequest> = Vec::new();
    for e in &edits {
        if !locks.iter().any(|l| l.table == e.spec.table) {
            locks.push(LockRequest::new(
                scope.url,
                &e.spec.table,
                lock_timeout,
                command,
            ));
        }
    }
    // From here, Ctrl-C rolls the transaction back instead of ending the process mid-way.
    let _catch = crate::db::interrupt::Catch::new();
    runtime()?
        .block_on(async {
            let db = Database::open_write(scope.url)
                .await
                .map_err(Failed::Error)?;
            let result = state_edit::write(&db, &edits, &locks).await;
            db.close().await;
            result
        })
        .map_err(|f| match f {
            Failed::Error(e) => e,
            Failed::Stale { index, .. } => refused(
                format!(
                    "table {:?} or the state of `{}` changed since they were read (an apply or \
                     another state command ran meanwhile); nothing was written",
                    edits[index].spec.table, edits[index].spec.resource
                ),
                Some("run the command again".into()),
            ),
        })
}

/// A refusal of a state command.
pub(super) fn refused(message: String, help: Option<String>) -> Error {
    Error::State { message, help }
}

/// The spec of a resource named on the command line.
fn spec_named(specs: &[Compiled], resource: &str) -> Result<usize> {
    specs
        .iter()
        .position(|s| s.resource == resource)
        .ok_or_else(|| unknown_resource(specs, resource))
}

fn unknown_resource(specs: &[Compiled], resource: &str) -> Error {
    let names: Vec<&str> = specs.iter().map(|s| s.resource.as_str()).collect();
    let help = match crate::suggest::did_you_mean(resource, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("the specs' resources are {}", quoted_list(&names)),
    };
    refused(format!("no spec has the resource `{resource}`"), Some(help))
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which spec an address names, and its key: `customers["acme"]` or, with one spec, the
/// bare key `acme` (as `explain` reads addresses).
pub(super) fn locate(specs: &[Compiled], text: &str) -> Result<(usize, String)> {
    if let Some((resource, key)) = address::parse(text) {
        if let Some(i) = specs.iter().position(|s| s.resource == resource) {
            return Ok((i, key));
        }
        if specs.len() != 1 {
            return Err(unknown_resource(specs, resource));
        }
        // One spec, and the address of another resource: the message names both.
        return Err(refused(
            format!(
                "{text} names resource `{resource}`, and the spec's resource is `{}`",
                specs[0].resource
            ),
            Some(format!(
                "write {}",
                address::display(&specs[0].resource, &key)
            )),
        ));
    }
    if specs.len() == 1 {
        return Ok((0, text.to_string()));
    }
    let names: Vec<&str> = specs.iter().map(|s| s.resource.as_str()).collect();
    Err(refused(
        format!("{text:?} names no resource, and the folder holds several"),
        Some(format!(
            "write the address with its resource, e.g. {} (resources: {})",
            address::display(names.first().copied().unwrap_or("customers"), text),
            quoted_list(&names)
        )),
    ))
}

/// The state entry at `key`, or the refusal naming the closest address there is.
pub(super) fn entry_of<'c>(
    spec: &Compiled,
    current: &'c CurrentState,
    key: &str,
) -> Result<&'c StateRow> {
    if let Some(s) = current.state.iter().find(|s| s.address == key) {
        return Ok(s);
    }
    let wanted = address::display(&spec.resource, key);
    let known: Vec<String> = current
        .state
        .iter()
        .map(|s| address::display(&spec.resource, &s.address))
        .collect();
    let help = match crate::suggest::did_you_mean(&wanted, known.iter().map(String::as_str)) {
        Some(s) => format!("did you mean {s}? `reconcile state list` lists the addresses"),
        None if known.is_empty() => format!(
            "the state holds no entry of `{}` yet: `reconcile apply` writes them",
            spec.resource
        ),
        None => "`reconcile state list` lists the addresses".into(),
    };
    Err(refused(
        format!("the state has no entry at {wanted}"),
        Some(help),
    ))
}

/// The entry that manages the row with primary key `row_key`, if any.
pub(super) fn entry_of_row<'c>(current: &'c CurrentState, row_key: &str) -> Option<&'c StateRow> {
    current.state.iter().find(|s| s.row_key == row_key)
}

/// The refusal of an address an entry already holds.
pub(super) fn taken_error(spec: &Compiled, taken: &StateRow) -> Error {
    let shown = address::display(&spec.resource, &taken.address);
    refused(
        format!(
            "{shown} is already in the state, managing row {}",
            taken.row_key
        ),
        Some(format!(
            "choose another address, or first forget it with `reconcile state rm {shown}`"
        )),
    )
}

/// An address key an entry may take: not empty, no control characters, short enough for the
/// state table, and not `#…` (which names unmanaged rows in plans).
pub(super) fn valid_key(resource: &str, key: &str) -> Result<()> {
    let problem = if key.is_empty() {
        Some("is empty")
    } else if key.chars().any(crate::render::safe::is_unsafe) {
        Some("holds a control character")
    } else if key.len() > 2 * address::MAX_SLUG {
        Some("is longer than 200 bytes")
    } else if key.starts_with('#') {
        Some("starts with `#`, which plans use for rows reconcile does not manage")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(refused(
            format!(
                "{} is not a valid address: its key {p}",
                crate::render::safe::term(&address::display(resource, key))
            ),
            Some("an address is a slug such as customers[\"acme-pty\"]".into()),
        )),
    }
}

/// The rows by their primary key as text.
pub(super) fn rows_by_key(current: &CurrentState) -> HashMap<String, usize> {
    current
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (key_text(&r.key), i))
        .collect()
}

/// The state table's JSON list of members.
pub(super) fn members_text(members: &[String]) -> String {
    serde_json::to_string(members).expect("a list of text serialises")
}

/// A resource's entries (those whose address `keep` accepts), with their rows when `values`.
fn resource_state(
    spec: &Compiled,
    current: &CurrentState,
    values: bool,
    keep: impl Fn(&str) -> bool,
) -> ResourceState {
    let rows = if values {
        rows_by_key(current)
    } else {
        HashMap::new()
    };
    let mut entries: Vec<Entry> = current
        .state
        .iter()
        .filter(|s| keep(&s.address))
        .map(|s| Entry {
            address: s.address.clone(),
            row_key: s.row_key.clone(),
            members: s.members.clone(),
            row: match rows.get(&s.row_key) {
                _ if !values => Row::NotRead,
                None => Row::Gone,
                Some(&ri) => {
                    let values = current.rows[ri].values.clone();
                    Row::Held {
                        as_written: values_hash_matches(&values, &s.hash),
                        values,
                    }
                }
            },
        })
        .collect();
    entries.sort_by(|a, b| a.address.cmp(&b.address));
    ResourceState {
        resource: spec.resource.clone(),
        table: spec.table.clone(),
        fields: spec.fields.iter().map(|f| f.name.clone()).collect(),
        sensitive: spec.sensitive.clone(),
        entries,
    }
}

/// What the next plan does with a row no longer managed, as far as the row and the spec tell:
/// the diff adopts an unmanaged row by `target.key`, then by the matcher.
fn next_of(spec: &Compiled, row: &Row) -> Next {
    let Row::Held { values, .. } = row else {
        return Next::RowGone;
    };
    if let Some(k) = spec.key
        && !values[k].is_null()
    {
        return Next::ByKey {
            field: spec.fields[k].name.clone(),
            value: values[k].clone(),
            sensitive: spec.sensitive.get(k).copied().unwrap_or(false),
        };
    }
    if spec.matching.comparisons.is_empty() {
        Next::Nothing
    } else {
        Next::ByMatcher
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resource: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: {resource}\ntarget:\n  table: {resource}\n  key: email\n  \
                 fields:\n    name: {{ type: text }}\n    email: {{ type: email }}\nsources:\n  \
                 s:\n    id: name\n    inline: [{{ name: x }}]\n    fields: {{ name: name }}\n"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    #[test]
    fn addresses_name_their_resource_or_the_only_one() {
        let one = [spec("customers")];
        assert_eq!(locate(&one, "acme").unwrap(), (0, "acme".into()));
        assert_eq!(
            locate(&one, r#"customers["a\"b"]"#).unwrap(),
            (0, "a\"b".into())
        );
        let err = locate(&one, r#"custmers["acme"]"#).unwrap_err().to_string();
        assert!(err.contains("names resource `custmers`"), "{err}");
        let two = [spec("customers"), spec("branches")];
        assert_eq!(locate(&two, r#"branches["x"]"#).unwrap(), (1, "x".into()));
        let err = locate(&two, "x").unwrap_err().to_string();
        assert!(err.contains("names no resource"), "{err}");
        let Error::State { help, .. } = locate(&two, r#"branchs["x"]"#).unwrap_err() else {
            panic!("a state refusal")
        };
        assert_eq!(help.as_deref(), Some("did you mean `branches`?"));
    }

    #[test]
    fn unknown_entries_suggest_the_closest_address() {
        let spec = spec("customers");
        let current = CurrentState {
            state: vec![
                StateRow::new(["barchefz", "11", "[]", "h"], true),
                StateRow::new(["casa-bella", "5", "[]", "h"], true),
            ],
            ..CurrentState::default()
        };
        assert_eq!(
            entry_of(&spec, &current, "casa-bella").unwrap().row_key,
            "5"
        );
        let Error::State { message, help } = entry_of(&spec, &current, "barchef").unwrap_err()
        else {
            panic!("a state refusal")
        };
        assert_eq!(message, r#"the state has no entry at customers["barchef"]"#);
        assert!(
            help.unwrap()
                .starts_with(r#"did you mean customers["barchefz"]?"#),
            "the closest address is suggested"
        );
    }

    #[test]
    fn keys_must_be_printable_short_and_not_row_names() {
        assert!(valid_key("c", "acme-2").is_ok());
        for bad in ["", "#11", "a\u{1b}b", &"x".repeat(201)] {
            assert!(valid_key("c", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refresh_forgets_gone_rows_and_accepts_changed_ones() {
        use crate::state::CurrentRow;
        let spec = spec("customers");
        let kept = vec![Value::Text("Ann".into()), Value::Null];
        let edited = vec![Value::Text("Bob B".into()), Value::Null];
        let was = vec![Value::Text("Bob".into()), Value::Null];
        let current = CurrentState {
            rows: vec![
                CurrentRow {
                    key: Value::Int(1),
                    values: kept.clone(),
                    digest: None,
                },
                CurrentRow {
                    key: Value::Int(2),
                    values: edited.clone(),
                    digest: None,
                },
            ],
            state: vec![
                StateRow::new(["ann", "1", "[\"s:1\"]", &values_hash(&kept)], true),
                StateRow::new(["bob", "2", "[\"s:2\"]", &values_hash(&was)], true),
                StateRow::new(["gone", "3", "[\"s:3\"]", &values_hash(&was)], true),
            ],
            ..CurrentState::default()
        };
        let r = refresh_of(&spec, &current);
        assert_eq!(r.unchanged, 1);
        let kinds: Vec<(&str, &RefreshKind)> = r
            .changes
            .iter()
            .map(|c| (c.address.as_str(), &c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "bob",
                    &RefreshKind::Accept {
                        hash: values_hash(&edited)
                    }
                ),
                ("gone", &RefreshKind::Forget)
            ]
        );
        assert_eq!(members_text(&r.changes[0].members), r#"["s:2"]"#);
    }
}
