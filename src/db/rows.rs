//! What crosses the database edge, as plain values: an argument bound to a statement
//! ([`Arg`]), a column as read ([`Cell`], [`Cast`]), and how the target table and the state
//! entries are read and taken apart into rows ([`TableRead`], [`StateRead`], [`RowShape`],
//! [`add_row`]). Shared by the [`super::backend::Backend`] trait, its three implementations,
//! the statements and the reads, and depending on none of them.

use std::borrow::Cow;

use super::{Dialect, STATE_TABLE};
use crate::fingerprint::Prints;
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::state::{CurrentRow, StateRow, key_text};
use crate::types;
use crate::value::Value;

/// A value bound to one parameter of a statement. NULLs carry the type they stand for:
/// PostgreSQL types every parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
    NullText,
    NullInt,
    NullBool,
}

impl<'a> Arg<'a> {
    /// A field's value as its column receives it: an empty text value bound for a NOT NULL
    /// column is written as `''` ([`super::check::blank_for_null`]).
    pub(crate) fn value(v: &'a Value, kind: FieldType, not_null: bool) -> Arg<'a> {
        match (v, kind) {
            (Value::Null, k) if not_null && super::check::blank_for_null(k) => Arg::Text(""),
            (Value::Null, FieldType::Integer) => Arg::NullInt,
            (Value::Null, FieldType::Boolean) => Arg::NullBool,
            (Value::Null, _) => Arg::NullText,
            (Value::Text(s), _) => Arg::Text(s),
            (Value::Int(i), _) => Arg::Int(*i),
            (Value::Bool(b), _) => Arg::Bool(*b),
        }
    }

    /// A primary key: an integer, or its text as the state table keeps it ([`key_text`]).
    pub(crate) fn key(v: &'a Value) -> Arg<'a> {
        match v {
            Value::Int(i) => Arg::Int(*i),
            Value::Text(s) => Arg::Text(s),
            Value::Bool(true) => Arg::Text("true"),
            Value::Bool(false) => Arg::Text("false"),
            Value::Null => Arg::Text(""),
        }
    }

    /// A soft-delete value: a boolean, an integer or text.
    pub(crate) fn flag(v: &'a Value) -> Arg<'a> {
        match v {
            Value::Bool(b) => Arg::Bool(*b),
            other => Arg::key(other),
        }
    }
}

/// What a column of a query is read as: every column the tool reads is cast to one of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cast {
    Int,
    Text,
}

/// One column as the database returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl Cell<'_> {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Text(t) => t.parse().ok(),
            Cell::Null => None,
        }
    }

    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Text(t) => Some(Cow::Borrowed(t)),
            Cell::Int(i) => Some(Cow::Owned(i.to_string())),
            Cell::Null => None,
        }
    }

    /// The cell as an owned value: an integer, text or NULL.
    pub(crate) fn value(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Int(*i),
            Cell::Text(t) => Value::Text((*t).to_string()),
        }
    }
}

/// What a read keeps of each row of the target table, besides adding it to the fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// Nothing: the fingerprint is all.
    Nothing,
    /// The key and the values.
    Values,
    /// The key and the digest of the values ([`CurrentRow::digest`]), not the values.
    Digest,
    /// No row, only the sum of their canonical prints ([`Prints::canonical`]): what the
    /// no-change shortcut compares with the sum an apply left.
    Sum,
    /// No row, the sum of their canonical prints and that of their [`Prints::checked`]
    /// prints: what an apply reads back of the rows it wrote.
    Check,
}

/// How to read the target table: its rows, as [`RowShape`] says, fingerprinted, and kept
/// as `keep` says.
pub(crate) struct TableRead<'a> {
    pub spec: &'a Compiled,
    pub d: Dialect,
    pub shape: RowShape,
    pub keep: Kept,
    /// The fields whose column the table lacks: read as NULL.
    pub absent: Vec<usize>,
}

impl TableRead<'_> {
    /// The SELECT that reads the primary key and every mapped column.
    pub(crate) fn select(&self) -> String {
        format!(
            "SELECT {} FROM {}",
            self.columns().join(", "),
            self.d.quote(&self.spec.table)
        )
    }

    /// The primary key and every mapped column, read as integers or text.
    pub(crate) fn columns(&self) -> Vec<String> {
        let (d, spec) = (self.d, self.spec);
        let mut cols = vec![if self.shape.integer_key {
            d.as_integer(&spec.primary_key)
        } else {
            d.as_text(&spec.primary_key)
        }];
        for (i, f) in spec.fields.iter().enumerate() {
            let integer = f.kind == FieldType::Integer;
            cols.push(if self.absent.contains(&i) {
                d.null_as(integer).to_string()
            } else if integer {
                d.as_integer(&f.column)
            } else {
                d.as_text(&f.column)
            });
        }
        cols
    }
}

/// How to read a resource's state entries; their members are parsed only when `members`, and
/// the entries kept only when `entries` (otherwise only their prints are summed).
pub(crate) struct StateRead<'a> {
    pub d: Dialect,
    pub resource: &'a str,
    pub members: bool,
    pub entries: bool,
}

