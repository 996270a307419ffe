//! Matching: which records are the same entity.
//!
//! 1. Every record's values are prepared once per comparison (name words, dates, ...).
//! 2. Blocking ([`blocking`]) finds candidate pairs: never all pairs.
//! 3. Each pair gets a level per comparison ([`compare`]); with `weights: auto` the m/u of
//!    each level are estimated from those levels ([`em`]).
//! 4. Each pair's score is the prior plus the bits of its levels (term frequencies included),
//!    in parallel.
//! 5. Clustering: within a source with `dedupe: true`, pairs above the threshold join groups,
//!    best first, never beyond `max_cluster` records nor joining two records whose fields
//!    count against one entity. Then sources are taken in priority order: each group of a
//!    later source joins at most one cluster built so far, and a cluster takes at most one
//!    group from each source, best pairs first, so "Barchefz" and "Valley (Barchefz Branch)"
//!    each keep their own variant; a cluster never takes a record at another house number
//!    that does not match its member there by itself. A group linked above the threshold to
//!    a second cluster bridges the two, where that keeps one group per source (but for
//!    deduplicated sources), one place, and no two members whose fields count against one
//!    entity. Pairs in the review band, and pairs refused by these rules, are reported with
//!    their reason, never merged.
//! 6. `same` / `distinct` overrides are constraints, not hints ([`overrides`]): a chain of
//!    `same` is one cluster whatever the scores, the one-to-one rule or `max_cluster`, and a
//!    `distinct` pair never shares one. What they changed, against linking without them, is
//!    reported record by record.
//!
//! This stage is pure and synchronous: plain records in, clusters out.

pub mod address;
pub mod blocking;
pub mod compare;
pub mod em;
mod link;
pub mod memory;
pub mod method;
pub mod name;
pub mod overrides;
mod partition;

use crate::collections::HashSet;
use std::borrow::Cow;
use std::time::Instant;

use rayon::prelude::*;

use crate::normalize::Record;
use crate::spec::Weights;
use crate::spec::compiled::MatchConfig;
pub use blocking::BlockStats;
pub use compare::{Level, Prepared, Score, Term, TermFrequency};
pub use overrides::{Effect, OverrideEffect};
pub use partition::Partitioned;

/// A record, by source and position in that source's kept records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Member {
    pub source: usize,
    pub index: usize,
}

/// A link that put a record into a cluster: the record, the member it scored best against,
/// and the score (with [`Evidence::Probability`], its probability alone: no terms).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub record: Member,
    pub to: Member,
    pub score: Score,
    /// Linked because the spec says `same`, whatever the score.
    pub forced: bool,
}

/// What each link's score holds: every comparison's evidence, for the views that explain
/// a link (explanations, reports, review), or its probability alone, for a plan that shows
/// none. At a million links the evidence is hundreds of MB, made and dropped unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    Terms,
    Probability,
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
    pub reason: ReviewReason,
}

/// Why a pair worth a look was not linked; each names the setting or the record that decided.
/// Worded by the views.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewReason {
    /// Scored in the review band, at or above `review` and below `threshold`.
    ReviewBand { review: f64, threshold: f64 },
    /// Above the threshold, but the group would have grown beyond `match.max_cluster`.
    MaxCluster { max: usize },
    /// Above the threshold, but the record's group linked to a better match: `linked`, at
    /// `score`, now in cluster `cluster`.
    BetterMatch {
        linked: Member,
        cluster: usize,
        score: f64,
    },
    /// Above the threshold, but two records of one source whose addresses share nothing
    /// (another house number on another street): one list keeps one row per place.
    OtherPlace,
    /// Above the threshold, but `left` in one group and `right` in the other have fields
    /// that, on balance, count against one entity (below zero bits before the prior).
    Against { left: Member, right: Member },
    /// Above the threshold, but the golden record would hold `left` and `right`, whose
    /// house numbers differ and who do not match each other above the threshold.
    TwoPlaces { left: Member, right: Member },
    /// Above the threshold, but the other record's cluster already holds `taken`, of the
    /// record's source, linked to `to`: a cluster takes one group per source.
    OneToOne { taken: Member, to: Member },
}

/// A candidate pair that was scored but whose records ended in different clusters, kept
/// when its probability is not negligible, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub a: Member,
    pub b: Member,
    pub probability: f64,
}

/// The scoring model in force: levels with their m/u per comparison, term frequencies, and
/// how the prior was set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    pub levels: Vec<Vec<Level>>,
    /// Term frequencies per comparison, where adjustment is on.
    pub tf: Vec<Option<TermFrequency>>,
    /// With `weights: auto`, the estimated prior (bits) that two records match.
    pub prior_bits: Option<f64>,
    /// With `weights: auto` or `labels`: share of matches among candidate pairs, EM
    /// iterations, and the number of random pairs u was estimated on.
    pub lambda: Option<f64>,
    pub iterations: usize,
    pub u_samples: usize,
    /// With `weights: labels`: the number of labelled `same` pairs m was trained on.
    pub labelled: usize,
    /// What was done to keep the weights from turning against the evidence: an estimate
    /// refused for the defaults, levels lifted or lowered by the monotonicity guard.
    pub notes: Vec<String>,
}

impl Model {
    /// The model without its term-frequency tables, which hold a count per distinct value
    /// (tens of megabytes at a million records): what reports show and re-estimation starts
    /// from. [`cluster_with`] moves the tables over to the matches it returns.
    pub fn without_counts(&self) -> Model {
        Model {
            levels: self.levels.clone(),
            tf: Vec::new(),
            prior_bits: self.prior_bits,
            lambda: self.lambda,
            iterations: self.iterations,
            u_samples: self.u_samples,
            labelled: self.labelled,
            notes: self.notes.clone(),
        }
    }

    /// The m/u the spec gives (or each method's defaults), without term frequencies.
    pub fn given(config: &MatchConfig) -> Model {
        let mut model = Model {
            levels: config
                .comparisons
                .iter()
                .map(compare::given_levels)
                .collect(),
            tf: vec![None; config.comparisons.len()],
            ..Model::default()
        };
        model.guard(config);
        model
    }

    /// Keeps every comparison's levels in line with the evidence (see
    /// [`compare::guard_levels`]), noting each one changed.
    pub fn guard(&mut self, config: &MatchConfig) {
        for (c, levels) in config.comparisons.iter().zip(&mut self.levels) {
            if compare::guard_levels(c, levels) {
                self.notes.push(format!(
                    "`{}`: levels adjusted so that agreeing never counts against a match and a \
                     fuzzier level never counts more than a stricter one",
                    c.name
                ));
            }
        }
    }
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
    pub blocking: BlockStats,
    pub model: Model,
    /// Pairs not linked whose probability was at least [`KEEP_REJECTED`].
    pub rejected: Vec<Rejected>,
    /// Links refused because the group would have grown beyond `max_cluster`.
    pub guard_refusals: usize,
    /// What the `same` / `distinct` overrides changed, against linking without them.
    pub overrides: Vec<OverrideEffect>,
    /// Wall time of each step, in seconds.
    pub timings: Vec<(&'static str, f64)>,
    /// Set when the records' prepared values did not fit the memory budget and matching ran
    /// in partitions (same pairs, scores and clusters).
    pub partitioned: Option<Partitioned>,
}

/// Rejected pairs below this probability are not kept for explanations.
pub const KEEP_REJECTED: f64 = 0.01;

/// Random pairs drawn to estimate u with `weights: auto`.
const U_SAMPLES: usize = 60_000;

/// A compiled matcher: the comparisons of the spec with a model, ready to score prepared
/// records.
pub struct Matcher<'c> {
    pub config: &'c MatchConfig,
    pub model: Model,
    /// Evidence per comparison and level, weight applied.
    table: Vec<Vec<f64>>,
}

impl<'c> Matcher<'c> {
    /// A matcher with the given m/u (no term frequencies).
    pub fn new(config: &'c MatchConfig) -> Self {
        Matcher::with_model(config, Model::given(config))
    }

