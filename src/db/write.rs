//! Writing a plan: one transaction that re-reads the state, refuses to go on if it changed
//! since the plan was made or if the table's constraints would be broken, creates the table if
//! needed, inserts (one prepared statement per row through SQLite's own API, COPY on
//! PostgreSQL, multi-row statements on MySQL), updates, and records every managed row in the
//! state table the same way. Any failure rolls everything back.

use sqlx::{AssertSqlSafe, Row as _};

use super::check::{self, blank_for_null, not_null_fields};
use super::lock::{LockRequest, Locking as _};
use super::read::{ReadError, key_text, read_on};
use super::sqlite_bulk::{Param, SqliteError, Statement};
use super::{Backend, Database, Dialect, Pool, STATE_TABLE};
use crate::error::{Error, Result};
use crate::fingerprint::values_hash;
use crate::plan::{Action, Change, Plan};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::state::members_json;
use crate::time::now_rfc3339;
use crate::value::Value;

/// What an apply did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Binds a value with the SQL type of its field, so NULLs are typed too. An empty text value
/// bound for a NOT NULL column is written as `''`.
macro_rules! bind_value {
    ($q:expr, $v:expr, $kind:expr, $not_null:expr) => {
        match ($v, $kind) {
            (Value::Null, k) if $not_null && blank_for_null(k) => $q.bind(String::new()),
            (Value::Null, FieldType::Integer) => $q.bind(None::<i64>),
            (Value::Null, FieldType::Boolean) => $q.bind(None::<bool>),
            (Value::Null, _) => $q.bind(None::<String>),
            (Value::Text(s), _) => $q.bind(s.as_str()),
            (Value::Int(i), _) => $q.bind(*i),
            (Value::Bool(b), _) => $q.bind(*b),
        }
    };
}

/// The statement that creates the target table from the spec's fields.
pub fn create_table_sql(spec: &Compiled, d: Dialect) -> String {
    table_sql(spec, d, true)
}

/// The target table, with its primary key or without it (for [`Dialect::key_after_load`]:
/// [`add_primary_key_sql`] adds it once the first rows are in).
fn table_sql(spec: &Compiled, d: Dialect, keyed: bool) -> String {
    let mut cols = vec![d.primary_key_column(&spec.primary_key, keyed)];
    for (i, f) in spec.fields.iter().enumerate() {
        let mut col = format!(
            "{} {}",
            d.quote(&f.column),
            d.column_type(f.kind, spec.key == Some(i))
        );
        if f.required {
            col.push_str(" NOT NULL");
        }
        cols.push(col);
    }
    if let Some(sd) = &spec.soft_delete {
        let kind = match sd.value {
            Value::Bool(_) => FieldType::Boolean,
            Value::Int(_) => FieldType::Integer,
            _ => FieldType::Text,
        };
        cols.push(format!(
            "{} {}",
            d.quote(&sd.column),
            d.column_type(kind, false)
        ));
    }
    format!(
        "CREATE TABLE {} ({})",
        d.quote(&spec.table),
        cols.join(", ")
    )
}

/// Adds the target table's primary key, after [`table_sql`] without it.
fn add_primary_key_sql(spec: &Compiled, d: Dialect) -> String {
    format!(
        "ALTER TABLE {} ADD PRIMARY KEY ({})",
        d.quote(&spec.table),
        d.quote(&spec.primary_key)
    )
}

/// What inserting new rows needs to know about the table.
struct Insert<'a> {
    spec: &'a Compiled,
    d: Dialect,
    /// Per field: its column is NOT NULL.
    not_null: Vec<bool>,
    /// The primary key is an integer the database generates (rowid, identity, serial,
    /// AUTO_INCREMENT).
    generated_int_key: bool,
    /// The table was created by this transaction: no one else can see it, or draw keys from
    /// its sequence, before the commit.
    created_here: bool,
    /// The most bytes of values one statement may carry (see [`batch_bytes`]).
    max_bytes: usize,
}

impl Insert<'_> {
    /// Rows per multi-row statement: as many as the parameter limit allows, at most 1000.
    fn batch(&self) -> usize {
        (self.d.max_params() / self.spec.fields.len().max(1)).clamp(1, 1000)
    }

    /// `INSERT INTO t (cols) VALUES (…), (…)`, optionally returning the key as text.
    fn sql(&self, rows: usize, returning: bool) -> String {
        let (d, spec) = (self.d, self.spec);
        let cols: Vec<String> = spec.fields.iter().map(|f| d.quote(&f.column)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            d.quote(&spec.table),
            cols.join(", ")
        );
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (i, f) in spec.fields.iter().enumerate() {
                n += 1;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&d.value_placeholder(n, f.kind));
            }
            sql.push(')');
        }
        if returning {
            sql.push_str(" RETURNING ");
            sql.push_str(&d.as_text(&spec.primary_key));
        }
        sql
    }
}

/// The most bytes of values one multi-row statement carries: 4 MiB, and at most half of
/// MySQL's `max_allowed_packet` (given), which a statement and all its values must fit in
/// (1,200 rows of 20 KB in one INSERT broke MariaDB's 16 MB default).
fn batch_bytes(max_allowed_packet: Option<i64>) -> usize {
    const DEFAULT: usize = 4 << 20;
    match max_allowed_packet {
        Some(p) if p > 0 => DEFAULT.min(p as usize / 2).max(1024),
        _ => DEFAULT,
    }
}

/// About how many bytes a value takes in a statement's parameters.
fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.len() + 9,
        Value::Int(_) => 9,
        Value::Bool(_) | Value::Null => 2,
    }
}

/// About how many bytes a row's values take in a statement's parameters.
fn row_bytes(values: &[Value]) -> usize {
    values.iter().map(value_bytes).sum::<usize>() + 8
}

