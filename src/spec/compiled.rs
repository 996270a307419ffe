//! The spec compiled into the forms the engine runs on: fields by index, sources in priority
//! order with resolved paths, rules with compiled regexes. Plain data; [`super::compile`]
//! builds it, checking what the JSON Schema cannot express.

use std::path::PathBuf;

use indexmap::IndexMap;
use regex::Regex;

pub use super::path::FieldPath;
use super::{CompareMethod, FieldType, KeyTransform, OnMissing, SourceFormat, Weights};
pub use crate::matching::method::Comparison;

/// A compiled spec.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The spec file.
    pub file: PathBuf,
    pub resource: String,
    /// The database URL as written (may hold `${VAR}`), expanded when used.
    pub database: Option<String>,
    pub table: String,
    pub primary_key: String,
    pub fields: Vec<Field>,
    /// Index of the natural key field, if any.
    pub key: Option<usize>,
    /// Index of the field addresses are made from.
    pub address_field: usize,
    /// Sources, highest priority first: a source's index is its rank.
    pub sources: Vec<Source>,
    pub exclude: Vec<Rule>,
    pub matching: MatchConfig,
    pub on_missing: OnMissing,
    /// The column and value `on_missing: soft_delete` writes.
    pub soft_delete: Option<SoftDelete>,
    /// The most rows one plan may delete.
    pub max_delete: DeleteLimit,
    /// No plan may delete a row.
    pub prevent_destroy: bool,
    /// Resources written before this one (`depends_on`; references add theirs).
    pub depends_on: Vec<String>,
    /// Every row of the table belongs to this spec, managed or not.
    pub owns_table: bool,
    /// Per field (same order as `fields`): values are masked in plans.
    pub sensitive: Vec<bool>,
    /// Per field: set on create, never updated afterwards.
    pub ignore_changes: Vec<bool>,
    /// A value that fails its field type is an error (`invalid: error`, `--strict`) rather
    /// than listed and left out.
    pub strict: bool,
    /// Per field: how its value is chosen among the members of a match.
    pub merge: Vec<MergeRule>,
}

/// The column `on_missing: soft_delete` sets, and its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SoftDelete {
    pub column: String,
    pub value: crate::value::Value,
}

/// How many rows one plan may delete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeleteLimit {
    Count(u64),
    /// A share of the table's rows, 0–1.
    Share(f64),
}

/// The fewest rows a share allows to delete: below 20 managed rows, 10% (the default) would
/// make any second delete a mass delete.
pub const SHARE_FLOOR: usize = 2;

impl DeleteLimit {
    /// The most rows a plan may delete when the resource manages `managed` rows. A share
    /// never allows fewer than [`SHARE_FLOOR`] rows: on a small table a couple of deletes are
    /// not a mass delete. (Deleting every managed row is refused apart, see
    /// [`crate::plan::guard`].)
    pub fn rows(self, managed: usize) -> usize {
        match self {
            DeleteLimit::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            DeleteLimit::Share(s) => ((managed as f64 * s).floor() as usize).max(SHARE_FLOOR),
        }
    }

    /// `"100%"`: every managed row may go, even all of them at once.
    pub fn allows_all(self) -> bool {
        matches!(self, DeleteLimit::Share(s) if s >= 1.0)
    }
}

impl std::fmt::Display for DeleteLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteLimit::Count(n) => write!(f, "{n} rows"),
            DeleteLimit::Share(s) => write!(
                f,
                "{}% of the rows it manages, at least {SHARE_FLOOR}",
                s * 100.0
            ),
        }
    }
}

impl Compiled {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub column: String,
    pub kind: FieldType,
    pub required: bool,
    pub region: Option<phonenumber::country::Id>,
    /// Text that keeps its line breaks (`multiline: true`).
    pub multiline: bool,
    /// `ref:` another resource: the source value names one of its records.
    pub reference: Option<Reference>,
}

/// A field's survivorship rule, compiled: sources by rank, fields by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeRule {
    /// The first non-empty value in `priority` order.
    Priority,
    /// The first non-empty value in the field's own source order: per source rank, its place
    /// in that order.
    Order(Vec<usize>),
    /// The value of the member whose field `by` (a date or timestamp) is latest.
    MostRecent { by: usize },
    /// The value most members hold.
    MostFrequent,
    /// The longest text.
    Longest,
    /// The largest number or latest date.
    Max,
    /// The smallest number or earliest date.
    Min,
    /// The value of this source (by rank) only.
    Source(usize),
}

