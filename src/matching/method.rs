//! The comparison methods as data: for each method, its levels (`exact`, its fuzzy levels,
//! `else`), their default cut-offs, and their default m and u, calibrated on real lists. A
//! compiled comparison (a field, a method, its cut-offs and any m/u the spec gives) is
//! defined here, so that the spec compiler and the scorer share one description of levels.

use crate::spec::CompareMethod;

/// A comparison of one field, as compiled from the spec.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub field: usize,
    /// The field's name, for explanations.
    pub name: String,
    pub method: CompareMethod,
    pub weight: f64,
    /// Fuzzy level cut-offs, strongest first.
    pub thresholds: Vec<f64>,
    /// For dates: the "within N days" level.
    pub days: u32,
    /// For numbers: the "within tolerance" level.
    pub tolerance: Option<f64>,
    /// Term-frequency adjustment on agreeing levels.
    pub term_frequency: bool,
    /// Given m and u per level, when written in the spec.
    pub m: Option<Vec<f64>>,
    pub u: Option<Vec<f64>>,
}

impl Comparison {
    /// A comparison with the method's default levels.
    pub fn new(field: usize, name: &str, method: CompareMethod) -> Comparison {
        Comparison {
            field,
            name: name.to_string(),
            method,
            weight: 1.0,
            thresholds: default_thresholds(method),
            days: 30,
            tolerance: None,
            // A value many records share says little about identity, whatever the method
            // that finds it equal; fuzzy text measures have no single value to count.
            term_frequency: matches!(
                method,
                CompareMethod::Name
                    | CompareMethod::Exact
                    | CompareMethod::Email
                    | CompareMethod::Phone
            ),
            m: None,
            u: None,
        }
    }
}

/// One level of a comparison: its name and how often it occurs among true matches (m) and
/// among non-matches (u).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub name: String,
    pub m: f64,
    pub u: f64,
}

