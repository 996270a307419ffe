//! The machine-readable plan: its own serialisable types, apart from the model, so the
//! contract (`format_version`) changes only on purpose.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;

use crate::merge::{Conflict, Decision};
use crate::plan::schema::Note;
use crate::plan::{Action, Change, OverrideNote, Plan, Reason, ReviewItem};
use crate::value::Value;

/// Bumped on any breaking change to the JSON shape.
pub const FORMAT_VERSION: &str = "1";

#[derive(Serialize, JsonSchema)]
pub struct JsonPlan {
    pub format_version: &'static str,
    pub resource: String,
    pub table: String,
    pub create_table: bool,
    pub summary: JsonSummary,
    pub changes: Vec<JsonChange>,
    pub excluded: Vec<JsonExcluded>,
    /// Source values that failed their field type, left out (an addition to format 1).
    pub invalid: Vec<JsonInvalid>,
    pub review: Vec<JsonReview>,
    /// What the `same` / `distinct` pairs changed (an addition to format 1).
    pub overrides: Vec<JsonOverride>,
    pub kept: Vec<JsonKept>,
    /// What the plan does to the table's structure, before the row changes (an addition to
    /// format 1): columns to add to the existing table, and the unique index and foreign
    /// keys of a table to create.
    pub schema_changes: Vec<JsonSchemaChange>,
    /// What the plan notes about the table's constraints and does not change (an addition
    /// to format 1).
    pub schema_notes: Vec<JsonSchemaNote>,
    /// Columns of the existing table that the spec does not name: never written, never
    /// dropped (an addition to format 1).
    pub unmanaged_columns: Vec<String>,
    /// Fields whose values are masked as `"(sensitive value)"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
    pub fingerprint: String,
    /// Present when the plan was made without reading the sources, because nothing changed
    /// since the last apply (an addition to format 1: readers that do not know it lose
    /// nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<JsonShortcut>,
    /// How records were matched (an addition to format 1).
    pub matching: JsonMatching,
}

/// The comparisons that linked records, and where they came from: `written` in the spec,
/// `derived` from the field types (no `match.compare`), `off` (`compare: {}`), or
/// `nothing_to_compare` (no `match.compare` and no field to compare by default).
#[derive(Serialize, JsonSchema)]
pub struct JsonMatching {
    pub origin: crate::spec::compiled::ModelOrigin,
    pub comparisons: Vec<JsonComparison>,
    /// The same, worded for people; absent when the spec wrote its comparisons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct JsonComparison {
    pub field: String,
    pub method: String,
}

/// Why a plan could be made without reading the sources.
#[derive(Serialize, JsonSchema)]
pub struct JsonShortcut {
    /// When the apply this plan relies on ran.
    pub applied_at: String,
    pub reason: &'static str,
    /// Unchanged records list their sources, but which source each value came from (their
    /// `provenance`), what names each source record (`source_names`) and which values lost
    /// to the ones kept (`conflicts`) are only known by reading the sources: `plan
    /// --refresh` shows them.
    pub provenance: &'static str,
}

/// What a sensitive value reads as in the JSON plan.
pub use super::safe::MASK;

#[derive(Serialize, JsonSchema)]
pub struct JsonSummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub no_op: usize,
    pub excluded: usize,
    pub review: usize,
    /// How many source values failed their field type (an addition to format 1).
    pub invalid: usize,
    /// Updates (counted in `update` too) that replace everything a row is known by.
    pub replace: usize,
    /// Columns to add to the existing table (an addition to format 1).
    pub add_column: usize,
}

/// A change to the table's structure.
#[derive(Serialize, JsonSchema)]
pub struct JsonSchemaChange {
    /// `add_column` (to the existing table), `add_unique_index` or `add_foreign_key` (of a
    /// table to create).
    pub action: &'static str,
    pub column: String,
    /// With `add_column`: the field the column is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With `add_column`: the field's type (`text`, `email`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_type: Option<String>,
    /// With `add_column`: the column's type on the database planned against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_type: Option<String>,
    /// With `add_column`: always true (rows the spec does not fill have no value for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// With `add_foreign_key`: the table and column it refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<JsonReferenced>,
}

/// The table and column a foreign key refers to.
#[derive(Serialize, JsonSchema)]
pub struct JsonReferenced {
    pub table: String,
    pub column: String,
}