    /// A matcher with a model, e.g. the one a clustering run estimated.
    pub fn with_model(config: &'c MatchConfig, model: Model) -> Self {
        let table = config
            .comparisons
            .iter()
            .zip(&model.levels)
            .map(|(c, levels)| levels.iter().map(|l| l.bits() * c.weight).collect())
            .collect();
        Matcher {
            config,
            model,
            table,
        }
    }

    /// Prepares a record's values once for all its comparisons.
    pub fn prepare(&self, values: &[crate::value::Value]) -> Vec<Prepared> {
        self.config
            .comparisons
            .iter()
            .map(|c| Prepared::new(c.method, &values[c.field]))
            .collect()
    }

    /// Keys derived from the comparisons: records that share no key are never compared.
    pub fn blocking_keys(&self, p: &[Prepared]) -> Vec<String> {
        blocking::comparison_keys(self.config, p)
    }

    fn tf(&self, c: usize) -> Option<&TermFrequency> {
        self.model.tf.get(c).and_then(Option::as_ref)
    }

    /// The level of every comparison for a pair, written into `out`.
    pub fn levels_into(&self, a: &[Prepared], b: &[Prepared], out: &mut [u8]) {
        for (i, c) in self.config.comparisons.iter().enumerate() {
            out[i] = compare::level(c, self.tf(i), &a[i], &b[i])
                .0
                .map_or(compare::MISSING, |l| l as u8);
        }
    }

    /// Evidence of a pair from its levels, term frequencies included (prior excluded).
    pub fn bits_of(&self, levels: &[u8], a: &[Prepared], b: &[Prepared]) -> f64 {
        // Summed comparison by comparison as [`Matcher::term`] gives them, so that a pair's
        // probability is the same to the last bit whichever way it was scored.
        let mut bits = 0.0;
        for (i, &l) in levels.iter().enumerate() {
            if l == compare::MISSING {
                continue;
            }
            let level_bits = self.table[i][l as usize];
            let tf_bits = self.tf(i).map_or(0.0, |tf| {
                let c = &self.config.comparisons[i];
                c.weight
                    * compare::tf_adjustment(
                        c,
                        &self.model.levels[i][l as usize],
                        l as usize,
                        tf,
                        (&a[i], &b[i]),
                        level_bits,
                        self.model.lambda.is_some(),
                    )
            });
            bits += level_bits + tf_bits;
        }
        bits
    }

    /// Comparison `i` of two prepared values: its level, similarity, bits (term frequency
    /// included) and the part of them due to term frequency.
    fn term(&self, i: usize, a: &Prepared, b: &Prepared) -> (Option<usize>, Option<f64>, f64, f64) {
        let c = &self.config.comparisons[i];
        let (level, similarity) = compare::level(c, self.tf(i), a, b);
        let (bits, tf_bits) = match level {
            None => (0.0, 0.0),
            Some(l) => {
                let base = self.table[i][l];
                let tf_bits = self.tf(i).map_or(0.0, |tf| {
                    c.weight
                        * compare::tf_adjustment(
                            c,
                            &self.model.levels[i][l],
                            l,
                            tf,
                            (a, b),
                            base,
                            self.model.lambda.is_some(),
                        )
                });
                (base + tf_bits, tf_bits)
            }
        };
        (level, similarity, bits, tf_bits)
    }

    /// Scores two prepared records, with the contribution of every comparison.
    pub fn score(&self, prior_bits: f64, a: &[Prepared], b: &[Prepared]) -> Score {
        let terms = self
            .config
            .comparisons
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (level, similarity, bits, tf_bits) = self.term(i, &a[i], &b[i]);
                Term {
                    comparison: i,
                    field: c.field,
                    method: c.method,
                    level,
                    label: level.map_or_else(
                        || "missing".to_string(),
                        |l| self.model.levels[i][l].name.clone(),
                    ),
                    similarity,
                    bits,
                    tf_bits,
                }
            })
            .collect();
        Score::new(prior_bits, terms)
    }

    /// The probability [`Matcher::score`] gives two prepared records, to the last bit,
    /// without the terms.
    pub fn probability(&self, prior_bits: f64, a: &[Prepared], b: &[Prepared]) -> f64 {
        compare::probability(prior_bits + self.evidence(a, b))
    }

    /// What two prepared records' fields say, in bits, before the prior: above zero they
    /// count for one entity, below zero for two.
    pub fn evidence(&self, a: &[Prepared], b: &[Prepared]) -> f64 {
        (0..self.config.comparisons.len())
            .map(|i| self.term(i, &a[i], &b[i]).2)
            .sum()
    }

    /// The prior for a pair of records of these sources (sizes given).
    pub fn prior_for(&self, left: usize, right: usize) -> f64 {
        self.model
            .prior_bits
            .unwrap_or_else(|| compare::prior_bits(left, right))
    }
}

/// Disjoint sets with sizes, for within-source groups.
struct Groups {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl Groups {
    fn new(n: usize) -> Groups {
        Groups {
            parent: (0..n).collect(),
            members: (0..n).map(|i| vec![i]).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        let (big, small) = if self.members[ra].len() >= self.members[rb].len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let moved = std::mem::take(&mut self.members[small]);
        self.members[big].extend(moved);
        self.parent[small] = big;
        big
    }
}

/// Every record's prepared values in one vector, one comparison after another for each
/// record: one allocation for all, where a vector per record would add its own header and
/// allocation to each of millions of records. `table[g]` is record `g`'s values.
#[derive(Debug, Default)]
pub struct PreparedTable {
    /// Comparisons per record.
    k: usize,
    values: Vec<Prepared>,
}

impl PreparedTable {
    /// Prepares every record's values for each comparison of `matcher`, on every core.
    pub fn new(matcher: &Matcher<'_>, records: &[&Record]) -> PreparedTable {
        let comparisons = &matcher.config.comparisons;
        let k = comparisons.len();
        let mut values = vec![Prepared::Missing; records.len() * k];
        if k > 0 {
            values
                .par_chunks_mut(k)
                .zip(records.par_iter())
                .for_each(|(out, r)| {
                    for (slot, c) in out.iter_mut().zip(comparisons) {
                        *slot = Prepared::new(c.method, &r.values[c.field]);
                    }
                });
        }
        PreparedTable { k, values }
    }

    /// Works out once, for every record, the weights of its name words under comparison
    /// `i`'s term frequencies, so that comparing a pair looks none of them up.
    pub fn weigh_names(&mut self, i: usize, tf: &TermFrequency) {
        if self.k == 0 || tf.total == 0 {
            return;
        }
        self.values.par_chunks_mut(self.k).for_each(|record| {
            if let Prepared::Name {
                tokens, weights, ..
            } = &mut record[i]
            {
                *weights = tokens.iter().map(|t| tf.word_weight(t)).collect();
            }
        });
    }

    /// Comparison `i`'s prepared value of every record, in record order.
    pub fn column(&self, i: usize) -> impl Iterator<Item = &Prepared> {
        self.values.iter().skip(i).step_by(self.k.max(1))
    }
}

impl std::ops::Index<usize> for PreparedTable {
    type Output = [Prepared];

    fn index(&self, g: usize) -> &[Prepared] {
        &self.values[g * self.k..(g + 1) * self.k]
    }
}

/// Candidate pairs scored under the model in force: everything clustering needs, kept so
/// that linking can run again at other thresholds (the sweep of `reconcile evaluate`) and any
/// pair can be scored with its evidence.
pub struct Scored<'c> {
    pub matcher: Matcher<'c>,
    pub flat: blocking::Flat,
    /// The records, by global index.
    pub records: Vec<&'c Record>,
    /// Every record's values prepared for each comparison, by global index, when they fit
    /// the memory budget; prepared again when asked for otherwise.
    pub prepared: Option<PreparedTable>,
    /// How matching was partitioned, when it was.
    pub partitioned: Option<Partitioned>,
    /// Candidate pairs (global indexes, smaller first) and their match probabilities.
    pub pairs: Vec<(u32, u32)>,
    pub probability: Vec<f64>,
    pub block_stats: BlockStats,
    pub timings: Vec<(&'static str, f64)>,
}

impl Scored<'_> {
    /// A record's values prepared for each comparison (global index).
    pub fn prepared(&self, g: usize) -> Cow<'_, [Prepared]> {
        match &self.prepared {
            Some(all) => Cow::Borrowed(&all[g]),
            None => Cow::Owned(self.matcher.prepare(&self.records[g].values)),
        }
    }

