//! Estimating m and u without labels (`weights: auto`), as Splink does: u (how often each
//! level occurs among non-matches) from a deterministic random sample of all pairs, where
//! matches are too rare to matter; then m (how often among matches) and the share of matches
//! by expectation maximisation over the blocked pairs, u held fixed. Pairs are grouped by
//! their pattern of levels first, so each iteration costs the number of distinct patterns,
//! not the number of pairs.

use crate::collections::HashMap;

use super::compare::MISSING;

/// Probabilities are kept inside (FLOOR, 1 − FLOOR) so no level's bits become infinite.
const FLOOR: f64 = 1e-6;

/// The result of expectation maximisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// m per comparison and level.
    pub m: Vec<Vec<f64>>,
    /// Share of matches among the pairs fitted on.
    pub lambda: f64,
    pub iterations: usize,
}

/// A small deterministic generator (SplitMix64): the same data always gives the same
/// estimate.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Counts of each distinct level pattern.
pub fn patterns(levels: &[u8], k: usize) -> Vec<(Vec<u8>, f64)> {
    let mut counts: HashMap<&[u8], f64> = HashMap::default();
    for chunk in levels.chunks_exact(k.max(1)) {
        *counts.entry(chunk).or_default() += 1.0;
    }
    let mut out: Vec<(Vec<u8>, f64)> = counts.into_iter().map(|(p, n)| (p.to_vec(), n)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Level frequencies among sampled pairs: the u probabilities. Missing values are not
/// counted; a level never seen gets half a count, so its u stays small but finite.
pub fn u_from_sample(patterns: &[(Vec<u8>, f64)], level_counts: &[usize]) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = level_counts.iter().map(|&n| vec![0.0; n]).collect();
    for (p, n) in patterns {
        for (c, &l) in p.iter().enumerate() {
            if l != MISSING {
                counts[c][l as usize] += n;
            }
        }
    }
    counts
        .into_iter()
        .map(|row| {
            let smoothed: Vec<f64> = row.iter().map(|&x| x.max(0.5)).collect();
            let total: f64 = smoothed.iter().sum();
            smoothed
                .iter()
                .map(|x| (x / total).clamp(FLOOR, 1.0 - FLOOR))
                .collect()
        })
        .collect()
}

/// Expectation maximisation of m and the match share over level patterns, u fixed.
pub fn fit_m(patterns: &[(Vec<u8>, f64)], u: &[Vec<f64>], m0: &[Vec<f64>], lambda0: f64) -> Fit {
    let mut m: Vec<Vec<f64>> = m0.to_vec();
    let mut lambda = lambda0.clamp(1e-6, 0.999);
    let total: f64 = patterns.iter().map(|(_, n)| n).sum();
    let mut iterations = 0;
    if total == 0.0 {
        return Fit {
            m,
            lambda,
            iterations,
        };
    }
    for _ in 0..200 {
        iterations += 1;
        let mut m_num: Vec<Vec<f64>> = m.iter().map(|r| vec![0.0; r.len()]).collect();
        let mut matched = 0.0;
        for (p, n) in patterns {
            // log2 of the likelihood ratio of this pattern.
            let mut bits = 0.0;
            for (c, &l) in p.iter().enumerate() {
                if l != MISSING {
                    bits += (m[c][l as usize] / u[c][l as usize]).log2();
                }
            }
            let odds = lambda / (1.0 - lambda) * bits.exp2();
            let post = if odds.is_infinite() {
                1.0
            } else {
                odds / (1.0 + odds)
            };
            matched += post * n;
            for (c, &l) in p.iter().enumerate() {
                if l != MISSING {
                    m_num[c][l as usize] += post * n;
                }
            }
        }
        let new_lambda = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        let mut change = (new_lambda - lambda).abs();
        for (c, row) in m_num.iter().enumerate() {
            let sum: f64 = row.iter().sum();
            if sum <= 0.0 {
                continue;
            }
            for (l, &x) in row.iter().enumerate() {
                let v = (x / sum).clamp(FLOOR, 1.0 - FLOOR);
                change = change.max((v - m[c][l]).abs());
                m[c][l] = v;
            }
        }
        lambda = new_lambda;
        if change < 1e-7 {
            break;
        }
    }
    Fit {
        m,
        lambda,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs drawn from a known model: 10% matches; two comparisons with two levels each.
    #[test]
    fn recovers_known_m_and_share_of_matches() {
        let true_m = [[0.9, 0.1], [0.8, 0.2]];
        let true_u = [[0.05, 0.95], [0.1, 0.9]];
        let mut rng = SplitMix(7);
        let mut levels = Vec::new();
        let n = 200_000;
        for i in 0..n {
            let is_match = i % 10 == 0;
            for c in 0..2 {
                let p_agree = if is_match { true_m[c][0] } else { true_u[c][0] };
                let agree = (rng.next_u64() as f64 / u64::MAX as f64) < p_agree;
                levels.push(if agree { 0 } else { 1 });
            }
        }
        let pats = patterns(&levels, 2);
        let u: Vec<Vec<f64>> = true_u.iter().map(|r| r.to_vec()).collect();
        let fit = fit_m(&pats, &u, &[vec![0.6, 0.4], vec![0.6, 0.4]], 0.3);
        assert!((fit.lambda - 0.1).abs() < 0.02, "lambda {}", fit.lambda);
        for (c, m) in true_m.iter().enumerate() {
            assert!((fit.m[c][0] - m[0]).abs() < 0.05, "m[{c}] = {:?}", fit.m[c]);
        }
    }

    #[test]
    fn u_counts_levels_and_skips_missing() {
        let pats = vec![(vec![0, MISSING], 1.0), (vec![1, 1], 3.0)];
        let u = u_from_sample(&pats, &[2, 2]);
        assert!((u[0][0] - 0.25).abs() < 1e-9);
        assert!((u[0][1] - 0.75).abs() < 1e-9);
        // Level 0 of the second comparison never seen: small but not zero.
        assert!(u[1][0] > 0.0 && u[1][0] < 0.2);
    }

    #[test]
    fn generator_is_deterministic() {
        let a: Vec<u64> = (0..3)
            .map({
                let mut r = SplitMix(1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..3)
            .map({
                let mut r = SplitMix(1);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
    }
}
