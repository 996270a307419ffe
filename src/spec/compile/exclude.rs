//! The `exclude` section: rules whose conditions drop records before matching.

use regex::Regex;

use super::FieldNames;
use crate::spec::compiled::{Predicate, Rule};
use crate::spec::report::Reporter;
use crate::spec::{Condition, Spec};
use crate::suggest::did_you_mean;

/// The exclusion rules; `source_index` finds a source by name, `declared` lists them all.
pub(super) fn rules(
    spec: &Spec,
    names: &FieldNames<'_>,
    source_index: &dyn Fn(&str) -> Option<usize>,
    declared: &[&str],
    r: &mut Reporter<'_>,
) -> Vec<Rule> {
    let mut exclude = Vec::new();
    for (i, rule) in spec.exclude.iter().enumerate() {
        let p = format!("/exclude/{i}");
        let when = condition(&rule.when, &format!("{p}/when"), r, names);
        let mut rule_sources = Vec::new();
        for (j, s) in rule.sources.iter().enumerate() {
            match source_index(s) {
                Some(idx) => rule_sources.push(idx),
                None => r.at_value(
                    &format!("{p}/sources/{j}"),
                    format!("`{s}` is not a declared source"),
                    did_you_mean(s, declared.iter().copied())
                        .map(|s| format!("did you mean `{s}`?")),
                ),
            }
        }
        if let Some(when) = when {
            exclude.push(Rule {
                name: rule.name.clone(),
                when,
                sources: rule_sources,
            });
        }
    }
    exclude
}

/// One condition, `all`/`any`/`not` groups compiled recursively.
fn condition(
    c: &Condition,
    p: &str,
    r: &mut Reporter<'_>,
    names: &FieldNames<'_>,
) -> Option<Predicate> {
    let tests = [
        c.equals.is_some(),
        c.one_of.is_some(),
        c.matches.is_some(),
        c.missing.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let groups = [c.all.is_some(), c.any.is_some(), c.not.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    let shape_help = Some(
        "write `{ field: kind, equals: private }`, or combine conditions with `all`, `any`, `not`"
            .to_string(),
    );
    if let Some(field) = &c.field {
        if groups > 0 || tests != 1 {
            r.at(
                p,
                "a field condition needs exactly one test: `equals`, `in`, `matches` or `missing`",
                shape_help,
            );
            return None;
        }
        let idx = names.resolve(r, &format!("{p}/field"), field, true)?;
        if let Some(v) = &c.equals {
            return Some(Predicate::Equals(idx, v.clone()));
        }
        if let Some(v) = &c.one_of {
            return Some(Predicate::In(idx, v.clone()));
        }
        if let Some(m) = &c.missing {
            return Some(Predicate::Missing(idx, *m));
        }
        if let Some(re) = &c.matches {
            return match Regex::new(re) {
                Ok(re) => Some(Predicate::Matches(idx, re)),
                Err(e) => {
                    r.at_value(
                        &format!("{p}/matches"),
                        format!("invalid regular expression: {e}"),
                        None,
                    );
                    None
                }
            };
        }
        return None;
    }
    if tests > 0 || groups != 1 {
        r.at(
            p,
            if tests > 0 {
                "`equals`, `in`, `matches` and `missing` need a `field`"
            } else {
                "a condition needs a `field` test, or exactly one of `all`, `any`, `not`"
            },
            shape_help,
        );
        return None;
    }
    let list = |items: &Vec<Condition>, key: &str, r: &mut Reporter<'_>| {
        let out: Vec<Predicate> = items
            .iter()
            .enumerate()
            .filter_map(|(i, c)| condition(c, &format!("{p}/{key}/{i}"), r, names))
            .collect();
        (out.len() == items.len()).then_some(out)
    };
    if let Some(items) = &c.all {
        return list(items, "all", r).map(Predicate::All);
    }
    if let Some(items) = &c.any {
        return list(items, "any", r).map(Predicate::Any);
    }
    if let Some(inner) = &c.not {
        return condition(inner, &format!("{p}/not"), r, names)
            .map(|x| Predicate::Not(Box::new(x)));
    }
    None
}
