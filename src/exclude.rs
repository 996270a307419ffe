//! Exclusion: records that meet a rule of the spec are dropped before matching, and each is
//! reported with the first rule that dropped it. Rules see a value that failed its field type
//! as the text the source wrote: exclusion comes before such values are set aside, so an
//! excluded record's values are never reported as invalid.

use crate::normalize::Record;
use crate::spec::compiled::{Compiled, Predicate};
use crate::value::Value;

/// A record dropped by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub source: usize,
    /// Position of the record among its source's records, as read.
    pub index: usize,
    pub id: String,
    pub rule: String,
    /// What names the record beside its id ([`crate::review::record_name`]).
    pub name: Option<String>,
}

/// Splits each source's records into kept and excluded.
pub fn exclude(spec: &Compiled, sources: Vec<Vec<Record>>) -> (Vec<Vec<Record>>, Vec<Excluded>) {
    let mut excluded = Vec::new();
    let kept = sources
        .into_iter()
        .map(|records| {
            records
                .into_iter()
                .enumerate()
                .filter(|(index, r)| {
                    let rule = spec.exclude.iter().find(|rule| {
                        (rule.sources.is_empty() || rule.sources.contains(&r.source))
                            && holds(&rule.when, &r.values)
                    });
                    match rule {
                        Some(rule) => {
                            excluded.push(Excluded {
                                source: r.source,
                                index: *index,
                                id: r.id.clone(),
                                rule: rule.name.clone(),
                                name: crate::review::record_name(spec, &r.values),
                            });
                            false
                        }
                        None => true,
                    }
                })
                .map(|(_, r)| r)
                .collect()
        })
        .collect();
    (kept, excluded)
}

/// Evaluates a predicate on a record's values.
pub fn holds(p: &Predicate, values: &[Value]) -> bool {
    match p {
        Predicate::Equals(f, expected) => equals(&values[*f], expected),
        Predicate::In(f, options) => options.iter().any(|o| equals(&values[*f], o)),
        Predicate::Matches(f, re) => match &values[*f] {
            Value::Text(s) => re.is_match(s),
            Value::Int(i) => re.is_match(&i.to_string()),
            Value::Bool(b) => re.is_match(&b.to_string()),
            Value::Null => false,
        },
        Predicate::Missing(f, missing) => values[*f].is_null() == *missing,
        Predicate::All(ps) => ps.iter().all(|p| holds(p, values)),
        Predicate::Any(ps) => ps.iter().any(|p| holds(p, values)),
        Predicate::Not(p) => !holds(p, values),
    }
}

/// Text compares without regard to case or surrounding space; numbers and booleans by value.
fn equals(v: &Value, expected: &serde_json::Value) -> bool {
    match (v, expected) {
        (Value::Null, serde_json::Value::Null) => true,
        (Value::Text(s), serde_json::Value::String(e)) => {
            s.trim().to_lowercase() == e.trim().to_lowercase()
        }
        (Value::Text(s), serde_json::Value::Number(n)) => s.trim() == n.to_string(),
        (Value::Text(s), serde_json::Value::Bool(b)) => {
            s.trim().eq_ignore_ascii_case(&b.to_string())
        }
        (Value::Int(i), serde_json::Value::Number(n)) => n.as_i64() == Some(*i),
        (Value::Int(i), serde_json::Value::String(s)) => s.trim() == i.to_string(),
        (Value::Bool(b), serde_json::Value::Bool(e)) => b == e,
        (Value::Bool(b), serde_json::Value::String(s)) => {
            s.trim().eq_ignore_ascii_case(&b.to_string())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn equals_ignores_case() {
        assert!(holds(
            &Predicate::Equals(0, json!("private")),
            &[t("Private")]
        ));
        assert!(!holds(
            &Predicate::Equals(0, json!("private")),
            &[t("business")]
        ));
    }

    #[test]
    fn combinators() {
        let p = Predicate::All(vec![
            Predicate::Missing(0, false),
            Predicate::Not(Box::new(Predicate::In(1, vec![json!("a"), json!("b")]))),
        ]);
        assert!(holds(&p, &[t("x"), t("c")]));
        assert!(!holds(&p, &[t("x"), t("b")]));
        assert!(!holds(&p, &[Value::Null, t("c")]));
        let re = regex::Regex::new("^test").unwrap();
        assert!(holds(&Predicate::Matches(0, re), &[t("test customer")]));
    }
}