/// A note on the table's constraints.
#[derive(Serialize, JsonSchema)]
pub struct JsonSchemaNote {
    /// `no_unique_index` (an existing table lacks one on `target.key`), `no_foreign_key` (an
    /// existing table lacks one on a reference column), `similar_column` (a column to add is
    /// close to one the spec does not name), `foreign_key_left_out` (a table to create gets
    /// none for a reference).
    pub code: &'static str,
    pub column: String,
    /// The note, worded for people.
    pub note: String,
}

#[derive(Serialize, JsonSchema)]
pub struct JsonChange {
    pub address: String,
    pub action: Action,
    pub reason: &'static str,
    pub before: Option<IndexMap<String, serde_json::Value>>,
    pub after: Option<IndexMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<String>>,
    pub provenance: IndexMap<String, String>,
    pub sources: Vec<String>,
    /// What names each record of `sources` (its first text field, else its compared
    /// values), keyed as in `sources`; `null` when only a sensitive value could. Absent when
    /// the plan did not read the sources (an addition to format 1).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub source_names: IndexMap<String, Option<String>>,
    /// The fields the records disagreed on: the value kept, the rule that chose it, and the
    /// values that lost. Absent when they agreed on every field (an addition to format 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<JsonConflict>,
    /// For a soft delete: the column set and its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete: Option<JsonSoftDelete>,
    /// An update that replaces everything the row is known by (present only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
}

/// A field whose records held different values.
#[derive(Serialize, JsonSchema)]
pub struct JsonConflict {
    pub field: String,
    /// The survivorship rule that chose: `priority`, `most_recent`, `most_frequent`,
    /// `longest`, `max`, `min` or `source`.
    pub rule: &'static str,
    /// With `priority`: the field's own source order decided (present only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_order: bool,
    /// With `most_recent`: the field whose dates decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// With `source`: the only source the value may come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The rule found several different values equally good, and priority order chose.
    pub tie: bool,
    /// The value kept (`null` only with `source`, when that source had none), masked for a
    /// sensitive field.
    pub value: serde_json::Value,
    /// The record the kept value came from (`source:id`).
    pub from: Option<String>,
    /// Every value that lost, with its record.
    pub lost: Vec<JsonLost>,
}

/// A value that lost, and the record (`source:id`) that held it.
#[derive(Serialize, JsonSchema)]
pub struct JsonLost {
    pub value: serde_json::Value,
    pub from: String,
}

#[derive(Serialize, JsonSchema)]
pub struct JsonSoftDelete {
    pub column: String,
    pub value: serde_json::Value,
}

#[derive(Serialize, JsonSchema)]
pub struct JsonExcluded {
    pub source: String,
    pub record: String,
    pub rule: String,
    /// What names the record; `null` when only a sensitive value could (an addition to
    /// format 1).
    pub name: Option<String>,
}

/// A source value that failed its field type: where it is, what it was, and why.
#[derive(Serialize, JsonSchema)]
pub struct JsonInvalid {
    pub source: String,
    pub record: String,
    /// Where the record is in its source (`line 14`).
    pub row: String,
    pub field: String,
    /// As the source wrote it; `"(sensitive value)"` for a sensitive field.
    pub value: String,
    pub reason: String,
}

#[derive(Serialize, JsonSchema)]
pub struct JsonReview {
    pub left: String,
    pub right: String,
    pub score: f64,
    pub reason: String,
    /// What names each record (its first text field, else its compared values); `null`
    /// when nothing but a sensitive value could (an addition to format 1).
    pub left_name: Option<String>,
    pub right_name: Option<String>,
    /// Why, for machines: `review_band`, `max_cluster`, `better_match`, `other_place`,
    /// `against`, `two_places`, `one_to_one` (an addition to format 1).
    pub code: &'static str,
}

/// What a `same` or `distinct` pair changed for one record, against matching without any
/// override (an addition to format 1).
#[derive(Serialize, JsonSchema)]
pub struct JsonOverride {
    /// `same` or `distinct`.
    pub kind: &'static str,
    /// The file and line that wrote the pair.
    pub file: String,
    pub line: usize,
    pub record: String,
    /// `moved` (it left the group it had without overrides), or `linked_instead` (a
    /// `distinct` split its group and it linked by score elsewhere: to review).
    pub effect: &'static str,
    /// The golden record it is in now.
    pub address: String,
    /// The highest-priority record it was grouped with without overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was_with: Option<String>,
    /// With `linked_instead`: the record it linked to, and the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The same, worded for people.
    pub note: String,
}

