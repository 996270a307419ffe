//! Normalisation: raw source values become typed, canonical [`Value`]s, per field type.
//! text: trimmed, white space collapsed, Unicode NFC. email: trimmed, lower-cased, syntax
//! checked. phone: E.164 using the field's default region, so `082 874 8637` and
//! `+27 82 874 8637` are the same number. A value that cannot be read is a problem naming its
//! source row; all such problems are reported together.

use crate::collections::HashMap;

use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;

use crate::error::{SourceErrors, SourceProblem};
use crate::source::{self, RawRecord};
use crate::spec::FieldType;
use crate::spec::compiled::{Compiled, Field};
use crate::value::Value;

/// A source record after normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Index of the source (its priority rank).
    pub source: usize,
    pub id: String,
    /// Where the record is in its source, for messages.
    pub row: String,
    /// Values by target field index.
    pub values: Vec<Value>,
}

/// Normalises every record of every source.
pub fn normalize_all(
    spec: &Compiled,
    raw: Vec<Vec<RawRecord>>,
) -> Result<Vec<Vec<Record>>, SourceErrors> {
    // Records are independent: normalise them in parallel, each worker with its own phone
    // cache, keeping the input order of records and of problems.
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(raw.len());
    for records in raw {
        let results: Vec<(Record, Vec<SourceProblem>)> = records
            .into_par_iter()
            .map_init(PhoneCache::default, |phones, r| {
                let mut problems = Vec::new();
                let mut values = Vec::with_capacity(r.fields.len());
                for (fi, (field, v)) in spec.fields.iter().zip(&r.fields).enumerate() {
                    match normalize_value(field, v, phones) {
                        Ok(v) => values.push(v),
                        Err(message) => {
                            // The reason quotes the value; a sensitive one is not shown.
                            let message = if spec.sensitive.get(fi) == Some(&true) {
                                format!(
                                    "the value is not a valid {} (not shown: the field is \
                                     sensitive)",
                                    serde_json::to_value(field.kind)
                                        .ok()
                                        .and_then(|v| v.as_str().map(String::from))
                                        .unwrap_or_default()
                                )
                            } else {
                                message
                            };
                            let source = &spec.sources[r.source];
                            problems.push(SourceProblem {
                                source_name: source.name.clone(),
                                file: source::describe(source),
                                row: Some(format!("{} (id {})", r.row, r.id)),
                                message: format!("field `{}`: {message}", field.name),
                            });
                            values.push(Value::Null);
                        }
                    }
                }
                let record = Record {
                    source: r.source,
                    id: r.id,
                    row: r.row,
                    values,
                };
                (record, problems)
            })
            .collect();
        let mut normalised = Vec::with_capacity(results.len());
        for (record, p) in results {
            normalised.push(record);
            problems.extend(p);
        }
        out.push(normalised);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(SourceErrors { problems })
    }
}

/// Entries a phone cache holds before it starts again.
const PHONE_CACHE_LIMIT: usize = 1 << 16;

/// Phone parsing is slow (a few µs); the same raw text in the same region parses once.
#[derive(Default)]
pub struct PhoneCache {
    seen: HashMap<(String, Option<phonenumber::country::Id>), Result<String, String>>,
    validator: crate::phone::Validator,
}

impl PhoneCache {
    fn parse(
        &mut self,
        raw: &str,
        region: Option<phonenumber::country::Id>,
    ) -> Result<String, String> {
        // Repeated numbers (a head office, a switchboard) come close together or not at
        // all; a bounded cache keeps a million distinct numbers from filling memory.
        if self.seen.len() >= PHONE_CACHE_LIMIT {
            self.seen.clear();
        }
        self.seen
            .entry((raw.to_string(), region))
            .or_insert_with(|| parse_phone(raw, region, &mut self.validator))
            .clone()
    }
}

fn parse_phone(
    raw: &str,
    region: Option<phonenumber::country::Id>,
    validator: &mut crate::phone::Validator,
) -> Result<String, String> {
    let hint = || match region {
        Some(r) => format!(" (read with default region {})", r.as_ref()),
        None => " (no `region` is set on the field, so it needs a leading +country code)".into(),
    };
    let number = phonenumber::parse(region, raw)
        .map_err(|_| format!("{raw:?} is not a phone number{}", hint()))?;
    if !validator.is_valid(&number) {
        return Err(format!("{raw:?} is not a valid phone number{}", hint()));
    }
    Ok(crate::phone::e164(&number))
}

/// Collapses runs of white space to one space, trims, and applies Unicode NFC.
pub fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_ascii() {
        out
    } else {
        out.nfc().collect()
    }
}

/// For `multiline` text: [`clean_text`] line by line, keeping the line breaks (`\r\n` read as
/// `\n`) and dropping blank lines at the start and end.
pub fn clean_lines(s: &str) -> String {
    let lines: Vec<String> = s.lines().map(clean_text).collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |i| i + 1);
    lines[start..end].join("\n")
}

fn as_text(raw: &serde_json::Value) -> Option<String> {
    match raw {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        // Lists and mappings are rejected when records are mapped.
        other => Some(other.to_string()),
    }
}

