//! PostgreSQL: a transaction-level advisory lock per table, and COPY both ways. Rows and
//! state entries are read through `COPY (…) TO STDOUT` in its text format, cut into pieces
//! of whole lines taken apart on the thread pool while the next piece arrives; new rows go
//! in through `COPY … FROM STDIN`, their keys drawn from the sequence first.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use sqlx::{Connection as _, Row as _};

use super::STATE_TABLE;
use super::backend::{Backend, StateWrite, insert_returning, write_state_in_batches};
use super::chunks::{Lines, Taken};
use super::error::{ApplyError, count_mismatch};
use super::lock::LockRequest;
use super::rows::Cell;
use super::rows::{StateRead, TableRead, add_row, add_state};
use super::statements::{Insert, STATE_COLUMNS};
use super::writeset::StateEntry;
use crate::error::Result;
use crate::fingerprint::Prints;
use crate::state::{CurrentRow, StateRow};
use crate::value::Value;

impl Backend for sqlx::Postgres {
    /// The holder names itself in `application_name`, so a waiter can say who holds the lock
    /// and since when (`pg_stat_activity.xact_start`).
    async fn begin_locked<'c>(
        conn: &'c mut sqlx::PgConnection,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'c, sqlx::Postgres>> {
        let mut tx = conn.begin().await.map_err(|e| req.sql_error(e))?;
        sqlx::query("SELECT set_config('application_name', $1, true)")
            .bind(req.holder())
            .execute(&mut *tx)
            .await
            .map_err(|e| req.sql_error(e))?;
        if advisory_lock(&mut tx, req).await? {
            return Ok(tx);
        }
        let who = holder(&mut tx, req.key()).await;
        let _ = tx.rollback().await;
        Err(req.contended(who))
    }

    async fn lock(conn: &mut sqlx::PgConnection, req: &LockRequest) -> Result<()> {
        if advisory_lock(conn, req).await? {
            Ok(())
        } else {
            Err(req.contended(None))
        }
    }

    async fn release(_conn: &mut sqlx::PgConnection, _req: &LockRequest) {
        // The advisory lock is transaction-level: commit or rollback released it.
    }

    async fn stream_rows(
        conn: &mut sqlx::PgConnection,
        read: &TableRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<CurrentRow>)> {
        let (shape, keep) = (read.shape.clone(), read.keep);
        copy_out(conn, &read.select(), move |text| {
            let (mut prints, mut rows, mut buf) = (Prints::default(), Vec::new(), Vec::new());
            for line in text.split_terminator('\n') {
                let fields = fields(line, shape.width())?;
                let mut cells = Vec::with_capacity(fields.len());
                for (i, f) in fields.iter().enumerate() {
                    cells.push(match f {
                        None => Cell::Null,
                        Some(t) if shape.integer(i) => Cell::Int(
                            t.parse()
                                .map_err(|_| format!("the server sent {t:?} for an integer"))?,
                        ),
                        Some(t) => Cell::Text(t.as_ref()),
                    });
                }
                add_row(&cells, &shape, keep, &mut prints, &mut buf, &mut rows);
            }
            Ok((prints, rows))
        })
        .await
    }

    async fn stream_state(
        conn: &mut sqlx::PgConnection,
        read: &StateRead<'_>,
    ) -> sqlx::Result<(Prints, Vec<StateRow>)> {
        // COPY takes no parameters: the resource is a literal.
        let query = read.select(&text_literal(read.resource));
        let (members, keep) = (read.members, read.entries);
        copy_out(conn, &query, move |text| {
            let (mut prints, mut entries) = (Prints::default(), Vec::new());
            for line in text.split_terminator('\n') {
                let f = fields(line, 4)?;
                let text = |i: usize| {
                    f[i].as_deref()
                        .ok_or_else(|| "the server sent NULL in a state entry".to_string())
                };
                let parts = [text(0)?, text(1)?, text(2)?, text(3)?];
                add_state(parts, members, keep, &mut prints, &mut entries);
            }
            Ok((prints, entries))
        })
        .await
    }

