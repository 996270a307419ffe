//! Linking by score, in named steps: records of a deduplicated source are grouped first
//! (strongest pairs first, never beyond `max_cluster`, never two rows at house numbers more
//! than a typo apart that score below `review` together), then sources are taken in priority
//! order, each group joining at most one cluster built from the sources before it and each
//! cluster taking at most one group per source (the one-to-one rule) and never a group with a
//! member at another house number that does not match it by itself; a group linked above the
//! threshold to a second cluster bridges the two into one, where the one-to-one rule, the
//! members' house numbers and their own evidence allow it. Neither a group nor a bridge ever
//! joins two records whose fields, compared with each other, count against one entity.
//! `same` pairs go first and `distinct` pairs are never linked by a score; what one-to-one
//! linking cannot honour of them is left to [`super::overrides`]. Every pair worth a look
//! that stays apart is kept with its reason.

use crate::collections::HashMap;

use super::{Building, Ctx, Groups, Linked, ReviewReason, overrides};

/// A link that put `record` into a cluster through `to`, and whether `same` forced it.
type RawLink = (usize, usize, bool);

/// A pair that may join a group of the source being linked to a cluster.
struct Candidate {
    /// Written as `same`: linked whatever the score.
    forced: bool,
    probability: f64,
    /// The group of the record of the source being linked, by its root.
    group: usize,
    /// The cluster of the other record.
    cluster: usize,
    /// The record of this source, and the one in the cluster.
    record: usize,
    to: usize,
}

/// The state of one linking run.
struct Linker<'a, 'r> {
    ctx: &'a Ctx<'a>,
    rules: &'a overrides::Rules<'r>,
    groups: Groups,
    /// Links inside each group of a deduplicated source, by the group's root.
    group_links: HashMap<usize, Vec<RawLink>>,
    built: Vec<Building>,
    cluster_of: Vec<usize>,
    reviews: Vec<(usize, usize, ReviewReason)>,
    guard_refusals: usize,
    kept_apart: Vec<bool>,
}

/// Links by score (see the module documentation).
pub(super) fn link_scores(ctx: &Ctx<'_>, rules: &overrides::Rules<'_>) -> Linked {
    let n = ctx.flat.len();
    let mut linker = Linker {
        ctx,
        rules,
        groups: Groups::new(n),
        group_links: HashMap::default(),
        built: Vec::new(),
        cluster_of: vec![usize::MAX; n],
        reviews: Vec::new(),
        guard_refusals: 0,
        kept_apart: vec![false; rules.distinct.len()],
    };
    linker.within_sources();
    linker.across_sources();
    linker.drop_emptied();
    Linked {
        built: linker.built,
        cluster_of: linker.cluster_of,
        reviews: linker.reviews,
        guard_refusals: linker.guard_refusals,
        kept_apart: linker.kept_apart,
    }
}

impl Linker<'_, '_> {
    /// Below the threshold, in the review band.
    fn below(&self) -> ReviewReason {
        ReviewReason::ReviewBand {
            review: self.ctx.config.review,
            threshold: self.ctx.config.threshold,
        }
    }

    /// Scores at or above this are worth linking or reviewing.
    fn floor(&self) -> f64 {
        self.ctx.config.review.min(self.ctx.config.threshold)
    }

