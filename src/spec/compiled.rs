//! The spec compiled into the forms the engine runs on: fields by index, sources in priority
//! order with resolved paths, rules with compiled regexes. The semantic checks that the JSON
//! Schema cannot express (a field mapped that the target does not declare, a priority naming
//! no source, a review band above the threshold, ...) happen here, each placed at its line.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use regex::Regex;

use super::load::{Reporter, did_you_mean};
use super::yaml::escape_segment;
use super::{
    BlockingKey, CompareMethod, Condition, FieldType, KeyTransform, OnMissing, SourceFormat, Spec,
    Weights,
};

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

impl DeleteLimit {
    /// The most rows a plan may delete from a table of `rows` rows. A share never forbids
    /// deleting one row: a single delete is not a mass delete.
    pub fn rows(self, rows: usize) -> usize {
        match self {
            DeleteLimit::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            DeleteLimit::Share(s) => ((rows as f64 * s).floor() as usize).max(1),
        }
    }
}

impl std::fmt::Display for DeleteLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteLimit::Count(n) => write!(f, "{n} rows"),
            DeleteLimit::Share(s) => write!(f, "{}% of the table", s * 100.0),
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
    /// The byte separating a CSV file's columns.
    pub delimiter: u8,
    /// (target field index, where its value is in a source record).
    pub mapping: Vec<(usize, FieldPath)>,
    /// Where each record's true entity id is (`truth:`), read only by `reconcile evaluate`.
    pub truth: Option<FieldPath>,
}

#[derive(Debug, Clone)]
pub enum Input {
    File {
        path: PathBuf,
        format: SourceFormat,
    },
    Inline(Vec<serde_json::Map<String, serde_json::Value>>),
    /// A query against a database; the URL as written (may hold `${VAR}`), expanded when read.
    Sql {
        query: String,
        database: String,
    },
}

/// Where a value sits in a source record: `fields.email` (dotted) or `/fields/email` (pointer).
/// For CSV the whole text is the column header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub raw: String,
    pub segments: Vec<String>,
}

impl FieldPath {
    pub fn parse(raw: &str) -> Self {
        let segments = if let Some(p) = raw.strip_prefix('/') {
            p.split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            raw.split('.').map(String::from).collect()
        };
        FieldPath {
            raw: raw.to_string(),
            segments,
        }
    }

    /// A path that is one key, used whole (an SQL column name).
    pub fn column(raw: &str) -> Self {
        FieldPath {
            raw: raw.to_string(),
            segments: vec![raw.to_string()],
        }
    }

    /// The value at this path in a JSON record; `None` when any step is missing.
    pub fn get<'v>(&self, record: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        // A key containing dots (`"first.name"`) is tried whole first.
        if let Some(v) = record.get(&self.raw) {
            return Some(v);
        }
        let mut v = record;
        for seg in &self.segments {
            v = match v {
                serde_json::Value::Object(m) => m.get(seg)?,
                serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }
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
    /// Per source rank: whether its records are also matched with each other.
    pub dedupe: Vec<bool>,
    /// Pairs always linked (`match.same`), wherever they were written.
    pub same: Vec<Override>,
    /// Pairs never linked (`match.distinct`).
    pub distinct: Vec<Override>,
    /// Where the comparisons came from.
    pub origin: ModelOrigin,
}

/// Where a spec's comparisons came from, so that every view can say how records were matched:
/// a default that decides which records merge is never silent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
            dedupe: Vec::new(),
            same: Vec::new(),
            distinct: Vec::new(),
            origin: ModelOrigin::Written,
        }
    }

    /// Whether records of this source are matched with each other.
    pub fn dedupes(&self, source: usize) -> bool {
        self.dedupe.get(source).copied().unwrap_or(false)
    }
}

#[derive(Debug, Clone)]
pub struct Comparison {
    pub field: usize,
    /// The field's name, for explanations.
    pub name: String,
    pub method: CompareMethod,
    pub weight: f64,
    /// Fuzzy level cut-offs, strongest first.
    pub thresholds: Vec<f64>,
    /// For dates: the "within N days" level.
    pub days: u32,
    /// For numbers: the "within tolerance" level.
    pub tolerance: Option<f64>,
    /// Term-frequency adjustment on agreeing levels.
    pub term_frequency: bool,
    /// Given m and u per level, when written in the spec.
    pub m: Option<Vec<f64>>,
    pub u: Option<Vec<f64>>,
}

