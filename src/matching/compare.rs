//! Comparisons and scoring. Each comparison puts a pair of values into one of its ordered
//! levels (`exact`, the method's fuzzy levels, `else`), Splink-style; each level carries
//! Fellegi-Sunter m and u probabilities, and its evidence is log2(m/u) bits, scaled by the
//! comparison's weight. A missing value on either side is neither evidence for nor against.
//! Term-frequency adjustment makes agreement on a common value count less. The bits of all
//! comparisons plus the prior give the match probability that `threshold` and `review` are
//! compared with.

use crate::collections::HashMap;

use crate::spec::CompareMethod;

pub use super::method::{
    Comparison, Level, default_thresholds, given_levels, guard_levels, has_fuzzy_levels,
    level_names,
};
use crate::value::Value;

use super::name;

/// Levels are stored per pair as one byte; this one means "a value was missing".
pub const MISSING: u8 = u8::MAX;

/// A value prepared once for all its comparisons (name tokens computed, text lower-cased,
/// dates parsed).
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    Missing,
    Name {
        tokens: Box<[String]>,
        canonical: Box<str>,
        /// Each token's weight under the term frequencies of its comparison, when they
        /// have been worked out once for the record ([`PreparedTable::weigh_names`]);
        /// empty until then, and a comparison works them out per pair.
        ///
        /// [`PreparedTable::weigh_names`]: super::PreparedTable::weigh_names
        weights: Box<[f64]>,
    },
    Text(Box<str>),
    /// Character bigrams, sorted and distinct, with the text they came from.
    Grams {
        text: Box<str>,
        grams: Box<[u32]>,
    },
    /// Words, sorted and distinct.
    Tokens {
        text: Box<str>,
        tokens: Box<[String]>,
    },
    Date {
        text: Box<str>,
        /// The date, when the text is a valid one.
        ymd: Option<Ymd>,
    },
    Number(f64),
    /// A street address cut into number and street words (boxed: addresses are rarer than
    /// the names, emails and phones every record holds, and the largest variant).
    Address(Box<PreparedAddress>),
    /// A phone number's digits, leading zeros dropped.
    Phone(Box<str>),
    Other(Box<Value>),
}

/// An address prepared: its canonical text and its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAddress {
    pub text: Box<str>,
    pub address: super::address::Address,
}

/// A valid calendar date, packed: every record holds one per date comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ymd {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    /// Days since 1970-01-01.
    pub days: i32,
}

impl Prepared {
    pub fn new(method: CompareMethod, v: &Value) -> Prepared {
        let text = match v {
            Value::Null => return Prepared::Missing,
            Value::Text(s) => s.trim().to_lowercase(),
            Value::Int(i) => i.to_string(),
            other => return Prepared::Other(Box::new(other.clone())),
        };
        if text.is_empty() {
            return Prepared::Missing;
        }
        match method {
            CompareMethod::Name => {
                let tokens = name::tokens(&text);
                if tokens.is_empty() {
                    Prepared::Missing
                } else {
                    let canonical = tokens.join(" ").into_boxed_str();
                    Prepared::Name {
                        tokens: tokens.into_boxed_slice(),
                        canonical,
                        weights: Box::new([]),
                    }
                }
            }
            CompareMethod::Jaccard => {
                let chars: Vec<char> = text.chars().collect();
                let mut grams: Vec<u32> = if chars.len() < 2 {
                    chars.iter().map(|&c| c as u32).collect()
                } else {
                    chars
                        .windows(2)
                        .map(|w| (w[0] as u32).wrapping_mul(65_599) ^ w[1] as u32)
                        .collect()
                };
                grams.sort_unstable();
                grams.dedup();
                Prepared::Grams {
                    text: text.into_boxed_str(),
                    grams: grams.into_boxed_slice(),
                }
            }
            CompareMethod::TokenSet => {
                let mut tokens: Vec<String> = text
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect();
                tokens.sort();
                tokens.dedup();
                Prepared::Tokens {
                    text: text.into_boxed_str(),
                    tokens: tokens.into_boxed_slice(),
                }
            }
            CompareMethod::Date => {
                let ymd = parse_date(&text);
                Prepared::Date {
                    text: text.into_boxed_str(),
                    ymd,
                }
            }
            CompareMethod::Address => match super::address::parse(&text) {
                Some(address) => Prepared::Address(Box::new(PreparedAddress {
                    text: address.canonical().into_boxed_str(),
                    address,
                })),
                None => Prepared::Missing,
            },
            // Digits, whatever the field type: a phone field's E.164 text and a text field's
            // "(773) 535-1480" compare alike.
            CompareMethod::Phone => match super::address::phone_digits(&text) {
                Some(d) => Prepared::Phone(d.into_boxed_str()),
                None => Prepared::Text(text.into_boxed_str()),
            },
            CompareMethod::Numeric => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Prepared::Number(x),
                _ => Prepared::Text(text.into_boxed_str()),
            },
            _ => Prepared::Text(text.into_boxed_str()),
        }
    }

    /// The text blocking keys and term frequencies are made from.
    pub fn text(&self) -> Option<&str> {
        match self {
            Prepared::Name { canonical, .. } => Some(canonical),
            Prepared::Text(s)
            | Prepared::Grams { text: s, .. }
            | Prepared::Tokens { text: s, .. }
            | Prepared::Date { text: s, .. } => Some(s),
            Prepared::Address(a) => Some(&a.text),
            // Two writings of one number share their last digits.
            Prepared::Phone(d) => Some(super::address::local_part(d)),
            _ => None,
        }
    }

    /// A key for exact equality and term frequencies.
    pub fn key(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Prepared::Missing => None,
            Prepared::Number(x) => Some(Cow::Owned(x.to_string())),
            Prepared::Other(v) => Some(Cow::Owned(v.to_string())),
            p => p.text().map(Cow::Borrowed),
        }
    }
}

