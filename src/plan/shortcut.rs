//! The no-change shortcut: a plan that need not read and match the sources, because nothing
//! the last apply was made from has changed and the table still holds what it wrote.
//!
//! Every apply records, per resource, an *inputs fingerprint* (the spec's bytes, the values
//! of the environment variables it names, every source file's path and bytes, the reconcile
//! version and the options that change a plan) and a digest of the state entries it left
//! behind, with the parts of its plan that are not changes (excluded records, pairs to
//! review, kept rows). A later plan of the same resource whose inputs fingerprint is the same
//! resolves the sources to the very same desired records, so when the table still holds
//! exactly what that apply wrote, the full plan is known without resolving: no changes.
//!
//! "Exactly what it wrote" is checked row by row, as the full plan would: the state digest is
//! the one recorded (no apply, of any version, changed the state since), every managed row
//! still exists and its values hash to the hash the state keeps (rows kept although their
//! record left the sources need only exist), and, when the spec owns the table, no row is
//! unmanaged. Rows the tool does not manage otherwise play no part: every desired record is
//! paired with its row through the state, before any row is looked for by key or matcher. Anything else takes the full path, whose result is unchanged.
//! A spec with a query source has no cheap fingerprint and never takes the shortcut.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Action, Change, ExcludedItem, Missing, Options, Plan, Reason, ReviewItem};
use crate::db::read::{CurrentState, StateRow, values_hash};
use crate::merge::SourceRef;
use crate::spec::compiled::{Compiled, Input};
use crate::value::Value;

/// What an apply records for its resource, to let the next plan skip resolving.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The inputs fingerprint the applied plan was made from.
    pub inputs: String,
    /// The digest of the resource's state entries the apply left ([`state_digest`]).
    pub state: String,
    /// When the apply ran (RFC 3339).
    pub applied_at: String,
    /// The parts of the applied plan that are not changes.
    pub aside: Aside,
}

/// The parts of a plan that are not changes, as recorded with the inputs fingerprint: what a
/// no-change plan shows besides "No changes".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aside {
    pub excluded: Vec<ExcludedItem>,
    pub review: Vec<ReviewItem>,
    pub kept: Vec<Missing>,
}

impl Aside {
    /// What the plan leaves aside. A plan that deletes its missing rows keeps none of them.
    pub fn of(plan: &Plan) -> Aside {
        Aside {
            excluded: plan.excluded.clone(),
            review: plan.review.clone(),
            kept: plan.missing.clone(),
        }
    }
}

/// Says, in a plan, that it was made by the shortcut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortcut {
    /// When the apply the plan relies on ran.
    pub applied_at: String,
}

/// The inputs fingerprint of a spec for a run with `options`, or `None` when the spec has no
/// cheap one (a query source) or a file cannot be read (the full path then reports it).
///
/// It is taken before the sources are read for a plan, so a source edited while planning
/// makes the recorded fingerprint describe the older bytes: the next plan then misses the
/// shortcut rather than trusting a table built from other data.
pub fn inputs_fingerprint(spec: &Compiled, options: Options) -> Option<String> {
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part(b"reconcile inputs 1");
    part(env!("CARGO_PKG_VERSION").as_bytes());
    part(&[u8::from(options.prune), u8::from(options.allow_mass_delete)]);
    let text = std::fs::read(&spec.file).ok()?;
    part(&text);
    // `${VAR}` in the spec: the values it expands to are part of what it says.
    for name in env_names(&String::from_utf8_lossy(&text)) {
        part(name.as_bytes());
        match crate::spec::load::expand_str(&format!("${{{name}}}")) {
            Ok(v) => part(format!("={v}").as_bytes()),
            Err(_) => part(b"(unset)"),
        }
    }
    for source in &spec.sources {
        part(source.name.as_bytes());
        match &source.input {
            Input::File { path, .. } => {
                part(absolute(path).to_string_lossy().as_bytes());
                part(&file_digest(path)?);
            }
            // Inline records live in the spec's bytes.
            Input::Inline(_) => part(b"inline"),
            Input::Sql { .. } => return None,
        }
    }
    Some(hex::encode(h.finalize()))
}

