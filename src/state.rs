//! What the database holds now, as plain data: the target table's columns, unique
//! constraints and rows, and this resource's entries in the state table. The database layer
//! fills it (`db/read.rs`); planning, checks, saved plans and the shortcut only read it.

use std::collections::HashSet;

use crate::fingerprint::{Prints, StateDigest, state_print};
use crate::value::Value;

/// What the database holds now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CurrentState {
    pub table_exists: bool,
    /// The state table exists (it is created by the first apply on a database).
    pub state_table_exists: bool,
    /// The target table's columns, when it exists.
    pub columns: Vec<Column>,
    /// Its unique constraints on plain columns, other than the primary key.
    pub unique: Vec<Unique>,
    /// The columns of its primary key, in order (empty when it has none).
    pub primary_key_columns: Vec<String>,
    /// Its foreign keys of one column.
    pub foreign_keys: Vec<ForeignKey>,
    /// The fields whose column the existing table lacks: read as empty, and added by the
    /// apply (see [`crate::plan::schema`]).
    pub missing_columns: Vec<MissingColumn>,
    /// Whether the primary key is an integer column.
    pub integer_key: bool,
    pub rows: Vec<CurrentRow>,
    /// With `on_missing: soft_delete`: the primary keys (as text) of the rows whose
    /// soft-delete column holds the soft-delete value.
    pub soft_deleted: HashSet<String>,
    pub state: Vec<StateRow>,
    /// Hash of everything read: a saved plan is stale when this changes.
    pub fingerprint: String,
    /// What the fingerprint is made of, so it can be told again for another `table_exists`.
    pub prints: Prints,
}

impl CurrentState {
    /// The state of a database that does not exist yet: no table, no state, nothing to read.
    pub fn empty() -> CurrentState {
        CurrentState {
            integer_key: true,
            fingerprint: Prints::default().finish(false),
            ..CurrentState::default()
        }
    }

    /// The column named `name` (compared without regard to case, as SQL does).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The columns the existing table lacks, as `spec` names them.
    pub fn lacking<'s>(&self, spec: &'s crate::spec::compiled::Compiled) -> Vec<&'s str> {
        self.missing_columns
            .iter()
            .map(|m| spec.fields[m.field].column.as_str())
            .collect()
    }

    /// Whether field `f`'s column is missing from the existing table.
    pub fn lacks(&self, f: usize) -> bool {
        self.missing_columns.iter().any(|m| m.field == f)
    }

    /// Whether `column` alone is unique in the table: its primary key, or a unique
    /// constraint of that one column.
    pub fn unique_column(&self, column: &str) -> bool {
        let one = |cols: &[String]| cols.len() == 1 && cols[0].eq_ignore_ascii_case(column);
        one(&self.primary_key_columns) || self.unique.iter().any(|u| one(&u.columns))
    }
}

/// A row of the target table.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRow {
    /// The primary key.
    pub key: Value,
    /// Values by target field index (empty when only the digest was kept).
    pub values: Vec<Value>,
    /// The SHA-256 of the values as the state table keeps it
    /// ([`crate::fingerprint::values_hash`]), when the read kept that instead of the values:
    /// all the no-change shortcut needs of a row.
    pub digest: Option<Box<[u8; 32]>>,
}

/// An entry of the state table: a row this tool manages.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    pub address: String,
    /// The managed row's primary key, as text.
    pub row_key: String,
    /// The source records the row was built from (`source:id`).
    pub members: Vec<String>,
    /// Hash of the values last applied, to tell drift from source changes.
    pub hash: String,
    /// The hash of the entry as stored (see [`state_print`]): summed into the fingerprint and
    /// into the digest of the state an apply leaves.
    pub print: u128,
}

impl StateRow {
    /// An entry from its columns as stored (address, row key, members, hash), the members (a
    /// JSON list of `source:id`) parsed only when `members` is set.
    pub fn new(parts: [&str; 4], members: bool) -> StateRow {
        let [address, row_key, members_text, hash] = parts;
        StateRow {
            address: address.to_string(),
            row_key: row_key.to_string(),
            members: if members {
                serde_json::from_str(members_text).unwrap_or_default()
            } else {
                Vec::new()
            },
            hash: hash.to_string(),
            print: state_print(parts),
        }
    }
}

/// The digest of a resource's state entries ([`StateDigest`]), on every core.
pub fn state_digest(state: &[StateRow]) -> StateDigest {
    use rayon::prelude::*;
    StateDigest::of(state.par_iter().map(|s| s.print))
}

/// A column of an existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The declared type, as the catalog names it.
    pub data_type: String,
    pub not_null: bool,
    /// The database fills it when an insert leaves it out (a default, an identity, ...).
    pub has_default: bool,
    /// Generated by the database on insert: identity, serial, AUTO_INCREMENT, rowid.
    pub generated: bool,
    /// The most characters a CHAR/VARCHAR column holds (PostgreSQL, MySQL).
    pub max_length: Option<i64>,
    /// The digits after the point a NUMERIC/DECIMAL column keeps (PostgreSQL, MySQL); `None`
    /// for other types and PostgreSQL's unconstrained NUMERIC.
    pub scale: Option<i64>,
}

/// A field whose column an existing table lacks, and the type the column would be added
/// with ([`crate::db::Dialect::column_type`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumn {
    /// Index of the field.
    pub field: usize,
    pub sql_type: String,
}

/// A foreign key of one column: `column` refers to `references` of `table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub column: String,
    pub table: String,
    /// `None` when the catalog does not say (SQLite's key naming no column refers to the
    /// other table's primary key).
    pub references: Option<String>,
}

/// A unique constraint (or unique index) on plain columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    pub name: String,
    pub columns: Vec<String>,
}

/// Text form of a primary key, as stored in the state table.
pub fn key_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
    }
}

/// The state table's `members` column: a JSON list of `source:id`.
pub fn members_json(members: &[crate::merge::SourceRef]) -> String {
    let mut out = String::with_capacity(2 + members.len() * 24);
    out.push('[');
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for part in [m.source.as_str(), ":", m.id.as_str()] {
            for c in part.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 => {
                        use std::fmt::Write as _;
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}