/// `items` cut into consecutive batches of at most `max_rows` items and, unless one item
/// alone is larger, at most `max_bytes` bytes by `size`.
fn byte_chunks<T>(
    items: &[T],
    max_rows: usize,
    max_bytes: usize,
    size: impl Fn(&T) -> usize,
) -> impl Iterator<Item = &[T]> {
    let max_rows = max_rows.max(1);
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && n < max_rows {
            let b = size(&rest[n]);
            if n > 0 && bytes + b > max_bytes {
                break;
            }
            bytes += b;
            n += 1;
        }
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// Binds the values of `rows`, in order, to a multi-row INSERT.
macro_rules! bind_rows {
    ($q:expr, $ins:expr, $rows:expr) => {{
        let mut q = $q;
        for values in $rows {
            for (i, (v, f)) in values.iter().zip(&$ins.spec.fields).enumerate() {
                q = bind_value!(q, v, f.kind, $ins.not_null[i]);
            }
        }
        q
    }};
}

/// Multi-row INSERT … RETURNING in batches, pushing the new keys (as text) onto `$keys` in
/// the order of `$rows`; a batch that returns a different number of rows is an error.
macro_rules! insert_returning {
    ($conn:expr, $ins:expr, $rows:expr, $keys:expr) => {
        let mut start = 0;
        for chunk in byte_chunks($rows, $ins.batch(), $ins.max_bytes, |r| row_bytes(r)) {
            stop_if_interrupted()?;
            let q = bind_rows!(
                sqlx::query(AssertSqlSafe($ins.sql(chunk.len(), true))),
                $ins,
                chunk
            );
            let returned = q
                .fetch_all(&mut *$conn)
                .await
                .map_err(|e| at_row(e, start))?;
            if returned.len() != chunk.len() {
                return Err(count_mismatch(chunk.len(), returned.len()));
            }
            start += chunk.len();
            for r in returned {
                $keys.push(r.try_get::<String, _>(0)?);
            }
        }
    };
}

/// An error of a multi-row INSERT whose rows start at create `start`: MySQL and MariaDB say
/// which row of the statement failed (`… at row 3`).
fn at_row(e: sqlx::Error, start: usize) -> ApplyError {
    let row = e
        .as_database_error()
        .map(|d| d.message().to_string())
        .and_then(|m| {
            let n = m
                .rsplit(" at row ")
                .next()
                .filter(|_| m.contains(" at row "))?;
            n.trim().parse::<usize>().ok()
        });
    match row.and_then(|r| r.checked_sub(1)) {
        Some(r) => ApplyError::AtCreate(start + r, Box::new(ApplyError::Sql(e))),
        None => ApplyError::Sql(e),
    }
}

fn count_mismatch(expected: usize, got: usize) -> ApplyError {
    ApplyError::Other(Error::Plan {
        message: format!("the database inserted {got} rows where {expected} were sent"),
        help: None,
    })
}

/// SQLite: one prepared single-row INSERT run for every row through SQLite's own API, its
/// values bound in place. A generated integer key is the rowid SQLite reports after each
/// row; any other key is read back with RETURNING.
async fn sqlite_creates(
    conn: &mut sqlx::SqliteConnection,
    ins: &Insert<'_>,
    rows: &[&[Value]],
) -> Result<Vec<String>, ApplyError> {
    let mut handle = conn.lock_handle().await?;
    let mut statement = Statement::prepare(&mut handle, &ins.sql(1, !ins.generated_int_key))?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut params = Vec::with_capacity(ins.spec.fields.len());
    for (i, values) in rows.iter().enumerate() {
        if i % 4096 == 0 {
            stop_if_interrupted()?;
        }
        params.clear();
        params.extend(
            values
                .iter()
                .zip(&ins.spec.fields)
                .zip(&ins.not_null)
                .map(|((v, f), &not_null)| sqlite_param(v, f.kind, not_null)),
        );
        let ran = statement
            .run(&params)
            .map_err(|e| ApplyError::AtCreate(i, Box::new(ApplyError::Sqlite(e))))?;
        keys.push(if ins.generated_int_key {
            ran.last_rowid.to_string()
        } else {
            ran.returned.ok_or_else(|| count_mismatch(1, 0))?
        });
    }
    Ok(keys)
}

/// A value as SQLite's API binds it, typed as [`bind_value!`] binds it through sqlx.
fn sqlite_param(v: &Value, kind: FieldType, not_null: bool) -> Param<'_> {
    match v {
        Value::Null if not_null && blank_for_null(kind) => Param::Text(""),
        Value::Null => Param::Null,
        Value::Text(s) => Param::Text(s),
        Value::Int(i) => Param::Int(*i),
        Value::Bool(b) => Param::Int(i64::from(*b)),
    }
}

/// The state entries on SQLite: one prepared INSERT run per entry, like the rows.
async fn sqlite_state(
    conn: &mut sqlx::SqliteConnection,
    d: Dialect,
    resource: &str,
    now: &str,
    entries: &[StateEntry<'_>],
) -> Result<(), ApplyError> {
    let mut handle = conn.lock_handle().await?;
    let mut statement = Statement::prepare(&mut handle, &state_insert_sql(d, 1, false))?;
    for e in entries {
        statement.run(&[
            Param::Text(resource),
            Param::Text(e.address),
            Param::Text(&e.row_key),
            Param::Text(&e.members),
            Param::Text(&e.hash),
            Param::Text(now),
        ])?;
    }
    Ok(())
}

/// PostgreSQL: when the key has a sequence (identity or serial), the keys are drawn from it
/// first in one query and the rows, keys included, are sent with COPY: the fastest way in,
/// and no question of which returned key belongs to which row. Without a sequence, multi-row
/// INSERT … RETURNING, whose rows come back in VALUES order.
async fn pg_creates(
    conn: &mut sqlx::PgConnection,
    ins: &Insert<'_>,
    rows: &[&[Value]],
) -> Result<Vec<String>, ApplyError> {
    let (d, spec) = (ins.d, ins.spec);
    // The sequence by its number: a name bound as text would be looked up again for every
    // value drawn (the cast to regclass is not constant), which took 0.25 s per 131k keys.
    let sequence: Option<sqlx::postgres::types::Oid> =
        sqlx::query("SELECT CAST(CAST(pg_get_serial_sequence($1, $2) AS regclass) AS oid)")
            .bind(d.quote(&spec.table))
            .bind(spec.primary_key.clone())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
    let Some(sequence) = sequence else {
        let mut keys = Vec::with_capacity(rows.len());
        insert_returning!(conn, ins, rows, keys);
        return Ok(keys);
    };
    let ids: Vec<i64> = if ins.created_here {
        // A table no one else sees yet: its keys are 1 to n, and its sequence is moved past
        // them.
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval(CAST({} AS regclass), $1)",
            sequence.0
        )))
        .bind(rows.len() as i64)
        .execute(&mut *conn)
        .await?;
        (1..=rows.len() as i64).collect()
    } else {
        // One array rather than a row per key.
        sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT array_agg(nextval(CAST({} AS regclass))) FROM generate_series(1, $1)",
            sequence.0
        )))
        .bind(rows.len() as i64)
        .fetch_one(&mut *conn)
        .await?
    };
    let mut cols = vec![d.quote(&spec.primary_key)];
    cols.extend(spec.fields.iter().map(|f| d.quote(&f.column)));
    let statement = format!(
        "COPY {} ({}) FROM STDIN",
        d.quote(&spec.table),
        cols.join(", ")
    );
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buf = String::with_capacity(1 << 20);
    for (id, values) in ids.iter().zip(rows) {
        {
            use std::fmt::Write as _;
            let _ = write!(buf, "{id}");
        }
        for (i, (v, f)) in values.iter().zip(&spec.fields).enumerate() {
            buf.push('\t');
            copy_field(&mut buf, v, ins.not_null[i] && blank_for_null(f.kind));
        }
        buf.push('\n');
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    let copied = copy.finish().await?;
    if copied != rows.len() as u64 {
        return Err(count_mismatch(rows.len(), copied as usize));
    }
    Ok(ids.iter().map(ToString::to_string).collect())
}

