//! Reading the current state: the target table's rows (the columns the spec maps, plus the
//! primary key) and this resource's entries in the state table. Every value is read through a
//! cast to text or integer, so what the application stored compares cleanly with the spec.
//!
//! `read_on` reads through any `Backend`; each backend streams the rows its own fastest
//! way. The checks that the table suits the spec run on the way.

use super::backend::Backend;
use super::error::ReadError;
use super::lock::LockRequest;
pub(crate) use super::rows::{Arg, Cast, Kept, RowShape, StateRead, TableRead, add_row};
use super::statements::placeholders;
use super::{Database, Dialect, Pool, STATE_TABLE, claims};
use crate::error::{Error, Result};
use crate::fingerprint::{Prints, row_print};
use crate::plan::decided::{self, Decided, Sum};
use crate::plan::{Action, Plan};
use crate::spec::compiled::Compiled;
use crate::state::{Column, CurrentState, ForeignKey, MissingColumn, Unique, key_text};
use crate::value::Value;

/// Reads the current state for a spec. A database that does not exist yet reads as empty.
pub async fn read(db: &Database, spec: &Compiled) -> Result<CurrentState> {
    read_keeping(db, spec, None, Keep::Everything).await
}

/// Reads the current state for a spec, keeping what `keep` says. With a lock request
/// (`plan --lock`), it waits for a running apply to finish instead of planning against rows
/// about to change.
pub async fn read_keeping(
    db: &Database,
    spec: &Compiled,
    req: Option<&LockRequest>,
    keep: Keep,
) -> Result<CurrentState> {
    let locks = match req {
        Some(r) => std::slice::from_ref(r),
        None => &[],
    };
    let mut read = read_maybe_locked(db, &[spec], locks, keep).await?;
    Ok(read.remove(0))
}

/// Reads the current state of several specs (a folder) in one transaction holding every
/// lock of `locks` (`plan --lock` of a folder: one table each).
pub async fn read_all_locked(
    db: &Database,
    specs: &[&Compiled],
    locks: &[LockRequest],
) -> Result<Vec<CurrentState>> {
    read_maybe_locked(db, specs, locks, Keep::Everything).await
}

async fn read_maybe_locked(
    db: &Database,
    specs: &[&Compiled],
    locks: &[LockRequest],
    keep: Keep,
) -> Result<Vec<CurrentState>> {
    let result = match &db.pool {
        None => return Ok(specs.iter().map(|_| CurrentState::empty()).collect()),
        Some(Pool::Sqlite(p)) => read_pool(db, p, specs, locks, keep).await,
        Some(Pool::Postgres(p)) => read_pool(db, p, specs, locks, keep).await,
        Some(Pool::MySql(p)) => read_pool(db, p, specs, locks, keep).await,
    };
    result.map_err(|e| match e {
        ReadError::Sql(e) => db.error(e),
        ReadError::Spec(e) => e,
    })
}

