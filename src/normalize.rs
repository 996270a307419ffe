//! Normalisation: raw source values become typed, canonical [`Value`]s, per field type.
//! text: trimmed, white space collapsed, Unicode NFC. email: trimmed, lower-cased, syntax
//! checked. phone: E.164 using the field's default region, so `082 874 8637` and
//! `+27 82 874 8637` are the same number. A value that cannot be read is a problem naming its
//! source row; all such problems are reported together.

use crate::collections::HashMap;

use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;

use crate::error::{InvalidValues, SourceProblem};
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

/// A source value that fails its field's type: a phone that is not a number, a malformed
/// email or date. It never stops the run: it is listed in the plan and treated as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Index of the source.
    pub source: usize,
    /// Position of the record among its source's records: as read by [`normalize_all`],
    /// among the kept records after [`set_aside`].
    pub index: usize,
    pub id: String,
    /// Where the record is in its source, for messages.
    pub row: String,
    /// Index of the target field.
    pub field: usize,
    /// The value as the source wrote it, white space cleaned.
    pub text: String,
    /// Why it was refused, without the value: `not an email address`.
    pub reason: String,
}

impl Invalid {
    /// The value as shown: masked when the field is sensitive.
    pub fn shown(&self, spec: &Compiled) -> String {
        if spec.sensitive.get(self.field).copied().unwrap_or(false) {
            crate::value::MASK.to_string()
        } else {
            format!("{:?}", self.text)
        }
    }

    /// The value as a problem of its source, the form strict mode reports it in:
    /// ``field `email`: "x" is not an email address``.
    pub fn problem(&self, spec: &Compiled) -> SourceProblem {
        let source = &spec.sources[self.source];
        SourceProblem {
            source_name: source.name.clone(),
            file: source::describe(source),
            row: Some(format!("{} (id {})", self.row, self.id)),
            message: format!(
                "field `{}`: {} is {}",
                spec.fields[self.field].name,
                self.shown(spec),
                self.reason
            ),
            help: None,
        }
    }
}

/// Records normalised, with the values that failed their type.
#[derive(Debug, Clone, Default)]
pub struct Normalised {
    /// Per source, in the order read. An invalid value is still here, as [`Value::Text`] of
    /// what the source wrote, so that exclusion rules see it; [`set_aside`] empties it.
    pub records: Vec<Vec<Record>>,
    pub invalid: Vec<Invalid>,
}

/// A value refused by its field type: the text as read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub text: String,
    /// Without the value: `not a phone number (read with default region ZA)`.
    pub reason: String,
}

/// Normalises every record of every source. A value that fails its field type is kept
/// aside in [`Normalised::invalid`] rather than stopping the run.
pub fn normalize_all(spec: &Compiled, raw: Vec<Vec<RawRecord>>) -> Normalised {
    // Records are independent: normalise them in parallel, each worker with its own phone
    // cache, keeping the input order of records and of invalid values.
    let mut invalid = Vec::new();
    let mut out = Vec::with_capacity(raw.len());
    let total = raw.iter().map(Vec::len).sum::<usize>();
    let progress = crate::progress::counted("normalise", total as u64, "records");
    for records in raw {
        let results: Vec<(Record, Vec<Invalid>)> = records
            .into_par_iter()
            .enumerate()
            .map_init(
                || (PhoneCache::default(), progress.ticker()),
                |(phones, ticker), (index, r)| {
                    ticker.tick();
                    let mut bad = Vec::new();
                    let mut values = Vec::with_capacity(r.fields.len());
                    for (fi, (field, v)) in spec.fields.iter().zip(&r.fields).enumerate() {
                        match normalize_value(field, v, phones) {
                            Ok(v) => values.push(v),
                            Err(rejected) => {
                                // Exclusion rules still see what the source wrote.
                                values.push(Value::Text(rejected.text.clone()));
                                bad.push(Invalid {
                                    source: r.source,
                                    index,
                                    id: r.id.clone(),
                                    row: r.row.clone(),
                                    field: fi,
                                    text: rejected.text,
                                    reason: rejected.reason,
                                });
                            }
                        }
                    }
                    let record = Record {
                        source: r.source,
                        id: r.id,
                        row: r.row,
                        values,
                    };
                    (record, bad)
                },
            )
            .collect();
        let mut normalised = Vec::with_capacity(results.len());
        for (record, bad) in results {
            normalised.push(record);
            invalid.extend(bad);
        }
        out.push(normalised);
    }
    Normalised {
        records: out,
        invalid,
    }
}

