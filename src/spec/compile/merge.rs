//! The `merge` section: one survivorship rule per target field, `merge.default` for the
//! fields without their own under `merge.fields`. Each rule is checked against the field it
//! chooses (`max` needs numbers or dates, `longest` text), the sources it names and the field
//! `most_recent` reads its dates from.

use super::FieldNames;
use crate::spec::compiled::MergeRule as Rule;
use crate::spec::compiled::{Field, Source};
use crate::spec::report::Reporter;
use crate::spec::yaml::escape_segment;
use crate::spec::{FieldType, RuleSpec, Spec, Survivorship, SurvivorshipSpec};
use crate::suggest::did_you_mean;

/// The rule of every field, in field order.
pub(super) fn rules(
    spec: &Spec,
    names: &FieldNames<'_>,
    sources: &[Source],
    r: &mut Reporter<'_>,
) -> Vec<Rule> {
    let fields = names.fields;
    let declared: Vec<&str> = spec.sources.keys().map(String::as_str).collect();
    let ctx = Context {
        names,
        sources,
        declared: &declared,
    };
    let mut rules: Vec<Option<Rule>> = vec![None; fields.len()];
    for (name, rule) in &spec.merge.fields {
        let pointer = format!("/merge/fields/{}", escape_segment(name));
        let Some(fi) = names.resolve(r, &pointer, name, false) else {
            continue;
        };
        let Some((compiled, kind, at)) = ctx.rule(rule, &pointer, r) else {
            continue;
        };
        if let Some((problem, help)) = misfit(kind, &fields[fi]) {
            r.at_value(&at, problem, Some(help));
            continue;
        }
        rules[fi] = Some(compiled);
    }
    let default = ctx.rule(&spec.merge.default, "/merge/default", r);
    let Some((default, kind, at)) = default else {
        return rules
            .into_iter()
            .map(|r| r.unwrap_or(Rule::Priority))
            .collect();
    };
    // The default chooses every field without a rule of its own: each must suit it.
    let unfit: Vec<(&Field, String)> = fields
        .iter()
        .enumerate()
        .filter(|(fi, _)| !spec.merge.fields.contains_key(&fields[*fi].name))
        .filter_map(|(_, f)| misfit(kind, f).map(|(problem, _)| (f, problem)))
        .collect();
    if let [(field, problem), ..] = unfit.as_slice() {
        let others: Vec<String> = unfit[1..]
            .iter()
            .map(|(f, _)| format!("`{}`", f.name))
            .collect();
        let also = if others.is_empty() {
            String::new()
        } else {
            format!(" (also {})", others.join(", "))
        };
        r.at_value(
            &at,
            format!("`merge.default` applies to every field without a rule of its own: {problem}{also}"),
            Some(format!(
                "give `{}` a rule under `merge.fields`, e.g. `merge: {{ fields: {{ {}: priority }} }}`",
                field.name, field.name
            )),
        );
    }
    rules
        .into_iter()
        .map(|r| r.unwrap_or_else(|| default.clone()))
        .collect()
}

/// What a rule is checked against.
struct Context<'a, 'f> {
    names: &'a FieldNames<'f>,
    /// The compiled sources, by rank.
    sources: &'a [Source],
    /// The sources as declared, for suggestions.
    declared: &'a [&'a str],
}

impl Context<'_, '_> {
    /// A rule written at `pointer`, compiled, with its name and where that name is written;
    /// `None` when a problem was reported.
    fn rule(
        &self,
        rule: &SurvivorshipSpec,
        pointer: &str,
        r: &mut Reporter<'_>,
    ) -> Option<(Rule, Survivorship, String)> {
        let spec = match rule {
            SurvivorshipSpec::Short(Survivorship::MostRecent) => {
                r.at_value(
                    pointer,
                    "`most_recent` needs `by`: the date or timestamp field that says how recent \
                     each record is",
                    Some("write `{ rule: most_recent, by: updated_at }`".into()),
                );
                return None;
            }
            SurvivorshipSpec::Short(Survivorship::Source) => {
                r.at_value(
                    pointer,
                    "the `source` rule needs the name of the source",
                    Some(format!(
                        "write `{{ source: {} }}`",
                        self.declared.first().unwrap_or(&"crm")
                    )),
                );
                return None;
            }
            SurvivorshipSpec::Short(kind) => {
                return Some((simple(*kind), *kind, pointer.to_string()));
            }
            SurvivorshipSpec::Rule(spec) => spec,
        };
        self.detailed(spec, pointer, r)
    }