/// A field that points to a record of another resource of the same spec folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub resource: String,
    /// The referenced resource's field the source value is compared with; `None` means its
    /// address field.
    pub by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub input: Input,
    /// JSON pointer to the records inside a JSON or YAML document.
    pub records: String,
    pub id: Option<FieldPath>,
    /// How a CSV file or a spreadsheet is laid out: separators, encoding, header, sheet.
    pub layout: Layout,
    /// (target field index, where its value is in a source record).
    pub mapping: Vec<(usize, FieldPath)>,
    /// (target field index, how its value is built): constants, templates, transforms.
    /// Fields read as they are from one path are in `mapping`.
    pub computed: Vec<(usize, crate::source::mapping::Computed)>,
    /// Where each record's true entity id is (`truth:`), read only by `reconcile evaluate`.
    pub truth: Option<FieldPath>,
}

/// How the cells of a CSV file or a spreadsheet are laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The byte separating a CSV file's columns.
    pub delimiter: u8,
    /// The byte quoting a CSV cell; `None` when quotes are ordinary text.
    pub quote: Option<u8>,
    pub encoding: TextEncoding,
    /// The line (CSV) or row (spreadsheet) holding the column names, from 1.
    pub header: u32,
    /// The sheet of a spreadsheet; `None` for the first.
    pub sheet: Option<SheetRef>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            delimiter: b',',
            quote: Some(b'"'),
            encoding: TextEncoding::Utf8,
            header: 1,
            sheet: None,
        }
    }
}

/// How a CSV file's text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a byte order mark.
    Utf8,
    /// UTF-16, little- or big-endian as its byte order mark says.
    Utf16,
    /// Any other encoding (Windows-1252, UTF-16LE without a mark, Shift JIS...).
    Other(&'static encoding_rs::Encoding),
}

impl TextEncoding {
    /// The encoding's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf16 => "utf-16",
            TextEncoding::Other(e) => e.name(),
        }
    }
}

/// A sheet of a spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetRef {
    /// By position, from 1.
    Index(u32),
    Name(String),
}

/// A `file:` pattern: every file it matches, read in name order as one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The spec's folder, which the pattern is relative to (taken literally).
    pub base: PathBuf,
    /// The pattern as written (`exports/*.csv`).
    pub pattern: String,
}

#[derive(Debug, Clone)]
pub enum Input {
    /// A file, or every file a pattern matches (`glob`); `path` is the file or the pattern
    /// joined to the spec's folder, as messages show it.
    File {
        path: PathBuf,
        format: SourceFormat,
        glob: Option<Glob>,
    },
    Inline(Vec<serde_json::Map<String, serde_json::Value>>),
    /// A query against a database; the URL as written (may hold `${VAR}`), expanded when read.
    Sql {
        query: String,
        database: String,
    },
}

/// A compiled exclusion rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub when: Predicate,
    /// Source indexes the rule applies to; empty means all.
    pub sources: Vec<usize>,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Predicate {
    Equals(usize, serde_json::Value),
    In(usize, Vec<serde_json::Value>),
    Matches(usize, Regex),
    Missing(usize, bool),
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
}

#[derive(Debug, Clone)]
pub struct MatchConfig {
    pub threshold: f64,
    pub review: f64,
    pub weights: Weights,
    pub comparisons: Vec<Comparison>,
    /// Blocking rules, OR'd together; empty means keys derived from the comparisons.
    pub blocking: Vec<Blocking>,
    pub max_block: usize,
    pub max_cluster: usize,
    /// Within a source, records whose addresses share nothing by an `address` comparison are
    /// not linked by score (`match.one_row_per_place`).
    pub one_row_per_place: bool,
    /// Per source rank: whether its records are also matched with each other.
    pub dedupe: Vec<bool>,
    /// Pairs always linked (`match.same`), wherever they were written.
    pub same: Vec<Override>,
    /// Pairs never linked (`match.distinct`).
    pub distinct: Vec<Override>,
    /// The labels file the spec names (`match.labels`), resolved against the spec's folder.
    /// Its decisions are in `same` and `distinct` once the spec is loaded.
    pub labels: Option<PathBuf>,
    /// Where the comparisons came from.
    pub origin: ModelOrigin,
    /// The most memory matching's working set may take, in bytes (`match.memory`,
    /// `--match-memory`); `None` sizes it from the memory available.
    pub memory: Option<u64>,
}

/// Where a spec's comparisons came from, so that every view can say how records were matched:
/// a default that decides which records merge is never silent.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ModelOrigin {
    /// `match.compare` as written in the spec.
    #[default]
    Written,
    /// No `match.compare`: comparisons derived from the field types.
    Derived,
    /// `compare: {}`: matching turned off on purpose.
    Off,
    /// No `match.compare`, and no field whose type says how to compare it.
    NothingToCompare,
}

