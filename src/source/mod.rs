//! Reading sources: files in JSON, NDJSON, CSV or YAML, spreadsheets, records written inline
//! in the spec, or the rows of an SQL query. A file source may be a pattern: the files it
//! matches are read in name order as one source.
//! Each reader yields records as JSON values with a row label; [`map_records`] then picks the
//! mapped fields and the record id out of each. Every problem names the source, file and row.

pub mod csv;
mod file;
pub mod id;
pub mod json;
pub mod mapping;
pub mod sheet;
mod sql;
mod text;
pub mod yaml;

use indexmap::IndexSet;

use crate::collections::HashSet;

use crate::error::{SourceErrors, SourceProblem};
use crate::spec::FieldType;
use crate::spec::compiled::{Compiled, FieldPath, Input, Source};

/// A file's bytes as text; text that is not UTF-8 is an error naming the line it breaks on.
fn utf8(bytes: &[u8]) -> Result<&str, (Option<String>, String)> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        (
            Some(format!("line {line}")),
            "the file is not valid UTF-8".to_string(),
        )
    })
}

/// A source record before normalisation: one raw JSON value per target field.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// Index of the source (its priority rank).
    pub source: usize,
    /// The record's id within its source: its `id:` value, else a fingerprint of its content
    /// (see [`id`]). Never its position in the file.
    pub id: String,
    /// Where the record is, for messages only ("line 4", "record 3").
    pub row: String,
    /// Raw values by target field index; `Null` where the source has no value.
    pub fields: Vec<serde_json::Value>,
}

/// A record as read from a file, before mapping.
#[derive(Debug)]
pub struct Row {
    pub label: String,
    pub value: serde_json::Value,
}

/// What a reader returns: rows, or a problem (with the row label when there is one).
pub type ReadResult = Result<Vec<Row>, (Option<String>, String)>;

/// Reads every source of the spec. All problems of all sources are gathered.
pub fn load_all(spec: &Compiled) -> Result<Vec<Vec<RawRecord>>, SourceErrors> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let progress = crate::progress::counted("load", spec.sources.len() as u64, "sources");
    for (i, source) in spec.sources.iter().enumerate() {
        match load_one(spec, i, source) {
            Ok(records) => out.push(records),
            Err(mut p) => problems.append(&mut p),
        }
        progress.add(1);
    }
    drop(progress);
    if problems.is_empty() {
        problems = unknown_pairs(spec, &out);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(SourceErrors { problems })
    }
}

/// `match.same` and `match.distinct` pairs naming a record no source holds. Ignoring them
/// would silently link (or split) records the spec says otherwise about; it happens when a
/// record of a source without `id:` is edited, since its id is a fingerprint of its content.
fn unknown_pairs(spec: &Compiled, records: &[Vec<RawRecord>]) -> Vec<SourceProblem> {
    let ids: Vec<HashSet<&str>> = records
        .iter()
        .map(|rs| rs.iter().map(|r| r.id.as_str()).collect())
        .collect();
    let mut problems = Vec::new();
    for pairs in [&spec.matching.same, &spec.matching.distinct] {
        for (o, r) in pairs.iter().flat_map(|o| [(o, &o.a), (o, &o.b)]) {
            if ids
                .get(r.source)
                .is_some_and(|ids| ids.contains(r.id.as_str()))
            {
                continue;
            }
            let source = &spec.sources[r.source];
            problems.push(SourceProblem {
                source_name: source.name.clone(),
                file: describe(source),
                row: None,
                message: format!(
                    "{} names `{}:{}`, which is no record of this source",
                    o.origin, source.name, r.id
                ),
                help: Some(if source.id.is_some() {
                    "check the id against the source's `id:` column, or remove the pair".into()
                } else {
                    "this source has no `id:`, so its ids are fingerprints of each record's \
                     content and change when the record is edited: write the pair again with \
                     the id the plan prints, or give the source an `id:` column"
                        .into()
                }),
            });
        }
    }
    problems
}

/// The file name shown in messages for a source.
pub fn describe(source: &Source) -> String {
    match &source.input {
        Input::File { path, .. } => path.display().to_string(),
        Input::Inline(_) => "inline records in the spec".to_string(),
        Input::Sql { database, .. } => format!("query on {}", crate::error::redact_url(database)),
    }
}

