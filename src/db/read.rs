//! Reading the current state: the target table's rows (the columns the spec maps, plus the
//! primary key) and this resource's entries in the state table. Every value is read through a
//! cast to text or integer, so what the application stored compares cleanly with the spec.

use sqlx::Row as _;

pub use crate::fingerprint::Prints;
pub use crate::state::{Column, CurrentRow, CurrentState, StateRow, Unique, key_text};

use super::{Database, Dialect, on_pool};
use crate::error::{Error, Result};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::types;
use crate::value::Value;

pub(crate) enum ReadError {
    Sql(sqlx::Error),
    Spec(Error),
}

impl From<sqlx::Error> for ReadError {
    fn from(e: sqlx::Error) -> Self {
        ReadError::Sql(e)
    }
}

/// The columns of a table; empty when the table does not exist.
macro_rules! columns_on {
    ($conn:expr, $d:expr, $table:expr) => {
        async {
            let rows = sqlx::query(sqlx::AssertSqlSafe($d.columns_query()))
                .bind($table.to_string())
                .fetch_all($conn)
                .await?;
            let mut out: Vec<$crate::db::read::Column> = Vec::with_capacity(rows.len());
            for r in rows {
                out.push($crate::db::read::Column {
                    name: r.try_get::<String, _>(0)?,
                    data_type: r.try_get::<String, _>(1)?,
                    not_null: r.try_get::<i64, _>(2)? != 0,
                    has_default: r.try_get::<i64, _>(3)? != 0,
                    generated: r.try_get::<i64, _>(4)? != 0,
                    max_length: r.try_get::<Option<i64>, _>(5)?,
                    scale: r.try_get::<Option<i64>, _>(6)?,
                });
            }
            Ok::<_, sqlx::Error>(out)
        }
    };
}
pub(crate) use columns_on;

/// The unique constraints of a table (other than its primary key) that are plain lists of
/// columns: partial and expression indexes are left out, since their effect cannot be
/// predicted from the values alone.
macro_rules! unique_on {
    ($conn:expr, $d:expr, $table:expr) => {
        async {
            let rows = sqlx::query(sqlx::AssertSqlSafe($d.unique_query()))
                .bind($table.to_string())
                .fetch_all($conn)
                .await?;
            let mut out: Vec<$crate::db::read::Unique> = Vec::new();
            let mut skip: Option<String> = None;
            for r in rows {
                let name: String = r.try_get(0)?;
                let column: Option<String> = r.try_get(1)?;
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
                    _ => out.push($crate::db::read::Unique {
                        name,
                        columns: vec![column],
                    }),
                }
            }
            Ok::<_, sqlx::Error>(out)
        }
    };
}
pub(crate) use unique_on;