#[derive(Serialize, JsonSchema)]
pub struct JsonKept {
    pub address: String,
    pub row_key: String,
    /// What names the row, from what it holds; `null` when only a sensitive value could (an
    /// addition to format 1).
    pub name: Option<String>,
}

fn reason_code(r: &Reason) -> &'static str {
    match r {
        Reason::New => "new",
        Reason::Vanished => "row_deleted_outside",
        Reason::SourceChanged => "source_changed",
        Reason::NewColumn => "new_column",
        Reason::Drift { .. } => "changed_outside",
        Reason::AdoptByKey => "adopt_by_key",
        Reason::AdoptByMatch { .. } => "adopt_by_match",
        Reason::UpToDate => "up_to_date",
        Reason::Missing => "missing",
        Reason::MissingSoft => "missing_soft_delete",
        Reason::Restored => "restored",
    }
}

/// One conflict of a change as JSON; `masked` gives a field's value as shown.
fn conflict(
    plan: &Plan,
    c: &crate::plan::Change,
    x: &Conflict,
    masked: &impl Fn(usize, &Value) -> serde_json::Value,
) -> JsonConflict {
    let name = |f: usize| plan.fields.get(f).map(|f| f.0.clone()).unwrap_or_default();
    let member = |m: u32| c.members.get(m as usize).map(ToString::to_string);
    JsonConflict {
        field: name(x.field),
        rule: x.rule.code(),
        own_order: x.rule == Decision::Order,
        by: match x.rule {
            Decision::MostRecent { by } => Some(name(by)),
            _ => None,
        },
        source: match &x.rule {
            Decision::Source { source } => Some(source.clone()),
            _ => None,
        },
        tie: x.tie,
        value: masked(x.field, &x.value),
        from: c.source_of(x.field).map(ToString::to_string),
        lost: x
            .lost
            .iter()
            .map(|l| JsonLost {
                value: masked(x.field, &l.value),
                from: member(l.member).unwrap_or_default(),
            })
            .collect(),
    }
}

/// Builds the JSON view of a plan.
pub fn to_json(plan: &Plan) -> JsonPlan {
    let s = plan.summary();
    JsonPlan {
        format_version: FORMAT_VERSION,
        resource: plan.resource.clone(),
        table: plan.table.clone(),
        create_table: plan.create_table,
        summary: JsonSummary {
            create: s.create,
            update: s.update,
            delete: s.delete,
            no_op: s.no_op,
            excluded: plan.excluded.len(),
            review: plan.review.len(),
            invalid: plan.invalid.len(),
            replace: s.replace,
            add_column: s.add_column,
        },
        changes: plan.changes.iter().map(|c| change(plan, c)).collect(),
        schema_changes: schema_changes(plan),
        schema_notes: plan
            .schema
            .notes
            .iter()
            .map(|n| JsonSchemaNote {
                code: super::schema::note_code(n),
                column: match n {
                    Note::NoUniqueKey { column }
                    | Note::NoForeignKey { column, .. }
                    | Note::SimilarColumn { column, .. }
                    | Note::ForeignKeyLeftOut { column, .. } => column.clone(),
                },
                note: super::schema::note(plan, n),
            })
            .collect(),
        unmanaged_columns: plan.schema.unmanaged_columns.clone(),
        excluded: plan
            .excluded
            .iter()
            .map(|e| JsonExcluded {
                source: e.record.source.clone(),
                record: e.record.id.clone(),
                rule: e.rule.clone(),
                name: e.name.clone(),
            })
            .collect(),
        invalid: plan
            .invalid
            .iter()
            .map(|v| JsonInvalid {
                source: v.record.source.clone(),
                record: v.record.id.clone(),
                row: v.row.clone(),
                field: plan
                    .fields
                    .get(v.field)
                    .map(|f| f.0.clone())
                    .unwrap_or_default(),
                value: v.value.clone(),
                reason: v.reason.clone(),
            })
            .collect(),
        review: plan.review.iter().map(|r| review(plan, r)).collect(),
        overrides: plan
            .overrides
            .iter()
            .map(|o| override_note(plan, o))
            .collect(),
        kept: plan
            .missing
            .iter()
            .map(|m| JsonKept {
                address: plan.address(&m.address),
                row_key: m.row_key.clone(),
                name: m.name.clone(),
            })
            .collect(),
        sensitive: plan
            .fields
            .iter()
            .zip(&plan.sensitive)
            .filter(|(_, s)| **s)
            .map(|((name, _), _)| name.clone())
            .collect(),
        fingerprint: plan.fingerprint.clone(),
        shortcut: plan.shortcut.as_ref().map(|s| JsonShortcut {
            applied_at: s.applied_at.clone(),
            reason: "the spec and its sources are unchanged since the last apply, and the \
                     table still holds what it wrote",
            provenance: "not read: pass --refresh to read the sources",
        }),
        matching: JsonMatching {
            origin: plan.matching.origin,
            comparisons: plan
                .matching
                .comparisons
                .iter()
                .map(|(field, method)| JsonComparison {
                    field: field.clone(),
                    method: method.clone(),
                })
                .collect(),
            note: super::model_note(&plan.matching),
        },
    }
}