fn load_one(
    spec: &Compiled,
    index: usize,
    source: &Source,
) -> Result<Vec<RawRecord>, Vec<SourceProblem>> {
    let problem = |p: Problem| SourceProblem {
        source_name: source.name.clone(),
        file: describe(source),
        row: p.row,
        message: p.message,
        help: p.help,
    };
    let rows = match &source.input {
        Input::Inline(records) => Ok(records
            .iter()
            .enumerate()
            .map(|(i, r)| Row {
                label: format!("record {}", i + 1),
                value: serde_json::Value::Object(r.clone()),
            })
            .collect()),
        Input::Sql { query, database } => sql::read(query, database),
        Input::File { path, format, glob } => {
            return file::read(spec, index, source, path, *format, glob.as_ref())
                .map_err(|ps| ps.into_iter().map(problem).collect());
        }
    };
    let rows = rows.map_err(|(row, message)| {
        vec![problem(Problem {
            row,
            message,
            help: None,
        })]
    })?;
    map_records(spec, index, source, rows).map_err(|ps| ps.into_iter().map(problem).collect())
}

/// A problem found while reading one source: at a row, or (`row: None`) with the source as a
/// whole, such as a mapping that names a column the file does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub row: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    fn at(row: String, message: String) -> Self {
        Problem {
            row: Some(row),
            message,
            help: None,
        }
    }

    fn file(message: String) -> Self {
        Problem {
            row: None,
            message,
            help: None,
        }
    }
}

/// Gives each record of a source its id: its `id:` value, or, without `id:`, the fingerprint
/// of its content ([`id::content_hash`]). Row numbers never serve: they change when another
/// row is inserted or deleted.
pub(crate) enum Ids {
    /// `id:` values, each allowed once.
    Explicit(HashSet<String>),
    Content(id::ContentIds),
}

impl Ids {
    pub(crate) fn for_source(source: &Source) -> Ids {
        if source.id.is_some() {
            Ids::Explicit(HashSet::default())
        } else {
            Ids::Content(id::ContentIds::default())
        }
    }

    /// The id of the next record: `explicit` is its `id:` value (looked up only when the
    /// source has `id:`), `fields` its mapped values. An `Err` is the problem to report.
    pub(crate) fn next(
        &mut self,
        spec: &Compiled,
        source: &Source,
        explicit: impl FnOnce() -> Option<String>,
        fields: &[serde_json::Value],
    ) -> Result<String, String> {
        match self {
            Ids::Explicit(seen) => {
                let raw = source.id.as_ref().map_or("", |p| p.raw.as_str());
                let Some(id) = explicit() else {
                    return Err(format!(
                        "the id field `{raw}` is missing or empty (an id is a number, a text \
                         or a boolean)"
                    ));
                };
                if !seen.insert(id.clone()) {
                    return Err(format!("id `{id}` appears more than once in this source"));
                }
                Ok(id)
            }
            // A constant is the same in every record: it tells none apart, and changing it
            // in the spec renames nothing.
            Ids::Content(ids) => Ok(ids.next(id::content_hash(
                source
                    .mapping
                    .iter()
                    .map(|(fi, _)| *fi)
                    .chain(
                        source
                            .computed
                            .iter()
                            .filter(|(_, c)| !c.is_const())
                            .map(|(fi, _)| *fi),
                    )
                    .map(|fi| (spec.fields[fi].name.as_str(), &fields[fi])),
            ))),
        }
    }
}