/// Reads on a connection of `pool`, in a transaction holding `locks` when there are any.
async fn read_pool<B: Backend>(
    db: &Database,
    pool: &sqlx::Pool<B>,
    specs: &[&Compiled],
    locks: &[LockRequest],
    keep: Keep,
) -> std::result::Result<Vec<CurrentState>, ReadError> {
    let mut conn = pool.acquire().await?;
    let d = db.dialect;
    let Some((first, more)) = locks.split_first() else {
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            out.push(read_on::<B>(&mut conn, d, spec, keep).await?);
        }
        return Ok(out);
    };
    let result = async {
        let mut tx = B::begin_locked(&mut conn, first)
            .await
            .map_err(ReadError::Spec)?;
        let mut out = Vec::with_capacity(specs.len());
        let mut failed = None;
        for req in more {
            if let Err(e) = B::lock(&mut tx, req).await {
                failed = Some(ReadError::Spec(e));
                break;
            }
        }
        if failed.is_none() {
            for spec in specs {
                match read_on::<B>(&mut tx, d, spec, keep).await {
                    Ok(state) => out.push(state),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        let _ = tx.rollback().await;
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
    .await;
    for req in locks.iter().rev() {
        B::release(&mut conn, req).await;
    }
    result
}

/// How much of what is read is kept besides the fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The rows of the table and the members of state entries, in order: all a plan needs.
    Everything,
    /// The rows' keys and the digests of their values, and the state entries without their
    /// members: all the no-change shortcut needs, in a fraction of the memory.
    Digests,
    /// Neither (unless the table has unique constraints, which the checks need the rows
    /// for): all a write needs.
    Prints,
    /// No row and no entry, only the sums of their prints ([`Prints::canonical`] for the
    /// rows): all the no-change shortcut needs after an apply that recorded what it left.
    Sums,
}

/// Reads the current state through a connection or transaction (`&mut *tx`). The target
/// table is streamed: rows are fingerprinted and turned into values as they arrive.
pub(crate) async fn read_on<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    keep: Keep,
) -> std::result::Result<CurrentState, ReadError> {
    let mut state = read_table::<B>(conn, d, spec, keep).await?;
    let (exists, entries, prints) = read_state::<B>(conn, d, spec, keep).await?;
    refuse_claimed::<B>(conn, d, spec).await?;
    state.state_table_exists = exists;
    state.state = entries;
    state.prints = state.prints.merge(&prints);
    state.fingerprint = (state.prints).finish_lacking(state.table_exists, &state.lacking(spec));
    Ok(state)
}

/// The target table's structure and rows, as `keep` says, with their prints: all of
/// [`read_on`] but the state.
async fn read_table<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    keep: Keep,
) -> std::result::Result<CurrentState, ReadError> {
    let mut state = structure::<B>(conn, d, spec).await?;
    let mut prints = Prints::default();
    if state.table_exists {
        let read = TableRead {
            spec,
            d,
            shape: RowShape::new(spec, state.integer_key),
            keep: match keep {
                Keep::Everything => Kept::Values,
                Keep::Digests => Kept::Digest,
                Keep::Prints if !state.unique.is_empty() => Kept::Values,
                Keep::Prints => Kept::Nothing,
                Keep::Sums => Kept::Sum,
            },
            absent: state.missing_columns.iter().map(|m| m.field).collect(),
        };
        let (read, rows) = B::stream_rows(conn, &read).await?;
        prints = prints.merge(&read);
        state.rows = rows;
        state.rows.sort_by(|a, b| a.key.cmp(&b.key));
        state.soft_deleted = soft_deleted::<B>(conn, d, spec, &state).await?;
    }
    state.prints = prints;
    Ok(state)
}

/// The resource's state entries, as `keep` says, with their prints: whether the state table
/// exists, the entries, and the prints.
async fn read_state<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    keep: Keep,
) -> std::result::Result<(bool, Vec<crate::state::StateRow>, Prints), ReadError> {
    if columns::<B>(conn, d, STATE_TABLE).await?.is_empty() {
        return Ok((false, Vec::new(), Prints::default()));
    }
    let read = StateRead {
        d,
        resource: &spec.resource,
        members: keep == Keep::Everything,
        entries: keep != Keep::Sums,
    };
    let (prints, entries) = B::stream_state(conn, &read).await?;
    Ok((true, entries, prints))
}

/// What [`Keep::Sums`] keeps, the table and the state each read on a connection of its
/// own, at the same time: half the wait of reading one after the other. Two reads, not one
/// snapshot: what a no-change plan compares them with was recorded before either began,
/// so a write in between makes one of them differ, and the plan then reads the rows.
pub fn read_sums(url: &str, spec: &Compiled) -> Result<CurrentState> {
    let part = |table: bool| -> Result<CurrentState> {
        crate::operation::runtime()?.block_on(async {
            let db = Database::open_read(url).await?;
            let read = async {
                let Some(pool) = &db.pool else {
                    return Ok(CurrentState::empty());
                };
                match pool {
                    Pool::Sqlite(p) => sums_part(&db, p, spec, table).await,
                    Pool::Postgres(p) => sums_part(&db, p, spec, table).await,
                    Pool::MySql(p) => sums_part(&db, p, spec, table).await,
                }
            };
            let read = read.await;
            db.close().await;
            read
        })
    };
    let (table, state) = std::thread::scope(|s| {
        let state = s.spawn(|| part(false));
        (
            part(true),
            state.join().expect("the state read does not panic"),
        )
    });
    let (mut table, state) = (table?, state?);
    table.state_table_exists = state.state_table_exists;
    table.prints = table.prints.merge(&state.prints);
    table.fingerprint = (table.prints).finish_lacking(table.table_exists, &table.lacking(spec));
    Ok(table)
}

