//! Matching within a memory budget. Every record's prepared values (name words, address
//! parts, ...) are most of matching's working set; they are held all at once only when they
//! fit the budget ([`super::memory`]). Past it, matching runs in partitions and gives the
//! same pairs, scores and clusters as in memory:
//!
//! 1. Records are prepared a chunk at a time. Each blocking key is hashed and written, with
//!    its record, to one of several files on disk chosen by the hash, so that every record
//!    sharing a key lands in one file; term frequencies are counted on the way.
//! 2. Each file is read back alone and its blocks paired as in memory; the pairs of all
//!    files are merged and made distinct (a pair takes 8 bytes, a record's prepared values
//!    hundreds).
//! 3. Pairs are compared and scored a chunk at a time, preparing only the records the chunk
//!    names; with `weights: auto` or `labels`, once for the levels the estimate reads, and
//!    again for the scores under the estimated model.
//! 4. Linking reads the scores; the few records it needs prepared again (addresses within a
//!    source, reviews, the evidence of explanations) are prepared when asked for.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

use rayon::prelude::*;

use super::blocking::{self, Flat, RuleKeys};
use super::compare::{Prepared, TermFrequency};
use super::{Data, Matcher, Model, Scored};
use crate::error::{Error, Result};
use crate::normalize::Record;
use crate::spec::Weights;
use crate::spec::compiled::{Blocking, MatchConfig};

/// What matching in partitions did, for `explain`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Partitioned {
    /// The memory budget, in bytes.
    pub budget: u64,
    /// The bytes every record's prepared values would have taken at once.
    pub estimate: u64,
    /// Files the blocking keys were spread over, per rule.
    pub partitions: usize,
    /// Records prepared at a time.
    pub chunk: usize,
    /// Bytes written to disk.
    pub spilled: u64,
}

/// Records sampled to estimate what a record's prepared values take.
const SAMPLE: usize = 1000;

/// Bytes of one blocking-key entry on disk: the key's hash and the record.
const ENTRY: usize = 12;

/// The fewest records or pairs handled at a time, whatever the budget.
const MIN_CHUNK: usize = 64;

/// The most files blocking keys are spread over per rule.
const MAX_PARTITIONS: usize = 64;

/// Bytes a record's prepared values take, on average over an even sample of the records.
pub(super) fn per_record(config: &MatchConfig, records: &[&Record]) -> u64 {
    if records.is_empty() || config.comparisons.is_empty() {
        return 0;
    }
    let matcher = Matcher::new(config);
    let step = records.len().div_ceil(SAMPLE);
    let (total, count) = records
        .iter()
        .step_by(step)
        .map(|r| super::memory::prepared_bytes(&matcher.prepare(&r.values)))
        .fold((0u64, 0u64), |(t, c), b| (t + b, c + 1));
    total / count.max(1)
}

/// Where one rule's keys come from.
#[derive(Clone, Copy)]
enum Keys<'a> {
    /// From the comparisons (no `blocking` in the spec).
    Comparisons,
    Rule(&'a Blocking),
}

impl Keys<'_> {
    fn name(&self) -> String {
        match self {
            Keys::Comparisons => "keys from the comparisons".to_string(),
            Keys::Rule(rule) => rule.name.clone(),
        }
    }

    /// The key texts of a record; its prepared values are asked for only when the keys come
    /// from them.
    fn texts<'p>(
        &self,
        config: &MatchConfig,
        record: &Record,
        prepared: impl FnOnce() -> Cow<'p, [Prepared]>,
    ) -> Vec<String> {
        match self {
            Keys::Comparisons => blocking::comparison_keys(config, &prepared()),
            Keys::Rule(rule) => blocking::rule_keys(config, rule, &record.values),
        }
    }
}

/// Blocking keys written to disk, one file per rule and partition.
struct Spill {
    dir: tempfile::TempDir,
    partitions: usize,
    files: Vec<BufWriter<File>>,
    bytes: u64,
}

fn spill_error(e: std::io::Error) -> Error {
    Error::Io(format!(
        "matching could not spill to the temporary folder ({}): {e}; free some space there, set \
         TMPDIR to a folder with room, or raise `match.memory`",
        std::env::temp_dir().display()
    ))
}