/// After exclusion: the invalid values of the records kept, their values emptied so that no
/// later stage (matching, merging) uses them, and their indexes made positions among the
/// kept records. Invalid values of excluded records are dropped unreported: an excluded
/// record is not validated. `excluded` gives the (source, position as read) of each record
/// the exclusion stage dropped.
pub fn set_aside(
    kept: &mut [Vec<Record>],
    excluded: impl IntoIterator<Item = (usize, usize)>,
    invalid: Vec<Invalid>,
) -> Vec<Invalid> {
    // Per source, the positions (as read) of the excluded records, in order.
    let mut dropped: Vec<Vec<usize>> = vec![Vec::new(); kept.len()];
    for (source, index) in excluded {
        dropped[source].push(index);
    }
    for d in &mut dropped {
        d.sort_unstable();
    }
    let mut out = Vec::with_capacity(invalid.len());
    for mut v in invalid {
        let gone = &dropped[v.source];
        let before = gone.partition_point(|&i| i < v.index);
        if gone.get(before) == Some(&v.index) {
            continue;
        }
        v.index -= before;
        kept[v.source][v.index].values[v.field] = Value::Null;
        out.push(v);
    }
    out
}

/// The records as the matcher sees them, when that differs from `kept`: each invalid value of
/// a field compared by `phone` comes back as the text the source wrote. A phone number that
/// is not valid for its region (a local number written without its area code, common in
/// older lists) is never stored, but its digits are still evidence that two records are one
/// place: the phone comparison reads digits, and knows a number written with and without its
/// area code. `None` when no such value was set aside, so the common case copies nothing.
pub fn matching_view(
    spec: &Compiled,
    kept: &[Vec<Record>],
    invalid: &[Invalid],
) -> Option<Vec<Vec<Record>>> {
    let compared_as_phone = |field: usize| {
        spec.matching
            .comparisons
            .iter()
            .any(|c| c.field == field && c.method == crate::spec::CompareMethod::Phone)
    };
    let restore: Vec<&Invalid> = invalid
        .iter()
        .filter(|v| compared_as_phone(v.field))
        .collect();
    if restore.is_empty() {
        return None;
    }
    let mut view = kept.to_vec();
    for v in restore {
        view[v.source][v.index].values[v.field] = Value::Text(v.text.clone());
    }
    Some(view)
}