    /// When the key has a sequence (identity or serial), the keys are drawn from it first in
    /// one query and the rows, keys included, are sent with COPY: the fastest way in, and no
    /// question of which returned key belongs to which row. Without a sequence, multi-row
    /// INSERT … RETURNING, whose rows come back in VALUES order.
    async fn insert_rows(
        conn: &mut sqlx::PgConnection,
        ins: &Insert<'_>,
        rows: &[&[Value]],
    ) -> std::result::Result<Vec<String>, ApplyError> {
        let (d, spec) = (ins.d, ins.spec);
        // The sequence by its number: a name bound as text would be looked up again for every
        // value drawn (the cast to regclass is not constant), which took 0.25 s per 131k keys.
        let sequence: Option<sqlx::postgres::types::Oid> =
            sqlx::query("SELECT CAST(CAST(pg_get_serial_sequence($1, $2) AS regclass) AS oid)")
                .bind(d.quote(&spec.table))
                .bind(spec.primary_key.as_str())
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
        let Some(sequence) = sequence else {
            return insert_returning::<Self>(conn, ins, rows).await;
        };
        let ids = draw_keys(conn, sequence, rows.len(), ins.created_here).await?;
        let mut cols = vec![d.quote(&spec.primary_key)];
        cols.extend(spec.fields.iter().map(|f| d.quote(&f.column)));
        let statement = format!(
            "COPY {} ({}) FROM STDIN",
            d.quote(&spec.table),
            cols.join(", ")
        );
        let lines = ids.iter().zip(rows).map(|(id, values)| {
            move |buf: &mut String| {
                use std::fmt::Write as _;
                let _ = write!(buf, "{id}");
                for (i, (v, f)) in values.iter().zip(&spec.fields).enumerate() {
                    buf.push('\t');
                    copy_field(
                        buf,
                        v,
                        ins.not_null[i] && super::check::blank_for_null(f.kind),
                    );
                }
            }
        });
        let copied = copy_in(conn, &statement, lines).await?;
        if copied != rows.len() as u64 {
            return Err(count_mismatch(rows.len(), copied as usize));
        }
        Ok(ids.iter().map(ToString::to_string).collect())
    }

    /// Many new entries at once go through COPY.
    async fn write_state(
        conn: &mut sqlx::PgConnection,
        state: &StateWrite<'_>,
        entries: &[StateEntry<'_>],
        upsert: bool,
    ) -> std::result::Result<(), ApplyError> {
        if upsert || entries.len() <= 100 {
            return write_state_in_batches::<Self>(conn, state, entries, upsert).await;
        }
        let statement = format!(
            "COPY {} ({STATE_COLUMNS}) FROM STDIN",
            state.d.quote(STATE_TABLE)
        );
        let lines = entries.iter().map(|e| {
            move |buf: &mut String| {
                for (i, part) in e.columns(state.resource, state.now).into_iter().enumerate() {
                    if i > 0 {
                        buf.push('\t');
                    }
                    copy_text(buf, part);
                }
            }
        });
        copy_in(conn, &statement, lines).await?;
        Ok(())
    }
}

/// Takes the table's advisory lock, polling until the request's timeout: whether it was got.
async fn advisory_lock(conn: &mut sqlx::PgConnection, req: &LockRequest) -> Result<bool> {
    let deadline = Instant::now() + req.timeout;
    loop {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(req.key())
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| req.sql_error(e))?;
        if got || Instant::now() >= deadline {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Who holds the advisory lock `key`, in words; `None` when that cannot be told.
async fn holder(conn: &mut sqlx::PgConnection, key: i64) -> Option<String> {
    let r = sqlx::query(
        "SELECT CAST(a.pid AS BIGINT), COALESCE(a.application_name, ''), \
         COALESCE(CAST(a.usename AS TEXT), ''), COALESCE(host(a.client_addr), 'local socket'), \
         COALESCE(to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND CAST(l.classid AS BIGINT) = $1 AND CAST(l.objid AS BIGINT) = $2 AND l.objsubid = 1",
    )
    .bind((key >> 32) & 0xffff_ffff)
    .bind(key & 0xffff_ffff)
    .fetch_optional(&mut *conn)
    .await
    .ok()
    .flatten()?;
    let pid: i64 = r.try_get(0).unwrap_or_default();
    let app: String = r.try_get(1).unwrap_or_default();
    let user: String = r.try_get(2).unwrap_or_default();
    let addr: String = r.try_get(3).unwrap_or_default();
    let since: String = r.try_get(4).unwrap_or_default();
    let app = if app.is_empty() {
        "a session".to_string()
    } else {
        app
    };
    Some(format!(
        "{app}, server process {pid}, database user {user} from {addr}, since {since}"
    ))
}

/// `n` keys from `sequence`. In a table created by this transaction no one else sees it yet:
/// its keys are 1 to n, and the sequence is moved past them; otherwise they are drawn, in
/// one array rather than a row per key.
async fn draw_keys(
    conn: &mut sqlx::PgConnection,
    sequence: sqlx::postgres::types::Oid,
    n: usize,
    created_here: bool,
) -> sqlx::Result<Vec<i64>> {
    if created_here {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(CAST({} AS regclass), $1)",
            sequence.0
        )))
        .bind(n as i64)
        .execute(&mut *conn)
        .await?;
        return Ok((1..=n as i64).collect());
    }
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT array_agg(nextval(CAST({} AS regclass))) FROM generate_series(1, $1)",
        sequence.0
    )))
    .bind(n as i64)
    .fetch_one(&mut *conn)
    .await
}

