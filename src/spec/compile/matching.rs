//! The `match` section: thresholds, comparisons (written, or derived from the field types),
//! blocking rules, and the `same` / `distinct` overrides.

use indexmap::IndexMap;

use super::FieldNames;
use crate::spec::compiled::{
    Blocking, Comparison, ModelOrigin, Origin, Override, RecordRef, derived_comparisons,
};
use crate::spec::report::Reporter;
use crate::spec::yaml::escape_segment;
use crate::spec::{
    BlockingKey, BlockingRule, CompareMethod, CompareSpec, KeyTransform, Spec, Weights,
};
use crate::suggest::did_you_mean;

/// The comparisons, blocking rules, per-source dedupe and where the comparisons came from;
/// `order` is the sources' priority order, `sources` their count, `address_field` the field
/// addresses are made of.
pub(super) fn matching(
    spec: &Spec,
    names: &FieldNames<'_>,
    order: &[usize],
    sources: usize,
    address_field: usize,
    r: &mut Reporter<'_>,
) -> (Vec<Comparison>, Vec<Blocking>, Vec<bool>, ModelOrigin) {
    let m = &spec.matching;
    if m.review > m.threshold {
        r.at_value(
            "/match/review",
            format!(
                "the review band ({}) must not be above the threshold ({})",
                m.review, m.threshold
            ),
            Some("lower `review`, or raise `threshold`".into()),
        );
    }
    // Without `compare`, comparisons come from the field types: a spec written without one
    // must still link the same customer across sources, and the plan says which were used.
    let (origin, compare) = match &m.compare {
        Some(written) if written.is_empty() => (ModelOrigin::Off, IndexMap::new()),
        Some(written) => (ModelOrigin::Written, written.clone()),
        None => {
            let derived = derived_comparisons(&spec.target.fields, address_field);
            if derived.is_empty() {
                (ModelOrigin::NothingToCompare, derived)
            } else {
                (ModelOrigin::Derived, derived)
            }
        }
    };
    let comparisons: Vec<Comparison> = compare
        .iter()
        .filter_map(|(name, c)| comparison(name, c, m.weights, names, r))
        .collect();
    let blocking: Vec<Blocking> = m
        .blocking
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| blocking_rule(i, rule, names, r))
        .collect();
    let dedupe: Vec<bool> = order.iter().map(|&idx| spec.sources[idx].dedupe).collect();
    if comparisons.is_empty() && sources > 1 {
        // Without comparisons, records of different sources are never linked; say so only
        // when the user wrote a `match` section that compares nothing.
        if m.compare.as_ref().is_some_and(|c| !c.is_empty()) {
            r.at("/match/compare", "no usable comparison", None);
        }
    }
    (comparisons, blocking, dedupe, origin)
}

/// One comparison of `match.compare`, checked; `None` when a problem was reported.
fn comparison(
    name: &str,
    c: &CompareSpec,
    weights: Weights,
    names: &FieldNames<'_>,
    r: &mut Reporter<'_>,
) -> Option<Comparison> {
    let p = format!("/match/compare/{}", escape_segment(name));
    let field = names.resolve(r, &p, name, false)?;
    let mut comp = Comparison::new(field, name, c.method);
    comp.weight = c.weight;
    if let Some(levels) = &c.levels {
        let similarity = !matches!(
            c.method,
            CompareMethod::Levenshtein | CompareMethod::DamerauLevenshtein
        );
        let sorted = if similarity {
            levels.windows(2).all(|w| w[0] > w[1])
        } else {
            levels.windows(2).all(|w| w[0] < w[1])
        };
        let in_range = levels.iter().all(|&x| {
            if similarity {
                (0.0..1.0).contains(&x)
            } else {
                x >= 1.0 && x.fract() == 0.0
            }
        });
        if !crate::matching::method::has_fuzzy_levels(c.method) {
            r.at(
                &format!("{p}/levels"),
                format!("method `{}` has no fuzzy levels", c.method.name()),
                None,
            );
        } else if !sorted || !in_range {
            r.at_value(
                &format!("{p}/levels"),
                if similarity {
                    "levels are similarities below 1, strongest (highest) first".to_string()
                } else {
                    "levels are whole edit counts of at least 1, smallest first".to_string()
                },
                Some(if similarity {
                    "e.g. `levels: [0.92, 0.8]`".into()
                } else {
                    "e.g. `levels: [1, 2]`".into()
                }),
            );
        } else {
            comp.thresholds = levels.clone();
        }
    }
    if let Some(days) = c.days {
        if c.method != CompareMethod::Date {
            r.at(
                &format!("{p}/days"),
                "`days` only applies to `method: date`",
                None,
            );
        }
        comp.days = days;
    }
    if c.tolerance.is_some() && c.method != CompareMethod::Numeric {
        r.at(
            &format!("{p}/tolerance"),
            "`tolerance` only applies to `method: numeric`",
            None,
        );
    }
    comp.tolerance = c.tolerance;
    if let Some(tf) = c.term_frequency {
        comp.term_frequency = tf;
    }
    let count = crate::matching::method::level_names(&comp).len();
    for (key, list) in [("m", &c.m), ("u", &c.u)] {
        if let Some(list) = list {
            if list.len() != count {
                r.at_value(
                    &format!("{p}/{key}"),
                    format!(
                        "{} values given, but this comparison has {count} levels ({})",
                        list.len(),
                        crate::matching::method::level_names(&comp).join(", ")
                    ),
                    None,
                );
            } else if list.iter().any(|&x| !(x > 0.0 && x <= 1.0)) {
                r.at_value(
                    &format!("{p}/{key}"),
                    "probabilities must be above 0 and at most 1",
                    None,
                );
            }
        }
    }
    if (c.m.is_some() || c.u.is_some()) && weights != Weights::Given {
        r.at(
            &p,
            "`m` and `u` are estimated with `weights: auto` and `weights: labels`",
            Some("remove them, or set `weights: given`".into()),
        );
    }
    comp.m = c.m.clone();
    comp.u = c.u.clone();
    Some(comp)
}

