//! Reading a whole query's result through PostgreSQL's `COPY (…) TO STDOUT`, in its text
//! format, instead of row by row: the server sends plain lines, which are cut into chunks of a
//! few megabytes and taken apart on every core while the next chunk arrives. Reading a table of
//! a million rows this way costs the server about what the query costs, and the client little.
//!
//! The other backends have no COPY: [`CopyOut::copy_out`] answers `None` there, and the caller
//! reads row by row.

use std::sync::Arc;
use std::sync::mpsc;

use futures_util::future::BoxFuture;

use super::read::{Cell, CurrentRow, Prints, RowShape, StateRow, add_row};

/// A connection that may be able to run `COPY (…) TO STDOUT`.
pub(crate) trait CopyOut {
    /// Runs `statement` (a `COPY … TO STDOUT`) and hands each piece of its output to `sink`,
    /// in order; `None` when the backend has no COPY, as by default.
    fn copy_out<'a>(
        &'a mut self,
        _statement: &'a str,
        _sink: &'a mut (dyn FnMut(&[u8]) + Send),
    ) -> BoxFuture<'a, Option<sqlx::Result<()>>> {
        Box::pin(async { None })
    }
}

impl CopyOut for sqlx::PgConnection {
    fn copy_out<'a>(
        &'a mut self,
        statement: &'a str,
        sink: &'a mut (dyn FnMut(&[u8]) + Send),
    ) -> BoxFuture<'a, Option<sqlx::Result<()>>> {
        Box::pin(async move {
            let copied = async {
                use futures_util::TryStreamExt as _;
                let mut stream = self.copy_out_raw(statement).await?;
                while let Some(piece) = stream.try_next().await? {
                    sink(&piece);
                }
                Ok(())
            };
            Some(copied.await)
        })
    }
}

impl CopyOut for sqlx::SqliteConnection {}

impl CopyOut for sqlx::MySqlConnection {}

/// Bytes per chunk handed to a core.
const CHUNK: usize = 4 << 20;

/// What one chunk of lines became: its part of the fingerprint and its items.
type Taken<T> = Result<(Prints, Vec<T>), String>;

/// Takes one chunk of lines apart.
type TakeApart<T> = Arc<dyn Fn(&str) -> Taken<T> + Send + Sync>;

/// Gathers the output of a COPY into chunks of whole lines and takes each apart on the thread
/// pool as soon as it is full; [`Chunks::finish`] waits for them all and puts the items back
/// in the order of the output.
struct Chunks<T> {
    buf: Vec<u8>,
    sent: usize,
    tx: mpsc::Sender<(usize, Taken<T>)>,
    rx: mpsc::Receiver<(usize, Taken<T>)>,
    take_apart: TakeApart<T>,
}

impl<T: Send + 'static> Chunks<T> {
    fn new(take_apart: impl Fn(&str) -> Taken<T> + Send + Sync + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        Chunks {
            buf: Vec::with_capacity(CHUNK),
            sent: 0,
            tx,
            rx,
            take_apart: Arc::new(take_apart),
        }
    }

    fn push(&mut self, piece: &[u8]) {
        self.buf.extend_from_slice(piece);
        if self.buf.len() >= CHUNK {
            self.send();
        }
    }

    /// Sends every whole line gathered so far; a part line stays for the next piece.
    fn send(&mut self) {
        let Some(end) = self.buf.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.buf.split_off(end + 1);
        let lines = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK.max(rest.len())));
        self.buf.extend_from_slice(&rest);
        let (index, tx, take_apart) = (self.sent, self.tx.clone(), self.take_apart.clone());
        self.sent += 1;
        rayon::spawn(move || {
            let taken = match std::str::from_utf8(&lines) {
                Ok(text) => take_apart(text),
                Err(e) => Err(format!("the server sent text that is not UTF-8: {e}")),
            };
            // The receiver only goes away when the read failed and nobody waits any more.
            let _ = tx.send((index, taken));
        });
    }

    /// Waits for every chunk: the fingerprint of them all and their items in order.
    fn finish(mut self) -> Taken<T> {
        if !self.buf.is_empty() {
            if self.buf.last() != Some(&b'\n') {
                return Err("the server's COPY output ends inside a line".into());
            }
            self.send();
        }
        drop(self.tx);
        let mut parts: Vec<(usize, Taken<T>)> = self.rx.iter().collect();
        if parts.len() != self.sent {
            return Err("a chunk of the server's COPY output was lost".into());
        }
        parts.sort_unstable_by_key(|(i, _)| *i);
        let mut prints = Prints::default();
        let mut items = Vec::new();
        for (_, part) in parts {
            let (p, part) = part?;
            prints = prints.merge(&p);
            if items.is_empty() {
                items = part;
            } else {
                items.extend(part);
            }
        }
        Ok((prints, items))
    }
}