    /// The prior of a pair of records (global indexes), by the sizes of their sources.
    fn prior(&self, a: usize, b: usize) -> f64 {
        let size = |g: usize| {
            let s = self.flat.source_of[g];
            self.flat.offsets[s + 1] - self.flat.offsets[s]
        };
        self.matcher.prior_for(size(a), size(b))
    }

    /// The score of any two records (global indexes), with every comparison's evidence.
    pub fn score(&self, a: usize, b: usize) -> Score {
        self.matcher
            .score(self.prior(a, b), &self.prepared(a), &self.prepared(b))
    }

    /// The probability of any two records (global indexes): the one scoring gave, when they
    /// are a candidate pair, else computed as [`Matcher::probability`] does.
    fn probability(&self, a: usize, b: usize) -> f64 {
        let key = (a.min(b) as u32, a.max(b) as u32);
        match self.pairs.binary_search(&key) {
            Ok(i) => self.probability[i],
            Err(_) => {
                self.matcher
                    .probability(self.prior(a, b), &self.prepared(a), &self.prepared(b))
            }
        }
    }

    /// What the fields of any two records (global indexes) say, in bits, before the prior.
    fn evidence(&self, a: usize, b: usize) -> f64 {
        self.matcher.evidence(&self.prepared(a), &self.prepared(b))
    }

    /// Clusters at the spec's threshold, every link with its evidence.
    pub fn link(&self, sources: &[Vec<Record>]) -> Matches {
        self.link_at(sources, self.matcher.config.threshold, Evidence::Terms)
    }

    /// Clusters as if the spec's threshold were `threshold` (the review band is kept below
    /// it).
    pub fn link_at(&self, sources: &[Vec<Record>], threshold: f64, evidence: Evidence) -> Matches {
        let mut config = self.matcher.config.clone();
        config.threshold = threshold;
        config.review = config.review.min(threshold);
        let records: Vec<&Record> = sources.iter().flatten().collect();
        let mut out = link(&config, self, &records, evidence);
        out.candidate_pairs = self.block_stats.candidate_pairs;
        out.oversized_blocks = self.block_stats.oversized.len();
        out.blocking = self.block_stats.clone();
        out.model = self.matcher.model.without_counts();
        out.timings = self.timings.clone();
        out.partitioned = self.partitioned.clone();
        out
    }
}

/// Clusters the kept records of all sources (given in priority order), every link with its
/// evidence.
#[cfg(test)]
pub fn cluster(config: &MatchConfig, sources: &[Vec<Record>]) -> Matches {
    cluster_with(config, sources, Evidence::Terms).expect("matching in memory")
}

/// Clusters the kept records of all sources (given in priority order), each link's score
/// holding what `evidence` says. Fails only when matching spills to disk and cannot.
pub fn cluster_with(
    config: &MatchConfig,
    sources: &[Vec<Record>],
    evidence: Evidence,
) -> crate::error::Result<Matches> {
    let mut scored = score_pairs(config, sources)?;
    let clock = Instant::now();
    let stage = crate::progress::stage("match: cluster");
    let mut out = scored.link_at(sources, config.threshold, evidence);
    // The plan scores rows against golden records with this model (adoption by match), term
    // frequencies included: they move over from the matcher, which is done with them.
    out.model.tf = std::mem::take(&mut scored.matcher.model.tf);
    drop(stage);
    scored
        .timings
        .push(("cluster", clock.elapsed().as_secs_f64()));
    out.timings = scored.timings;
    Ok(out)
}

/// Prepares, blocks, compares, estimates the model (with `weights: auto`) and scores every
/// candidate pair: in memory when every record's prepared values fit the budget
/// (`match.memory`), in partitions spilled to disk otherwise (see `matching::partition`), with the same
/// result.
pub fn score_pairs<'c>(
    config: &'c MatchConfig,
    sources: &'c [Vec<Record>],
) -> crate::error::Result<Scored<'c>> {
    let budget = memory::budget(config.memory);
    let records: Vec<&Record> = sources.iter().flatten().collect();
    let per_record = partition::per_record(config, &records);
    let estimate = per_record.saturating_mul(records.len() as u64);
    if estimate > budget {
        return partition::score_pairs(config, sources, records, budget, per_record);
    }
    Ok(score_in_memory(config, sources, records))
}

/// [`score_pairs`] with every record's prepared values held at once.
fn score_in_memory<'c>(
    config: &'c MatchConfig,
    sources: &'c [Vec<Record>],
    records: Vec<&'c Record>,
) -> Scored<'c> {
    let mut timings: Vec<(&'static str, f64)> = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        timings.push((name, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let flat = blocking::Flat::new(sources);
    let n = records.len();
    let k = config.comparisons.len();

    // 1. Prepare.
    let stage = crate::progress::stage("match: prepare");
    let given = Matcher::new(config);
    let mut prepared = PreparedTable::new(&given, &records);
    let tf: Vec<Option<TermFrequency>> = config
        .comparisons
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.term_frequency
                .then(|| TermFrequency::build(prepared.column(i)))
        })
        .collect();
    for (i, tf) in tf.iter().enumerate() {
        if let Some(tf) = tf
            && config.comparisons[i].method == crate::spec::CompareMethod::Name
        {
            prepared.weigh_names(i, tf);
        }
    }
    lap("prepare", &mut timings);

    // 2. Block.
    drop(stage);
    let stage = crate::progress::stage("match: block");
    let rules: Vec<blocking::RuleKeys<'_>> = if config.blocking.is_empty() {
        let prepared = &prepared;
        vec![
            blocking::RuleKeys::build("keys from the comparisons".to_string(), n, move |g| {
                blocking::comparison_keys(config, &prepared[g])
            })
            .whole_values_narrow(),
        ]
    } else {
        config
            .blocking
            .iter()
            .map(|rule| {
                let records = &records;
                blocking::RuleKeys::build(rule.name.clone(), n, move |g| {
                    blocking::rule_keys(config, rule, &records[g].values)
                })
            })
            .collect()
    };
    let (pairs, block_stats) = if k == 0 {
        drop(rules);
        (Vec::new(), BlockStats::default())
    } else {
        let prepared = &prepared;
        blocking::candidate_pairs(config, &flat, rules, &|g| {
            blocking::narrowing_keys(&prepared[g])
        })
    };
    lap("block", &mut timings);

    // 3. Levels of every candidate pair.
    drop(stage);
    let stage = crate::progress::counted("match: compare", pairs.len() as u64, "pairs");
    let mut with_tf = Model::given(config);
    with_tf.tf = tf;
    let mut base = Matcher::with_model(config, with_tf);
    let levels = compare_all(&base, &prepared, &pairs, k, &stage);
    lap("compare", &mut timings);

    // 4. The model: given, or estimated.
    drop(stage);
    let stage = crate::progress::stage("match: estimate");
    let allowed_pairs = allowed_pair_count(config, sources);
    let mut model = base.model.without_counts();
    if config.weights != Weights::Given && k > 0 && n > 1 {
        let data = Data {
            allowed: allowed_pairs,
            flat: &flat,
            records: &records,
            prepared: &|g| Cow::Borrowed(&prepared[g]),
        };
        estimate(config, &base, &data, &levels, pairs.len(), &mut model);
        lap("estimate", &mut timings);
    }
    model.tf = std::mem::take(&mut base.model.tf);
    drop(base);
    let matcher = Matcher::with_model(config, model);

    // 5. Score.
    drop(stage);
    let stage = crate::progress::counted("match: score", pairs.len() as u64, "pairs");
    let sizes: Vec<usize> = sources.iter().map(Vec::len).collect();
    let probability: Vec<f64> = pairs
        .par_iter()
        .enumerate()
        .map_init(
            || stage.ticker(),
            |ticker, (p, &(a, b))| {
                ticker.tick();
                let (a, b) = (a as usize, b as usize);
                let prior = matcher.prior_for(sizes[flat.source_of[a]], sizes[flat.source_of[b]]);
                let bits = matcher.bits_of(&levels[p * k..(p + 1) * k], &prepared[a], &prepared[b]);
                compare::probability(prior + bits)
            },
        )
        .collect();
    drop(levels);
    lap("score", &mut timings);
    drop(stage);
    Scored {
        matcher,
        flat,
        records,
        prepared: Some(prepared),
        partitioned: None,
        pairs,
        probability,
        block_stats,
        timings,
    }
}

