//! Reading the current state: the target table's rows (the columns the spec maps, plus the
//! primary key) and this resource's entries in the state table. Every value is read through a
//! cast to text or integer, so what the application stored compares cleanly with the spec.
//!
//! `read_on` reads through any `Backend`; each backend streams the rows its own fastest
//! way. The checks that the table suits the spec run on the way.

use super::backend::{Arg, Backend, Cast, Cell};
use super::error::ReadError;
use super::lock::LockRequest;
use super::{Database, Dialect, Pool, STATE_TABLE, claims};
use crate::error::{Error, Result};
use crate::fingerprint::Prints;
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::state::{Column, CurrentRow, CurrentState, Unique, key_text};
use crate::types;
use crate::value::Value;

/// Reads the current state for a spec. A database that does not exist yet reads as empty.
pub async fn read(db: &Database, spec: &Compiled) -> Result<CurrentState> {
    read_maybe_locked(db, spec, None).await
}

/// Reads the current state while holding the lock (`plan --lock`): waits for a running apply
/// to finish instead of planning against rows about to change.
pub async fn read_locked(
    db: &Database,
    spec: &Compiled,
    req: &LockRequest,
) -> Result<CurrentState> {
    read_maybe_locked(db, spec, Some(req)).await
}

async fn read_maybe_locked(
    db: &Database,
    spec: &Compiled,
    lock: Option<&LockRequest>,
) -> Result<CurrentState> {
    let result = match &db.pool {
        None => return Ok(CurrentState::empty()),
        Some(Pool::Sqlite(p)) => read_pool(db, p, spec, lock).await,
        Some(Pool::Postgres(p)) => read_pool(db, p, spec, lock).await,
        Some(Pool::MySql(p)) => read_pool(db, p, spec, lock).await,
    };
    result.map_err(|e| match e {
        ReadError::Sql(e) => db.error(e),
        ReadError::Spec(e) => e,
    })
}

/// Reads on a connection of `pool`, in a transaction holding `lock` when one is asked for.
async fn read_pool<B: Backend>(
    db: &Database,
    pool: &sqlx::Pool<B>,
    spec: &Compiled,
    lock: Option<&LockRequest>,
) -> std::result::Result<CurrentState, ReadError> {
    let mut conn = pool.acquire().await?;
    let d = db.dialect;
    let Some(req) = lock else {
        return read_on::<B>(&mut conn, d, spec, Keep::Everything).await;
    };
    let result = async {
        let mut tx = B::begin_locked(&mut conn, req)
            .await
            .map_err(ReadError::Spec)?;
        let state = read_on::<B>(&mut tx, d, spec, Keep::Everything).await;
        let _ = tx.rollback().await;
        state
    }
    .await;
    B::release(&mut conn, req).await;
    result
}

/// How much of what is read is kept besides the fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The rows of the table and the members of state entries, in order: all a plan needs.
    Everything,
    /// Neither (unless the table has unique constraints, which the checks need the rows
    /// for): all a write needs.
    Prints,
}

/// Reads the current state through a connection or transaction (`&mut *tx`). The target
/// table is streamed: rows are fingerprinted and turned into values as they arrive.
pub(crate) async fn read_on<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    keep: Keep,
) -> std::result::Result<CurrentState, ReadError> {
    let table = columns::<B>(conn, d, &spec.table).await?;
    let mut state = CurrentState {
        table_exists: !table.is_empty(),
        integer_key: true,
        ..Default::default()
    };
    let mut prints = Prints::default();
    if state.table_exists {
        check_columns(spec, &table, d).map_err(ReadError::Spec)?;
        super::check::column_types(spec, &table, d.engine).map_err(ReadError::Spec)?;
        state.integer_key = table
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(&spec.primary_key))
            .is_some_and(|c| c.data_type.to_ascii_lowercase().contains("int"));
        state.unique = unique::<B>(conn, d, &spec.table).await?;
        state.columns = table;
        let read = TableRead {
            spec,
            d,
            shape: RowShape::new(spec, state.integer_key),
            keep: keep == Keep::Everything || !state.unique.is_empty(),
        };
        let (read, rows) = B::stream_rows(conn, &read).await?;
        prints = prints.merge(&read);
        state.rows = rows;
        state.rows.sort_by(|a, b| a.key.cmp(&b.key));
        state.soft_deleted = soft_deleted::<B>(conn, d, spec, &state).await?;
    }
    state.state_table_exists = !columns::<B>(conn, d, STATE_TABLE).await?.is_empty();
    if state.state_table_exists {
        let read = StateRead {
            d,
            resource: &spec.resource,
            members: keep == Keep::Everything,
        };
        let (read, entries) = B::stream_state(conn, &read).await?;
        prints = prints.merge(&read);
        state.state = entries;
    }
    refuse_claimed::<B>(conn, d, spec).await?;
    state.prints = prints;
    state.fingerprint = prints.finish(state.table_exists);
    Ok(state)
}