/// Strict mode (`invalid: error`, `--strict`): every invalid value is an error naming its
/// source, row, field and reason.
pub fn strict(spec: &Compiled, invalid: &[Invalid]) -> Result<(), InvalidValues> {
    if !spec.strict || invalid.is_empty() {
        return Ok(());
    }
    Err(InvalidValues {
        problems: invalid.iter().map(|v| v.problem(spec)).collect(),
    })
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
    // The plain ways numbers are written are read without the library's parser, which
    // takes a lock around its pattern cache for every number (`phone::Validator::read`);
    // anything else, and every number that fails, goes through the library as before.
    if let Some(Ok(e164)) = validator.read(raw, region) {
        return Ok(e164);
    }
    let hint = || match region {
        Some(r) => format!(" (read with default region {})", r.as_ref()),
        None => " (no `region` is set on the field, so it needs a leading +country code)".into(),
    };
    let number =
        phonenumber::parse(region, raw).map_err(|_| format!("not a phone number{}", hint()))?;
    if !validator.is_valid(&number) {
        return Err(format!("not a valid phone number{}", hint()));
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

/// Normalises one value for a field; a value that fails the field's type is rejected with
/// the reason.
pub fn normalize_value(
    field: &Field,
    raw: &serde_json::Value,
    phones: &mut PhoneCache,
) -> Result<Value, Rejected> {
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
    let reject = |reason: String| Rejected {
        text: text.clone(),
        reason,
    };
    match field.kind {
        FieldType::Text => Ok(Value::Text(text)),
        FieldType::Email => {
            let email = text.trim_start_matches("mailto:").to_lowercase();
            if is_email(&email) {
                Ok(Value::Text(email))
            } else {
                Err(reject("not an email address".into()))
            }
        }
        FieldType::Phone => phones
            .parse(&text, field.region)
            .map(Value::Text)
            .map_err(reject),
        FieldType::Integer => match raw {
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Value::Int)
                .ok_or_else(|| reject("not a whole number".into())),
            _ => text
                .replace(['_', ' '], "")
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| reject("not a whole number".into())),
        },
        FieldType::Boolean => match text.to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "t" => Ok(Value::Bool(true)),
            "false" | "no" | "n" | "0" | "f" => Ok(Value::Bool(false)),
            _ => Err(reject("not true or false".into())),
        },
        FieldType::Decimal => crate::types::decimal(&text)
            .map(Value::Text)
            .ok_or_else(|| reject("not a decimal number".into())),
        FieldType::Date => crate::types::date(&text)
            .map(Value::Text)
            .ok_or_else(|| reject("not a date (write it as YYYY-MM-DD)".into())),
        FieldType::Timestamp => crate::types::timestamp(&text)
            .map(Value::Text)
            .ok_or_else(|| {
                reject(
                    "not a timestamp (write it as YYYY-MM-DD HH:MM:SS, optionally with a \
                     fraction of at most 6 digits and a zone such as Z or +02:00)"
                        .into(),
                )
            }),
        FieldType::Json => normalize_json(raw),
    }
}