impl Spill {
    fn new(rules: usize, partitions: usize) -> Result<Spill> {
        let dir = tempfile::Builder::new()
            .prefix("reconcile-match-")
            .tempdir()
            .map_err(spill_error)?;
        let files = (0..rules * partitions)
            .map(|f| {
                File::create(dir.path().join(format!("keys-{f}")))
                    .map(|file| BufWriter::with_capacity(64 * 1024, file))
            })
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(spill_error)?;
        Ok(Spill {
            dir,
            partitions,
            files,
            bytes: 0,
        })
    }

    fn write(&mut self, rule: usize, entries: &[(u64, u32)]) -> Result<()> {
        for &(hash, g) in entries {
            let file =
                &mut self.files[rule * self.partitions + (hash % self.partitions as u64) as usize];
            let mut entry = [0u8; ENTRY];
            entry[..8].copy_from_slice(&hash.to_le_bytes());
            entry[8..].copy_from_slice(&g.to_le_bytes());
            file.write_all(&entry).map_err(spill_error)?;
        }
        self.bytes += (entries.len() * ENTRY) as u64;
        Ok(())
    }

    fn finish_writing(&mut self) -> Result<()> {
        for f in &mut self.files {
            f.flush().map_err(spill_error)?;
        }
        self.files.clear();
        Ok(())
    }

    fn read(&self, rule: usize, partition: usize) -> Result<Vec<(u64, u32)>> {
        let path = self
            .dir
            .path()
            .join(format!("keys-{}", rule * self.partitions + partition));
        let mut bytes = Vec::new();
        BufReader::new(File::open(&path).map_err(spill_error)?)
            .read_to_end(&mut bytes)
            .map_err(spill_error)?;
        std::fs::remove_file(&path).map_err(spill_error)?;
        Ok(bytes
            .chunks_exact(ENTRY)
            .map(|e| {
                let mut hash = [0u8; 8];
                hash.copy_from_slice(&e[..8]);
                let mut g = [0u8; 4];
                g.copy_from_slice(&e[8..]);
                (u64::from_le_bytes(hash), u32::from_le_bytes(g))
            })
            .collect())
    }
}

/// [`super::score_pairs`] when every record's prepared values (`per_record` bytes each) would
/// not fit `budget`.
pub(super) fn score_pairs<'c>(
    config: &'c MatchConfig,
    sources: &'c [Vec<Record>],
    records: Vec<&'c Record>,
    budget: u64,
    per_record: u64,
) -> Result<Scored<'c>> {
    let mut timings: Vec<(&'static str, f64)> = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        timings.push((name, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let n = records.len();
    let k = config.comparisons.len();
    // Half the budget for the prepared values of a chunk, the rest for what is made of them.
    let chunk = ((budget / 2 / per_record.max(1)) as usize).max(MIN_CHUNK);
    let run = Run {
        config,
        records: &records,
        flat: Flat::new(sources),
        given: Matcher::new(config),
        keys: if k == 0 {
            Vec::new()
        } else if config.blocking.is_empty() {
            vec![Keys::Comparisons]
        } else {
            config.blocking.iter().map(Keys::Rule).collect()
        },
        chunk,
        pair_chunk: (chunk / 2).max(MIN_CHUNK),
    };

    // 1. Prepare a chunk at a time, counting terms and writing the keys out.
    let stage = crate::progress::stage("match: prepare");
    let (spill, tf) = run.spill_keys(budget)?;
    lap("prepare", &mut timings);
    drop(stage);

    // 2. Block, one partition of one rule's keys at a time.
    let stage = crate::progress::stage("match: block");
    let (pairs, block_stats) = run.block(&spill)?;
    let partitioned = Partitioned {
        budget,
        estimate: per_record.saturating_mul(n as u64),
        partitions: spill.partitions,
        chunk,
        spilled: spill.bytes,
    };
    drop(spill);
    lap("block", &mut timings);
    drop(stage);

    // 3. Levels, when the model is estimated from them.
    let mut with_tf = Model::given(config);
    with_tf.tf = tf;
    let mut base = Matcher::with_model(config, with_tf);
    let mut model = base.model.without_counts();
    if config.weights != Weights::Given && k > 0 && n > 1 {
        let stage = crate::progress::counted("match: compare", pairs.len() as u64, "pairs");
        let levels = run.levels(&base, &pairs, &stage);
        lap("compare", &mut timings);
        drop(stage);
        let _stage = crate::progress::stage("match: estimate");
        let prepared_of = |g: usize| Cow::Owned(run.given.prepare(&records[g].values));
        let data = Data {
            allowed: super::allowed_pair_count(config, sources),
            flat: &run.flat,
            records: &records,
            prepared: &prepared_of,
        };
        super::estimate(config, &base, &data, &levels, pairs.len(), &mut model);
        lap("estimate", &mut timings);
    }
    model.tf = std::mem::take(&mut base.model.tf);
    drop(base);
    let matcher = Matcher::with_model(config, model);

    // 4. Scores, a chunk of pairs at a time.
    let stage = crate::progress::counted("match: score", pairs.len() as u64, "pairs");
    let sizes: Vec<usize> = sources.iter().map(Vec::len).collect();
    let probability = run.scores(&matcher, &sizes, &pairs, &stage);
    lap("score", &mut timings);
    drop(stage);
    let flat = run.flat;
    Ok(Scored {
        matcher,
        flat,
        records,
        prepared: None,
        partitioned: Some(partitioned),
        pairs,
        probability,
        block_stats,
        timings,
    })
}