/// The columns of a table; empty when the table does not exist.
pub(crate) async fn columns<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    table: &str,
) -> sqlx::Result<Vec<Column>> {
    use Cast::{Int, Text};
    let sql = d.columns_query().to_string();
    let rows = B::fetch_all(
        conn,
        sql,
        &[Arg::Text(table)],
        &[Text, Text, Int, Int, Int, Int, Int],
    )
    .await?;
    rows.into_iter()
        .map(|r| match r.as_slice() {
            [
                Value::Text(name),
                Value::Text(data_type),
                not_null,
                has_default,
                generated,
                max_length,
                scale,
            ] => {
                let int = |v: &Value| match v {
                    Value::Int(i) => Some(*i),
                    _ => None,
                };
                Ok(Column {
                    name: name.clone(),
                    data_type: data_type.clone(),
                    not_null: int(not_null).is_some_and(|i| i != 0),
                    has_default: int(has_default).is_some_and(|i| i != 0),
                    generated: int(generated).is_some_and(|i| i != 0),
                    max_length: int(max_length),
                    scale: int(scale),
                })
            }
            _ => Err(sqlx::Error::Protocol(
                "the catalog described a column without a name or type".into(),
            )),
        })
        .collect()
}

/// The unique constraints of a table (other than its primary key) that are plain lists of
/// columns.
async fn unique<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    table: &str,
) -> sqlx::Result<Vec<Unique>> {
    let sql = d.unique_query().to_string();
    let rows = B::fetch_all(conn, sql, &[Arg::Text(table)], &[Cast::Text, Cast::Text]).await?;
    Ok(unique_of(rows.into_iter().map(|r| {
        let text = |v: &Value| match v {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        };
        (text(&r[0]).unwrap_or_default(), text(&r[1]))
    })))
}

/// Unique constraints from (index name, column) rows in column order, the column `None` for
/// an expression. Indexes on an expression are left out: their effect cannot be predicted
/// from the values alone (the catalog queries leave out partial ones).
fn unique_of(rows: impl IntoIterator<Item = (String, Option<String>)>) -> Vec<Unique> {
    let mut out: Vec<Unique> = Vec::new();
    let mut skip: Option<String> = None;
    for (name, column) in rows {
        if skip.as_deref() == Some(name.as_str()) {
            continue;
        }
        let Some(column) = column else {
            out.retain(|u| u.name != name);
            skip = Some(name);
            continue;
        };
        match out.last_mut() {
            Some(u) if u.name == name => u.columns.push(column),
            _ => out.push(Unique {
                name,
                columns: vec![column],
            }),
        }
    }
    out
}

/// With `on_missing: soft_delete`: the primary keys (as text) of the rows soft-deleted now.
async fn soft_deleted<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    state: &CurrentState,
) -> sqlx::Result<std::collections::HashSet<String>> {
    let Some(sd) = spec
        .soft_delete
        .as_ref()
        .filter(|sd| state.column(&sd.column).is_some())
    else {
        return Ok(Default::default());
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = {}",
        d.as_text(&spec.primary_key),
        d.quote(&spec.table),
        d.quote(&sd.column),
        d.placeholder(1)
    );
    let rows = B::fetch_all(conn, sql, &[Arg::flag(&sd.value)], &[Cast::Text]).await?;
    Ok(rows.iter().map(|r| key_text(&r[0])).collect())
}

/// Refuses a table that another resource manages.
async fn refuse_claimed<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
) -> std::result::Result<(), ReadError> {
    if columns::<B>(conn, d, claims::TABLES_TABLE)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let owners = B::fetch_all(
        conn,
        claims::owners_sql(d),
        &[Arg::Text(&spec.table)],
        &[Cast::Text],
    )
    .await?;
    match owners
        .iter()
        .map(|r| key_text(&r[0]))
        .find(|o| *o != spec.resource)
    {
        Some(owner) => Err(ReadError::Spec(claims::claimed_by_another(
            &spec.table,
            &spec.resource,
            &owner,
            d,
        ))),
        None => Ok(()),
    }
}

