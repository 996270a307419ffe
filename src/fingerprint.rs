//! Every hash the tool computes, each named once with the reason for its choice.
//!
//! By what they guard against:
//! - **Accidents** (a row edited, an entry rewritten, a record's content): XXH3, fast and well
//!   spread. Whoever could forge a collision could write the table directly anyway.
//! - **What is stored or compared across runs and versions** (the hash of a row's values in
//!   the state table, a saved plan's fingerprint, the inputs fingerprint, file digests, the
//!   advisory lock key): SHA-256, whose output is stable, well known and safe to show.
//! - **Per-cell prints in a saved plan**, only to name what changed: FNV-1a, 64 bits, the
//!   cheapest that is stable.
//!
//! The hash maps of matching use their own seeded hashes (never stored) and are not here.
//!
//! Every variable-length part is length-prefixed, so moving text from one part to the next
//! never gives the same hash.

use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::value::Value;

/// The hash behind the fingerprints of what was read: a row's, a state entry's. These tell
/// whether what was read changed, against accidents rather than an adversary (who could
/// write the table anyway), so a fast 128-bit hash serves; SHA-256 took a fifth of the time
/// of reading a million-row table.
fn print_hash(bytes: &[u8]) -> u128 {
    xxh3_128(bytes)
}

/// The hash of a state entry's columns as stored (address, row key, members as JSON text,
/// hash), each length-prefixed as [`RowPrint::text`] writes a cell: XXH3, 128 bits.
pub fn state_print(parts: [&str; 4]) -> u128 {
    // Hashed in one piece from a buffer on the stack: feeding the hasher twelve small pieces
    // cost more than the hashing, over a million entries.
    let len: usize = parts.iter().map(|p| p.len() + 9).sum();
    let mut stack = [0u8; 512];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    let mut at = 0;
    for part in parts {
        buf[at] = 3;
        buf[at + 1..at + 9].copy_from_slice(&(part.len() as u64).to_le_bytes());
        buf[at + 9..at + 9 + part.len()].copy_from_slice(part.as_bytes());
        at += part.len() + 9;
    }
    print_hash(buf)
}

/// How many prints, and their wrapping sum: independent of the order things are read in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum {
    pub count: u64,
    pub sum: u128,
}

impl Sum {
    pub fn add(&mut self, print: u128) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(print);
    }

    /// Both sums together.
    pub fn plus(self, other: Sum) -> Sum {
        Sum {
            count: self.count.wrapping_add(other.count),
            sum: self.sum.wrapping_add(other.sum),
        }
    }

    /// The sum without the prints of `other`, which it holds.
    pub fn minus(self, other: Sum) -> Sum {
        Sum {
            count: self.count.wrapping_sub(other.count),
            sum: self.sum.wrapping_sub(other.sum),
        }
    }
}

impl Serialize for Sum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}:{:032x}", self.count, self.sum))
    }
}

impl<'de> Deserialize<'de> for Sum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text.split_once(':').and_then(|(count, sum)| {
            Some(Sum {
                count: count.parse().ok()?,
                sum: u128::from_str_radix(sum, 16).ok()?,
            })
        });
        parsed.ok_or_else(|| serde::de::Error::custom(format!("not a count and a sum: {text:?}")))
    }
}

/// The fingerprint of what was read, built row by row as rows arrive: the sum of a hash of
/// each row of the table (its primary key and columns as the database returned them, before
/// any canonical form), and the same of each state entry. A sum does not depend on the order
/// the rows come in, so nothing needs to be kept or sorted to tell it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prints {
    rows: (u64, u128),
    state: (u64, u128),
    /// The rows again, by their [`row_print`] (the canonical values the spec reads), in the
    /// reads that turn rows into values: what the table holds, whatever form the database
    /// returned it in. Not part of the fingerprint.
    canonical: Sum,
    /// The rows again, each by its key and the hash of its values as the state table keeps
    /// them ([`entry_check`]), in the reads that check rows against entries.
    checked: Sum,
}

/// One row being added to [`Prints`].
pub struct RowPrint<'a> {
    buf: &'a mut Vec<u8>,
}

impl RowPrint<'_> {
    pub fn int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            None => self.buf.push(0),
            Some(i) => {
                self.buf.push(2);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
        }
        self
    }

    pub fn text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            None => self.buf.push(0),
            Some(s) => {
                self.buf.push(3);
                self.buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
                self.buf.extend_from_slice(s.as_bytes());
            }
        }
        self
    }
}

