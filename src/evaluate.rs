//! Scoring a matching run against what is known to be true: pairwise precision, recall and
//! F1 of the links, the false links and the missed ones.
//!
//! Records are global indexes (all sources flattened in priority order); a clustering is the
//! cluster of each record. The truth is either the true entity of each record (a column of
//! true ids) or labelled pairs. Pairwise means: two records in one cluster are a link; a link
//! is right when the two records are the same entity. With true ids every pair of records
//! is judged; with labels only the labelled pairs are. Pure: no I/O, no matching.

use crate::collections::HashMap;

/// What is known to be true.
#[derive(Debug, Clone, PartialEq)]
pub enum Truth {
    /// The true entity of each record, `None` where it is unknown (such a record is left out
    /// of every count).
    Ids(Vec<Option<u32>>),
    /// Labelled pairs of records: `(a, b, same)`.
    Labels(Vec<(usize, usize, bool)>),
}

/// Pair counts at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Judged pairs the clustering links.
    pub links: u64,
    /// Of those, the pairs that are truly the same entity.
    pub right: u64,
    /// Judged pairs that are truly the same entity.
    pub true_pairs: u64,
}

impl Counts {
    /// Share of links that are right; 1 when nothing is linked (no link is wrong).
    pub fn precision(&self) -> f64 {
        if self.links == 0 {
            1.0
        } else {
            self.right as f64 / self.links as f64
        }
    }

