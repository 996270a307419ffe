//! Taking apart what a database sends in large pieces (PostgreSQL's COPY output, SQLite's
//! chunks of rows as JSON) on the thread pool, while the next piece arrives. The async side
//! only hands pieces over and awaits the results: no work of the pool runs on its thread.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::fingerprint::Prints;

/// What one piece became: its part of the fingerprint and its items.
pub(crate) type Taken<T> = Result<(Prints, Vec<T>), String>;

/// Takes one piece apart.
type TakeApart<T> = Arc<dyn Fn(&str) -> Taken<T> + Send + Sync>;

/// Pieces handed to the thread pool as they arrive; [`Pieces::finish`] awaits them all and
/// puts the items back in the order the pieces came in.
pub(crate) struct Pieces<T> {
    pending: Vec<oneshot::Receiver<Taken<T>>>,
    take_apart: TakeApart<T>,
}

impl<T: Send + 'static> Pieces<T> {
    pub(crate) fn new(take_apart: impl Fn(&str) -> Taken<T> + Send + Sync + 'static) -> Self {
        Pieces {
            pending: Vec::new(),
            take_apart: Arc::new(take_apart),
        }
    }

    /// Takes `text` apart on the thread pool.
    pub(crate) fn spawn(&mut self, text: Vec<u8>) {
        let (tx, rx) = oneshot::channel();
        let take_apart = self.take_apart.clone();
        rayon::spawn(move || {
            let taken = match std::str::from_utf8(&text) {
                Ok(text) => take_apart(text),
                Err(e) => Err(format!("the database sent text that is not UTF-8: {e}")),
            };
            // The receiver only goes away when the read failed and nobody waits any more.
            let _ = tx.send(taken);
        });
        self.pending.push(rx);
    }

    /// Awaits every piece: the fingerprint of them all and their items in order. The items
    /// are moved once into a vector of their total length: growing one piece by piece would
    /// copy a table of a million rows some twenty times over, into fresh pages each time.
    pub(crate) async fn finish(self) -> Taken<T> {
        let mut prints = Prints::default();
        let mut parts = Vec::with_capacity(self.pending.len());
        for rx in self.pending {
            let (p, part) = rx
                .await
                .map_err(|_| "a piece of what the database sent was lost".to_string())??;
            prints = prints.merge(&p);
            parts.push(part);
        }
        if parts.len() == 1 {
            return Ok((prints, parts.pop().unwrap_or_default()));
        }
        let mut items = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            items.extend(part);
        }
        Ok((prints, items))
    }
}

/// Bytes per piece of lines handed to the pool.
const LINES: usize = 4 << 20;

/// Gathers a stream of bytes into pieces of whole lines of a few megabytes, each taken apart
/// on the pool as soon as it is full.
pub(crate) struct Lines<T> {
    buf: Vec<u8>,
    pieces: Pieces<T>,
}

impl<T: Send + 'static> Lines<T> {
    pub(crate) fn new(take_apart: impl Fn(&str) -> Taken<T> + Send + Sync + 'static) -> Self {
        Lines {
            buf: Vec::with_capacity(LINES),
            pieces: Pieces::new(take_apart),
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= LINES {
            self.send();
        }
    }

    /// Sends every whole line gathered so far; a part line stays for the next bytes.
    fn send(&mut self) {
        let Some(end) = self.buf.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.buf.split_off(end + 1);
        let lines = std::mem::replace(&mut self.buf, Vec::with_capacity(LINES.max(rest.len())));
        self.buf.extend_from_slice(&rest);
        self.pieces.spawn(lines);
    }

    /// Awaits every piece: the fingerprint of them all and their items in order.
    pub(crate) async fn finish(mut self) -> Taken<T> {
        if !self.buf.is_empty() {
            if self.buf.last() != Some(&b'\n') {
                return Err("the database's output ends inside a line".into());
            }
            self.send();
        }
        self.pieces.finish().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn pieces_keep_the_order_of_the_output_whatever_the_order_they_finish_in() {
        let mut lines = Lines::new(|text: &str| {
            let items: Vec<String> = text.lines().map(str::to_string).collect();
            // The first pieces take longest.
            let first: usize = items[0]["line ".len()..].parse().unwrap();
            if first < 1000 {
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            Ok((Prints::default(), items))
        });
        let all: Vec<String> = (0..3000).map(|i| format!("line {i}")).collect();
        for line in &all {
            // Bytes that do not end on a line end.
            let (a, b) = line.split_at(2);
            lines.push(a.as_bytes());
            lines.push(b.as_bytes());
            lines.push(b"\n");
            if line.ends_with("00") {
                lines.send();
            }
        }
        let (_, items) = run(lines.finish()).unwrap();
        assert_eq!(items, all);
    }

    #[test]
    fn output_cut_inside_a_line_is_refused() {
        let mut lines = Lines::new(|text: &str| Ok((Prints::default(), vec![text.len()])));
        lines.push(b"a\tb\nc\t");
        assert!(run(lines.finish()).is_err());
    }

    #[test]
    fn a_piece_that_fails_fails_the_read() {
        let mut pieces = Pieces::new(|text: &str| {
            if text == "bad" {
                Err("bad piece".to_string())
            } else {
                Ok((Prints::default(), vec![text.to_string()]))
            }
        });
        pieces.spawn(b"good".to_vec());
        pieces.spawn(b"bad".to_vec());
        assert_eq!(run(pieces.finish()), Err("bad piece".to_string()));
    }
}
