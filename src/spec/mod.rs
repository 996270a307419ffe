//! The spec as the user wrote it: serde types that also generate the JSON Schema shipped in
//! `schemas/reconcile.schema.json`. Doc comments here become the editor's hover text.
//!
//! Loading (YAML with locations, schema validation, semantic checks) lives in [`load`];
//! the engine never works on these raw types directly but on [`compiled`] forms.

pub mod compile;
pub mod compiled;
pub mod load;
pub mod path;
pub mod report;
pub mod schema;
pub mod yaml;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reconcile spec: where records come from, how they are cleaned, matched and merged,
/// and which table they must end up in.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "reconcile spec")]
pub struct Spec {
    /// Version of the spec format. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    #[schemars(title = "Spec format version", example = serde_json::json!(1))]
    pub version: u32,
    /// Name of the resource; addresses in plans read `resource["key"]`.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    #[schemars(title = "Resource name", example = serde_json::json!("customers"))]
    pub resource: String,
    /// Database URL, e.g. `sqlite://reconcile.db` or `${DATABASE_URL}`. `--database` and the
    /// `DATABASE_URL` environment variable take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Database URL", example = serde_json::json!("${DATABASE_URL}"))]
    pub database: Option<String>,
    /// The table the desired records are written to.
    #[schemars(title = "Target table", example = serde_json::json!({"table": "customers", "key": "email", "fields": {"name": {"type": "text", "required": true}, "email": {"type": "email"}}}))]
    pub target: TargetSpec,
    /// Where records come from, by source name.
    #[schemars(title = "Sources", example = serde_json::json!({"production": {"file": "../exports/customers.json", "id": "pk", "fields": {"name": "fields.business_name", "email": "fields.email"}}}))]
    pub sources: IndexMap<String, SourceSpec>,
    /// Source names, highest priority first. The first non-empty value in this order wins each
    /// field. Defaults to the order the sources are declared in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Source priority", example = serde_json::json!(["production", "import"]))]
    pub priority: Vec<String>,
    /// What a source value that fails its field type (a phone that is not a number, a
    /// malformed email or date, text in an integer field) does. `list` (the default): the plan
    /// lists it with its source, row, field and reason, and treats it as absent: the record's
    /// other fields are used, and the value never overwrites what the table holds. `error`:
    /// every such value is an error and nothing is planned, for CI (as `--strict`). Records
    /// dropped by `exclude` are not checked.
    #[serde(default)]
    #[schemars(title = "Invalid values", example = serde_json::json!("error"))]
    pub invalid: InvalidPolicy,
    /// Rules that drop records before matching. Every dropped record is listed in the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Exclusion rules", example = serde_json::json!([{"name": "private customers", "when": {"field": "kind", "equals": "private"}}]))]
    pub exclude: Vec<ExcludeRule>,
    /// How records from different sources are recognised as the same entity.
    #[serde(default, rename = "match")]
    #[schemars(title = "Matching", example = serde_json::json!({"threshold": 0.85, "review": 0.5, "compare": {"name": {"method": "name"}, "email": {"method": "exact"}}}))]
    pub matching: MatchSpec,
    /// How the members of a match become one golden record.
    #[serde(default)]
    #[schemars(title = "Merging", example = serde_json::json!({"default": "priority"}))]
    pub merge: MergeSpec,
    /// What happens to a managed row whose record has left every source.
    #[serde(default)]
    #[schemars(title = "When a record leaves every source", example = serde_json::json!("keep"))]
    pub on_missing: OnMissing,
    /// For `on_missing: soft_delete`: the column set on a row instead of deleting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Soft-delete column", example = serde_json::json!({"column": "archived", "value": true}))]
    pub soft_delete: Option<SoftDeleteSpec>,
    /// The most rows one plan may delete (or soft-delete, or replace): a count such as `5`,
    /// or a share such as `"10%"` of the rows the resource manages (of every row of the
    /// table with `owns_table`). A share never allows fewer than 2 rows, so a small table is
    /// not judged by percentage alone. A plan deleting every managed row (of two or more) is
    /// refused whatever the limit, unless it is `"100%"`. A plan over the limit is shown,
    /// then refused, unless `--allow-mass-delete` is given. Defaults to `"10%"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Most rows one plan may delete", example = serde_json::json!("10%"))]
    pub max_delete: Option<MaxDelete>,
    /// Refuse any plan that would delete a row, whatever `on_missing` or `--prune` say.
    #[serde(default)]
    #[schemars(title = "Never delete", example = serde_json::json!(true))]
    pub prevent_destroy: bool,
    /// Resources of the same spec folder that are written before this one (and deleted
    /// after it), besides those its fields reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Depends on", example = serde_json::json!(["customers"]))]
    pub depends_on: Vec<String>,
}

