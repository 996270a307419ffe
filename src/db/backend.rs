//! The one trait each database implements ([`Backend`]: `sqlite.rs`, `postgres.rs`,
//! `mysql.rs`), and the statements that run alike on all three ([`Driver`]).
//!
//! A backend is sqlx's marker type for its database (`sqlx::Sqlite`, ...). What differs
//! between databases lives in its `impl Backend`: how a table is locked, how rows stream in
//! (COPY, chunks, row by row), how new rows and state entries go out in bulk and how their
//! keys come back. Everything else is written once, over [`Driver`], with statement text
//! from [`super::Dialect`] and values bound as [`Arg`]s.

use std::borrow::Cow;

use sqlx::Row as _;

use super::Dialect;
use super::batch::{byte_chunks, row_bytes, value_bytes};
use super::error::{ApplyError, at_row, count_mismatch, stop_if_interrupted};
use super::lock::LockRequest;
use super::rows::{Arg, Cast, Cell, StateRead, TableRead, add_row, add_state};
use super::statements::{self, Insert};
use super::writeset::StateEntry;
use crate::error::Result;
use crate::fingerprint::Prints;
use crate::state::{CurrentRow, StateRow, key_text};
use crate::value::Value;

/// The statements that run alike on every database: written once over sqlx's generic API,
/// for any database whose driver binds and reads the few types the tool uses.
pub(crate) trait Driver: sqlx::Database {
    /// Runs a statement.
    async fn execute(
        conn: &mut Self::Connection,
        sql: String,
        args: &[Arg<'_>],
    ) -> sqlx::Result<()>;

    /// Runs a query and hands each row's cells (read as `casts` says) to `each`, as they
    /// arrive.
    async fn for_each_row(
        conn: &mut Self::Connection,
        sql: String,
        args: &[Arg<'_>],
        casts: &[Cast],
        each: impl FnMut(&[Cell<'_>]),
    ) -> sqlx::Result<()>;

    /// Runs a query a user wrote over the simple (text) protocol and hands each row (its
    /// columns by name, values as text) to `each`.
    async fn for_each_text_row(
        conn: &mut Self::Connection,
        sql: &str,
        each: impl FnMut(Vec<(String, Option<String>)>),
    ) -> sqlx::Result<()>;

    /// Runs a query; every row as values.
    async fn fetch_all(
        conn: &mut Self::Connection,
        sql: String,
        args: &[Arg<'_>],
        casts: &[Cast],
    ) -> sqlx::Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        Self::for_each_row(conn, sql, args, casts, |cells| {
            rows.push(cells.iter().map(Cell::value).collect());
        })
        .await?;
        Ok(rows)
    }
}

/// Binds `args` in order.
pub(crate) fn bind_all<'q, DB>(
    mut q: sqlx::query::Query<'q, DB, DB::Arguments>,
    args: &[Arg<'_>],
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    for<'a> &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<bool>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(*s),
            Arg::Int(i) => q.bind(*i),
            Arg::Bool(b) => q.bind(*b),
            Arg::NullText => q.bind(None::<&str>),
            Arg::NullInt => q.bind(None::<i64>),
            Arg::NullBool => q.bind(None::<bool>),
        };
    }
    q
}

impl<DB> Driver for DB
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'a> &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB> + sqlx::Decode<'a, DB>,
    for<'a> i64: sqlx::Encode<'a, DB> + sqlx::Type<DB> + sqlx::Decode<'a, DB>,
    for<'a> bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<bool>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    async fn execute(conn: &mut DB::Connection, sql: String, args: &[Arg<'_>]) -> sqlx::Result<()> {
        let q = bind_all(sqlx::query::<DB>(sqlx::AssertSqlSafe(sql)), args);
        q.execute(&mut *conn).await.map(drop)
    }

    async fn for_each_row(
        conn: &mut DB::Connection,
        sql: String,
        args: &[Arg<'_>],
        casts: &[Cast],
        mut each: impl FnMut(&[Cell<'_>]),
    ) -> sqlx::Result<()> {
        use futures_util::TryStreamExt as _;
        let q = bind_all(sqlx::query::<DB>(sqlx::AssertSqlSafe(sql)), args);
        let mut rows = q.fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            let mut cells = Vec::with_capacity(casts.len());
            for (i, cast) in casts.iter().enumerate() {
                cells.push(match cast {
                    Cast::Int => r
                        .try_get::<Option<i64>, _>(i)?
                        .map_or(Cell::Null, Cell::Int),
                    Cast::Text => r
                        .try_get::<Option<&str>, _>(i)?
                        .map_or(Cell::Null, Cell::Text),
                });
            }
            each(&cells);
        }
        Ok(())
    }

    async fn for_each_text_row(
        conn: &mut DB::Connection,
        sql: &str,
        mut each: impl FnMut(Vec<(String, Option<String>)>),
    ) -> sqlx::Result<()> {
        use futures_util::TryStreamExt as _;
        use sqlx::Column as _;
        let mut rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            let mut row = Vec::with_capacity(r.len());
            for (i, column) in r.columns().iter().enumerate() {
                let value: Option<&str> = r.try_get_unchecked(i)?;
                row.push((column.name().to_string(), value.map(str::to_string)));
            }
            each(row);
        }
        Ok(())
    }
}