/// The changes to the table's structure: columns to add, then a new table's constraints.
fn schema_changes(plan: &Plan) -> Vec<JsonSchemaChange> {
    let blank = |action, column: &str| JsonSchemaChange {
        action,
        column: column.to_string(),
        field: None,
        field_type: None,
        sql_type: None,
        nullable: None,
        references: None,
    };
    let mut out: Vec<JsonSchemaChange> = plan
        .schema
        .add_columns
        .iter()
        .map(|a| JsonSchemaChange {
            field: plan.fields.get(a.field).map(|f| f.0.clone()),
            field_type: Some(super::schema::type_name(a.kind)),
            sql_type: Some(a.sql_type.clone()),
            nullable: Some(true),
            ..blank("add_column", &a.column)
        })
        .collect();
    if let Some((_, column)) = plan.schema.unique_key.and_then(|k| plan.fields.get(k)) {
        out.push(blank("add_unique_index", column));
    }
    for fk in &plan.schema.foreign_keys {
        out.push(JsonSchemaChange {
            references: Some(JsonReferenced {
                table: fk.table.clone(),
                column: fk.references.clone(),
            }),
            ..blank("add_foreign_key", &fk.column)
        });
    }
    out
}

/// A value of field `f` as shown: the mask for a sensitive field.
fn masked(plan: &Plan, f: usize, v: &Value) -> serde_json::Value {
    if plan.sensitive.get(f).copied().unwrap_or(false) && !v.is_null() {
        serde_json::Value::String(MASK.into())
    } else {
        v.to_json()
    }
}

/// A row's values by field name, sensitive ones masked.
fn row(plan: &Plan, values: &Option<Vec<Value>>) -> Option<IndexMap<String, serde_json::Value>> {
    values.as_ref().map(|vs| {
        plan.fields
            .iter()
            .zip(vs)
            .enumerate()
            .map(|(f, ((name, _), v))| (name.clone(), masked(plan, f, v)))
            .collect()
    })
}

/// One change.
fn change(plan: &Plan, c: &Change) -> JsonChange {
    JsonChange {
        address: plan.address(&c.address),
        action: c.action,
        reason: reason_code(&c.reason),
        before: row(plan, &c.before),
        after: row(plan, &c.after),
        changed: (c.action == Action::Update).then(|| {
            c.changed
                .iter()
                .map(|&f| plan.fields[f].0.clone())
                .collect()
        }),
        provenance: plan
            .fields
            .iter()
            .enumerate()
            .filter_map(|(f, (name, _))| c.source_of(f).map(|p| (name.clone(), p.to_string())))
            .collect(),
        sources: c.members.iter().map(ToString::to_string).collect(),
        source_names: if c.names.is_empty() {
            IndexMap::new()
        } else {
            c.members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.to_string(), c.name_of(i).map(String::from)))
                .collect()
        },
        conflicts: c
            .conflicts
            .iter()
            .map(|x| conflict(plan, c, x, &|f, v| masked(plan, f, v)))
            .collect(),
        soft_delete: plan
            .soft_delete
            .as_ref()
            .filter(|_| c.reason == Reason::MissingSoft)
            .map(|sd| JsonSoftDelete {
                column: sd.column.clone(),
                value: sd.value.to_json(),
            }),
        replace: c.replaces,
    }
}

/// One pair left for review.
fn review(plan: &Plan, r: &ReviewItem) -> JsonReview {
    JsonReview {
        left: r.left.to_string(),
        right: r.right.to_string(),
        score: (r.score * 1e6).round() / 1e6,
        reason: super::review_reason(&r.reason, |a| plan.address(a)),
        code: r.reason.code(),
        left_name: r.left_name.clone(),
        right_name: r.right_name.clone(),
    }
}