impl Level {
    pub fn bits(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

/// The default fuzzy cut-offs of a method.
pub fn default_thresholds(method: CompareMethod) -> Vec<f64> {
    match method {
        // A name sharing about half its weight of words with the other ("Carole Robertson
        // Center Jubilee" / "Carole Robertson Center For Learning - Ogden") is not the
        // evidence against that two unrelated names are.
        CompareMethod::Name => vec![0.92, 0.80, 0.5],
        CompareMethod::JaroWinkler => vec![0.92, 0.80],
        CompareMethod::Levenshtein | CompareMethod::DamerauLevenshtein => vec![1.0, 2.0],
        CompareMethod::Jaccard | CompareMethod::TokenSet => vec![0.7, 0.5],
        _ => Vec::new(),
    }
}

/// Whether `levels:` applies to a method.
pub fn has_fuzzy_levels(method: CompareMethod) -> bool {
    !default_thresholds(method).is_empty()
}

/// The names of a comparison's levels, in order; the last is always `else`.
pub fn level_names(c: &Comparison) -> Vec<String> {
    let mut out = vec!["exact".to_string()];
    let cut = |t: &f64| format!("{t}");
    match c.method {
        CompareMethod::Name => {
            out.extend(c.thresholds.iter().map(|t| format!("name ≥ {}", cut(t))))
        }
        CompareMethod::JaroWinkler => out.extend(
            c.thresholds
                .iter()
                .map(|t| format!("jaro-winkler ≥ {}", cut(t))),
        ),
        CompareMethod::Levenshtein | CompareMethod::DamerauLevenshtein => out.extend(
            c.thresholds
                .iter()
                .map(|t| format!("≤ {} edit{}", cut(t), if *t == 1.0 { "" } else { "s" })),
        ),
        CompareMethod::Jaccard | CompareMethod::TokenSet => {
            out.extend(c.thresholds.iter().map(|t| format!("jaccard ≥ {}", cut(t))))
        }
        CompareMethod::Email => out.push("same domain".into()),
        CompareMethod::Date => {
            out.push("one character off".into());
            out.push("day and month swapped".into());
            out.push(format!("within {} days", c.days));
        }
        CompareMethod::Numeric => {
            if let Some(t) = c.tolerance {
                out.push(format!("within {t}"));
            }
        }
        CompareMethod::Phone => out.push("same number without country or area code".into()),
        CompareMethod::Address => {
            let names = super::address::AddressLevel::NAMES;
            out.extend(names[1..names.len() - 1].iter().map(|s| s.to_string()));
        }
        CompareMethod::Exact => {}
    }
    out.push("else".into());
    out
}

/// The levels of a comparison with m and u from the spec, else the method's defaults.
pub fn given_levels(c: &Comparison) -> Vec<Level> {
    let names = level_names(c);
    let k = names.len();
    let (m, u): (Vec<f64>, Vec<f64>) = match (c.method, k) {
        // Calibrated on business names: exact canonical names are rare among non-matches,
        // containment and near-typos almost as rare. Two records of one business with
        // unrelated names are rare too (1%), so a shared phone or email alone does not merge
        // two differently named businesses.
        (CompareMethod::Name, 4) => (
            vec![0.69, 0.21, 0.09, 0.01],
            vec![0.0001, 0.0002, 0.005, 0.9947],
        ),
        // The same, with the default "half the name" level split from `else`: about as
        // common among matches as among non-matches, so it says little either way.
        (CompareMethod::Name, 5) => (
            vec![0.67, 0.20, 0.08, 0.04, 0.01],
            vec![0.0001, 0.0002, 0.005, 0.03, 0.9647],
        ),
        (CompareMethod::Exact, 2) => (vec![0.60, 0.40], vec![0.0001, 0.9999]),
        // One business often shows a different address in each list (info@ in one, orders@
        // or a person's address in another): a different email is weak evidence against.
        (CompareMethod::Email, 3) => (vec![0.55, 0.15, 0.30], vec![0.0001, 0.005, 0.9949]),
        // A switchboard or a group's head office shares one number among businesses. The
        // same number written without its country or area code is nearly as telling.
        (CompareMethod::Phone, 3) => (vec![0.50, 0.10, 0.40], vec![0.001, 0.0005, 0.9985]),
        // Two records of one place are at one address, written alike or not; another number
        // on the same street is likely another place, and so, less surely, is another
        // street (a head office, a list that gives the mailing address).
        (CompareMethod::Address, 6) => (
            vec![0.55, 0.15, 0.05, 0.05, 0.02, 0.18],
            vec![0.0005, 0.0005, 0.001, 0.005, 0.03, 0.963],
        ),
        (CompareMethod::JaroWinkler, 4) => (
            vec![0.70, 0.15, 0.08, 0.07],
            vec![0.0005, 0.005, 0.02, 0.9745],
        ),
        _ => {
            // Generic: exact is strong, each fuzzy level weaker, `else` mild evidence against.
            let fuzzy = k - 2;
            let mut m = vec![0.70];
            let mut u = vec![0.001];
            for i in 0..fuzzy {
                m.push(0.2 / fuzzy as f64);
                u.push(0.005 * (i + 1) as f64);
            }
            let (sm, su): (f64, f64) = (m.iter().sum(), u.iter().sum());
            m.push((1.0 - sm).max(0.01));
            u.push((1.0 - su).max(0.01));
            (m, u)
        }
    };
    let m = c.m.clone().unwrap_or(m);
    let u = c.u.clone().unwrap_or(u);
    names
        .into_iter()
        .zip(m.into_iter().zip(u))
        .map(|(name, (m, u))| Level { name, m, u })
        .collect()
}

/// Keeps levels in line with the evidence, whoever set them (defaults, the spec, EM):
/// agreeing (every level but `else`, and for addresses but "another number") never counts
/// against a match, and a level never counts more than the stricter one before it. Changes
/// m only; returns whether anything changed.
pub fn guard_levels(c: &Comparison, levels: &mut [Level]) -> bool {
    let n = levels.len();
    let disagreeing = |i: usize| {
        i + 1 == n
            || (c.method == CompareMethod::Address
                && i == super::address::AddressLevel::OtherNumber.index())
    };
    let mut changed = false;
    let mut ceiling = f64::INFINITY;
    for (i, level) in levels.iter_mut().enumerate() {
        let mut bits = level.bits();
        if !disagreeing(i) && bits < 0.0 {
            bits = 0.0;
        }
        bits = bits.min(ceiling);
        if (bits - level.bits()).abs() > 1e-9 {
            level.m = level.u * bits.exp2();
            changed = true;
        }
        ceiling = bits;
    }
    changed
}
