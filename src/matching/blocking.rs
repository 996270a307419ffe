//! Blocking: which pairs of records are compared at all (never all pairs). Each rule maps a
//! record to keys; records sharing a key under some rule form a candidate pair, and the
//! rules are OR'd together. A key shared by more than `max_block` records is narrowed: its
//! records are paired only within groups that also agree on one compared field (a branch
//! name shared by 130 records is compared city by city); groups still too large are skipped,
//! and the key is reported. Keys are hashed to 64 bits and sorted, so that blocking a million records
//! holds no key strings. Without rules, keys are derived from the comparisons: the canonical name and
//! the 4-letter prefix of each name word, the 3-letter prefix for Jaro-Winkler, the whole
//! value otherwise.

use crate::normalize::Record;
use crate::spec::compiled::{Blocking, MatchConfig};
use crate::spec::{CompareMethod, KeyTransform};
use crate::value::Value;

use super::compare::Prepared;
use super::name;

/// Statistics of one blocking rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleStats {
    pub name: String,
    /// Pairs the rule generates on its own.
    pub pairs: usize,
    /// Pairs no earlier rule had generated.
    pub new_pairs: usize,
}

/// A key shared by too many records to pair them all.
#[derive(Debug, Clone, PartialEq)]
pub struct Oversized {
    pub rule: String,
    pub key: String,
    pub records: usize,
    /// Pairs made by narrowing the key: records that share it and also agree on one compared
    /// field, in groups of at most `max_block`.
    pub narrowed_pairs: usize,
}

/// What blocking did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlockStats {
    pub rules: Vec<RuleStats>,
    pub oversized: Vec<Oversized>,
    /// Distinct pairs compared.
    pub candidate_pairs: usize,
}

/// Records flattened over sources: global index → (source, index in source).
pub struct Flat {
    pub offsets: Vec<usize>,
    pub source_of: Vec<usize>,
}

impl Flat {
    pub fn new(sources: &[Vec<Record>]) -> Flat {
        let mut offsets = Vec::with_capacity(sources.len() + 1);
        let mut source_of = Vec::new();
        let mut n = 0;
        for (s, recs) in sources.iter().enumerate() {
            offsets.push(n);
            n += recs.len();
            source_of.extend(std::iter::repeat_n(s, recs.len()));
        }
        offsets.push(n);
        Flat { offsets, source_of }
    }

    pub fn len(&self) -> usize {
        self.source_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source_of.is_empty()
    }

    pub fn member(&self, g: usize) -> super::Member {
        let source = self.source_of[g];
        super::Member {
            source,
            index: g - self.offsets[source],
        }
    }

    pub fn global(&self, m: super::Member) -> usize {
        self.offsets[m.source] + m.index
    }
}

/// Soundex code of the first word: a letter and three digits.
pub fn soundex(s: &str) -> Option<String> {
    let word: String = deunicode::deunicode(s)
        .chars()
        .skip_while(|c| !c.is_ascii_alphabetic())
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    let mut chars = word.chars();
    let first = chars.next()?;
    let code = |c: char| match c {
        'B' | 'F' | 'P' | 'V' => '1',
        'C' | 'G' | 'J' | 'K' | 'Q' | 'S' | 'X' | 'Z' => '2',
        'D' | 'T' => '3',
        'L' => '4',
        'M' | 'N' => '5',
        'R' => '6',
        'H' | 'W' => '-',
        _ => '0',
    };
    let mut out = String::from(first);
    let mut last = code(first);
    for c in chars {
        let d = code(c);
        if d == '-' {
            continue;
        }
        if d != '0' && d != last {
            out.push(d);
            if out.len() == 4 {
                break;
            }
        }
        last = d;
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => {
            let t = s.trim().to_lowercase();
            (!t.is_empty()).then_some(t)
        }
        other => Some(other.to_string()),
    }
}

/// The keys of one field under a transform (several for `tokens`).
fn field_keys(v: &Value, transform: KeyTransform, length: usize, name_field: bool) -> Vec<String> {
    let Some(text) = value_text(v) else {
        return Vec::new();
    };
    match transform {
        KeyTransform::Exact => vec![text],
        KeyTransform::Prefix => vec![text.chars().take(length).collect()],
        KeyTransform::FirstToken => text
            .split_whitespace()
            .next()
            .map(String::from)
            .into_iter()
            .collect(),
        KeyTransform::Tokens => {
            let mut t: Vec<String> = if name_field {
                name::tokens(&text)
            } else {
                text.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(String::from)
                    .collect()
            };
            t.sort();
            t.dedup();
            t
        }
        KeyTransform::Soundex => soundex(&text).into_iter().collect(),
    }
}