/// Parses `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD`.
fn parse_date(s: &str) -> Option<Ymd> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 || !s.chars().all(|c| c.is_ascii_digit() || "-/.".contains(c)) {
        return None;
    }
    let y: i32 = digits[0..4].parse().ok()?;
    let m: u32 = digits[4..6].parse().ok()?;
    let d: u32 = digits[6..8].parse().ok()?;
    let days = crate::time::checked_days_from_civil(i64::from(y), m, d)?;
    Some(Ymd {
        year: y,
        month: m as u8,
        day: d as u8,
        days: i32::try_from(days).ok()?,
    })
}

/// How often each value (or, for names, each word) occurs, for term-frequency adjustment.
/// Values are counted by a 64-bit hash of their text: a million distinct emails cost 16 bytes
/// each, not a copy of every address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermFrequency {
    pub counts: HashMap<u64, u32>,
    /// For names: records per whole canonical name.
    pub names: HashMap<u64, u32>,
    /// Records with a value.
    pub total: u32,
}

fn term_hash(term: &str) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0x7466).hash_one(term)
}

impl TermFrequency {
    /// Counts values (or name words, once per record) over prepared records.
    pub fn build<'a>(values: impl Iterator<Item = &'a Prepared>) -> TermFrequency {
        let mut tf = TermFrequency::default();
        tf.add(values);
        tf
    }

    /// Counts more values: counting in parts gives what counting all at once does.
    pub fn add<'a>(&mut self, values: impl Iterator<Item = &'a Prepared>) {
        let tf = self;
        for p in values {
            match p {
                Prepared::Missing => continue,
                Prepared::Name {
                    tokens, canonical, ..
                } => {
                    *tf.names.entry(term_hash(canonical)).or_default() += 1;
                    let mut seen: Vec<&String> = Vec::with_capacity(tokens.len());
                    for t in tokens {
                        if !seen.contains(&t) {
                            seen.push(t);
                            *tf.counts.entry(term_hash(t)).or_default() += 1;
                        }
                    }
                }
                other => {
                    if let Some(k) = other.key() {
                        *tf.counts.entry(term_hash(&k)).or_default() += 1;
                    }
                }
            }
            tf.total += 1;
        }
    }

    /// A name word's weight: its length, times how rare it is among the records.
    pub fn word_weight(&self, word: &str) -> f64 {
        let n = f64::from(self.total);
        word.len() as f64 * (1.0 + n / f64::from(self.count(word))).log2()
    }

    fn count(&self, key: &str) -> u32 {
        self.counts
            .get(&term_hash(key))
            .copied()
            .unwrap_or(1)
            .max(1)
    }

    /// Records holding exactly this canonical name.
    fn name_count(&self, canonical: &str) -> u32 {
        self.names
            .get(&term_hash(canonical))
            .copied()
            .unwrap_or(1)
            .max(1)
    }
}