impl Comparison {
    /// A comparison with the method's default levels.
    pub fn new(field: usize, name: &str, method: CompareMethod) -> Comparison {
        Comparison {
            field,
            name: name.to_string(),
            method,
            weight: 1.0,
            thresholds: crate::matching::compare::default_thresholds(method),
            days: 30,
            tolerance: None,
            // A value many records share says little about identity, whatever the method
            // that finds it equal; fuzzy text measures have no single value to count.
            term_frequency: matches!(
                method,
                CompareMethod::Name
                    | CompareMethod::Exact
                    | CompareMethod::Email
                    | CompareMethod::Phone
            ),
            m: None,
            u: None,
        }
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

fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

fn identifier_help() -> Option<String> {
    Some(
        "table and column names may hold letters, digits and underscores, start with a letter, \
         and be at most 63 characters"
            .into(),
    )
}

/// Checks what the schema cannot and builds the compiled spec. Problems go to `r`; the
/// result is `None` only when a problem was reported.
pub fn compile(spec: &Spec, file: &Path, base: &Path, r: &mut Reporter<'_>) -> Option<Compiled> {
    let before = r.problems.len();

    // Target.
    if !valid_identifier(&spec.target.table) {
        r.at_value(
            "/target/table",
            format!("`{}` is not a valid table name", spec.target.table),
            identifier_help(),
        );
    }
    if !valid_identifier(&spec.target.primary_key) {
        r.at_value(
            "/target/primary_key",
            format!("`{}` is not a valid column name", spec.target.primary_key),
            identifier_help(),
        );
    }
    if spec.target.fields.is_empty() {
        r.at("/target/fields", "declare at least one field", None);
    }
    let mut fields = Vec::new();
    for (name, f) in &spec.target.fields {
        let p = format!("/target/fields/{}", escape_segment(name));
        let column = f.column.clone().unwrap_or_else(|| name.clone());
        if !valid_identifier(&column) {
            r.at(
                &p,
                format!("`{column}` is not a valid column name"),
                identifier_help(),
            );
        }
        if column == spec.target.primary_key {
            r.at(
                &p,
                format!("`{column}` is the primary key column; it is generated by the database"),
                Some("map this field to another column with `column:`".into()),
            );
        }
        let region = match (&f.region, f.kind) {
            (Some(code), FieldType::Phone) => match code.to_uppercase().parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    r.at_value(
                        &format!("{p}/region"),
                        format!("`{code}` is not a region code"),
                        Some("use a two-letter ISO 3166 code such as `ZA`, `GB` or `US`".into()),
                    );
                    None
                }
            },
            (Some(_), _) => {
                r.at(
                    &format!("{p}/region"),
                    "`region` only applies to fields of type `phone`",
                    None,
                );
                None
            }
            (None, _) => None,
        };
        if f.by.is_some() && f.reference.is_none() {
            r.at(
                &format!("{p}/by"),
                "`by` only applies to fields with `ref`",
                Some("name the referenced resource with `ref:`".into()),
            );
        }
        if f.multiline && f.kind != FieldType::Text {
            r.at(
                &format!("{p}/multiline"),
                "`multiline` only applies to fields of type `text`",
                None,
            );
        }
        fields.push(Field {
            name: name.clone(),
            column,
            kind: f.kind,
            required: f.required,
            region,
            multiline: f.multiline,
            reference: f.reference.as_ref().map(|resource| Reference {
                resource: resource.clone(),
                by: f.by.clone(),
            }),
        });
    }
    for (i, f) in fields.iter().enumerate() {
        if let Some(g) = fields[..i].iter().find(|g| g.column == f.column) {
            r.at(
                &format!("/target/fields/{}", escape_segment(&f.name)),
                format!(
                    "column `{}` is used by two fields, `{}` and `{}`",
                    f.column, g.name, f.name
                ),
                None,
            );
        } else if let Some(g) = fields[..i]
            .iter()
            .find(|g| g.column.eq_ignore_ascii_case(&f.column))
        {
            // SQLite and MySQL/MariaDB compare column names without regard to case, so the
            // table could not be created (or both fields would write one column).
            r.at(
                &format!("/target/fields/{}", escape_segment(&f.name)),
                format!(
                    "fields `{}` and `{}` have columns `{}` and `{}`, which differ only by \
                     case; databases take them for one column",
                    g.name, f.name, g.column, f.column
                ),
                Some(format!(
                    "give field `{}` another column with `column:`",
                    f.name
                )),
            );
        }
    }
    let field_names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let mut field_ref = |r: &mut Reporter<'_>, pointer: &str, name: &str, value: bool| {
        let idx = fields.iter().position(|f| f.name == name);
        if idx.is_none() {
            let help = did_you_mean(name, field_names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("declared fields: {}", field_names.join(", "))));
            let msg = format!("`{name}` is not a field of the target");
            if value {
                r.at_value(pointer, msg, help);
            } else {
                r.at(pointer, msg, help);
            }
        }
        idx
    };
    let key = spec
        .target
        .key
        .as_ref()
        .and_then(|k| field_ref(r, "/target/key", k, true));
    let address_field = match &spec.target.address {
        Some(a) => field_ref(r, "/target/address", a, true).unwrap_or(0),
        None => 0,
    };

    // Sources, in priority order.
    if spec.sources.is_empty() {
        r.at("/sources", "declare at least one source", None);
    }
    let declared: Vec<&str> = spec.sources.keys().map(String::as_str).collect();
    let mut order: Vec<usize> = Vec::new();
    for (i, name) in spec.priority.iter().enumerate() {
        match spec.sources.get_index_of(name) {
            Some(idx) if order.contains(&idx) => r.at_value(
                &format!("/priority/{i}"),
                format!("`{name}` is listed twice"),
                None,
            ),
            Some(idx) => order.push(idx),
            None => {
                let help = did_you_mean(name, declared.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("declared sources: {}", declared.join(", "))));
                r.at_value(
                    &format!("/priority/{i}"),
                    format!("`{name}` is not a declared source"),
                    help,
                );
            }
        }
    }
    for idx in 0..spec.sources.len() {
        if !order.contains(&idx) {
            order.push(idx);
        }
    }
    let mut sources = Vec::new();
    for &idx in &order {
        let (name, s) = spec.sources.get_index(idx).expect("index from the map");
        let p = format!("/sources/{}", escape_segment(name));
        if s.database.is_some() && s.sql.is_none() {
            r.at(
                &format!("{p}/database"),
                "`database` only applies to `sql` sources",
                None,
            );
        }
        let given = [s.file.is_some(), s.inline.is_some(), s.sql.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            r.at(
                &p,
                "give one of `file`, `inline` or `sql`, not several",
                None,
            );
            continue;
        }
        if let Some(query) = &s.sql {
            let Some(database) = &s.database else {
                r.at(
                    &p,
                    "an `sql` source needs `database`, the URL to run the query against",
                    Some("e.g. `database: ${LEGACY_DATABASE_URL}`".into()),
                );
                continue;
            };
            if s.delimiter.is_some() {
                r.at(
                    &format!("{p}/delimiter"),
                    "`delimiter` only applies to CSV files",
                    None,
                );
            }
            if query.trim().is_empty() {
                r.at_value(&format!("{p}/sql"), "the query is empty", None);
                continue;
            }
            if s.records.is_some() {
                r.at(
                    &format!("{p}/records"),
                    "`records` only applies to JSON and YAML files",
                    None,
                );
            }
            let input = Input::Sql {
                query: query.clone(),
                database: database.clone(),
            };
            let mut mapping = Vec::new();
            for (field, path) in &s.fields {
                if let Some(fi) = field_ref(
                    r,
                    &format!("{p}/fields/{}", escape_segment(field)),
                    field,
                    false,
                ) {
                    // Column names are used whole, even when they hold dots.
                    mapping.push((fi, FieldPath::column(path)));
                }
            }
            sources.push(Source {
                name: name.clone(),
                input,
                records: String::new(),
                id: s.id.as_deref().map(FieldPath::column),
                delimiter: b',',
                mapping,
                truth: s.truth.as_deref().map(FieldPath::column),
            });
            continue;
        }
        let input = match (&s.file, &s.inline) {
            (Some(_), Some(_)) => {
                r.at(&p, "give either `file` or `inline`, not both", None);
                continue;
            }
            (None, None) => {
                r.at(
                    &p,
                    "a source needs `file` (a path), `inline` (a list of records) or `sql` \
                     (a query)",
                    None,
                );
                continue;
            }
            (None, Some(rows)) => Input::Inline(rows.clone()),
            (Some(f), None) => {
                let path = base.join(f);
                let format = s.format.or_else(|| format_from_extension(&path));
                match format {
                    Some(format) => Input::File { path, format },
                    None => {
                        r.at_value(
                            &format!("{p}/file"),
                            format!("cannot tell the format of `{f}` from its extension"),
                            Some("add `format: json`, `ndjson`, `csv` or `yaml`".into()),
                        );
                        continue;
                    }
                }
            }
        };
        if let (Input::File { format, .. }, Some(_)) = (&input, &s.records)
            && matches!(format, SourceFormat::Csv | SourceFormat::Ndjson)
        {
            r.at(
                &format!("{p}/records"),
                "`records` only applies to JSON and YAML files",
                None,
            );
        }
        let delimiter = compile_delimiter(s, &input, &p, r);
        let records = s.records.clone().unwrap_or_default();
        let records = if records == "/" {
            String::new()
        } else {
            records
        };
        if !records.is_empty() && !records.starts_with('/') {
            r.at_value(
                &format!("{p}/records"),
                format!("`{records}` is not a JSON pointer"),
                Some(format!("write it with a leading slash: `/{records}`")),
            );
        }
        let mut mapping = Vec::new();
        for (field, path) in &s.fields {
            if let Some(fi) = field_ref(
                r,
                &format!("{p}/fields/{}", escape_segment(field)),
                field,
                false,
            ) {
                mapping.push((fi, FieldPath::parse(path)));
            }
        }
        if s.fields.is_empty() {
            r.at(
                &format!("{p}/fields"),
                "map at least one target field",
                None,
            );
        }
        sources.push(Source {
            name: name.clone(),
            input,
            records,
            id: s.id.as_deref().map(FieldPath::parse),
            delimiter,
            mapping,
            truth: s.truth.as_deref().map(FieldPath::parse),
        });
    }
    for (i, f) in fields.iter().enumerate() {
        if f.required
            && !sources
                .iter()
                .any(|s| s.mapping.iter().any(|(fi, _)| *fi == i))
        {
            r.at(
                &format!("/target/fields/{}", escape_segment(&f.name)),
                format!("field `{}` is required but no source maps it", f.name),
                Some(format!(
                    "add `{}: <path>` under a source's `fields`",
                    f.name
                )),
            );
        }
    }
    let source_index = |name: &str| sources.iter().position(|s| s.name == name);

    // Exclusion rules.
    let mut exclude = Vec::new();
    for (i, rule) in spec.exclude.iter().enumerate() {
        let p = format!("/exclude/{i}");
        let when = compile_condition(&rule.when, &format!("{p}/when"), r, &mut field_ref);
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

    // Matching.
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
    let mut comparisons = Vec::new();
    for (name, c) in &compare {
        let p = format!("/match/compare/{}", escape_segment(name));
        let Some(field) = field_ref(r, &p, name, false) else {
            continue;
        };
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
            if !crate::matching::compare::has_fuzzy_levels(c.method) {
                r.at(
                    &format!("{p}/levels"),
                    format!("method `{}` has no fuzzy levels", method_name(c.method)),
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
        let count = crate::matching::compare::level_names(&comp).len();
        for (key, list) in [("m", &c.m), ("u", &c.u)] {
            if let Some(list) = list {
                if list.len() != count {
                    r.at_value(
                        &format!("{p}/{key}"),
                        format!(
                            "{} values given, but this comparison has {count} levels ({})",
                            list.len(),
                            crate::matching::compare::level_names(&comp).join(", ")
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
        if (c.m.is_some() || c.u.is_some()) && m.weights == Weights::Auto {
            r.at(
                &p,
                "`m` and `u` are estimated with `weights: auto`",
                Some("remove them, or set `weights: given`".into()),
            );
        }
        comp.m = c.m.clone();
        comp.u = c.u.clone();
        comparisons.push(comp);
    }
    let mut blocking = Vec::new();
    for (i, rule) in m.blocking.iter().enumerate() {
        let p = format!("/match/blocking/{i}");
        if rule.on.is_empty() {
            r.at(
                &format!("{p}/on"),
                "a blocking rule needs at least one key",
                None,
            );
        }
        let mut keys = Vec::new();
        let mut names = Vec::new();
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
            if let Some(fi) = field_ref(r, &kp, field, true) {
                keys.push((fi, transform, length.unwrap_or(4)));
                names.push(match transform {
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
            blocking.push(Blocking {
                name: names.join(sep),
                keys,
                unordered: rule.unordered,
            });
        }
    }
    let dedupe: Vec<bool> = order.iter().map(|&idx| spec.sources[idx].dedupe).collect();
    if comparisons.is_empty() && sources.len() > 1 {
        // Without comparisons, records of different sources are never linked; say so only
        // when the user wrote a `match` section that compares nothing.
        if m.compare.as_ref().is_some_and(|c| !c.is_empty()) {
            r.at("/match/compare", "no usable comparison", None);
        }
    }
    let pairs = |list: &Vec<[String; 2]>, key: &str, r: &mut Reporter<'_>| {
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
                            kind: if key == "same" { "same" } else { "distinct" },
                            label: false,
                        },
                    },
                ));
            }
        }
        out
    };
    let same: Vec<Override> = pairs(&m.same, "same", r)
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    let distinct = pairs(&m.distinct, "distinct", r);
    // A `distinct` pair whose records a chain of `same` pairs makes one entity can be
    // honoured in no way: refused, at the `distinct` pair, naming the `same` lines.
    for (i, d) in &distinct {
        let Some(chain) = same_chain(&same, &d.a, &d.b) else {
            continue;
        };
        let name = |x: &RecordRef| format!("{}:{}", sources[x.source].name, x.id);
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
    let distinct: Vec<Override> = distinct.into_iter().map(|(_, o)| o).collect();

    // Deletes.
    let soft_delete = compile_soft_delete(spec, &fields, r);
    let max_delete = match &spec.max_delete {
        None => DeleteLimit::Share(0.1),
        Some(super::MaxDelete::Count(n)) => DeleteLimit::Count(*n),
        Some(super::MaxDelete::Share(s)) => match s.trim_end_matches('%').parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => DeleteLimit::Share(p / 100.0),
            _ => {
                r.at_value(
                    "/max_delete",
                    format!("`{s}` is not a share between 0% and 100%"),
                    Some("write a count such as `5`, or a share such as `\"10%\"`".into()),
                );
                DeleteLimit::Share(0.1)
            }
        },
    };

    if r.problems.len() > before {
        return None;
    }
    Some(Compiled {
        file: file.to_path_buf(),
        resource: spec.resource.clone(),
        database: spec.database.clone(),
        table: spec.target.table.clone(),
        primary_key: spec.target.primary_key.clone(),
        fields,
        key,
        address_field,
        sources,
        exclude,
        matching: MatchConfig {
            threshold: m.threshold,
            review: m.review,
            weights: m.weights,
            comparisons,
            blocking,
            max_block: m.max_block,
            max_cluster: m.max_cluster,
            dedupe,
            same,
            distinct,
            origin,
        },
        on_missing: spec.on_missing,
        soft_delete,
        max_delete,
        prevent_destroy: spec.prevent_destroy,
        depends_on: spec.depends_on.clone(),
        owns_table: spec.target.owns_table,
        sensitive: spec.target.fields.values().map(|f| f.sensitive).collect(),
        ignore_changes: spec
            .target
            .fields
            .values()
            .map(|f| f.ignore_changes)
            .collect(),
        strict: spec.invalid == super::InvalidPolicy::Error,
    })
}

/// A source without `id:` names its records by their content, so an edited record arrives
/// under a new id and is known for the same one only by `target.key` or by the matcher. With
/// neither, an edit would leave the old row behind and create a new one: refused, at each
/// such source, with the fix. Runs on the compiled spec, so that comparisons derived from the
/// field types count as comparisons.
pub fn check_identity(compiled: &Compiled, r: &mut Reporter<'_>) {
    if compiled.key.is_some() || !compiled.matching.comparisons.is_empty() {
        return;
    }
    for source in compiled.sources.iter().filter(|s| s.id.is_none()) {
        r.at(
            &format!("/sources/{}", escape_segment(&source.name)),
            format!(
                "source `{}` has no `id:`, and the spec has neither `target.key` nor a match \
                 comparison, so an edited record could not be told from a new one",
                source.name
            ),
            Some(
                "add `id:` naming a column that identifies each record (an account number, a \
                 code), or declare `target.key` (a field unique to each record, such as `email`)"
                    .into(),
            ),
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

/// A CSV source's `delimiter`: one ASCII character other than a quote or a line break;
/// `"\t"` may also be written as `tab`. Only CSV files take one.
fn compile_delimiter(s: &super::SourceSpec, input: &Input, p: &str, r: &mut Reporter<'_>) -> u8 {
    let Some(text) = &s.delimiter else {
        return b',';
    };
    let pointer = format!("{p}/delimiter");
    if !matches!(
        input,
        Input::File {
            format: SourceFormat::Csv,
            ..
        }
    ) {
        r.at(&pointer, "`delimiter` only applies to CSV files", None);
        return b',';
    }
    let byte = match text.as_str() {
        "tab" | "\\t" => Some(b'\t'),
        t if t.len() == 1 => t.bytes().next().filter(|b| {
            b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') && !b.is_ascii_alphanumeric()
        }),
        _ => None,
    };
    byte.unwrap_or_else(|| {
        r.at_value(
            &pointer,
            format!("`{text}` cannot separate columns"),
            Some(
                "give one character such as `\",\"`, `\";\"`, `\"|\"`, or `\"\\t\"` for a tab"
                    .into(),
            ),
        );
        b','
    })
}

/// `soft_delete` must name a valid column that no field uses, with a scalar value, and is
/// needed exactly when `on_missing: soft_delete`.
fn compile_soft_delete(spec: &Spec, fields: &[Field], r: &mut Reporter<'_>) -> Option<SoftDelete> {
    let Some(sd) = &spec.soft_delete else {
        if spec.on_missing == OnMissing::SoftDelete {
            r.at_value(
                "/on_missing",
                "`on_missing: soft_delete` needs a `soft_delete` column",
                Some("add `soft_delete: { column: archived, value: true }`".into()),
            );
        }
        return None;
    };
    if spec.target.owns_table {
        r.at(
            "/soft_delete",
            "`soft_delete` cannot be combined with `owns_table: true`",
            Some(
                "a soft-deleted row is no longer managed, so a spec that owns the whole table \
                 would find it missing again on every plan; use `on_missing: delete`"
                    .into(),
            ),
        );
    }
    if spec.on_missing != OnMissing::SoftDelete {
        r.at(
            "/soft_delete",
            "`soft_delete` only applies with `on_missing: soft_delete`",
            None,
        );
    }
    if !valid_identifier(&sd.column) {
        r.at_value(
            "/soft_delete/column",
            format!("`{}` is not a valid column name", sd.column),
            identifier_help(),
        );
    }
    if sd.column == spec.target.primary_key || fields.iter().any(|f| f.column == sd.column) {
        r.at_value(
            "/soft_delete/column",
            format!(
                "column `{}` is already used by the target; soft deletes need a column of their own",
                sd.column
            ),
            None,
        );
    }
    let value = match &sd.value {
        serde_json::Value::Bool(b) => crate::value::Value::Bool(*b),
        serde_json::Value::Number(n) if n.is_i64() => {
            crate::value::Value::Int(n.as_i64().unwrap_or_default())
        }
        serde_json::Value::String(s) if !s.is_empty() => crate::value::Value::Text(s.clone()),
        _ => {
            r.at_value(
                "/soft_delete/value",
                "the soft-delete value must be `true`/`false`, a whole number or a non-empty text",
                None,
            );
            return None;
        }
    };
    Some(SoftDelete {
        column: sd.column.clone(),
        value,
    })
}

pub fn method_name(m: CompareMethod) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn format_from_extension(path: &Path) -> Option<SourceFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => SourceFormat::Json,
        "ndjson" | "jsonl" => SourceFormat::Ndjson,
        "csv" => SourceFormat::Csv,
        "yaml" | "yml" => SourceFormat::Yaml,
        _ => return None,
    })
}

type FieldRef<'f> = dyn FnMut(&mut Reporter<'_>, &str, &str, bool) -> Option<usize> + 'f;

fn compile_condition(
    c: &Condition,
    p: &str,
    r: &mut Reporter<'_>,
    field_ref: &mut FieldRef<'_>,
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
        let idx = field_ref(r, &format!("{p}/field"), field, true)?;
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
    let list = |items: &Vec<Condition>, key: &str, r: &mut Reporter<'_>, fr: &mut FieldRef<'_>| {
        let out: Vec<Predicate> = items
            .iter()
            .enumerate()
            .filter_map(|(i, c)| compile_condition(c, &format!("{p}/{key}/{i}"), r, fr))
            .collect();
        (out.len() == items.len()).then_some(out)
    };
    if let Some(items) = &c.all {
        return list(items, "all", r, field_ref).map(Predicate::All);
    }
    if let Some(items) = &c.any {
        return list(items, "any", r, field_ref).map(Predicate::Any);
    }
    if let Some(inner) = &c.not {
        return compile_condition(inner, &format!("{p}/not"), r, field_ref)
            .map(|x| Predicate::Not(Box::new(x)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn identifiers_are_checked() {
        assert!(valid_identifier("customers"));
        assert!(valid_identifier("_x1"));
        assert!(!valid_identifier("customers; DROP TABLE x"));
        assert!(!valid_identifier("1abc"));
        assert!(!valid_identifier(""));
    }
}