/// What one `same` / `distinct` pair changed for one record.
fn override_note(plan: &Plan, o: &OverrideNote) -> JsonOverride {
    JsonOverride {
        kind: o.origin.kind,
        file: o.origin.file.clone(),
        line: o.origin.line,
        record: o.record.to_string(),
        effect: if o.instead.is_some() {
            "linked_instead"
        } else {
            "moved"
        },
        address: plan.address(&o.address),
        was_with: o.was_with.as_ref().map(ToString::to_string),
        linked_to: o.instead.as_ref().map(|i| i.to.to_string()),
        score: o.instead.as_ref().map(|i| (i.score * 1e6).round() / 1e6),
        note: super::override_note(o, |a| plan.address(a)),
    }
}

/// The JSON Schema of the plan output: one plan (`plan --json` of one spec), or a folder's
/// plans (`resources`, one plan each), or what `apply --json` prints (the plan and what was
/// applied). Published as `schemas/plan.schema.json`.
pub fn schema() -> serde_json::Value {
    #[derive(JsonSchema)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Output {
        One(Box<JsonPlan>),
        Many(Box<JsonPlans>),
        Applied(Box<JsonApply>),
    }
    let mut schema = serde_json::to_value(schemars::schema_for!(Output)).expect("a schema");
    schema["title"] = "reconcile plan (JSON output)".into();
    schema
}

/// The plan as pretty-printed JSON.
pub fn render(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&to_json(plan)).expect("plan JSON serialises");
    s.push('\n');
    s
}

/// Several resources planned together: one summary for all, then each resource's plan in
/// the order they are written.
#[derive(Serialize, JsonSchema)]
pub struct JsonPlans {
    pub format_version: &'static str,
    pub summary: JsonSummary,
    pub resources: Vec<JsonPlan>,
}

/// Several plans (parents first) as pretty-printed JSON.
pub fn render_many(plans: &[Plan]) -> String {
    let mut s = serde_json::to_string_pretty(&to_json_many(plans)).expect("plan JSON serialises");
    s.push('\n');
    s
}

/// The JSON view of several plans (parents first), with one summary for all.
pub fn to_json_many(plans: &[Plan]) -> JsonPlans {
    let resources: Vec<JsonPlan> = plans.iter().map(to_json).collect();
    let mut summary = JsonSummary {
        create: 0,
        update: 0,
        delete: 0,
        no_op: 0,
        excluded: 0,
        review: 0,
        invalid: 0,
        replace: 0,
        add_column: 0,
    };
    for r in &resources {
        summary.create += r.summary.create;
        summary.update += r.summary.update;
        summary.delete += r.summary.delete;
        summary.no_op += r.summary.no_op;
        summary.excluded += r.summary.excluded;
        summary.replace += r.summary.replace;
        summary.review += r.summary.review;
        summary.invalid += r.summary.invalid;
        summary.add_column += r.summary.add_column;
    }
    JsonPlans {
        format_version: FORMAT_VERSION,
        summary,
        resources,
    }
}

/// A plan as `plan --json` prints it: one spec's, or a folder's.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum JsonOutput {
    One(Box<JsonPlan>),
    Many(Box<JsonPlans>),
}

/// What `apply --json` prints once the apply is over (an addition to format 1).
#[derive(Serialize, JsonSchema)]
pub struct JsonApply {
    pub format_version: &'static str,
    /// The plan applied, as `plan --json` prints it (a folder's with `resources`).
    pub plan: JsonOutput,
    /// The rows written: all zero when the plan had nothing to write.
    pub applied: JsonApplied,
}

/// The rows an apply wrote.
#[derive(Serialize, JsonSchema)]
pub struct JsonApplied {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// What `apply --json` prints: the plan (one spec's, or a folder's when `group`) and the rows
/// written, as pretty-printed JSON.
pub fn render_apply(
    plans: &[Plan],
    group: bool,
    created: usize,
    updated: usize,
    deleted: usize,
) -> String {
    let plan = if group {
        JsonOutput::Many(Box::new(to_json_many(plans)))
    } else {
        JsonOutput::One(Box::new(to_json(&plans[0])))
    };
    let doc = JsonApply {
        format_version: FORMAT_VERSION,
        plan,
        applied: JsonApplied {
            created,
            updated,
            deleted,
        },
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("apply JSON serialises");
    s.push('\n');
    s
}
