//! SQLite: the embedded default. Its one writer lock is taken with `BEGIN IMMEDIATE`. Rows
//! are read and written on SQLite's own API ([`super::sqlite_bulk`]): read by stepping one
//! statement and packing the rows in chunks taken apart on the thread pool (sqlx hands rows
//! over one at a time from its worker thread, which costs far more than reading them), and
//! written through one prepared statement run per row.

use sqlx::Connection as _;

use super::backend::{
    Backend, StateWrite, stream_rows_plainly, stream_state_plainly, write_state_in_batches,
};
use super::chunks::Pieces;
use super::error::{ApplyError, count_mismatch, stop_if_interrupted};
use super::lock::LockRequest;
use super::rows::{Arg, Cell};
use super::rows::{Kept, RowShape, StateRead, TableRead, add_row, add_state};
use super::sqlite_bulk::{Column, Param, Row, Statement};
use super::statements::{Insert, state_insert};
use super::writeset::StateEntry;
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

    /// In chunks of rows, each taken apart on the thread pool while the next is read; row by
    /// row through sqlx should that fail, which then says why.
    async fn stream_rows(
        conn: &mut sqlx::SqliteConnection,
        read: &TableRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<CurrentRow>)> {
        match rows_in_chunks(conn, read).await {
            Ok(read) => Ok(read),
            Err(_) => stream_rows_plainly::<Self>(conn, read).await,
        }
    }

    /// In chunks, as the rows are; entry by entry through sqlx should that fail.
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

/// The table's rows, stepped through SQLite's own API and packed in chunks of [`CHUNK`] rows
/// (see [`pack_row`]), each taken apart on the thread pool while the next is read.
async fn rows_in_chunks(
    conn: &mut sqlx::SqliteConnection,
    read: &TableRead<'_>,
) -> std::result::Result<(Prints, Vec<CurrentRow>), String> {
    let (shape, keep) = (read.shape.clone(), read.keep);
    let width = shape.width();
    let pieces = Pieces::new(move |text| {
        let (mut prints, mut rows) = (Prints::default(), Vec::new());
        add_packed_rows(text, &shape, keep, &mut prints, &mut rows)?;
        Ok((prints, rows))
    });
    let pack = |row: &Row<'_>, buf: &mut Vec<u8>| {
        pack_row(row, buf);
        row.width() == width
    };
    let wrong = "the table's rows came back with the wrong width";
    in_chunks(conn, &read.select(), &[], pieces, pack, wrong).await
}

/// The resource's state entries, stepped through SQLite's own API and packed in chunks as
/// [`split_state_chunk`] takes them apart.
async fn state_in_chunks(
    conn: &mut sqlx::SqliteConnection,
    read: &StateRead<'_>,
) -> std::result::Result<(Prints, Vec<StateRow>), String> {
    let (members, keep) = (read.members, read.entries);
    let pieces = Pieces::new(move |text| {
        let (mut prints, mut entries) = (Prints::default(), Vec::new());
        add_state_chunk(text, members, keep, &mut prints, &mut entries)?;
        Ok((prints, entries))
    });
    let params = [Param::Text(read.resource)];
    // A NULL column: the plain read says which entry.
    let wrong = "a state entry has a NULL column";
    in_chunks(
        conn,
        &read.select("?1"),
        &params,
        pieces,
        pack_state_entry,
        wrong,
    )
    .await
}

/// Steps `sql` with `params`, packs every row with `pack` (which says whether the row was
/// as expected; `wrong` tells otherwise) and hands the chunks of [`CHUNK`] rows to `pieces`.
async fn in_chunks<T: Send + 'static>(
    conn: &mut sqlx::SqliteConnection,
    sql: &str,
    params: &[Param<'_>],
    mut pieces: Pieces<T>,
    mut pack: impl FnMut(&Row<'_>, &mut Vec<u8>) -> bool,
    wrong: &str,
) -> std::result::Result<(Prints, Vec<T>), String> {
    {
        let mut handle = conn.lock_handle().await.map_err(|e| e.to_string())?;
        let mut statement = Statement::prepare(&mut handle, sql).map_err(|e| e.to_string())?;
        let (mut buf, mut n, mut right) = (Vec::new(), 0, true);
        statement
            .for_each_row(params, |row| {
                right &= pack(row, &mut buf);
                n += 1;
                if n == CHUNK {
                    let capacity = buf.len() + buf.len() / 4;
                    pieces.spawn(std::mem::replace(&mut buf, Vec::with_capacity(capacity)));
                    n = 0;
                }
            })
            .map_err(|e| e.to_string())?;
        if !right {
            return Err(wrong.to_string());
        }
        if n > 0 {
            pieces.spawn(buf);
        }
    }
    pieces.finish().await
}

/// Appends one row to a chunk: each column as `N` (NULL), `I` and the integer and `;`, or
/// `T`, the text's length in bytes, `:` and the text. Nothing is escaped, so nothing needs
/// unescaping (see [`unpack_rows`]).
fn pack_row(row: &Row<'_>, out: &mut Vec<u8>) {
    for i in 0..row.width() {
        match row.get(i) {
            Column::Null => out.push(b'N'),
            Column::Int(v) => {
                out.push(b'I');
                if v < 0 {
                    out.push(b'-');
                }
                push_decimal(out, v.unsigned_abs());
                out.push(b';');
            }
            Column::Text(t) => {
                out.push(b'T');
                push_text(out, t);
            }
        }
    }
}

/// Appends one state entry to a chunk: each of its four columns as its length in bytes, `:`
/// and the text. `false` (and nothing appended) when the entry is not four texts.
fn pack_state_entry(row: &Row<'_>, out: &mut Vec<u8>) -> bool {
    let mut parts = [Column::Null; 4];
    if row.width() != parts.len() {
        return false;
    }
    for (i, part) in parts.iter_mut().enumerate() {
        *part = row.get(i);
    }
    if parts.contains(&Column::Null) {
        return false;
    }
    for part in parts {
        match part {
            Column::Text(t) => push_text(out, t),
            Column::Int(v) => push_text(out, v.to_string().as_bytes()),
            Column::Null => {}
        }
    }
    true
}

/// Appends a text's length in bytes, `:` and the text.
fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    push_decimal(out, text.len() as u64);
    out.push(b':');
    out.extend_from_slice(text);
}