/// One half of [`read_sums`]: the table (with `table`) or the state.
async fn sums_part<B: Backend>(
    db: &Database,
    pool: &sqlx::Pool<B>,
    spec: &Compiled,
    table: bool,
) -> Result<CurrentState> {
    let read = async {
        let mut conn = pool.acquire().await?;
        let d = db.dialect;
        if table {
            return read_table::<B>(&mut conn, d, spec, Keep::Sums).await;
        }
        let (exists, _, prints) = read_state::<B>(&mut conn, d, spec, Keep::Sums).await?;
        refuse_claimed::<B>(&mut conn, d, spec).await?;
        Ok(CurrentState {
            state_table_exists: exists,
            prints,
            ..CurrentState::default()
        })
    };
    read.await.map_err(|e| match e {
        ReadError::Sql(e) => db.error(e),
        ReadError::Spec(e) => e,
    })
}

/// The target table's structure: its columns (checked against the spec), primary key,
/// unique constraints and foreign keys; no rows.
async fn structure<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
) -> std::result::Result<CurrentState, ReadError> {
    let table = columns::<B>(conn, d, &spec.table).await?;
    let mut state = CurrentState {
        table_exists: !table.is_empty(),
        integer_key: true,
        ..Default::default()
    };
    if state.table_exists {
        state.missing_columns = missing_columns(spec, &table, d).map_err(ReadError::Spec)?;
        super::check::column_types(spec, &table, d.engine).map_err(ReadError::Spec)?;
        state.integer_key = table
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(&spec.primary_key))
            .is_some_and(|c| c.data_type.to_ascii_lowercase().contains("int"));
        state.unique = unique::<B>(conn, d, &spec.table).await?;
        state.primary_key_columns = names::<B>(conn, d.primary_key_query(), &spec.table).await?;
        state.foreign_keys = foreign_keys::<B>(conn, d, &spec.table).await?;
        state.columns = table;
    }
    Ok(state)
}

