//! Reading sources: files in JSON, NDJSON, CSV or YAML, records written inline in the spec,
//! or the rows of an SQL query.
//! Each reader yields records as JSON values with a row label; [`map_records`] then picks the
//! mapped fields and the record id out of each. Every problem names the source, file and row.

pub mod csv;
pub mod json;
mod sql;
pub mod yaml;

use crate::collections::HashSet;

use crate::error::{SourceErrors, SourceProblem};
use crate::spec::compiled::{Compiled, Input, Source};
use crate::spec::{FieldType, SourceFormat};

/// The largest file read as a source (1 GiB), unless `RECONCILE_MAX_FILE_SIZE` sets another
/// limit (bytes, or with a `K`, `M` or `G` suffix, e.g. `4G`).
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// The environment variable that raises (or lowers) [`MAX_FILE_SIZE`].
pub const MAX_FILE_SIZE_VAR: &str = "RECONCILE_MAX_FILE_SIZE";

/// The limit on source files in effect, or why the variable setting it cannot be read.
pub fn max_file_size() -> Result<u64, String> {
    let Ok(text) = std::env::var(MAX_FILE_SIZE_VAR) else {
        return Ok(MAX_FILE_SIZE);
    };
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => 64,
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|_| shift < 64)
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| {
            format!("{MAX_FILE_SIZE_VAR}={text:?} is not a size; write bytes, or e.g. 4G or 500M")
        })
}

/// Reads a whole file that the user named as input, refusing what is not a regular file (a
/// device such as `/dev/zero` would be read until memory runs out, a FIFO with no writer
/// would wait for ever) and files over `limit` bytes.
/// Errors read well after "cannot read the file: ".
pub fn read_file(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a folder"
        } else {
            file_kind(&meta)
        };
        return Err(format!(
            "{} is {kind}, not a regular file; name a file (copy the data to one first)",
            path.display()
        ));
    }
    let too_big = |size: String| {
        format!(
            "{} is {size}, over the limit of {} bytes on files read; set {MAX_FILE_SIZE_VAR} \
             (e.g. {MAX_FILE_SIZE_VAR}=4G) to read it",
            path.display(),
            limit
        )
    };
    if meta.len() > limit {
        return Err(too_big(format!("{} bytes", meta.len())));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(too_big("growing while it is read, and".into()));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn file_kind(_: &std::fs::Metadata) -> &'static str {
    "not a file"
}

/// A source record before normalisation: one raw JSON value per target field.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// Index of the source (its priority rank).
    pub source: usize,
    /// The record's id within its source: the `id` field, else the 1-based row number.
    pub id: String,
    /// Where the record is, for messages ("line 4", "record 3").
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
    for (i, source) in spec.sources.iter().enumerate() {
        match load_one(spec, i, source) {
            Ok(records) => out.push(records),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(SourceErrors { problems })
    }
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
    let problem = |row: Option<String>, message: String| SourceProblem {
        source_name: source.name.clone(),
        file: describe(source),
        row,
        message,
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
        Input::File { path, format } => {
            let read = max_file_size().and_then(|limit| {
                read_file(path, limit).map_err(|e| format!("cannot read the file: {e}"))
            });
            let bytes = match read {
                Ok(b) => b,
                Err(e) => return Err(vec![problem(None, e)]),
            };
            match format {
                SourceFormat::Json => json::read_json(&bytes, &source.records),
                SourceFormat::Ndjson => json::read_ndjson(&bytes),
                SourceFormat::Csv => {
                    return csv::read_mapped(&bytes, spec, index, source).map_err(|ps| {
                        ps.into_iter().map(|(row, msg)| problem(row, msg)).collect()
                    });
                }
                SourceFormat::Yaml => yaml::read(&bytes, &source.records),
            }
        }
    };
    let rows = rows.map_err(|(row, msg)| vec![problem(row, msg)])?;
    map_records(spec, index, source, rows).map_err(|ps| {
        ps.into_iter()
            .map(|(row, msg)| problem(Some(row), msg))
            .collect()
    })
}

/// Extracts the id and the mapped fields of each row. Rows that are not objects, ids that
/// are missing or repeated, and values that are lists or mappings are problems.
pub fn map_records(
    spec: &Compiled,
    index: usize,
    source: &Source,
    rows: Vec<Row>,
) -> Result<Vec<RawRecord>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut seen = HashSet::default();
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.into_iter().enumerate() {
        if !row.value.is_object() {
            problems.push((
                row.label,
                "expected a record (a mapping of fields)".to_string(),
            ));
            continue;
        }
        let id = match &source.id {
            None => (n + 1).to_string(),
            Some(path) => match path.get(&row.value) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                Some(serde_json::Value::Number(num)) => num.to_string(),
                _ => {
                    problems.push((
                        row.label,
                        format!("the id field `{}` is missing or empty", path.raw),
                    ));
                    continue;
                }
            },
        };
        if !seen.insert(id.clone()) {
            problems.push((
                row.label,
                format!("id `{id}` appears more than once in this source"),
            ));
            continue;
        }
        let mut fields = vec![serde_json::Value::Null; spec.fields.len()];
        let mut bad = false;
        for (fi, path) in &source.mapping {
            if let Some(v) = path.get(&row.value) {
                if (v.is_object() || v.is_array()) && spec.fields[*fi].kind != FieldType::Json {
                    problems.push((
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