/// The comparisons a spec without `match.compare` gets: a text field whose name says it holds a
/// street address (`address`, `street`, `address_line_1`, `addr2`; not `email_address` or
/// `ip_address`) by `address`, a text field named like a postcode (`zip`, `postcode`,
/// `postal_code`) by `exact`, the address field by `name` when it is text, each `email` field
/// by `email`, each `phone` field by `phone`. Other fields say too little about identity to
/// compare by default (a `kind` or a date is shared by many records).
pub fn derived_comparisons(
    fields: &IndexMap<String, super::FieldSpec>,
    address_field: usize,
) -> IndexMap<String, super::CompareSpec> {
    let mut out = IndexMap::new();
    for (i, (name, f)) in fields.iter().enumerate() {
        let method = match f.kind {
            FieldType::Text => match name_kind(name) {
                Some(NameKind::StreetAddress) => CompareMethod::Address,
                Some(NameKind::Postcode) => CompareMethod::Exact,
                None if i == address_field => CompareMethod::Name,
                None => continue,
            },
            FieldType::Email => CompareMethod::Email,
            FieldType::Phone => CompareMethod::Phone,
            _ => continue,
        };
        out.insert(name.clone(), super::CompareSpec::with_method(method));
    }
    out
}

/// What a field's name says it holds, for the comparisons derived without `match.compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    StreetAddress,
    Postcode,
}

/// Reads a field name as words (`street_address`, `StreetAddress`, `address-line-1` and
/// `addr2` alike) and says whether it names a street address or a postcode.
fn name_kind(name: &str) -> Option<NameKind> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        let boundary = !ch.is_alphabetic() || (ch.is_uppercase() && prev_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if ch.is_alphabetic() {
            word.extend(ch.to_lowercase());
        }
        prev_lower = ch.is_lowercase();
    }
    if !word.is_empty() {
        words.push(word);
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    let joined = words.concat();
    // Addresses that are not where a place is.
    if ["mail", "url", "wallet"].iter().any(|w| joined.contains(w))
        || ["ip", "mac", "web", "net"].iter().any(|w| has(w))
    {
        return None;
    }
    if ["zip", "zipcode", "postcode", "postalcode", "postcodes"]
        .iter()
        .any(|p| joined.ends_with(p))
    {
        return Some(NameKind::Postcode);
    }
    if has("address") || has("addr") || has("street") || joined.ends_with("address") {
        return Some(NameKind::StreetAddress);
    }
    None
}

impl MatchConfig {
    /// A configuration with these comparisons and every other setting at its default.
    pub fn new(comparisons: Vec<Comparison>) -> MatchConfig {
        MatchConfig {
            threshold: 0.85,
            review: 0.5,
            weights: Weights::Given,
            comparisons,
            blocking: Vec::new(),
            max_block: 100,
            max_cluster: 10,
            one_row_per_place: true,
            dedupe: Vec::new(),
            same: Vec::new(),
            distinct: Vec::new(),
            labels: None,
            origin: ModelOrigin::Written,
            memory: None,
        }
    }

    /// Whether records of this source are matched with each other.
    pub fn dedupes(&self, source: usize) -> bool {
        self.dedupe.get(source).copied().unwrap_or(false)
    }
}

/// A compiled blocking rule.
#[derive(Debug, Clone)]
pub struct Blocking {
    /// How the rule is shown in statistics, e.g. `given_name+surname`.
    pub name: String,
    /// (field index, transform, prefix length).
    pub keys: Vec<(usize, KeyTransform, usize)>,
    pub unordered: bool,
}

/// A record named in the spec as `source:id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRef {
    pub source: usize,
    pub id: String,
}

/// A pair of records the user decided on (`same` or `distinct`), and where that decision was
/// written, so that every message about it can send the user back to the line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Override {
    pub a: RecordRef,
    pub b: RecordRef,
    pub origin: Origin,
}

/// A line of a file that holds a decision: the spec (`match.same` / `match.distinct`) or a
/// labels file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Origin {
    /// The file as the user named it.
    pub file: String,
    /// 1-based; 0 when unknown (pairs built in code).
    pub line: usize,
    /// The key or label that holds the pair: `same` or `distinct`.
    pub kind: &'static str,
    /// Written in a labels file rather than under the spec's `match`.
    pub label: bool,
}

/// An [`Origin`] as a saved plan holds it.
#[derive(serde::Deserialize)]
struct StoredOrigin {
    file: String,
    line: usize,
    kind: String,
    label: bool,
}