/// The rows of a query a user wrote, on a connection of `pool`
/// ([`Driver::for_each_text_row`]).
pub(crate) async fn text_rows<DB: Driver>(
    pool: &sqlx::Pool<DB>,
    sql: &str,
    each: impl FnMut(Vec<(String, Option<String>)>),
) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    DB::for_each_text_row(&mut conn, sql, each).await
}

/// One database: what differs between them. Every method works on a connection, or on the
/// transaction [`Backend::begin_locked`] opened (`&mut *tx`).
pub(crate) trait Backend: Driver {
    /// Whether DDL commits the open transaction (MySQL, MariaDB): tables are then created
    /// before it starts.
    const DDL_COMMITS: bool = false;

    /// Begins a transaction that holds the lock `req` asks for, or fails saying who holds it.
    async fn begin_locked<'c>(
        conn: &'c mut Self::Connection,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'c, Self>>;

    /// Inside a transaction begun with [`Backend::begin_locked`], takes the lock of one more
    /// table (an apply of several resources holds each table's lock).
    async fn lock(conn: &mut Self::Connection, req: &LockRequest) -> Result<()>;

    /// Releases what the end of the transaction did not. Call after commit or rollback.
    async fn release(conn: &mut Self::Connection, req: &LockRequest);

    /// Streams the target table's rows: their fingerprint, and the rows when `read.keep`.
    async fn stream_rows(
        conn: &mut Self::Connection,
        read: &TableRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<CurrentRow>)> {
        stream_rows_plainly::<Self>(conn, read).await
    }

    /// Streams the resource's state entries: their fingerprint and the entries.
    async fn stream_state(
        conn: &mut Self::Connection,
        read: &StateRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<StateRow>)> {
        stream_state_plainly::<Self>(conn, read).await
    }

    /// The most bytes of values one statement may carry.
    async fn max_statement_bytes(_conn: &mut Self::Connection) -> sqlx::Result<usize> {
        Ok(super::batch::batch_bytes(None))
    }

    /// Inserts new rows; their primary keys as text, in the order of `rows`.
    async fn insert_rows(
        conn: &mut Self::Connection,
        ins: &Insert<'_>,
        rows: &[&[Value]],
    ) -> std::result::Result<Vec<String>, ApplyError>;