/// Runs `statement` (a `COPY … FROM STDIN`), each of `lines` writing one line of its input
/// (without the line end): the number of rows copied.
async fn copy_in<L: FnOnce(&mut String)>(
    conn: &mut sqlx::PgConnection,
    statement: &str,
    lines: impl Iterator<Item = L>,
) -> sqlx::Result<u64> {
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(1 << 20);
    for line in lines {
        line(&mut buf);
        buf.push('\n');
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    copy.finish().await
}

/// Runs `COPY (query) TO STDOUT` and takes its lines apart with `take_apart`, on the thread
/// pool: their fingerprint and items, in the order of the output.
async fn copy_out<T: Send + 'static>(
    conn: &mut sqlx::PgConnection,
    query: &str,
    take_apart: impl Fn(&str) -> Taken<T> + Send + Sync + 'static,
) -> sqlx::Result<(Prints, Vec<T>)> {
    let mut lines = Lines::new(take_apart);
    let mut stream = conn
        .copy_out_raw(&format!("COPY ({query}) TO STDOUT"))
        .await?;
    while let Some(piece) = stream.try_next().await? {
        lines.push(&piece);
    }
    drop(stream);
    lines.finish().await.map_err(sqlx::Error::Protocol)
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

/// `text` as a PostgreSQL string literal, whatever `standard_conforming_strings` says: COPY
/// takes no parameters.
fn text_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The fields of one line of COPY text: `None` for NULL (`\N`), escapes undone.
fn fields(line: &str, width: usize) -> Result<Vec<Option<std::borrow::Cow<'_, str>>>, String> {
    let mut out = Vec::with_capacity(width);
    for field in line.split('\t') {
        out.push(match field {
            "\\N" => None,
            f if f.contains('\\') => Some(std::borrow::Cow::Owned(unescape(f)?)),
            f => Some(std::borrow::Cow::Borrowed(f)),
        });
    }
    if out.len() != width {
        return Err(format!(
            "the server sent a line of {} fields where {width} were asked for",
            out.len()
        ));
    }
    Ok(out)
}

/// Undoes the backslash escapes of COPY's text format: `\b \f \n \r \t \v`, octal `\ddd`,
/// hexadecimal `\xhh`, and a backslash before any other character standing for that character.
fn unescape(field: &str) -> Result<String, String> {
    let bytes = field.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&c) = bytes.get(i) else {
            return Err("the server sent a field ending in a lone backslash".into());
        };
        i += 1;
        out.push(match c {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                (v & 0xff) as u8
            }
            b'x' if bytes.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u8;
                for _ in 0..2 {
                    match bytes.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d as u8;
                            i += 1;
                        }
                        None => break,
                    }
                }
                v
            }
            other => other,
        });
    }
    String::from_utf8(out).map_err(|_| "the server sent an escape that is not UTF-8".to_string())
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
    fn escapes_of_the_text_format_are_undone() {
        assert_eq!(unescape(r"a\tb\nc\\d").unwrap(), "a\tb\nc\\d");
        assert_eq!(unescape(r"\b\f\r\v").unwrap(), "\x08\x0c\r\x0b");
        assert_eq!(unescape(r"\101\x42\7").unwrap(), "AB\x07");
        assert_eq!(unescape(r"\q\N").unwrap(), "qN");
        // Multibyte text passes through, and octal escapes may spell its bytes.
        assert_eq!(unescape(r"zoë\303\251").unwrap(), "zoëé");
        assert!(unescape("end\\").is_err());
        assert!(unescape(r"\377").is_err());
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(text_literal(r"it's a\b"), r"E'it''s a\\b'");
    }

    #[test]
    fn lines_split_into_fields_with_null_and_escapes() {
        let f = fields("1\t\\N\tx\\ty\t", 4).unwrap();
        assert_eq!(
            f,
            [Some("1".into()), None, Some("x\ty".into()), Some("".into())]
        );
        assert!(fields("1\t2", 3).is_err());
    }
}