impl<'de> serde::Deserialize<'de> for Origin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Origin, D::Error> {
        let o = <StoredOrigin as serde::Deserialize>::deserialize(d)?;
        let kind = match o.kind.as_str() {
            "same" => "same",
            "distinct" => "distinct",
            other => {
                return Err(serde::de::Error::custom(format!(
                    "`{other}` is neither `same` nor `distinct`"
                )));
            }
        };
        Ok(Origin {
            file: o.file,
            line: o.line,
            kind,
            label: o.label,
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.label {
            format!("the `{}` label", self.kind)
        } else {
            format!("`match.{}`", self.kind)
        };
        match self.line {
            0 => f.write_str(&what),
            line => write!(f, "{what} on line {line} of {}", self.file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_never_allows_fewer_than_two_rows() {
        let share = DeleteLimit::Share(0.1);
        assert_eq!(share.rows(1), 2);
        assert_eq!(share.rows(15), 2, "2 of 15 rows is no mass delete");
        assert_eq!(share.rows(20), 2);
        assert_eq!(share.rows(30), 3);
        assert_eq!(share.rows(1000), 100);
        assert_eq!(DeleteLimit::Count(1).rows(1000), 1, "a count is as written");
        assert!(DeleteLimit::Share(1.0).allows_all());
        assert!(!share.allows_all());
        assert!(!DeleteLimit::Count(1000).allows_all());
    }

    fn derived_for(fields: &[(&str, FieldType)]) -> Vec<(String, CompareMethod)> {
        let fields: IndexMap<String, super::super::FieldSpec> = fields
            .iter()
            .map(|(n, t)| {
                let spec: super::super::FieldSpec =
                    serde_json::from_value(serde_json::json!({ "type": t })).unwrap();
                (n.to_string(), spec)
            })
            .collect();
        derived_comparisons(&fields, 0)
            .into_iter()
            .map(|(n, c)| (n, c.method))
            .collect()
    }

    #[test]
    fn derived_comparisons_read_field_names() {
        use CompareMethod::*;
        let got = derived_for(&[
            ("name", FieldType::Text),
            ("street_address", FieldType::Text),
            ("zip", FieldType::Text),
            ("phone", FieldType::Phone),
            ("email", FieldType::Email),
            ("kind", FieldType::Text),
        ]);
        let want: Vec<(String, CompareMethod)> = [
            ("name", Name),
            ("street_address", Address),
            ("zip", Exact),
            ("phone", Phone),
            ("email", Email),
        ]
        .into_iter()
        .map(|(n, m)| (n.to_string(), m))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn address_and_postcode_names() {
        for n in [
            "address",
            "Address",
            "street",
            "StreetAddress",
            "address_line_1",
            "address-line-2",
            "addr2",
            "billing_address",
            "shipping_street",
        ] {
            assert_eq!(name_kind(n), Some(NameKind::StreetAddress), "{n}");
        }
        for n in [
            "zip",
            "ZIP",
            "zip_code",
            "ZipCode",
            "postcode",
            "postal_code",
            "billing_zip",
        ] {
            assert_eq!(name_kind(n), Some(NameKind::Postcode), "{n}");
        }
        for n in [
            "email_address",
            "EmailAddress",
            "emailaddress",
            "ip_address",
            "mac_address",
            "web_address",
            "name",
            "city",
            "zone",
        ] {
            assert_eq!(name_kind(n), None, "{n}");
        }
    }

    #[test]
    fn names_only_apply_to_text_fields() {
        // A number named `zip` or an email named `address` keeps its type's comparison.
        let got = derived_for(&[
            ("name", FieldType::Text),
            ("zip", FieldType::Integer),
            ("address", FieldType::Email),
        ]);
        assert_eq!(
            got,
            vec![
                ("name".to_string(), CompareMethod::Name),
                ("address".to_string(), CompareMethod::Email)
            ]
        );
    }

    #[test]
    fn dotted_paths_and_pointers() {
        let rec = serde_json::json!({"fields": {"email": "a@b.c"}, "first.name": "Ann"});
        assert_eq!(
            FieldPath::parse("fields.email").get(&rec),
            Some(&serde_json::json!("a@b.c"))
        );
        assert_eq!(
            FieldPath::parse("/fields/email").get(&rec),
            Some(&serde_json::json!("a@b.c"))
        );
        assert_eq!(
            FieldPath::parse("first.name").get(&rec),
            Some(&serde_json::json!("Ann"))
        );
        assert_eq!(FieldPath::parse("fields.nope").get(&rec), None);
    }
}