fn add_print(acc: &mut (u64, u128), print: u128) {
    acc.0 += 1;
    acc.1 = acc.1.wrapping_add(print);
}

impl Prints {
    /// Adds a row of the table, built by `f` into a scratch buffer.
    pub fn row(&mut self, buf: &mut Vec<u8>, f: impl FnOnce(&mut RowPrint<'_>)) {
        buf.clear();
        f(&mut RowPrint { buf: &mut *buf });
        add_print(&mut self.rows, print_hash(buf));
    }

    /// Adds an entry of the state table, by its [`state_print`].
    pub fn state(&mut self, print: u128) {
        add_print(&mut self.state, print);
    }

    /// Adds a row of the table by its [`row_print`].
    pub fn canonical_row(&mut self, print: u128) {
        self.canonical.add(print);
    }

    /// The rows read as values, by their [`row_print`]s (empty when the read did not turn
    /// them into values).
    pub fn canonical(&self) -> Sum {
        self.canonical
    }

    /// Adds a row of the table by its [`entry_check`].
    pub fn checked_row(&mut self, print: u128) {
        self.checked.add(print);
    }

    /// The rows read, by their [`entry_check`]s (empty unless the read checked them).
    pub fn checked(&self) -> Sum {
        self.checked
    }

    /// The state entries read, by their [`state_print`]s.
    pub fn state_sum(&self) -> Sum {
        Sum {
            count: self.state.0,
            sum: self.state.1,
        }
    }

    /// Both sums together: the prints of rows read in parts.
    pub fn merge(&self, other: &Prints) -> Prints {
        let add = |a: (u64, u128), b: (u64, u128)| (a.0 + b.0, a.1.wrapping_add(b.1));
        Prints {
            rows: add(self.rows, other.rows),
            state: add(self.state, other.state),
            canonical: self.canonical.plus(other.canonical),
            checked: self.checked.plus(other.checked),
        }
    }

    /// The fingerprint, as a saved plan holds it: SHA-256 of the sums, so that the text a
    /// plan file keeps is the same on every machine and version.
    pub fn finish(&self, table_exists: bool) -> String {
        self.finish_lacking(table_exists, &[])
    }

    /// The fingerprint of a table that lacks the columns `lacking` (read as empty, to be
    /// added by the plan): a column added or dropped since makes the plan stale, although
    /// every row reads the same. Without any, it is [`Prints::finish`]'s, as before columns
    /// could be added.
    pub fn finish_lacking(&self, table_exists: bool, lacking: &[&str]) -> String {
        let mut h = Sha256::new();
        h.update([u8::from(table_exists)]);
        h.update(self.rows.0.to_le_bytes());
        h.update(self.rows.1.to_le_bytes());
        h.update(self.state.0.to_le_bytes());
        h.update(self.state.1.to_le_bytes());
        if !lacking.is_empty() {
            h.update(b"lacking");
            for column in lacking {
                h.update((column.len() as u64).to_le_bytes());
                h.update(column.to_ascii_lowercase().as_bytes());
            }
        }
        hex::encode(h.finalize())
    }
}

/// The bytes of a row's values as hashed for the state table.
fn values_bytes(values: &[Value]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    for v in values {
        v.hash_into(&mut buf);
    }
    buf
}

/// Hash of a row's values, as stored in the state table: SHA-256 in hex, the form every
/// version has written, so a row applied by any of them reads as unchanged.
pub fn values_hash(values: &[Value]) -> String {
    hex::encode(Sha256::digest(values_bytes(values)))
}

/// [`values_hash`] as bytes.
pub fn values_digest(values: &[Value]) -> [u8; 32] {
    Sha256::digest(values_bytes(values)).into()
}

/// Whether values hash to `hex` ([`values_hash`]), without building the hash's text.
pub fn values_hash_matches(values: &[Value], hex: &str) -> bool {
    digest_matches(&values_digest(values), hex)
}

/// Whether a [`values_digest`] is the hash `hex` ([`values_hash`]), in either case. The
/// digest is spelled out rather than the text decoded: a plan that needs no change checks a
/// million of these, and decoding took several times as long.
pub fn digest_matches(digest: &[u8; 32], hex: &str) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let hex = hex.as_bytes();
    hex.len() == 64
        && digest.iter().zip(hex.chunks_exact(2)).all(|(b, pair)| {
            pair[0].to_ascii_lowercase() == DIGITS[usize::from(b >> 4)]
                && pair[1].to_ascii_lowercase() == DIGITS[usize::from(b & 15)]
        })
}