/// A JSON field keeps structure: text (from CSV, SQL or a JSON string) is parsed as JSON,
/// anything else is taken as it is. White space inside is never touched.
fn normalize_json(raw: &serde_json::Value) -> Result<Value, Rejected> {
    match raw {
        serde_json::Value::Null => Ok(Value::Null),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
        serde_json::Value::String(s) => crate::types::json_text(s.trim())
            .map(Value::Text)
            .ok_or_else(|| Rejected {
                text: s.trim().to_string(),
                reason: "not valid JSON".into(),
            }),
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

    fn norm(kind: FieldType, raw: serde_json::Value) -> Result<Value, Rejected> {
        normalize_value(&field(kind), &raw, &mut PhoneCache::default())
    }

    /// Three inline records with a phone each: one good, one invalid, one invalid but
    /// excluded by a rule that looks at the text the source wrote.
    fn spec(extra: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: {{ type: text }}\n    \
                 phone: {{ type: phone, region: ZA }}\n    secret: {{ type: email, sensitive: true }}\n\
                 sources:\n  s:\n    id: id\n    inline:\n      \
                 - {{ id: 1, name: Good, phone: 082 874 8637, secret: a@b.co }}\n      \
                 - {{ id: 2, name: Skipped, phone: n/a, secret: nope }}\n      \
                 - {{ id: 3, name: Bad, phone: 310/788-, secret: also-nope }}\n    \
                 fields: {{ name: name, phone: phone, secret: secret }}\n\
                 exclude:\n  - name: no phone\n    when: {{ field: phone, equals: n/a }}\n{extra}"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    fn resolve_stages(spec: &Compiled) -> (Vec<Vec<Record>>, Vec<Invalid>) {
        let raw = source::load_all(spec).unwrap();
        let normalised = normalize_all(spec, raw);
        let (mut kept, excluded) = crate::exclude::exclude(spec, normalised.records);
        assert_eq!(excluded.len(), 1, "the rule saw the invalid text `n/a`");
        assert_eq!(excluded[0].id, "2");
        let invalid = set_aside(
            &mut kept,
            excluded.iter().map(|e| (e.source, e.index)),
            normalised.invalid,
        );
        (kept, invalid)
    }

    #[test]
    fn a_rejected_value_keeps_its_text_and_a_reason_without_it() {
        let r = norm(FieldType::Phone, " 310/788- ".into()).unwrap_err();
        assert_eq!(r.text, "310/788-");
        assert!(
            r.reason.starts_with("not a valid phone number"),
            "{}",
            r.reason
        );
        assert!(!r.reason.contains("310"), "{}", r.reason);
        let r = norm(FieldType::Integer, serde_json::json!(1.5)).unwrap_err();
        assert_eq!(
            (r.text.as_str(), r.reason.as_str()),
            ("1.5", "not a whole number")
        );
        let r = norm(FieldType::Date, "31/12/2024".into()).unwrap_err();
        assert!(r.reason.starts_with("not a date"), "{}", r.reason);
    }

    #[test]
    fn the_matcher_sees_invalid_phones_the_table_does_not() {
        // Phones are compared (derived from the field type): the invalid one comes back as
        // the text the source wrote, in a copy; the kept records stay without it.
        let phones = spec("");
        let (kept, invalid) = resolve_stages(&phones);
        let view = matching_view(&phones, &kept, &invalid).expect("a phone was set aside");
        assert_eq!(kept[0][1].values[1], Value::Null);
        assert_eq!(view[0][1].values[1], Value::Text("310/788-".into()));
        assert_eq!(view[0][0], kept[0][0]);
        // The invalid email is not compared as a phone: it stays out of the view too.
        assert_eq!(view[0][1].values[2], Value::Null);

        // Without a phone comparison nothing is copied.
        let off = spec("match:\n  compare:\n    name: { method: name }\n");
        let (kept, invalid) = resolve_stages(&off);
        assert!(matching_view(&off, &kept, &invalid).is_none());
    }

    #[test]
    fn invalid_values_are_set_aside_and_excluded_records_are_not_validated() {
        let spec = spec("");
        let (kept, invalid) = resolve_stages(&spec);
        // Records 1 and 3 are kept; record 3's phone and email are invalid, and emptied.
        assert_eq!(kept[0].len(), 2);
        assert_eq!(kept[0][1].id, "3");
        assert_eq!(kept[0][1].values[0], Value::Text("Bad".into()));
        assert_eq!(kept[0][1].values[1], Value::Null);
        assert_eq!(kept[0][1].values[2], Value::Null);
        assert_eq!(
            kept[0][0].values[1],
            Value::Text("+27828748637".into()),
            "good values are untouched"
        );
        // Only record 3's values are listed, at its place among the kept records: the
        // excluded record 2 had two invalid values too, and they are not reported.
        let listed: Vec<(&str, usize, usize, &str)> = invalid
            .iter()
            .map(|v| (v.id.as_str(), v.index, v.field, v.text.as_str()))
            .collect();
        assert_eq!(
            listed,
            vec![("3", 1, 1, "310/788-"), ("3", 1, 2, "also-nope")]
        );
        assert!(!spec.strict);
        assert!(strict(&spec, &invalid).is_ok());
    }

    #[test]
    fn strict_mode_names_each_value_and_masks_sensitive_ones() {
        let spec = spec("invalid: error\n");
        assert!(spec.strict);
        let (_, invalid) = resolve_stages(&spec);
        let err = strict(&spec, &invalid).unwrap_err();
        let text: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].contains("(id 3): field `phone`: \"310/788-\" is not a valid phone number"),
            "{}",
            text[0]
        );
        assert!(
            text[1].contains("field `secret`: (sensitive value) is not an email address"),
            "{}",
            text[1]
        );
        assert!(!text[1].contains("also-nope"));
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
