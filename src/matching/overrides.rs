//! `same` and `distinct` as constraints on the clusters, not hints to linking.
//!
//! Linking by score already takes `same` pairs first and never links a `distinct` pair by a
//! score, but one-to-one linking cannot honour everything: two `same` pairs sharing a record
//! ask a cluster for two records of one source, a chain of `same` pairs spans clusters built
//! apart, and a forced link may join records a `distinct` pair separates. `enforce` then
//! repairs the clusters linking made:
//!
//! 1. the clusters of every `same` pair are joined (a chain of `same` is one entity, whatever
//!    the scores, the one-to-one rule or `max_cluster`);
//! 2. while a `distinct` pair shares a cluster, the side not bound to the cluster's first
//!    record (its `same` component, else the one of lower priority) leaves it, with the
//!    records that were linked to the cluster only through it;
//! 3. the links of every cluster touched are chosen again: `same` pairs first, then the best
//!    scores, so that each link shown is one that holds the cluster together.
//!
//! `effects` compares the result with linking without any override and names, per record,
//! the override that moved it.

use crate::collections::HashMap;
use crate::normalize::Record;
use crate::spec::compiled::{MatchConfig, Origin, Override};

use super::{Building, Cluster, Ctx, Linked, Member, blocking};

/// What one override changed for one record, against linking without any override.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideEffect {
    /// Where the `same` or `distinct` pair responsible was written.
    pub origin: Origin,
    pub record: Member,
    /// The cluster the record is in now.
    pub cluster: usize,
    /// The highest-priority record it was grouped with without overrides; `None` when it was
    /// on its own.
    pub was_with: Option<Member>,
    pub effect: Effect,
}

/// How an override changed a record's group.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// It left the group it had without overrides.
    Moved,
    /// A `distinct` pair split the group it had, and it linked by score to `to` instead: a
    /// link nobody decided on, to review.
    LinkedInstead { to: Member, score: f64 },
}

/// An override resolved to records: global indexes, the record of lower rank first.
pub(super) struct Pair<'c> {
    pub a: usize,
    pub b: usize,
    pub decided: &'c Override,
}

/// The overrides whose two records are both among the kept records.
#[derive(Default)]
pub(super) struct Rules<'c> {
    pub same: Vec<Pair<'c>>,
    pub distinct: Vec<Pair<'c>>,
}

impl<'c> Rules<'c> {
    /// Resolves `config.same` and `config.distinct` (the spec's pairs and any labels) to
    /// records; pairs naming a record no source holds any more are left out.
    pub(super) fn resolve(
        config: &'c MatchConfig,
        flat: &blocking::Flat,
        records: &[&Record],
        rank: &[usize],
    ) -> Rules<'c> {
        if config.same.is_empty() && config.distinct.is_empty() {
            return Rules::default();
        }
        let lookup: HashMap<(usize, &str), usize> = (0..records.len())
            .map(|g| ((flat.source_of[g], records[g].id.as_str()), g))
            .collect();
        let resolve = |list: &'c [Override]| {
            let mut out: Vec<Pair<'c>> = list
                .iter()
                .filter_map(|o| {
                    let a = *lookup.get(&(o.a.source, o.a.id.as_str()))?;
                    let b = *lookup.get(&(o.b.source, o.b.id.as_str()))?;
                    let (a, b) = if rank[a] <= rank[b] { (a, b) } else { (b, a) };
                    (a != b).then_some(Pair { a, b, decided: o })
                })
                .collect();
            out.sort_by_key(|p| (rank[p.a], rank[p.b]));
            out
        };
        Rules {
            same: resolve(&config.same),
            distinct: resolve(&config.distinct),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.same.is_empty() && self.distinct.is_empty()
    }
}

/// Disjoint sets whose roots are their least elements.
struct Sets(Vec<usize>);