/// The outcome of one comparison on one pair, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Index of the comparison in the spec.
    pub comparison: usize,
    /// Target field index.
    pub field: usize,
    pub method: CompareMethod,
    /// Level index; `None` when a value was missing.
    pub level: Option<usize>,
    /// Level name, or `missing`.
    pub label: String,
    /// Similarity (0..=1) or distance where the method has one.
    pub similarity: Option<f64>,
    /// Evidence in bits (log2 of the likelihood ratio) after the weight, term frequency
    /// included.
    pub bits: f64,
    /// The part of `bits` due to term-frequency adjustment.
    pub tf_bits: f64,
}

/// Similarity of two name token lists, words weighted by rarity when a table is given.
pub fn name_similarity(a: &[String], b: &[String], tf: Option<&TermFrequency>) -> f64 {
    match tf {
        Some(tf) if tf.total > 0 => name::similarity_weighted(a, b, &|t: &str| tf.word_weight(t)),
        _ => name::similarity(a, b),
    }
}

/// [`name_similarity`], with the words' weights taken from each side when they were
/// worked out once for the record (`wa`, `wb`: one per token, or empty).
fn name_similarity_weighed(
    (a, wa): (&[String], &[f64]),
    (b, wb): (&[String], &[f64]),
    tf: Option<&TermFrequency>,
) -> f64 {
    match tf {
        Some(tf) if tf.total > 0 && wa.len() == a.len() && wb.len() == b.len() => {
            name::similarity_given(a, wa, b, wb)
        }
        _ => name_similarity(a, b, tf),
    }
}

/// Puts a pair of prepared values into a level of a comparison: `None` when a value is
/// missing, else the level index and the similarity the method measured.
pub fn level(
    c: &Comparison,
    tf: Option<&TermFrequency>,
    a: &Prepared,
    b: &Prepared,
) -> (Option<usize>, Option<f64>) {
    let last = |c: &Comparison| level_count(c) - 1;
    let by_cut = |s: f64, exact: bool| {
        if exact {
            return 0;
        }
        c.thresholds
            .iter()
            .position(|&t| s >= t)
            .map_or(last(c), |i| i + 1)
    };
    let by_edits = |d: usize| {
        if d == 0 {
            return 0;
        }
        c.thresholds
            .iter()
            .position(|&t| d as f64 <= t)
            .map_or(last(c), |i| i + 1)
    };
    match (c.method, a, b) {
        (_, Prepared::Missing, _) | (_, _, Prepared::Missing) => (None, None),
        (
            CompareMethod::Name,
            Prepared::Name {
                tokens: ta,
                canonical: ca,
                weights: wa,
            },
            Prepared::Name {
                tokens: tb,
                canonical: cb,
                weights: wb,
            },
        ) => {
            if ca == cb {
                return (Some(0), Some(1.0));
            }
            let s = name_similarity_weighed((ta, wa), (tb, wb), tf.filter(|_| c.term_frequency));
            (Some(by_cut(s, false)), Some(s))
        }
        (CompareMethod::JaroWinkler, Prepared::Text(x), Prepared::Text(y)) => {
            let s = name::jaro_winkler(x, y);
            (Some(by_cut(s, x == y)), Some(s))
        }
        (CompareMethod::Levenshtein, Prepared::Text(x), Prepared::Text(y)) => {
            let d = rapidfuzz::distance::levenshtein::distance(x.chars(), y.chars());
            (Some(by_edits(d)), Some(d as f64))
        }
        (CompareMethod::DamerauLevenshtein, Prepared::Text(x), Prepared::Text(y)) => {
            let d = rapidfuzz::distance::damerau_levenshtein::distance(x.chars(), y.chars());
            (Some(by_edits(d)), Some(d as f64))
        }
        (
            CompareMethod::Jaccard,
            Prepared::Grams { text: x, grams: gx },
            Prepared::Grams { text: y, grams: gy },
        ) => {
            let s = jaccard(gx, gy);
            (Some(by_cut(s, x == y)), Some(s))
        }
        (
            CompareMethod::TokenSet,
            Prepared::Tokens {
                text: x,
                tokens: tx,
            },
            Prepared::Tokens {
                text: y,
                tokens: ty,
            },
        ) => {
            let s = token_similarity(tx, ty);
            (Some(by_cut(s, x == y || tx == ty)), Some(s))
        }
        (CompareMethod::Address, Prepared::Address(x), Prepared::Address(y)) => {
            let (l, s) = super::address::compare(&x.address, &y.address);
            (Some(l.index()), Some(s))
        }
        (CompareMethod::Phone, Prepared::Phone(x), Prepared::Phone(y)) => {
            let l = if x == y {
                0
            } else if super::address::same_local_number(x, y) {
                1
            } else {
                2
            };
            (Some(l), None)
        }
        (CompareMethod::Email, Prepared::Text(x), Prepared::Text(y)) => {
            let domain = |s: &str| s.rsplit_once('@').map(|(_, d)| d.to_string());
            let l = if x == y {
                0
            } else if domain(x).is_some() && domain(x) == domain(y) {
                1
            } else {
                2
            };
            (Some(l), None)
        }
        (
            CompareMethod::Date,
            Prepared::Date { text: x, ymd: dx },
            Prepared::Date { text: y, ymd: dy },
        ) => {
            if x == y || (dx.is_some() && dx.map(|d| d.days) == dy.map(|d| d.days)) {
                return (Some(0), Some(0.0));
            }
            let typo = x.chars().count() == y.chars().count()
                && rapidfuzz::distance::levenshtein::distance(x.chars(), y.chars()) <= 1;
            if typo {
                return (Some(1), None);
            }
            match (dx, dy) {
                (Some(p), Some(q)) => {
                    let delta = (i64::from(p.days) - i64::from(q.days)).abs();
                    if p.year == q.year && p.month == q.day && p.day == q.month {
                        (Some(2), Some(delta as f64))
                    } else if delta <= i64::from(c.days) {
                        (Some(3), Some(delta as f64))
                    } else {
                        (Some(4), Some(delta as f64))
                    }
                }
                _ => (Some(4), None),
            }
        }
        (CompareMethod::Numeric, Prepared::Number(x), Prepared::Number(y)) => {
            let d = (x - y).abs();
            if d == 0.0 {
                (Some(0), Some(0.0))
            } else if c.tolerance.is_some_and(|t| d <= t) {
                (Some(1), Some(d))
            } else {
                (Some(last(c)), Some(d))
            }
        }
        (_, x, y) => {
            let equal = x == y;
            (Some(if equal { 0 } else { last(c) }), None)
        }
    }
}