/// SHA-256 of a file's bytes, read in blocks so a large source is never held whole.
fn file_digest(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(h.finalize().to_vec())
}

fn absolute(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The expressions inside `${…}` in a text (a name, or a name with a `:-default`).
fn env_names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        match rest.find('}') {
            Some(end) => {
                out.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// A digest of a resource's state entries, independent of the order they were read in.
pub fn state_digest(state: &[StateRow]) -> String {
    let mut order: Vec<&StateRow> = state.iter().collect();
    order.sort_by(|a, b| a.address.cmp(&b.address));
    let mut h = Sha256::new();
    let mut part = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for s in order {
        part(&s.address);
        part(&s.row_key);
        part(&s.members.len().to_string());
        for m in &s.members {
            part(m);
        }
        part(&s.hash);
    }
    hex::encode(h.finalize())
}

/// The state entries after an apply: those read before it, with the entries it wrote
/// (address, row key, members as JSON, hash) replacing theirs and the addresses it deleted
/// removed.
pub fn state_after<'a>(
    before: &[StateRow],
    written: impl Iterator<Item = (&'a str, &'a str, &'a str, &'a str)>,
    deleted: impl Iterator<Item = &'a str>,
) -> Vec<StateRow> {
    let mut by_address: std::collections::HashMap<String, StateRow> = before
        .iter()
        .map(|s| (s.address.clone(), s.clone()))
        .collect();
    for (address, row_key, members, hash) in written {
        by_address.insert(
            address.to_string(),
            StateRow {
                address: address.to_string(),
                row_key: row_key.to_string(),
                // Read back the way the state reader reads it.
                members: serde_json::from_str(members).unwrap_or_default(),
                hash: hash.to_string(),
            },
        );
    }
    for address in deleted {
        by_address.remove(address);
    }
    by_address.into_values().collect()
}

/// Why the shortcut was not taken, for `--explain`-like diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No apply recorded inputs for this resource (or it was made with other options).
    NoRecord,
    /// The spec, a source, an environment variable or the version differs.
    InputsChanged,
    /// The state entries differ from those the last apply left.
    StateChanged,
    /// The table does not exist.
    NoTable,
    /// A managed row was deleted outside reconcile.
    RowVanished,
    /// A managed row's values differ from those applied.
    RowChanged,
    /// The spec owns the table and a row is not managed.
    Unmanaged,
}

/// Whether the shortcut applies: the same inputs as the last apply, the state it left, and
/// every managed row as it wrote it. Builds nothing.
pub fn check(
    spec: &Compiled,
    inputs: &str,
    record: Option<&Record>,
    current: &CurrentState,
) -> Result<(), Miss> {
    let record = record.ok_or(Miss::NoRecord)?;
    if record.inputs != inputs {
        return Err(Miss::InputsChanged);
    }
    if !current.table_exists {
        return Err(Miss::NoTable);
    }
    if record.state != state_digest(&current.state) {
        return Err(Miss::StateChanged);
    }
    // The reader sorts rows by key: find a state entry's row without building an index.
    let row_of = |row_key: &str| row_of(current, row_key);
    let kept: HashSet<&str> = record
        .aside
        .kept
        .iter()
        .map(|m| m.address.as_str())
        .collect();
    let mut managed: HashSet<usize> = HashSet::with_capacity(current.state.len());
    for s in &current.state {
        // A kept row the full plan would no longer list (it was deleted) differs too.
        let Some(ri) = row_of(&s.row_key) else {
            return Err(Miss::RowVanished);
        };
        // A kept row's values are not the plan's business (no source holds its record), but
        // any other managed row must hold what was applied.
        if !kept.contains(s.address.as_str()) && values_hash(&current.rows[ri].values) != s.hash {
            return Err(Miss::RowChanged);
        }
        managed.insert(ri);
    }
    if spec.owns_table && managed.len() != current.rows.len() {
        return Err(Miss::Unmanaged);
    }
    Ok(())
}

/// The index of the row a state entry points to. The reader sorts rows by key, so no index
/// needs building.
fn row_of(current: &CurrentState, row_key: &str) -> Option<usize> {
    let key = if current.integer_key {
        Value::Int(row_key.parse().ok()?)
    } else {
        Value::Text(row_key.to_string())
    };
    current.rows.binary_search_by(|r| r.key.cmp(&key)).ok()
}

/// The plan, when the shortcut applies: every managed row up to date, and the recorded
/// excluded records, pairs to review and kept rows. Otherwise, why not.
pub fn plan(
    spec: &Compiled,
    inputs: &str,
    record: Option<&Record>,
    current: &CurrentState,
) -> Result<Plan, Miss> {
    check(spec, inputs, record, current)?;
    let record = record.ok_or(Miss::NoRecord)?;
    let kept: HashSet<&str> = record
        .aside
        .kept
        .iter()
        .map(|m| m.address.as_str())
        .collect();
    let row_of = |row_key: &str| row_of(current, row_key);

    let width = spec.fields.len();
    let changes = current
        .state
        .iter()
        .filter(|s| !kept.contains(s.address.as_str()))
        .filter_map(|s| {
            let row = &current.rows[row_of(&s.row_key)?];
            Some(Change {
                address: s.address.clone(),
                action: Action::NoOp,
                reason: Reason::UpToDate,
                row_key: Some(row.key.clone()),
                before: Some(row.values.clone()),
                after: Some(row.values.clone()),
                changed: Vec::new(),
                // Which source each value came from is only known by resolving.
                provenance: vec![None; width],
                members: s.members.iter().map(|m| source_ref(m)).collect(),
                write_state: false,
            })
        })
        .collect();
    Ok(Plan {
        resource: spec.resource.clone(),
        table: spec.table.clone(),
        fields: spec
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.column.clone()))
            .collect(),
        create_table: false,
        changes,
        missing: record.aside.kept.clone(),
        excluded: record.aside.excluded.clone(),
        review: record.aside.review.clone(),
        fingerprint: current.fingerprint.clone(),
        rows_read: current.rows.len(),
        sensitive: spec.sensitive.clone(),
        soft_delete: spec.soft_delete.clone(),
        // What a saved plan uses to name the rows that changed: the shortcut never makes one.
        read: Vec::new(),
        inputs: Some(inputs.to_string()),
        shortcut: Some(Shortcut {
            applied_at: record.applied_at.clone(),
        }),
    })
}

