//! Matching: which records of different sources are the same entity.
//!
//! Sources are taken in priority order. The records of the first source each start a
//! cluster; each later source's records are scored against the clusters built so far, among
//! candidate pairs found by blocking (never all pairs). Pairs are then linked one-to-one, best
//! score first, so a cluster takes at most one record from each source and "Barchefz" and
//! "Valley (Barchefz Branch)" each keep their own variant. `same` / `distinct` overrides from
//! the spec win over scores; pairs in the review band are reported, never merged.
//! This stage is pure: plain records in, clusters out.

pub mod compare;
pub mod name;

use std::collections::{HashMap, HashSet};

use crate::normalize::Record;
use crate::spec::compiled::{MatchConfig, RecordRef};
pub use compare::{Prepared, Score, Term};

/// A record, by source and position in that source's kept records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Member {
    pub source: usize,
    pub index: usize,
}

/// A link that put a record into a cluster: the record, the member it scored best against,
/// and the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub record: Member,
    pub to: Member,
    pub score: Score,
    /// Linked because the spec says `same`, whatever the score.
    pub forced: bool,
}

/// Records found to be one entity, highest-priority source first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cluster {
    pub members: Vec<Member>,
    pub links: Vec<Link>,
}

/// A pair scored at or above the review band but not linked.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub record: Member,
    pub to: Member,
    pub score: Score,
    pub reason: String,
}

/// The matching stage's output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matches {
    pub clusters: Vec<Cluster>,
    pub review: Vec<Review>,
    /// Pairs scored (after blocking).
    pub candidate_pairs: usize,
    /// Blocking keys skipped because too many records shared them.
    pub oversized_blocks: usize,
}

/// Keys shared by more records than this are not used for blocking: such a key ("bar",
/// "restaurant") says little and would make the pair count explode.
const MAX_BLOCK: usize = 2_000;

/// A compiled matcher: the comparisons of the spec, ready to score prepared records.
pub struct Matcher<'c> {
    pub config: &'c MatchConfig,
}

impl<'c> Matcher<'c> {
    pub fn new(config: &'c MatchConfig) -> Self {
        Matcher { config }
    }

    /// Prepares a record's values once for all its comparisons.
    pub fn prepare(&self, values: &[crate::value::Value]) -> Vec<Prepared> {
        self.config
            .comparisons
            .iter()
            .map(|c| Prepared::new(c.method, &values[c.field]))
            .collect()
    }

    /// Scores two prepared records.
    pub fn score(&self, prior_bits: f64, a: &[Prepared], b: &[Prepared]) -> Score {
        let terms = self
            .config
            .comparisons
            .iter()
            .zip(a.iter().zip(b))
            .map(|(c, (x, y))| compare::compare(c, x, y))
            .collect();
        Score::new(prior_bits, terms)
    }