/// Adds one state entry, given by its four columns, to the prints and, with `keep`, to the
/// entries (its members parsed with `members`).
pub(crate) fn add_state(
    parts: [&str; 4],
    members: bool,
    keep: bool,
    prints: &mut Prints,
    entries: &mut Vec<StateRow>,
) {
    if !keep {
        prints.state(crate::fingerprint::state_print(parts));
        return;
    }
    let entry = StateRow::new(parts, members);
    prints.state(entry.print);
    entries.push(entry);
}

impl StateRead<'_> {
    /// The SELECT of the resource's entries, the resource given as `resource` (a placeholder
    /// or a literal). A write needs the entries in no particular order (nothing it does with
    /// them depends on it), which spares the server a walk of the index in heap order; a plan
    /// reads them by address.
    pub(crate) fn select(&self, resource: &str) -> String {
        let order = if self.members {
            " ORDER BY address"
        } else {
            ""
        };
        format!(
            "SELECT address, row_key, members, hash FROM {} WHERE resource = {resource}{order}",
            self.d.quote(STATE_TABLE),
        )
    }
}

/// What a row read from the table is made of: whether the primary key is an integer, and the
/// type of each mapped field, in order. Owned, so that rows can be taken apart on other threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowShape {
    pub integer_key: bool,
    pub kinds: Vec<FieldType>,
}

impl RowShape {
    pub(crate) fn new(spec: &Compiled, integer_key: bool) -> RowShape {
        RowShape {
            integer_key,
            kinds: spec.fields.iter().map(|f| f.kind).collect(),
        }
    }

    /// The number of columns read: the primary key and every field.
    pub(crate) fn width(&self) -> usize {
        self.kinds.len() + 1
    }

    /// Whether column `i` (0 is the primary key) is read as an integer.
    pub(crate) fn integer(&self, i: usize) -> bool {
        if i == 0 {
            self.integer_key
        } else {
            self.kinds[i - 1] == FieldType::Integer
        }
    }

    /// What each column is read as.
    pub(crate) fn casts(&self) -> Vec<Cast> {
        (0..self.width())
            .map(|i| {
                if self.integer(i) {
                    Cast::Int
                } else {
                    Cast::Text
                }
            })
            .collect()
    }
}

/// Adds one row read from the table (primary key first, then every mapped field) to the
/// fingerprint and, as `keep` says, to the rows.
pub(crate) fn add_row(
    cells: &[Cell<'_>],
    shape: &RowShape,
    keep: Kept,
    prints: &mut Prints,
    buf: &mut Vec<u8>,
    rows: &mut Vec<CurrentRow>,
) {
    prints.row(buf, |p| {
        for (i, c) in cells.iter().enumerate() {
            if shape.integer(i) {
                p.int(c.int());
            } else {
                p.text(c.text().as_deref());
            }
        }
    });
    if keep == Kept::Nothing {
        return;
    }
    let key = if shape.integer_key {
        cells[0].int().map_or(Value::Null, Value::Int)
    } else {
        cells[0]
            .text()
            .map_or(Value::Null, |t| Value::Text(t.into_owned()))
    };
    let values: Vec<Value> = shape
        .kinds
        .iter()
        .zip(&cells[1..])
        .map(|(&kind, c)| match kind {
            FieldType::Integer => c.int().map_or(Value::Null, Value::Int),
            kind => from_database(kind, c.text().map(|t| t.into_owned())),
        })
        .collect();
    prints.canonical_row(crate::fingerprint::row_print_in(buf, &key, &values));
    if keep == Kept::Check {
        let hash = crate::fingerprint::values_hash(&values);
        prints.checked_row(crate::fingerprint::entry_check(&key_text(&key), &hash));
    }
    rows.push(match keep {
        Kept::Sum | Kept::Check => return,
        Kept::Digest => CurrentRow {
            key,
            digest: Some(Box::new(crate::fingerprint::values_digest(&values))),
            values: Vec::new(),
        },
        _ => CurrentRow {
            key,
            values,
            digest: None,
        },
    });
}

/// A column value read as text, brought to the canonical form of its field type. A value that
/// does not parse (an application wrote something odd) is kept as it is, so the plan shows it
/// being replaced rather than hiding it.
pub(super) fn from_database(kind: FieldType, text: Option<String>) -> Value {
    let Some(text) = text.filter(|s| !s.is_empty()) else {
        return Value::Null;
    };
    let canonical = match kind {
        FieldType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => return Value::Bool(true),
            "0" | "f" | "false" => return Value::Bool(false),
            _ => None,
        },
        FieldType::Decimal => types::decimal(&text),
        FieldType::Date => types::date(&text).or_else(|| {
            // A DATETIME column holding midnight reads as a date.
            types::timestamp(&text).and_then(|t| t.strip_suffix(" 00:00:00").map(str::to_string))
        }),
        FieldType::Timestamp => types::timestamp(&text),
        FieldType::Json => types::json_text(&text),
        FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::Integer => None,
    };
    Value::Text(canonical.unwrap_or(text))
}