/// Number of levels of a comparison, `else` included.
pub fn level_count(c: &Comparison) -> usize {
    match c.method {
        CompareMethod::Name
        | CompareMethod::JaroWinkler
        | CompareMethod::Levenshtein
        | CompareMethod::DamerauLevenshtein
        | CompareMethod::Jaccard
        | CompareMethod::TokenSet => c.thresholds.len() + 2,
        CompareMethod::Email => 3,
        CompareMethod::Date => 5,
        CompareMethod::Numeric => 2 + usize::from(c.tolerance.is_some()),
        CompareMethod::Address => super::address::AddressLevel::NAMES.len(),
        CompareMethod::Phone => 3,
        CompareMethod::Exact => 2,
    }
}

/// Similarity of two word sets: the mean of their Jaccard similarity and of their overlap
/// (shared words over the smaller set's), so that an address or a name found whole inside a
/// longer one ("2450 broadway" in "2450 broadway between 90th and 91st sts") counts as
/// close. A set of one word is not taken as contained: one shared word says too little.
pub fn token_similarity(a: &[String], b: &[String]) -> f64 {
    let j = jaccard(a, b);
    let small = a.len().min(b.len());
    if small < 2 {
        return j;
    }
    let both = a.iter().filter(|t| b.binary_search(t).is_ok()).count();
    (j + both as f64 / small as f64) / 2.0
}

fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// Term-frequency adjustment in bits for a pair at an agreeing level.
///
/// For exact-style methods, when u was `estimated` (Splink's adjustment): agreeing on a value
/// that a share f of records hold is worth log2(m/f) rather than log2(m/u), so the adjustment
/// is log2(u/f). With given weights, a value held by n > 2 records loses log2(n - 1) bits,
/// never below zero.
/// For names: the same names are judged by the records holding that whole canonical name (a
/// branch name several records share is weak evidence; a name only this pair has is not,
/// however common its words). When u was `estimated` from these records, that is the exact
/// adjustment above, log2(u/f). With given weights, a name rarer than u counts for more, and
/// otherwise the evidence is divided by the number of other records holding the name, never
/// below zero. Different names count the words they share: when the rarest is held by other
/// records besides this pair (a brand with several branches, "kitchen"), the evidence is
/// divided by the number of those other records, never below zero.
pub fn tf_adjustment(
    c: &Comparison,
    level: &Level,
    level_index: usize,
    tf: &TermFrequency,
    (a, b): (&Prepared, &Prepared),
    level_bits: f64,
    estimated: bool,
) -> f64 {
    match (c.method, a, b) {
        (
            CompareMethod::Name,
            Prepared::Name {
                tokens: ta,
                canonical,
                ..
            },
            Prepared::Name { tokens: tb, .. },
        ) => {
            if level_index + 1 >= level_count(c) {
                return 0.0;
            }
            if level_index == 0 && estimated && tf.total > 0 {
                let f = f64::from(tf.name_count(canonical)) / f64::from(tf.total);
                return (level.u / f).log2();
            }
            let rarest = if level_index == 0 {
                Some(tf.name_count(canonical))
            } else {
                ta.iter()
                    .filter(|t| tb.contains(t))
                    .map(|t| tf.count(t))
                    .min()
            };
            // With given weights u is a guess: a name rarer than it says (a long list of
            // mostly distinct names) counts for more, but a name it makes look common on a
            // short list is only weakened by the records that share it.
            let rare = if level_index == 0 && tf.total > 0 {
                let f = f64::from(tf.name_count(canonical)) / f64::from(tf.total);
                (level.u / f).log2().max(0.0)
            } else {
                0.0
            };
            rare + match rarest {
                Some(n) if n > 2 => (-(f64::from(n - 1)).log2()).max(-level_bits.max(0.0)),
                _ => 0.0,
            }
        }
        (_, x, _) if level_index == 0 && tf.total > 0 => match x.key() {
            Some(k) if estimated => {
                let f = f64::from(tf.count(&k)) / f64::from(tf.total);
                (level.u / f).log2()
            }
            // With given weights u is a guess for a rare value: a value held by more records
            // than this pair (a postcode, a brand's `info@` address, a switchboard) counts
            // for less, by the number of other records holding it, never below zero.
            Some(k) => match tf.count(&k) {
                n if n > 2 => (-(f64::from(n - 1)).log2()).max(-level_bits.max(0.0)),
                _ => 0.0,
            },
            None => 0.0,
        },
        _ => 0.0,
    }
}

/// The score of a pair: prior and evidence in bits, and the match probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub prior_bits: f64,
    pub terms: Vec<Term>,
    pub probability: f64,
}

impl Score {
    pub fn new(prior_bits: f64, terms: Vec<Term>) -> Score {
        let total = prior_bits + terms.iter().map(|t| t.bits).sum::<f64>();
        Score {
            prior_bits,
            terms,
            probability: probability(total),
        }
    }

    /// Total evidence, prior included.
    pub fn bits(&self) -> f64 {
        self.prior_bits + self.terms.iter().map(|t| t.bits).sum::<f64>()
    }

    /// A link or split the user asked for in `same` / `distinct`.
    pub fn forced(probability: f64) -> Score {
        Score {
            prior_bits: 0.0,
            terms: Vec::new(),
            probability,
        }
    }
}

/// Match probability from total bits (log2 odds).
pub fn probability(bits: f64) -> f64 {
    let odds = bits.exp2();
    if odds.is_infinite() {
        1.0
    } else {
        odds / (1.0 + odds)
    }
}