/// The column that marks a row as deleted, and the value it is set to.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoftDeleteSpec {
    /// Column name. It is not one of the target's fields; a table the tool creates gets it.
    #[schemars(title = "Soft-delete column name", example = serde_json::json!("archived"))]
    pub column: String,
    /// The value written to the column: `true`, a number or a text.
    #[serde(default = "default_soft_delete_value")]
    #[schemars(title = "Value written", example = serde_json::json!(true))]
    pub value: serde_json::Value,
}

fn default_soft_delete_value() -> serde_json::Value {
    serde_json::Value::Bool(true)
}

/// A limit on deletes: a count of rows, or a share of the table written as a percentage.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MaxDelete {
    /// At most this many rows.
    Count(u64),
    /// At most this share of the table's rows, e.g. `"10%"`.
    Share(#[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?%$"))] String),
}

/// The target table and its fields.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Target table")]
pub struct TargetSpec {
    /// Table name. Created from `fields` if it does not exist.
    #[schemars(title = "Table name", example = serde_json::json!("customers"))]
    pub table: String,
    /// The table's primary key column. Generated by the database on insert.
    #[serde(default = "default_primary_key")]
    #[schemars(title = "Primary key column", example = serde_json::json!("id"))]
    pub primary_key: String,
    /// A field whose value identifies a row on its own (e.g. `email`). Existing rows with the
    /// same value are adopted rather than duplicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Natural key field", example = serde_json::json!("email"))]
    pub key: Option<String>,
    /// The field that names records in addresses (`customers["leopard-lodge"]`).
    /// Defaults to the first field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Address field", example = serde_json::json!("name"))]
    pub address: Option<String>,
    /// The fields of a golden record, by name, in column order.
    #[schemars(title = "Fields", example = serde_json::json!({"name": {"type": "text", "required": true}, "phone": {"type": "phone", "region": "ZA"}}))]
    pub fields: IndexMap<String, FieldSpec>,
    /// This spec owns every row of the table, not only the rows it created or adopted: a row
    /// no source claims counts as missing and `on_missing` applies to it. Off by default, so
    /// rows written by others are never deleted.
    #[serde(default)]
    #[schemars(title = "Owns the whole table", example = serde_json::json!(false))]
    pub owns_table: bool,
}

fn default_primary_key() -> String {
    "id".to_string()
}

/// One field of the target.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Field")]
pub struct FieldSpec {
    /// How values are parsed, normalised and stored.
    #[serde(default, rename = "type")]
    #[schemars(title = "Field type", example = serde_json::json!("email"))]
    pub kind: FieldType,
    /// A golden record without this field is an error.
    #[serde(default)]
    #[schemars(title = "Required", example = serde_json::json!(true))]
    pub required: bool,
    /// Column name in the table, when it differs from the field name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Column name", example = serde_json::json!("contact_person"))]
    pub column: Option<String>,
    /// For `phone`: the region assumed for numbers written without a country code
    /// (ISO 3166 code such as `ZA` or `GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Default phone region", example = serde_json::json!("ZA"))]
    pub region: Option<String>,
    /// For `text`: keep line breaks (notes, postal addresses). Each line is still trimmed and
    /// its runs of spaces collapsed. Plans diff such values line by line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(title = "Keep line breaks", example = serde_json::json!(true))]
    pub multiline: bool,
    /// Mask this field's values in plans (text and JSON). They are still written.
    #[serde(default)]
    #[schemars(title = "Sensitive", example = serde_json::json!(true))]
    pub sensitive: bool,
    /// Set this field when a row is created, then leave it alone: later changes, in the
    /// sources or made outside reconcile, are not planned.
    #[serde(default)]
    #[schemars(title = "Ignore later changes", example = serde_json::json!(true))]
    pub ignore_changes: bool,
    /// The resource (of the same spec folder) this field points to. The source value names a
    /// record of that resource by its `by` field; the plan shows the record's address and the
    /// column receives that row's primary key. Use `type: integer` for an integer key column.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Referenced resource", example = serde_json::json!("customers"))]
    pub reference: Option<String>,
    /// For `ref`: the field of the referenced resource whose value the source holds.
    /// Defaults to that resource's address field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Referenced by field", example = serde_json::json!("name"))]
    pub by: Option<String>,
}

/// Field types. Each has its own normalisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Field type")]
pub enum FieldType {
    /// Trimmed, inner white space collapsed, Unicode NFC.
    #[default]
    Text,
    /// Trimmed, lower-cased, syntax checked.
    Email,
    /// Parsed and stored as E.164 (`+27828748637`), using the field's `region` for local numbers.
    Phone,
    /// A whole number.
    Integer,
    /// `true` / `false` (also `yes`/`no`, `1`/`0` in sources).
    Boolean,
    /// An exact decimal number (`12.50` and `12.5` are equal); stored as NUMERIC / DECIMAL.
    Decimal,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A date and time, `YYYY-MM-DD HH:MM:SS[.ffffff]` with an optional `Z` or `+02:00`;
    /// stored in UTC without a zone.
    Timestamp,
    /// Any JSON value. Text from a source is parsed as JSON; object keys compare in any order.
    Json,
}