impl Sets {
    fn new(n: usize) -> Sets {
        Sets((0..n).collect())
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`; false when they were one already.
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (low, high) = (ra.min(rb), ra.max(rb));
        self.0[high] = low;
        true
    }
}

/// Makes the overrides hold in the clusters linking by score made (see the module
/// documentation). Results depend on ranks only, never on input order.
pub(super) fn enforce(ctx: &Ctx<'_>, rules: &Rules<'_>, linked: &mut Linked) {
    let rank = ctx.rank;
    let mut touched: Vec<usize> = Vec::new();

    // 1. Every `same` pair joins the clusters of its records.
    let k = linked.built.len();
    let mut join = Sets::new(k);
    let joins: Vec<(usize, usize)> = rules
        .same
        .iter()
        .filter(|p| join.union(linked.cluster_of[p.a], linked.cluster_of[p.b]))
        .map(|p| (p.a, p.b))
        .collect();
    if !joins.is_empty() {
        // A root is the least cluster of its set, so clusters keep their order.
        let mut slot = vec![usize::MAX; k];
        let mut built: Vec<Building> = Vec::with_capacity(k);
        for c in 0..k {
            let root = join.find(c);
            if slot[root] == usize::MAX {
                slot[root] = built.len();
                built.push(Building::default());
            }
            let (members, links) = std::mem::take(&mut linked.built[c]);
            let into = &mut built[slot[root]];
            into.0.extend(members);
            into.1.extend(links);
        }
        for (a, b) in joins {
            let c = slot[join.find(linked.cluster_of[a])];
            built[c].1.push((b, a, true));
            touched.push(c);
        }
        for (c, (members, _)) in built.iter_mut().enumerate() {
            members.sort_by_key(|&g| rank[g]);
            for &g in members.iter() {
                linked.cluster_of[g] = c;
            }
        }
        linked.built = built;
    }

    // 2. A `distinct` pair sharing a cluster is split, until none does. Each split leaves
    //    both parts non-empty, so this ends.
    let n = linked.cluster_of.len();
    let mut components = Sets::new(n);
    for p in &rules.same {
        components.union(p.a, p.b);
    }
    let component: HashMap<usize, usize> = rules
        .same
        .iter()
        .flat_map(|p| [p.a, p.b])
        .map(|g| (g, components.find(g)))
        .collect();
    let comp = |g: usize| component.get(&g).copied().unwrap_or(g);
    loop {
        let mut split = false;
        for (d, p) in rules.distinct.iter().enumerate() {
            let c = linked.cluster_of[p.a];
            let (ka, kb) = (comp(p.a), comp(p.b));
            // One `same` chain holding both is refused when the spec is compiled; should one
            // come through, `same` holds.
            if c != linked.cluster_of[p.b] || ka == kb {
                continue;
            }
            let members = &linked.built[c].0;
            let head = *members
                .iter()
                .min_by_key(|&&g| rank[g])
                .expect("a cluster has members");
            let first = |k: usize| {
                members
                    .iter()
                    .filter(|&&g| comp(g) == k)
                    .map(|&g| rank[g])
                    .min()
            };
            let kh = comp(head);
            let leaving = if ka == kh {
                kb
            } else if kb == kh || first(ka) > first(kb) {
                ka
            } else {
                kb
            };
            let new = split_off(linked, c, head, |g| comp(g) == leaving, rules);
            touched.extend([c, new]);
            linked.kept_apart[d] = true;
            split = true;
        }
        if !split {
            break;
        }
    }

    // 3. The links of every cluster touched, chosen again.
    touched.sort_unstable();
    touched.dedup();
    if touched.is_empty() {
        return;
    }
    let mut is_touched = vec![false; linked.built.len()];
    for &c in &touched {
        is_touched[c] = true;
    }
    let mut scored: HashMap<usize, Vec<(f64, usize, usize)>> = HashMap::default();
    for (&(a, b), &p) in ctx.pairs.iter().zip(ctx.probability) {
        let (a, b) = (a as usize, b as usize);
        let c = linked.cluster_of[a];
        if c == linked.cluster_of[b] && is_touched[c] {
            scored.entry(c).or_default().push((p, a, b));
        }
    }
    for c in touched {
        let mut candidates = scored.remove(&c).unwrap_or_default();
        candidates.sort_by(|x, y| {
            y.0.total_cmp(&x.0)
                .then(rank[x.1].min(rank[x.2]).cmp(&rank[y.1].min(rank[y.2])))
                .then(rank[x.1].max(rank[x.2]).cmp(&rank[y.1].max(rank[y.2])))
        });
        let members = &mut linked.built[c].0;
        members.sort_by_key(|&g| rank[g]);
        let local: HashMap<usize, usize> =
            members.iter().enumerate().map(|(i, &g)| (g, i)).collect();
        let mut sets = Sets::new(members.len());
        let mut links = Vec::with_capacity(members.len().saturating_sub(1));
        for p in &rules.same {
            if let (Some(&la), Some(&lb)) = (local.get(&p.a), local.get(&p.b))
                && sets.union(la, lb)
            {
                links.push((p.b, p.a, true));
            }
        }
        for (_, a, b) in candidates {
            if sets.union(local[&a], local[&b]) {
                let (to, rec) = if rank[a] < rank[b] { (a, b) } else { (b, a) };
                links.push((rec, to, false));
            }
        }
        // A record no pair reaches (none in practice) is shown linked to the first record.
        for (i, &g) in members.iter().enumerate().skip(1) {
            if sets.union(0, i) {
                links.push((g, members[0], false));
            }
        }
        linked.built[c].1 = links;
    }
}

/// Moves out of cluster `c` the records `leaving` picks, with every record that was linked
/// to `head` only through them, into a new cluster; returns its index.
fn split_off(
    linked: &mut Linked,
    c: usize,
    head: usize,
    leaving: impl Fn(usize) -> bool,
    rules: &Rules<'_>,
) -> usize {
    let (members, links) = std::mem::take(&mut linked.built[c]);
    let local: HashMap<usize, usize> = members.iter().enumerate().map(|(i, &g)| (g, i)).collect();
    let out: Vec<bool> = members.iter().map(|&g| leaving(g)).collect();
    // Pieces of the cluster without the leaving records: held by links and by `same` pairs.
    let mut pieces = Sets::new(members.len());
    let same = rules.same.iter().map(|p| (p.a, p.b));
    for (a, b) in links.iter().map(|&(a, b, _)| (a, b)).chain(same) {
        if let (Some(&la), Some(&lb)) = (local.get(&a), local.get(&b))
            && !out[la]
            && !out[lb]
        {
            pieces.union(la, lb);
        }
    }
    let stay = pieces.find(local[&head]);
    let stays: Vec<bool> = (0..members.len())
        .map(|i| !out[i] && pieces.find(i) == stay)
        .collect();
    let new = linked.built.len();
    let (mut kept, mut moved): (Building, Building) = Default::default();
    for (i, g) in members.into_iter().enumerate() {
        if stays[i] {
            kept.0.push(g);
        } else {
            linked.cluster_of[g] = new;
            moved.0.push(g);
        }
    }
    for link in links {
        let (Some(&la), Some(&lb)) = (local.get(&link.0), local.get(&link.1)) else {
            continue;
        };
        if stays[la] && stays[lb] {
            kept.1.push(link);
        } else if !stays[la] && !stays[lb] {
            moved.1.push(link);
        }
    }
    linked.built[c] = kept;
    linked.built.push(moved);
    new
}

/// Every record whose group differs from the one it had without overrides (its first record
/// changed), with the override that moved it: of the overrides that changed something (a
/// `same` pair apart without overrides, a `distinct` pair together without overrides or that
/// kept a link from being made), those among the groups before and after that share records
/// with the record's, or the ones naming it when some do.
pub(super) fn effects(
    ctx: &Ctx<'_>,
    rules: &Rules<'_>,
    baseline: &Linked,
    now: &Linked,
    clusters: &[Cluster],
) -> Vec<OverrideEffect> {
    let (rank, flat) = (ctx.rank, ctx.flat);
    let first = |members: &mut dyn Iterator<Item = usize>| {
        members
            .min_by_key(|&g| rank[g])
            .expect("a cluster has members")
    };
    let heads_before: Vec<usize> = baseline
        .built
        .iter()
        .map(|(m, _)| first(&mut m.iter().copied()))
        .collect();
    let heads_now: Vec<usize> = clusters
        .iter()
        .map(|c| first(&mut c.members.iter().map(|&m| flat.global(m))))
        .collect();
    let (before, after) = (&baseline.cluster_of, &now.cluster_of);
    let moved: Vec<usize> = (0..before.len())
        .filter(|&g| heads_before[before[g]] != heads_now[after[g]])
        .collect();
    if moved.is_empty() {
        return Vec::new();
    }
    // Groups before (0..nb) and after (nb..) that share a record, transitively: where a
    // change spread.
    let nb = baseline.built.len();
    let mut near = Sets::new(nb + clusters.len());
    for g in 0..before.len() {
        near.union(before[g], nb + after[g]);
    }
    let mut active: HashMap<usize, Vec<(&Pair<'_>, bool)>> = HashMap::default();
    for p in &rules.same {
        if before[p.a] != before[p.b] {
            let at = near.find(before[p.a]);
            active.entry(at).or_default().push((p, true));
        }
    }
    for (d, p) in rules.distinct.iter().enumerate() {
        if before[p.a] == before[p.b] || now.kept_apart[d] {
            let at = near.find(before[p.a]);
            active.entry(at).or_default().push((p, false));
        }
    }
    let mut out = Vec::new();
    for g in moved {
        let Some(causes) = active.get(&near.find(before[g])) else {
            continue;
        };
        let naming: Vec<&(&Pair<'_>, bool)> = causes
            .iter()
            .filter(|(p, _)| p.a == g || p.b == g)
            .collect();
        let causes: Vec<&(&Pair<'_>, bool)> = if naming.is_empty() {
            causes.iter().collect()
        } else {
            naming
        };
        let was_with = baseline.built[before[g]]
            .0
            .iter()
            .copied()
            .filter(|&h| h != g)
            .min_by_key(|&h| rank[h]);
        let cluster = &clusters[after[g]];
        let member = flat.member(g);
        // The best link holding the record now to a record it was not grouped with before.
        let instead = cluster
            .links
            .iter()
            .filter(|l| !l.forced && (l.record == member || l.to == member))
            .map(|l| {
                let other = if l.record == member { l.to } else { l.record };
                (other, l.score.probability)
            })
            .filter(|(other, _)| before[flat.global(*other)] != before[g])
            .max_by(|x, y| {
                x.1.total_cmp(&y.1)
                    .then(rank[flat.global(y.0)].cmp(&rank[flat.global(x.0)]))
            });
        for &&(p, is_same) in &causes {
            let effect = match instead {
                Some((to, score)) if !is_same => Effect::LinkedInstead { to, score },
                _ => Effect::Moved,
            };
            out.push(OverrideEffect {
                origin: p.decided.origin.clone(),
                record: member,
                cluster: after[g],
                was_with: was_with.map(|h| flat.member(h)),
                effect,
            });
        }
    }
    out.sort_by(|x, y| {
        (x.origin.file.as_str(), x.origin.line, x.origin.kind)
            .cmp(&(y.origin.file.as_str(), y.origin.line, y.origin.kind))
            .then(rank[flat.global(x.record)].cmp(&rank[flat.global(y.record)]))
    });
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Matches, cluster};
    use super::*;
    use crate::spec::CompareMethod;
    use crate::spec::compiled::{Comparison, RecordRef};
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

    /// `"1:2"` → source 1, id `2`.
    fn record(r: &str) -> RecordRef {
        let (s, id) = r.split_once(':').unwrap();
        RecordRef {
            source: s.parse().unwrap(),
            id: id.into(),
        }
    }

    fn decided(kind: &'static str, line: usize, a: &str, b: &str) -> Override {
        Override {
            a: record(a),
            b: record(b),
            origin: Origin {
                file: "spec.yaml".into(),
                line,
                kind,
                label: false,
            },
        }
    }

    fn same(c: &mut MatchConfig, line: usize, a: &str, b: &str) {
        c.same.push(decided("same", line, a, b));
    }

    fn distinct(c: &mut MatchConfig, line: usize, a: &str, b: &str) {
        c.distinct.push(decided("distinct", line, a, b));
    }

    /// Clusters as sorted lists of `source:id`, sorted.
    fn ids(m: &Matches, s: &[Vec<Record>]) -> Vec<Vec<String>> {
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

    fn group_of(m: &Matches, s: &[Vec<Record>], r: &str) -> Vec<String> {
        ids(m, s)
            .into_iter()
            .find(|c| c.iter().any(|x| x == r))
            .unwrap_or_else(|| panic!("{r} is in no cluster"))
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_chain_of_same_across_three_sources_is_one_cluster() {
        let sources = vec![
            vec![rec(0, "1", "Venue", ""), rec(0, "2", "Luma", "")],
            vec![rec(1, "1", "Revue Bar", ""), rec(1, "2", "Venue", "")],
            vec![rec(2, "1", "Shebeen", ""), rec(2, "2", "Revue Bar", "")],
        ];
        let mut c = config();
        same(&mut c, 10, "0:1", "1:1");
        same(&mut c, 11, "1:1", "2:1");
        let m = cluster(&c, &sources);
        assert_eq!(
            group_of(&m, &sources, "0:1"),
            strings(&["0:1", "1:1", "2:1"])
        );
        // The records the scores would have linked keep apart: one record per source.
        assert_eq!(group_of(&m, &sources, "1:2"), strings(&["1:2"]));
        assert_eq!(group_of(&m, &sources, "2:2"), strings(&["2:2"]));
        let linked = &m.clusters[m
            .clusters
            .iter()
            .position(|x| x.members.len() == 3)
            .unwrap()];
        assert!(linked.links.iter().all(|l| l.forced), "{:?}", linked.links);
    }

    #[test]
    fn a_chain_of_same_within_one_source_ignores_max_cluster() {
        let sources = vec![vec![
            rec(0, "1", "Luma", ""),
            rec(0, "2", "Shebeen", ""),
            rec(0, "3", "Nandos", ""),
            rec(0, "4", "Spur", ""),
        ]];
        let mut c = config();
        c.max_cluster = 2;
        same(&mut c, 10, "0:1", "0:2");
        same(&mut c, 11, "0:3", "0:2");
        let m = cluster(&c, &sources);
        assert_eq!(
            ids(&m, &sources),
            vec![strings(&["0:1", "0:2", "0:3"]), strings(&["0:4"])]
        );
    }

    #[test]
    fn two_same_pairs_sharing_a_record_both_hold() {
        // Without overrides, crm:1 links to sheet:1, its exact copy; both pairs name crm:1.
        let sources = vec![
            vec![rec(0, "1", "Luma Bar", "luma@x.co")],
            vec![
                rec(1, "1", "Luma Bar", "luma@x.co"),
                rec(1, "2", "Shebeen", ""),
                rec(1, "3", "Spur", ""),
            ],
        ];
        let mut c = config();
        same(&mut c, 10, "0:1", "1:2");
        same(&mut c, 11, "1:3", "0:1");
        let m = cluster(&c, &sources);
        assert_eq!(
            group_of(&m, &sources, "0:1"),
            strings(&["0:1", "1:2", "1:3"])
        );
        // Each record that moved is said, with the line that moved it.
        let said: Vec<(usize, String)> = m
            .overrides
            .iter()
            .map(|e| {
                (
                    e.origin.line,
                    format!("{}:{}", e.record.source, e.record.index),
                )
            })
            .collect();
        assert!(said.contains(&(10, "1:1".into())), "{said:?}");
        assert!(said.contains(&(11, "1:2".into())), "{said:?}");
        assert!(m.overrides.iter().all(|e| e.effect == Effect::Moved));
        // sheet:1 left crm:1 because of both; it was with crm:1.
        let left = m.overrides.iter().find(|e| e.record.index == 0).unwrap();
        assert_eq!(
            left.was_with,
            Some(Member {
                source: 0,
                index: 0
            })
        );
    }

    #[test]
    fn distinct_holds_against_a_forced_chain() {
        let sources = vec![
            vec![rec(0, "1", "Luma Bar", "luma@x.co")],
            vec![rec(1, "1", "Luma Bar", "luma@x.co")],
            vec![
                rec(2, "1", "Revue", ""),
                rec(2, "2", "Luma Bar", "luma@x.co"),
            ],
        ];
        let mut c = config();
        // 0:1 = 2:1 by `same`; 1:1 = 2:2 = 0:1 by score; 1:1 ≠ 2:1.
        same(&mut c, 10, "0:1", "2:1");
        distinct(&mut c, 12, "1:1", "2:1");
        let m = cluster(&c, &sources);
        let got = ids(&m, &sources);
        for group in &got {
            assert!(
                !(group.contains(&"1:1".into()) && group.contains(&"2:1".into())),
                "{got:?}"
            );
        }
        assert_eq!(group_of(&m, &sources, "0:1"), strings(&["0:1", "2:1"]));
        // 1:1 was with 0:1 by score; now it is not, and the distinct says so.
        let moved: Vec<&OverrideEffect> = m
            .overrides
            .iter()
            .filter(|e| {
                e.record
                    == Member {
                        source: 1,
                        index: 0,
                    }
            })
            .collect();
        assert_eq!(moved.len(), 1, "{:?}", m.overrides);
        assert_eq!(moved[0].origin.line, 12);
    }

    #[test]
    fn a_record_a_distinct_splits_off_and_that_links_elsewhere_is_flagged() {
        let sources = vec![
            vec![
                rec(0, "1", "Luma Bar", "luma@x.co"),
                rec(0, "2", "Luma Bar", ""),
            ],
            vec![rec(1, "1", "Luma Bar", "luma@x.co")],
        ];
        let without = cluster(&config(), &sources);
        assert_eq!(
            group_of(&without, &sources, "1:1"),
            strings(&["0:1", "1:1"])
        );
        let mut c = config();
        distinct(&mut c, 14, "0:1", "1:1");
        let m = cluster(&c, &sources);
        assert_eq!(group_of(&m, &sources, "1:1"), strings(&["0:2", "1:1"]));
        let effect = m
            .overrides
            .iter()
            .find(|e| {
                e.record
                    == Member {
                        source: 1,
                        index: 0,
                    }
            })
            .unwrap_or_else(|| panic!("{:?}", m.overrides));
        assert_eq!(effect.origin.line, 14);
        match effect.effect {
            Effect::LinkedInstead { to, score } => {
                assert_eq!(
                    to,
                    Member {
                        source: 0,
                        index: 1
                    }
                );
                assert!(score >= c.threshold, "{score}");
            }
            Effect::Moved => panic!("not flagged: {effect:?}"),
        }
    }

    #[test]
    fn without_overrides_nothing_is_said() {
        let sources = vec![
            vec![rec(0, "1", "Luma Bar", "luma@x.co")],
            vec![rec(1, "1", "Luma Bar", "luma@x.co")],
        ];
        let mut c = config();
        // A pair the scores make anyway changes nothing.
        same(&mut c, 10, "0:1", "1:1");
        assert!(cluster(&c, &sources).overrides.is_empty());
        assert!(cluster(&config(), &sources).overrides.is_empty());
    }

    const POOL: &[&str] = &[
        "Luma",
        "Luma Bar and Lounge",
        "Ocean Basket Menlyn",
        "Ocean Basket Brooklyn",
        "Mugg & Bean",
        "Mugg and Bean",
        "Barchefz",
        "The Junction",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, .. Default::default() })]

        /// Whatever the scores: every `same` pair shares a cluster, no `distinct` pair does,
        /// and the clusters do not depend on the order of the records.
        #[test]
        fn overrides_always_hold(
            picks in proptest::collection::vec(
                proptest::collection::vec((0..POOL.len(), proptest::option::of(0u8..3)), 1..6),
                2..4,
            ),
            labels in proptest::collection::vec(
                (proptest::bool::ANY, 0usize..4, 0usize..6, 0usize..4, 0usize..6),
                0..8,
            ),
            dedupe in proptest::bool::ANY,
            max_cluster in 2usize..5,
        ) {
            let sources: Vec<Vec<Record>> = picks
                .iter()
                .enumerate()
                .map(|(s, recs)| {
                    recs.iter()
                        .enumerate()
                        .map(|(i, (n, e))| {
                            let email = e.map(|e| format!("c{e}@x.co")).unwrap_or_default();
                            rec(s, &format!("r{i}"), POOL[*n], &email)
                        })
                        .collect()
                })
                .collect();
            let mut c = config();
            c.dedupe = vec![dedupe; sources.len()];
            c.max_cluster = max_cluster;
            // Labels over existing records, contradictions left out as the spec refuses them.
            let name = |s: usize, i: usize| {
                let s = s % sources.len();
                format!("{s}:r{}", i % sources[s].len())
            };
            let mut pairs: Vec<(bool, String, String)> = labels
                .iter()
                .map(|&(is_same, sa, ia, sb, ib)| (is_same, name(sa, ia), name(sb, ib)))
                .filter(|(_, a, b)| a != b)
                .collect();
            pairs.sort_by_key(|p| !p.0);
            for (line, (is_same, a, b)) in pairs.iter().enumerate() {
                if *is_same {
                    same(&mut c, line + 1, a, b);
                } else {
                    let o = decided("distinct", line + 1, a, b);
                    if crate::spec::compile::same_chain(&c.same, &o.a, &o.b).is_none() {
                        c.distinct.push(o);
                    }
                }
            }
            let m = cluster(&c, &sources);
            let got = ids(&m, &sources);
            let together = |a: &RecordRef, b: &RecordRef| {
                let (a, b) = (format!("{}:{}", a.source, a.id), format!("{}:{}", b.source, b.id));
                got.iter().any(|g| g.contains(&a) && g.contains(&b))
            };
            for o in &c.same {
                proptest::prop_assert!(together(&o.a, &o.b), "same {:?} apart in {:?}", o, got);
            }
            for o in &c.distinct {
                proptest::prop_assert!(!together(&o.a, &o.b), "distinct {:?} together in {:?}", o, got);
            }
            let mut shuffled = sources.clone();
            for (s, recs) in shuffled.iter_mut().enumerate() {
                if s % 2 == 0 { recs.reverse() } else { recs.rotate_left(1) }
            }
            proptest::prop_assert_eq!(got, ids(&cluster(&c, &shuffled), &shuffled));
        }
    }
}