/// The print of one value in a saved plan's list of what was read (which tells, when the
/// plan is stale, which cell changed): a 64-bit FNV-1a hash, cheap enough for every field of
/// a large table. Saved plans keep it, so it never changes.
pub fn value_print(v: &Value) -> u64 {
    let mut buf = Vec::with_capacity(32);
    v.hash_into(&mut buf);
    buf.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A digest of a resource's state entries, independent of their order: the count and the
/// wrapping sum of each entry's [`state_print`] (a multiset hash). An apply sums the entries
/// it keeps and those it writes, without sorting or building the state anew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateDigest {
    count: u64,
    sum: u128,
}

impl StateDigest {
    /// The digest of entries given by their [`state_print`]s, on every core.
    pub fn of(prints: impl rayon::iter::IntoParallelIterator<Item = u128>) -> StateDigest {
        use rayon::prelude::*;
        prints
            .into_par_iter()
            .fold(StateDigest::default, StateDigest::with)
            .reduce(StateDigest::default, |a, b| StateDigest {
                count: a.count.wrapping_add(b.count),
                sum: a.sum.wrapping_add(b.sum),
            })
    }

    /// The digest with one more entry, given by its [`state_print`].
    pub fn with(self, print: u128) -> StateDigest {
        StateDigest {
            count: self.count.wrapping_add(1),
            sum: self.sum.wrapping_add(print),
        }
    }

    /// How many entries.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of `count` entries whose prints sum to `sum`.
    pub fn of_sum(count: u64, sum: u128) -> StateDigest {
        StateDigest { count, sum }
    }

    /// The digest without one entry it holds, given by its [`state_print`].
    pub fn without(self, print: u128) -> StateDigest {
        StateDigest {
            count: self.count.wrapping_sub(1),
            sum: self.sum.wrapping_sub(print),
        }
    }

    /// The hash of one entry as an apply writes it: its members as the JSON text written.
    pub fn written(address: &str, row_key: &str, members: &str, hash: &str) -> u128 {
        state_print([address, row_key, members, hash])
    }

    /// The digest as recorded: `v4:` then the count and the sum in hex. (`v2` hashed the
    /// members one by one, `v3` each entry with SHA-256; a digest of another version never
    /// matches, so the plan after an upgrade takes the full path once.)
    pub fn text(&self) -> String {
        format!("v4:{:x}:{:032x}", self.count, self.sum)
    }
}

/// The print of one row of the table as the spec reads it (its primary key, then every
/// mapped field's value): XXH3, 128 bits. A plan sums those of the rows its writes rest on,
/// and an apply sums them again from the rows it reads back by key.
pub fn row_print(key: &Value, values: &[Value]) -> u128 {
    row_print_in(&mut Vec::with_capacity(128), key, values)
}

/// [`row_print`], its bytes built in `buf` (cleared first): a read of a million rows reuses
/// one buffer.
pub fn row_print_in(buf: &mut Vec<u8>, key: &Value, values: &[Value]) -> u128 {
    buf.clear();
    key.hash_into(buf);
    for v in values {
        v.hash_into(buf);
    }
    print_hash(buf)
}

/// The print of a row key with the hash of a row's values ([`values_hash`]): summed over the
/// entries an apply writes and over the rows it reads back, the two sums agree exactly when
/// every row holds the values its entry says (a multiset hash: no map from one to the other
/// is built).
pub fn entry_check(row_key: &str, hash: &str) -> u128 {
    state_print([row_key, hash, "", ""])
}

/// The inputs fingerprint of a plan (spec, sources, options): SHA-256 of length-prefixed
/// parts. It is stored in the database and compared by later versions, so it must not
/// change with the platform or a library's whims.
pub struct InputsHasher(Sha256);

impl InputsHasher {
    pub fn new() -> Self {
        InputsHasher(Sha256::new())
    }