/// One source of records.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Source")]
pub struct SourceSpec {
    /// Path of the source file, relative to the spec file. A pattern such as
    /// `exports/*.csv` reads every file it matches, in name order, as one source (`*` and `?`
    /// within a name, `[abc]` for one of some characters, `**` for any folders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Source file", example = serde_json::json!("../examples/customers/import_customers.csv"))]
    pub file: Option<String>,
    /// File format. Inferred from the file extension when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "File format", example = serde_json::json!("csv"))]
    pub format: Option<SourceFormat>,
    /// Where the list of records sits inside a JSON or YAML file, as a JSON pointer
    /// (`/data/customers`). Defaults to the document root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Records pointer", example = serde_json::json!("/data/customers"))]
    pub records: Option<String>,
    /// Records written directly in the spec, instead of a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Inline records", example = serde_json::json!([{"id": 1, "name": "Acme Trading", "email": "sales@acme.example"}]))]
    pub inline: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// A query whose rows are the records, e.g. `select * from legacy_customers`, run against
    /// `database`. Column names are the paths `fields` maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "SQL query", example = serde_json::json!("select id, name, email from legacy_customers"))]
    pub sql: Option<String>,
    /// The database an `sql` source reads: `sqlite://…`, `postgres://…` or `mysql://…`. Write
    /// passwords as `${VAR}` so they stay out of the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Source database URL", example = serde_json::json!("${LEGACY_DATABASE_URL}"))]
    pub database: Option<String>,
    /// Path of the field that identifies a record within this source (e.g. `pk`): a number, a
    /// text or a boolean, unique within the source. Without it, each record is identified by a
    /// fingerprint of its mapped values, and an edited record is recognised by `target.key`
    /// or the matcher; never by its row number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Record id", example = serde_json::json!("pk"))]
    pub id: Option<String>,
    /// The character that separates the columns of a CSV file: `","` (the default), `";"`,
    /// `"\t"` (a tab) or `"|"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "CSV delimiter", example = serde_json::json!(";"))]
    pub delimiter: Option<String>,
    /// The character that quotes a CSV cell holding the delimiter or a line break: `'"'`
    /// (the default) or another one such as `"'"`; `none` when quotes are ordinary text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "CSV quote character", example = serde_json::json!("'"))]
    pub quote: Option<String>,
    /// How a CSV file's text is encoded: `utf-8` (the default; a byte order mark is skipped),
    /// `windows-1252` (what Excel and other Windows programs write in Western Europe and the
    /// Americas; `latin-1` and `iso-8859-1` read the same way), `utf-16` (with its byte order
    /// mark), or another WHATWG encoding label such as `windows-1250` or `shift_jis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "CSV encoding", example = serde_json::json!("windows-1252"))]
    pub encoding: Option<String>,
    /// The line of a CSV file, or the row of a spreadsheet, that holds the column names
    /// (from 1, the default). What is above it (a title, an export date) is not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), title = "Header line or row", example = serde_json::json!(3))]
    pub header: Option<u32>,
    /// How many lines (or spreadsheet rows) at the top are not read: `skip: 2` is the same as
    /// `header: 3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Leading lines not read", example = serde_json::json!(2))]
    pub skip: Option<u32>,
    /// The sheet of a spreadsheet to read: its name (`"Prices"`), or its position from 1
    /// (`2`). Defaults to the first sheet. Quote a name made of digits (`"2024"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Spreadsheet sheet", example = serde_json::json!("Prices"))]
    pub sheet: Option<SheetSpec>,
    /// Target field name → where its value comes from: a path in the source record
    /// (`fields.email` for nested JSON, the column header for CSV and spreadsheets), a template over paths
    /// (`"{first} {last}"`), a constant (`{ const: business }`), or a path with transforms
    /// (`{ from: name, transforms: [trim, title] }`).
    #[schemars(title = "Field mapping", example = serde_json::json!({"name": "fields.business_name", "email": "fields.email", "contact": "{fields.first_name} {fields.last_name}", "kind": {"const": "business"}}))]
    pub fields: IndexMap<String, FieldMapping>,
    /// This source may hold the same entity more than once: its records are matched with
    /// each other too, not only with other sources.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(title = "Deduplicate within the source", example = serde_json::json!(true))]
    pub dedupe: bool,
    /// A column (path) holding each record's true entity id, for measuring matching with
    /// `reconcile evaluate --truth`. Only `evaluate` reads it: it is never compared, merged or
    /// written, so it cannot change a plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "True entity id (for evaluate only)", example = serde_json::json!("True Id"))]
    pub truth: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a target field's value comes from in a source record.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "Field mapping")]
pub enum FieldMapping {
    /// A path in the source record: `fields.email` (dotted), `/fields/email` (a JSON
    /// pointer), or a CSV column header. Text holding `{` is a template instead: each
    /// `{path}` is replaced by the value at that path (`"{first} {last}"`,
    /// `"{street}, {city}"`), `{{` and `}}` stand for the braces themselves. A template whose
    /// paths are all empty gives an empty value. To read a column whose name holds `{`, write
    /// `{ from: "Amount {ZAR}" }`.
    Path(String),
    /// A value the spec builds: a constant, or a path or template with transforms.
    Computed(ComputedField),
}

/// A value built by the spec. Give exactly one of `const`, `from` or `template`; `from` and
/// `template` may be followed by `transforms`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Computed field")]
pub struct ComputedField {
    /// The same value for every record of the source, read as the field's type.
    #[serde(default, rename = "const", skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Constant", example = serde_json::json!("business"))]
    pub constant: Option<serde_json::Value>,
    /// A path in the source record, read as it is (braces included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "From path", example = serde_json::json!("fields.business_name"))]
    pub from: Option<String>,
    /// Text with `{path}` placeholders, each replaced by the value at that path; `{{` and `}}`
    /// write a brace. Empty when every placeholder is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Template", example = serde_json::json!("{street}, {city}"))]
    pub template: Option<String>,
    /// Applied in order to the value of `from` or `template`, as text. An empty result is an
    /// empty value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Transforms", example = serde_json::json!(["trim", "title", {"replace": {"pattern": "\\s*\\(.*\\)$", "with": ""}}, {"split": {"on": ",", "take": 0}}]))]
    pub transforms: Vec<Transform>,
}

/// A pure transform of text.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Transform")]
pub enum Transform {
    /// Removes white space at both ends: `"  Acme "` → `"Acme"`.
    Trim,
    /// Lower case: `"INFO@ACME.EXAMPLE"` → `"info@acme.example"`.
    Lower,
    /// Upper case: `"za"` → `"ZA"`.
    Upper,
    /// Each word with a capital first letter and the rest lower case (words are separated by
    /// anything but letters, digits and apostrophes): `"OCEAN basket-menlyn"` →
    /// `"Ocean Basket-Menlyn"`.
    Title,
    /// Replaces every match of a regular expression: `{ replace: { pattern: '\s*\(.*\)$',
    /// with: '' } }` turns `"Barchefz (Valley)"` into `"Barchefz"`. In `with`, `$1` stands for
    /// the first group of the match.
    Replace(ReplaceTransform),
    /// Cuts the text at each `on` and keeps one part: `{ split: { on: ",", take: 0 } }` turns
    /// `"Menlyn, Pretoria"` into `"Menlyn"`. `take` counts from 0; a negative `take` counts
    /// from the end (`-1` is the last part). A part that does not exist is empty.
    Split(SplitTransform),
}

/// The settings of `replace`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceTransform {
    /// A regular expression (Rust syntax; `(?i)` ignores case).
    #[schemars(title = "Pattern", example = serde_json::json!("\\s*\\(.*\\)$"))]
    pub pattern: String,
    /// What each match becomes; `$1` inserts the first group of the match, `$2` the second.
    #[serde(default)]
    #[schemars(title = "Replacement", example = serde_json::json!(""))]
    pub with: String,
}