/// The prior, in bits, that two records drawn one from each side are the same entity, when
/// each record has at most one match on the other side: about 1 in the larger side's size.
pub fn prior_bits(left: usize, right: usize) -> f64 {
    let n = left.max(right).max(2) as f64;
    let lambda = 1.0 / n;
    (lambda / (1.0 - lambda)).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(method: CompareMethod) -> Comparison {
        Comparison::new(0, "f", method)
    }

    fn lvl(c: &Comparison, a: &str, b: &str) -> String {
        let p = |s: &str| Prepared::new(c.method, &Value::Text(s.into()));
        let (l, _) = level(c, None, &p(a), &p(b));
        let (r, _) = level(c, None, &p(b), &p(a));
        assert_eq!(l, r, "levels must be symmetric for {a:?} / {b:?}");
        l.map_or("missing".into(), |i| level_names(c)[i].clone())
    }

    #[test]
    fn name_levels() {
        let c = comparison(CompareMethod::Name);
        assert_eq!(lvl(&c, "The T Junction", "T-junction"), "exact");
        assert_eq!(lvl(&c, "Maltos", "Maltos Sun City"), "name ≥ 0.92");
        assert_eq!(lvl(&c, "Venue", "Revue Bar"), "else");
        // Two branches of one brand share half their name: a level of its own that says
        // little either way, where two unrelated names count strongly against.
        assert_eq!(
            lvl(&c, "Ocean Basket Menlyn", "Ocean Basket Brooklyn"),
            "name ≥ 0.5"
        );
        let levels = given_levels(&c);
        assert!(levels[3].bits().abs() < 1.0, "{}", levels[3].bits());
        assert!(levels[4].bits() < -6.0, "{}", levels[4].bits());
    }

    #[test]
    fn exact_and_phone() {
        for m in [CompareMethod::Exact, CompareMethod::Phone] {
            let c = comparison(m);
            assert_eq!(lvl(&c, "+27828748637", "+27828748637"), "exact");
            assert_eq!(lvl(&c, "+27828748637", "+27828748638"), "else");
        }
        // Phones compare by digits, whatever the separators, with or without codes.
        let c = comparison(CompareMethod::Phone);
        assert_eq!(lvl(&c, "212/362-2200", "212-362-2200"), "exact");
        assert_eq!(
            lvl(&c, "+27 82 874 8637", "082 874 8637"),
            "same number without country or area code"
        );
        assert_eq!(
            lvl(&c, "(773) 535-1480", "5351480"),
            "same number without country or area code"
        );
    }

    #[test]
    fn address_levels() {
        let c = comparison(CompareMethod::Address);
        assert_eq!(lvl(&c, "854 7th ave.", "854 Seventh Avenue"), "exact");
        assert_eq!(
            lvl(
                &c,
                "2450 broadway between 90th and 91st sts.",
                "2450 Broadway"
            ),
            "exact"
        );
        assert_eq!(
            lvl(&c, "3033 W. Arthington", "3030 W. Arthington"),
            "same street, another number"
        );
        let levels = given_levels(&c);
        // Another number on the same street counts against, and more mildly than `else`.
        assert!(levels[4].bits() < 0.0 && levels[4].bits() > levels[5].bits());
    }

    #[test]
    fn jaro_winkler_levels() {
        let c = comparison(CompareMethod::JaroWinkler);
        assert_eq!(lvl(&c, "martha", "martha"), "exact");
        assert_eq!(lvl(&c, "martha", "marhta"), "jaro-winkler ≥ 0.92");
        assert_eq!(lvl(&c, "dixon", "dicksonx"), "jaro-winkler ≥ 0.8");
        assert_eq!(lvl(&c, "smith", "jones"), "else");
    }

    #[test]
    fn edit_distance_levels() {
        let c = comparison(CompareMethod::Levenshtein);
        assert_eq!(lvl(&c, "1234567", "1234567"), "exact");
        assert_eq!(lvl(&c, "1234567", "1234568"), "≤ 1 edit");
        assert_eq!(lvl(&c, "1234567", "1243567"), "≤ 2 edits");
        let d = comparison(CompareMethod::DamerauLevenshtein);
        assert_eq!(lvl(&d, "1234567", "1243567"), "≤ 1 edit");
        assert_eq!(lvl(&d, "1234567", "7654321"), "else");
    }

    #[test]
    fn jaccard_and_token_set() {
        let c = comparison(CompareMethod::Jaccard);
        assert_eq!(lvl(&c, "night", "night"), "exact");
        assert_eq!(lvl(&c, "nightingale", "nightingales"), "jaccard ≥ 0.7");
        assert_eq!(lvl(&c, "abc", "xyz"), "else");
        let t = comparison(CompareMethod::TokenSet);
        assert_eq!(lvl(&t, "main road 12", "12 Main Road"), "exact");
        // Containment counts: one address found whole inside a longer one is close.
        assert_eq!(lvl(&t, "main road", "main road east"), "jaccard ≥ 0.7");
        assert_eq!(
            lvl(
                &t,
                "2450 broadway",
                "2450 broadway between 90th and 91st sts."
            ),
            "jaccard ≥ 0.5"
        );
        assert_eq!(lvl(&t, "12 main road", "14 oak road"), "else");
    }

    #[test]
    fn email_levels() {
        let c = comparison(CompareMethod::Email);
        assert_eq!(lvl(&c, "a@x.co.za", "A@x.co.za"), "exact");
        assert_eq!(lvl(&c, "a@x.co.za", "b@x.co.za"), "same domain");
        assert_eq!(lvl(&c, "a@x.co.za", "a@y.co.za"), "else");
    }

    #[test]
    fn date_levels() {
        let c = comparison(CompareMethod::Date);
        assert_eq!(lvl(&c, "1985-03-12", "19850312"), "exact");
        assert_eq!(lvl(&c, "19850312", "19850313"), "one character off");
        assert_eq!(lvl(&c, "1985-03-12", "1985-12-03"), "day and month swapped");
        assert_eq!(lvl(&c, "1985-03-12", "1985-03-30"), "within 30 days");
        assert_eq!(lvl(&c, "1985-03-12", "1990-07-01"), "else");
    }

    #[test]
    fn numeric_levels() {
        let mut c = comparison(CompareMethod::Numeric);
        c.tolerance = Some(0.5);
        assert_eq!(lvl(&c, "10", "10.0"), "exact");
        assert_eq!(lvl(&c, "10", "10.4"), "within 0.5");
        assert_eq!(lvl(&c, "10", "12"), "else");
    }

    #[test]
    fn missing_is_no_evidence() {
        let c = comparison(CompareMethod::Exact);
        let (l, _) = level(&c, None, &Prepared::Missing, &Prepared::Text("x".into()));
        assert_eq!(l, None);
        assert_eq!(
            Prepared::new(CompareMethod::Exact, &Value::Text("  ".into())),
            Prepared::Missing
        );
    }

    #[test]
    fn exact_agreement_is_strong_and_disagreement_mild() {
        let levels = given_levels(&comparison(CompareMethod::Exact));
        assert!(levels[0].bits() > 10.0);
        assert!(levels[1].bits() < 0.0 && levels[1].bits() > -2.0);
    }

    #[test]
    fn every_method_has_valid_default_levels() {
        use CompareMethod::*;
        for m in [
            Name,
            Exact,
            JaroWinkler,
            Levenshtein,
            DamerauLevenshtein,
            Jaccard,
            TokenSet,
            Email,
            Phone,
            Date,
            Numeric,
        ] {
            let c = comparison(m);
            let levels = given_levels(&c);
            assert_eq!(levels.len(), level_count(&c), "{m:?}");
            assert!(levels.iter().all(|l| l.m > 0.0 && l.u > 0.0), "{m:?}");
            assert!(levels.first().unwrap().bits() > 0.0);
            assert!(levels.last().unwrap().bits() < 0.0);
        }
    }

    #[test]
    fn the_same_name_counts_by_the_records_holding_the_whole_name() {
        let c = comparison(CompareMethod::Name);
        let given = given_levels(&c)[0].clone();
        let mut names = vec!["Lulo Brewery"; 2];
        // "Lulo" and "Brewery" are common words; "Lulo Brewery" itself is this pair's alone.
        names.extend(["Lulo Bistro"; 6]);
        names.extend(["Kaya Brewery"; 2]);
        // A chain: one name on ten records.
        names.extend(["Mugg Bean Ballito"; 10]);
        names.extend((0..80).map(|_| "Other Place"));
        let values: Vec<Prepared> = names
            .iter()
            .map(|s| Prepared::new(c.method, &Value::Text((*s).into())))
            .collect();
        let tf = TermFrequency::build(values.iter());
        let same = |name: usize, level: &Level, estimated: bool| {
            tf_adjustment(
                &c,
                level,
                0,
                &tf,
                (&values[name], &values[name]),
                level.bits(),
                estimated,
            )
        };
        let (pair, chain) = (0, 10);
        // Given weights: the pair keeps its full evidence, whatever its words; the chain's
        // name is weakened by the other records holding it.
        assert_eq!(same(pair, &given, false), 0.0);
        assert!(same(chain, &given, false) < -3.0);
        // Estimated u: Splink's adjustment, log2(u/f), stronger for a name rarer than u and
        // weaker for a common one.
        let estimated = Level {
            u: 0.05,
            ..given.clone()
        };
        let rare = same(pair, &estimated, true);
        assert!((rare - (0.05f64 / 0.02).log2()).abs() < 1e-9, "{rare}");
        assert!(same(chain, &estimated, true) < 0.0);
        // A rare u (long lists): a name held by two records in a hundred is no rarer.
        let tiny = Level { u: 0.0001, ..given };
        assert!(same(pair, &tiny, true) < 0.0);
        assert!(same(pair, &tiny, false) == 0.0);
    }

    #[test]
    fn common_values_count_less() {
        let c = comparison(CompareMethod::Exact);
        let level = &given_levels(&c)[0];
        let values: Vec<Prepared> = ["smith", "smith", "smith", "smith", "zyx", "abc"]
            .iter()
            .map(|s| Prepared::new(c.method, &Value::Text((*s).into())))
            .collect();
        let tf = TermFrequency::build(values.iter());
        let common = tf_adjustment(
            &c,
            level,
            0,
            &tf,
            (&values[0], &values[1]),
            level.bits(),
            false,
        );
        let rare = tf_adjustment(
            &c,
            level,
            0,
            &tf,
            (&values[4], &values[4]),
            level.bits(),
            false,
        );
        assert!(common < rare);
        // With given weights: four records hold "smith", so agreeing on it loses log2(3)
        // bits; a value only this pair holds keeps its full evidence.
        assert!((common + 3f64.log2()).abs() < 1e-9, "{common}");
        assert_eq!(rare, 0.0);
    }

    #[test]
    fn a_value_held_by_many_records_never_counts_against() {
        // A postcode or a brand's shared address held by 50,000 records: the adjustment takes
        // the agreement down to no evidence, never below.
        let c = comparison(CompareMethod::Email);
        assert!(c.term_frequency, "on by default for email");
        let level = &given_levels(&c)[0];
        let shared = Prepared::new(c.method, &Value::Text("info@brand.example".into()));
        let tf = TermFrequency::build(std::iter::repeat_n(&shared, 50_000));
        let adj = tf_adjustment(&c, level, 0, &tf, (&shared, &shared), level.bits(), false);
        assert!((level.bits() + adj).abs() < 1e-9, "{adj}");
    }

    #[test]
    fn weights_never_turn_against_the_evidence() {
        let c = comparison(CompareMethod::Exact);
        // An estimate that learnt an exact email counts against a match.
        let mut levels = vec![
            Level {
                name: "exact".into(),
                m: 0.00001,
                u: 0.0003,
            },
            Level {
                name: "else".into(),
                m: 0.99999,
                u: 0.9997,
            },
        ];
        assert!(guard_levels(&c, &mut levels));
        assert!(levels[0].bits().abs() < 1e-9);
        let j = comparison(CompareMethod::JaroWinkler);
        // A fuzzier level above a stricter one is brought down to it.
        let mut levels = vec![
            Level {
                name: "exact".into(),
                m: 0.5,
                u: 0.01,
            },
            Level {
                name: "≥ 0.92".into(),
                m: 0.3,
                u: 0.001,
            },
            Level {
                name: "≥ 0.8".into(),
                m: 0.1,
                u: 0.01,
            },
            Level {
                name: "else".into(),
                m: 0.1,
                u: 0.979,
            },
        ];
        assert!(guard_levels(&j, &mut levels));
        assert!((levels[1].bits() - levels[0].bits()).abs() < 1e-9);
        assert!(levels[2].bits() <= levels[1].bits());
        // Every method's defaults already obey the guard.
        for m in [
            CompareMethod::Name,
            CompareMethod::Phone,
            CompareMethod::Address,
            CompareMethod::Date,
        ] {
            let c = comparison(m);
            let mut levels = given_levels(&c);
            assert!(!guard_levels(&c, &mut levels), "{m:?}");
        }
    }

    #[test]
    fn probability_from_bits() {
        let s = Score::new(0.0, vec![]);
        assert!((s.probability - 0.5).abs() < 1e-12);
        assert!(Score::new(2000.0, vec![]).probability == 1.0);
        assert!(prior_bits(13, 12) < -3.0);
    }
}
