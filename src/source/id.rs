//! Record ids: what a source's `id:` column holds, or, for a source without one, a
//! fingerprint of the record's content.
//!
//! A record's id names it in the state table (`source:id`), in `same:`/`distinct:` pairs and
//! in every message. It must never depend on where the record sits in its file: numbering
//! records by row made deleting one line shift every later record onto its neighbour's row.
//! A source without `id:` therefore names each record by a hash of its mapped values, so
//! reordering, inserting or deleting other rows leaves it alone; an edited record gets a new
//! id, and the plan recognises it as the same row by `target.key` or by the matcher.

use crate::collections::HashMap;
use crate::fingerprint::ContentHasher;

/// The id an `id:` value gives: a number, a text (trimmed) or a boolean. Null, empty text, a
/// list or a mapping cannot identify a record.
pub fn explicit_id(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The content id of a record: the first 12 hex digits of an XXH3-64 hash over its mapped
/// values, each with the name of the field it fills, in field-name order (so reordering the
/// target's fields in the spec renames nothing).
///
/// Each value is written in a canonical form: text trimmed, numbers and booleans as their
/// text (so `7` and `"7"` are one value, as they are once normalised), lists and mappings as
/// JSON, and a missing value marked apart from an empty text. Every name and value is
/// length-prefixed, so no choice of values can make two different records hash alike by
/// shifting text from one field into the next.
pub fn content_hash<'v>(
    mapped: impl IntoIterator<Item = (&'v str, &'v serde_json::Value)>,
) -> String {
    let mut pairs: Vec<(&str, &serde_json::Value)> = mapped.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = ContentHasher::new();
    let mut put = |tag: u8, bytes: &[u8]| h.part(tag, bytes);
    for (name, value) in pairs {
        put(b'f', name.as_bytes());
        match value {
            serde_json::Value::Null => put(b'n', b""),
            serde_json::Value::String(s) => put(b't', s.trim().as_bytes()),
            serde_json::Value::Number(n) => put(b't', n.to_string().as_bytes()),
            serde_json::Value::Bool(b) => put(b't', b.to_string().as_bytes()),
            other => put(b'j', other.to_string().as_bytes()),
        }
    }
    let hex = format!("{:016x}", h.finish());
    hex[..12].to_string()
}

/// Numbers records whose content is identical: the first keeps the hash, the next ones get
/// `-2`, `-3`, ... in file order. Identical records are interchangeable, so which one is
/// "-2" does not matter, and reordering the file still changes nothing.
#[derive(Debug, Default)]
pub struct ContentIds {
    seen: HashMap<String, usize>,
}

impl ContentIds {
    /// The id of the next record whose content hash is `hash`.
    pub fn next(&mut self, hash: String) -> String {
        let n = self.seen.entry(hash.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { hash } else { format!("{hash}-{n}") }
    }
}

/// The content hash a content id was numbered from: `d0bf39f8e999-2` is the second record
/// with the content `d0bf39f8e999`.
pub fn content_base(id: &str) -> &str {
    id.split_once('-').map_or(id, |(hash, _)| hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn id(pairs: &[(&str, Value)]) -> String {
        content_hash(pairs.iter().map(|(n, v)| (*n, v)))
    }

    #[test]
    fn is_twelve_hex_digits_and_stable() {
        let a = id(&[("name", json!("Acme")), ("email", json!("a@x.com"))]);
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            a,
            id(&[("email", json!("a@x.com")), ("name", json!("Acme"))])
        );
        // Pinned: ids are stored in the state table, so the hash must never change between
        // versions without a migration.
        assert_eq!(id(&[("name", json!("Acme"))]), "d0bf39f8e999");
    }

    #[test]
    fn canonical_values() {
        assert_eq!(id(&[("n", json!(" Acme "))]), id(&[("n", json!("Acme"))]));
        assert_eq!(id(&[("n", json!(7))]), id(&[("n", json!("7"))]));
        assert_eq!(id(&[("n", json!(true))]), id(&[("n", json!("true"))]));
        assert_ne!(id(&[("n", Value::Null)]), id(&[("n", json!(""))]));
        assert_ne!(id(&[("n", json!("Acme"))]), id(&[("n", json!("Acmf"))]));
    }

    #[test]
    fn values_cannot_shift_between_fields() {
        assert_ne!(
            id(&[("a", json!("x,")), ("b", json!("y"))]),
            id(&[("a", json!("x")), ("b", json!(",y"))])
        );
        assert_ne!(
            id(&[("a", json!("xy")), ("b", Value::Null)]),
            id(&[("a", json!("x")), ("b", json!("y"))])
        );
        // The field a value fills counts, not only its place.
        assert_ne!(id(&[("a", json!("x"))]), id(&[("b", json!("x"))]));
    }

    #[test]
    fn identical_records_are_numbered_in_order() {
        let mut ids = ContentIds::default();
        assert_eq!(ids.next("abc".into()), "abc");
        assert_eq!(ids.next("def".into()), "def");
        assert_eq!(ids.next("abc".into()), "abc-2");
        assert_eq!(ids.next("abc".into()), "abc-3");
        assert_eq!(content_base("abc-3"), "abc");
        assert_eq!(content_base("abc"), "abc");
    }

    #[test]
    fn explicit_ids() {
        assert_eq!(explicit_id(Some(&json!(" 17 "))).as_deref(), Some("17"));
        assert_eq!(explicit_id(Some(&json!(17))).as_deref(), Some("17"));
        assert_eq!(explicit_id(Some(&json!(true))).as_deref(), Some("true"));
        assert_eq!(explicit_id(Some(&json!(false))).as_deref(), Some("false"));
        for bad in [
            json!(null),
            json!(""),
            json!("  "),
            json!([1]),
            json!({"a": 1}),
        ] {
            assert_eq!(explicit_id(Some(&bad)), None, "{bad}");
        }
        assert_eq!(explicit_id(None), None);
    }
}