/// Many state entries at once on PostgreSQL, through COPY.
async fn pg_copy_state(
    conn: &mut sqlx::PgConnection,
    d: Dialect,
    resource: &str,
    now: &str,
    entries: &[StateEntry<'_>],
) -> Result<(), ApplyError> {
    let statement = format!("COPY {} ({STATE_COLUMNS}) FROM STDIN", d.quote(STATE_TABLE));
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buf = String::with_capacity(1 << 20);
    for e in entries {
        for (i, part) in [resource, e.address, &e.row_key, &e.members, &e.hash, now]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                buf.push('\t');
            }
            copy_text(&mut buf, part);
        }
        buf.push('\n');
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// One value in COPY's text format: `\N` for NULL, backslash escapes for the separators.
fn copy_field(buf: &mut String, v: &Value, blank: bool) {
    match v {
        Value::Null if blank => {}
        Value::Null => buf.push_str("\\N"),
        Value::Bool(b) => buf.push(if *b { 't' } else { 'f' }),
        Value::Int(i) => {
            use std::fmt::Write as _;
            let _ = write!(buf, "{i}");
        }
        Value::Text(s) => copy_text(buf, s),
    }
}

/// Text in COPY's text format: backslash escapes for the separators.
fn copy_text(buf: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\n' | b'\r' | b'\t'))
    {
        buf.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c => buf.push(c),
        }
    }
}

/// MySQL has no INSERT … RETURNING; MariaDB has it since 10.5. For an AUTO_INCREMENT key
/// both get multi-row INSERTs: with `innodb_autoinc_lock_mode` 0 or 1 (MariaDB's default
/// and MySQL's before 8.0) InnoDB gives the rows of one such statement consecutive keys, the
/// first being `LAST_INSERT_ID()`, spaced by `auto_increment_increment`. Otherwise MariaDB
/// uses multi-row INSERT … RETURNING, and MySQL inserts one row per statement.
async fn mysql_creates(
    conn: &mut sqlx::MySqlConnection,
    ins: &Insert<'_>,
    rows: &[&[Value]],
) -> Result<Vec<String>, ApplyError> {
    let mut keys = Vec::with_capacity(rows.len());
    let settings = sqlx::query(
        "SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED), \
         CAST(@@auto_increment_increment AS SIGNED), VERSION()",
    )
    .fetch_one(&mut *conn)
    .await?;
    let lock_mode: i64 = settings.try_get(0)?;
    let increment: i64 = settings.try_get(1)?;
    let version: String = settings.try_get(2)?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    if ins.generated_int_key && lock_mode <= 1 {
        let mut start = 0;
        for chunk in byte_chunks(rows, ins.batch(), ins.max_bytes, |r| row_bytes(r)) {
            stop_if_interrupted()?;
            let q = bind_rows!(
                sqlx::query(AssertSqlSafe(ins.sql(chunk.len(), false))),
                ins,
                chunk
            );
            let done = q.execute(&mut *conn).await.map_err(|e| at_row(e, start))?;
            if done.rows_affected() != chunk.len() as u64 {
                return Err(count_mismatch(chunk.len(), done.rows_affected() as usize));
            }
            start += chunk.len();
            let first = done.last_insert_id() as i64;
            keys.extend((0..chunk.len() as i64).map(|i| (first + i * increment).to_string()));
        }
    } else if mariadb {
        insert_returning!(conn, ins, rows, keys);
    } else if ins.generated_int_key {
        let sql = ins.sql(1, false);
        for values in rows {
            let q = bind_rows!(sqlx::query(AssertSqlSafe(sql.clone())), ins, [values]);
            keys.push(q.execute(&mut *conn).await?.last_insert_id().to_string());
        }
    } else {
        return Err(ApplyError::Other(Error::Plan {
            message: format!(
                "the primary key {:?} of table {:?} is not AUTO_INCREMENT, and MySQL cannot \
                 return the key it gave a new row",
                ins.spec.primary_key, ins.spec.table
            ),
            help: Some(
                "make the key AUTO_INCREMENT, or use MariaDB 10.5 or later, which has \
                 INSERT … RETURNING"
                    .into(),
            ),
        }));
    }
    Ok(keys)
}

/// One row of the state table.
struct StateEntry<'a> {
    address: &'a str,
    row_key: String,
    /// The members as the state table's JSON list.
    members: String,
    hash: String,
}

const STATE_COLUMNS: &str = "resource, address, row_key, members, hash, applied_at";

fn state_delete_sql(d: Dialect, n: usize) -> String {
    let p: Vec<String> = (2..n + 2).map(|i| d.placeholder(i)).collect();
    format!(
        "DELETE FROM {} WHERE resource = {} AND address IN ({})",
        d.quote(STATE_TABLE),
        d.placeholder(1),
        p.join(", ")
    )
}

/// The statement that deletes `rows` rows by primary key (`soft` is `None`) or soft-deletes
/// them (`Some(column)`, whose value is the first parameter).
fn delete_sql(spec: &Compiled, d: Dialect, soft: Option<&str>, rows: usize) -> String {
    let set = match soft {
        Some(col) => format!(
            "UPDATE {} SET {} = {}",
            d.quote(&spec.table),
            d.quote(col),
            d.placeholder(1)
        ),
        None => format!("DELETE FROM {}", d.quote(&spec.table)),
    };
    let first = if soft.is_some() { 2 } else { 1 };
    let keys: Vec<String> = (first..first + rows).map(|n| d.placeholder(n)).collect();
    format!(
        "{set} WHERE {} IN ({})",
        d.quote(&spec.primary_key),
        keys.join(", ")
    )
}

/// The statement that restores `rows` soft-deleted rows by primary key: their soft-delete
/// column set to NULL or, when it is NOT NULL (only allowed for a boolean soft-delete value,
/// see [`check::check`]), to the opposite of the soft-delete value, bound first.
fn restore_sql(spec: &Compiled, d: Dialect, column: &str, not_null: bool, rows: usize) -> String {
    let first = if not_null { 2 } else { 1 };
    let keys: Vec<String> = (first..first + rows).map(|n| d.placeholder(n)).collect();
    format!(
        "UPDATE {} SET {} = {} WHERE {} IN ({})",
        d.quote(&spec.table),
        d.quote(column),
        if not_null {
            d.placeholder(1)
        } else {
            "NULL".to_string()
        },
        d.quote(&spec.primary_key),
        keys.join(", ")
    )
}