/// Reads the current state through a connection or transaction (`&mut *conn`). The target
/// table is streamed: rows are fingerprinted and turned into values as they arrive. With
/// `$keep_rows` false, the rows of the table are only fingerprinted, not kept (unless the
/// table has unique constraints, which the checks need them for), and the members of state
/// entries are left empty: all a write needs besides the fingerprint.
macro_rules! read_on {
    ($conn:expr, $d:expr, $spec:expr) => {
        $crate::db::read::read_on!($conn, $d, $spec, true)
    };
    ($conn:expr, $d:expr, $spec:expr, $keep_rows:expr) => {
        async {
            let keep_rows: bool = $keep_rows;
            let mut buf: Vec<u8> = Vec::with_capacity(256);
            let mut prints = $crate::db::read::Prints::default();
            use futures_util::TryStreamExt as _;
            let d: $crate::db::Dialect = $d;
            let spec: &$crate::spec::compiled::Compiled = $spec;
            let conn = $conn;
            let columns = $crate::db::read::columns_on!(&mut *conn, d, spec.table).await?;
            let mut state = $crate::db::read::CurrentState {
                table_exists: !columns.is_empty(),
                integer_key: true,
                ..Default::default()
            };
            if state.table_exists {
                $crate::db::read::check_columns(spec, &columns, d)
                    .map_err($crate::db::read::ReadError::Spec)?;
                $crate::db::check::column_types(spec, &columns, d.backend)
                    .map_err($crate::db::read::ReadError::Spec)?;
                state.integer_key = columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(&spec.primary_key))
                    .is_some_and(|c| c.data_type.to_ascii_lowercase().contains("int"));
                state.unique = $crate::db::read::unique_on!(&mut *conn, d, spec.table).await?;
                state.columns = columns;
                let keep = keep_rows || !state.unique.is_empty();
                let integer_key = state.integer_key;
                let sql = $crate::db::read::select_rows(spec, d, state.integer_key);
                let shape = $crate::db::read::RowShape::new(spec, integer_key);
                // SQLite hands rows over one at a time from its worker thread, which costs far
                // more than reading them; there, rows come in chunks packed as JSON arrays.
                let mut fast = false;
                if d.backend == $crate::db::Backend::Postgres {
                    if let Some(read) =
                        $crate::db::copy_out::rows(&mut *conn, &sql, shape.clone(), keep).await
                    {
                        let (read, rows) = read?;
                        prints = prints.merge(&read);
                        state.rows = rows;
                        fast = true;
                    }
                }
                if d.backend == $crate::db::Backend::Sqlite {
                    let mut rows = Vec::new();
                    let mut chunk_prints = prints;
                    let mut after = i64::MIN;
                    let chunk_sql = $crate::db::read::sqlite_chunk_sql(spec, d, integer_key);
                    // Each chunk is taken apart while SQLite, on its own thread, makes the next.
                    let read: Result<(), sqlx::Error> = async {
                        let mut made: Option<String> = None;
                        loop {
                            let fetch = sqlx::query_as(sqlx::AssertSqlSafe(chunk_sql.as_str()))
                                .bind(after)
                                .fetch_one(&mut *conn);
                            let take_apart = async {
                                match made.take() {
                                    Some(text) => $crate::db::read::add_json_rows(
                                        &text,
                                        &shape,
                                        keep,
                                        &mut chunk_prints,
                                        &mut rows,
                                    ),
                                    None => Ok(()),
                                }
                            };
                            let (fetched, taken) =
                                futures_util::future::join(fetch, take_apart).await;
                            taken.map_err(|e| sqlx::Error::Protocol(e))?;
                            let (text, last, n): (Option<String>, Option<i64>, i64) = fetched?;
                            if n == 0 {
                                return Ok(());
                            }
                            made = Some(text.unwrap_or_default());
                            after = last.unwrap_or(i64::MAX);
                        }
                    }
                    .await;
                    if read.is_ok() {
                        prints = chunk_prints;
                        state.rows = rows;
                        fast = true;
                    }
                }
                if !fast {
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
                    while let Some(r) = rows.try_next().await? {
                        let mut cells: Vec<$crate::db::read::Cell<'_>> =
                            Vec::with_capacity(spec.fields.len() + 1);
                        cells.push(if integer_key {
                            r.try_get::<Option<i64>, _>(0)?
                                .map_or($crate::db::read::Cell::Null, $crate::db::read::Cell::Int)
                        } else {
                            r.try_get::<Option<&str>, _>(0)?
                                .map_or($crate::db::read::Cell::Null, $crate::db::read::Cell::Text)
                        });
                        for (i, f) in spec.fields.iter().enumerate() {
                            cells.push(match f.kind {
                                $crate::spec::FieldType::Integer => {
                                    r.try_get::<Option<i64>, _>(i + 1)?.map_or(
                                        $crate::db::read::Cell::Null,
                                        $crate::db::read::Cell::Int,
                                    )
                                }
                                _ => r.try_get::<Option<&str>, _>(i + 1)?.map_or(
                                    $crate::db::read::Cell::Null,
                                    $crate::db::read::Cell::Text,
                                ),
                            });
                        }
                        $crate::db::read::add_row(
                            &cells,
                            &shape,
                            keep,
                            &mut prints,
                            &mut buf,
                            &mut state.rows,
                        );
                    }
                }
                state.rows.sort_by(|a, b| a.key.cmp(&b.key));
                if let Some(sd) = &spec.soft_delete
                    && state.column(&sd.column).is_some()
                {
                    let sql = format!(
                        "SELECT {} FROM {} WHERE {} = {}",
                        d.as_text(&spec.primary_key),
                        d.quote(&spec.table),
                        d.quote(&sd.column),
                        d.placeholder(1)
                    );
                    let q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
                    let q = match &sd.value {
                        $crate::value::Value::Bool(b) => q.bind(*b),
                        $crate::value::Value::Int(i) => q.bind(*i),
                        other => q.bind($crate::db::read::key_text(other)),
                    };
                    state.soft_deleted = q.fetch_all(&mut *conn).await?.into_iter().collect();
                }
            }
            let state_columns =
                $crate::db::read::columns_on!(&mut *conn, d, $crate::db::STATE_TABLE).await?;
            state.state_table_exists = !state_columns.is_empty();
            if state.state_table_exists {
                // A write needs the entries in no particular order (nothing it does with them
                // depends on it), which spares the server a walk of the index in heap order.
                let order = if keep_rows { " ORDER BY address" } else { "" };
                let sql = format!(
                    "SELECT address, row_key, members, hash FROM {} WHERE resource = {}{order}",
                    d.quote($crate::db::STATE_TABLE),
                    d.placeholder(1)
                );
                let mut fast = false;
                if d.backend == $crate::db::Backend::Postgres {
                    let query = format!(
                        "SELECT address, row_key, members, hash FROM {} WHERE resource = {}{order}",
                        d.quote($crate::db::STATE_TABLE),
                        $crate::db::copy_out::text_literal(&spec.resource),
                    );
                    if let Some(read) =
                        $crate::db::copy_out::state(&mut *conn, &query, keep_rows).await
                    {
                        let (read, entries) = read?;
                        prints = prints.merge(&read);
                        state.state = entries;
                        fast = true;
                    }
                }
                if d.backend == $crate::db::Backend::Sqlite {
                    let mut entries = Vec::new();
                    let mut chunk_prints = prints;
                    let first_sql = $crate::db::read::sqlite_state_chunk_sql(d, true);
                    let next_sql = $crate::db::read::sqlite_state_chunk_sql(d, false);
                    let mut after: Option<String> = None;
                    let read: Result<(), sqlx::Error> = async {
                        let mut made: Option<String> = None;
                        loop {
                            let q = match &after {
                                None => sqlx::query_as(sqlx::AssertSqlSafe(first_sql.as_str()))
                                    .bind(spec.resource.clone()),
                                Some(a) => sqlx::query_as(sqlx::AssertSqlSafe(next_sql.as_str()))
                                    .bind(spec.resource.clone())
                                    .bind(a.clone()),
                            };
                            let take_apart = async {
                                match made.take() {
                                    Some(text) => $crate::db::read::add_state_chunk(
                                        &text,
                                        keep_rows,
                                        &mut chunk_prints,
                                        &mut entries,
                                    ),
                                    None => Ok(()),
                                }
                            };
                            let (fetched, taken) =
                                futures_util::future::join(q.fetch_one(&mut *conn), take_apart)
                                    .await;
                            taken.map_err(|e| sqlx::Error::Protocol(e))?;
                            let (text, last, n): (Option<String>, Option<String>, i64) = fetched?;
                            if n == 0 {
                                return Ok(());
                            }
                            made = Some(text.unwrap_or_default());
                            after = last;
                        }
                    }
                    .await;
                    if read.is_ok() {
                        prints = chunk_prints;
                        state.state = entries;
                        fast = true;
                    }
                }
                if !fast {
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(spec.resource.clone())
                        .fetch(&mut *conn);
                    while let Some(r) = rows.try_next().await? {
                        let (address, row_key, members, hash): (&str, &str, &str, &str) =
                            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                        let entry = $crate::db::read::StateRow::new(
                            [address, row_key, members, hash],
                            keep_rows,
                        );
                        prints.state(entry.print);
                        state.state.push(entry);
                    }
                }
            }
            // The table must not be another resource's.
            let claims =
                $crate::db::read::columns_on!(&mut *conn, d, $crate::db::claims::TABLES_TABLE)
                    .await?;
            if !claims.is_empty() {
                let owners: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe($crate::db::claims::owners_sql(d)))
                        .bind(spec.table.clone())
                        .fetch_all(&mut *conn)
                        .await?;
                if let Some(owner) = owners.iter().find(|o| **o != spec.resource) {
                    return Err($crate::db::read::ReadError::Spec(
                        $crate::db::claims::claimed_by_another(
                            &spec.table,
                            &spec.resource,
                            owner,
                            d,
                        ),
                    ));
                }
            }
            state.prints = prints;
            state.fingerprint = prints.finish(state.table_exists);
            Ok::<_, $crate::db::read::ReadError>(state)
        }
        .await
    };
}
pub(crate) use read_on;

