//! Comparisons and scoring. Each comparison puts a pair of values into a level (exact,
//! close, different, ...); each level carries Fellegi-Sunter m and u probabilities, and its
//! evidence is log2(m/u) bits, scaled by the comparison's weight. A missing value on either
//! side is neither evidence for nor against. The bits of all comparisons plus the prior give
//! the match probability that `threshold` and `review` are compared with.

use crate::spec::CompareMethod;
use crate::spec::compiled::Comparison;
use crate::value::Value;

use super::name;

/// One level of a comparison: its name and how often it occurs among true matches (m) and
/// among non-matches (u).
#[derive(Debug, Clone, Copy)]
pub struct Level {
    pub name: &'static str,
    pub m: f64,
    pub u: f64,
}

impl Level {
    pub fn bits(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

const NAME_LEVELS: &[Level] = &[
    Level {
        name: "exact",
        m: 0.65,
        u: 0.0001,
    },
    Level {
        name: "contained or near",
        m: 0.20,
        u: 0.0002,
    },
    Level {
        name: "similar",
        m: 0.08,
        u: 0.005,
    },
    Level {
        name: "different",
        m: 0.07,
        u: 0.9947,
    },
];

const EXACT_LEVELS: &[Level] = &[
    Level {
        name: "exact",
        m: 0.60,
        u: 0.0001,
    },
    Level {
        name: "different",
        m: 0.40,
        u: 0.9999,
    },
];

const JARO_WINKLER_LEVELS: &[Level] = &[
    Level {
        name: "exact",
        m: 0.70,
        u: 0.0005,
    },
    Level {
        name: "jaro-winkler >= 0.92",
        m: 0.15,
        u: 0.005,
    },
    Level {
        name: "jaro-winkler >= 0.80",
        m: 0.08,
        u: 0.02,
    },
    Level {
        name: "different",
        m: 0.07,
        u: 0.9745,
    },
];

/// A value prepared once for comparison (name tokens computed, text lower-cased).
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    Missing,
    Name {
        tokens: Vec<String>,
        canonical: String,
    },
    Text(String),
    Other(Value),
}

impl Prepared {
    pub fn new(method: CompareMethod, v: &Value) -> Prepared {
        match (method, v) {
            (_, Value::Null) => Prepared::Missing,
            (CompareMethod::Name, Value::Text(s)) => {
                let tokens = name::tokens(s);
                if tokens.is_empty() {
                    Prepared::Missing
                } else {
                    let canonical = tokens.join(" ");
                    Prepared::Name { tokens, canonical }
                }
            }
            (CompareMethod::Exact | CompareMethod::JaroWinkler, Value::Text(s)) => {
                Prepared::Text(s.to_lowercase())
            }
            (_, other) => Prepared::Other(other.clone()),
        }
    }

    /// The text blocking keys are made from.
    pub fn text(&self) -> Option<&str> {
        match self {
            Prepared::Name { canonical, .. } => Some(canonical),
            Prepared::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// The outcome of one comparison on one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Target field index.
    pub field: usize,
    pub method: CompareMethod,
    /// `None` when a value was missing.
    pub level: Option<&'static str>,
    /// Similarity in 0..=1 where the method has one.
    pub similarity: Option<f64>,
    /// Evidence in bits (log2 of the likelihood ratio), after the weight.
    pub bits: f64,
}

/// Compares two prepared values with a comparison.
pub fn compare(c: &Comparison, a: &Prepared, b: &Prepared) -> Term {
    let missing = Term {
        field: c.field,
        method: c.method,
        level: None,
        similarity: None,
        bits: 0.0,
    };
    let (level, similarity) = match (c.method, a, b) {
        (_, Prepared::Missing, _) | (_, _, Prepared::Missing) => return missing,
        (
            CompareMethod::Name,
            Prepared::Name { tokens: ta, .. },
            Prepared::Name { tokens: tb, .. },
        ) => {
            let s = name::similarity(ta, tb);
            let level = if s >= 1.0 {
                0
            } else if s >= 0.92 {
                1
            } else if s >= 0.80 {
                2
            } else {
                3
            };
            (NAME_LEVELS[level], Some(s))
        }
        (CompareMethod::JaroWinkler, Prepared::Text(x), Prepared::Text(y)) => {
            let s = name::jaro_winkler(x, y);
            let level = if x == y {
                0
            } else if s >= 0.92 {
                1
            } else if s >= 0.80 {
                2
            } else {
                3
            };
            (JARO_WINKLER_LEVELS[level], Some(s))
        }
        (_, x, y) => {
            let equal = x == y;
            (EXACT_LEVELS[usize::from(!equal)], None)
        }
    };
    Term {
        field: c.field,
        method: c.method,
        level: Some(level.name),
        similarity,
        bits: level.bits() * c.weight,
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
        let odds = total.exp2();
        let probability = if odds.is_infinite() {
            1.0
        } else {
            odds / (1.0 + odds)
        };
        Score {
            prior_bits,
            terms,
            probability,
        }
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

    fn cmp(method: CompareMethod, a: &str, b: &str) -> Term {
        let c = Comparison {
            field: 0,
            method,
            weight: 1.0,
        };
        compare(
            &c,
            &Prepared::new(method, &Value::Text(a.into())),
            &Prepared::new(method, &Value::Text(b.into())),
        )
    }

    #[test]
    fn name_levels() {
        assert_eq!(
            cmp(CompareMethod::Name, "The T Junction", "T-junction").level,
            Some("exact")
        );
        assert_eq!(
            cmp(CompareMethod::Name, "Maltos", "Maltos Sun City").level,
            Some("contained or near")
        );
        assert_eq!(
            cmp(CompareMethod::Name, "Venue", "Revue Bar").level,
            Some("different")
        );
        assert!(cmp(CompareMethod::Name, "Venue", "Revue Bar").bits < 0.0);
    }

    #[test]
    fn missing_is_no_evidence() {
        let c = Comparison {
            field: 0,
            method: CompareMethod::Exact,
            weight: 1.0,
        };
        let t = compare(&c, &Prepared::Missing, &Prepared::Text("x".into()));
        assert_eq!(t.bits, 0.0);
        assert_eq!(t.level, None);
    }

    #[test]
    fn exact_agreement_is_strong_and_disagreement_mild() {
        let agree = cmp(CompareMethod::Exact, "a@b.co", "a@b.co").bits;
        let disagree = cmp(CompareMethod::Exact, "a@b.co", "c@d.co").bits;
        assert!(agree > 10.0);
        assert!(disagree < 0.0 && disagree > -2.0);
    }

    #[test]
    fn probability_from_bits() {
        let s = Score::new(0.0, vec![]);
        assert!((s.probability - 0.5).abs() < 1e-12);
        assert!(Score::new(2000.0, vec![]).probability == 1.0);
        assert!(prior_bits(13, 12) < -3.0);
    }
}
