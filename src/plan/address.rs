//! Addresses: the stable name of each desired record, `customers["maltos-sun-city"]`.
//!
//! A record that was applied before keeps the address the state table gives any of its
//! source records, so renaming a customer in a source is an update, not a delete and a create.
//! A new record takes a slug of its address field, made unique with `-2`, `-3`, ...; when
//! that field is sensitive, or empty, a slug of its first source record (`production-7`).

use std::fmt::Write as _;

use crate::collections::{HashMap, HashSet};

use crate::merge::DesiredRecord;
use crate::spec::compiled::Compiled;
use crate::state::StateRow;
use crate::value::Value;

/// `resource["key"]`, with quotes and backslashes in the key escaped.
pub fn display(resource: &str, key: &str) -> String {
    format!(
        "{resource}[\"{}\"]",
        key.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// An address as people write it, `customers["acme"]` (quotes and backslashes in the key
/// escaped as [`display`] writes them): its resource and key. `None` for text of another
/// shape, such as a bare key.
pub fn parse(text: &str) -> Option<(&str, String)> {
    let (resource, rest) = text.split_once("[\"")?;
    let inner = rest.strip_suffix("\"]")?;
    if resource.is_empty() || resource.contains(['[', ']', '"']) {
        return None;
    }
    let mut key = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.push(chars.next()?),
            // An unescaped quote ends the key early: not an address `display` writes.
            '"' => return None,
            c => key.push(c),
        }
    }
    Some((resource, key))
}

/// The longest slug. An address is stored in the state table's VARCHAR(255) column with a
/// `-N` suffix when several records share a slug: this leaves ample room for it.
pub const MAX_SLUG: usize = 100;

/// Lower-case ASCII words joined by hyphens: "Die Joint Koffiehuis & Kwekery" →
/// "die-joint-koffiehuis-kwekery". Words stop being added past 60 characters, and a slug
/// longer than [`MAX_SLUG`] (one long word) is cut, on a character boundary.
pub fn slug(s: &str) -> String {
    let folded = deunicode::deunicode(s).to_lowercase();
    let mut out = String::with_capacity(folded.len());
    for word in folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(word);
        if out.len() >= 60 {
            break;
        }
    }
    if out.len() > MAX_SLUG {
        let mut cut = MAX_SLUG;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        while out.ends_with('-') {
            out.pop();
        }
    }
    out
}

/// Texts of the state table (members, addresses) by a hash of each, to the first entry
/// holding it. Built from hashes computed on every core: at a million entries, a map keyed
/// by the texts themselves took seconds and hundreds of MB.
struct ByHash(HashMap<u64, u32>);

impl ByHash {
    fn new<'s, I>(state: &'s [StateRow], texts: impl Fn(&'s StateRow) -> I + Sync) -> ByHash
    where
        I: Iterator<Item = &'s str>,
    {
        use rayon::prelude::*;
        let hashed: Vec<Vec<u64>> = state
            .par_iter()
            .map(|s| texts(s).map(hash).collect())
            .collect();
        let mut map: HashMap<u64, u32> = HashMap::default();
        map.reserve(hashed.iter().map(Vec::len).sum());
        for (e, hashes) in hashed.into_iter().enumerate() {
            for h in hashes {
                map.entry(h).or_insert(e as u32);
            }
        }
        ByHash(map)
    }

    /// The first entry of `state` whose texts hold `text`: the one its hash names, when that
    /// entry holds it; else (two texts of one hash, which is all but impossible) a search of
    /// every entry, so that the answer is always exact.
    fn find<'s, I>(
        &self,
        state: &'s [StateRow],
        texts: impl Fn(&'s StateRow) -> I,
        text: &str,
    ) -> Option<usize>
    where
        I: Iterator<Item = &'s str>,
    {
        let &e = self.0.get(&hash(text))?;
        let holds = |s: &'s StateRow| texts(s).any(|t| t == text);
        if holds(&state[e as usize]) {
            return Some(e as usize);
        }
        state.iter().position(holds)
    }
}

fn hash(text: &str) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::default().hash_one(text)
}