/// One column as the database returned it.
pub enum Cell<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl Cell<'_> {
    fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Text(t) => t.parse().ok(),
            Cell::Null => None,
        }
    }

    fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Cell::Text(t) => Some(std::borrow::Cow::Borrowed(t)),
            Cell::Int(i) => Some(std::borrow::Cow::Owned(i.to_string())),
            Cell::Null => None,
        }
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

/// The SQLite query for one chunk of rows after a rowid: the rows as one JSON array of
/// arrays (each row's array made by `json_array`, joined as text so none is parsed again),
/// the last rowid, and the count.
pub(crate) fn sqlite_chunk_sql(spec: &Compiled, d: Dialect, integer_key: bool) -> String {
    format!(
        "SELECT '[' || group_concat(j, ',') || ']', max(r), count(*) FROM \
         (SELECT rowid AS r, json_array({}) AS j FROM {} WHERE rowid > ? ORDER BY rowid LIMIT {})",
        select_exprs(spec, d, integer_key).join(", "),
        d.quote(&spec.table),
        SQLITE_CHUNK
    )
}

/// The SQLite query for one chunk of a resource's state entries, ordered by address: the
/// first chunk (`first`), or the one after the address bound as `?2`. The two are separate
/// statements so that each walks the primary key from where the last chunk ended. Each column
/// comes as its length in bytes, a colon and the text, all joined without separators: nothing
/// is escaped, so nothing needs unescaping (see [`add_state_chunk`]).
pub(crate) fn sqlite_state_chunk_sql(d: Dialect, first: bool) -> String {
    let part = |c: &str| format!("octet_length({c}) || ':' || {c}");
    format!(
        "SELECT group_concat({} || {} || {} || {}, ''), max(address), count(*) FROM \
         (SELECT address, row_key, members, hash FROM {} \
         WHERE resource = ?1{} ORDER BY address LIMIT {})",
        part("address"),
        part("row_key"),
        part("members"),
        part("hash"),
        d.quote(super::STATE_TABLE),
        if first { "" } else { " AND address > ?2" },
        SQLITE_CHUNK
    )
}