/// What an apply reads of a plan that kept [`Decided`] prints: the table's structure, the
/// rows the plan writes or deletes (by primary key) and the state entries at the addresses
/// it writes or deletes, with whether they are as the plan read them. `None` when the whole
/// table must be read after all: the table or a column went away, or the plan creates rows
/// whose `target.key` no unique constraint of the table guards against a row inserted
/// meanwhile.
pub(crate) async fn read_decided<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    plan: &Plan,
    decided: &Decided,
) -> std::result::Result<Option<(CurrentState, bool)>, ReadError> {
    let mut state = structure::<B>(conn, d, spec).await?;
    let creates = plan.changes.iter().any(|c| c.action == Action::Create);
    let unguarded = spec
        .key
        .is_some_and(|k| !state.unique_column(&spec.fields[k].column));
    if !state.table_exists || !state.missing_columns.is_empty() || (creates && unguarded) {
        return Ok(None);
    }
    let read = TableRead {
        spec,
        d,
        shape: RowShape::new(spec, state.integer_key),
        keep: Kept::Values,
        absent: Vec::new(),
    };
    let casts = read.shape.casts();
    let select = read.select();
    let (mut ignored, mut buf) = (Prints::default(), Vec::with_capacity(256));
    let keys = decided::row_keys(plan);
    let batch = d.max_params().clamp(1, 1000);
    for chunk in keys.chunks(batch) {
        let sql = format!(
            "{select} WHERE {} IN ({})",
            d.quote(&spec.primary_key),
            placeholders(d, 1, chunk.len())
        );
        let args: Vec<Arg<'_>> = chunk.iter().map(|k| Arg::key(k)).collect();
        B::for_each_row(conn, sql, &args, &casts, |cells| {
            add_row(
                cells,
                &read.shape,
                Kept::Values,
                &mut ignored,
                &mut buf,
                &mut state.rows,
            );
        })
        .await?;
    }
    state.rows.sort_by(|a, b| a.key.cmp(&b.key));
    let mut rows = Sum::default();
    for r in &state.rows {
        rows.add(row_print(&r.key, &r.values));
    }
    state.state_table_exists = !columns::<B>(conn, d, STATE_TABLE).await?.is_empty();
    let mut entries = Sum::default();
    if state.state_table_exists {
        let addresses = decided::addresses(plan);
        for chunk in addresses.chunks(batch) {
            let sql = format!(
                "SELECT address, row_key, members, hash FROM {} WHERE resource = {} AND \
                 address IN ({})",
                d.quote(STATE_TABLE),
                d.placeholder(1),
                placeholders(d, 2, chunk.len())
            );
            let mut args = vec![Arg::Text(&spec.resource)];
            args.extend(chunk.iter().map(|a| Arg::Text(a)));
            let mut null = false;
            B::for_each_row(conn, sql, &args, &[Cast::Text; 4], |cells| {
                let Some(entry) = super::backend::state_entry(cells, false) else {
                    null = true;
                    return;
                };
                entries.add(entry.print);
                state.state.push(entry);
            })
            .await?;
            if null {
                return Err(sqlx::Error::Protocol("a state entry holds NULL".into()).into());
            }
        }
    }
    refuse_claimed::<B>(conn, d, spec).await?;
    let same = rows == decided.rows && entries == decided.state;
    Ok(Some((state, same)))
}

/// The rows an apply wrote, read back inside its transaction: those at `keys` (primary keys
/// as text), or with `None` the whole table (every row of which it wrote), summed by their
/// canonical prints ([`Prints::canonical`]) and by their key and values' hash
/// ([`Prints::checked`]). `None` when the table is gone or lacks a column.
pub(crate) async fn written_rows<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    spec: &Compiled,
    keys: Option<&[&str]>,
) -> std::result::Result<Option<Prints>, ReadError> {
    let table = structure::<B>(conn, d, spec).await?;
    if !table.table_exists || !table.missing_columns.is_empty() {
        return Ok(None);
    }
    let read = TableRead {
        spec,
        d,
        shape: RowShape::new(spec, table.integer_key),
        keep: Kept::Check,
        absent: Vec::new(),
    };
    let Some(keys) = keys else {
        return Ok(Some(B::stream_rows(conn, &read).await?.0));
    };
    let keys: Vec<Value> = if table.integer_key {
        match keys.iter().map(|k| k.parse().map(Value::Int)).collect() {
            Ok(keys) => keys,
            Err(_) => return Ok(None),
        }
    } else {
        keys.iter().map(|k| Value::Text(k.to_string())).collect()
    };
    let (casts, select) = (read.shape.casts(), read.select());
    let (mut prints, mut buf, mut none) = (Prints::default(), Vec::with_capacity(256), Vec::new());
    let batch = d.max_params().clamp(1, 1000);
    for chunk in keys.chunks(batch) {
        let sql = format!(
            "{select} WHERE {} IN ({})",
            d.quote(&spec.primary_key),
            placeholders(d, 1, chunk.len())
        );
        let args: Vec<Arg<'_>> = chunk.iter().map(Arg::key).collect();
        B::for_each_row(conn, sql, &args, &casts, |cells| {
            add_row(
                cells,
                &read.shape,
                Kept::Check,
                &mut prints,
                &mut buf,
                &mut none,
            );
        })
        .await?;
    }
    Ok(Some(prints))
}