/// Normalises one value for a field.
pub fn normalize_value(
    field: &Field,
    raw: &serde_json::Value,
    phones: &mut PhoneCache,
) -> Result<Value, String> {
    if field.kind == FieldType::Json {
        return normalize_json(raw);
    }
    let Some(text) = as_text(raw) else {
        return Ok(Value::Null);
    };
    let text = if field.multiline {
        clean_lines(&text)
    } else {
        clean_text(&text)
    };
    if text.is_empty() {
        return Ok(Value::Null);
    }
    if field.reference.is_some() {
        // The name of a referenced record: resolved to its address when planning.
        return Ok(Value::Text(text));
    }
    match field.kind {
        FieldType::Text => Ok(Value::Text(text)),
        FieldType::Email => {
            let email = text.trim_start_matches("mailto:").to_lowercase();
            if is_email(&email) {
                Ok(Value::Text(email))
            } else {
                Err(format!("{text:?} is not an email address"))
            }
        }
        FieldType::Phone => phones.parse(&text, field.region).map(Value::Text),
        FieldType::Integer => match raw {
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Value::Int)
                .ok_or_else(|| format!("{n} is not a whole number")),
            _ => text
                .replace(['_', ' '], "")
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("{text:?} is not a whole number")),
        },
        FieldType::Boolean => match text.to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "t" => Ok(Value::Bool(true)),
            "false" | "no" | "n" | "0" | "f" => Ok(Value::Bool(false)),
            _ => Err(format!("{text:?} is not true or false")),
        },
        FieldType::Decimal => crate::types::decimal(&text)
            .map(Value::Text)
            .ok_or_else(|| format!("{text:?} is not a decimal number")),
        FieldType::Date => crate::types::date(&text)
            .map(Value::Text)
            .ok_or_else(|| format!("{text:?} is not a date (write it as YYYY-MM-DD)")),
        FieldType::Timestamp => crate::types::timestamp(&text)
            .map(Value::Text)
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a timestamp (write it as YYYY-MM-DD HH:MM:SS, optionally \
                     with a fraction of at most 6 digits and a zone such as Z or +02:00)"
                )
            }),
        FieldType::Json => normalize_json(raw),
    }
}

/// A JSON field keeps structure: text (from CSV, SQL or a JSON string) is parsed as JSON,
/// anything else is taken as it is. White space inside is never touched.
fn normalize_json(raw: &serde_json::Value) -> Result<Value, String> {
    match raw {
        serde_json::Value::Null => Ok(Value::Null),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
        serde_json::Value::String(s) => crate::types::json_text(s.trim())
            .map(Value::Text)
            .ok_or_else(|| format!("{:?} is not valid JSON", s.trim())),
        other => Ok(Value::Text(crate::types::json(other))),
    }
}

/// A practical email check: one `@`, a non-empty local part, a dotted domain, no spaces.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.contains(char::is_whitespace)
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldType) -> Field {
        Field {
            name: "f".into(),
            column: "f".into(),
            kind,
            required: false,
            multiline: false,
            reference: None,
            region: Some(phonenumber::country::Id::ZA),
        }
    }

    fn norm(kind: FieldType, raw: serde_json::Value) -> Result<Value, String> {
        normalize_value(&field(kind), &raw, &mut PhoneCache::default())
    }

    #[test]
    fn text_is_trimmed_collapsed_and_composed() {
        assert_eq!(
            norm(FieldType::Text, "  Casa \t Bella \n".into()).unwrap(),
            Value::Text("Casa Bella".into())
        );
        // "e" + combining acute accent becomes the single code point "é".
        assert_eq!(
            norm(FieldType::Text, "Cafe\u{301}".into()).unwrap(),
            Value::Text("Caf\u{e9}".into())
        );
        assert_eq!(norm(FieldType::Text, "   ".into()).unwrap(), Value::Null);
    }

    #[test]
    fn multiline_text_keeps_its_line_breaks() {
        assert_eq!(
            clean_lines("\n  First  line \r\n\n second\tline\n\n"),
            "First line\n\nsecond line"
        );
        assert_eq!(clean_lines(" \n "), "");
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            norm(FieldType::Email, " Info@LeopardLodge.co.za ".into()).unwrap(),
            Value::Text("info@leopardlodge.co.za".into())
        );
        assert!(norm(FieldType::Email, "not an email".into()).is_err());
        assert!(norm(FieldType::Email, "a@b".into()).is_err());
    }

    #[test]
    fn local_and_international_phones_are_one_number() {
        let a = norm(FieldType::Phone, "082 874 8637".into()).unwrap();
        let b = norm(FieldType::Phone, "+27 82 874 8637".into()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Value::Text("+27828748637".into()));
        assert!(norm(FieldType::Phone, "12".into()).is_err());
    }

    #[test]
    fn integers_and_booleans() {
        assert_eq!(
            norm(FieldType::Integer, serde_json::json!(7)).unwrap(),
            Value::Int(7)
        );
        assert_eq!(
            norm(FieldType::Integer, " 12 ".into()).unwrap(),
            Value::Int(12)
        );
        assert!(norm(FieldType::Integer, "x".into()).is_err());
        assert_eq!(
            norm(FieldType::Boolean, "Yes".into()).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            norm(FieldType::Boolean, serde_json::json!(false)).unwrap(),
            Value::Bool(false)
        );
    }
}