/// Splits a chunk of state entries made by [`sqlite_state_chunk_sql`] into their columns.
fn split_state_chunk(text: &str) -> Result<Vec<[&str; 4]>, String> {
    let bad = || "a chunk of state entries is not as written".to_string();
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut entry = [""; 4];
        for part in &mut entry {
            let (len, tail) = rest.split_once(':').ok_or_else(bad)?;
            let len: usize = len.parse().map_err(|_| bad())?;
            *part = tail.get(..len).ok_or_else(bad)?;
            rest = &tail[len..];
        }
        out.push(entry);
    }
    Ok(out)
}
/// Rows per chunk when reading an SQLite table.
const SQLITE_CHUNK: usize = 20_000;

/// One value of a chunk of rows as JSON: text without escapes is borrowed from the chunk.
enum JsonCell<'a> {
    Null,
    Int(i64),
    Text(std::borrow::Cow<'a, str>),
}

impl<'de> serde::Deserialize<'de> for JsonCell<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = JsonCell<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("null, an integer or text")
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(JsonCell::Null)
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(JsonCell::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                i64::try_from(v)
                    .map(JsonCell::Int)
                    .map_err(|_| E::custom("an integer too large for 64 bits"))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(JsonCell::Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(JsonCell::Text(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(JsonCell::Text(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Adds the rows of one chunk (see [`sqlite_chunk_sql`]). The rows are fingerprinted and
/// turned into values on every core; the fingerprint is a sum, so their order does not
/// matter, and kept rows stay in chunk order.
pub(crate) fn add_json_rows(
    text: &str,
    shape: &RowShape,
    keep: bool,
    prints: &mut Prints,
    rows: &mut Vec<CurrentRow>,
) -> Result<(), String> {
    let chunk: Vec<Vec<JsonCell<'_>>> =
        serde_json::from_str(text).map_err(|e| format!("cannot read a chunk of rows: {e}"))?;
    if chunk.iter().any(|row| row.len() != shape.width()) {
        return Err("a chunk of rows has the wrong width".into());
    }
    fn cells_of<'a>(row: &'a [JsonCell<'_>]) -> Vec<Cell<'a>> {
        row.iter()
            .map(|v| match v {
                JsonCell::Null => Cell::Null,
                JsonCell::Int(i) => Cell::Int(*i),
                JsonCell::Text(s) => Cell::Text(s),
            })
            .collect()
    }
    on_every_core(&chunk, prints, rows, |row, prints, buf, out| {
        add_row(&cells_of(row), shape, keep, prints, buf, out);
    });
    Ok(())
}

/// Runs `add` on every item of a chunk on every core, each core with its own prints, scratch
/// buffer and output; the prints are summed into `prints` and the outputs appended to `out`
/// in chunk order.
fn on_every_core<I: Sync, T: Send>(
    chunk: &[I],
    prints: &mut Prints,
    out: &mut Vec<T>,
    add: impl Fn(&I, &mut Prints, &mut Vec<u8>, &mut Vec<T>) + Sync,
) {
    use rayon::prelude::*;
    let (part, built) = chunk
        .par_iter()
        .fold(
            || (Prints::default(), Vec::new(), Vec::with_capacity(256)),
            |(mut prints, mut built, mut buf), item| {
                add(item, &mut prints, &mut buf, &mut built);
                (prints, built, buf)
            },
        )
        .map(|(prints, built, _)| (prints, built))
        .reduce(
            || (Prints::default(), Vec::new()),
            |(a, mut ra), (b, rb)| {
                ra.extend(rb);
                (a.merge(&b), ra)
            },
        );
    *prints = prints.merge(&part);
    out.extend(built);
}

/// Adds the state entries of one chunk (see [`sqlite_state_chunk_sql`]), fingerprinted and
/// built on every core, members parsed only when `members` is set; they stay in chunk order.
pub(crate) fn add_state_chunk(
    text: &str,
    members: bool,
    prints: &mut Prints,
    entries: &mut Vec<StateRow>,
) -> Result<(), String> {
    let chunk = split_state_chunk(text)?;
    on_every_core(&chunk, prints, entries, |parts, prints, _, out| {
        let entry = StateRow::new(*parts, members);
        prints.state(entry.print);
        out.push(entry);
    });
    Ok(())
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

/// The SELECT that reads the primary key and every mapped column.
pub(crate) fn select_rows(spec: &Compiled, d: Dialect, integer_key: bool) -> String {
    format!(
        "SELECT {} FROM {}",
        select_exprs(spec, d, integer_key).join(", "),
        d.quote(&spec.table)
    )
}

/// The primary key and every mapped column, read as integers or text.
fn select_exprs(spec: &Compiled, d: Dialect, integer_key: bool) -> Vec<String> {
    let mut cols = vec![if integer_key {
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

/// Reads the current state for a spec. A database that does not exist yet reads as empty.
pub async fn read(db: &Database, spec: &Compiled) -> Result<CurrentState> {
    let Some(pool) = &db.pool else {
        return Ok(CurrentState::empty());
    };
    let d = db.dialect;
    let result = on_pool!(pool, p => {
        let mut conn = p.acquire().await.map_err(|e| db.error(e))?;
        read_on!(&mut *conn, d, spec)
    });
    result.map_err(|e| match e {
        ReadError::Sql(e) => db.error(e),
        ReadError::Spec(e) => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk as SQLite makes it: each column's length in bytes, a colon and the text.
    fn chunk(entries: &[[&str; 4]]) -> String {
        entries
            .iter()
            .flat_map(|e| e.iter().map(|p| format!("{}:{p}", p.len())))
            .collect()
    }

    #[test]
    fn state_chunks_split_back_into_their_columns_whatever_they_hold() {
        let entries = [
            ["zoë-café", "12", r#"["a:1","b:x:y"]"#, "ab12"],
            ["with:colons:3:", "", "[]", "9:9"],
            ["", "7", "[\"ünïcode\"]", ""],
        ];
        assert_eq!(split_state_chunk(&chunk(&entries)).unwrap(), entries);
        assert_eq!(split_state_chunk("").unwrap(), Vec::<[&str; 4]>::new());
    }

    #[test]
    fn a_state_chunk_not_as_written_is_refused() {
        let good = chunk(&[["a", "1", "[]", "h"]]);
        for bad in [
            // Cut short, a length past the end, a length that is not a number, a length that
            // ends inside a character.
            &good[..good.len() - 1],
            "1:a1:15:[]1:h",
            "x:a1:12:[]1:h",
            "1:ë1:12:[]1:h",
        ] {
            assert!(split_state_chunk(bad).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn a_state_entry_hashes_alike_however_it_was_read() {
        let parts = ["a", "1", r#"["s:1"]"#, "h"];
        let mut prints = Prints::default();
        add_state_chunk(&chunk(&[parts]), false, &mut prints, &mut Vec::new()).unwrap();
        let one = StateRow::new(parts, true);
        let mut direct = Prints::default();
        direct.state(one.print);
        assert_eq!(prints, direct);
        assert_eq!(one.members, ["s:1"]);
        // The parts are length-prefixed: moving a character between two of them shows.
        assert_ne!(
            one.print,
            crate::fingerprint::state_print(["a1", "", r#"["s:1"]"#, "h"])
        );
    }
}