    fn detailed(
        &self,
        spec: &RuleSpec,
        pointer: &str,
        r: &mut Reporter<'_>,
    ) -> Option<(Rule, Survivorship, String)> {
        let (kind, at) = match (spec.rule, &spec.source) {
            (None, None) => {
                r.at(
                    pointer,
                    "give the rule (`rule: ...`), or `source: NAME` for one source's values",
                    Some(
                        "e.g. `{ rule: most_recent, by: updated_at }`, `{ rule: priority, \
                         order: [crm, sheet] }` or `{ source: crm }`"
                            .into(),
                    ),
                );
                return None;
            }
            (None, Some(_)) => (Survivorship::Source, format!("{pointer}/source")),
            (Some(Survivorship::Source), _) | (Some(_), None) => {
                (spec.rule.unwrap_or_default(), format!("{pointer}/rule"))
            }
            (Some(other), Some(_)) => {
                r.at(
                    &format!("{pointer}/source"),
                    format!(
                        "`source` is the rule that takes one source's values; it does not go \
                         with `rule: {}`",
                        other.name()
                    ),
                    Some("remove `source`, or `rule`".into()),
                );
                return None;
            }
        };
        let mut ok = true;
        if spec.order.is_some() && kind != Survivorship::Priority {
            r.at(
                &format!("{pointer}/order"),
                format!(
                    "`order` only goes with `rule: priority`, not `{}`",
                    kind.name()
                ),
                Some("ties of the other rules go by `priority`".into()),
            );
            ok = false;
        }
        if spec.by.is_some() && kind != Survivorship::MostRecent {
            r.at(
                &format!("{pointer}/by"),
                format!(
                    "`by` only goes with `rule: most_recent`, not `{}`",
                    kind.name()
                ),
                None,
            );
            ok = false;
        }
        let rule = match kind {
            Survivorship::Priority => match &spec.order {
                Some(order) => self.order(order, &format!("{pointer}/order"), r)?,
                None => Rule::Priority,
            },
            Survivorship::MostRecent => {
                let Some(by) = &spec.by else {
                    r.at(
                        pointer,
                        "`most_recent` needs `by`: the date or timestamp field that says how \
                         recent each record is",
                        Some("e.g. `{ rule: most_recent, by: updated_at }`".into()),
                    );
                    return None;
                };
                let at = format!("{pointer}/by");
                let by = self.names.resolve(r, &at, by, true)?;
                let field = &self.names.fields[by];
                if !matches!(field.kind, FieldType::Date | FieldType::Timestamp) {
                    r.at_value(
                        &at,
                        format!(
                            "`by` names the field whose dates say how recent each record is, \
                             and `{}` has type `{}`",
                            field.name,
                            type_name(field.kind)
                        ),
                        Some("name a field of type `date` or `timestamp`".into()),
                    );
                    return None;
                }
                Rule::MostRecent { by }
            }
            Survivorship::Source => {
                let name = spec.source.as_deref().unwrap_or_default();
                if spec.source.is_none() {
                    r.at(
                        pointer,
                        "the `source` rule needs the name of the source",
                        Some(format!(
                            "write `{{ source: {} }}`",
                            self.declared.first().unwrap_or(&"crm")
                        )),
                    );
                    return None;
                }
                Rule::Source(self.source(name, &format!("{pointer}/source"), r)?)
            }
            other => simple(other),
        };
        ok.then_some((rule, kind, at))
    }

    /// The rank of source `name`, written at `pointer`; `None` when it is not declared (the
    /// problem reported) or did not compile (reported already).
    fn source(&self, name: &str, pointer: &str, r: &mut Reporter<'_>) -> Option<usize> {
        if !self.declared.contains(&name) {
            let help = did_you_mean(name, self.declared.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("declared sources: {}", self.declared.join(", "))));
            r.at_value(pointer, format!("`{name}` is not a declared source"), help);
            return None;
        }
        self.sources.iter().position(|s| s.name == name)
    }

    /// A field's own source order: each source's place in it, by rank; sources left out come
    /// after, in `priority` order.
    fn order(&self, order: &[String], pointer: &str, r: &mut Reporter<'_>) -> Option<Rule> {
        if order.is_empty() {
            r.at_value(
                pointer,
                "the order lists no source",
                Some("list the sources, highest first, or remove `order`".into()),
            );
            return None;
        }
        let n = self.sources.len();
        let mut place: Vec<usize> = (0..n).map(|rank| order.len() + rank).collect();
        let mut seen: Vec<usize> = Vec::new();
        let mut ok = true;
        for (i, name) in order.iter().enumerate() {
            let at = format!("{pointer}/{i}");
            match self.source(name, &at, r) {
                Some(rank) if seen.contains(&rank) => {
                    r.at_value(&at, format!("`{name}` is listed twice"), None);
                    ok = false;
                }
                Some(rank) => {
                    seen.push(rank);
                    place[rank] = i;
                }
                None => ok = false,
            }
        }
        ok.then_some(Rule::Order(place))
    }
}

/// A rule without settings.
fn simple(kind: Survivorship) -> Rule {
    match kind {
        Survivorship::MostFrequent => Rule::MostFrequent,
        Survivorship::Longest => Rule::Longest,
        Survivorship::Max => Rule::Max,
        Survivorship::Min => Rule::Min,
        // The rules with settings are compiled with them; without, `priority` is all there is.
        Survivorship::Priority | Survivorship::MostRecent | Survivorship::Source => Rule::Priority,
    }
}

/// Why a rule cannot choose among a field's values, and what to write instead.
fn misfit(kind: Survivorship, field: &Field) -> Option<(String, String)> {
    let t = field.kind;
    match kind {
        Survivorship::Max | Survivorship::Min
            if !matches!(
                t,
                FieldType::Integer | FieldType::Decimal | FieldType::Date | FieldType::Timestamp
            ) =>
        {
            Some((
                format!(
                    "`{}` compares numbers and dates, and field `{}` has type `{}`",
                    kind.name(),
                    field.name,
                    type_name(t)
                ),
                "for other values use `priority`, `most_frequent`, `most_recent` or `longest`"
                    .into(),
            ))
        }
        Survivorship::Longest
            if !matches!(
                t,
                FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::Json
            ) =>
        {
            Some((
                format!(
                    "`longest` compares the length of text, and field `{}` has type `{}`",
                    field.name,
                    type_name(t)
                ),
                "for numbers and dates use `max` or `min`".into(),
            ))
        }
        _ => None,
    }
}

/// A field type as the spec spells it.
fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Text => "text",
        FieldType::Email => "email",
        FieldType::Phone => "phone",
        FieldType::Integer => "integer",
        FieldType::Boolean => "boolean",
        FieldType::Decimal => "decimal",
        FieldType::Date => "date",
        FieldType::Timestamp => "timestamp",
        FieldType::Json => "json",
    }
}