/// The keys of a record under one rule: every combination of its fields' keys.
pub fn rule_keys(config: &MatchConfig, rule: &Blocking, values: &[Value]) -> Vec<String> {
    let mut parts: Vec<Vec<String>> = Vec::with_capacity(rule.keys.len());
    for &(field, transform, length) in &rule.keys {
        let name_field = config
            .comparisons
            .iter()
            .any(|c| c.field == field && c.method == CompareMethod::Name);
        let keys = field_keys(&values[field], transform, length, name_field);
        if keys.is_empty() {
            return Vec::new();
        }
        parts.push(keys);
    }
    let mut combos: Vec<Vec<&str>> = vec![Vec::new()];
    for p in &parts {
        let mut next = Vec::with_capacity(combos.len() * p.len());
        for c in &combos {
            for k in p {
                let mut c = c.clone();
                c.push(k);
                next.push(c);
            }
        }
        combos = next;
        if combos.len() > 64 {
            combos.truncate(64);
        }
    }
    combos
        .into_iter()
        .map(|mut c| {
            if rule.unordered {
                c.sort_unstable();
            }
            c.join("\u{1f}")
        })
        .collect()
}

/// Keys derived from the comparisons, when the spec gives no blocking rules.
pub fn comparison_keys(config: &MatchConfig, p: &[Prepared]) -> Vec<String> {
    let mut keys = Vec::new();
    for (i, (c, v)) in config.comparisons.iter().zip(p).enumerate() {
        match (c.method, v) {
            (_, Prepared::Missing) => {}
            (
                CompareMethod::Name,
                Prepared::Name {
                    tokens, canonical, ..
                },
            ) => {
                keys.push(format!("{i}={canonical}"));
                for t in tokens {
                    if t.len() >= 3 || tokens.len() == 1 {
                        let prefix: String = t.chars().take(4).collect();
                        keys.push(format!("{i}^{prefix}"));
                    }
                }
            }
            (CompareMethod::Address, Prepared::Address(a)) => {
                let address = &a.address;
                // The number and the first street word: "2450 broadway" whatever follows.
                let head: Vec<&str> = address
                    .number
                    .iter()
                    .chain(&address.street)
                    .take(2)
                    .map(String::as_str)
                    .collect();
                keys.push(format!("{i}@{}", head.join(" ")));
            }
            (CompareMethod::JaroWinkler, p) => {
                if let Some(s) = p.text() {
                    let prefix: String = s.chars().take(3).collect();
                    keys.push(format!("{i}^{prefix}"));
                }
            }
            (_, p) => {
                if let Some(k) = p.key() {
                    keys.push(format!("{i}={k}"));
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// A blocking key reduced to 64 bits. Two different keys that hash alike only add candidate
/// pairs (which are then scored like any other), never lose one.
pub fn key_hash(key: &str) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0x6b65_7973).hash_one(key)
}

/// The keys of one blocking rule: `(key hash, record)` for every key of every record, and the
/// function that gives a record's key texts again (to name an oversized key).
pub struct RuleKeys<'k> {
    pub name: String,
    pub entries: Vec<(u64, u32)>,
    pub texts: Box<dyn Fn(usize) -> Vec<String> + Sync + 'k>,
    /// Whether a key too common to use may be narrowed (see [`candidate_pairs`]): a whole
    /// value may, a word's prefix is too loose to be worth it.
    pub narrows: fn(&str) -> bool,
}

impl<'k> RuleKeys<'k> {
    /// Hashes the keys of `n` records, in parallel.
    pub fn build(
        name: String,
        n: usize,
        texts: impl Fn(usize) -> Vec<String> + Sync + 'k,
    ) -> RuleKeys<'k> {
        use rayon::prelude::*;
        let entries = (0..n)
            .into_par_iter()
            .fold(Vec::new, |mut out: Vec<(u64, u32)>, g| {
                out.extend(texts(g).iter().map(|k| (key_hash(k), g as u32)));
                out
            })
            .reduce(Vec::new, |mut a, mut b| {
                if a.len() < b.len() {
                    std::mem::swap(&mut a, &mut b);
                }
                a.append(&mut b);
                a
            });
        RuleKeys {
            name,
            entries,
            texts: Box::new(texts),
            narrows: |_| true,
        }
    }

    /// Narrows only the keys that are a compared field's whole value (see
    /// [`comparison_keys`]), not a word's prefix.
    pub fn whole_values_narrow(mut self) -> Self {
        self.narrows = |key| {
            key.trim_start_matches(|c: char| c.is_ascii_digit())
                .starts_with('=')
        };
        self
    }
}

/// The values a record may be narrowed by ([`candidate_pairs`]): a hash of each compared
/// field's value as it is compared exactly (`None` where it is missing).
pub fn narrowing_keys(p: &[Prepared]) -> Vec<u64> {
    use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
    p.iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let key = v.key()?;
            let mut h = foldhash::fast::FixedState::with_seed(0x6e61_72726f77).build_hasher();
            i.hash(&mut h);
            key.hash(&mut h);
            Some(h.finish())
        })
        .collect()
}

