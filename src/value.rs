//! The typed values that flow through the pipeline: what a source field becomes after
//! normalisation, what a golden record holds, and what a database column reads back as.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a sensitive value reads as, in every output: values of `sensitive: true` fields are
/// replaced by it wherever they would be shown.
pub const MASK: &str = "(sensitive value)";

/// One field's value. `Null` stands for "absent": an empty string in a source, a missing key,
/// or SQL `NULL` all become `Null`, so that "empty" has a single meaning everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(untagged)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
}

/// Read straight from the JSON value (`null`, a boolean, an integer or a string), without the
/// buffering an untagged enum needs: saved plans hold millions of them.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, a boolean, an integer or a string")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
                Ok(Value::Int(i))
            }
            fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Value, E> {
                i64::try_from(u)
                    .map(Value::Int)
                    .map_err(|_| E::custom(format!("{u} is too large for an integer")))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::Text(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::Text(s))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as JSON, for the machine-readable plan.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Text(s) => serde_json::Value::String(s.clone()),
        }
    }

    /// A stable, type-tagged byte form used for hashing, so that `1` and `"1"` hash apart.
    pub fn hash_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(0),
            Value::Bool(b) => {
                out.push(1);
                out.push(u8::from(*b));
            }
            Value::Int(i) => {
                out.push(2);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Text(s) => {
                out.push(3);
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// Shown as it would be written in a plan: text quoted, absent values as `null`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(s) => write!(f, "{s:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_text_and_names_null() {
        assert_eq!(Value::Text("a \"b\"".into()).to_string(), r#""a \"b\"""#);
        assert_eq!(Value::Null.to_string(), "null");
        assert_eq!(Value::Int(7).to_string(), "7");
    }

    #[test]
    fn hash_form_separates_types() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Value::Int(1).hash_into(&mut a);
        Value::Text("1".into()).hash_into(&mut b);
        assert_ne!(a, b);
    }
}