/// What the estimate reads of the records: how many pairs could be compared, their places,
/// the records and their prepared values.
struct Data<'a> {
    /// Pairs that could be compared at all ([`allowed_pair_count`]).
    allowed: usize,
    flat: &'a blocking::Flat,
    records: &'a [&'a Record],
    /// A record's prepared values, by global index.
    prepared: &'a PreparedOf<'a>,
}

/// A record's prepared values by global index: borrowed when all are held, made when not.
type PreparedOf<'a> = dyn Fn(usize) -> Cow<'a, [Prepared]> + Sync + 'a;

/// Replaces `model`'s m and u (and sets its prior) with those estimated from the data
/// (`weights: auto`) or trained on the labelled pairs (`weights: labels`), from the levels of
/// the `candidates` candidate pairs; keeps the defaults, with a note, when the estimate
/// cannot be trusted.
fn estimate(
    config: &MatchConfig,
    base: &Matcher<'_>,
    data: &Data<'_>,
    levels: &[u8],
    candidates: usize,
    model: &mut Model,
) {
    let k = config.comparisons.len();
    let allowed = data.allowed;
    let sample = sample_levels(config, base, data.flat, data.prepared, allowed);
    model.u_samples = sample.len() / k;
    let level_counts: Vec<usize> = model.levels.iter().map(Vec::len).collect();
    let u = em::u_from_sample(&em::patterns(&sample, k), &level_counts);
    let m0: Vec<Vec<f64>> = model
        .levels
        .iter()
        .map(|ls| ls.iter().map(|l| l.m).collect())
        .collect();
    let fit = if config.weights == Weights::Labels {
        let labelled = labelled_levels(config, base, data.flat, data.records, data.prepared);
        model.labelled = labelled.len() / k;
        labels_fit(&labelled, levels, k, &u, &m0)
    } else {
        let fit = em::fit_blocked(levels, k, &u, &m0);
        estimate_refused(&fit, candidates, k).map_or(Ok(fit), Err)
    };
    match fit {
        Err(reason) => model.notes.push(format!(
            "weights: {} fell back to each method's defaults: {reason}",
            if config.weights == Weights::Labels {
                "labels"
            } else {
                "auto"
            }
        )),
        Ok(fit) => {
            for (c, ls) in model.levels.iter_mut().enumerate() {
                for (l, level) in ls.iter_mut().enumerate() {
                    level.m = fit.m[c][l];
                    level.u = u[c][l];
                }
            }
            model.notes.clear();
            model.guard(config);
            let expected = (fit.lambda * candidates as f64).max(1.0);
            let p = (expected / allowed.max(1) as f64).clamp(1e-12, 0.5);
            model.prior_bits = Some((p / (1.0 - p)).log2());
            model.lambda = Some(fit.lambda);
            model.iterations = fit.iterations;
        }
    }
}

/// The level of every comparison of every candidate pair: `k` bytes a pair, in pair order.
fn compare_all(
    base: &Matcher<'_>,
    prepared: &PreparedTable,
    pairs: &[(u32, u32)],
    k: usize,
    stage: &crate::progress::Stage,
) -> Vec<u8> {
    let mut levels = vec![0u8; pairs.len() * k];
    if k > 0 {
        levels
            .par_chunks_mut(k)
            .zip(pairs.par_iter())
            .for_each_init(
                || stage.ticker(),
                |ticker, (out, &(a, b))| {
                    ticker.tick();
                    base.levels_into(&prepared[a as usize], &prepared[b as usize], out)
                },
            );
    }
    levels
}

/// Fewer labelled `same` pairs than this are too few to train weights on.
const LABELS_MIN_SAME: usize = 10;

/// How many pairs' worth of each method's default m a trained m starts from: with few
/// labelled pairs the defaults still count, with many the labels decide.
const LABELS_PRIOR_PAIRS: f64 = 4.0;

/// The levels of every labelled `same` pair whose two records are both in the data: `k`
/// bytes a pair.
fn labelled_levels(
    config: &MatchConfig,
    matcher: &Matcher<'_>,
    flat: &blocking::Flat,
    records: &[&Record],
    prepared: &PreparedOf<'_>,
) -> Vec<u8> {
    let lookup: crate::collections::HashMap<(usize, &str), usize> = (0..records.len())
        .map(|g| ((flat.source_of[g], records[g].id.as_str()), g))
        .collect();
    let k = config.comparisons.len();
    let mut out = Vec::new();
    for o in &config.same {
        let a = lookup.get(&(o.a.source, o.a.id.as_str()));
        let b = lookup.get(&(o.b.source, o.b.id.as_str()));
        if let (Some(&a), Some(&b)) = (a, b)
            && a != b
        {
            let at = out.len();
            out.resize(at + k, 0);
            matcher.levels_into(&prepared(a), &prepared(b), &mut out[at..]);
        }
    }
    out
}

/// m trained on labelled `same` pairs (each level's share among them, a missing value not
/// counted, starting from [`LABELS_PRIOR_PAIRS`] pairs' worth of `m0`), and the share of
/// matches among the candidate pairs with that m and `u`; or why it cannot be.
fn labels_fit(
    labelled: &[u8],
    candidates: &[u8],
    k: usize,
    u: &[Vec<f64>],
    m0: &[Vec<f64>],
) -> std::result::Result<em::Fit, String> {
    let pairs = labelled.len() / k.max(1);
    if pairs < LABELS_MIN_SAME {
        return Err(format!(
            "{pairs} labelled `same` pairs are too few to train on (at least {LABELS_MIN_SAME} \
             needed; `reconcile review` labels pairs)"
        ));
    }
    let m = em::m_from_labels(labelled, k, m0, LABELS_PRIOR_PAIRS);
    let (lambda, iterations) = em::fit_lambda(&em::patterns(candidates, k), u, &m);
    let fit = em::Fit {
        m,
        lambda,
        iterations,
        converged: iterations < em::LAMBDA_ITERATIONS,
    };
    // Every candidate pair may be a match when blocking is tight: with m from the labels, a
    // share near 1 is no sign of a runaway fit, so only a fit that did not settle is refused.
    if !fit.converged || !fit.lambda.is_finite() {
        return Err(format!(
            "the share of matches did not settle within {} iterations",
            fit.iterations
        ));
    }
    Ok(fit)
}

/// Fewer candidate pairs per comparison than this are too few to estimate weights from.
const EM_MIN_PAIRS_PER_COMPARISON: usize = 20;

/// Why an estimate must not be used, if it must not: too few pairs to learn from, a share of
/// matches that says nearly nothing or nearly everything matches (a fit that ran away), or a
/// value that is not a number.
fn estimate_refused(fit: &em::Fit, pairs: usize, k: usize) -> Option<String> {
    if pairs < EM_MIN_PAIRS_PER_COMPARISON * k {
        return Some(format!(
            "{pairs} candidate pairs are too few to estimate {k} comparisons from (at least {} needed)",
            EM_MIN_PAIRS_PER_COMPARISON * k
        ));
    }
    if !fit.lambda.is_finite() || fit.m.iter().flatten().any(|m| !m.is_finite()) {
        return Some("the estimate did not converge to numbers".into());
    }
    if !fit.converged {
        return Some(format!(
            "the estimate did not settle within its iteration bound ({} iterations)",
            fit.iterations
        ));
    }
    if !(1e-6..=0.95).contains(&fit.lambda) {
        return Some(format!(
            "the estimate ended with {:.6}% of candidate pairs as matches, which means it \
             found no separation between matches and the rest",
            fit.lambda * 100.0
        ));
    }
    None
}

/// Pairs that could be compared at all: across sources, and within deduped ones.
fn allowed_pair_count(config: &MatchConfig, sources: &[Vec<Record>]) -> usize {
    let mut total = 0usize;
    for (i, a) in sources.iter().enumerate() {
        if config.dedupes(i) {
            total += a.len() * a.len().saturating_sub(1) / 2;
        }
        for b in &sources[i + 1..] {
            total += a.len() * b.len();
        }
    }
    total
}