/// One blocking rule, checked; `None` when a problem was reported.
fn blocking_rule(
    i: usize,
    rule: &BlockingRule,
    names: &FieldNames<'_>,
    r: &mut Reporter<'_>,
) -> Option<Blocking> {
    let p = format!("/match/blocking/{i}");
    if rule.on.is_empty() {
        r.at(
            &format!("{p}/on"),
            "a blocking rule needs at least one key",
            None,
        );
    }
    let mut keys = Vec::new();
    let mut parts = Vec::new();
    for (j, k) in rule.on.iter().enumerate() {
        let (field, transform, length) = match k {
            BlockingKey::Field(f) => (f, KeyTransform::Exact, None),
            BlockingKey::Transformed(t) => (&t.field, t.key, t.length),
        };
        let kp = match k {
            BlockingKey::Field(_) => format!("{p}/on/{j}"),
            BlockingKey::Transformed(_) => format!("{p}/on/{j}/field"),
        };
        if length.is_some() && transform != KeyTransform::Prefix {
            r.at(
                &format!("{p}/on/{j}/length"),
                "`length` only applies to `key: prefix`",
                None,
            );
        }
        if let Some(fi) = names.resolve(r, &kp, field, true) {
            keys.push((fi, transform, length.unwrap_or(4)));
            parts.push(match transform {
                KeyTransform::Exact => field.clone(),
                KeyTransform::Prefix => format!("prefix{}({field})", length.unwrap_or(4)),
                KeyTransform::FirstToken => format!("first_token({field})"),
                KeyTransform::Tokens => format!("tokens({field})"),
                KeyTransform::Soundex => format!("soundex({field})"),
            });
        }
    }
    if keys.len() == rule.on.len() && !keys.is_empty() {
        let sep = if rule.unordered { "~" } else { "+" };
        return Some(Blocking {
            name: parts.join(sep),
            keys,
            unordered: rule.unordered,
        });
    }
    None
}

/// The `same` or `distinct` pairs (`key`), each record resolved to its source.
pub(super) fn overrides(
    list: &[[String; 2]],
    key: &'static str,
    source_index: &dyn Fn(&str) -> Option<usize>,
    declared: &[&str],
    r: &mut Reporter<'_>,
) -> Vec<(usize, Override)> {
    let mut out = Vec::new();
    for (i, pair) in list.iter().enumerate() {
        let mut refs = Vec::new();
        for (j, item) in pair.iter().enumerate() {
            let pointer = format!("/match/{key}/{i}/{j}");
            match item.split_once(':') {
                Some((s, id)) => match source_index(s) {
                    Some(source) => refs.push(RecordRef {
                        source,
                        id: id.to_string(),
                    }),
                    None => r.at_value(
                        &pointer,
                        format!("`{s}` is not a declared source"),
                        did_you_mean(s, declared.iter().copied())
                            .map(|s| format!("did you mean `{s}`?")),
                    ),
                },
                None => r.at_value(
                    &pointer,
                    format!("`{item}` does not name a record"),
                    Some("write records as `source:id`, e.g. `production:7`".into()),
                ),
            }
        }
        if let [a, b] = refs.as_slice() {
            out.push((
                i,
                Override {
                    a: a.clone(),
                    b: b.clone(),
                    origin: Origin {
                        file: r.file.clone(),
                        line: r.line_of(&format!("/match/{key}/{i}")),
                        kind: key,
                        label: false,
                    },
                },
            ));
        }
    }
    out
}

