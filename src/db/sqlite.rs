//! SQLite: the embedded default. Its one writer lock is taken with `BEGIN IMMEDIATE`; rows
//! come out in chunks packed as JSON (SQLite hands rows over one at a time from its worker
//! thread, which costs far more than reading them), and go in through one prepared statement
//! run per row on SQLite's own API ([`super::sqlite_bulk`]).

use sqlx::Connection as _;

use super::backend::{
    Backend, StateWrite, stream_rows_plainly, stream_state_plainly, write_state_in_batches,
};
use super::chunks::Pieces;
use super::error::{ApplyError, count_mismatch, stop_if_interrupted};
use super::lock::LockRequest;
use super::rows::{Arg, Cell};
use super::rows::{Kept, RowShape, StateRead, TableRead, add_row};
use super::sqlite_bulk::{Param, Statement};
use super::statements::{Insert, state_insert};
use super::writeset::StateEntry;
use super::{Dialect, STATE_TABLE};
use crate::error::Result;
use crate::fingerprint::Prints;
use crate::state::{CurrentRow, StateRow};
use crate::value::Value;

impl Backend for sqlx::Sqlite {
    /// `BEGIN IMMEDIATE` takes the database's write lock, waiting for it up to the busy
    /// timeout. SQLite cannot say who holds its lock, so the holder writes a note beside the
    /// database file (`<file>-reconcile-lock`) and removes it when done.
    async fn begin_locked<'c>(
        conn: &'c mut sqlx::SqliteConnection,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'c, sqlx::Sqlite>> {
        let ms = req.timeout.as_millis().min(i32::MAX as u128);
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {ms}")))
            .execute(&mut *conn)
            .await
            .map_err(|e| req.sql_error(e))?;
        let note = req.note_path();
        match conn.begin_with("BEGIN IMMEDIATE").await {
            Ok(mut tx) => {
                // Once the lock is held, waiting on readers at commit is normal: give it time.
                sqlx::query("PRAGMA busy_timeout = 10000")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| req.sql_error(e))?;
                if let Some(note) = &note {
                    let text = format!("{} since {}\n", req.holder(), crate::time::now_rfc3339());
                    // The note only helps a waiter; failing to write it is not fatal.
                    let _ = std::fs::write(note, text);
                }
                Ok(tx)
            }
            Err(e) if is_busy(&e) => {
                let who = note
                    .and_then(|n| std::fs::read_to_string(n).ok())
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                Err(req.contended(who))
            }
            Err(e) => Err(req.sql_error(e)),
        }
    }

    async fn lock(_conn: &mut sqlx::SqliteConnection, _req: &LockRequest) -> Result<()> {
        // BEGIN IMMEDIATE already holds the whole file.
        Ok(())
    }

    async fn release(_conn: &mut sqlx::SqliteConnection, req: &LockRequest) {
        if let Some(note) = req.note_path() {
            let _ = std::fs::remove_file(note);
        }
    }

    /// In chunks of rows packed as JSON, each taken apart on the thread pool while SQLite, on
    /// its own thread, makes the next; row by row should that fail.
    async fn stream_rows(
        conn: &mut sqlx::SqliteConnection,
        read: &TableRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<CurrentRow>)> {
        match rows_in_chunks(conn, read).await {
            Ok(read) => Ok(read),
            Err(_) => stream_rows_plainly::<Self>(conn, read).await,
        }
    }

    /// In chunks, as the rows are; entry by entry should that fail.
    async fn stream_state(
        conn: &mut sqlx::SqliteConnection,
        read: &StateRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<StateRow>)> {
        match state_in_chunks(conn, read).await {
            Ok(read) => Ok(read),
            Err(_) => stream_state_plainly::<Self>(conn, read).await,
        }
    }

    /// One prepared single-row INSERT run for every row through SQLite's own API, its values
    /// bound in place. A generated integer key is the rowid SQLite reports after each row;
    /// any other key is read back with RETURNING.
    async fn insert_rows(
        conn: &mut sqlx::SqliteConnection,
        ins: &Insert<'_>,
        rows: &[&[Value]],
    ) -> std::result::Result<Vec<String>, ApplyError> {
        let mut handle = conn.lock_handle().await?;
        let mut statement = Statement::prepare(&mut handle, &ins.sql(1, !ins.generated_int_key))?;
        let mut keys = Vec::with_capacity(rows.len());
        let mut params = Vec::with_capacity(ins.spec.fields.len());
        for (i, values) in rows.iter().enumerate() {
            if i % 4096 == 0 {
                stop_if_interrupted()?;
            }
            params.clear();
            params.extend(ins.args(values).map(param));
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

    /// New entries through one prepared INSERT run per entry, like the rows.
    async fn write_state(
        conn: &mut sqlx::SqliteConnection,
        state: &StateWrite<'_>,
        entries: &[StateEntry<'_>],
        upsert: bool,
    ) -> std::result::Result<(), ApplyError> {
        if upsert {
            return write_state_in_batches::<Self>(conn, state, entries, upsert).await;
        }
        let mut handle = conn.lock_handle().await?;
        let mut statement = Statement::prepare(&mut handle, &state_insert(state.d, 1, false))?;
        for e in entries {
            statement.run(&e.columns(state.resource, state.now).map(Param::Text))?;
        }
        Ok(())
    }
}

fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        matches!(d.code().as_deref(), Some("5" | "6" | "261" | "517"))
            || d.message().contains("database is locked")
    })
}