/// The settings of `split`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitTransform {
    /// The text that separates the parts.
    #[schemars(title = "Separator", example = serde_json::json!(","))]
    pub on: String,
    /// Which part to keep, from 0; negative counts from the end.
    #[serde(default)]
    #[schemars(title = "Part to keep", example = serde_json::json!(0))]
    pub take: i64,
}

/// Formats a source file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Source format")]
pub enum SourceFormat {
    /// A JSON array of objects (a Django fixture works as is).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
    /// A YAML list of mappings.
    Yaml,
    /// An Excel workbook (`.xlsx`, `.xlsm`): one sheet, a header row, then one record per row.
    Xlsx,
    /// An Excel binary workbook (`.xlsb`).
    Xlsb,
    /// An Excel 97-2003 workbook (`.xls`).
    Xls,
    /// An OpenDocument spreadsheet (`.ods`, LibreOffice).
    Ods,
}

impl SourceFormat {
    /// A spreadsheet format (read a sheet at a time).
    pub fn is_spreadsheet(self) -> bool {
        matches!(
            self,
            SourceFormat::Xlsx | SourceFormat::Xlsb | SourceFormat::Xls | SourceFormat::Ods
        )
    }
}

/// A sheet of a spreadsheet: by position (from 1) or by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SheetSpec {
    /// The sheet at this position, from 1.
    Index(#[schemars(range(min = 1))] u32),
    /// The sheet with this name.
    Name(String),
}