fn members_of(s: &StateRow) -> impl Iterator<Item = &str> {
    s.members.iter().map(String::as_str)
}

fn address_of(s: &StateRow) -> std::iter::Once<&str> {
    std::iter::once(s.address.as_str())
}

/// Gives every desired record its address.
pub fn assign(spec: &Compiled, desired: &[DesiredRecord], state: &[StateRow]) -> Vec<String> {
    use rayon::prelude::*;
    let by_member = ByHash::new(state, members_of);
    // Records applied before keep their address, the highest-priority member deciding: the
    // entry of each record's first member the state knows, found on every core, then claimed
    // in order. A record whose entry an earlier one claimed tries its other members.
    let entry_of = |d: &DesiredRecord, skip: &dyn Fn(usize) -> bool, buf: &mut String| {
        d.members.iter().find_map(|m| {
            buf.clear();
            let _ = write!(buf, "{m}");
            by_member.find(state, members_of, buf).filter(|&e| !skip(e))
        })
    };
    let first: Vec<Option<usize>> = desired
        .par_iter()
        .map_init(String::new, |buf, d| entry_of(d, &|_| false, buf))
        .collect();
    let mut claimed = vec![false; state.len()];
    let mut out: Vec<Option<String>> = vec![None; desired.len()];
    let mut buf = String::new();
    for (i, d) in desired.iter().enumerate() {
        let entry = match first[i] {
            Some(e) if !claimed[e] => Some(e),
            Some(_) => entry_of(d, &|e| claimed[e], &mut buf),
            None => None,
        };
        if let Some(e) = entry {
            claimed[e] = true;
            out[i] = Some(state[e].address.clone());
        }
    }
    drop(by_member);
    if out.iter().all(Option::is_some) {
        return out.into_iter().flatten().collect();
    }
    // The state's addresses, which a new slug must not take, and the slugs given here.
    let by_address = ByHash::new(state, address_of);
    let mut fresh: HashSet<String> = HashSet::default();
    let used = |candidate: &str, fresh: &HashSet<String>| {
        fresh.contains(candidate) || by_address.find(state, address_of, candidate).is_some()
    };
    // New records take a fresh slug. The next suffix to try is kept per slug, so that a
    // name a thousand records share costs a thousand steps, not half a million.
    let mut next_suffix: HashMap<String, usize> = HashMap::default();
    for (i, d) in desired.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        // A sensitive field never names a record: its value would show in every address.
        let sensitive = spec
            .sensitive
            .get(spec.address_field)
            .copied()
            .unwrap_or(false);
        let base = match &d.values[spec.address_field] {
            _ if sensitive => String::new(),
            Value::Text(s) => slug(s),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        };
        let base = if base.is_empty() {
            slug(&d.members[0].to_string())
        } else {
            base
        };
        let mut candidate = base.clone();
        if used(&candidate, &fresh) {
            let n = next_suffix.entry(base.clone()).or_insert(2);
            loop {
                candidate = format!("{base}-{n}");
                *n += 1;
                if !used(&candidate, &fresh) {
                    break;
                }
            }
        }
        fresh.insert(candidate.clone());
        out[i] = Some(candidate);
    }
    out.into_iter()
        .map(|a| a.expect("every record got an address"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Die Joint Koffiehuis & Kwekery"),
            "die-joint-koffiehuis-kwekery"
        );
        assert_eq!(slug("Valley (Barchefz Branch)"), "valley-barchefz-branch");
        assert_eq!(slug("Café Zoë"), "cafe-zoe");
        assert_eq!(slug("!!!"), "");
        // One long word is cut; words past 60 characters are left out.
        assert_eq!(slug(&"x".repeat(300)), "x".repeat(MAX_SLUG));
        let words = format!("{} {}", "a".repeat(59), "b".repeat(300));
        assert_eq!(slug(&words).len(), MAX_SLUG);
        assert!(slug(&format!("{} tail", "é".repeat(200))).len() <= MAX_SLUG);
    }

    /// A spec whose records are named by one text field, `name`.
    fn names_spec() -> Compiled {
        crate::spec::load::load_str(
            "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: { type: text }\n\
             sources:\n  s:\n    id: name\n    inline: [{ name: x }]\n    fields: { name: name }\n",
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    #[test]
    fn shared_names_get_numbered_suffixes_in_order() {
        let spec = names_spec();
        let record = |name: &str| DesiredRecord {
            values: vec![Value::Text(name.into())],
            provenance: vec![None],
            members: vec![crate::merge::SourceRef {
                source: "s".into(),
                id: name.into(),
            }],
            cluster: 0,
            invalid_only: Vec::new(),
            conflicts: Default::default(),
        };
        let desired: Vec<DesiredRecord> = ["Acme", "Acme", "Bolt", "Acme", "acme-2", "Acme"]
            .into_iter()
            .map(record)
            .collect();
        assert_eq!(
            assign(&spec, &desired, &[]),
            ["acme", "acme-2", "bolt", "acme-3", "acme-2-2", "acme-4"]
        );
    }

    #[test]
    fn records_keep_the_addresses_of_their_members_and_new_ones_avoid_them() {
        let spec = names_spec();
        let record = |name: &str, ids: &[&str]| DesiredRecord {
            values: vec![Value::Text(name.into())],
            provenance: vec![None],
            members: (ids.iter())
                .map(|id| crate::merge::SourceRef {
                    source: "s".into(),
                    id: id.to_string(),
                })
                .collect(),
            cluster: 0,
            invalid_only: Vec::new(),
            conflicts: Default::default(),
        };
        let state = [
            StateRow::new(["acme", "1", r#"["s:1","s:2"]"#, "h"], true),
            StateRow::new(["bolt", "2", r#"["s:3"]"#, "h"], true),
        ];
        let desired = [
            // Applied before as `acme`, renamed: keeps its address.
            record("Acme Holdings", &["2"]),
            // Its first member's entry is taken by the record above: the second member's.
            record("Bolt", &["1", "3"]),
            // New, named like a state address: a suffix.
            record("Acme", &["9"]),
            record("Bolt", &["8"]),
        ];
        assert_eq!(
            assign(&spec, &desired, &state),
            ["acme", "bolt", "acme-2", "bolt-2"]
        );
    }

    #[test]
    fn a_text_is_found_exactly_even_when_its_hash_names_another_entry() {
        let state = [
            StateRow::new(["a", "1", r#"["s:1"]"#, "h"], true),
            StateRow::new(["b", "2", r#"["s:2"]"#, "h"], true),
        ];
        let index = ByHash::new(&state, members_of);
        assert_eq!(index.find(&state, members_of, "s:2"), Some(1));
        assert_eq!(index.find(&state, members_of, "s:7"), None);
        // Two texts of one hash: the entry the hash names does not hold the text asked for,
        // and the search finds the one that does.
        let collided = ByHash([(hash("s:2"), 0)].into_iter().collect());
        assert_eq!(collided.find(&state, members_of, "s:2"), Some(1));
        let nowhere = ByHash([(hash("s:7"), 0)].into_iter().collect());
        assert_eq!(nowhere.find(&state, members_of, "s:7"), None);
    }

    #[test]
    fn display_escapes() {
        assert_eq!(display("customers", "a\"b"), r#"customers["a\"b"]"#);
    }

    #[test]
    fn parse_reads_back_what_display_writes() {
        for key in ["acme", "a\"b", "back\\slash", "", "x[\"y\"]"] {
            let shown = display("customers", key);
            assert_eq!(
                parse(&shown),
                Some(("customers", key.to_string())),
                "{shown}"
            );
        }
        assert_eq!(parse("acme"), None);
        assert_eq!(parse("customers[acme]"), None);
        assert_eq!(parse(r#"["acme"]"#), None);
        assert_eq!(parse(r#"customers["a"b"]"#), None);
    }
}