/// Runs `COPY (query) TO STDOUT` on `conn` and takes each line apart with `take_apart` (on
/// every core): `None` when the backend has no COPY.
async fn copy<C: CopyOut + ?Sized, T: Send + 'static>(
    conn: &mut C,
    query: &str,
    take_apart: impl Fn(&str) -> Taken<T> + Send + Sync + 'static,
) -> Option<Result<(Prints, Vec<T>), sqlx::Error>> {
    let statement = format!("COPY ({query}) TO STDOUT");
    let mut chunks = Chunks::new(take_apart);
    let copied = conn
        .copy_out(&statement, &mut |piece| chunks.push(piece))
        .await?;
    Some(match copied {
        Ok(()) => chunks.finish().map_err(sqlx::Error::Protocol),
        Err(e) => Err(e),
    })
}

/// Reads the rows of `query` (primary key, then every field, as [`RowShape`] says): their
/// fingerprint, and the rows themselves when `keep`. `None` when the backend has no COPY.
pub(crate) async fn rows<C: CopyOut + ?Sized>(
    conn: &mut C,
    query: &str,
    shape: RowShape,
    keep: bool,
) -> Option<Result<(Prints, Vec<CurrentRow>), sqlx::Error>> {
    copy(conn, query, move |text| {
        let mut prints = Prints::default();
        let mut rows = Vec::new();
        let mut buf = Vec::with_capacity(256);
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

/// Reads the state entries of `query` (address, row key, members, hash), members parsed only
/// when `members` is set. `None` when the backend has no COPY.
pub(crate) async fn state<C: CopyOut + ?Sized>(
    conn: &mut C,
    query: &str,
    members: bool,
) -> Option<Result<(Prints, Vec<StateRow>), sqlx::Error>> {
    copy(conn, query, move |text| {
        let mut prints = Prints::default();
        let mut entries = Vec::new();
        for line in text.split_terminator('\n') {
            let f = fields(line, 4)?;
            let text = |i: usize| {
                f[i].as_deref()
                    .ok_or_else(|| "the server sent NULL in a state entry".to_string())
            };
            let entry = StateRow::new([text(0)?, text(1)?, text(2)?, text(3)?], members);
            prints.state(entry.print);
            entries.push(entry);
        }
        Ok((prints, entries))
    })
    .await
}

/// `text` as a PostgreSQL string literal, whatever `standard_conforming_strings` says: COPY
/// takes no parameters.
pub(crate) fn text_literal(text: &str) -> String {
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

    #[test]
    fn chunks_keep_the_order_of_the_output_whatever_the_order_they_finish_in() {
        let mut chunks = Chunks::new(|text: &str| {
            let items: Vec<String> = text.lines().map(str::to_string).collect();
            // The first chunks take longest.
            let first: usize = items[0]["line ".len()..].parse().unwrap();
            if first < 1000 {
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            Ok((Prints::default(), items))
        });
        let lines: Vec<String> = (0..3000).map(|i| format!("line {i}")).collect();
        for line in &lines {
            // Pieces that do not end on a line end.
            let (a, b) = line.split_at(2);
            chunks.push(a.as_bytes());
            chunks.push(b.as_bytes());
            chunks.push(b"\n");
            if line.ends_with("00") {
                chunks.send();
            }
        }
        let (_, items) = chunks.finish().unwrap();
        assert_eq!(items, lines);
    }

    #[test]
    fn output_cut_inside_a_line_is_refused() {
        let mut chunks = Chunks::new(|text: &str| Ok((Prints::default(), vec![text.len()])));
        chunks.push(b"a\tb\nc\t");
        assert!(chunks.finish().is_err());
    }
}