/// Refuses each `distinct` pair (with its index in `match.distinct`) whose records a chain of
/// `same` pairs makes one entity: it can be honoured in no way. Reported at the `distinct`
/// pair, naming the `same` lines; `names` gives each source's name.
pub(super) fn contradictions(
    same: &[Override],
    distinct: &[(usize, Override)],
    names: &dyn Fn(usize) -> String,
    r: &mut Reporter<'_>,
) {
    for (i, d) in distinct {
        let Some(chain) = same_chain(same, &d.a, &d.b) else {
            continue;
        };
        let name = |x: &RecordRef| format!("{}:{}", names(x.source), x.id);
        // The chain from one record of the pair to the other.
        let mut from = &d.a;
        let links: Vec<String> = chain
            .iter()
            .map(|o| {
                let to = if o.a == *from { &o.b } else { &o.a };
                let at = if o.origin.label || o.origin.line == 0 {
                    o.origin.to_string()
                } else {
                    format!("line {}", o.origin.line)
                };
                let link = format!("{} = {} ({at})", name(from), name(to));
                from = to;
                link
            })
            .collect();
        r.at_value(
            &format!("/match/distinct/{i}"),
            format!(
                "`{}` and `{}` cannot be distinct: {} makes them one entity",
                name(&d.a),
                name(&d.b),
                origins(&chain)
            ),
            Some(format!(
                "{}; remove this pair, or the `same` pair that is wrong",
                links.join(", ")
            )),
        );
    }
}

/// The `same` pairs that make `a` and `b` one entity, as a chain from `a` to `b` (shortest
/// first found), when some do. Records are compared as written (`source:id`): no data needed.
pub fn same_chain<'o>(
    same: &'o [Override],
    a: &RecordRef,
    b: &RecordRef,
) -> Option<Vec<&'o Override>> {
    use std::collections::{HashMap, VecDeque};
    if a == b {
        return None;
    }
    let mut next: HashMap<&RecordRef, Vec<&Override>> = HashMap::new();
    for o in same {
        next.entry(&o.a).or_default().push(o);
        next.entry(&o.b).or_default().push(o);
    }
    let other = |o: &'o Override, x: &RecordRef| if o.a == *x { &o.b } else { &o.a };
    // Each record reached, by the pair that reached it.
    let mut reached: HashMap<&RecordRef, Option<&Override>> = HashMap::from([(a, None)]);
    let mut queue = VecDeque::from([a]);
    while let Some(x) = queue.pop_front() {
        if x == b {
            let mut chain = Vec::new();
            let mut at = b;
            while let Some(Some(o)) = reached.get(at) {
                chain.push(*o);
                at = other(o, at);
            }
            chain.reverse();
            return Some(chain);
        }
        for &o in next.get(x).map(Vec::as_slice).unwrap_or_default() {
            let y = other(o, x);
            if !reached.contains_key(y) {
                reached.insert(y, Some(o));
                queue.push_back(y);
            }
        }
    }
    None
}

/// Where a chain of `same` pairs was written: "`match.same` on lines 12 and 14" when all in
/// the spec, else each origin in full.
fn origins(chain: &[&Override]) -> String {
    if chain.iter().all(|o| !o.origin.label && o.origin.line > 0) {
        let mut lines: Vec<usize> = chain.iter().map(|o| o.origin.line).collect();
        lines.sort_unstable();
        lines.dedup();
        let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
        return match lines.as_slice() {
            [one] => format!("`match.same` on line {one}"),
            [rest @ .., last] => format!("`match.same` on lines {} and {last}", rest.join(", ")),
            [] => "`match.same`".to_string(),
        };
    }
    let all: Vec<String> = chain.iter().map(|o| o.origin.to_string()).collect();
    all.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_same_is_found_from_either_end() {
        let r = |s: usize, id: &str| RecordRef {
            source: s,
            id: id.into(),
        };
        let pair = |a: RecordRef, b: RecordRef, line: usize| Override {
            a,
            b,
            origin: Origin {
                file: "spec.yaml".into(),
                line,
                kind: "same",
                label: false,
            },
        };
        let same = vec![
            pair(r(0, "1"), r(1, "7"), 12),
            pair(r(2, "9"), r(0, "5"), 13),
            pair(r(1, "7"), r(0, "2"), 14),
        ];
        let lines = |a, b| {
            same_chain(&same, &a, &b).map(|c| c.iter().map(|o| o.origin.line).collect::<Vec<_>>())
        };
        assert_eq!(lines(r(0, "2"), r(0, "1")), Some(vec![14, 12]));
        assert_eq!(lines(r(0, "1"), r(0, "2")), Some(vec![12, 14]));
        assert_eq!(lines(r(0, "1"), r(2, "9")), None);
        assert_eq!(lines(r(0, "1"), r(0, "1")), None);
    }
}