/// Candidate pairs `(a, b)` of global indexes with `a < b`, sorted, and the statistics.
/// Records of one source are paired only when that source dedupes. A block larger than
/// `max_block` is narrowed by `narrow` (a record's [`narrowing_keys`]): its records are
/// paired within each group that shares one of those keys and is not itself too large.
pub fn candidate_pairs(
    config: &MatchConfig,
    flat: &Flat,
    rules: Vec<RuleKeys<'_>>,
    narrow: &(dyn Fn(usize) -> Vec<u64> + Sync),
) -> (Vec<(u32, u32)>, BlockStats) {
    let mut union = Union::default();
    for mut rule in rules {
        let (pairs, oversized) = rule_pairs(config, flat, &mut rule, narrow);
        union.add(rule.name, pairs, oversized);
    }
    union.finish()
}

/// The pairs of one rule's blocks, as `a << 32 | b` in any order and possibly repeated, and
/// its keys too common to use as they are. Takes the rule's entries: every record sharing a
/// key must be among them, but they may be a share of the rule's keys (those of one
/// partition), since blocks never cross keys.
pub fn rule_pairs(
    config: &MatchConfig,
    flat: &Flat,
    rule: &mut RuleKeys<'_>,
    narrow: &(dyn Fn(usize) -> Vec<u64> + Sync),
) -> (Vec<u64>, Vec<Oversized>) {
    use rayon::prelude::*;
    let mut entries = std::mem::take(&mut rule.entries);
    // Records sharing a key end up next to each other.
    entries.par_sort_unstable();
    entries.dedup();
    let mut named: Vec<Oversized> = Vec::new();
    let mut rule_pairs: Vec<u64> = Vec::new();
    let pair_up = |block: &[(u64, u32)], out: &mut Vec<u64>| {
        for (i, &(_, a)) in block.iter().enumerate() {
            let sa = flat.source_of[a as usize];
            for &(_, b) in &block[i + 1..] {
                let sb = flat.source_of[b as usize];
                if sa != sb || config.dedupes(sa) {
                    let (x, y) = if a < b { (a, b) } else { (b, a) };
                    out.push((u64::from(x) << 32) | u64::from(y));
                }
            }
        }
    };
    for block in entries.chunk_by(|x, y| x.0 == y.0) {
        if block.len() < 2 {
            continue;
        }
        if block.len() <= config.max_block {
            pair_up(block, &mut rule_pairs);
            continue;
        }
        let key = (rule.texts)(block[0].1 as usize)
            .into_iter()
            .find(|k| key_hash(k) == block[0].0)
            .unwrap_or_default();
        let mut narrowed: Vec<u64> = Vec::new();
        if (rule.narrows)(&key) {
            let mut groups: Vec<(u64, u32)> = block
                .iter()
                .flat_map(|&(_, g)| narrow(g as usize).into_iter().map(move |k| (k, g)))
                .collect();
            groups.sort_unstable();
            for group in groups.chunk_by(|x, y| x.0 == y.0) {
                if (2..=config.max_block).contains(&group.len()) {
                    pair_up(group, &mut narrowed);
                }
            }
            // Two records may agree on several fields: each pair counts once.
            narrowed.sort_unstable();
            narrowed.dedup();
        }
        named.push(Oversized {
            rule: rule.name.clone(),
            key: key.replace('\u{1f}', " | "),
            records: block.len(),
            narrowed_pairs: narrowed.len(),
        });
        rule_pairs.extend(narrowed);
    }
    (rule_pairs, named)
}

/// The candidate pairs of the rules so far, distinct and sorted, with their statistics.
#[derive(Default)]
pub struct Union {
    all: Vec<u64>,
    stats: BlockStats,
}