/// Extracts the id and the mapped fields of each row. Rows that are not objects, ids that
/// are missing or repeated, and values that are lists or mappings are problems; so is a path
/// (mapped or `id:`) that no record of the source has, since it would silently read as empty.
pub fn map_records(
    spec: &Compiled,
    index: usize,
    source: &Source,
    rows: Vec<Row>,
) -> Result<Vec<RawRecord>, Vec<Problem>> {
    let absent = absent_paths(spec, source, &rows);
    if !absent.is_empty() {
        return Err(absent);
    }
    let mut problems = Vec::new();
    let mut ids = Ids::for_source(source);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if !row.value.is_object() {
            problems.push(Problem::at(
                row.label,
                "expected a record (a mapping of fields)".to_string(),
            ));
            continue;
        }
        let mut fields = vec![serde_json::Value::Null; spec.fields.len()];
        let mut bad = false;
        for (fi, path) in &source.mapping {
            if let Some(v) = path.get(&row.value) {
                if (v.is_object() || v.is_array()) && spec.fields[*fi].kind != FieldType::Json {
                    problems.push(Problem::at(
                        row.label.clone(),
                        format!(
                            "`{}` holds a {} where field `{}` needs a single value",
                            path.raw,
                            if v.is_array() { "list" } else { "mapping" },
                            spec.fields[*fi].name
                        ),
                    ));
                    bad = true;
                } else {
                    fields[*fi] = v.clone();
                }
            }
        }
        for (fi, c) in &source.computed {
            match c.eval(&row.value) {
                Ok(v) => fields[*fi] = v,
                Err(misfit) => {
                    problems.push(Problem::at(
                        row.label.clone(),
                        format!(
                            "`{}` holds {} where field `{}` is built from a single value",
                            misfit.path.raw, misfit.holds, spec.fields[*fi].name
                        ),
                    ));
                    bad = true;
                }
            }
        }
        let explicit = || {
            source
                .id
                .as_ref()
                .and_then(|p| id::explicit_id(p.get(&row.value)))
        };
        let id = match ids.next(spec, source, explicit, &fields) {
            Ok(id) => id,
            Err(message) => {
                problems.push(Problem::at(row.label, message));
                continue;
            }
        };
        if !bad {
            out.push(RawRecord {
                source: index,
                id,
                row: row.label,
                fields,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// What a path of a source is read for.
#[derive(Debug, Clone, Copy)]
enum Wanted {
    Id,
    /// A field read as it is from the path.
    Mapped(usize),
    /// A field built from the path: by a template (`true`), or with transforms.
    Built(usize, bool),
}

/// The `id:` path and mapped paths that no record of the source has, each as a problem with
/// a did-you-mean over the paths the records do have. A path some records lack is fine (an
/// optional value); one that every record lacks is a typo or a wrong file. A source without
/// records says nothing either way.
fn absent_paths(spec: &Compiled, source: &Source, rows: &[Row]) -> Vec<Problem> {
    if rows.is_empty() {
        return Vec::new();
    }
    // Usually the first record holds every path, so this stops at once.
    let mut wanted: Vec<(Wanted, &FieldPath)> = source
        .id
        .iter()
        .map(|p| (Wanted::Id, p))
        .chain(
            source
                .mapping
                .iter()
                .map(|(fi, p)| (Wanted::Mapped(*fi), p)),
        )
        .chain(source.computed.iter().flat_map(|(fi, c)| {
            let template = matches!(c.base, mapping::Base::Template(_));
            c.paths()
                .into_iter()
                .map(move |p| (Wanted::Built(*fi, template), p))
        }))
        .collect();
    for row in rows {
        wanted.retain(|(_, p)| p.get(&row.value).is_none());
        if wanted.is_empty() {
            return Vec::new();
        }
    }
    let known = record_paths(rows);
    wanted
        .into_iter()
        .map(|(field, path)| {
            let shown: Vec<String> = known
                .iter()
                .map(|k| {
                    if path.raw.starts_with('/') {
                        format!("/{}", k.replace('~', "~0").replace('.', "/"))
                    } else {
                        k.clone()
                    }
                })
                .collect();
            let what = match field {
                Wanted::Mapped(fi) => format!(
                    "field `{}` is mapped to `{}`",
                    spec.fields[fi].name, path.raw
                ),
                Wanted::Built(fi, _) => format!(
                    "field `{}` is built from `{}`",
                    spec.fields[fi].name, path.raw
                ),
                Wanted::Id => format!("the id is `{}`", path.raw),
            };
            let mut help = paths_help(&path.raw, &shown, "the records have");
            if matches!(field, Wanted::Built(_, true)) {
                help.push_str(
                    "; a mapping holding `{` is a template: to read a path whose name holds \
                     braces, write `{ from: ... }`",
                );
            }
            Problem {
                row: None,
                message: format!("{what}, which no record of this source has"),
                help: Some(help),
            }
        })
        .collect()
}

/// "did you mean `Email`? the header has: Name, Email, Phone": the closest name, then the
/// names there are (the first 20).
pub(crate) fn paths_help(wanted: &str, names: &[String], have: &str) -> String {
    let mut help = String::new();
    if let Some(best) = crate::suggest::did_you_mean(wanted, names.iter().map(String::as_str))
        .or_else(|| {
            // A difference of case alone is always worth naming.
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(wanted))
                .cloned()
        })
    {
        help.push_str(&format!("did you mean `{best}`? "));
    }
    let listed: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
    help.push_str(&format!(
        "{have}: {}{}",
        listed.join(", "),
        if names.len() > listed.len() {
            format!(", and {} more", names.len() - listed.len())
        } else {
            String::new()
        }
    ));
    help
}

/// The dotted paths (`fields.email`) of the records' keys, nested mappings included, in the
/// order first seen; from the first records only, which is enough to suggest a spelling.
fn record_paths(rows: &[Row]) -> Vec<String> {
    fn walk(v: &serde_json::Value, prefix: &str, depth: usize, out: &mut IndexSet<String>) {
        let serde_json::Value::Object(m) = v else {
            return;
        };
        for (k, child) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            if depth < 4 {
                walk(child, &path, depth + 1, out);
            }
        }
    }
    let mut out = IndexSet::new();
    for row in rows.iter().take(100) {
        walk(&row.value, "", 0, &mut out);
    }
    out.into_iter().collect()
}

/// Follows a JSON pointer to the list of records.
pub fn records_at(doc: serde_json::Value, pointer: &str) -> Result<Vec<serde_json::Value>, String> {
    let target = if pointer.is_empty() {
        doc
    } else {
        let mut doc = doc;
        match doc.pointer_mut(pointer) {
            Some(v) => v.take(),
            None => {
                return Err(format!(
                    "the pointer `{pointer}` points to nothing in this file"
                ));
            }
        }
    };
    match target {
        serde_json::Value::Array(items) => Ok(items),
        other => Err(format!(
            "expected a list of records{}, found {}",
            if pointer.is_empty() {
                String::new()
            } else {
                format!(" at `{pointer}`")
            },
            kind_of(&other)
        )),
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(source: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\ntarget:\n  table: t\n  key: email\n  fields:\n    \
                 name: {{ type: text }}\n    email: {{ type: email }}\nsources:\n  s:\n    \
                 inline: [{{ x: 1 }}]\n{source}"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    fn rows(values: &[serde_json::Value]) -> Vec<Row> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Row {
                label: format!("record {}", i + 1),
                value: v.clone(),
            })
            .collect()
    }

    fn map(spec: &Compiled, values: &[serde_json::Value]) -> Result<Vec<RawRecord>, Vec<Problem>> {
        map_records(spec, 0, &spec.sources[0], rows(values))
    }

    #[test]
    fn a_path_no_record_has_is_named_with_a_suggestion() {
        let spec = spec("    fields: { name: fields.name, email: fields.emial }\n");
        let problems = map(
            &spec,
            &[
                json!({"fields": {"name": "A", "email": "a@x"}}),
                json!({"fields": {"name": "B"}}),
            ],
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].row, None);
        assert_eq!(
            problems[0].message,
            "field `email` is mapped to `fields.emial`, which no record of this source has"
        );
        assert_eq!(
            problems[0].help.as_deref(),
            Some(
                "did you mean `fields.email`? the records have: fields, fields.name, fields.email"
            )
        );
        // Pointers are suggested as pointers.
        let spec = self::spec("    fields: { name: /fields/name, email: /fields/emial }\n");
        let problems = map(&spec, &[json!({"fields": {"name": "A", "email": "a@x"}})]).unwrap_err();
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `/fields/email`?"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_path_some_records_have_is_fine() {
        let spec = spec("    fields: { name: name, email: email }\n");
        let records = map(
            &spec,
            &[json!({"name": "A"}), json!({"name": "B", "email": "b@x"})],
        )
        .unwrap();
        assert_eq!(records[0].fields[1], serde_json::Value::Null);
        assert_eq!(records[1].fields[1], "b@x");
        // A source without records says nothing either way.
        assert!(map(&spec, &[]).unwrap().is_empty());
    }

    #[test]
    fn an_id_no_record_has_is_one_problem_not_one_per_row() {
        let spec = spec("    id: Code\n    fields: { name: name }\n");
        let problems = map(
            &spec,
            &[
                json!({"name": "A", "code": 1}),
                json!({"name": "B", "code": 2}),
            ],
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].message,
            "the id is `Code`, which no record of this source has"
        );
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `code`?")
        );
    }

    #[test]
    fn booleans_numbers_and_text_are_ids() {
        let spec = spec("    id: active\n    fields: { name: name }\n");
        let records = map(
            &spec,
            &[
                json!({"name": "A", "active": true}),
                json!({"name": "B", "active": false}),
            ],
        )
        .unwrap();
        assert_eq!(records[0].id, "true");
        assert_eq!(records[1].id, "false");
        let problems = map(
            &spec,
            &[
                json!({"name": "A", "active": null}),
                json!({"name": "B", "active": [1]}),
                json!({"name": "C", "active": 3}),
            ],
        )
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].message.contains("missing or empty"),
            "{problems:?}"
        );
    }

    #[test]
    fn content_ids_ignore_order_and_number_identical_records() {
        let spec = spec("    fields: { name: name, email: email }\n");
        let a = json!({"name": "A", "email": "a@x"});
        let b = json!({"name": "B"});
        let ids = |values: &[serde_json::Value]| {
            let mut v: Vec<String> = map(&spec, values)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            ids(&[a.clone(), b.clone(), a.clone()]),
            ids(&[b.clone(), a.clone(), a.clone()])
        );
        let one = map(&spec, &[a.clone(), b.clone(), a.clone()]).unwrap();
        assert_eq!(one[2].id, format!("{}-2", one[0].id));
        // A key present with an empty value is not a missing one.
        let empty = map(&spec, &[json!({"name": "B", "email": ""})]).unwrap();
        assert_ne!(empty[0].id, one[1].id);
    }
}