/// What every step of a partitioned run reads.
struct Run<'a> {
    config: &'a MatchConfig,
    records: &'a [&'a Record],
    flat: Flat,
    /// Prepares records (the comparisons of the spec; preparing needs no model).
    given: Matcher<'a>,
    keys: Vec<Keys<'a>>,
    /// Records prepared at a time.
    chunk: usize,
    /// Pairs compared or scored at a time.
    pair_chunk: usize,
}

impl Run<'_> {
    fn prepare(&self, g: usize) -> Vec<Prepared> {
        self.given.prepare(&self.records[g].values)
    }

    /// Prepares the records a chunk at a time, writing every blocking key out with its
    /// record and counting terms; returns the files and the term frequencies.
    fn spill_keys(&self, budget: u64) -> Result<(Spill, Vec<Option<TermFrequency>>)> {
        let (config, records, n) = (self.config, self.records, self.records.len());
        let mut tf: Vec<Option<TermFrequency>> = config
            .comparisons
            .iter()
            .map(|c| c.term_frequency.then(TermFrequency::default))
            .collect();
        let mut entries_total = 0usize;
        let mut spill: Option<Spill> = None;
        for start in (0..n).step_by(self.chunk) {
            let end = (start + self.chunk).min(n);
            let prepared: Vec<Vec<Prepared>> = records[start..end]
                .par_iter()
                .map(|r| self.given.prepare(&r.values))
                .collect();
            for (i, tf) in tf.iter_mut().enumerate() {
                if let Some(tf) = tf {
                    tf.add(prepared.iter().map(|p| &p[i]));
                }
            }
            let chunk_entries: Vec<Vec<(u64, u32)>> = self
                .keys
                .iter()
                .map(|rule| {
                    (start..end)
                        .into_par_iter()
                        .flat_map_iter(|g| {
                            rule.texts(config, records[g], || Cow::Borrowed(&prepared[g - start]))
                                .into_iter()
                                .map(move |key| (blocking::key_hash(&key), g as u32))
                        })
                        .collect()
                })
                .collect();
            entries_total += chunk_entries.iter().map(Vec::len).sum::<usize>();
            // The first chunk tells how many partitions the keys need: each one, sorted in
            // memory, should take half the budget at most.
            if spill.is_none() {
                let bytes =
                    (entries_total * size_of::<(u64, u32)>()) as f64 / end as f64 * n as f64;
                let partitions =
                    ((bytes * 2.0 / budget as f64).ceil() as usize).clamp(1, MAX_PARTITIONS);
                spill = Some(Spill::new(self.keys.len(), partitions)?);
            }
            let spill = spill.as_mut().expect("made above");
            for (r, entries) in chunk_entries.iter().enumerate() {
                spill.write(r, entries)?;
            }
        }
        let mut spill = match spill {
            Some(s) => s,
            None => Spill::new(self.keys.len(), 1)?,
        };
        spill.finish_writing()?;
        Ok((spill, tf))
    }

    /// Pairs the blocks of every rule, one file at a time, into the candidate pairs.
    fn block(&self, spill: &Spill) -> Result<(Vec<(u32, u32)>, blocking::BlockStats)> {
        let mut union = blocking::Union::default();
        for (r, rule) in self.keys.iter().enumerate() {
            let mut rule_keys = RuleKeys {
                name: rule.name(),
                entries: Vec::new(),
                texts: Box::new(move |g| {
                    rule.texts(self.config, self.records[g], || Cow::Owned(self.prepare(g)))
                }),
                narrows: |_| true,
            };
            if matches!(rule, Keys::Comparisons) {
                rule_keys = rule_keys.whole_values_narrow();
            }
            let narrow = |g: usize| blocking::narrowing_keys(&self.prepare(g));
            let mut pairs = Vec::new();
            let mut oversized = Vec::new();
            for p in 0..spill.partitions {
                rule_keys.entries = spill.read(r, p)?;
                let (more, too_common) =
                    blocking::rule_pairs(self.config, &self.flat, &mut rule_keys, &narrow);
                pairs.extend(more);
                oversized.extend(too_common);
            }
            union.add(rule_keys.name, pairs, oversized);
        }
        Ok(union.finish())
    }

    /// The level of every comparison of every pair, `k` bytes a pair, a chunk at a time.
    fn levels(
        &self,
        base: &Matcher<'_>,
        pairs: &[(u32, u32)],
        stage: &crate::progress::Stage,
    ) -> Vec<u8> {
        let k = self.config.comparisons.len();
        let mut levels = vec![0u8; pairs.len() * k];
        for (c, out) in pairs
            .chunks(self.pair_chunk)
            .zip(levels.chunks_mut(self.pair_chunk * k))
        {
            let chunk = Chunk::prepare(&self.given, self.records, c);
            out.par_chunks_mut(k).zip(c.par_iter()).for_each_init(
                || stage.ticker(),
                |ticker, (out, &(a, b))| {
                    ticker.tick();
                    base.levels_into(chunk.get(a), chunk.get(b), out);
                },
            );
        }
        levels
    }

    /// Every pair's match probability under `matcher`, a chunk at a time (`sizes`: records
    /// per source, for the prior).
    fn scores(
        &self,
        matcher: &Matcher<'_>,
        sizes: &[usize],
        pairs: &[(u32, u32)],
        stage: &crate::progress::Stage,
    ) -> Vec<f64> {
        let source_of = &self.flat.source_of;
        let mut probability = Vec::with_capacity(pairs.len());
        for c in pairs.chunks(self.pair_chunk) {
            let chunk = Chunk::prepare(&self.given, self.records, c);
            let scored: Vec<f64> = c
                .par_iter()
                .map_init(
                    || stage.ticker(),
                    |ticker, &(a, b)| {
                        ticker.tick();
                        let prior = matcher
                            .prior_for(sizes[source_of[a as usize]], sizes[source_of[b as usize]]);
                        matcher.probability(prior, chunk.get(a), chunk.get(b))
                    },
                )
                .collect();
            probability.extend(scored);
        }
        probability
    }
}

/// The records one chunk of pairs names, prepared.
struct Chunk {
    ids: Vec<u32>,
    prepared: Vec<Vec<Prepared>>,
}

impl Chunk {
    fn prepare(matcher: &Matcher<'_>, records: &[&Record], pairs: &[(u32, u32)]) -> Chunk {
        let mut ids: Vec<u32> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        ids.par_sort_unstable();
        ids.dedup();
        let prepared = ids
            .par_iter()
            .map(|&g| matcher.prepare(&records[g as usize].values))
            .collect();
        Chunk { ids, prepared }
    }

    fn get(&self, g: u32) -> &[Prepared] {
        let i = self
            .ids
            .binary_search(&g)
            .expect("every record of the chunk's pairs is prepared");
        &self.prepared[i]
    }
}