/// A rule that drops records before matching.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Exclusion rule")]
pub struct ExcludeRule {
    /// Shown in the plan next to each record this rule drops.
    #[schemars(title = "Rule name", example = serde_json::json!("private customers"))]
    pub name: String,
    /// The condition a record must meet to be dropped.
    #[schemars(title = "Condition", example = serde_json::json!({"field": "kind", "equals": "private"}))]
    pub when: Condition,
    /// Only apply the rule to these sources. Defaults to all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Only in these sources", example = serde_json::json!(["import"]))]
    pub sources: Vec<String>,
}

/// A condition on a record. Give `field` with exactly one test (`equals`, `in`, `matches`,
/// `missing`), or exactly one of `all`, `any`, `not`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Condition")]
pub struct Condition {
    /// The target field the test looks at (after normalisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Field", example = serde_json::json!("kind"))]
    pub field: Option<String>,
    /// True when the field equals this value (text compares without regard to case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Equals", example = serde_json::json!("private"))]
    pub equals: Option<serde_json::Value>,
    /// True when the field equals any of these values.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    #[schemars(title = "In", example = serde_json::json!(["private", "staff"]))]
    pub one_of: Option<Vec<serde_json::Value>>,
    /// True when the field matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Matches", example = serde_json::json!("(?i)^test"))]
    pub matches: Option<String>,
    /// `true`: the field is empty; `false`: it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Missing", example = serde_json::json!(true))]
    pub missing: Option<bool>,
    /// True when every condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "All of", example = serde_json::json!([{"field": "kind", "equals": "private"}, {"field": "email", "missing": true}]))]
    pub all: Option<Vec<Condition>>,
    /// True when any condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Any of", example = serde_json::json!([{"field": "name", "matches": "(?i)test"}, {"field": "kind", "equals": "staff"}]))]
    pub any: Option<Vec<Condition>>,
    /// True when the condition does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Not", example = serde_json::json!({"field": "email", "missing": true}))]
    pub not: Option<Box<Condition>>,
}