/// `source:id` back into its parts.
fn source_ref(text: &str) -> SourceRef {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(address: &str, hash: &str) -> StateRow {
        StateRow {
            address: address.into(),
            row_key: "1".into(),
            members: vec!["a:1".into()],
            hash: hash.into(),
        }
    }

    #[test]
    fn state_digest_ignores_order_and_sees_every_part() {
        let (a, b) = (entry("a", "h1"), entry("b", "h2"));
        assert_eq!(
            state_digest(&[a.clone(), b.clone()]),
            state_digest(&[b.clone(), a.clone()])
        );
        assert_ne!(
            state_digest(&[a.clone(), b.clone()]),
            state_digest(&[a.clone(), entry("b", "h3")])
        );
        assert_ne!(
            state_digest(std::slice::from_ref(&a)),
            state_digest(&[a, b])
        );
    }

    #[test]
    fn state_after_replaces_written_and_drops_deleted() {
        let before = vec![entry("a", "h1"), entry("b", "h2"), entry("c", "h3")];
        let after = state_after(
            &before,
            [("b", "7", "[\"s:2\"]", "h9")].into_iter(),
            ["c"].into_iter(),
        );
        let mut expected = vec![
            entry("a", "h1"),
            StateRow {
                address: "b".into(),
                row_key: "7".into(),
                members: vec!["s:2".into()],
                hash: "h9".into(),
            },
        ];
        assert_eq!(state_digest(&after), state_digest(&expected));
        expected.pop();
        assert_ne!(state_digest(&after), state_digest(&expected));
    }

    #[test]
    fn environment_names_are_found() {
        assert_eq!(env_names("a: ${X}\nb: ${Y:-d} ${"), vec!["X", "Y:-d"]);
    }
}