    /// Sets the `changed` fields of rows given as (primary key, new values), one statement per
    /// batch.
    async fn update_rows(
        conn: &mut Self::Connection,
        ins: &Insert<'_>,
        changed: &[usize],
        rows: &[(&Value, Cow<'_, [Value]>)],
    ) -> std::result::Result<(), ApplyError> {
        let (d, spec) = (ins.d, ins.spec);
        let batch = (d.max_params() / (changed.len() + 1)).clamp(1, 1000);
        let size = |(_, values): &(&Value, Cow<'_, [Value]>)| {
            16 + changed
                .iter()
                .map(|&f| value_bytes(&values[f]))
                .sum::<usize>()
        };
        for chunk in byte_chunks(rows, batch, ins.max_bytes, size) {
            stop_if_interrupted()?;
            let mut args = Vec::with_capacity(chunk.len() * (changed.len() + 1));
            for (key, values) in chunk {
                args.push(Arg::key(key));
                for &f in changed {
                    args.push(Arg::value(&values[f], spec.fields[f].kind, ins.not_null[f]));
                }
            }
            let sql = statements::update_batch(spec, d, changed, chunk.len());
            Self::execute(conn, sql, &args).await?;
        }
        Ok(())
    }

    /// Writes state entries of `resource`: inserted, or with `upsert` replacing the entries at
    /// their addresses.
    async fn write_state(
        conn: &mut Self::Connection,
        state: &StateWrite<'_>,
        entries: &[StateEntry<'_>],
        upsert: bool,
    ) -> std::result::Result<(), ApplyError> {
        write_state_in_batches::<Self>(conn, state, entries, upsert).await
    }
}

/// Where and when state entries are written.
pub(crate) struct StateWrite<'a> {
    pub d: Dialect,
    pub resource: &'a str,
    pub now: &'a str,
    pub max_bytes: usize,
}

/// State entries in multi-row INSERTs, as many a statement as its limits allow.
pub(crate) async fn write_state_in_batches<B: Backend>(
    conn: &mut B::Connection,
    state: &StateWrite<'_>,
    entries: &[StateEntry<'_>],
    upsert: bool,
) -> std::result::Result<(), ApplyError> {
    let d = state.d;
    let rows = (d.max_params() / 6).min(1000);
    let size = |e: &StateEntry<'_>| 64 + state.resource.len() + e.bytes();
    for chunk in byte_chunks(entries, rows, state.max_bytes, size) {
        stop_if_interrupted()?;
        let mut args = Vec::with_capacity(chunk.len() * 6);
        for e in chunk {
            args.extend(e.args(state.resource, state.now));
        }
        B::execute(
            conn,
            statements::state_insert(d, chunk.len(), upsert),
            &args,
        )
        .await?;
    }
    Ok(())
}

/// Multi-row INSERT … RETURNING in batches: the new keys (as text) in the order of `rows`; a
/// batch that returns a different number of rows is an error. PostgreSQL without a sequence
/// and MariaDB take this way.
pub(crate) async fn insert_returning<B: Backend>(
    conn: &mut B::Connection,
    ins: &Insert<'_>,
    rows: &[&[Value]],
) -> std::result::Result<Vec<String>, ApplyError> {
    let mut keys = Vec::with_capacity(rows.len());
    let mut start = 0;
    for chunk in byte_chunks(rows, ins.batch(), ins.max_bytes, |r| row_bytes(r)) {
        stop_if_interrupted()?;
        let args: Vec<Arg<'_>> = chunk.iter().flat_map(|values| ins.args(values)).collect();
        let returned = B::fetch_all(conn, ins.sql(chunk.len(), true), &args, &[Cast::Text])
            .await
            .map_err(|e| at_row(e, start))?;
        if returned.len() != chunk.len() {
            return Err(count_mismatch(chunk.len(), returned.len()));
        }
        start += chunk.len();
        keys.extend(
            returned
                .into_iter()
                .map(|mut r| key_text(&r.swap_remove(0))),
        );
    }
    Ok(keys)
}

/// The rows of the target table, row by row as the driver hands them over.
pub(crate) async fn stream_rows_plainly<B: Backend>(
    conn: &mut B::Connection,
    read: &TableRead<'_>,
) -> sqlx::Result<(Prints, Vec<CurrentRow>)> {
    let (mut prints, mut rows, mut buf) = (Prints::default(), Vec::new(), Vec::with_capacity(256));
    let casts = read.shape.casts();
    B::for_each_row(conn, read.select(), &[], &casts, |cells| {
        add_row(
            cells,
            &read.shape,
            read.keep,
            &mut prints,
            &mut buf,
            &mut rows,
        );
    })
    .await?;
    Ok((prints, rows))
}

/// A state entry from its four text cells (address, row key, members, hash), its members
/// parsed when `members`; `None` when a cell is NULL.
pub(crate) fn state_entry(cells: &[Cell<'_>], members: bool) -> Option<StateRow> {
    let &[
        Cell::Text(address),
        Cell::Text(key),
        Cell::Text(members_text),
        Cell::Text(hash),
    ] = cells
    else {
        return None;
    };
    Some(StateRow::new([address, key, members_text, hash], members))
}

/// The resource's state entries, row by row.
pub(crate) async fn stream_state_plainly<B: Backend>(
    conn: &mut B::Connection,
    read: &StateRead<'_>,
) -> sqlx::Result<(Prints, Vec<StateRow>)> {
    let (mut prints, mut entries) = (Prints::default(), Vec::new());
    let sql = read.select(&read.d.placeholder(1));
    let mut null = false;
    B::for_each_row(
        conn,
        sql,
        &[Arg::Text(read.resource)],
        &[Cast::Text; 4],
        |cells| {
            let &[
                Cell::Text(address),
                Cell::Text(key),
                Cell::Text(members),
                Cell::Text(hash),
            ] = cells
            else {
                null = true;
                return;
            };
            let parts = [address, key, members, hash];
            add_state(parts, read.members, read.entries, &mut prints, &mut entries);
        },
    )
    .await?;
    if null {
        return Err(sqlx::Error::Protocol("a state entry holds NULL".into()));
    }
    Ok((prints, entries))
}