/// How to read the target table: its rows, as [`RowShape`] says, fingerprinted, and kept
/// when `keep`.
pub(crate) struct TableRead<'a> {
    pub spec: &'a Compiled,
    pub d: Dialect,
    pub shape: RowShape,
    pub keep: bool,
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
        for f in &spec.fields {
            cols.push(match f.kind {
                FieldType::Integer => d.as_integer(&f.column),
                _ => d.as_text(&f.column),
            });
        }
        cols
    }
}

/// How to read a resource's state entries; their members are parsed only when `members`.
pub(crate) struct StateRead<'a> {
    pub d: Dialect,
    pub resource: &'a str,
    pub members: bool,
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
/// fingerprint and, when `keep`, to the rows.
pub(crate) fn add_row(
    cells: &[Cell<'_>],
    shape: &RowShape,
    keep: bool,
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
    if !keep {
        return;
    }
    let key = if shape.integer_key {
        cells[0].int().map_or(Value::Null, Value::Int)
    } else {
        cells[0]
            .text()
            .map_or(Value::Null, |t| Value::Text(t.into_owned()))
    };
    let values = shape
        .kinds
        .iter()
        .zip(&cells[1..])
        .map(|(&kind, c)| match kind {
            FieldType::Integer => c.int().map_or(Value::Null, Value::Int),
            kind => from_database(kind, c.text().map(|t| t.into_owned())),
        })
        .collect();
    rows.push(CurrentRow { key, values });
}

/// A column value read as text, brought to the canonical form of its field type. A value that
/// does not parse (an application wrote something odd) is kept as it is, so the plan shows it
/// being replaced rather than hiding it.
pub fn from_database(kind: FieldType, text: Option<String>) -> Value {
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

/// An existing table must have the primary key and every mapped column.
pub(crate) fn check_columns(spec: &Compiled, columns: &[Column], d: Dialect) -> Result<()> {
    let has = |c: &str| columns.iter().any(|col| col.name.eq_ignore_ascii_case(c));
    let mut missing: Vec<String> = Vec::new();
    if !has(&spec.primary_key) {
        missing.push(format!("{} (primary key)", spec.primary_key));
    }
    for f in &spec.fields {
        if !has(&f.column) {
            missing.push(f.column.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let existing: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    Err(Error::Plan {
        message: format!(
            "table {} has no column {}",
            d.quote(&spec.table),
            missing.join(", ")
        ),
        help: Some(format!(
            "its columns are {}; map each field to one of them with `column:` in the spec, \
             or set `primary_key:`",
            existing.join(", ")
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_constraints_gather_their_columns_and_leave_out_expressions() {
        let rows = [
            ("a_email", Some("email")),
            ("b_expr", Some("name")),
            ("b_expr", None),
            ("b_expr", Some("city")),
            ("c_pair", Some("name")),
            ("c_pair", Some("city")),
        ];
        let unique = unique_of(rows.map(|(n, c)| (n.to_string(), c.map(str::to_string))));
        assert_eq!(
            unique,
            [
                Unique {
                    name: "a_email".into(),
                    columns: vec!["email".into()]
                },
                Unique {
                    name: "c_pair".into(),
                    columns: vec!["name".into(), "city".into()]
                },
            ]
        );
    }

    #[test]
    fn rows_read_alike_however_their_cells_came() {
        let shape = RowShape {
            integer_key: true,
            kinds: vec![FieldType::Integer, FieldType::Decimal, FieldType::Text],
        };
        assert_eq!(
            shape.casts(),
            [Cast::Int, Cast::Int, Cast::Text, Cast::Text]
        );
        let (mut a, mut b) = (Prints::default(), Prints::default());
        let (mut rows_a, mut rows_b) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        let typed = [Cell::Int(7), Cell::Int(3), Cell::Text("012.50"), Cell::Null];
        let as_text = [
            Cell::Text("7"),
            Cell::Text("3"),
            Cell::Text("012.50"),
            Cell::Null,
        ];
        add_row(&typed, &shape, true, &mut a, &mut buf, &mut rows_a);
        add_row(&as_text, &shape, true, &mut b, &mut buf, &mut rows_b);
        assert_eq!(a, b);
        assert_eq!(rows_a, rows_b);
        assert_eq!(
            rows_a[0].values,
            [Value::Int(3), Value::Text("12.5".into()), Value::Null]
        );
        add_row(&typed, &shape, false, &mut a, &mut buf, &mut rows_a);
        assert_eq!(rows_a.len(), 1, "a row only fingerprinted is not kept");
    }
}
