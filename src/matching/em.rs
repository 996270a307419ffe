//! Estimating m and u without labels (`weights: auto`), as Splink does: u (how often each
//! level occurs among non-matches) from a deterministic random sample of all pairs, where
//! matches are too rare to matter; then m (how often among matches) by expectation
//! maximisation, u held fixed, comparison by comparison ([`fit_blocked`]); then the share of
//! matches among the candidate pairs, m and u held fixed. Pairs are grouped by their pattern
//! of levels first, so each iteration costs the number of distinct patterns, not the number
//! of pairs.

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
    /// Whether every estimate settled before its iteration bound: one that did not is not
    /// used (see `estimate_refused` in the matching stage).
    pub converged: bool,
}

/// Iterations of [`fit_m`] before it gives up settling.
const M_ITERATIONS: usize = 200;

/// Iterations of [`fit_lambda`] before it gives up settling.
pub const LAMBDA_ITERATIONS: usize = 500;

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

/// m from the levels of pairs known to match (`k` bytes a pair): each level's share among
/// them, a missing value not counted, with `prior` pairs' worth of `m0` added to the counts
/// so a level no labelled pair shows keeps a small m rather than none.
pub fn m_from_labels(levels: &[u8], k: usize, m0: &[Vec<f64>], prior: f64) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = m0
        .iter()
        .map(|row| row.iter().map(|m| m * prior).collect())
        .collect();
    for chunk in levels.chunks_exact(k.max(1)) {
        for (c, &l) in chunk.iter().enumerate() {
            if l != MISSING {
                counts[c][l as usize] += 1.0;
            }
        }
    }
    counts
        .into_iter()
        .map(|row| {
            let total: f64 = row.iter().sum();
            row.iter()
                .map(|x| (x / total.max(FLOOR)).clamp(FLOOR, 1.0 - FLOOR))
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
            converged: true,
        };
    }
    let mut converged = false;
    for _ in 0..M_ITERATIONS {
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
            converged = true;
            break;
        }
    }
    Fit {
        m,
        lambda,
        iterations,
        converged,
    }
}

/// A comparison whose top level is at most this common among non-matches (an email, a phone
/// number, a whole name) picks out pairs that are mostly matches: it can serve as a block to
/// train the others on.
const TRAINING_BLOCK_U: f64 = 1e-3;

/// Fewer pairs than this in a training block say too little to train on.
const TRAINING_BLOCK_MIN: f64 = 10.0;