    /// Adds one part, length-prefixed.
    pub fn part(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

impl Default for InputsHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// SHA-256 of a file's bytes, read in blocks so a large source is never held whole: what a
/// saved plan and the inputs fingerprint keep of each file, comparable with `sha256sum`.
pub fn file_sha256(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// A record's content id (for a source without `id:`): XXH3-64 over tagged, length-prefixed
/// parts. It only has to tell records of one source apart, and it is computed for every
/// record of every plan, so speed wins.
pub struct ContentHasher(Xxh3);

impl ContentHasher {
    pub fn new() -> Self {
        ContentHasher(Xxh3::new())
    }

    /// Adds one part: a tag saying what it is, its length, its bytes.
    pub fn part(&mut self, tag: u8, bytes: &[u8]) {
        self.0.update(&[tag]);
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn finish(&self) -> u64 {
        self.0.digest()
    }
}

impl Default for ContentHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// The key of a table's advisory lock (PostgreSQL): the table's name hashed to 64 bits. Any
/// process of any version must derive the same key, hence SHA-256.
pub fn lock_key(table: &str) -> i64 {
    let digest = Sha256::digest(format!("reconcile:{table}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateRow;

    #[test]
    fn a_table_lacking_columns_is_told_apart_and_one_lacking_none_is_as_before() {
        let mut p = Prints::default();
        p.row(&mut Vec::new(), |r| {
            r.int(Some(1)).text(None);
        });
        assert_eq!(p.finish_lacking(true, &[]), p.finish(true));
        assert_ne!(p.finish_lacking(true, &["city"]), p.finish(true));
        assert_eq!(
            p.finish_lacking(true, &["City"]),
            p.finish_lacking(true, &["city"]),
            "columns compare without regard to case, as SQL does"
        );
        assert_ne!(
            p.finish_lacking(true, &["city"]),
            p.finish_lacking(true, &["town"])
        );
    }

    #[test]
    fn a_state_entry_hashes_as_text_parts_of_a_row_print() {
        // The fingerprint of saved plans made before entries were hashed in one piece summed
        // each entry's four parts encoded as a row's text cells; it must not change.
        let row_hash = |parts: [&str; 4]| {
            let mut buf = Vec::new();
            let mut p = RowPrint { buf: &mut buf };
            for part in parts {
                p.text(Some(part));
            }
            print_hash(&buf)
        };
        let parts = ["addr", "12", r#"["a:1","b:2"]"#, "f00d"];
        assert_eq!(row_hash(parts), state_print(parts));
        // A part too long for the stack buffer is hashed the same way.
        let long = "x".repeat(600);
        let parts = ["a", "1", long.as_str(), "h"];
        assert_eq!(row_hash(parts), state_print(parts));
        // The parts are length-prefixed: moving a character between two of them shows.
        assert_ne!(
            state_print(["a", "1", "[]", "h"]),
            state_print(["a1", "", "[]", "h"])
        );
    }

    #[test]
    fn a_value_print_is_the_one_saved_plans_keep() {
        assert_eq!(value_print(&Value::Null), 0xaf63_bd4c_8601_b7df);
        assert_ne!(
            value_print(&Value::Int(1)),
            value_print(&Value::Text("1".into()))
        );
    }

    #[test]
    fn values_hash_and_its_check_agree() {
        let values = [Value::Text("x".into()), Value::Int(3), Value::Null];
        let hash = values_hash(&values);
        assert_eq!(hash.len(), 64);
        assert!(values_hash_matches(&values, &hash));
        assert!(!values_hash_matches(&values[..2], &hash));
        assert!(!values_hash_matches(&values, "not hex"));
        // Either case reads alike; any other digit, a digit more or less, or a character
        // that is no digit does not match.
        let digest = values_digest(&values);
        assert!(digest_matches(&digest, &hash.to_uppercase()));
        for i in 0..64 {
            let mut other = hash.clone().into_bytes();
            other[i] = if other[i] == b'0' { b'1' } else { b'0' };
            assert!(!digest_matches(
                &digest,
                std::str::from_utf8(&other).unwrap()
            ));
            other[i] = b'g';
            assert!(!digest_matches(
                &digest,
                std::str::from_utf8(&other).unwrap()
            ));
        }
        assert!(!digest_matches(&digest, &hash[..63]));
        assert!(!digest_matches(&digest, &format!("{hash}0")));
    }

    fn entry(address: &str, hash: &str) -> StateRow {
        StateRow::new([address, "1", r#"["a:1"]"#, hash], true)
    }

    /// An entry with one part changed.
    fn with(s: &StateRow, row_key: &str, members: &str, hash: &str) -> StateRow {
        StateRow::new([&s.address, row_key, members, hash], true)
    }

    fn digest(state: &[StateRow]) -> String {
        StateDigest::of(state.iter().map(|s| s.print).collect::<Vec<_>>()).text()
    }

    #[test]
    fn state_digest_ignores_order_and_sees_every_part() {
        let (a, b) = (entry("a", "h1"), entry("b", "h2"));
        assert_eq!(
            digest(&[a.clone(), b.clone()]),
            digest(&[b.clone(), a.clone()])
        );
        assert_ne!(
            digest(&[a.clone(), b.clone()]),
            digest(&[a.clone(), entry("b", "h3")])
        );
        assert_ne!(digest(std::slice::from_ref(&a)), digest(&[a.clone(), b]));
        let moved = with(&a, "2", r#"["a:1"]"#, "h1");
        assert_ne!(digest(std::slice::from_ref(&a)), digest(&[moved]));
        let joined = with(&a, "1", r#"["a:1","b:1"]"#, "h1");
        assert_ne!(digest(std::slice::from_ref(&a)), digest(&[joined]));
        // Parts are length-prefixed: moving a character from one part to the next shows.
        let split = with(&a, "1", r#"["a:1""#, "]h1");
        assert_ne!(digest(std::slice::from_ref(&a)), digest(&[split]));
    }

    #[test]
    fn written_entries_hash_as_they_read_back() {
        let read = entry("a", "h1");
        let members = [crate::merge::SourceRef {
            source: "a".into(),
            id: "1".into(),
        }];
        let members = crate::state::members_json(&members);
        assert_eq!(read.print, StateDigest::written("a", "1", &members, "h1"));
        // Whether the members were parsed does not change the entry's hash.
        let unparsed = StateRow::new(["a", "1", r#"["a:1"]"#, "h1"], false);
        assert!(unparsed.members.is_empty());
        assert_eq!(read.print, unparsed.print);
    }

    #[test]
    fn kept_and_written_entries_sum_to_the_digest_of_reading_them_back() {
        let before = [entry("a", "h1"), entry("b", "h2"), entry("c", "h3")];
        // An apply that rewrites b and deletes c sums a as read and b as written.
        let after = StateDigest::default()
            .with(before[0].print)
            .with(StateDigest::written("b", "7", r#"["s:2"]"#, "h9"))
            .text();
        let b_new = StateRow::new(["b", "7", r#"["s:2"]"#, "h9"], true);
        assert_eq!(after, digest(&[entry("a", "h1"), b_new]));
        assert_ne!(after, digest(&before));
        assert_ne!(after, digest(&[entry("a", "h1")]));
        assert_eq!(
            StateDigest::default().text(),
            digest(&[]),
            "an empty state has the digest of nothing"
        );
    }

    #[test]
    fn sums_add_and_take_away_in_any_order() {
        let (mut a, mut b) = (Sum::default(), Sum::default());
        for p in [3, u128::MAX, 9] {
            a.add(p);
        }
        b.add(9);
        let mut c = Sum::default();
        c.add(u128::MAX);
        c.add(3);
        assert_eq!(a.minus(b), c);
        assert_eq!(c.plus(b), a);
        assert_ne!(a.minus(c), Sum::default());
    }

    #[test]
    fn an_entry_check_sees_which_key_holds_which_hash() {
        let h = |k: &str, v: &str| entry_check(k, v);
        assert_ne!(h("1", "aa"), h("1", "ab"));
        assert_ne!(h("1", "aa"), h("2", "aa"));
        // Two rows that swapped their values are not the entries that were written.
        assert_ne!(
            h("1", "aa").wrapping_add(h("2", "bb")),
            h("1", "bb").wrapping_add(h("2", "aa"))
        );
        assert_ne!(h("12", "3"), h("1", "23"));
    }

    #[test]
    fn the_lock_key_is_the_one_every_version_derives() {
        // An apply of another version waits on the same key only if this never changes.
        assert_eq!(lock_key("customers"), 4_940_133_717_098_823_135);
        assert_ne!(lock_key("t"), lock_key("u"));
    }
}