    /// Groups the records of each deduplicated source: `same` pairs first, then the
    /// strongest pairs, never beyond `max_cluster` records by score.
    fn within_sources(&mut self) {
        let Ctx {
            config,
            flat,
            pairs,
            probability,
            rank,
            other_place,
            ..
        } = *self.ctx;
        let floor = self.floor();
        let mut within: Vec<(bool, f64, usize, usize)> = pairs
            .iter()
            .zip(probability)
            .filter(|((a, b), p)| {
                flat.source_of[*a as usize] == flat.source_of[*b as usize] && **p >= floor
            })
            .map(|(&(a, b), &p)| (false, p, a as usize, b as usize))
            .collect();
        within.extend(
            self.rules
                .same
                .iter()
                .filter(|o| flat.source_of[o.a] == flat.source_of[o.b])
                .map(|o| (true, 1.0, o.a, o.b)),
        );
        within.sort_by(|x, y| {
            y.0.cmp(&x.0)
                .then(y.1.total_cmp(&x.1))
                .then(rank[x.2].min(rank[x.3]).cmp(&rank[y.2].min(rank[y.3])))
                .then(rank[x.2].max(rank[x.3]).cmp(&rank[y.2].max(rank[y.3])))
        });
        for (forced, p, a, b) in within {
            let (ra, rb) = (self.groups.find(a), self.groups.find(b));
            if ra == rb {
                continue;
            }
            let split = self.rules.distinct.iter().position(|d| {
                let (gx, gy) = (self.groups.find(d.a), self.groups.find(d.b));
                (gx == ra && gy == rb) || (gx == rb && gy == ra)
            });
            if let Some(d) = split
                && !forced
            {
                self.kept_apart[d] = true;
                continue;
            }
            if !forced && p < config.threshold {
                let below = self.below();
                self.reviews.push((a, b, below));
                continue;
            }
            // One list keeps one row per place: two of its rows at different addresses are
            // two places (two branches of one name, with one phone), whatever else agrees.
            if !forced && other_place(a, b) {
                self.reviews.push((a, b, ReviewReason::OtherPlace));
                continue;
            }
            // Two groups whose records' own fields say "two entities" somewhere stay apart:
            // a chain of strong links must not join what its ends deny.
            if !forced
                && let Some((left, right)) =
                    self.against(&self.groups.members[ra], &self.groups.members[rb])
            {
                let (left, right) = (self.ctx.flat.member(left), self.ctx.flat.member(right));
                self.reviews
                    .push((a, b, ReviewReason::Against { left, right }));
                continue;
            }
            // Nor two groups that would hold two rows at house numbers more than a typo
            // apart that are not even worth a review together: a chain through a third row
            // does not make one place of them.
            if !forced
                && config.one_row_per_place
                && let Some((left, right)) =
                    self.two_places_below(&self.groups.members[ra], &self.groups.members[rb], floor)
            {
                let (left, right) = (self.ctx.flat.member(left), self.ctx.flat.member(right));
                self.reviews
                    .push((a, b, ReviewReason::TwoPlaces { left, right }));
                continue;
            }
            let size = self.groups.members[ra].len() + self.groups.members[rb].len();
            if !forced && size > config.max_cluster {
                self.guard_refusals += 1;
                self.reviews.push((
                    a,
                    b,
                    ReviewReason::MaxCluster {
                        max: config.max_cluster,
                    },
                ));
                continue;
            }
            let mut moved = self.group_links.remove(&ra).unwrap_or_default();
            moved.extend(self.group_links.remove(&rb).unwrap_or_default());
            let (to, rec) = if rank[a] < rank[b] { (a, b) } else { (b, a) };
            moved.push((rec, to, forced));
            let root = self.groups.union(a, b);
            self.group_links.insert(root, moved);
        }
    }

    /// Takes the sources in priority order: the first makes the clusters, each next one's
    /// groups join them or make their own.
    fn across_sources(&mut self) {
        let flat = self.ctx.flat;
        let sources = flat.offsets.len() - 1;
        // Only pairs worth linking or reviewing can be a group's best candidate for a
        // cluster (see `candidates`): the others are left out here, before any is kept.
        let floor = self.floor();
        let mut by_top_source: Vec<Vec<usize>> = vec![Vec::new(); sources];
        for (p, &(a, b)) in self.ctx.pairs.iter().enumerate() {
            let (sa, sb) = (flat.source_of[a as usize], flat.source_of[b as usize]);
            if sa != sb && self.ctx.probability[p] >= floor {
                by_top_source[sa.max(sb)].push(p);
            }
        }
        for (s, top_pairs) in by_top_source.iter().enumerate() {
            let mut roots: Vec<usize> = (flat.offsets[s]..flat.offsets[s + 1])
                .map(|g| self.groups.find(g))
                .collect();
            // New clusters keep the sources' own order.
            roots.sort_by_key(|&r| self.groups.members[r].iter().min().copied());
            roots.dedup();
            let linked = if self.built.is_empty() {
                HashMap::default()
            } else {
                let candidates = self.candidates(s, top_pairs);
                self.link_source(candidates)
            };
            for root in roots {
                if !linked.contains_key(&root) {
                    self.new_cluster(root);
                }
            }
        }
    }