/// m estimated the way Splink trains: for each comparison whose top level is rare among
/// non-matches, expectation maximisation runs on the pairs that agree on it, that comparison
/// left out, and estimates the m of all the others. Fitting all pairs at once instead lets the
/// largest group of look-alikes win: on lists full of branches of one chain, "same name and
/// same city" becomes the match class, and a differing email counts for almost nothing.
///
/// A block is only as good as it is pure, and blocks differ: nearly every pair with the same
/// email is a match, while many with the same name are branches of one chain. So each
/// comparison takes its m from the purest blocks that estimated it (those whose share of
/// matches is within `PURITY_MARGIN` of the highest), averaged. A comparison no block
/// estimated keeps the m of one fit over all pairs, which is also the whole answer when no
/// comparison qualifies as a block. The share of matches is then fitted over all pairs with m
/// and u fixed.
pub fn fit_blocked(levels: &[u8], k: usize, u: &[Vec<f64>], m0: &[Vec<f64>]) -> Fit {
    let all = patterns(levels, k);
    // Per block: its share of matches, which comparisons it estimated, and its m.
    let mut sessions: Vec<(f64, Vec<bool>, Vec<Vec<f64>>)> = Vec::new();
    let mut iterations = 0;
    for c in 0..k {
        if u[c].len() < 2 || u[c][0] > TRAINING_BLOCK_U {
            continue;
        }
        let block: Vec<(Vec<u8>, f64)> = all
            .iter()
            .filter(|(p, _)| p[c] == 0)
            .map(|(p, n)| {
                let mut p = p.clone();
                p[c] = MISSING;
                (p, *n)
            })
            .collect();
        if block.iter().map(|(_, n)| n).sum::<f64>() < TRAINING_BLOCK_MIN {
            continue;
        }
        let fit = fit_m(&block, u, m0, 0.5);
        iterations += fit.iterations;
        // A block whose estimate did not settle teaches nothing.
        if !fit.converged {
            continue;
        }
        // A comparison missing from every pair of the block learnt nothing there.
        let estimated = (0..k)
            .map(|j| j != c && block.iter().any(|(p, _)| p[j] != MISSING))
            .collect();
        sessions.push((fit.lambda, estimated, fit.m));
    }
    let mut fallback: Option<Fit> = None;
    let mut m: Vec<Vec<f64>> = Vec::with_capacity(k);
    for c in 0..k {
        let best = sessions
            .iter()
            .filter(|s| s.1[c])
            .map(|s| s.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let chosen: Vec<&Vec<f64>> = sessions
            .iter()
            .filter(|s| s.1[c] && s.0 >= best - PURITY_MARGIN)
            .map(|s| &s.2[c])
            .collect();
        if chosen.is_empty() {
            let fit = fallback.get_or_insert_with(|| fit_m(&all, u, m0, 0.1));
            m.push(fit.m[c].clone());
        } else {
            let n = chosen.len() as f64;
            m.push(
                (0..m0[c].len())
                    .map(|l| chosen.iter().map(|row| row[l]).sum::<f64>() / n)
                    .collect(),
            );
        }
    }
    if let Some(fit) = &fallback {
        iterations += fit.iterations;
        if sessions.is_empty() {
            return fit.clone();
        }
    }
    let (lambda, n) = fit_lambda(&all, u, &m);
    Fit {
        m,
        lambda,
        iterations: iterations + n,
        converged: n < LAMBDA_ITERATIONS && fallback.is_none_or(|f| f.converged),
    }
}

/// How far below the purest block's share of matches a block may be and still count as
/// pure (see [`fit_blocked`]).
const PURITY_MARGIN: f64 = 0.05;

/// The share of matches among `patterns`, by expectation maximisation with m and u fixed,
/// and the iterations it took.
pub fn fit_lambda(patterns: &[(Vec<u8>, f64)], u: &[Vec<f64>], m: &[Vec<f64>]) -> (f64, usize) {
    let total: f64 = patterns.iter().map(|(_, n)| n).sum();
    if total == 0.0 {
        return (0.1, 0);
    }
    let bits: Vec<f64> = patterns
        .iter()
        .map(|(p, _)| {
            p.iter()
                .enumerate()
                .filter(|&(_, &l)| l != MISSING)
                .map(|(c, &l)| (m[c][l as usize] / u[c][l as usize]).log2())
                .sum()
        })
        .collect();
    let mut lambda: f64 = 0.1;
    for i in 1..LAMBDA_ITERATIONS {
        let mut matched = 0.0;
        for ((_, n), b) in patterns.iter().zip(&bits) {
            let odds = lambda / (1.0 - lambda) * b.exp2();
            matched += n * if odds.is_infinite() {
                1.0
            } else {
                odds / (1.0 + odds)
            };
        }
        let next = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        let change = (next - lambda).abs();
        lambda = next;
        if change < 1e-9 {
            return (lambda, i);
        }
    }
    (lambda, LAMBDA_ITERATIONS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn m_from_labels_counts_levels_of_known_matches() {
        // Two comparisons of two levels; the second missing in one pair.
        let levels = [0, 1, 0, MISSING, 1, 1, 0, 0];
        let m = m_from_labels(&levels, 2, &[vec![0.5, 0.5], vec![0.9, 0.1]], 2.0);
        // First: 3 of 4 at level 0, plus one pair's worth each from the prior.
        assert!((m[0][0] - 4.0 / 6.0).abs() < 1e-9, "{m:?}");
        // Second: 1 at level 0 and 2 at level 1 of 3 counted, plus 1.8 and 0.2.
        assert!((m[1][0] - 2.8 / 5.0).abs() < 1e-9, "{m:?}");
        assert!((m[1][1] - 2.2 / 5.0).abs() < 1e-9, "{m:?}");
    }

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

    /// Pairs like those of two customer lists full of chain branches: comparisons name (exact
    /// or not), email, phone and city. Matches (10%) agree on city, on name mostly, and on
    /// email and phone whenever both sides have one (often one is missing). Four pairs in ten
    /// are branches of one chain: the same name, and the same city as often as not, but never
    /// the same email or phone.
    fn chain_pairs() -> (Vec<u8>, Vec<Vec<f64>>) {
        let mut rng = SplitMix(11);
        let mut chance = |p: f64| (rng.next_u64() as f64 / u64::MAX as f64) < p;
        let mut levels = Vec::new();
        for i in 0..100_000 {
            // Agreement (0 agrees) on name, email, phone and city, and whether each of email
            // and phone is there.
            let (name, identifiers, city) = match i % 10 {
                0 => (!chance(0.85), 0, false),
                1..=5 => (true, 1, !chance(0.2)),
                _ => (!chance(0.9999), 1, !chance(0.5)),
            };
            let email = if chance(0.6) { MISSING } else { identifiers };
            let phone = if chance(0.6) { MISSING } else { identifiers };
            levels.extend([u8::from(name), email, phone, u8::from(city)]);
        }
        let u = vec![
            vec![1e-4, 1.0 - 1e-4],
            vec![1e-5, 1.0 - 1e-5],
            vec![1e-5, 1.0 - 1e-5],
            vec![0.2, 0.8],
        ];
        (levels, u)
    }

    #[test]
    fn blocked_training_keeps_a_differing_email_as_evidence_against() {
        let (levels, u) = chain_pairs();
        let m0 = vec![vec![0.6, 0.4]; 4];
        let whole = fit_m(&patterns(&levels, 4), &u, &m0, 0.1);
        let blocked = fit_blocked(&levels, 4, &u, &m0);
        // Fitted all at once, "same name and city" is the match class, and most of it
        // differs on email: a differing email hardly counts.
        assert!(whole.m[1][1] > 0.3, "whole-fit m {:?}", whole.m);
        // Among pairs with the same phone nearly all are matches: email, name and city are
        // learnt from matches there, and the same-name block, less pure, is not listened to.
        assert!(blocked.m[1][1] < 0.01, "blocked m {:?}", blocked.m);
        assert!(blocked.m[2][1] < 0.01, "blocked m {:?}", blocked.m);
        assert!(
            (blocked.m[0][0] - 0.85).abs() < 0.05,
            "blocked m {:?}",
            blocked.m
        );
        assert!(blocked.m[3][0] > 0.95, "blocked m {:?}", blocked.m);
        // Branches with no email or phone and the same city cannot be told from matches, so
        // the share of matches comes out above the true 10%, but far below the whole fit's.
        assert!(
            blocked.lambda > 0.09 && blocked.lambda < whole.lambda / 2.0,
            "lambda {} against {}",
            blocked.lambda,
            whole.lambda
        );
    }

    #[test]
    fn without_a_rare_level_to_train_on_one_fit_over_all_pairs_is_kept() {
        let (levels, _) = chain_pairs();
        // No comparison's top level is rare: nothing qualifies as a block.
        let u = vec![
            vec![0.3, 0.7],
            vec![0.2, 0.8],
            vec![0.2, 0.8],
            vec![0.2, 0.8],
        ];
        let m0 = vec![vec![0.6, 0.4]; 4];
        assert_eq!(
            fit_blocked(&levels, 4, &u, &m0),
            fit_m(&patterns(&levels, 4), &u, &m0, 0.1)
        );
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