/// Levels of random allowed pairs (all of them when there are few), for estimating u.
fn sample_levels(
    config: &MatchConfig,
    matcher: &Matcher<'_>,
    flat: &blocking::Flat,
    prepared: &PreparedOf<'_>,
    allowed: usize,
) -> Vec<u8> {
    let k = config.comparisons.len();
    let n = flat.len();
    let allowed_pair = |a: usize, b: usize| {
        a != b && (flat.source_of[a] != flat.source_of[b] || config.dedupes(flat.source_of[a]))
    };
    let pairs: Vec<(usize, usize)> = if allowed <= U_SAMPLES {
        (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .filter(|&(a, b)| allowed_pair(a, b))
            .collect()
    } else {
        let mut rng = em::SplitMix(0x005E_ED0F_F5EC);
        let mut out = Vec::with_capacity(U_SAMPLES);
        let mut tries = 0;
        while out.len() < U_SAMPLES && tries < U_SAMPLES * 20 {
            tries += 1;
            let (a, b) = (rng.below(n), rng.below(n));
            if allowed_pair(a, b) {
                out.push((a, b));
            }
        }
        out
    };
    let mut levels = vec![0u8; pairs.len() * k];
    levels
        .par_chunks_mut(k)
        .zip(pairs.par_iter())
        .for_each(|(out, &(a, b))| matcher.levels_into(&prepared(a), &prepared(b), out));
    levels
}

/// A cluster being built: its records, and its links as (record, to, forced by the spec).
type Building = (Vec<usize>, Vec<(usize, usize, bool)>);

/// What linking reads, the same for the run with overrides and the one without.
struct Ctx<'a> {
    config: &'a MatchConfig,
    flat: &'a blocking::Flat,
    pairs: &'a [(u32, u32)],
    probability: &'a [f64],
    /// Every record's place in (source, id) order, which breaks every tie.
    rank: &'a [usize],
    /// Whether two records (global indexes) are at different places by an `address`
    /// comparison: two house numbers, and streets not even similar.
    other_place: &'a (dyn Fn(usize, usize) -> bool + Sync),
    /// Whether two records have house numbers that differ, by an `address` comparison.
    other_number: &'a (dyn Fn(usize, usize) -> bool + Sync),
    /// Whether two records' fields, on balance, count against one entity (below zero bits
    /// before the prior), candidates or not.
    against: &'a (dyn Fn(usize, usize) -> bool + Sync),
    /// The match probability of any two records, candidates or not.
    probability_of: &'a (dyn Fn(usize, usize) -> f64 + Sync),
}

/// Clusters as record indexes, as linking leaves them; they become members and scored links
/// at the end, on every core.
struct Linked {
    built: Vec<Building>,
    /// Every record's cluster, by index into `built`.
    cluster_of: Vec<usize>,
    /// Pairs left apart, as (record, to, why).
    reviews: Vec<(usize, usize, ReviewReason)>,
    guard_refusals: usize,
    /// Per `distinct` rule: whether it kept a link from being made or split a cluster.
    kept_apart: Vec<bool>,
}