/// The first column of each row of a catalog query on a table (its name bound).
async fn names<B: Backend>(
    conn: &mut B::Connection,
    sql: &str,
    table: &str,
) -> sqlx::Result<Vec<String>> {
    let rows = B::fetch_all(conn, sql.to_string(), &[Arg::Text(table)], &[Cast::Text]).await?;
    Ok(rows.iter().map(|r| key_text(&r[0])).collect())
}

/// The foreign keys of one column of a table.
async fn foreign_keys<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    table: &str,
) -> sqlx::Result<Vec<ForeignKey>> {
    let sql = d.foreign_keys_query().to_string();
    let rows = B::fetch_all(conn, sql, &[Arg::Text(table)], &[Cast::Text; 3]).await?;
    Ok(rows
        .iter()
        .map(|r| ForeignKey {
            column: key_text(&r[0]),
            table: key_text(&r[1]),
            references: (!r[2].is_null()).then(|| key_text(&r[2])),
        })
        .collect())
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

/// The fields whose column an existing table lacks, each with the type it would be added
/// with; a table without the primary key column is an error (no column can stand for it).
pub(crate) fn missing_columns(
    spec: &Compiled,
    columns: &[Column],
    d: Dialect,
) -> Result<Vec<MissingColumn>> {
    let has = |c: &str| columns.iter().any(|col| col.name.eq_ignore_ascii_case(c));
    if !has(&spec.primary_key) {
        let existing: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::Plan {
            message: format!(
                "table {} has no column {} (primary key)",
                d.quote(&spec.table),
                spec.primary_key
            ),
            help: Some(format!(
                "its columns are {}; name its primary key with `primary_key:` in the spec",
                existing.join(", ")
            )),
        });
    }
    Ok(spec
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !has(&f.column))
        .map(|(i, f)| MissingColumn {
            field: i,
            sql_type: d.column_type(f.kind, false).to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::rows::{Cell, add_row};
    use crate::spec::FieldType;

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
        add_row(&typed, &shape, Kept::Values, &mut a, &mut buf, &mut rows_a);
        add_row(
            &as_text,
            &shape,
            Kept::Values,
            &mut b,
            &mut buf,
            &mut rows_b,
        );
        assert_eq!(a, b);
        assert_eq!(rows_a, rows_b);
        assert_eq!(
            rows_a[0].values,
            [Value::Int(3), Value::Text("12.5".into()), Value::Null]
        );
        add_row(&typed, &shape, Kept::Nothing, &mut a, &mut buf, &mut rows_a);
        assert_eq!(rows_a.len(), 1, "a row only fingerprinted is not kept");
        // Kept as a digest: the hash the state table keeps of the canonical values.
        let mut digests = Vec::new();
        add_row(&typed, &shape, Kept::Digest, &mut a, &mut buf, &mut digests);
        assert!(digests[0].values.is_empty());
        assert_eq!(digests[0].key, Value::Int(7));
        let hash = crate::fingerprint::values_hash(&rows_a[0].values);
        let digest = digests[0].digest.as_deref().expect("a digest");
        assert!(crate::fingerprint::digest_matches(digest, &hash));
        assert!(!crate::fingerprint::digest_matches(digest, &"0".repeat(64)));

        // Summed, or summed and checked: nothing kept, the same canonical print whatever form
        // the cells came in, and the check of the key with the values' hash.
        let (mut summed, mut checked, mut none) = (Prints::default(), Prints::default(), vec![]);
        add_row(
            &as_text,
            &shape,
            Kept::Sum,
            &mut summed,
            &mut buf,
            &mut none,
        );
        add_row(
            &typed,
            &shape,
            Kept::Check,
            &mut checked,
            &mut buf,
            &mut none,
        );
        assert!(none.is_empty());
        let mut one = Sum::default();
        one.add(row_print(&Value::Int(7), &rows_a[0].values));
        assert_eq!((summed.canonical(), checked.canonical()), (one, one));
        assert_eq!(summed.checked(), Sum::default());
        let mut check = Sum::default();
        check.add(crate::fingerprint::entry_check("7", &hash));
        assert_eq!(checked.checked(), check);
        // The raw fingerprint is the same in every mode.
        assert_eq!(summed.finish(true), b.finish(true));
    }
}