/// Updates to run, by the fields they change: each row's primary key and new values.
type UpdateGroups<'a> =
    std::collections::BTreeMap<&'a [usize], Vec<(&'a Value, std::borrow::Cow<'a, [Value]>)>>;

/// One statement that sets the `changed` fields of `rows` rows, joining the table to a list
/// of (primary key, new values…) given as parameters, row after row.
fn update_batch_sql(spec: &Compiled, d: Dialect, changed: &[usize], rows: usize) -> String {
    use std::fmt::Write as _;
    let table = d.quote(&spec.table);
    let pk = d.quote(&spec.primary_key);
    let width = changed.len() + 1;
    let mut sql = String::with_capacity(64 + rows * width * 8);
    match d.backend {
        Backend::Postgres => {
            let _ = write!(sql, "UPDATE {table} AS t SET ");
            for (n, &f) in changed.iter().enumerate() {
                let sep = if n > 0 { ", " } else { "" };
                let _ = write!(sql, "{sep}{} = v.c{n}", d.quote(&spec.fields[f].column));
            }
            sql.push_str(" FROM (VALUES ");
            for r in 0..rows {
                let base = r * width;
                let _ = write!(sql, "{}(${}", if r > 0 { ", " } else { "" }, base + 1);
                for (n, &f) in changed.iter().enumerate() {
                    let p = d.value_placeholder(base + n + 2, spec.fields[f].kind);
                    let _ = write!(sql, ", {p}");
                }
                sql.push(')');
            }
            sql.push_str(") AS v(k");
            for n in 0..changed.len() {
                let _ = write!(sql, ", c{n}");
            }
            let _ = write!(sql, ") WHERE t.{pk} = v.k");
        }
        Backend::Sqlite => {
            let _ = write!(sql, "UPDATE {table} SET ");
            for (n, &f) in changed.iter().enumerate() {
                let sep = if n > 0 { ", " } else { "" };
                let _ = write!(
                    sql,
                    "{sep}{} = v.column{}",
                    d.quote(&spec.fields[f].column),
                    n + 2
                );
            }
            sql.push_str(" FROM (VALUES ");
            let row = format!("({})", vec!["?"; width].join(", "));
            for r in 0..rows {
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&row);
            }
            let _ = write!(sql, ") AS v WHERE {table}.{pk} = v.column1");
        }
        Backend::MySql => {
            let _ = write!(sql, "UPDATE {table} AS t JOIN (SELECT ? AS k");
            for n in 0..changed.len() {
                let _ = write!(sql, ", ? AS c{n}");
            }
            let rest = format!(" UNION ALL SELECT {}", vec!["?"; width].join(", "));
            for _ in 1..rows {
                sql.push_str(&rest);
            }
            let _ = write!(sql, ") AS v ON t.{pk} = v.k SET ");
            for (n, &f) in changed.iter().enumerate() {
                let sep = if n > 0 { ", " } else { "" };
                let _ = write!(sql, "{sep}t.{} = v.c{n}", d.quote(&spec.fields[f].column));
            }
        }
    }
    sql
}