/// Appends a number in decimal digits: the formatting machinery took a tenth of a read.
fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// The cells of a chunk of rows packed by [`pack_row`], `width` to a row, one after another.
fn unpack_rows(text: &str, width: usize) -> Result<Vec<Cell<'_>>, String> {
    let bad = || "a chunk of rows is not as packed".to_string();
    let mut cells = Vec::new();
    let mut rest = text;
    while let Some(tag) = rest.as_bytes().first() {
        rest = &rest[1..];
        cells.push(match tag {
            b'N' => Cell::Null,
            b'I' => {
                let (v, tail) = rest.split_once(';').ok_or_else(bad)?;
                rest = tail;
                Cell::Int(v.parse().map_err(|_| bad())?)
            }
            b'T' => {
                let (len, tail) = rest.split_once(':').ok_or_else(bad)?;
                let len: usize = len.parse().map_err(|_| bad())?;
                let t = tail.get(..len).ok_or_else(bad)?;
                rest = &tail[len..];
                Cell::Text(t)
            }
            _ => return Err(bad()),
        });
    }
    if width == 0 || cells.len() % width != 0 {
        return Err("a chunk of rows has the wrong width".into());
    }
    Ok(cells)
}

/// Adds the rows of one chunk (see [`pack_row`]). The rows are fingerprinted and turned into
/// values on every core; the fingerprint is a sum, so their order does not matter, and kept
/// rows stay in chunk order.
fn add_packed_rows(
    text: &str,
    shape: &RowShape,
    keep: Kept,
    prints: &mut Prints,
    rows: &mut Vec<CurrentRow>,
) -> Result<(), String> {
    let cells = unpack_rows(text, shape.width())?;
    let chunk: Vec<&[Cell<'_>]> = cells.chunks_exact(shape.width()).collect();
    on_every_core(&chunk, prints, rows, |row, prints, buf, out| {
        add_row(row, shape, keep, prints, buf, out);
    });
    Ok(())
}

/// Splits a chunk of state entries made by [`pack_state_entry`] into their columns.
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

/// Adds the state entries of one chunk (see [`pack_state_entry`]), fingerprinted and
/// built on every core (kept only with `keep`), members parsed only when `members` is set;
/// they stay in chunk order.
fn add_state_chunk(
    text: &str,
    members: bool,
    keep: bool,
    prints: &mut Prints,
    entries: &mut Vec<StateRow>,
) -> Result<(), String> {
    let chunk = split_state_chunk(text)?;
    on_every_core(&chunk, prints, entries, |parts, prints, _, out| {
        add_state(*parts, members, keep, prints, out);
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
        add_state_chunk(&chunk(&[parts]), false, true, &mut prints, &mut Vec::new()).unwrap();
        let one = StateRow::new(parts, true);
        let mut direct = Prints::default();
        direct.state(one.print);
        assert_eq!(prints, direct);
        // Summed without being kept, it hashes the same.
        let (mut summed, mut none) = (Prints::default(), Vec::new());
        add_state_chunk(&chunk(&[parts]), false, false, &mut summed, &mut none).unwrap();
        assert_eq!((summed, none.len()), (direct, 0));
        assert_eq!(one.members, ["s:1"]);
        // The parts are length-prefixed: moving a character between two of them shows.
        assert_ne!(
            one.print,
            crate::fingerprint::state_print(["a1", "", r#"["s:1"]"#, "h"])
        );
    }
}

#[cfg(test)]
mod reads {
    use super::super::Dialect;
    use super::super::dialect::Engine;
    use super::*;
    use crate::spec::compiled::Compiled;

    const SPEC: &str = r#"
version: 1
resource: things
target:
  table: things
  key: code
  fields:
    code: {}
    name: {}
    n: { type: integer }
sources:
  s:
    id: id
    inline:
      - { id: 1, code: a, name: A, n: 1 }
    fields: { code: code, name: name, n: n }
"#;

    fn spec() -> (tempfile::TempDir, Compiled) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("things.yaml");
        std::fs::write(&path, SPEC).unwrap();
        let spec = crate::spec::load::load(&path).unwrap();
        (dir, spec)
    }

    /// Texts that look like the packing's own marks, empty text, NULLs, extreme integers
    /// and non-ASCII text, in more rows than one chunk holds.
    async fn table(conn: &mut sqlx::SqliteConnection) {
        sqlx::query(
            "CREATE TABLE things (id INTEGER PRIMARY KEY, code TEXT, name TEXT, n INTEGER)",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let odd = [
            "",
            "N",
            "I12;",
            "T3:abc",
            "a:b;c",
            "zoë ünïcode 🦀",
            "12",
            "-",
        ];
        let numbers = [
            Some(0),
            Some(-1),
            Some(i64::MIN),
            Some(i64::MAX),
            None,
            Some(42),
        ];
        for i in 0..(2 * CHUNK + 123) {
            let name = (i % 7 != 3).then(|| format!("{}{i}", odd[i % odd.len()]));
            sqlx::query("INSERT INTO things (code, name, n) VALUES (?, ?, ?)")
                .bind(odd[i % odd.len()])
                .bind(name)
                .bind(numbers[i % numbers.len()])
                .execute(&mut *conn)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn rows_read_on_sqlites_api_are_the_rows_sqlx_reads() {
        let (_dir, spec) = spec();
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        table(&mut conn).await;
        for keep in [Kept::Values, Kept::Digest, Kept::Nothing] {
            let read = TableRead {
                spec: &spec,
                d: Dialect::new(Engine::Sqlite),
                shape: RowShape::new(&spec, true),
                keep,
                absent: Vec::new(),
            };
            let (prints, rows) = rows_in_chunks(&mut conn, &read).await.unwrap();
            let (plain_prints, plain_rows) = stream_rows_plainly::<sqlx::Sqlite>(&mut conn, &read)
                .await
                .unwrap();
            assert_eq!(prints, plain_prints, "{keep:?}");
            assert_eq!(rows, plain_rows, "{keep:?}");
            let expected = if keep == Kept::Nothing {
                0
            } else {
                2 * CHUNK + 123
            };
            assert_eq!(rows.len(), expected);
        }
    }

    #[tokio::test]
    async fn state_entries_read_on_sqlites_api_are_those_sqlx_reads() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query(
            "CREATE TABLE reconcile_state (resource TEXT, address TEXT, row_key TEXT, \
             members TEXT, hash TEXT, PRIMARY KEY (resource, address))",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        for i in 0..(CHUNK + 7) {
            for resource in ["things", "others"] {
                sqlx::query("INSERT INTO reconcile_state VALUES (?, ?, ?, ?, ?)")
                    .bind(resource)
                    .bind(format!("things[\"a:{i}:ë\"]"))
                    .bind(i.to_string())
                    .bind(format!(r#"["s:{i}","t:x:{i}"]"#))
                    .bind(format!("{i:064x}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
        for members in [true, false] {
            let read = StateRead {
                d: Dialect::new(Engine::Sqlite),
                resource: "things",
                members,
                entries: true,
            };
            let (prints, entries) = state_in_chunks(&mut conn, &read).await.unwrap();
            let plain = stream_state_plainly::<sqlx::Sqlite>(&mut conn, &read)
                .await
                .unwrap();
            assert_eq!(
                (prints, &entries),
                (plain.0, &plain.1),
                "members: {members}"
            );
            assert_eq!(entries.len(), CHUNK + 7);
        }
        // An entry with a NULL column is not read this way: the plain read says which.
        sqlx::query("UPDATE reconcile_state SET members = NULL WHERE row_key = '5'")
            .execute(&mut conn)
            .await
            .unwrap();
        let read = StateRead {
            d: Dialect::new(Engine::Sqlite),
            resource: "things",
            members: true,
            entries: true,
        };
        assert!(state_in_chunks(&mut conn, &read).await.is_err());
    }

    #[test]
    fn a_chunk_of_rows_not_as_packed_is_refused() {
        assert_eq!(
            unpack_rows("I-5;NT2:ab", 3).unwrap(),
            [Cell::Int(-5), Cell::Null, Cell::Text("ab")]
        );
        for bad in ["I5", "Ix;NN", "T9:ab", "T2ab", "X", "NN", "T1:ë"] {
            assert!(unpack_rows(bad, 3).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn numbers_are_written_in_full() {
        for v in [0, 7, 10, 99, 100, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }
}