/// Matching settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Matching")]
pub struct MatchSpec {
    /// Match probability (0–1) at or above which two records are linked. Raise it when
    /// different entities get merged; lower it when the same entity stays split. The HTML
    /// report (`reconcile plan --html`) shows each pair's score and what each comparison
    /// contributed.
    #[serde(default = "default_threshold")]
    #[schemars(range(min = 0.0, max = 1.0))]
    #[schemars(title = "Link threshold", example = serde_json::json!(0.85))]
    pub threshold: f64,
    /// Pairs scoring at or above this but below `threshold` are listed for review, not
    /// linked. Settle them by raising or lowering `threshold`, or with `same` / `distinct`.
    #[serde(default = "default_review")]
    #[schemars(range(min = 0.0, max = 1.0))]
    #[schemars(title = "Review band", example = serde_json::json!(0.5))]
    pub review: f64,
    /// Where the m and u probabilities of each comparison level come from: `given` (the
    /// defaults of each method, or `m`/`u` written on the comparison) or `auto` (estimated
    /// from the data: u from random pairs, m and the share of matches by expectation
    /// maximisation over the blocked pairs).
    #[serde(default)]
    #[schemars(title = "Where weights come from", example = serde_json::json!("auto"))]
    pub weights: Weights,
    /// Comparisons by target field. Each adds evidence for or against a match. Without
    /// `compare`, they come from the field types and names: a text field named as a street
    /// address (`address`, `street`, `address_line_1`; not `email_address`) by `address`, a
    /// text field named as a postcode (`zip`, `postcode`, `postal_code`) by `exact`, the
    /// address field (the first field unless `target.address` says otherwise) by `name` when
    /// it is text, every `email` field by `email`, every `phone` field by `phone`; the plan
    /// says so. `compare: {}` turns
    /// matching off: records of different sources are then never linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Comparisons", example = serde_json::json!({"name": {"method": "name", "weight": 3}, "email": {"method": "exact"}}))]
    pub compare: Option<IndexMap<String, CompareSpec>>,
    /// Blocking rules: only pairs of records that agree on at least one rule are compared.
    /// Without rules, keys are derived from the comparisons (name tokens, exact values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Blocking rules", example = serde_json::json!([{"on": ["email"]}, {"on": [{"field": "name", "key": "first_token"}]}]))]
    pub blocking: Vec<BlockingRule>,
    /// A blocking key shared by more records than this is not used as it is (and is
    /// reported): such a key says little and would make the number of pairs explode. The cap
    /// keeps the pairs per record bounded, so matching time grows linearly with the number of
    /// records. A whole value shared that widely (a branch name such as "Spur Umhlanga") is
    /// narrowed: its records are compared within groups that also agree on another compared
    /// field, such as the city, and no larger than this. A word's prefix shared by a few
    /// hundred records is a common word ("coffee", "lodge") and is skipped.
    #[serde(default = "default_max_block")]
    #[schemars(range(min = 2))]
    #[schemars(title = "Largest usable block", example = serde_json::json!(100))]
    pub max_block: usize,
    /// A group of records of a source with `dedupe: true`, and a golden record bridged from
    /// two, never grows beyond this many records: chained matches must not snowball into one
    /// giant cluster. Lists that keep one row per programme or service hold one place many
    /// times over, so the default leaves room for dozens.
    #[serde(default = "default_max_cluster")]
    #[schemars(range(min = 2))]
    #[schemars(title = "Largest cluster", example = serde_json::json!(10))]
    pub max_cluster: usize,
    /// Within a source with `dedupe: true`, two records whose addresses share nothing by an
    /// `address` comparison (another house number on another street) are not linked by
    /// their score: one list keeps one row per place, so two rows of it at two addresses are
    /// two places (two branches of one name, sharing one phone). Such pairs are listed for
    /// review. Set `false` for lists whose rows may hold one entity at two addresses, such
    /// as people who moved.
    #[serde(default = "default_one_row_per_place")]
    #[schemars(title = "One row per place within a source", example = serde_json::json!(false))]
    pub one_row_per_place: bool,
    /// Pairs of records (`source:id`) that are always linked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Always linked", example = serde_json::json!([["production:7", "import:3"]]))]
    pub same: Vec<[String; 2]>,
    /// Pairs of records (`source:id`) that are never linked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Never linked", example = serde_json::json!([["production:13", "import:6"]]))]
    pub distinct: Vec<[String; 2]>,
    /// A CSV file of pairs people have decided on, relative to the spec: the columns
    /// `left,right,label,time`, records written `source:id`, labels `same`, `distinct` or
    /// `unsure`, times in RFC 3339 UTC. `reconcile review` appends to it. Its `same` and
    /// `distinct` rows count as if written under `same` and `distinct`; the last row of a
    /// pair wins, so a later `unsure` withdraws an earlier decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Labels file", example = serde_json::json!("reconcile.labels.csv"))]
    pub labels: Option<String>,
    /// The most memory matching's working set may take, as `512MiB`, `4GiB` or `2GB`
    /// (`--match-memory` overrides it). Past it, matching runs in partitions and spills its
    /// blocking keys to the temporary folder (`TMPDIR`), with the same result, only slower.
    /// Without it, half the memory available when matching starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Matching memory", example = serde_json::json!("4GiB"))]
    pub memory: Option<String>,
}

impl Default for MatchSpec {
    fn default() -> Self {
        MatchSpec {
            threshold: default_threshold(),
            review: default_review(),
            weights: Weights::default(),
            compare: None,
            blocking: Vec::new(),
            max_block: default_max_block(),
            max_cluster: default_max_cluster(),
            one_row_per_place: default_one_row_per_place(),
            same: Vec::new(),
            distinct: Vec::new(),
            labels: None,
            memory: None,
        }
    }
}

fn default_threshold() -> f64 {
    0.85
}

fn default_review() -> f64 {
    0.5
}

fn default_max_block() -> usize {
    100
}

fn default_max_cluster() -> usize {
    50
}

fn default_one_row_per_place() -> bool {
    true
}

/// Where the m/u probabilities come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// Each method's defaults, or the `m`/`u` lists written on a comparison.
    #[default]
    Given,
    /// Estimated from the data on every run (unsupervised, deterministic).
    Auto,
    /// Trained on the pairs people labelled `same` (the labels file and `match.same`): m
    /// from how those pairs compare, u from random pairs of the data, as with `auto`.
    Labels,
}

/// One blocking rule: records agreeing on every listed key are compared.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockingRule {
    /// The keys, all of which must agree.
    #[schemars(title = "Keys that must agree", example = serde_json::json!(["postcode"]))]
    pub on: Vec<BlockingKey>,
    /// The keys' values are taken as a set, so `[given_name, surname]` also pairs records
    /// whose given name and surname were swapped.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(title = "Keys as a set", example = serde_json::json!(true))]
    pub unordered: bool,
}

/// A blocking key: a field name (its whole normalised value), or a field with a transform.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BlockingKey {
    /// A target field; its whole normalised value is the key.
    Field(String),
    /// A target field with a transform.
    Transformed(TransformedKey),
}