/// Turns scored pairs into clusters (see the module documentation).
fn link(
    config: &MatchConfig,
    scored: &Scored<'_>,
    records: &[&Record],
    evidence: Evidence,
) -> Matches {
    let Scored {
        flat,
        pairs,
        probability,
        ..
    } = scored;
    let n = records.len();
    // Ties are broken by (source, id), never by input position.
    let mut order: Vec<usize> = (0..n).collect();
    order.par_sort_by(|&a, &b| {
        (flat.source_of[a], records[a].id.as_str())
            .cmp(&(flat.source_of[b], records[b].id.as_str()))
    });
    let mut rank = vec![0usize; n];
    for (r, &g) in order.iter().enumerate() {
        rank[g] = r;
    }
    let places: Vec<usize> = config
        .comparisons
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            config.one_row_per_place && c.method == crate::spec::CompareMethod::Address
        })
        .map(|(i, _)| i)
        .collect();
    // Two addresses that share nothing: each with its house number, the numbers differ and
    // the streets are not even similar. One that differs in the number alone, or in the
    // street alone, may be a typo; one without its number says too little.
    let other_place = |a: usize, b: usize| {
        use address::AddressLevel;
        if places.is_empty() {
            return false;
        }
        let (pa, pb) = (scored.prepared(a), scored.prepared(b));
        places.iter().any(|&i| match (&pa[i], &pb[i]) {
            (Prepared::Address(x), Prepared::Address(y)) => {
                let (x, y) = (&x.address, &y.address);
                let other = match (&x.number, &y.number) {
                    (Some(m), Some(n)) => !address::same_number(m, n),
                    _ => false,
                };
                other && {
                    let (level, street) = address::compare(x, y);
                    level == AddressLevel::Else && street < 0.8
                }
            }
            _ => false,
        })
    };
    // Two addresses with house numbers that differ by more than a typo, on whatever street:
    // not one address.
    let addresses: Vec<usize> = (config.comparisons.iter().enumerate())
        .filter(|(_, c)| c.method == crate::spec::CompareMethod::Address)
        .map(|(i, _)| i)
        .collect();
    let other_number = |a: usize, b: usize| {
        if addresses.is_empty() {
            return false;
        }
        let (pa, pb) = (scored.prepared(a), scored.prepared(b));
        addresses.iter().any(|&i| match (&pa[i], &pb[i]) {
            (Prepared::Address(x), Prepared::Address(y)) => {
                match (&x.address.number, &y.address.number) {
                    (Some(m), Some(n)) => address::other_number(m, n),
                    _ => false,
                }
            }
            _ => false,
        })
    };
    let ctx = Ctx {
        config,
        flat,
        pairs,
        probability,
        rank: &rank,
        other_place: &other_place,
        other_number: &other_number,
        against: &|a, b| scored.evidence(a, b) < 0.0,
        probability_of: &|a, b| scored.probability(a, b),
    };
    let rules = overrides::Rules::resolve(config, flat, records, &rank);
    let mut linked = link::link_scores(&ctx, &rules);
    // With overrides, they are made to hold, and the linking is run again without them
    // (scores reused) to tell what each one changed.
    let baseline = (!rules.is_empty()).then(|| {
        overrides::enforce(&ctx, &rules, &mut linked);
        link::link_scores(&ctx, &overrides::Rules::default())
    });

    let score_of = |a: usize, b: usize| scored.score(a, b);
    // The link that put `rec` into a cluster through `to`, scored unless the spec forced it.
    let link_of = |rec: usize, to: usize, forced: bool| Link {
        record: flat.member(rec),
        to: flat.member(to),
        score: if forced {
            Score::forced(1.0)
        } else if evidence == Evidence::Probability {
            Score {
                prior_bits: scored.prior(rec, to),
                terms: Vec::new(),
                probability: scored.probability(rec, to),
            }
        } else {
            score_of(rec, to)
        },
        forced,
    };
    let cluster_of = &linked.cluster_of;
    let mut out = Matches {
        guard_refusals: linked.guard_refusals,
        ..Matches::default()
    };
    out.clusters = std::mem::take(&mut linked.built)
        .into_par_iter()
        .map(|(members, links)| Cluster {
            members: members.iter().map(|&g| flat.member(g)).collect(),
            links: links
                .into_iter()
                .map(|(rec, to, forced)| link_of(rec, to, forced))
                .collect(),
        })
        .collect();

    // A pair whose two records ended up in one cluster anyway needs no review.
    let mut seen = HashSet::default();
    for (x, y, reason) in std::mem::take(&mut linked.reviews) {
        if cluster_of[x] == cluster_of[y] || !seen.insert((x.min(y), x.max(y))) {
            continue;
        }
        let score = score_of(x, y);
        if score.probability < config.review {
            continue;
        }
        out.review.push(Review {
            record: flat.member(x),
            to: flat.member(y),
            score,
            reason: match reason {
                ReviewReason::BetterMatch { linked, score, .. } => ReviewReason::BetterMatch {
                    linked,
                    cluster: cluster_of[flat.global(linked)],
                    score,
                },
                other => other,
            },
        });
    }
    out.rejected = pairs
        .iter()
        .zip(probability)
        .filter(|((a, b), p)| {
            **p >= KEEP_REJECTED && cluster_of[*a as usize] != cluster_of[*b as usize]
        })
        .map(|(&(a, b), &p)| Rejected {
            a: flat.member(a as usize),
            b: flat.member(b as usize),
            probability: p,
        })
        .collect();
    if let Some(baseline) = baseline {
        out.overrides = overrides::effects(&ctx, &rules, &baseline, &linked, &out.clusters);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CompareMethod;
    use crate::spec::compiled::{Comparison, Origin, Override, RecordRef};
    use crate::value::Value;

    fn config() -> MatchConfig {
        MatchConfig::new(vec![
            Comparison::new(0, "name", CompareMethod::Name),
            Comparison::new(1, "email", CompareMethod::Exact),
        ])
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
    fn one_list_at_two_addresses_is_two_places() {
        let mut c = MatchConfig::new(vec![
            Comparison::new(0, "name", CompareMethod::Name),
            Comparison::new(1, "address", CompareMethod::Address),
        ]);
        c.dedupe = vec![true];
        let list = |second: &str| {
            vec![vec![
                rec(0, "1", "Disney Magnet", "3815 N. Kedvale Ave"),
                rec(0, "2", "Disney Magnet", second),
            ]]
        };
        let linked = |c: &MatchConfig, second: &str| {
            let m = cluster(c, &list(second));
            (m.clusters.len() == 1, m.review)
        };
        // The same place written another way is one place.
        let (one, review) = linked(&c, "3815 North Kedvale Avenue");
        assert!(one && review.is_empty(), "{review:?}");
        // A typo in the street or in the number may be one place, and a street written
        // without its number says too little to tell two places.
        for same in [
            "3815 N. Kedvael Ave",
            "3825 N. Kedvale Ave",
            "N. Kedvale Ave",
        ] {
            let (one, review) = linked(&c, same);
            assert!(one, "{same}: {review:?}");
        }
        // Another house number on another street: two places, for review.
        for other in ["4140 N. Marine Dr.", "12 W. Roosevelt Rd"] {
            let (one, review) = linked(&c, other);
            assert!(!one, "{other}");
            assert_eq!(review.len(), 1, "{other}: {review:?}");
            assert_eq!(review[0].reason, ReviewReason::OtherPlace);
        }
        // Unless the list may hold one entity at two addresses.
        c.one_row_per_place = false;
        let (one, _) = linked(&c, "4140 N. Marine Dr.");
        assert!(one);
        // Across sources, addresses differ for many reasons: the rule is for one list.
        c.one_row_per_place = true;
        c.dedupe = vec![false, false];
        let across = vec![
            vec![rec(0, "1", "Disney Magnet", "3815 N. Kedvale Ave")],
            vec![rec(1, "1", "Disney Magnet", "4140 N. Marine Dr.")],
        ];
        let m = cluster(&c, &across);
        assert!(
            m.review
                .iter()
                .all(|r| r.reason != ReviewReason::OtherPlace)
        );
    }

    #[test]
    fn a_golden_record_is_not_brought_a_second_place_through_a_third_record() {
        let c = MatchConfig::new(vec![
            Comparison::new(0, "name", CompareMethod::Name),
            Comparison::new(1, "address", CompareMethod::Address),
        ]);
        // Lists of five hundred, so that one name alone is just enough to link.
        let list = |s: usize, record: Record| {
            let mut out = vec![record];
            out.extend((0..499).map(|i| rec(s, &format!("f{i}"), &format!("Filler{s}x{i}"), "")));
            out
        };
        let sources = |third: &str| {
            vec![
                list(0, rec(0, "a", "Disney Magnet", "3815 N. Kedvale Ave")),
                list(1, rec(1, "b", "Disney Magnet", "")),
                list(2, rec(2, "c", "Disney Magnet", third)),
            ]
        };
        let with = |third: &str| {
            let m = cluster(&c, &sources(third));
            let of = |s: usize| {
                m.clusters.iter().position(|k| {
                    k.members.contains(&Member {
                        source: s,
                        index: 0,
                    })
                })
            };
            (of(0) == of(1), of(1) == of(2), m.review)
        };
        // At the same address, one place: all three together.
        let (first, third, review) = with("3815 North Kedvale Avenue");
        assert!(first && third, "{first} {third} {review:?}");
        // At another number on the street, the third record links to the second by name
        // alone, but does not match the first by itself: it stays apart, for review.
        let (first, third, review) = with("4140 N. Kedvale Ave");
        assert!(first && !third, "{review:?}");
        assert!(
            review.iter().any(|r| r.reason
                == ReviewReason::TwoPlaces {
                    left: Member {
                        source: 2,
                        index: 0
                    },
                    right: Member {
                        source: 0,
                        index: 0
                    }
                }),
            "{review:?}"
        );
    }

    #[test]
    fn a_list_does_not_hold_two_places_in_one_record_through_a_third_row() {
        let mut c = MatchConfig::new(vec![
            Comparison::new(0, "name", CompareMethod::Name),
            Comparison::new(1, "address", CompareMethod::Address),
            Comparison::new(2, "phone", CompareMethod::Phone),
            Comparison::new(3, "email", CompareMethod::Exact),
        ]);
        c.dedupe = vec![true];
        let row = |id: &str, values: [&str; 4]| Record {
            source: 0,
            id: id.into(),
            row: String::new(),
            values: values
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Value::Null
                    } else {
                        Value::Text((*v).into())
                    }
                })
                .collect(),
        };
        // Lists of five hundred, so that a name alone links and a name with an address,
        // a phone and an email that all differ is not worth a review.
        let list = |third: &str| {
            let mut out = vec![
                row(
                    "a",
                    [
                        "Disney Magnet",
                        "3815 N. Kedvale Ave",
                        "555 0101",
                        "a@x.org",
                    ],
                ),
                row("b", ["Disney Magnet", "", "", ""]),
                row("c", ["Disney Magnet", third, "555 0199", "c@x.org"]),
            ];
            out.extend(
                (0..497).map(|i| row(&format!("f{i}"), [&format!("Filler{i}"), "", "", ""])),
            );
            vec![out]
        };
        let together = |c: &MatchConfig, third: &str| {
            let m = cluster(c, &list(third));
            let of = |index: usize| {
                m.clusters
                    .iter()
                    .position(|k| k.members.contains(&Member { source: 0, index }))
            };
            (of(0) == of(1), of(1) == of(2), m.review)
        };
        // At one address written two ways, one place: all three rows together.
        let (first, third, review) = together(&c, "3815 North Kedvale Avenue");
        assert!(first && third, "{review:?}");
        // At another number on the street, the row without an address links to one of the
        // two by name, never to both: the golden record would hold two places.
        let (first, third, review) = together(&c, "4140 N. Kedvale Ave");
        assert!(first != third, "{review:?}");
        assert!(
            review
                .iter()
                .any(|r| matches!(r.reason, ReviewReason::TwoPlaces { .. })),
            "{review:?}"
        );
        // A number one typo away is left to the scores.
        let (first, third, review) = together(&c, "3816 N. Kedvale Ave");
        assert!(first && third, "{review:?}");
        // A list whose rows may hold one entity at two addresses keeps the chain.
        c.one_row_per_place = false;
        let (first, third, review) = together(&c, "4140 N. Kedvale Ave");
        assert!(first && third, "{review:?}");
    }

    /// Name words weighed once per record give every pair the similarity that looking the
    /// weights up per pair gives, to the last bit.
    #[test]
    fn names_weighed_once_compare_as_weighed_per_pair() {
        let c = config();
        let sources = seed();
        let records: Vec<&Record> = sources.iter().flatten().collect();
        let matcher = Matcher::new(&c);
        let mut table = PreparedTable::new(&matcher, &records);
        let tf = TermFrequency::build(table.column(0));
        let levels = |table: &PreparedTable| {
            let mut out = Vec::new();
            for a in 0..records.len() {
                for b in 0..records.len() {
                    out.push(compare::level(
                        &c.comparisons[0],
                        Some(&tf),
                        &table[a][0],
                        &table[b][0],
                    ));
                }
            }
            out
        };
        let per_pair = levels(&table);
        table.weigh_names(0, &tf);
        assert!(table.column(0).all(|p| match p {
            Prepared::Name {
                tokens, weights, ..
            } => weights.len() == tokens.len(),
            _ => true,
        }));
        assert_eq!(levels(&table), per_pair);
        assert!(
            per_pair
                .iter()
                .any(|(_, s)| s.is_some_and(|s| s > 0.0 && s < 1.0))
        );
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
        c.distinct.push(Override {
            a: RecordRef {
                source: 0,
                id: "3".into(),
            },
            b: RecordRef {
                source: 1,
                id: "3".into(),
            },
            origin: Origin::default(),
        });
        let m = cluster(&c, &seed());
        assert_eq!(pairs(&m), vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn same_links_whatever_the_score() {
        let mut c = config();
        c.same.push(Override {
            a: RecordRef {
                source: 0,
                id: "3".into(),
            },
            b: RecordRef {
                source: 1,
                id: "4".into(),
            },
            origin: Origin::default(),
        });
        let m = cluster(&c, &seed());
        assert!(pairs(&m).contains(&(2, 3)));
        assert!(!pairs(&m).contains(&(2, 2)));
    }

    #[test]
    fn a_record_linked_to_two_clusters_bridges_them() {
        let members = |sources: &[Vec<Record>]| -> Vec<Vec<(usize, usize)>> {
            let mut out: Vec<Vec<(usize, usize)>> = cluster(&config(), sources)
                .clusters
                .iter()
                .map(|c| c.members.iter().map(|m| (m.source, m.index)).collect())
                .collect();
            out.sort();
            out
        };
        // The first two lists hold one entity under two names too far apart to link, yet
        // not counting against it; the third list's record matches each (by name, by email).
        let bridged = vec![
            vec![rec(0, "1", "Luma Bar and Grill", "")],
            vec![rec(1, "a", "Luma Bar Rosebank", "luma@x.co")],
            vec![rec(2, "p", "Luma Bar and Grill", "luma@x.co")],
        ];
        assert_eq!(members(&bridged), vec![vec![(0, 0), (1, 0), (2, 0)]]);
        let links = &cluster(&config(), &bridged).clusters[0].links;
        assert!(
            links
                .iter()
                .all(|l| l.record.source == 2 || l.to.source == 2),
            "the first two lists' records link through the third: {links:?}"
        );
        // Two records whose own fields count against one entity (names that share nothing)
        // are not joined through a third.
        let denied = vec![
            vec![rec(0, "1", "Luma Bar and Grill", "")],
            vec![rec(1, "a", "Rosebank Tavern", "luma@x.co")],
            vec![rec(2, "p", "Luma Bar and Grill", "luma@x.co")],
        ];
        assert_eq!(members(&denied).len(), 2);
        // Two records of one list are two entities, however a third list links them.
        let apart = vec![
            vec![
                rec(0, "1", "Luma Bar and Grill", ""),
                rec(0, "2", "Rosebank Tavern", "luma@x.co"),
            ],
            vec![rec(2, "p", "Luma Bar and Grill", "luma@x.co")],
        ];
        assert_eq!(members(&apart).len(), 2);
    }

    #[test]
    fn review_reasons_name_what_decided() {
        let m = |s: usize, i: usize| Member {
            source: s,
            index: i,
        };
        let reasons =
            |c: &MatchConfig, sources: &[Vec<Record>]| -> Vec<(Member, Member, ReviewReason)> {
                cluster(c, sources)
                    .review
                    .into_iter()
                    .map(|r| (r.record, r.to, r.reason))
                    .collect()
            };
        // Two copies in the second source: one takes the cluster's place for that source.
        let copies = vec![
            vec![rec(0, "1", "Luma Bar", "")],
            vec![rec(1, "a", "Luma Bar", ""), rec(1, "b", "Luma Bar", "")],
        ];
        assert_eq!(
            reasons(&config(), &copies),
            vec![(
                m(1, 1),
                m(0, 0),
                ReviewReason::OneToOne {
                    taken: m(1, 0),
                    to: m(0, 0)
                }
            )]
        );
        // One record, two candidates: the better one wins, the other is listed with it.
        let two = vec![
            vec![
                rec(0, "1", "Luma Bar", "luma@x.co"),
                rec(0, "2", "Luma Bar", ""),
            ],
            vec![rec(1, "a", "Luma Bar", "luma@x.co")],
        ];
        let got = reasons(&config(), &two);
        assert_eq!(got.len(), 1, "{got:?}");
        match &got[0].2 {
            ReviewReason::BetterMatch { linked, score, .. } => {
                assert_eq!(*linked, m(0, 0));
                assert!(*score > 0.99, "{score}");
            }
            other => panic!("{other:?}"),
        }
        // Within a deduplicated source, the size guard.
        let mut c = config();
        c.dedupe = vec![true];
        c.max_cluster = 2;
        let three = vec![vec![
            rec(0, "1", "Luma Bar", ""),
            rec(0, "2", "Luma Bar", ""),
            rec(0, "3", "Luma Bar", ""),
        ]];
        let refused = reasons(&c, &three);
        assert!(!refused.is_empty());
        assert!(
            refused
                .iter()
                .all(|r| r.2 == ReviewReason::MaxCluster { max: 2 }),
            "{refused:?}"
        );
        // Within a deduplicated source, two records whose own fields count against one
        // entity are not grouped through a third that matches each.
        let mut c = config();
        c.dedupe = vec![true];
        let chain = vec![vec![
            rec(0, "1", "Rosebank Tavern", "luma@x.co"),
            rec(0, "2", "Luma Bar and Grill", "luma@x.co"),
            rec(0, "3", "Luma Bar and Grill", ""),
        ]];
        assert_eq!(cluster(&c, &chain).clusters.len(), 2);
        assert!(
            reasons(&c, &chain).iter().any(|r| r.2
                == ReviewReason::Against {
                    left: m(0, 2),
                    right: m(0, 0)
                }
                || r.2
                    == ReviewReason::Against {
                        left: m(0, 0),
                        right: m(0, 2)
                    }),
            "{:?}",
            reasons(&c, &chain)
        );
        // Below the threshold, in the band.
        let mut c = config();
        c.threshold = 0.9999;
        let band = vec![
            vec![rec(0, "1", "Luma Bar and Lounge", "")],
            vec![rec(1, "a", "Luma", "")],
        ];
        assert_eq!(
            reasons(&c, &band)
                .iter()
                .map(|r| r.2.clone())
                .collect::<Vec<_>>(),
            vec![ReviewReason::ReviewBand {
                review: 0.5,
                threshold: 0.9999
            }]
        );
    }

    /// Twelve pairs of one business under its own name in each source: the same email in
    /// neither (a branch's address against the head office's), and some noise records.
    fn labelled_sources() -> (Vec<Vec<Record>>, Vec<crate::spec::compiled::Override>) {
        let names = [
            "Barchefz",
            "Maltos",
            "Luma",
            "Revue",
            "Debonair",
            "Ocean Basket",
            "Mugg",
            "Junction",
            "Fynbos",
            "Kaya",
            "Tasha",
            "Sorbet",
        ];
        let a: Vec<Record> = (0..names.len())
            .map(|i| rec(0, &format!("a{i}"), names[i], &format!("head{i}@x.co")))
            .collect();
        let b: Vec<Record> = (0..names.len())
            .map(|i| rec(1, &format!("b{i}"), names[i], &format!("branch{i}@y.co")))
            .collect();
        let same = (0..names.len())
            .map(|i| crate::spec::compiled::Override {
                a: crate::spec::compiled::RecordRef {
                    source: 0,
                    id: format!("a{i}"),
                },
                b: crate::spec::compiled::RecordRef {
                    source: 1,
                    id: format!("b{i}"),
                },
                origin: Default::default(),
            })
            .collect();
        (vec![a, b], same)
    }

    #[test]
    fn an_estimate_that_did_not_settle_is_refused() {
        let fit = em::Fit {
            m: vec![vec![0.9, 0.1]],
            lambda: 0.01,
            iterations: 700,
            converged: false,
        };
        let reason = estimate_refused(&fit, 1000, 1).expect("refused");
        assert!(reason.contains("did not settle"), "{reason}");
        let settled = em::Fit {
            converged: true,
            ..fit
        };
        assert_eq!(estimate_refused(&settled, 1000, 1), None);
    }

    #[test]
    fn weights_trained_on_labels_learn_what_matching_pairs_look_like() {
        let (sources, same) = labelled_sources();
        let mut c = config();
        c.weights = Weights::Given;
        let given = score_pairs(&c, &sources).unwrap().matcher.model.clone();
        c.weights = Weights::Labels;
        c.same = same.clone();
        let trained = score_pairs(&c, &sources).unwrap().matcher.model.clone();
        assert_eq!(trained.labelled, 12);
        assert!(trained.lambda.is_some(), "{:?}", trained.notes);
        // Every labelled pair disagrees on email: a disagreement counts against a match far
        // less once trained than by the exact method's defaults.
        let else_bits = |m: &Model| {
            let l = m.levels[1].last().unwrap();
            (l.m / l.u).log2()
        };
        assert!(
            else_bits(&trained) > else_bits(&given) + 1.0,
            "trained {} given {}",
            else_bits(&trained),
            else_bits(&given)
        );

        // Too few labelled pairs: the defaults, and a note saying so.
        c.same.truncate(3);
        let few = score_pairs(&c, &sources).unwrap().matcher.model.clone();
        assert_eq!(few.lambda, None);
        assert!(
            few.notes
                .iter()
                .any(|n| n.contains("weights: labels fell back") && n.contains("3 labelled")),
            "{:?}",
            few.notes
        );
    }

    /// Three sources of 240 records named from a few words: many blocks, some too common.
    fn crowded() -> Vec<Vec<Record>> {
        let words = [
            "ocean", "basket", "spur", "steak", "ranch", "menlyn", "sun", "city", "maltos",
            "valley", "barchef", "grill",
        ];
        let mut rng = em::SplitMix(7);
        (0..3)
            .map(|s| {
                (0..240)
                    .map(|i| {
                        let name = format!(
                            "{} {} {}",
                            words[rng.below(12)],
                            words[rng.below(12)],
                            words[rng.below(3)]
                        );
                        let email = if rng.below(3) == 0 {
                            String::new()
                        } else {
                            format!("{}@example.com", rng.below(150))
                        };
                        rec(s, &i.to_string(), &name, &email)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn partitions_spilled_to_disk_give_what_memory_gives() {
        let sources = crowded();
        let by_email = crate::spec::compiled::Blocking {
            name: "email".into(),
            keys: vec![(1, crate::spec::KeyTransform::Exact, 0)],
            unordered: false,
        };
        let by_word = crate::spec::compiled::Blocking {
            name: "name words".into(),
            keys: vec![(0, crate::spec::KeyTransform::Tokens, 0)],
            unordered: false,
        };
        for (weights, blocking) in [
            (Weights::Given, Vec::new()),
            (Weights::Auto, Vec::new()),
            (Weights::Given, vec![by_email.clone(), by_word.clone()]),
            (Weights::Auto, vec![by_word, by_email]),
        ] {
            let mut c = config();
            c.weights = weights;
            c.blocking = blocking;
            c.max_block = 12;
            c.dedupe = vec![true, false, true];
            c.same = vec![Override {
                a: RecordRef {
                    source: 0,
                    id: "3".into(),
                },
                b: RecordRef {
                    source: 1,
                    id: "5".into(),
                },
                origin: Origin::default(),
            }];
            for evidence in [Evidence::Terms, Evidence::Probability] {
                let whole = cluster_with(&c, &sources, evidence).unwrap();
                let mut small = c.clone();
                // One byte: the smallest chunks and the most partitions.
                small.memory = Some(1);
                let parts = cluster_with(&small, &sources, evidence).unwrap();
                assert!(whole.partitioned.is_none());
                let p = parts.partitioned.clone().expect("over the budget");
                assert!(p.partitions > 1 && p.spilled > 0, "{p:?}");
                assert!(!whole.blocking.oversized.is_empty(), "some keys too common");
                assert!(whole.clusters.iter().any(|c| c.members.len() > 1));
                let strip = |mut m: Matches| {
                    m.timings.clear();
                    m.partitioned = None;
                    m
                };
                assert_eq!(strip(parts), strip(whole), "{weights:?} {evidence:?}");
            }
        }
    }

    #[test]
    fn the_matches_carry_the_term_frequencies_matching_used() {
        // The plan adopts rows by match with this model: it must score as matching did.
        let mut c = config();
        c.comparisons[1].term_frequency = true;
        let m = cluster_with(&c, &seed(), Evidence::Probability).unwrap();
        let emails = m.model.tf[1]
            .as_ref()
            .expect("counted for the email comparison");
        assert!(emails.total > 0);
        assert_eq!(m.model.tf[0].is_some(), c.comparisons[0].term_frequency);
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

    const POOL: &[&str] = &[
        "Luma",
        "Luma Bar and Lounge",
        "Ocean Basket Menlyn",
        "Ocean Basket Brooklyn",
        "Mugg & Bean",
        "Mugg and Bean",
        "Barchefz",
        "Barchef Entertainment",
        "The Junction",
        "Junction",
    ];

    fn records(source: usize, picks: &[(usize, Option<u8>)]) -> Vec<Record> {
        picks
            .iter()
            .enumerate()
            .map(|(i, (n, e))| {
                let email = e.map(|e| format!("c{e}@x.co")).unwrap_or_default();
                rec(source, &format!("r{i}"), POOL[*n], &email)
            })
            .collect()
    }

    fn cluster_ids(m: &Matches, s: &[Vec<Record>]) -> Vec<Vec<String>> {
        let mut v: Vec<Vec<String>> = m
            .clusters
            .iter()
            .map(|c| {
                let mut ids: Vec<String> = c
                    .members
                    .iter()
                    .map(|x| format!("{}:{}", x.source, s[x.source][x.index].id))
                    .collect();
                ids.sort();
                ids
            })
            .collect();
        v.sort();
        v
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, .. Default::default() })]

        #[test]
        fn clusters_do_not_depend_on_input_order(
            a in proptest::collection::vec((0..POOL.len(), proptest::option::of(0u8..4)), 0..8),
            b in proptest::collection::vec((0..POOL.len(), proptest::option::of(0u8..4)), 0..8),
            dedupe in proptest::bool::ANY,
            auto in proptest::bool::ANY,
            rotate in 0usize..8,
        ) {
            let mut c = config();
            c.dedupe = vec![dedupe, dedupe];
            if auto {
                c.weights = Weights::Auto;
            }
            let sources = vec![records(0, &a), records(1, &b)];
            let mut shuffled = sources.clone();
            shuffled[0].reverse();
            let len = shuffled[1].len().max(1);
            shuffled[1].rotate_left(rotate % len);
            let x = cluster(&c, &sources);
            let y = cluster(&c, &shuffled);
            proptest::prop_assert_eq!(cluster_ids(&x, &sources), cluster_ids(&y, &shuffled));
        }

        #[test]
        fn a_pair_score_is_symmetric(
            x in 0..POOL.len(), y in 0..POOL.len(),
            ex in proptest::option::of(0u8..3), ey in proptest::option::of(0u8..3),
        ) {
            let c = config();
            let mut with_tf = Model::given(&c);
            let all = records(0, &[(x, ex), (y, ey), (0, None), (2, None), (3, None)]);
            let prepared: Vec<Vec<Prepared>> = all.iter().map(|r| Matcher::new(&c).prepare(&r.values)).collect();
            with_tf.tf[0] = Some(TermFrequency::build(prepared.iter().map(|p| &p[0])));
            let m = Matcher::with_model(&c, with_tf);
            let ab = m.score(-3.0, &prepared[0], &prepared[1]);
            let ba = m.score(-3.0, &prepared[1], &prepared[0]);
            proptest::prop_assert_eq!(ab.probability, ba.probability);
            proptest::prop_assert_eq!(ab.terms, ba.terms);
        }
    }
}