    /// The pairs that may join source `s`'s groups to the clusters so far: the best pair per
    /// (group, cluster) at or above the review band, and the `same` pairs, in the order they
    /// are tried. `top_pairs` holds only pairs at or above the review band: a (group,
    /// cluster) whose best pair is below it is left out anyway, and one whose best is above
    /// it has the same best among those.
    fn candidates(&mut self, s: usize, top_pairs: &[usize]) -> Vec<Candidate> {
        let Ctx {
            flat,
            pairs,
            probability,
            rank,
            ..
        } = *self.ctx;
        let mut best: HashMap<(usize, usize), (f64, usize, usize)> =
            HashMap::with_capacity_and_hasher(top_pairs.len(), Default::default());
        for &p in top_pairs {
            let (a, b) = (pairs[p].0 as usize, pairs[p].1 as usize);
            let (x, y) = if flat.source_of[a] == s {
                (a, b)
            } else {
                (b, a)
            };
            let key = (self.groups.find(x), self.cluster_of[y]);
            let cand = (probability[p], x, y);
            match best.get(&key) {
                Some(&(q, bx, by))
                    if q > cand.0
                        || (q == cand.0 && (rank[bx], rank[by]) <= (rank[x], rank[y])) => {}
                _ => {
                    best.insert(key, cand);
                }
            }
        }
        let floor = self.floor();
        let mut candidates: Vec<Candidate> = best
            .into_iter()
            .filter(|(_, (p, _, _))| *p >= floor)
            .map(|((group, cluster), (probability, record, to))| Candidate {
                forced: false,
                probability,
                group,
                cluster,
                record,
                to,
            })
            .collect();
        for o in &self.rules.same {
            let (x, y) = if flat.source_of[o.a] == s && flat.source_of[o.b] < s {
                (o.a, o.b)
            } else if flat.source_of[o.b] == s && flat.source_of[o.a] < s {
                (o.b, o.a)
            } else {
                continue;
            };
            candidates.push(Candidate {
                forced: true,
                probability: 1.0,
                group: self.groups.find(x),
                cluster: self.cluster_of[y],
                record: x,
                to: y,
            });
        }
        candidates.sort_by(|p, q| {
            q.forced
                .cmp(&p.forced)
                .then(q.probability.total_cmp(&p.probability))
                .then(rank[p.record].cmp(&rank[q.record]))
                .then(rank[p.to].cmp(&rank[q.to]))
        });
        candidates
    }

    /// Joins one source's groups to clusters, best candidates first, one group per cluster
    /// and one cluster per group (a `same` pair may add a second, joined afterwards).
    /// Returns, per group linked, the record it linked to, the score and whether by `same`.
    fn link_source(&mut self, candidates: Vec<Candidate>) -> HashMap<usize, (usize, f64, bool)> {
        let threshold = self.ctx.config.threshold;
        let flat = self.ctx.flat;
        let rank = self.ctx.rank;
        // Per cluster: the pair that took its one place for this source.
        let mut linked: HashMap<usize, (usize, f64, bool)> = HashMap::default();
        let mut filled: HashMap<usize, (usize, usize)> = HashMap::default();
        for mut c in candidates {
            let (g, x, y) = (c.group, c.record, c.to);
            // The cluster the other record is in now: clusters merge as links bridge them.
            c.cluster = self.cluster_of[y];
            let split = self.rules.distinct.iter().position(|d| {
                (self.groups.find(d.a) == g && self.cluster_of[d.b] == c.cluster)
                    || (self.groups.find(d.b) == g && self.cluster_of[d.a] == c.cluster)
            });
            if let Some(d) = split
                && !c.forced
            {
                self.kept_apart[d] = true;
                continue;
            }
            if !c.forced && c.probability < threshold {
                let below = self.below();
                self.reviews.push((x, y, below));
                continue;
            }
            if let Some(&(to, score, by_same)) = linked.get(&g) {
                // A group linked above the threshold to two clusters bridges them: they are
                // one entity, unless that would put two rows of one list together.
                if !c.forced && !by_same && self.bridges(self.cluster_of[to], c.cluster) {
                    self.merge(self.cluster_of[to], c.cluster, (x, y, false));
                    continue;
                }
                // A group joins one cluster here; a second `same` joins the two clusters
                // afterwards. A score that lost to a `same` is the user's decision, not a
                // pair to review.
                if !c.forced && !by_same {
                    self.reviews.push((
                        x,
                        y,
                        ReviewReason::BetterMatch {
                            linked: flat.member(to),
                            cluster: 0,
                            score,
                        },
                    ));
                }
                continue;
            }
            if !c.forced
                && let Some(&(taken, to)) = filled.get(&c.cluster)
            {
                self.reviews.push((
                    x,
                    y,
                    ReviewReason::OneToOne {
                        taken: flat.member(taken),
                        to: flat.member(to),
                    },
                ));
                continue;
            }
            // Through its best link, a group must not bring a golden record two places: a
            // member at another house number that does not match it by itself.
            if !c.forced
                && let Some((left, right)) =
                    self.two_places(&self.groups.members[g], &self.built[c.cluster].0)
            {
                let (left, right) = (flat.member(left), flat.member(right));
                self.reviews
                    .push((x, y, ReviewReason::TwoPlaces { left, right }));
                continue;
            }
            linked.insert(g, (y, c.probability, c.forced));
            filled.entry(c.cluster).or_insert((x, y));
            let mut members = self.groups.members[g].clone();
            members.sort_by_key(|&m| rank[m]);
            for &m in &members {
                self.cluster_of[m] = c.cluster;
            }
            let cluster = &mut self.built[c.cluster];
            cluster.0.extend(members);
            cluster.1.push((x, y, c.forced));
            cluster
                .1
                .extend(self.group_links.remove(&g).unwrap_or_default());
        }
        linked
    }