/// A field with a transform applied before blocking.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformedKey {
    /// The target field.
    #[schemars(title = "Field", example = serde_json::json!("name"))]
    pub field: String,
    /// How the value becomes a key.
    #[schemars(title = "Key transform", example = serde_json::json!("first_token"))]
    pub key: KeyTransform,
    /// For `prefix`: how many characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    #[schemars(title = "Prefix length", example = serde_json::json!(4))]
    pub length: Option<usize>,
}

/// Transforms of a blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyTransform {
    /// The whole value, lower-cased.
    Exact,
    /// The first `length` characters (default 4).
    Prefix,
    /// The first word.
    FirstToken,
    /// Every word on its own (for names: the identity-bearing words after normalisation).
    Tokens,
    /// The Soundex code of the first word: "Smith" and "Smyth" share S530.
    Soundex,
}

/// One comparison between two records' values of a field. Its outcome is one of ordered
/// levels: `exact`, then the fuzzy levels of the method (from `levels`), then `else`; a
/// missing value on either side is no evidence either way.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Comparison")]
pub struct CompareSpec {
    /// How the two values are compared.
    #[schemars(title = "Comparison method", example = serde_json::json!("name"))]
    pub method: CompareMethod,
    /// Scales this comparison's evidence (1 = as is, 0 = ignore).
    #[serde(default = "default_weight")]
    #[schemars(range(min = 0.0))]
    #[schemars(title = "Weight", example = serde_json::json!(1.0))]
    pub weight: f64,
    /// The fuzzy levels between `exact` and `else`, strongest first: similarity cut-offs
    /// (0–1) for `name`, `jaro_winkler`, `jaccard`, `token_set`; edit counts for
    /// `levenshtein` and `damerau_levenshtein`. Each method has defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Fuzzy levels", example = serde_json::json!([0.92, 0.8]))]
    pub levels: Option<Vec<f64>>,
    /// For `date`: a level for dates at most this many days apart (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Days apart", example = serde_json::json!(30))]
    pub days: Option<u32>,
    /// For `numeric`: a level for numbers at most this far apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Numeric tolerance", example = serde_json::json!(0.5))]
    pub tolerance: Option<f64>,
    /// Term-frequency adjustment: agreeing on a common value (a frequent surname, a word
    /// shared by many names, a postcode, a brand's `info@` address or switchboard number held
    /// by many records) counts less than agreeing on a rare one. Default: on for `name`,
    /// `exact`, `email` and `phone`, off otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Term-frequency adjustment", example = serde_json::json!(true))]
    pub term_frequency: Option<bool>,
    /// With `weights: given`, the probability of each level among true matches, in level
    /// order (`exact`, the fuzzy levels, `else`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "m probabilities", example = serde_json::json!([0.9, 0.08, 0.02]))]
    pub m: Option<Vec<f64>>,
    /// With `weights: given`, the probability of each level among non-matches, in level
    /// order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "u probabilities", example = serde_json::json!([0.001, 0.01, 0.989]))]
    pub u: Option<Vec<f64>>,
}

impl CompareSpec {
    /// A comparison by `method` with every setting at its default.
    pub fn with_method(method: CompareMethod) -> CompareSpec {
        CompareSpec {
            method,
            weight: default_weight(),
            levels: None,
            days: None,
            tolerance: None,
            term_frequency: None,
            m: None,
            u: None,
        }
    }
}

fn default_weight() -> f64 {
    1.0
}

/// Comparison methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Comparison method")]
pub enum CompareMethod {
    /// Organisation names: case, accents, punctuation, "the", "&"/"and" and legal suffixes are
    /// ignored; containment ("Luma" in "Luma Bar and Lounge") and typos count as similar, a
    /// distinguishing word on both sides ("Menlyn" / "Brooklyn") does not.
    Name,
    /// Equal after normalisation.
    Exact,
    /// Jaro-Winkler similarity of the normalised values.
    JaroWinkler,
    /// Levenshtein edit count.
    Levenshtein,
    /// Damerau-Levenshtein edit count (a swap of two neighbours is one edit).
    DamerauLevenshtein,
    /// Jaccard similarity of the character bigrams.
    Jaccard,
    /// Jaccard similarity of the word sets, in any order.
    TokenSet,
    /// Email addresses: the same address, else the same domain.
    Email,
    /// Phone numbers, by their digits whatever the separators or the field type: the same
    /// number, else the same number written without its country or area code.
    Phone,
    /// Street addresses: street types and directions abbreviated or not ("St" = "Street",
    /// "N" = "North"), ordinals as words or digits ("7th" = "Seventh"), units, floors and
    /// notes ("between 90th and 91st") left out; the house number agreeing or not is its own
    /// evidence.
    Address,
    /// Dates (YYYY-MM-DD or YYYYMMDD): exact, one character off, day and month swapped,
    /// within `days`.
    Date,
    /// Numbers: equal, or within `tolerance`.
    Numeric,
}