    /// Blocking keys of a prepared record: records that share no key are never compared.
    pub fn blocking_keys(&self, p: &[Prepared]) -> Vec<String> {
        let mut keys = Vec::new();
        for (i, (c, v)) in self.config.comparisons.iter().zip(p).enumerate() {
            match (c.method, v) {
                (_, Prepared::Missing) => {}
                (crate::spec::CompareMethod::Name, Prepared::Name { tokens, canonical }) => {
                    keys.push(format!("{i}={canonical}"));
                    for t in tokens {
                        if t.len() >= 3 || tokens.len() == 1 {
                            let prefix: String = t.chars().take(4).collect();
                            keys.push(format!("{i}^{prefix}"));
                        }
                    }
                }
                (crate::spec::CompareMethod::JaroWinkler, Prepared::Text(s)) => {
                    let prefix: String = s.chars().take(3).collect();
                    keys.push(format!("{i}^{prefix}"));
                }
                (_, Prepared::Text(s)) => keys.push(format!("{i}={s}")),
                (_, Prepared::Other(v)) => keys.push(format!("{i}={v}")),
                (_, Prepared::Name { canonical, .. }) => keys.push(format!("{i}={canonical}")),
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Candidate lookup over the records clustered so far.
#[derive(Default)]
struct BlockIndex {
    postings: HashMap<String, Vec<Member>>,
}

impl BlockIndex {
    fn add(&mut self, keys: &[String], m: Member) {
        for k in keys {
            self.postings.entry(k.clone()).or_default().push(m);
        }
    }

    fn candidates(&self, keys: &[String], oversized: &mut usize) -> Vec<Member> {
        let mut out: Vec<Member> = Vec::new();
        for k in keys {
            if let Some(list) = self.postings.get(k) {
                if list.len() > MAX_BLOCK {
                    *oversized += 1;
                    continue;
                }
                out.extend_from_slice(list);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Clusters the kept records of all sources (given in priority order).
pub fn cluster(config: &MatchConfig, sources: &[Vec<Record>]) -> Matches {
    let matcher = Matcher::new(config);
    let prepared: Vec<Vec<Vec<Prepared>>> = sources
        .iter()
        .map(|records| records.iter().map(|r| matcher.prepare(&r.values)).collect())
        .collect();
    let keys: Vec<Vec<Vec<String>>> = prepared
        .iter()
        .map(|recs| recs.iter().map(|p| matcher.blocking_keys(p)).collect())
        .collect();
    let lookup: HashMap<(usize, &str), usize> = sources
        .iter()
        .enumerate()
        .flat_map(|(s, recs)| {
            recs.iter()
                .enumerate()
                .map(move |(i, r)| ((s, r.id.as_str()), i))
        })
        .collect();
    let resolve = |r: &RecordRef| {
        lookup.get(&(r.source, r.id.as_str())).map(|&index| Member {
            source: r.source,
            index,
        })
    };
    let same: Vec<(Member, Member)> = config
        .same
        .iter()
        .filter_map(|(a, b)| Some((resolve(a)?, resolve(b)?)))
        .collect();
    let distinct: HashSet<(Member, Member)> = config
        .distinct
        .iter()
        .filter_map(|(a, b)| {
            let (a, b) = (resolve(a)?, resolve(b)?);
            Some((a.min(b), a.max(b)))
        })
        .collect();
    let is_distinct = |a: Member, b: Member| distinct.contains(&(a.min(b), a.max(b)));

    let mut out = Matches::default();
    let mut cluster_of: HashMap<Member, usize> = HashMap::new();
    let mut index = BlockIndex::default();

    for (s, records) in sources.iter().enumerate() {
        if s == 0 || out.clusters.is_empty() {
            for (i, record_keys) in keys[s].iter().enumerate() {
                let m = Member {
                    source: s,
                    index: i,
                };
                cluster_of.insert(m, out.clusters.len());
                out.clusters.push(Cluster {
                    members: vec![m],
                    links: Vec::new(),
                });
                index.add(record_keys, m);
            }
            continue;
        }
        let prior = compare::prior_bits(out.clusters.len(), records.len());
        // (forced, probability, record, cluster, best member, score)
        let mut candidates: Vec<(bool, Member, usize, Member, Score)> = Vec::new();
        for i in 0..records.len() {
            let rec = Member {
                source: s,
                index: i,
            };
            let mut best: HashMap<usize, (Member, Score)> = HashMap::new();
            let found = index.candidates(&keys[s][i], &mut out.oversized_blocks);
            out.candidate_pairs += found.len();
            for other in found {
                let score =
                    matcher.score(prior, &prepared[s][i], &prepared[other.source][other.index]);
                let c = cluster_of[&other];
                match best.get(&c) {
                    Some((_, b)) if b.probability >= score.probability => {}
                    _ => {
                        best.insert(c, (other, score));
                    }
                }
            }
            for (c, (to, score)) in best {
                candidates.push((false, rec, c, to, score));
            }
        }
        for &(a, b) in &same {
            let (rec, to) = if a.source == s && b.source < s {
                (a, b)
            } else if b.source == s && a.source < s {
                (b, a)
            } else {
                continue;
            };
            candidates.push((true, rec, cluster_of[&to], to, Score::forced(1.0)));
        }
        candidates.sort_by(|x, y| {
            y.0.cmp(&x.0)
                .then(y.4.probability.total_cmp(&x.4.probability))
                .then(x.1.cmp(&y.1))
                .then(x.3.cmp(&y.3))
        });
        let mut linked: HashSet<Member> = HashSet::new();
        let mut filled: HashSet<usize> = HashSet::new();
        let mut reviews = Vec::new();
        for (forced, rec, c, to, score) in candidates {
            let blocked = out.clusters[c].members.iter().any(|&m| is_distinct(rec, m));
            if blocked && !forced {
                continue;
            }
            let p = score.probability;
            if forced || p >= config.threshold {
                if !linked.contains(&rec) && !filled.contains(&c) {
                    linked.insert(rec);
                    filled.insert(c);
                    out.clusters[c].members.push(rec);
                    out.clusters[c].links.push(Link {
                        record: rec,
                        to,
                        score,
                        forced,
                    });
                    cluster_of.insert(rec, c);
                } else if p >= config.review {
                    reviews.push(Review {
                        record: rec,
                        to,
                        score,
                        reason: "above the threshold, but a better match was linked instead".into(),
                    });
                }
            } else if p >= config.review {
                reviews.push(Review {
                    record: rec,
                    to,
                    score,
                    reason: "in the review band, below the threshold".into(),
                });
            }
        }
        // A pair whose two records ended up in one cluster anyway needs no review.
        reviews.retain(|r| cluster_of.get(&r.record) != cluster_of.get(&r.to));
        out.review.extend(reviews);
        for (i, record_keys) in keys[s].iter().enumerate() {
            let m = Member {
                source: s,
                index: i,
            };
            if !linked.contains(&m) {
                cluster_of.insert(m, out.clusters.len());
                out.clusters.push(Cluster {
                    members: vec![m],
                    links: Vec::new(),
                });
            }
            index.add(record_keys, m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CompareMethod;
    use crate::spec::compiled::Comparison;
    use crate::value::Value;

    fn config() -> MatchConfig {
        MatchConfig {
            threshold: 0.85,
            review: 0.5,
            comparisons: vec![
                Comparison {
                    field: 0,
                    method: CompareMethod::Name,
                    weight: 1.0,
                },
                Comparison {
                    field: 1,
                    method: CompareMethod::Exact,
                    weight: 1.0,
                },
            ],
            same: vec![],
            distinct: vec![],
        }
    }

    fn rec(source: usize, id: &str, name: &str, email: &str) -> Record {
        let v = |s: &str| {
            if s.is_empty() {
                Value::Null
            } else {
                Value::Text(s.into())
            }
        };
        Record {
            source,
            id: id.into(),
            row: String::new(),
            values: vec![v(name), v(email)],
        }
    }

    fn seed() -> Vec<Vec<Record>> {
        vec![
            vec![
                rec(0, "1", "Barchefz", "orders@barchefz.co.za"),
                rec(0, "2", "Valley (Barchefz Branch)", "valley@barchefz.co.za"),
                rec(0, "3", "Maltos Sun City", "suncity@maltos.co.za"),
            ],
            vec![
                rec(1, "1", "Valley", "valley@example.com"),
                rec(1, "2", "Barchef Entertainment", "barchef@example.com"),
                rec(1, "3", "Maltos", ""),
                rec(1, "4", "Debonair Pizza", "supplies@debonair.co.za"),
            ],
        ]
    }

    fn pairs(m: &Matches) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = m
            .clusters
            .iter()
            .filter(|c| c.members.len() == 2)
            .map(|c| (c.members[0].index, c.members[1].index))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn branches_keep_their_own_variants() {
        let m = cluster(&config(), &seed());
        assert_eq!(pairs(&m), vec![(0, 1), (1, 0), (2, 2)]);
        assert_eq!(m.clusters.len(), 4);
    }

    #[test]
    fn distinct_beats_a_high_score() {
        let mut c = config();
        c.distinct.push((
            RecordRef {
                source: 0,
                id: "3".into(),
            },
            RecordRef {
                source: 1,
                id: "3".into(),
            },
        ));
        let m = cluster(&c, &seed());
        assert_eq!(pairs(&m), vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn same_links_whatever_the_score() {
        let mut c = config();
        c.same.push((
            RecordRef {
                source: 0,
                id: "3".into(),
            },
            RecordRef {
                source: 1,
                id: "4".into(),
            },
        ));
        let m = cluster(&c, &seed());
        assert!(pairs(&m).contains(&(2, 3)));
        assert!(!pairs(&m).contains(&(2, 2)));
    }

    #[test]
    fn result_does_not_depend_on_input_order() {
        let a = cluster(&config(), &seed());
        let mut s = seed();
        s[1].reverse();
        let b = cluster(&config(), &s);
        let ids = |m: &Matches, s: &Vec<Vec<Record>>| {
            let mut v: Vec<Vec<String>> = m
                .clusters
                .iter()
                .map(|c| {
                    c.members
                        .iter()
                        .map(|x| format!("{}:{}", x.source, s[x.source][x.index].id))
                        .collect()
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&a, &seed()), ids(&b, &s));
    }
}