    /// Removes the clusters that merged into others, renumbering the rest.
    fn drop_emptied(&mut self) {
        let mut new_index = vec![usize::MAX; self.built.len()];
        let mut kept = Vec::with_capacity(self.built.len());
        for (i, b) in std::mem::take(&mut self.built).into_iter().enumerate() {
            if !b.0.is_empty() {
                new_index[i] = kept.len();
                kept.push(b);
            }
        }
        for c in &mut self.cluster_of {
            if *c != usize::MAX {
                *c = new_index[*c];
            }
        }
        self.built = kept;
    }

    /// Whether clusters `a` and `b` may merge: apart, within `max_cluster`, no source
    /// without `dedupe` in both, and no two members with house numbers that differ.
    fn bridges(&self, a: usize, b: usize) -> bool {
        let (flat, config) = (self.ctx.flat, self.ctx.config);
        if a == b || self.built[a].0.len() + self.built[b].0.len() > config.max_cluster {
            return false;
        }
        self.built[a].0.iter().all(|&m| {
            self.built[b].0.iter().all(|&n| {
                let (sm, sn) = (flat.source_of[m], flat.source_of[n]);
                sm != sn || config.dedupes(sm)
            })
        }) && self
            .two_places(&self.built[a].0, &self.built[b].0)
            .is_none()
            && self.against(&self.built[a].0, &self.built[b].0).is_none()
    }

    /// Some record of `a` and some record of `b` with house numbers that differ (by an
    /// `address` comparison) and that do not match each other above the threshold: two
    /// places, which one golden record never holds through a third record. A pair that
    /// matches by itself (a typo in the number, a person who moved) is left to its score.
    fn two_places(&self, a: &[usize], b: &[usize]) -> Option<(usize, usize)> {
        self.two_places_below(a, b, self.ctx.config.threshold)
    }

    /// [`Self::two_places`], for pairs that score below `threshold` by themselves.
    fn two_places_below(&self, a: &[usize], b: &[usize], threshold: f64) -> Option<(usize, usize)> {
        a.iter().find_map(|&m| {
            b.iter()
                .find(|&&n| {
                    (self.ctx.other_number)(m, n) && (self.ctx.probability_of)(m, n) < threshold
                })
                .map(|&n| (m, n))
        })
    }

    /// Whether some record of `a` and some record of `b` have fields that, on balance, count
    /// against one entity: judged two by their own evidence, they never share a golden
    /// record through others.
    fn against(&self, a: &[usize], b: &[usize]) -> Option<(usize, usize)> {
        a.iter().find_map(|&m| {
            b.iter()
                .find(|&&n| (self.ctx.against)(m, n))
                .map(|&n| (m, n))
        })
    }

    /// Moves cluster `b` into cluster `a`, through `link`; `b` is left empty.
    fn merge(&mut self, a: usize, b: usize, link: RawLink) {
        let (members, links) = std::mem::take(&mut self.built[b]);
        for &m in &members {
            self.cluster_of[m] = a;
        }
        let rank = self.ctx.rank;
        let into = &mut self.built[a];
        into.0.extend(members);
        // Highest-priority source first, as every cluster keeps them.
        into.0.sort_by_key(|&m| rank[m]);
        into.1.extend(links);
        into.1.push(link);
    }

    /// A new cluster of the group at `root`, members in (source, id) order.
    fn new_cluster(&mut self, root: usize) {
        let rank = self.ctx.rank;
        let mut members = self.groups.members[root].clone();
        members.sort_by_key(|&g| rank[g]);
        for &g in &members {
            self.cluster_of[g] = self.built.len();
        }
        let links = self.group_links.remove(&root).unwrap_or_default();
        self.built.push((members, links));
    }
}