impl CompareMethod {
    /// The method as the spec spells it (`jaro_winkler`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }
}

/// Merge settings: how the members of a match become one golden record, field by field.
/// Whatever the rule, an empty value never wins unless every member is empty (except under
/// `source`, which takes nothing from other sources). When members disagree, the plan keeps
/// which value won, by which rule, and which values lost (`plan --explain`,
/// `reconcile explain ADDRESS`, the HTML report, and `conflicts` in the JSON plan).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Merging")]
pub struct MergeSpec {
    /// The rule for every field without one of its own under `fields`.
    #[serde(default)]
    #[schemars(title = "Default survivorship", example = serde_json::json!("priority"))]
    pub default: SurvivorshipSpec,
    /// A rule per target field: `address: longest`, `phone: { rule: most_recent, by:
    /// updated_at }`, `name: { rule: priority, order: [crm, sheet] }`, `segment: { source: crm
    /// }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(title = "Survivorship per field", example = serde_json::json!({"address": "longest", "phone": {"rule": "most_recent", "by": "updated_at"}, "name": {"rule": "priority", "order": ["crm", "sheet"]}, "revenue": "max", "segment": {"source": "crm"}}))]
    pub fields: IndexMap<String, SurvivorshipSpec>,
}

/// A survivorship rule: its name alone (`longest`) when it needs no setting, else a mapping
/// with the rule and its settings (`{ rule: most_recent, by: updated_at }`, `{ source: crm
/// }`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "Survivorship rule")]
pub enum SurvivorshipSpec {
    /// A rule by name: `priority`, `most_frequent`, `longest`, `max` or `min`.
    Short(Survivorship),
    /// A rule with its settings.
    Rule(RuleSpec),
}

impl Default for SurvivorshipSpec {
    fn default() -> Self {
        SurvivorshipSpec::Short(Survivorship::Priority)
    }
}

/// A survivorship rule with its settings. `rule` names it; `order` goes with `priority`,
/// `by` with `most_recent`; `source: NAME` alone is the `source` rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Survivorship rule with settings")]
pub struct RuleSpec {
    /// The rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Rule", example = serde_json::json!("most_recent"))]
    pub rule: Option<Survivorship>,
    /// For `priority`: this field's own source order, highest first. Sources left out follow,
    /// in `priority` order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Source order for this field", example = serde_json::json!(["crm", "sheet"]))]
    pub order: Option<Vec<String>>,
    /// For `most_recent`: the `date` or `timestamp` field that says how recent each record is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Most recent by", example = serde_json::json!("updated_at"))]
    pub by: Option<String>,
    /// The `source` rule: the value of this source only; empty when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Only from this source", example = serde_json::json!("crm"))]
    pub source: Option<String>,
}

/// How one field's value is chosen among the members of a match. Ties go to the member that
/// comes first in `priority` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Survivorship rule name")]
pub enum Survivorship {
    /// The first non-empty value in `priority` order, or in the field's own `order`:
    /// `name: { rule: priority, order: [crm, sheet] }`.
    #[default]
    Priority,
    /// The value of the member whose `by` field (a date or timestamp) is latest; members
    /// without one count as oldest: `phone: { rule: most_recent, by: updated_at }`.
    MostRecent,
    /// The value most members hold: `city: most_frequent`.
    MostFrequent,
    /// The longest text: `address: longest`.
    Longest,
    /// The largest number, or the latest date: `revenue: max`.
    Max,
    /// The smallest number, or the earliest date: `first_seen: min`.
    Min,
    /// The value of one source only, empty when that source has none: `segment: { source:
    /// crm }`.
    Source,
}

impl Survivorship {
    /// The rule as the spec spells it (`most_recent`).
    pub fn name(self) -> &'static str {
        match self {
            Survivorship::Priority => "priority",
            Survivorship::MostRecent => "most_recent",
            Survivorship::MostFrequent => "most_frequent",
            Survivorship::Longest => "longest",
            Survivorship::Max => "max",
            Survivorship::Min => "min",
            Survivorship::Source => "source",
        }
    }
}

/// What a value that fails its field type does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Invalid-value policy")]
pub enum InvalidPolicy {
    /// List the value in the plan and leave it out; the rest of the record is used.
    #[default]
    List,
    /// Stop with an error naming every invalid value (as `--strict`).
    Error,
}

/// Policy for managed rows whose record left every source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Missing-record policy")]
pub enum OnMissing {
    /// Leave the row in the table; the plan lists it.
    #[default]
    Keep,
    /// Delete the row (guarded by `max_delete` and `prevent_destroy`).
    Delete,
    /// Keep the row but set the `soft_delete` column on it; it is no longer managed.
    SoftDelete,
}