impl Union {
    /// Adds one rule's pairs (any order, repeats allowed) and its oversized keys.
    pub fn add(&mut self, name: String, mut pairs: Vec<u64>, mut oversized: Vec<Oversized>) {
        use rayon::prelude::*;
        oversized.sort_by(|a, b| a.key.cmp(&b.key));
        self.stats.oversized.extend(oversized);
        pairs.par_sort_unstable();
        pairs.dedup();
        let before = self.all.len();
        let merged = merge_sorted(&self.all, &pairs);
        self.stats.rules.push(RuleStats {
            name,
            pairs: pairs.len(),
            new_pairs: merged.len() - before,
        });
        self.all = merged;
    }

    /// The pairs `(a, b)` with `a < b`, sorted, and the statistics.
    pub fn finish(self) -> (Vec<(u32, u32)>, BlockStats) {
        let mut stats = self.stats;
        stats.candidate_pairs = self.all.len();
        let pairs = self
            .all
            .into_iter()
            .map(|p| ((p >> 32) as u32, p as u32))
            .collect();
        (pairs, stats)
    }
}

/// The sorted union of two sorted, distinct lists.
fn merge_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soundex_codes() {
        assert_eq!(soundex("Robert").as_deref(), Some("R163"));
        assert_eq!(soundex("Rupert").as_deref(), Some("R163"));
        assert_eq!(soundex("Smith").as_deref(), Some("S530"));
        assert_eq!(soundex("Smyth").as_deref(), Some("S530"));
        assert_eq!(soundex("Tymczak").as_deref(), Some("T522"));
        assert_eq!(soundex("Ashcraft").as_deref(), Some("A261"));
        assert_eq!(soundex("123"), None);
    }

    /// Two sources of six records that all share one key, in three cities.
    fn shared_key(narrows: fn(&str) -> bool) -> (Vec<(u32, u32)>, BlockStats) {
        let mut config = MatchConfig::new(Vec::new());
        config.max_block = 4;
        let record = |source| Record {
            source,
            id: String::new(),
            row: String::new(),
            values: Vec::new(),
        };
        let sources: Vec<Vec<Record>> = (0..2)
            .map(|s| (0..6).map(|_| record(s)).collect())
            .collect();
        let flat = Flat::new(&sources);
        let mut rule = RuleKeys::build("rule".into(), flat.len(), |_| vec!["0=spur".into()]);
        rule.narrows = narrows;
        // Records of one city agree on two fields: each pair still counts once.
        candidate_pairs(&config, &flat, vec![rule], &|g| {
            vec![(g % 3) as u64, 100 + (g % 3) as u64]
        })
    }

    #[test]
    fn a_key_too_common_is_narrowed_by_a_compared_field() {
        let (pairs, stats) = shared_key(|_| true);
        // Each city holds two records of each source: four pairs across sources, three times.
        assert_eq!(pairs.len(), 12, "{pairs:?}");
        assert!(
            pairs
                .iter()
                .all(|&(a, b)| a % 3 == b % 3 && a < 6 && b >= 6)
        );
        assert_eq!(stats.oversized.len(), 1);
        assert_eq!(stats.oversized[0].records, 12);
        assert_eq!(stats.oversized[0].narrowed_pairs, 12);
        assert_eq!(stats.oversized[0].key, "0=spur");
    }

    #[test]
    fn a_key_that_may_not_be_narrowed_is_skipped() {
        let (pairs, stats) = shared_key(|key| !key.starts_with("0="));
        assert!(pairs.is_empty());
        assert_eq!(stats.oversized[0].narrowed_pairs, 0);
        // Comparison keys: a whole value narrows, a word's prefix does not.
        let keys = RuleKeys::build("keys".into(), 0, |_| Vec::new()).whole_values_narrow();
        assert!((keys.narrows)("0=spur umhlanga") && (keys.narrows)("12=x"));
        assert!(!(keys.narrows)("0^spur"));
    }

    #[test]
    fn keys_per_transform() {
        let v = Value::Text("Ocean Basket Menlyn".into());
        assert_eq!(field_keys(&v, KeyTransform::Prefix, 3, false), vec!["oce"]);
        assert_eq!(
            field_keys(&v, KeyTransform::FirstToken, 0, false),
            vec!["ocean"]
        );
        assert_eq!(
            field_keys(&v, KeyTransform::Tokens, 0, true),
            vec!["basket", "menlyn", "ocean"]
        );
        assert!(field_keys(&Value::Null, KeyTransform::Exact, 0, false).is_empty());
    }
}