    /// Share of true pairs that are linked; 1 when there is no true pair to find.
    pub fn recall(&self) -> f64 {
        if self.true_pairs == 0 {
            1.0
        } else {
            self.right as f64 / self.true_pairs as f64
        }
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Links that are wrong.
    pub fn false_links(&self) -> u64 {
        self.links - self.right
    }

    /// True pairs that are not linked.
    pub fn missed(&self) -> u64 {
        self.true_pairs - self.right
    }
}

fn pairs_of(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Pair counts of a clustering (`cluster_of[record]`). With true ids this is computed from
/// group sizes, never by listing pairs, so it is cheap on large lists.
pub fn counts(cluster_of: &[usize], truth: &Truth) -> Counts {
    match truth {
        Truth::Ids(ids) => {
            let mut per_cluster: HashMap<usize, u64> = HashMap::default();
            let mut per_truth: HashMap<u32, u64> = HashMap::default();
            let mut per_both: HashMap<(usize, u32), u64> = HashMap::default();
            for (r, id) in ids.iter().enumerate() {
                let Some(id) = *id else { continue };
                *per_cluster.entry(cluster_of[r]).or_default() += 1;
                *per_truth.entry(id).or_default() += 1;
                *per_both.entry((cluster_of[r], id)).or_default() += 1;
            }
            Counts {
                links: per_cluster.values().map(|&n| pairs_of(n)).sum(),
                right: per_both.values().map(|&n| pairs_of(n)).sum(),
                true_pairs: per_truth.values().map(|&n| pairs_of(n)).sum(),
            }
        }
        Truth::Labels(labels) => {
            let mut c = Counts::default();
            for &(a, b, same) in labels {
                let linked = cluster_of[a] == cluster_of[b];
                c.links += u64::from(linked);
                c.right += u64::from(linked && same);
                c.true_pairs += u64::from(same);
            }
            c
        }
    }
}

/// The pairs that are truly the same entity, smaller index first, sorted.
pub fn true_pairs(truth: &Truth) -> Vec<(usize, usize)> {
    let mut out = match truth {
        Truth::Ids(ids) => {
            let mut groups: HashMap<u32, Vec<usize>> = HashMap::default();
            for (r, id) in ids.iter().enumerate() {
                if let Some(id) = id {
                    groups.entry(*id).or_default().push(r);
                }
            }
            let mut out = Vec::new();
            for members in groups.values() {
                for (i, &a) in members.iter().enumerate() {
                    out.extend(members[i + 1..].iter().map(|&b| (a.min(b), a.max(b))));
                }
            }
            out
        }
        Truth::Labels(labels) => labels
            .iter()
            .filter(|l| l.2)
            .map(|&(a, b, _)| (a.min(b), a.max(b)))
            .collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Links that are wrong: judged pairs in one cluster that are not the same entity, smaller
/// index first, sorted.
pub fn false_links(cluster_of: &[usize], truth: &Truth) -> Vec<(usize, usize)> {
    let mut out = match truth {
        Truth::Ids(ids) => {
            let mut clusters: HashMap<usize, Vec<usize>> = HashMap::default();
            for (r, id) in ids.iter().enumerate() {
                if id.is_some() {
                    clusters.entry(cluster_of[r]).or_default().push(r);
                }
            }
            let mut out = Vec::new();
            for members in clusters.values() {
                for (i, &a) in members.iter().enumerate() {
                    out.extend(
                        members[i + 1..]
                            .iter()
                            .filter(|&&b| ids[a] != ids[b])
                            .map(|&b| (a.min(b), a.max(b))),
                    );
                }
            }
            out
        }
        Truth::Labels(labels) => labels
            .iter()
            .filter(|&&(a, b, same)| !same && cluster_of[a] == cluster_of[b])
            .map(|&(a, b, _)| (a.min(b), a.max(b)))
            .collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// True pairs the clustering did not link, sorted.
pub fn missed_links(cluster_of: &[usize], truth: &Truth) -> Vec<(usize, usize)> {
    true_pairs(truth)
        .into_iter()
        .filter(|&(a, b)| cluster_of[a] != cluster_of[b])
        .collect()
}

/// Turns true-id text into small numbers; empty text is unknown.
pub fn intern_ids<'a>(ids: impl IntoIterator<Item = Option<&'a str>>) -> Vec<Option<u32>> {
    let mut seen: HashMap<&'a str, u32> = HashMap::default();
    ids.into_iter()
        .map(|id| {
            let id = id.map(str::trim).filter(|s| !s.is_empty())?;
            let next = seen.len() as u32;
            Some(*seen.entry(id).or_insert(next))
        })
        .collect()
}

/// The thresholds a sweep reports: 0.1 to 0.9 by tenths, 0.95, 0.99, and the spec's own.
pub fn sweep_thresholds(spec_threshold: f64) -> Vec<f64> {
    let mut out: Vec<f64> = (1..=9).map(|i| f64::from(i) / 10.0).collect();
    out.extend([0.95, 0.99]);
    if !out.iter().any(|t| (t - spec_threshold).abs() < 1e-9) {
        out.push(spec_threshold);
    }
    out.sort_by(f64::total_cmp);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Six records. Truth: {0,1,2} one entity, {3,4} another, 5 alone.
    // Clustering: {0,1}, {2,3}, {4}, {5}.
    // Links: (0,1) right, (2,3) false. True pairs: (0,1), (0,2), (1,2), (3,4): 4.
    // Precision 1/2, recall 1/4, F1 = 2·(1/2)(1/4)/(3/4) = 1/3.
    fn fixture() -> (Vec<usize>, Truth) {
        let clusters = vec![0, 0, 1, 1, 2, 3];
        let ids = intern_ids(["a", "a", "a", "b", "b", "c"].map(Some));
        (clusters, Truth::Ids(ids))
    }

    #[test]
    fn pairwise_counts_by_hand() {
        let (clusters, truth) = fixture();
        let c = counts(&clusters, &truth);
        assert_eq!(
            c,
            Counts {
                links: 2,
                right: 1,
                true_pairs: 4
            }
        );
        assert_eq!(c.precision(), 0.5);
        assert_eq!(c.recall(), 0.25);
        assert!((c.f1() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(false_links(&clusters, &truth), vec![(2, 3)]);
        assert_eq!(
            missed_links(&clusters, &truth),
            vec![(0, 2), (1, 2), (3, 4)]
        );
        assert_eq!(c.false_links(), 1);
        assert_eq!(c.missed(), 3);
    }

    #[test]
    fn records_without_a_true_id_are_not_judged() {
        let clusters = vec![0, 0, 0];
        let truth = Truth::Ids(intern_ids([Some("a"), Some(" "), Some("a")]));
        let c = counts(&clusters, &truth);
        assert_eq!(
            c,
            Counts {
                links: 1,
                right: 1,
                true_pairs: 1
            }
        );
        assert!(false_links(&clusters, &truth).is_empty());
    }

    #[test]
    fn labels_judge_only_the_labelled_pairs() {
        let (clusters, _) = fixture();
        // (0,1) same and linked; (2,3) distinct but linked; (3,4) same, missed; (0,5)
        // distinct, apart. Unlabelled pairs, such as (0,2), count for nothing.
        let truth = Truth::Labels(vec![
            (0, 1, true),
            (3, 2, false),
            (3, 4, true),
            (0, 5, false),
        ]);
        let c = counts(&clusters, &truth);
        assert_eq!(
            c,
            Counts {
                links: 2,
                right: 1,
                true_pairs: 2
            }
        );
        assert_eq!(false_links(&clusters, &truth), vec![(2, 3)]);
        assert_eq!(missed_links(&clusters, &truth), vec![(3, 4)]);
        assert_eq!(true_pairs(&truth), vec![(0, 1), (3, 4)]);
    }

    #[test]
    fn nothing_linked_is_precise_but_finds_nothing() {
        let truth = Truth::Ids(intern_ids(["a", "a"].map(Some)));
        let c = counts(&[0, 1], &truth);
        assert_eq!((c.precision(), c.recall(), c.f1()), (1.0, 0.0, 0.0));
    }

    #[test]
    fn the_sweep_includes_the_spec_threshold() {
        let t = sweep_thresholds(0.85);
        assert!(t.contains(&0.85) && t.contains(&0.5) && t.is_sorted());
        assert_eq!(sweep_thresholds(0.9).len(), 11);
    }
}