/// `INSERT` of `rows` state entries; with `upsert`, each replaces the entry at its address.
fn state_insert_sql(d: Dialect, rows: usize, upsert: bool) -> String {
    let groups: Vec<String> = (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=6).map(|n| d.placeholder(r * 6 + n)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    let mut sql = format!(
        "INSERT INTO {} ({STATE_COLUMNS}) VALUES {}",
        d.quote(STATE_TABLE),
        groups.join(", ")
    );
    if upsert {
        let set: Vec<String> = ["row_key", "members", "hash", "applied_at"]
            .iter()
            .map(|c| match d.backend {
                Backend::MySql => format!("{c} = VALUES({c})"),
                _ => format!("{c} = excluded.{c}"),
            })
            .collect();
        sql.push_str(&match d.backend {
            Backend::MySql => format!(" ON DUPLICATE KEY UPDATE {}", set.join(", ")),
            _ => format!(
                " ON CONFLICT (resource, address) DO UPDATE SET {}",
                set.join(", ")
            ),
        });
    }
    sql
}

/// Records in the inputs table, inside the apply's transaction, what this plan was made from
/// and a digest of the state entries the apply leaves: those read before it that it neither
/// rewrote nor deleted, and those it wrote. A plan without an inputs fingerprint removes the
/// resource's record, so a later plan takes the full path.
macro_rules! record_inputs {
    ($tx:expr, $d:expr, $plan:expr, $current:expr, $entries:expr, $now:expr) => {{
        let (plan, entries): (&Plan, &[StateEntry<'_>]) = ($plan, $entries);
        let record = plan.inputs.as_ref().and_then(|_| {
            use crate::fingerprint::StateDigest;
            let gone: std::collections::HashSet<&str> = if $current.state.is_empty() {
                Default::default()
            } else {
                entries
                    .iter()
                    .map(|e| e.address)
                    .chain(
                        plan.changes
                            .iter()
                            .filter(|c| c.action == Action::Delete)
                            .map(|c| c.address.as_str()),
                    )
                    .collect()
            };
            let kept = $current
                .state
                .iter()
                .filter(|s| !gone.contains(s.address.as_str()))
                .map(|s| s.print);
            let written = entries
                .iter()
                .map(|e| StateDigest::written(e.address, &e.row_key, &e.members, &e.hash));
            let digest = kept
                .chain(written)
                .fold(StateDigest::default(), StateDigest::with);
            super::inputs::record_for(plan, digest, $now)
        });
        super::inputs::record_on!($tx, $d, &plan.resource, record)?;
    }};
}

/// Writes several plans (parents first) in one transaction, with `$creates` inserting new
/// rows for this backend. Creates and updates run in the given order, deletes in the reverse
/// order, so a row is never left pointing to a deleted one.
macro_rules! apply_with {
    ($pool:expr, $db:expr, $items:expr, $locks:expr, $creates:ident) => {
        async {
            let (db, items, locks): (&Database, &[(&Compiled, &Plan)], &[LockRequest]) =
                ($db, $items, $locks);
            let (d, p) = (db.dialect, $pool);
            let now = now_rfc3339();
            // MySQL and MariaDB commit the open transaction on any DDL, so there the tables
            // are created before it starts. A failure later leaves them empty, which the
            // next plan reads like a missing table.
            let ddl_first = d.backend == Backend::MySql;
            if ddl_first {
                for &(spec, plan) in items {
                    if plan.create_table {
                        let sql = create_table_sql(spec, d).replacen(
                            "CREATE TABLE",
                            "CREATE TABLE IF NOT EXISTS",
                            1,
                        );
                        sqlx::query(AssertSqlSafe(sql)).execute(p).await?;
                    }
                }
                sqlx::query(AssertSqlSafe(d.create_state_table()))
                    .execute(p)
                    .await?;
                sqlx::query(AssertSqlSafe(super::inputs::create_table_sql(d)))
                    .execute(p)
                    .await?;
                sqlx::query(AssertSqlSafe(super::claims::create_table_sql(d)))
                    .execute(p)
                    .await?;
            }
            let mut conn = p.acquire().await?;
            let result = async {
                let mut tx = conn
                    .begin_locked(&locks[0])
                    .await
                    .map_err(ApplyError::Other)?;
                for extra in &locks[1..] {
                    tx.lock_also(extra).await.map_err(ApplyError::Other)?;
                }
                stop_if_interrupted()?;
                let mut applied = Applied::default();
                // The primary key of every managed row by its full address, for references.
                // Only kept when a spec has references: it holds every managed row.
                let mut keys: KeyMap = KeyMap::new();
                let needs_keys = items
                    .iter()
                    .any(|(s, _)| s.fields.iter().any(|f| f.reference.is_some()));
                let mut state_created = false;
                let max_bytes = if d.backend == Backend::MySql {
                    let packet: i64 =
                        sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)")
                            .fetch_one(&mut *tx)
                            .await?;
                    batch_bytes(Some(packet))
                } else {
                    batch_bytes(None)
                };
                for &(spec, plan) in items {
                    stop_if_interrupted()?;
                    let read_error = |e| match e {
                        ReadError::Sql(e) => ApplyError::Sql(e),
                        ReadError::Spec(e) => ApplyError::Other(e),
                    };
                    // The rows are fingerprinted, not kept: the whole table is read again only
                    // to tell what changed when the plan turns out stale.
                    let current = read_on!(&mut *tx, d, spec, false).map_err(read_error)?;
                    let fingerprint = if ddl_first && plan.create_table {
                        // The table this apply just created reads as the missing table planned on.
                        current.prints.finish(false)
                    } else {
                        current.fingerprint.clone()
                    };
                    if fingerprint != plan.fingerprint {
                        let current = read_on!(&mut *tx, d, spec).map_err(read_error)?;
                        return Err(ApplyError::Other(crate::plan::file::stale_error(
                            plan, &current,
                        )));
                    }
                    check::check(spec, &current, plan, d.backend).map_err(ApplyError::Other)?;
                    if needs_keys {
                        for s in &current.state {
                            keys.insert(
                                crate::plan::address::display(&spec.resource, &s.address),
                                s.row_key.clone(),
                            );
                        }
                    }
                    // A table created here gets its primary key after its rows where the
                    // index is then built once from them rather than key by key.
                    let key_after_table = !ddl_first && plan.create_table && d.key_after_load();
                    let mut key_after_state = false;
                    if !ddl_first {
                        if plan.create_table {
                            sqlx::query(AssertSqlSafe(table_sql(spec, d, !key_after_table)))
                                .execute(&mut *tx)
                                .await?;
                        }
                        if !state_created {
                            key_after_state = !current.state_table_exists && d.key_after_load();
                            sqlx::query(AssertSqlSafe(d.state_table_sql(!key_after_state)))
                                .execute(&mut *tx)
                                .await?;
                            state_created = true;
                        }
                        sqlx::query(AssertSqlSafe(super::claims::create_table_sql(d)))
                            .execute(&mut *tx)
                            .await?;
                    }
                    // The table is this resource's from now on (the read above refused it if
                    // it was another's).
                    sqlx::query(AssertSqlSafe(super::claims::claim_sql(d)))
                        .bind(spec.table.as_str())
                        .bind(plan.resource.as_str())
                        .bind(now.as_str())
                        .execute(&mut *tx)
                        .await?;
                    let ins = Insert {
                        spec,
                        d,
                        max_bytes,
                        not_null: not_null_fields(spec, &current),
                        created_here: plan.create_table && !ddl_first,
                        generated_int_key: if current.columns.is_empty() {
                            true
                        } else {
                            current
                                .column(&spec.primary_key)
                                .is_some_and(|c| c.generated && current.integer_key)
                        },
                    };

                    let mut creates: Vec<std::borrow::Cow<'_, [Value]>> = Vec::new();
                    for c in plan.changes.iter().filter(|c| c.action == Action::Create) {
                        creates.push(with_keys(
                            spec,
                            c.after.as_deref().expect("a create has values"),
                            &keys,
                        )?);
                    }
                    let rows: Vec<&[Value]> = creates.iter().map(|c| c.as_ref()).collect();
                    let new_keys = if rows.is_empty() {
                        Vec::new()
                    } else {
                        $creates(&mut *tx, &ins, &rows)
                            .await
                            .map_err(|e| locate_create(e, spec, plan))?
                    };
                    drop(rows);
                    drop(creates);
                    if key_after_table {
                        sqlx::query(AssertSqlSafe(add_primary_key_sql(spec, d)))
                            .execute(&mut *tx)
                            .await?;
                    }
                    applied.created += new_keys.len();
                    let mut new_keys = new_keys.into_iter();

                    // Updates are grouped by the fields they change, one statement per group
                    // and batch; the state entries are built on the way.
                    let mut updates: UpdateGroups<'_> = UpdateGroups::new();
                    // The members and hash of each state entry to write, on every core.
                    let mut prepared = {
                        use rayon::prelude::*;
                        plan.changes
                            .par_iter()
                            .map(|c| {
                                let writes = match c.action {
                                    Action::Create | Action::Update => true,
                                    Action::NoOp => c.write_state,
                                    Action::Delete => false,
                                };
                                c.after
                                    .as_ref()
                                    .filter(|_| writes)
                                    .map(|values| (members_json(&c.members), values_hash(values)))
                            })
                            .collect::<Vec<_>>()
                            .into_iter()
                    };
                    let mut entries: Vec<StateEntry<'_>> = Vec::with_capacity(
                        plan.changes
                            .iter()
                            .filter(|c| c.action != Action::Delete)
                            .count(),
                    );
                    for c in &plan.changes {
                        let key = match c.action {
                            Action::Create => new_keys.next(),
                            Action::Update => {
                                let row_key = c.row_key.as_ref().expect("an update has a row");
                                if !c.changed.is_empty() {
                                    let values = with_keys(
                                        spec,
                                        c.after.as_ref().expect("an update has values"),
                                        &keys,
                                    )?;
                                    updates
                                        .entry(c.changed.as_slice())
                                        .or_default()
                                        .push((row_key, values));
                                }
                                applied.updated += 1;
                                Some(key_text(row_key))
                            }
                            Action::NoOp if c.write_state => c.row_key.as_ref().map(key_text),
                            Action::NoOp | Action::Delete => None,
                        };
                        let prepared = prepared.next().expect("one per change");
                        if let (Some(row_key), Some((members, hash))) = (key, prepared) {
                            if needs_keys {
                                keys.insert(
                                    crate::plan::address::display(&spec.resource, &c.address),
                                    row_key.clone(),
                                );
                            }
                            entries.push(StateEntry {
                                address: &c.address,
                                row_key,
                                members,
                                // The hash of the values as planned: references by address.
                                hash,
                            });
                        }
                    }
                    for (changed, rows) in &updates {
                        let batch = (d.max_params() / (changed.len() + 1)).clamp(1, 1000);
                        let size = |(_, values): &(&Value, std::borrow::Cow<'_, [Value]>)| {
                            16 + changed
                                .iter()
                                .map(|&f| value_bytes(&values[f]))
                                .sum::<usize>()
                        };
                        for chunk in byte_chunks(rows, batch, ins.max_bytes, size) {
                            stop_if_interrupted()?;
                            let sql = update_batch_sql(spec, d, changed, chunk.len());
                            let mut q = sqlx::query(AssertSqlSafe(sql));
                            for (row_key, values) in chunk {
                                q = match row_key {
                                    Value::Int(i) => q.bind(*i),
                                    other => q.bind(key_text(other)),
                                };
                                for &f in changed.iter() {
                                    q = bind_value!(
                                        q,
                                        &values[f],
                                        spec.fields[f].kind,
                                        ins.not_null[f]
                                    );
                                }
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                    drop(updates);
                    // Rows restored from a soft delete: their soft-delete column cleared.
                    if let Some(sd) = &spec.soft_delete {
                        let restored: Vec<&Value> = plan
                            .changes
                            .iter()
                            .filter(|c| c.reason == crate::plan::Reason::Restored)
                            .filter_map(|c| c.row_key.as_ref())
                            .collect();
                        let not_null = current.column(&sd.column).is_some_and(|c| c.not_null);
                        for chunk in restored.chunks(1000) {
                            let sql = restore_sql(spec, d, &sd.column, not_null, chunk.len());
                            let mut q = sqlx::query(AssertSqlSafe(sql));
                            if not_null && let Value::Bool(b) = &sd.value {
                                q = q.bind(!*b);
                            }
                            for key in chunk {
                                q = match key {
                                    Value::Int(i) => q.bind(*i),
                                    other => q.bind(key_text(other)),
                                };
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }

                    // The state table, in address order (the order of its primary key). An entry
                    // whose address is already there replaces it through an upsert, which finds
                    // it by the primary key: a DELETE of a list of addresses was planned by
                    // PostgreSQL, on a table not yet analyzed, as a scan of the whole resource.
                    // The others are inserted in bulk.
                    entries.sort_unstable_by(|a, b| a.address.cmp(b.address));
                    let known: std::collections::HashSet<&str> = if current.state.is_empty() {
                        Default::default()
                    } else {
                        let writing: std::collections::HashSet<&str> =
                            entries.iter().map(|e| e.address).collect();
                        current
                            .state
                            .iter()
                            .map(|s| s.address.as_str())
                            .filter(|a| writing.contains(a))
                            .collect()
                    };
                    let (replacing, fresh): (Vec<StateEntry<'_>>, Vec<StateEntry<'_>>) =
                        if known.is_empty() {
                            (Vec::new(), entries)
                        } else {
                            entries.into_iter().partition(|e| known.contains(e.address))
                        };
                    for (list, upsert) in [(&replacing, true), (&fresh, false)] {
                        if list.is_empty()
                            || (!upsert && bulk_state!(&mut *tx, d, &plan.resource, &now, list))
                        {
                            continue;
                        }
                        let rows = (d.max_params() / 6).min(1000);
                        let size = |e: &StateEntry<'_>| {
                            64 + plan.resource.len()
                                + e.address.len()
                                + e.row_key.len()
                                + e.members.len()
                                + e.hash.len()
                        };
                        for chunk in byte_chunks(list, rows, ins.max_bytes, size) {
                            stop_if_interrupted()?;
                            let mut q = sqlx::query(AssertSqlSafe(state_insert_sql(
                                d,
                                chunk.len(),
                                upsert,
                            )));
                            for e in chunk {
                                q = q
                                    .bind(plan.resource.as_str())
                                    .bind(e.address)
                                    .bind(e.row_key.as_str())
                                    .bind(e.members.as_str())
                                    .bind(e.hash.as_str())
                                    .bind(now.as_str());
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                    if key_after_state {
                        sqlx::query(AssertSqlSafe(d.state_primary_key()))
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Every entry written, for the digest (which does not depend on order).
                    let mut entries = fresh;
                    entries.extend(replacing);
                    record_inputs!(&mut *tx, d, plan, &current, &entries, &now);
                }

                // Deletes, children first: one statement per batch of rows.
                for &(spec, plan) in items.iter().rev() {
                    let soft_delete = spec.soft_delete.as_ref();
                    let (soft, hard): (Vec<&Change>, Vec<&Change>) = plan
                        .changes
                        .iter()
                        .filter(|c| c.action == Action::Delete)
                        .partition(|c| {
                            soft_delete.is_some() && c.reason == crate::plan::Reason::MissingSoft
                        });
                    for (list, soft) in [(hard, None), (soft, soft_delete)] {
                        for chunk in list.chunks(1000) {
                            stop_if_interrupted()?;
                            let sql =
                                delete_sql(spec, d, soft.map(|s| s.column.as_str()), chunk.len());
                            let mut q = sqlx::query(AssertSqlSafe(sql));
                            if let Some(sd) = soft {
                                q = match &sd.value {
                                    Value::Bool(b) => q.bind(*b),
                                    Value::Int(i) => q.bind(*i),
                                    other => q.bind(key_text(other)),
                                };
                            }
                            for c in chunk {
                                q = match c.row_key.as_ref().expect("a delete has a row") {
                                    Value::Int(i) => q.bind(*i),
                                    other => q.bind(key_text(other)),
                                };
                            }
                            q.execute(&mut *tx).await?;
                            let mut q =
                                sqlx::query(AssertSqlSafe(state_delete_sql(d, chunk.len())))
                                    .bind(plan.resource.as_str());
                            for c in chunk {
                                q = q.bind(c.address.as_str());
                            }
                            q.execute(&mut *tx).await?;
                            applied.deleted += chunk.len();
                        }
                    }
                }
                // The last moment an interrupt can undo the apply: past here it completes.
                stop_if_interrupted()?;
                tx.commit().await?;
                Ok::<Applied, ApplyError>(applied)
            }
            .await;
            for l in locks.iter().rev() {
                conn.release(l).await;
            }
            result
        }
        .await
    };
}

/// Primary keys (as text) by full address, `customers["barchefz"]`.
type KeyMap = std::collections::HashMap<String, String>;

/// A row's values with each reference (planned as the referenced record's address) replaced
/// by that record's primary key: from the state table, or created earlier in this apply.
fn with_keys<'v>(
    spec: &Compiled,
    values: &'v [Value],
    keys: &KeyMap,
) -> Result<std::borrow::Cow<'v, [Value]>, ApplyError> {
    if spec.fields.iter().all(|f| f.reference.is_none()) {
        return Ok(std::borrow::Cow::Borrowed(values));
    }
    let mut out = values.to_vec();
    for (f, field) in spec.fields.iter().enumerate() {
        if field.reference.is_none() {
            continue;
        }
        if let Value::Text(address) = &values[f] {
            let Some(key) = keys.get(address) else {
                return Err(ApplyError::Other(Error::Plan {
                    message: format!(
                        "field `{}` of {} points to {address}, which has no row",
                        field.name, spec.resource
                    ),
                    help: Some(
                        "plan and apply the referenced resource together with this one".into(),
                    ),
                }));
            };
            out[f] = match (field.kind, key.parse::<i64>()) {
                (FieldType::Integer, Ok(i)) => Value::Int(i),
                _ => Value::Text(key.clone()),
            };
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Applies a plan in one transaction, waiting up to 10 seconds for the table's lock.
pub async fn apply(db: &Database, spec: &Compiled, plan: &Plan) -> Result<Applied> {
    let req = LockRequest::new(
        &db.url,
        &spec.table,
        std::time::Duration::from_secs(10),
        "apply",
    );
    apply_locked(db, spec, plan, &req).await
}

/// Applies a plan in one transaction that holds the table's lock.
pub async fn apply_locked(
    db: &Database,
    spec: &Compiled,
    plan: &Plan,
    lock: &LockRequest,
) -> Result<Applied> {
    apply_all(db, &[(spec, plan)], std::slice::from_ref(lock)).await
}

/// Applies several plans, parents first, in one transaction that holds every table's lock
/// (`locks`, one per plan at least; never empty).
pub async fn apply_all(
    db: &Database,
    items: &[(&Compiled, &Plan)],
    locks: &[LockRequest],
) -> Result<Applied> {
    assert!(!locks.is_empty(), "an apply takes at least one lock");
    let pool = db
        .pool
        .as_ref()
        .ok_or_else(|| db.error("the database is not open for writing"))?;
    let result = match pool {
        Pool::Sqlite(p) => {
            macro_rules! bulk_state {
                ($conn:expr, $d:expr, $resource:expr, $now:expr, $entries:expr) => {{
                    sqlite_state($conn, $d, $resource, $now, $entries).await?;
                    true
                }};
            }
            apply_with!(p, db, items, locks, sqlite_creates)
        }
        Pool::Postgres(p) => {
            macro_rules! bulk_state {
                ($conn:expr, $d:expr, $resource:expr, $now:expr, $entries:expr) => {
                    $entries.len() > 100 && {
                        pg_copy_state($conn, $d, $resource, $now, $entries).await?;
                        true
                    }
                };
            }
            apply_with!(p, db, items, locks, pg_creates)
        }
        Pool::MySql(p) => {
            macro_rules! bulk_state {
                ($($t:tt)*) => {
                    false
                };
            }
            apply_with!(p, db, items, locks, mysql_creates)
        }
    };
    result.map_err(|e| {
        let secrets = sensitive_values(items);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let clean =
            |e: &dyn std::fmt::Display| crate::render::safe::scrub_values(&e.to_string(), &secrets);
        let (e, mut record) = match e {
            ApplyError::Located(record, e) => (*e, Some(record)),
            e => (e, None),
        };
        let message = match &e {
            ApplyError::Sql(e) => driver_message(e),
            ApplyError::Sqlite(e) => e.to_string(),
            _ => String::new(),
        };
        if record.is_none() {
            record = locate_by_value(items, &message);
        }
        let column = message_column(&e, &message);
        let message = match (record, column) {
            (Some(r), Some(c)) => format!("{message}\n  at {r}, column {c}"),
            (Some(r), None) => format!("{message}\n  at {r}"),
            (None, Some(c)) => format!("{message}\n  in column {c}"),
            (None, None) => message,
        };
        match e {
            ApplyError::Sql(_) | ApplyError::Sqlite(_) => rolled_back(db, &clean(&message)),
            ApplyError::Other(e) => e,
            ApplyError::Interrupted => Error::Interrupted,
            ApplyError::AtCreate(..) | ApplyError::Located(..) => {
                unreachable!("located errors are unwrapped above")
            }
        }
    })
}

/// A driver's error in words, without what only the server's developers need: PostgreSQL
/// adds the line of its own source file (`… at line 1798`).
fn driver_message(e: &sqlx::Error) -> String {
    if let Some(pg) = e
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        return format!("error returned from database: {}", pg.message());
    }
    e.to_string()
}

/// The column a database error names, when it names one: PostgreSQL's error field or COPY
/// context, MySQL's `for column 'x'`.
fn message_column(e: &ApplyError, message: &str) -> Option<String> {
    if let ApplyError::Sql(e) = e
        && let Some(pg) = e
            .as_database_error()
            .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        if let Some(c) = pg.column() {
            return Some(c.to_string());
        }
        let context = pg.r#where()?;
        let after = context.split(", column ").nth(1)?;
        return Some(after.split(':').next()?.trim().to_string());
    }
    let after = message.split("for column '").nth(1)?;
    Some(after.split('\'').next()?.to_string())
}

/// `customers["x"] (production:7, import:3)`: a change as an error names it.
fn describe(plan: &Plan, c: &Change) -> String {
    let members: Vec<String> = c.members.iter().map(ToString::to_string).collect();
    format!("{} ({})", plan.address(&c.address), members.join(", "))
}

/// Ties an error of a create to the record that caused it: SQLite's row-by-row inserts say
/// which row failed; PostgreSQL's COPY says which line of its input (`COPY t, line 17`).
fn locate_create(e: ApplyError, spec: &Compiled, plan: &Plan) -> ApplyError {
    let nth = |n: usize| {
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .nth(n)
            .map(|c| describe(plan, c))
    };
    match e {
        ApplyError::AtCreate(i, inner) => match nth(i) {
            Some(r) => ApplyError::Located(r, inner),
            None => *inner,
        },
        ApplyError::Sql(err) => {
            let line = err
                .as_database_error()
                .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
                .and_then(|pg| pg.r#where())
                .filter(|w| w.starts_with(&format!("COPY {}, line ", spec.table)))
                .and_then(|w| w.split(", line ").nth(1))
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<usize>().ok());
            match line.and_then(|n| nth(n.checked_sub(1)?)) {
                Some(r) => ApplyError::Located(r, Box::new(ApplyError::Sql(err))),
                None => ApplyError::Sql(err),
            }
        }
        other => other,
    }
}

/// Ties an error that quotes a value (MySQL: `Duplicate entry 'x' for key 'k'`) to the
/// records written with that value.
fn locate_by_value(items: &[(&Compiled, &Plan)], message: &str) -> Option<String> {
    let quoted = message.split("Duplicate entry '").nth(1)?;
    let value = &quoted[..quoted.find("' for key")?];
    let mut found = Vec::new();
    for (_, plan) in items {
        for c in &plan.changes {
            let Some(after) = &c.after else { continue };
            if matches!(c.action, Action::Create | Action::Update)
                && after
                    .iter()
                    .any(|v| !v.is_null() && key_text(v).eq_ignore_ascii_case(value))
            {
                found.push(describe(plan, c));
            }
        }
    }
    (!found.is_empty()).then(|| found.join(" and "))
}

/// Every value of a sensitive field the plans write or compare with, as text: what a
/// database's error message must not quote.
fn sensitive_values(items: &[(&Compiled, &Plan)]) -> Vec<String> {
    let mut out = Vec::new();
    for (_, plan) in items {
        for c in &plan.changes {
            for row in [&c.before, &c.after].into_iter().flatten() {
                for (f, v) in row.iter().enumerate() {
                    if plan.sensitive.get(f) == Some(&true) && !v.is_null() {
                        out.push(key_text(v));
                    }
                }
            }
        }
    }
    out
}

enum ApplyError {
    Sql(sqlx::Error),
    Sqlite(SqliteError),
    Other(Error),
    /// SIGINT or SIGTERM arrived: the transaction is dropped, so rolled back.
    Interrupted,
    /// An error of the `n`-th create of a plan.
    AtCreate(usize, Box<ApplyError>),
    /// An error and the record it concerns (`customers["x"] (production:7)`).
    Located(String, Box<ApplyError>),
}

/// Stops the apply (rolling it back) when the user interrupted it.
fn stop_if_interrupted() -> Result<(), ApplyError> {
    if super::interrupt::interrupted() {
        Err(ApplyError::Interrupted)
    } else {
        Ok(())
    }
}

impl From<SqliteError> for ApplyError {
    fn from(e: SqliteError) -> Self {
        ApplyError::Sqlite(e)
    }
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Sql(e)
    }
}

/// The error of a failed apply: the database's own words, and that nothing was written.
fn rolled_back(db: &Database, e: &dyn std::fmt::Display) -> Error {
    Error::Database {
        url: db.display_url(),
        message: db.scrub(format!(
            "apply failed and was rolled back, nothing was written: {e}"
        )),
        help: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_separators_and_marks_null() {
        let mut buf = String::new();
        copy_field(&mut buf, &Value::Text("a\tb\nc\\d\re".into()), false);
        assert_eq!(buf, "a\\tb\\nc\\\\d\\re");
        buf.clear();
        copy_field(&mut buf, &Value::Null, false);
        copy_field(&mut buf, &Value::Null, true);
        copy_field(&mut buf, &Value::Bool(true), false);
        copy_field(&mut buf, &Value::Int(-3), false);
        assert_eq!(buf, "\\Nt-3");
    }

    #[test]
    fn multi_row_insert_numbers_and_casts_its_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: {}\n    \
             price: { type: decimal }\nsources:\n  s:\n    id: name\n    inline: [{ name: x }]\n    \
             fields: { name: name }\n",
        )
        .unwrap();
        let spec = crate::spec::load::load(&path).unwrap();
        let ins = |backend| Insert {
            spec: &spec,
            d: Dialect::new(backend),
            not_null: vec![false, false],
            generated_int_key: true,
            created_here: false,
            max_bytes: batch_bytes(None),
        };
        assert_eq!(
            ins(Backend::Postgres).sql(2, true),
            "INSERT INTO \"t\" (\"name\", \"price\") VALUES ($1, CAST($2 AS NUMERIC)), \
             ($3, CAST($4 AS NUMERIC)) RETURNING CAST(\"id\" AS TEXT)"
        );
        assert_eq!(
            ins(Backend::MySql).sql(2, false),
            "INSERT INTO `t` (`name`, `price`) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(ins(Backend::Sqlite).batch(), 1000);
        assert_eq!(
            state_insert_sql(Dialect::new(Backend::Postgres), 2, false)
                .matches('$')
                .count(),
            12
        );
        assert!(
            state_insert_sql(Dialect::new(Backend::Sqlite), 1, true).ends_with(
                "ON CONFLICT (resource, address) DO UPDATE SET row_key = excluded.row_key, \
                 members = excluded.members, hash = excluded.hash, applied_at = excluded.applied_at"
            )
        );
        assert!(
            state_insert_sql(Dialect::new(Backend::MySql), 1, true).ends_with(
                "ON DUPLICATE KEY UPDATE row_key = VALUES(row_key), members = VALUES(members), \
                 hash = VALUES(hash), applied_at = VALUES(applied_at)"
            )
        );
    }

    #[test]
    fn batches_are_cut_by_rows_and_by_bytes() {
        let items: Vec<usize> = vec![10, 10, 10, 50, 10, 10];
        let sizes = |max_rows, max_bytes| -> Vec<usize> {
            byte_chunks(&items, max_rows, max_bytes, |&b| b)
                .map(<[usize]>::len)
                .collect()
        };
        assert_eq!(sizes(1000, 1000), [6]);
        assert_eq!(sizes(2, 1000), [2, 2, 2]);
        // An item larger than the budget goes alone.
        assert_eq!(sizes(1000, 30), [3, 1, 2]);
        assert_eq!(batch_bytes(None), 4 << 20);
        assert_eq!(batch_bytes(Some(16 << 20)), 4 << 20);
        assert_eq!(batch_bytes(Some(1 << 20)), 1 << 19);
    }
}