/// A value as SQLite's API binds it, typed as sqlx binds it: booleans as integers.
fn param(arg: Arg<'_>) -> Param<'_> {
    match arg {
        Arg::Text(s) => Param::Text(s),
        Arg::Int(i) => Param::Int(i),
        Arg::Bool(b) => Param::Int(i64::from(b)),
        Arg::NullText | Arg::NullInt | Arg::NullBool => Param::Null,
    }
}

/// The table's rows in chunks after a rowid (see [`chunk_sql`]).
async fn rows_in_chunks(
    conn: &mut sqlx::SqliteConnection,
    read: &TableRead<'_>,
) -> sqlx::Result<(Prints, Vec<CurrentRow>)> {
    let (shape, keep) = (read.shape.clone(), read.keep);
    let mut pieces = Pieces::new(move |text| {
        let (mut prints, mut rows) = (Prints::default(), Vec::new());
        add_json_rows(text, &shape, keep, &mut prints, &mut rows)?;
        Ok((prints, rows))
    });
    let sql = chunk_sql(read);
    let mut after = i64::MIN;
    loop {
        let (text, last, n): (Option<String>, Option<i64>, i64) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(after)
                .fetch_one(&mut *conn)
                .await?;
        if n == 0 {
            break;
        }
        pieces.spawn(text.unwrap_or_default().into_bytes());
        after = last.unwrap_or(i64::MAX);
    }
    pieces.finish().await.map_err(sqlx::Error::Protocol)
}

/// The resource's state entries in chunks by address (see [`state_chunk_sql`]).
async fn state_in_chunks(
    conn: &mut sqlx::SqliteConnection,
    read: &StateRead<'_>,
) -> sqlx::Result<(Prints, Vec<StateRow>)> {
    let members = read.members;
    let mut pieces = Pieces::new(move |text| {
        let (mut prints, mut entries) = (Prints::default(), Vec::new());
        add_state_chunk(text, members, &mut prints, &mut entries)?;
        Ok((prints, entries))
    });
    let (first, next) = (
        state_chunk_sql(read.d, true),
        state_chunk_sql(read.d, false),
    );
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            None => sqlx::query_as(sqlx::AssertSqlSafe(first.as_str())).bind(read.resource),
            Some(a) => sqlx::query_as(sqlx::AssertSqlSafe(next.as_str()))
                .bind(read.resource)
                .bind(a.as_str()),
        };
        let (text, last, n): (Option<String>, Option<String>, i64) =
            q.fetch_one(&mut *conn).await?;
        if n == 0 {
            break;
        }
        pieces.spawn(text.unwrap_or_default().into_bytes());
        after = last;
    }
    pieces.finish().await.map_err(sqlx::Error::Protocol)
}

/// The query for one chunk of rows after a rowid: the rows as one JSON array of arrays (each
/// row's array made by `json_array`, joined as text so none is parsed again), the last
/// rowid, and the count.
fn chunk_sql(read: &TableRead<'_>) -> String {
    format!(
        "SELECT '[' || group_concat(j, ',') || ']', max(r), count(*) FROM \
         (SELECT rowid AS r, json_array({}) AS j FROM {} WHERE rowid > ? ORDER BY rowid LIMIT {})",
        read.columns().join(", "),
        read.d.quote(&read.spec.table),
        CHUNK
    )
}

/// The query for one chunk of a resource's state entries, ordered by address: the first
/// chunk (`first`), or the one after the address bound as `?2`. The two are separate
/// statements so that each walks the primary key from where the last chunk ended. Each column
/// comes as its length in bytes, a colon and the text, all joined without separators: nothing
/// is escaped, so nothing needs unescaping (see [`add_state_chunk`]).
fn state_chunk_sql(d: Dialect, first: bool) -> String {
    let part = |c: &str| format!("octet_length({c}) || ':' || {c}");
    format!(
        "SELECT group_concat({} || {} || {} || {}, ''), max(address), count(*) FROM \
         (SELECT address, row_key, members, hash FROM {} \
         WHERE resource = ?1{} ORDER BY address LIMIT {})",
        part("address"),
        part("row_key"),
        part("members"),
        part("hash"),
        d.quote(STATE_TABLE),
        if first { "" } else { " AND address > ?2" },
        CHUNK
    )
}

/// Splits a chunk of state entries made by [`state_chunk_sql`] into their columns.
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

/// Rows per chunk when reading an SQLite table. Small enough that a chunk's text (about
/// 200 KB) is built and freed in memory the allocator reuses: chunks of 20,000 rows took
/// 2 MB strings, fresh pages from the kernel each time, and a third more wall time.
const CHUNK: usize = 2_000;

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

/// Adds the rows of one chunk (see [`chunk_sql`]). The rows are fingerprinted and
/// turned into values on every core; the fingerprint is a sum, so their order does not
/// matter, and kept rows stay in chunk order.
fn add_json_rows(
    text: &str,
    shape: &RowShape,
    keep: Kept,
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

/// Adds the state entries of one chunk (see [`state_chunk_sql`]), fingerprinted and
/// built on every core, members parsed only when `members` is set; they stay in chunk order.
fn add_state_chunk(
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
